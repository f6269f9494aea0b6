build/obj/xensim/lib/sim_gnttab.o: xensim/lib/sim_gnttab.c \
 xensim/lib/sim_internal.h xensim/include/xensim/shared.h
xensim/lib/sim_internal.h:
xensim/include/xensim/shared.h:
