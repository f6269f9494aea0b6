build/obj/xensim/lib/sim_foreignmemory.o: xensim/lib/sim_foreignmemory.c \
 xensim/lib/sim_internal.h xensim/include/xensim/shared.h
xensim/lib/sim_internal.h:
xensim/include/xensim/shared.h:
