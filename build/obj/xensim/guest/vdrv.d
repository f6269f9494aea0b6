build/obj/xensim/guest/vdrv.o: xensim/guest/vdrv.c \
 xensim/include/xensim/vdrv.h xensim/include/xensim/guest.h \
 xensim/include/xensim/shared.h
xensim/include/xensim/vdrv.h:
xensim/include/xensim/guest.h:
xensim/include/xensim/shared.h:
