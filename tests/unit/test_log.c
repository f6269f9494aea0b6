/* SPDX-License-Identifier: MIT */
/*
 * The one logging API: text lines as before, --log-format=json lines that a
 * collector can parse whatever the message holds (quotes, backslashes,
 * control and non-ASCII bytes from strerror or a sanitised toolstack value),
 * and the device named in every line that is about one.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static char got[4096];

/* Run fn with stderr captured into got. */
static void capture(void (*fn)(void))
{
    FILE *f = tmpfile();
    assert_non_null(f);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), 2) >= 0);
    fn();
    fflush(stderr);
    assert_true(dup2(saved, 2) >= 0);
    close(saved);
    rewind(f);
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    got[n] = 0;
    fclose(f);
}

static void lines(void)
{
    vg_info("plain %d", 1);
    vg_warn_dev(5, 51712, "state %s", "Closed");
    vg_err("a \"quoted\" back\\slash\ttab\x01 and \xc3\xa9");
    vg_dbg("not shown at info");
}

static void test_text(void **state)
{
    (void)state;
    vg_log_init(VG_LOG_INFO, "vg[test]");
    vg_log_set_format(VG_LOG_TEXT);
    capture(lines);
    assert_string_equal(got, "vg[test]: info: plain 1\n"
                             "vg[test]: warn: dom5 device 51712: state Closed\n"
                             "vg[test]: error: a \"quoted\" back\\slash\ttab\x01 and \xc3\xa9\n");
}

static void test_json(void **state)
{
    (void)state;
    vg_log_init(VG_LOG_INFO, "vg[test]");
    vg_log_set_format(VG_LOG_JSON);
    capture(lines);
    vg_log_set_format(VG_LOG_TEXT);
    assert_string_equal(got,
        "{\"level\":\"info\",\"proc\":\"vg[test]\",\"msg\":\"plain 1\"}\n"
        "{\"level\":\"warn\",\"proc\":\"vg[test]\",\"domid\":5,\"devid\":51712,"
        "\"msg\":\"state Closed\"}\n"
        "{\"level\":\"error\",\"proc\":\"vg[test]\","
        "\"msg\":\"a \\\"quoted\\\" back\\\\slash\\u0009tab\\u0001 and ??\"}\n");
}

/* A device process: every line carries its device, in json as fields. */
static void test_json_own_device(void **state)
{
    (void)state;
    vg_log_init(VG_LOG_INFO, "vg[dom7 blk1]");
    vg_log_set_format(VG_LOG_JSON);
    vg_log_set_device(7, 1);
    capture(lines);
    vg_log_set_format(VG_LOG_TEXT);
    assert_non_null(strstr(got, "{\"level\":\"info\",\"proc\":\"vg[dom7 blk1]\",\"domid\":7,"
                                "\"devid\":1,\"msg\":\"plain 1\"}\n"));
    /* a line about another device names that one */
    assert_non_null(strstr(got, "\"domid\":5,\"devid\":51712,\"msg\":\"state Closed\""));
}

/* The longest message is cut, never overrun, and the object still closes. */
static void long_line(void)
{
    char big[VG_LOG_LINE_MAX * 2];
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    vg_info("%s", big);
}

static void test_json_long(void **state)
{
    (void)state;
    vg_log_init(VG_LOG_INFO, "vg");
    vg_log_set_format(VG_LOG_JSON);
    capture(long_line);
    vg_log_set_format(VG_LOG_TEXT);
    size_t n = strlen(got);
    assert_true(n > VG_LOG_LINE_MAX);
    assert_string_equal(got + n - 3, "\"}\n");
    assert_int_equal(strchr(got, '\n') - got, (long)n - 1);
}

static void test_parse(void **state)
{
    (void)state;
    enum vg_log_format f = VG_LOG_TEXT;
    assert_int_equal(vg_log_format_parse("json", &f), 0);
    assert_int_equal(f, VG_LOG_JSON);
    assert_int_equal(vg_log_format_parse("text", &f), 0);
    assert_int_equal(f, VG_LOG_TEXT);
    assert_int_equal(vg_log_format_parse("JSON", &f), -EINVAL);
    assert_int_equal(vg_log_format_parse("", &f), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_own_device),
        cmocka_unit_test(test_json_long),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
