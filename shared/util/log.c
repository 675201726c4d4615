/* log.c: structured logging (see vigil/log.h). */
#include "vigil/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vigil/timeutil.h"

/* Longest line written; longer messages are truncated, never split. */
#define LOG_MAX_LINE 2048

static const char *const kLevelNames[] = { "error", "warn", "info", "debug" };

const char *vigil_strerror(int err, char *buf, size_t len) {
  if (len == 0) {
    return buf;
  }
  buf[0] = '\0';
#if defined(_GNU_SOURCE) && defined(__GLIBC__)
  /* GNU strerror_r returns a string that may or may not be |buf|. */
  const char *s = strerror_r(err, buf, len);
  if (s != buf) {
    snprintf(buf, len, "%s", s);
  }
#else
  if (strerror_r(err, buf, len) != 0) {
    snprintf(buf, len, "error %d", err);
  }
#endif
  return buf;
}

void vigil_log_init(struct vigil_log *log, const char *prog) {
  log->level = VIGIL_LOG_INFO;
  log->json = 0;
  log->fd = 2;
  log->prog = prog;
}

int vigil_log_parse_level(enum vigil_log_level *out, const char *name) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(name, kLevelNames[i]) == 0) {
      *out = (enum vigil_log_level)i;
      return 1;
    }
  }
  return 0;
}

/* json_escape copies |in| into |out| (|out_len| bytes incl. NUL) with JSON
 * string escaping; truncates safely. */
static void json_escape(char *out, size_t out_len, const char *in) {
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p != '\0'; p++) {
    char tmp[8];
    size_t n;
    if (*p == '"' || *p == '\\') {
      tmp[0] = '\\';
      tmp[1] = (char)*p;
      n = 2;
    } else if (*p < 0x20) {
      n = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", *p);
    } else {
      tmp[0] = (char)*p;
      n = 1;
    }
    if (o + n + 1 > out_len) {
      break;
    }
    memcpy(out + o, tmp, n);
    o += n;
  }
  out[o] = '\0';
}

void vigil_log_write(const struct vigil_log *log, enum vigil_log_level level,
                     const char *fmt, ...) {
  char msg[LOG_MAX_LINE];
  char line[LOG_MAX_LINE + 256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint8_t gt[VIGIL_GENTIME_LEN];
  char when[64] = "?";
  if (vigil_time_format_gentime(gt, ts.tv_sec)) {
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    snprintf(when, sizeof(when), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%03ldZ",
             (const char *)gt, (const char *)gt + 4, (const char *)gt + 6,
             (const char *)gt + 8, (const char *)gt + 10, (const char *)gt + 12,
             (long)(ts.tv_nsec / 1000000) % 1000);
  }
  int lvl = level < 0 || level > 3 ? 0 : (int)level;
  int n;
  if (log->json) {
    char esc[LOG_MAX_LINE];
    json_escape(esc, sizeof(esc), msg);
    n = snprintf(line, sizeof(line),
                 "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"%s\","
                 "\"msg\":\"%s\"}\n",
                 when, kLevelNames[lvl], log->prog, esc);
  } else {
    n = snprintf(line, sizeof(line), "%s %s %s: %s\n", when, kLevelNames[lvl],
                 log->prog, msg);
  }
  if (n < 0) {
    return;
  }
  size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
  if (len > 0 && line[len - 1] != '\n') {
    line[len - 1] = '\n';
  }
  /* One write per line; retry only on EINTR (a full pipe drops the line
   * rather than block a server thread for long). */
  for (;;) {
    ssize_t w = write(log->fd, line, len);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    break;
  }
}
