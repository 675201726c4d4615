/* log.h: structured logging.
 *
 * A logger is a small struct the program builds in main and passes down
 * (no global state). The macros check the level before evaluating their
 * arguments (Redis serverLog), so a disabled debug line costs one compare.
 * Output is one line per event, JSON ({"ts":..,"level":..,"prog":..,
 * "msg":..}) or plain text, written with a single write(2) so lines from
 * different threads never interleave. Never log per request at INFO:
 * count in metrics instead. */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vigil_log_level {
  VIGIL_LOG_ERROR = 0,
  VIGIL_LOG_WARN = 1,
  VIGIL_LOG_INFO = 2,
  VIGIL_LOG_DEBUG = 3,
};

struct vigil_log {
  enum vigil_log_level level; /* events above this level are dropped */
  int json;                   /* 1: JSON lines; 0: human text */
  int fd;                     /* where lines go (2 = stderr) */
  const char *prog;           /* program name in every line (static) */
};

/* vigil_log_init sets |log| to level INFO, text, stderr, program |prog|. */
void vigil_log_init(struct vigil_log *log, const char *prog);

/* vigil_log_parse_level maps "error", "warn", "info", "debug" to a level.
 * Returns 1 on success, 0 for anything else. */
int vigil_log_parse_level(enum vigil_log_level *out, const char *name);

/* vigil_strerror writes the description of errno value |err| into |buf|
 * (|len| bytes) and returns |buf|. Thread-safe (strerror_r underneath,
 * whichever variant the C library provides). */
const char *vigil_strerror(int err, char *buf, size_t len);

/* vigil_log_write formats and writes one event. Use the macros. */
void vigil_log_write(const struct vigil_log *log, enum vigil_log_level level,
                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VIGIL_LOG_AT(log, lvl, ...)               \
  do {                                            \
    if ((lvl) <= (log)->level) {                  \
      vigil_log_write((log), (lvl), __VA_ARGS__); \
    }                                             \
  } while (0)

#define VLOG_ERROR(log, ...) VIGIL_LOG_AT(log, VIGIL_LOG_ERROR, __VA_ARGS__)
#define VLOG_WARN(log, ...)  VIGIL_LOG_AT(log, VIGIL_LOG_WARN, __VA_ARGS__)
#define VLOG_INFO(log, ...)  VIGIL_LOG_AT(log, VIGIL_LOG_INFO, __VA_ARGS__)
#define VLOG_DEBUG(log, ...) VIGIL_LOG_AT(log, VIGIL_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_LOG_H */
