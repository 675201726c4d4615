/* timeutil.c: UTC calendar <-> epoch seconds, and the strict DER and HTTP
 * time encodings.
 *
 * The calendar conversion is Howard Hinnant's days_from_civil /
 * civil_from_days (proleptic Gregorian, exact in integer arithmetic), so
 * nothing here depends on the C library's time zone, locale or time_t
 * width. Leap seconds do not exist in POSIX time, so second 60 is refused
 * everywhere. */
#include <vigil/timeutil.h>

#include <stdint.h>

#define SECS_PER_DAY INT64_C(86400)

/* Last second UTCTime can express: 2049-12-31T23:59:59Z. */
#define UTCTIME_MAX INT64_C(2524607999)

static const char kDayNames[7][4] = { "Sun", "Mon", "Tue", "Wed",
                                      "Thu", "Fri", "Sat" };
static const char kMonthNames[12][4] = { "Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec" };

/* ------------------------------------------------------------------------ */
/* Calendar arithmetic                                                       */
/* ------------------------------------------------------------------------ */

static int is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m) {
  static const int kDays[12] = {
    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
  };
  if (m == 2 && is_leap(y)) {
    return 29;
  }
  return kDays[m - 1];
}

/* days_from_civil returns the days since 1970-01-01 of a valid date. */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;                                   /* 0..399 */
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
  return era * 146097 + doe - 719468;
}

/* civil_from_days is the inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *out_y, int *out_m, int *out_d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  *out_y = yoe + era * 400 + (m <= 2);
  *out_m = (int)m;
  *out_d = (int)d;
}

/* floor_div_day splits |t| into whole days (rounded towards -infinity) and
 * the second of that day. */
static void floor_div_day(int64_t t, int64_t *out_days, int64_t *out_sec) {
  int64_t days = t / SECS_PER_DAY;
  int64_t sec = t % SECS_PER_DAY;
  if (sec < 0) {
    sec += SECS_PER_DAY;
    days--;
  }
  *out_days = days;
  *out_sec = sec;
}

int vigil_time_from_civil(int64_t *out, int year, int month, int day, int hour,
                          int min, int sec) {
  /* Checking the year first keeps every later step far from overflow; the
   * range is exactly VIGIL_TIME_MIN..VIGIL_TIME_MAX. */
  if (year < 1950 || year > 9999 || month < 1 || month > 12 || day < 1 ||
      day > days_in_month(year, month) || hour < 0 || hour > 23 || min < 0 ||
      min > 59 || sec < 0 || sec > 59) {
    return 0;
  }
  int64_t days = days_from_civil(year, month, day);
  *out = days * SECS_PER_DAY + hour * 3600 + min * 60 + sec;
  return 1;
}

int vigil_time_to_civil(int64_t t, int *out_year, int *out_month, int *out_day,
                        int *out_hour, int *out_min, int *out_sec) {
  if (t < VIGIL_TIME_MIN || t > VIGIL_TIME_MAX) {
    return 0;
  }
  int64_t days = 0;
  int64_t sod = 0;
  int64_t year = 0;
  floor_div_day(t, &days, &sod);
  civil_from_days(days, &year, out_month, out_day);
  *out_year = (int)year;
  *out_hour = (int)(sod / 3600);
  *out_min = (int)(sod / 60 % 60);
  *out_sec = (int)(sod % 60);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* Digit helpers                                                             */
/* ------------------------------------------------------------------------ */

/* parse_digits reads exactly |n| ASCII digits. Returns 0 on anything else
 * (no sign, no space). */
static int parse_digits(int *out, const uint8_t *in, int n) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (in[i] < '0' || in[i] > '9') {
      return 0;
    }
    v = v * 10 + (in[i] - '0');
  }
  *out = v;
  return 1;
}

/* put_digits writes |v| as exactly |n| digits (zero-padded). */
static void put_digits(uint8_t *out, int v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    out[i] = (uint8_t)('0' + v % 10);
    v /= 10;
  }
}

/* ------------------------------------------------------------------------ */
/* DER UTCTime / GeneralizedTime (RFC 5280 4.1.2.5.1, 4.1.2.5.2)             */
/* ------------------------------------------------------------------------ */

/* parse_mdhms reads "MMDDHHMMSSZ" (11 bytes) after a year already read. */
static int parse_mdhms(int64_t *out, int year, const uint8_t *in) {
  int mon = 0;
  int day = 0;
  int hour = 0;
  int min = 0;
  int sec = 0;
  if (!parse_digits(&mon, in, 2) || !parse_digits(&day, in + 2, 2) ||
      !parse_digits(&hour, in + 4, 2) || !parse_digits(&min, in + 6, 2) ||
      !parse_digits(&sec, in + 8, 2) || in[10] != 'Z') {
    return 0;
  }
  return vigil_time_from_civil(out, year, mon, day, hour, min, sec);
}

int vigil_time_parse_utctime(int64_t *out, const uint8_t *in, size_t len) {
  int yy = 0;
  if (len != VIGIL_UTCTIME_LEN || !parse_digits(&yy, in, 2)) {
    return 0;
  }
  /* RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, YY < 50 is 20YY. */
  return parse_mdhms(out, yy >= 50 ? 1900 + yy : 2000 + yy, in + 2);
}

int vigil_time_parse_gentime(int64_t *out, const uint8_t *in, size_t len) {
  int year = 0;
  /* Exactly 15 bytes rules out fractional seconds, offsets and the forms
   * without seconds; parse_mdhms then insists on 'Z' at the end. */
  if (len != VIGIL_GENTIME_LEN || !parse_digits(&year, in, 4)) {
    return 0;
  }
  return parse_mdhms(out, year, in + 4);
}

