build/obj/xensim/lib/sim_evtchn.o: xensim/lib/sim_evtchn.c \
 xensim/lib/sim_internal.h xensim/include/xensim/shared.h
xensim/lib/sim_internal.h:
xensim/include/xensim/shared.h:
