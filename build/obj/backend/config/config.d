build/obj/backend/config/config.o: backend/config/config.c \
 backend/config/config.h backend/common/log.h backend/gmem/gmem.h \
 backend/sandbox/sandbox.h backend/common/checked.h
backend/config/config.h:
backend/common/log.h:
backend/gmem/gmem.h:
backend/sandbox/sandbox.h:
backend/common/checked.h:
