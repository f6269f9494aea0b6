build/obj/backend/gmem/gmem.o: backend/gmem/gmem.c backend/gmem/gmem.h \
 backend/common/checked.h backend/common/log.h
backend/gmem/gmem.h:
backend/common/checked.h:
backend/common/log.h:
