/* SPDX-License-Identifier: MIT */
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define GUEST_LOG_BURST 64

static enum vg_log_level cur_level = VG_LOG_INFO;
static char who_buf[96] = "virtio-grant";
static unsigned long guest_msgs;
static enum vg_log_format cur_format = VG_LOG_TEXT;
static bool own_device; /* vg_log_set_device: every line names it */
static uint16_t own_domid;
static uint32_t own_devid;

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

void vg_log_set_format(enum vg_log_format f)
{
    cur_format = f;
}

enum vg_log_format vg_log_format(void)
{
    return cur_format;
}

int vg_log_format_parse(const char *s, enum vg_log_format *f)
{
    if (!strcmp(s, "text"))
        *f = VG_LOG_TEXT;
    else if (!strcmp(s, "json"))
        *f = VG_LOG_JSON;
    else
        return -EINVAL;
    return 0;
}

void vg_log_set_device(uint16_t domid, uint32_t devid)
{
    own_device = true;
    own_domid = domid;
    own_devid = devid;
}

enum vg_log_level vg_log_level(void)
{
    return cur_level;
}

/* A JSON string body: quote, backslash and every control byte escaped. */
static size_t json_escape(char *dst, size_t n, const char *src)
{
    size_t k = 0;
    for (; *src && k + 7 < n; src++) {
        unsigned char c = (unsigned char)*src;
        if (c == '"' || c == '\\') {
            dst[k++] = '\\';
            dst[k++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            k += (size_t)snprintf(dst + k, n - k, "\\u%04x", c);
        } else if (c >= 0x80) {
            dst[k++] = '?'; /* JSON is UTF-8, and no byte here is known to be */
        } else {
            dst[k++] = (char)c;
        }
    }
    dst[k] = 0;
    return k;
}

/* dev: NULL, or {domid, devid} of the device the line is about. */
static void emit(enum vg_log_level level, const uint32_t *dev, const char *fmt, va_list ap)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    char line[VG_LOG_LINE_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    uint32_t own[2] = { own_domid, own_devid };
    if (cur_format == VG_LOG_TEXT) {
        if (dev)
            fprintf(stderr, "%s: %s: dom%u device %u: %s\n", who_buf, names[level], dev[0], dev[1],
                    line);
        else
            fprintf(stderr, "%s: %s: %s\n", who_buf, names[level], line);
        return;
    }
    if (!dev && own_device)
        dev = own;
    char msg[VG_LOG_LINE_MAX * 6 + 8], who[sizeof(who_buf) * 6 + 8], ids[48] = "";
    json_escape(msg, sizeof(msg), line);
    json_escape(who, sizeof(who), who_buf);
    if (dev)
        snprintf(ids, sizeof(ids), "\"domid\":%u,\"devid\":%u,", dev[0], dev[1]);
    fprintf(stderr, "{\"level\":\"%s\",\"proc\":\"%s\",%s\"msg\":\"%s\"}\n", names[level], who,
            ids, msg);
}

void vg_log(enum vg_log_level level, const char *fmt, ...)
{
    if (level > cur_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(level, NULL, fmt, ap);
    va_end(ap);
}

void vg_log_dev(enum vg_log_level level, uint16_t domid, uint32_t devid, const char *fmt, ...)
{
    if (level > cur_level)
        return;
    uint32_t dev[2] = { domid, devid };
    va_list ap;
    va_start(ap, fmt);
    emit(level, dev, fmt, ap);
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
    emit(VG_LOG_WARN, NULL, fmt, ap);
    va_end(ap);
}