/* format_mdhms writes "MMDDHHMMSSZ" for |t| (in range) and returns the
 * year. */
static int format_mdhms(uint8_t out[11], int64_t t) {
  int year = 0;
  int mon = 0;
  int day = 0;
  int hour = 0;
  int min = 0;
  int sec = 0;
  /* Callers have range-checked |t|, so this cannot fail. */
  (void)vigil_time_to_civil(t, &year, &mon, &day, &hour, &min, &sec);
  put_digits(out, mon, 2);
  put_digits(out + 2, day, 2);
  put_digits(out + 4, hour, 2);
  put_digits(out + 6, min, 2);
  put_digits(out + 8, sec, 2);
  out[10] = 'Z';
  return year;
}

int vigil_time_format_utctime(uint8_t out[VIGIL_UTCTIME_LEN], int64_t t) {
  if (t < VIGIL_TIME_MIN || t > UTCTIME_MAX) {
    return 0;
  }
  int year = format_mdhms(out + 2, t);
  put_digits(out, year % 100, 2);
  return 1;
}

int vigil_time_format_gentime(uint8_t out[VIGIL_GENTIME_LEN], int64_t t) {
  if (t < VIGIL_TIME_MIN || t > VIGIL_TIME_MAX) {
    return 0;
  }
  int year = format_mdhms(out + 4, t);
  put_digits(out, year, 4);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* HTTP IMF-fixdate (RFC 9110 5.6.7)                                         */
/* ------------------------------------------------------------------------ */

/* Layout: "Sun, 06 Nov 1994 08:49:37 GMT"
 *          0    5  8   12   17 20 23 26 */

/* weekday returns 0 (Sunday) .. 6 for days since the epoch (a Thursday). */
static int weekday(int64_t days) {
  int64_t w = (days + 4) % 7;
  return (int)(w < 0 ? w + 7 : w);
}

int vigil_time_format_http(char out[VIGIL_HTTPDATE_LEN], int64_t t) {
  int year = 0;
  int mon = 0;
  int day = 0;
  int hour = 0;
  int min = 0;
  int sec = 0;
  if (!vigil_time_to_civil(t, &year, &mon, &day, &hour, &min, &sec)) {
    return 0;
  }
  int64_t days = 0;
  int64_t sod = 0;
  floor_div_day(t, &days, &sod);
  uint8_t *o = (uint8_t *)out;
  const char *dn = kDayNames[weekday(days)];
  const char *mn = kMonthNames[mon - 1];
  o[0] = (uint8_t)dn[0];
  o[1] = (uint8_t)dn[1];
  o[2] = (uint8_t)dn[2];
  o[3] = ',';
  o[4] = ' ';
  put_digits(o + 5, day, 2);
  o[7] = ' ';
  o[8] = (uint8_t)mn[0];
  o[9] = (uint8_t)mn[1];
  o[10] = (uint8_t)mn[2];
  o[11] = ' ';
  put_digits(o + 12, year, 4);
  o[16] = ' ';
  put_digits(o + 17, hour, 2);
  o[19] = ':';
  put_digits(o + 20, min, 2);
  o[22] = ':';
  put_digits(o + 23, sec, 2);
  o[25] = ' ';
  o[26] = 'G';
  o[27] = 'M';
  o[28] = 'T';
  return 1;
}

/* match3 compares three bytes exactly (RFC 9110: day-name and month are
 * case-sensitive). */
static int match3(const uint8_t *in, const char *name) {
  return in[0] == (uint8_t)name[0] && in[1] == (uint8_t)name[1] &&
         in[2] == (uint8_t)name[2];
}

int vigil_time_parse_http(int64_t *out, const char *in, size_t len) {
  if (len != VIGIL_HTTPDATE_LEN) {
    return 0;
  }
  const uint8_t *p = (const uint8_t *)in;
  int wday = -1;
  for (int i = 0; i < 7; i++) {
    if (match3(p, kDayNames[i])) {
      wday = i;
    }
  }
  int mon = 0;
  for (int i = 0; i < 12; i++) {
    if (match3(p + 8, kMonthNames[i])) {
      mon = i + 1;
    }
  }
  int day = 0;
  int year = 0;
  int hour = 0;
  int min = 0;
  int sec = 0;
  if (wday < 0 || mon == 0 || p[3] != ',' || p[4] != ' ' || p[7] != ' ' ||
      p[11] != ' ' || p[16] != ' ' || p[19] != ':' || p[22] != ':' ||
      p[25] != ' ' || !match3(p + 26, "GMT") || !parse_digits(&day, p + 5, 2) ||
      !parse_digits(&year, p + 12, 4) || !parse_digits(&hour, p + 17, 2) ||
      !parse_digits(&min, p + 20, 2) || !parse_digits(&sec, p + 23, 2)) {
    return 0;
  }
  int64_t t = 0;
  if (!vigil_time_from_civil(&t, year, mon, day, hour, min, sec)) {
    return 0;
  }
  /* A day name that does not match the date means the sender's clock
   * arithmetic is broken; such a date is not trusted for 304 decisions. */
  int64_t days = 0;
  int64_t sod = 0;
  floor_div_day(t, &days, &sod);
  if (weekday(days) != wday) {
    return 0;
  }
  *out = t;
  return 1;
}
