build/obj/backend/common/log.o: backend/common/log.c backend/common/log.h
backend/common/log.h:
