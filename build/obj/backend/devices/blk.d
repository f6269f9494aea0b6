build/obj/backend/devices/blk.o: backend/devices/blk.c \
 backend/devices/blk.h backend/devices/device.h backend/gmem/gmem.h \
 backend/common/checked.h backend/common/log.h
backend/devices/blk.h:
backend/devices/device.h:
backend/gmem/gmem.h:
backend/common/checked.h:
backend/common/log.h:
