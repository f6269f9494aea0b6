build/obj/backend/virtq/virtq.o: backend/virtq/virtq.c \
 backend/virtq/virtq.h backend/gmem/gmem.h backend/common/checked.h \
 backend/common/log.h
backend/virtq/virtq.h:
backend/gmem/gmem.h:
backend/common/checked.h:
backend/common/log.h:
