build/obj/backend/transport/mmio.o: backend/transport/mmio.c \
 backend/transport/mmio.h backend/devices/device.h backend/gmem/gmem.h \
 backend/virtq/virtq.h backend/common/checked.h backend/common/log.h
backend/transport/mmio.h:
backend/devices/device.h:
backend/gmem/gmem.h:
backend/virtq/virtq.h:
backend/common/checked.h:
backend/common/log.h:
