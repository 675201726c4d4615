/* timeutil.h: time encodings used by OCSP, X.509, CRLs and HTTP.
 *
 * All times are int64_t seconds since the Unix epoch, UTC. Parsers are
 * strict DER (RFC 5280 4.1.2.5): UTCTime "YYMMDDHHMMSSZ" (years 50..99 map
 * to 19xx), GeneralizedTime "YYYYMMDDHHMMSSZ" with no fractional seconds,
 * and reject anything else. No function reads the clock or the locale, and
 * none allocates. */
#ifndef VIGIL_TIMEUTIL_H
#define VIGIL_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Lengths of the encodings, without any terminating NUL. */
#define VIGIL_UTCTIME_LEN  13
#define VIGIL_GENTIME_LEN  15
#define VIGIL_HTTPDATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

/* Range this module handles: 1950-01-01 .. 9999-12-31 23:59:59. */
#define VIGIL_TIME_MIN INT64_C(-631152000)
#define VIGIL_TIME_MAX INT64_C(253402300799)

/* vigil_time_from_civil converts a UTC calendar time to epoch seconds.
 * Returns 1 and sets |*out| if every field is in range (month 1..12, day
 * valid for the month incl. leap years, hour 0..23, min 0..59, sec 0..59)
 * and the result is within VIGIL_TIME_MIN..MAX; returns 0 otherwise. */
int vigil_time_from_civil(int64_t *out, int year, int month, int day, int hour,
                          int min, int sec);

/* vigil_time_to_civil is the inverse. Returns 0 if |t| is out of range. */
int vigil_time_to_civil(int64_t t, int *out_year, int *out_month, int *out_day,
                        int *out_hour, int *out_min, int *out_sec);

/* vigil_time_parse_utctime parses the contents of a DER UTCTime. */
int vigil_time_parse_utctime(int64_t *out, const uint8_t *in, size_t len);

/* vigil_time_parse_gentime parses the contents of a DER GeneralizedTime. */
int vigil_time_parse_gentime(int64_t *out, const uint8_t *in, size_t len);

/* vigil_time_format_utctime writes exactly VIGIL_UTCTIME_LEN bytes (no NUL)
 * to |out|. Returns 0 if |t| is outside 1950..2049 (UTCTime's range). */
int vigil_time_format_utctime(uint8_t out[VIGIL_UTCTIME_LEN], int64_t t);

/* vigil_time_format_gentime writes exactly VIGIL_GENTIME_LEN bytes (no
 * NUL). Returns 0 if |t| is out of range. */
int vigil_time_format_gentime(uint8_t out[VIGIL_GENTIME_LEN], int64_t t);

/* vigil_time_format_http writes the RFC 9110 IMF-fixdate form, exactly
 * VIGIL_HTTPDATE_LEN bytes (no NUL). Returns 0 if |t| is out of range. */
int vigil_time_format_http(char out[VIGIL_HTTPDATE_LEN], int64_t t);

/* vigil_time_parse_http parses an IMF-fixdate (the only form we accept in
 * If-Modified-Since; others are ignored by the caller). Returns 1 on
 * success, 0 on anything else. */
int vigil_time_parse_http(int64_t *out, const char *in, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_TIMEUTIL_H */
