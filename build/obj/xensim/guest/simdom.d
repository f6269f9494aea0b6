build/obj/xensim/guest/simdom.o: xensim/guest/simdom.c \
 xensim/guest/../lib/sim_internal.h xensim/include/xensim/shared.h \
 xensim/include/xensim/guest.h
xensim/guest/../lib/sim_internal.h:
xensim/include/xensim/shared.h:
xensim/include/xensim/guest.h:
