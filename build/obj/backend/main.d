build/obj/backend/main.o: backend/main.c backend/common/checked.h \
 backend/common/log.h backend/config/config.h backend/common/log.h \
 backend/gmem/gmem.h backend/sandbox/sandbox.h backend/devices/blk.h \
 backend/devices/device.h backend/gmem/gmem.h backend/sandbox/probe.h \
 backend/sandbox/sandbox.h backend/transport/mmio.h backend/virtq/virtq.h \
 backend/virtq/virtq.h backend/xen/ioreq.h backend/xen/xsdev.h \
 backend/config/config.h
backend/common/checked.h:
backend/common/log.h:
backend/config/config.h:
backend/common/log.h:
backend/gmem/gmem.h:
backend/sandbox/sandbox.h:
backend/devices/blk.h:
backend/devices/device.h:
backend/gmem/gmem.h:
backend/sandbox/probe.h:
backend/sandbox/sandbox.h:
backend/transport/mmio.h:
backend/virtq/virtq.h:
backend/virtq/virtq.h:
backend/xen/ioreq.h:
backend/xen/xsdev.h:
backend/config/config.h:
