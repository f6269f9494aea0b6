build/obj/xensim/lib/sim_common.o: xensim/lib/sim_common.c \
 xensim/lib/sim_internal.h xensim/include/xensim/shared.h
xensim/lib/sim_internal.h:
xensim/include/xensim/shared.h:
