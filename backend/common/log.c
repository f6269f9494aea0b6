/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define GUEST_LOG_BURST 64

static enum vg_log_level cur_level = VG_LOG_INFO;
static char who_buf[96] = "virtio-grant";
static unsigned long guest_msgs;

void vg_log_init(enum vg_log_level level, const char *who)
{
    cur_level = level;
    vg_log_set_who(who);
}

void vg_log_set_who(const char *who)
{
    if (who)
        snprintf(who_buf, sizeof(who_buf), "%s", who);
}

void vg_log_sanitize(char *dst, size_t n, const char *src, size_t len)
{
    size_t k = 0;
    for (; k < len && src[k] && k + 1 < n; k++)
        dst[k] = src[k] >= 0x20 && src[k] < 0x7f ? src[k] : '?';
    if (n)
        dst[k] = 0;
}

enum vg_log_level vg_log_level(void)
{
    return cur_level;
}

static void emit(enum vg_log_level level, const char *fmt, va_list ap)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    char line[VG_LOG_LINE_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "%s: %s: %s\n", who_buf, names[level], line);
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
    if (level > cur_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void vg_log_guest(const char *fmt, ...)
{
    guest_msgs++;
    if (cur_level < VG_LOG_WARN || (guest_msgs > GUEST_LOG_BURST && cur_level < VG_LOG_DEBUG))
        return;
    if (guest_msgs == GUEST_LOG_BURST)
        vg_log(VG_LOG_WARN, "further guest errors are not logged (use -v)");
    va_list ap;
    va_start(ap, fmt);
    emit(VG_LOG_WARN, fmt, ap);
    va_end(ap);
}
