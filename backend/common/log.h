/* SPDX-License-Identifier: MIT */
/* One logging API for the backend.  Every line names the guest and device. */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stddef.h>
#include <stdint.h>

enum vg_log_level { VG_LOG_ERROR, VG_LOG_WARN, VG_LOG_INFO, VG_LOG_DEBUG };
/*
 * text: "WHO: LEVEL: [domD device V: ]MESSAGE".  json: one object per line,
 * {"level":..,"proc":..,["domid":D,"devid":V,]"msg":..}, for log collectors.
 * No timestamp in either: the journal or the collector adds it (and the jailed
 * device process has no clock system call to read one with).
 */
enum vg_log_format { VG_LOG_TEXT, VG_LOG_JSON };

/* The longest line the log writes; longer ones are cut. */
#define VG_LOG_LINE_MAX 512

void vg_log_init(enum vg_log_level level, const char *who);
/* Copy @src into @dst (size n), every control or non-ASCII byte replaced by '?':
 * text from outside (toolstack values, a device's output) cannot forge a line. */
void vg_log_sanitize(char *dst, size_t n, const char *src, size_t len);
void vg_log_set_who(const char *who);
void vg_log_set_format(enum vg_log_format f);
enum vg_log_format vg_log_format(void);
/* "text" or "json"; -EINVAL otherwise. */
int vg_log_format_parse(const char *s, enum vg_log_format *f);
/* This process serves one device: every line names it (json: as fields). */
void vg_log_set_device(uint16_t domid, uint32_t devid);
enum vg_log_level vg_log_level(void);
__attribute__((format(printf, 2, 3))) void vg_log(enum vg_log_level level, const char *fmt, ...);
/* A line about one device of the many a launcher serves. */
__attribute__((format(printf, 4, 5))) void vg_log_dev(enum vg_log_level level, uint16_t domid,
                                                      uint32_t devid, const char *fmt, ...);
/*
 * A guest can trigger these at will; after a burst they are counted rather
 * than printed so a hostile guest cannot flood the backend's log.
 */
__attribute__((format(printf, 1, 2))) void vg_log_guest(const char *fmt, ...);

#define vg_err(...) vg_log(VG_LOG_ERROR, __VA_ARGS__)
#define vg_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_err_dev(d, v, ...) vg_log_dev(VG_LOG_ERROR, d, v, __VA_ARGS__)
#define vg_warn_dev(d, v, ...) vg_log_dev(VG_LOG_WARN, d, v, __VA_ARGS__)
#define vg_info_dev(d, v, ...) vg_log_dev(VG_LOG_INFO, d, v, __VA_ARGS__)
#define vg_dbg(...)                                                                           \
    do {                                                                                      \
        if (vg_log_level() >= VG_LOG_DEBUG)                                                   \
            vg_log(VG_LOG_DEBUG, __VA_ARGS__);                                                \
    } while (0)

#endif
