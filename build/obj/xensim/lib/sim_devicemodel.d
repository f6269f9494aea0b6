build/obj/xensim/lib/sim_devicemodel.o: xensim/lib/sim_devicemodel.c \
 xensim/lib/sim_internal.h xensim/include/xensim/shared.h
xensim/lib/sim_internal.h:
xensim/include/xensim/shared.h:
