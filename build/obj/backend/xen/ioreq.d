build/obj/backend/xen/ioreq.o: backend/xen/ioreq.c backend/xen/ioreq.h \
 backend/common/checked.h backend/common/log.h
backend/xen/ioreq.h:
backend/common/checked.h:
backend/common/log.h:
