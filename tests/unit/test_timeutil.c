/* test_timeutil.c: calendar conversion, DER UTCTime / GeneralizedTime and
 * HTTP IMF-fixdate (vigil/timeutil.h).
 *
 * Known values come from RFC 9110 (its example date) and `date -u -d @N`;
 * a loop checks every conversion against the C library's timegm, gmtime_r
 * and strftime (allowed here, in the tests only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <vigil/timeutil.h>

#define UTCTIME_LAST INT64_C(2524607999) /* 2049-12-31T23:59:59Z */

static uint64_t next_rand(uint64_t *state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *state = x;
  return x;
}

static int parse_utc(int64_t *out, const char *s) {
  return vigil_time_parse_utctime(out, (const uint8_t *)s, strlen(s));
}

static int parse_gen(int64_t *out, const char *s) {
  return vigil_time_parse_gentime(out, (const uint8_t *)s, strlen(s));
}

static int parse_http(int64_t *out, const char *s) {
  return vigil_time_parse_http(out, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Calendar                                                                  */
/* ------------------------------------------------------------------------ */

struct civil_case {
  int64_t t;
  int y, mo, d, h, mi, s;
};

static const struct civil_case kKnown[] = {
  { 0, 1970, 1, 1, 0, 0, 0 },
  { 951782400, 2000, 2, 29, 0, 0, 0 },
  { 2147483647, 2038, 1, 19, 3, 14, 7 },
  { INT64_C(2147483648), 2038, 1, 19, 3, 14, 8 },
  { INT64_C(253402300799), 9999, 12, 31, 23, 59, 59 },
  { INT64_C(-631152000), 1950, 1, 1, 0, 0, 0 },
  { -1, 1969, 12, 31, 23, 59, 59 },
  { 784111777, 1994, 11, 6, 8, 49, 37 },
  { 946684799, 1999, 12, 31, 23, 59, 59 },
  { INT64_C(4107542400), 2100, 3, 1, 0, 0, 0 },
  { INT64_C(2524608000), 2050, 1, 1, 0, 0, 0 },
};

static void test_known_epochs(void **state) {
  (void)state;
  assert_true(VIGIL_TIME_MIN == INT64_C(-631152000));
  assert_true(VIGIL_TIME_MAX == INT64_C(253402300799));
  for (size_t i = 0; i < sizeof(kKnown) / sizeof(kKnown[0]); i++) {
    const struct civil_case *c = &kKnown[i];
    int64_t t = 12345;
    assert_int_equal(
        vigil_time_from_civil(&t, c->y, c->mo, c->d, c->h, c->mi, c->s), 1);
    assert_true(t == c->t);
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    assert_int_equal(vigil_time_to_civil(c->t, &y, &mo, &d, &h, &mi, &s), 1);
    assert_int_equal(y, c->y);
    assert_int_equal(mo, c->mo);
    assert_int_equal(d, c->d);
    assert_int_equal(h, c->h);
    assert_int_equal(mi, c->mi);
    assert_int_equal(s, c->s);
  }
}

static void test_civil_invalid(void **state) {
  (void)state;
  static const int kBad[][6] = {
    { 2023, 0, 1, 0, 0, 0 },      { 2023, 13, 1, 0, 0, 0 },
    { 2023, 1, 0, 0, 0, 0 },      { 2023, 1, 32, 0, 0, 0 },
    { 2023, 4, 31, 0, 0, 0 },     { 2023, 6, 31, 0, 0, 0 },
    { 2023, 9, 31, 0, 0, 0 },     { 2023, 11, 31, 0, 0, 0 },
    { 2023, 2, 29, 0, 0, 0 },     { 2100, 2, 29, 0, 0, 0 },
    { 2024, 2, 30, 0, 0, 0 },     { 2023, 1, 1, 24, 0, 0 },
    { 2023, 1, 1, 0, 60, 0 },     { 2023, 1, 1, 0, 0, 60 },
    { 2016, 12, 31, 23, 59, 60 }, { 2023, 1, 1, -1, 0, 0 },
    { 2023, 1, 1, 0, -1, 0 },     { 2023, 1, 1, 0, 0, -1 },
    { 1949, 12, 31, 23, 59, 59 }, { 10000, 1, 1, 0, 0, 0 },
    { 0, 1, 1, 0, 0, 0 },         { -2023, 1, 1, 0, 0, 0 },
    { 2023, -1, 1, 0, 0, 0 },     { 2023, 1, -1, 0, 0, 0 },
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    int64_t t = 777;
    assert_int_equal(
        vigil_time_from_civil(&t, kBad[i][0], kBad[i][1], kBad[i][2],
                              kBad[i][3], kBad[i][4], kBad[i][5]),
        0);
    assert_true(t == 777); /* untouched on failure */
  }
  /* Leap years: 2000 and 2400 are, 2100 is not, 2024 is. */
  int64_t t = 0;
  assert_int_equal(vigil_time_from_civil(&t, 2024, 2, 29, 0, 0, 0), 1);
  assert_int_equal(vigil_time_from_civil(&t, 2400, 2, 29, 0, 0, 0), 1);
  assert_int_equal(vigil_time_from_civil(&t, 1952, 2, 29, 0, 0, 0), 1);

  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  static const int64_t kOut[] = { VIGIL_TIME_MIN - 1, VIGIL_TIME_MAX + 1,
                                  INT64_MIN, INT64_MAX };
  for (size_t i = 0; i < sizeof(kOut) / sizeof(kOut[0]); i++) {
    assert_int_equal(vigil_time_to_civil(kOut[i], &y, &mo, &d, &h, &mi, &s), 0);
  }
}

/* ------------------------------------------------------------------------ */
/* DER times                                                                 */
/* ------------------------------------------------------------------------ */

struct der_case {
  const char *s;
  int64_t t;
};

static void test_utctime(void **state) {
  (void)state;
  static const struct der_case kGood[] = {
    { "500101000000Z", INT64_C(-631152000) }, /* first UTCTime second */
    { "491231235959Z", UTCTIME_LAST },        /* last UTCTime second */
    { "700101000000Z", 0 },
    { "991231235959Z", 946684799 },
    { "000101000000Z", 946684800 },
    { "000229000000Z", 951782400 },
    { "380119031408Z", INT64_C(2147483648) },
    { "941106084937Z", 784111777 },
    { "520229120000Z", INT64_C(-562939200) },
  };
  for (size_t i = 0; i < sizeof(kGood) / sizeof(kGood[0]); i++) {
    int64_t t = 0;
    assert_int_equal(parse_utc(&t, kGood[i].s), 1);
    assert_true(t == kGood[i].t);
    uint8_t out[VIGIL_UTCTIME_LEN + 1];
    out[VIGIL_UTCTIME_LEN] = '#';
    assert_int_equal(vigil_time_format_utctime(out, kGood[i].t), 1);
    assert_memory_equal(out, kGood[i].s, VIGIL_UTCTIME_LEN);
    assert_int_equal(out[VIGIL_UTCTIME_LEN], '#');
  }
  /* UTCTime cannot say 2050 or 1949. */
  uint8_t out[VIGIL_UTCTIME_LEN];
  assert_int_equal(vigil_time_format_utctime(out, UTCTIME_LAST + 1), 0);
  assert_int_equal(vigil_time_format_utctime(out, VIGIL_TIME_MIN - 1), 0);
  assert_int_equal(vigil_time_format_utctime(out, VIGIL_TIME_MAX), 0);
}

static void test_utctime_reject(void **state) {
  (void)state;
  static const char *const kBad[] = {
    "",
    "5001010000Z",       /* no seconds */
    "500101000000",      /* no Z */
    "500101000000z",     /* lowercase z */
    "500101000000+0000", /* offset */
    "500101000000-0100",
    "500101000000.5Z", /* fraction */
    "500101000000ZZ",
    "230229000000Z", /* not a leap year */
    "000230000000Z",
    "500101000060Z", /* leap second */
    "501301000000Z",
    "500001000000Z",
    "500100000000Z",
    "500132000000Z",
    "500431000000Z",
    "500101240000Z",
    "500101006000Z",
    " 00101000000Z",
    "+00101000000Z",
    "5O0101000000Z",
    "50010100000 Z",
    "5001010000-0Z",
    "19500101000000Z", /* GeneralizedTime is not UTCTime */
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    int64_t t = 777;
    if (parse_utc(&t, kBad[i]) != 0) {
      print_error("accepted \"%s\"\n", kBad[i]);
      fail();
    }
    assert_true(t == 777);
  }
  /* A valid prefix followed by a NUL is still too long. */
  int64_t t = 0;
  assert_int_equal(
      vigil_time_parse_utctime(&t, (const uint8_t *)"500101000000Z", 14), 0);
}

static void test_gentime(void **state) {
  (void)state;
  static const struct der_case kGood[] = {
    { "19500101000000Z", INT64_C(-631152000) },
    { "19700101000000Z", 0 },
    { "20000229000000Z", 951782400 },
    { "20380119031408Z", INT64_C(2147483648) },
    { "20491231235959Z", UTCTIME_LAST },
    { "20500101000000Z", UTCTIME_LAST + 1 }, /* where UTCTime stops */
    { "21000301000000Z", INT64_C(4107542400) },
    { "99991231235959Z", INT64_C(253402300799) },
  };
  for (size_t i = 0; i < sizeof(kGood) / sizeof(kGood[0]); i++) {
    int64_t t = 0;
    assert_int_equal(parse_gen(&t, kGood[i].s), 1);
    assert_true(t == kGood[i].t);
    uint8_t out[VIGIL_GENTIME_LEN + 1];
    out[VIGIL_GENTIME_LEN] = '#';
    assert_int_equal(vigil_time_format_gentime(out, kGood[i].t), 1);
    assert_memory_equal(out, kGood[i].s, VIGIL_GENTIME_LEN);
    assert_int_equal(out[VIGIL_GENTIME_LEN], '#');
  }
  uint8_t out[VIGIL_GENTIME_LEN];
  assert_int_equal(vigil_time_format_gentime(out, VIGIL_TIME_MAX + 1), 0);
  assert_int_equal(vigil_time_format_gentime(out, VIGIL_TIME_MIN - 1), 0);
  assert_int_equal(vigil_time_format_gentime(out, INT64_MIN), 0);
  assert_int_equal(vigil_time_format_gentime(out, INT64_MAX), 0);
}

static void test_gentime_reject(void **state) {
  (void)state;
  static const char *const kBad[] = {
    "",
    "20000229000000", /* no Z */
    "20000229000000z",
    "20000229000000.5Z", /* fractional seconds */
    "20000229000000.0Z",
    "20000229000000,5Z",
    "20000229000000+0000", /* offset */
    "20000229000000-0100",
    "200002290000Z", /* no seconds */
    "2000022900Z",
    "2000022900000Z",   /* 14 bytes */
    "200002290000000Z", /* 16 bytes */
    "20230229000000Z",  /* not a leap year */
    "21000229000000Z",  /* century, not a leap year */
    "20000230000000Z",
    "20000229000060Z", /* leap second */
    "20001301000000Z",
    "20000001000000Z",
    "20000100000000Z",
    "20000132000000Z",
    "20000229240000Z",
    "20000229006000Z",
    "19491231235959Z", /* before the supported range */
    "00000101000000Z",
    " 2000229000000Z",
    "+2000229000000Z",
    "2000O229000000Z",
    "500101000000Z", /* UTCTime is not GeneralizedTime */
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    int64_t t = 777;
    if (parse_gen(&t, kBad[i]) != 0) {
      print_error("accepted \"%s\"\n", kBad[i]);
      fail();
    }
    assert_true(t == 777);
  }
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                      */
/* ------------------------------------------------------------------------ */

static void test_http(void **state) {
  (void)state;
  static const struct der_case kGood[] = {
    { "Sun, 06 Nov 1994 08:49:37 GMT", 784111777 }, /* RFC 9110 5.6.7 */
    { "Thu, 01 Jan 1970 00:00:00 GMT", 0 },
    { "Wed, 31 Dec 1969 23:59:59 GMT", -1 },
    { "Sun, 01 Jan 1950 00:00:00 GMT", INT64_C(-631152000) },
    { "Tue, 29 Feb 2000 00:00:00 GMT", 951782400 },
    { "Tue, 19 Jan 2038 03:14:08 GMT", INT64_C(2147483648) },
    { "Fri, 31 Dec 9999 23:59:59 GMT", INT64_C(253402300799) },
  };
  for (size_t i = 0; i < sizeof(kGood) / sizeof(kGood[0]); i++) {
    char out[VIGIL_HTTPDATE_LEN + 1];
    out[VIGIL_HTTPDATE_LEN] = '#';
    assert_int_equal(vigil_time_format_http(out, kGood[i].t), 1);
    assert_memory_equal(out, kGood[i].s, VIGIL_HTTPDATE_LEN);
    assert_int_equal(out[VIGIL_HTTPDATE_LEN], '#');
    int64_t t = 0;
    assert_int_equal(parse_http(&t, kGood[i].s), 1);
    assert_true(t == kGood[i].t);
  }
  char out[VIGIL_HTTPDATE_LEN];
  assert_int_equal(vigil_time_format_http(out, VIGIL_TIME_MIN - 1), 0);
  assert_int_equal(vigil_time_format_http(out, VIGIL_TIME_MAX + 1), 0);
}

static void test_http_reject(void **state) {
  (void)state;
  static const char *const kBad[] = {
    "",
    "Sunday, 06-Nov-94 08:49:37 GMT", /* RFC 850 form */
    "Sun Nov  6 08:49:37 1994",       /* asctime form */
    "sun, 06 Nov 1994 08:49:37 GMT",  /* case-sensitive */
    "Sun, 06 nov 1994 08:49:37 GMT",
    "SUN, 06 NOV 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 gmt",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 +0000",
    "Mon, 06 Nov 1994 08:49:37 GMT", /* wrong day name */
    "Xyz, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Noo 1994 08:49:37 GMT",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "Sun,  6 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT ",
    " Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37GMT ",
    "Sun 06, Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08-49-37 GMT",
    "Sun, 06 Nov 1994 08:49:60 GMT", /* leap second */
    "Sun, 06 Nov 1994 24:49:37 GMT",
    "Sun, 06 Nov 1994 08:60:37 GMT",
    "Sun, 31 Nov 1994 08:49:37 GMT", /* no 31 Nov */
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Wed, 29 Feb 2023 00:00:00 GMT", /* not a leap year */
    "Sat, 31 Dec 1949 23:59:59 GMT", /* out of range */
    "Sun, 06 Nov -994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:3  GMT",
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    int64_t t = 777;
    if (parse_http(&t, kBad[i]) != 0) {
      print_error("accepted \"%s\"\n", kBad[i]);
      fail();
    }
    assert_true(t == 777);
  }
}

/* ------------------------------------------------------------------------ */
/* Against the C library                                                     */
/* ------------------------------------------------------------------------ */

/* check_against_libc compares every function of the module at |t|. */
static void check_against_libc(int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  assert_non_null(gmtime_r(&tt, &tm));

  int y = 0;
  int mo = 0;
  int d = 0;
  int h = 0;
  int mi = 0;
  int s = 0;
  assert_int_equal(vigil_time_to_civil(t, &y, &mo, &d, &h, &mi, &s), 1);
  if (y != tm.tm_year + 1900 || mo != tm.tm_mon + 1 || d != tm.tm_mday ||
      h != tm.tm_hour || mi != tm.tm_min || s != tm.tm_sec) {
    print_error("t=%lld: got %04d-%02d-%02d %02d:%02d:%02d\n", (long long)t, y,
                mo, d, h, mi, s);
    fail();
  }
  int64_t back = 0;
  assert_int_equal(vigil_time_from_civil(&back, y, mo, d, h, mi, s), 1);
  assert_true(back == t);
  struct tm tm2 = tm;
  assert_true((int64_t)timegm(&tm2) == t);

  /* strftime in the C locale (the test never calls setlocale). */
  char want[64];
  assert_int_equal(
      strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm),
      VIGIL_HTTPDATE_LEN);
  char http[VIGIL_HTTPDATE_LEN];
  assert_int_equal(vigil_time_format_http(http, t), 1);
  assert_memory_equal(http, want, VIGIL_HTTPDATE_LEN);
  int64_t parsed = 0;
  assert_int_equal(vigil_time_parse_http(&parsed, http, VIGIL_HTTPDATE_LEN), 1);
  assert_true(parsed == t);

  assert_int_equal(strftime(want, sizeof(want), "%Y%m%d%H%M%SZ", &tm),
                   VIGIL_GENTIME_LEN);
  uint8_t gen[VIGIL_GENTIME_LEN];
  assert_int_equal(vigil_time_format_gentime(gen, t), 1);
  assert_memory_equal(gen, want, VIGIL_GENTIME_LEN);
  assert_int_equal(vigil_time_parse_gentime(&parsed, gen, VIGIL_GENTIME_LEN),
                   1);
  assert_true(parsed == t);

  uint8_t utc[VIGIL_UTCTIME_LEN];
  if (t <= UTCTIME_LAST) {
    /* UTCTime is the GeneralizedTime string without the century. */
    assert_int_equal(vigil_time_format_utctime(utc, t), 1);
    assert_memory_equal(utc, want + 2, VIGIL_UTCTIME_LEN);
    assert_int_equal(vigil_time_parse_utctime(&parsed, utc, VIGIL_UTCTIME_LEN),
                     1);
    assert_true(parsed == t);
  } else {
    assert_int_equal(vigil_time_format_utctime(utc, t), 0);
  }
}

static void test_against_libc(void **state) {
  (void)state;
  if (sizeof(time_t) < 8) {
    skip();
  }
  /* Every day of 1950..2101 at a varying second of the day, which covers
   * each month length, leap day and century rule in the UTCTime range. */
  uint64_t seed = 0x13198a2e03707344u;
  for (int64_t day = VIGIL_TIME_MIN / 86400; day < 47847; day++) {
    check_against_libc(day * 86400 + (int64_t)(next_rand(&seed) % 86400));
  }
  /* Both ends of each day around the range edges. */
  check_against_libc(VIGIL_TIME_MIN);
  check_against_libc(VIGIL_TIME_MAX);
  check_against_libc(UTCTIME_LAST);
  check_against_libc(UTCTIME_LAST + 1);
  /* Random instants over the whole range. */
  uint64_t span = (uint64_t)(VIGIL_TIME_MAX - VIGIL_TIME_MIN) + 1;
  for (int i = 0; i < 100000; i++) {
    check_against_libc(VIGIL_TIME_MIN + (int64_t)(next_rand(&seed) % span));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_known_epochs), cmocka_unit_test(test_civil_invalid),
    cmocka_unit_test(test_utctime),      cmocka_unit_test(test_utctime_reject),
    cmocka_unit_test(test_gentime),      cmocka_unit_test(test_gentime_reject),
    cmocka_unit_test(test_http),         cmocka_unit_test(test_http_reject),
    cmocka_unit_test(test_against_libc),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
