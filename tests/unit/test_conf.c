/* test_conf.c: unit tests for vigil/conf.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vigil/conf.h"

struct cfg {
  char listen[64];
  int64_t port;
  int nonces;
  int64_t validity;
  int64_t budget;
};

static const struct vigil_conf_item kTable[] = {
  { "listen", VIGIL_CONF_STRING, offsetof(struct cfg, listen), 64, "127.0.0.1",
    0, 0, "address" },
  { "port", VIGIL_CONF_INT, offsetof(struct cfg, port), 0, "8080", 1, 65535,
    "port" },
  { "nonces", VIGIL_CONF_BOOL, offsetof(struct cfg, nonces), 0, "true", 0, 1,
    "nonces" },
  { "validity", VIGIL_CONF_DURATION, offsetof(struct cfg, validity), 0, "96h",
    8 * 3600, 10 * 86400, "validity" },
  { "budget", VIGIL_CONF_SIZE, offsetof(struct cfg, budget), 0, "64M", 1,
    INT64_MAX, "budget" },
};
#define N (sizeof(kTable) / sizeof(kTable[0]))

static enum vigil_conf_result load(struct cfg *c, char *err, int argc,
                                   char **argv) {
  return vigil_conf_load(c, sizeof(*c), err, 256, NULL, 0, NULL, kTable, N,
                         "VTEST_", argc, argv);
}

static void test_defaults(void **state) {
  (void)state;
  struct cfg c;
  char err[256];
  char *argv[] = { "prog" };
  assert_int_equal(load(&c, err, 1, argv), VIGIL_CONF_OK);
  assert_string_equal(c.listen, "127.0.0.1");
  assert_int_equal(c.port, 8080);
  assert_int_equal(c.nonces, 1);
  assert_int_equal(c.validity, 96 * 3600);
  assert_int_equal(c.budget, 64 * 1024 * 1024);
}

static void test_precedence(void **state) {
  (void)state;
  char path[] = "/tmp/vigil-conf.XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs("# comment\n\nport = 9000\nlisten = 0.0.0.0\nnonces=off\n", f);
  fclose(f);
  setenv("VTEST_PORT", "9100", 1);
  struct cfg c;
  char err[256];
  char cfgarg[64];
  snprintf(cfgarg, sizeof(cfgarg), "--config=%s", path);
  char *argv[] = { "prog", cfgarg, "--validity", "2d", "--nonces" };
  assert_int_equal(load(&c, err, 5, argv), VIGIL_CONF_OK);
  assert_string_equal(c.listen, "0.0.0.0"); /* file */
  assert_int_equal(c.port, 9100);           /* env over file */
  assert_int_equal(c.validity, 2 * 86400);  /* argv */
  assert_int_equal(c.nonces, 1);            /* --flag over file */
  char *argv2[] = { "prog", cfgarg, "--port=9200" };
  assert_int_equal(load(&c, err, 3, argv2), VIGIL_CONF_OK);
  assert_int_equal(c.port, 9200); /* argv over env */
  unsetenv("VTEST_PORT");
  unlink(path);
}

static void test_errors_leave_config_untouched(void **state) {
  (void)state;
  struct cfg c;
  char err[256];
  char *ok[] = { "prog" };
  assert_int_equal(load(&c, err, 1, ok), VIGIL_CONF_OK);
  struct cfg before = c;
  static char *const kBad[][2] = {
    { "prog", "--port=0" },       { "prog", "--port=70000" },
    { "prog", "--port=12x" },     { "prog", "--validity=7h" },
    { "prog", "--validity=11d" }, { "prog", "--nonces=maybe" },
    { "prog", "--nope=1" },       { "prog", "stray" },
    { "prog", "--budget=1T" },    { "prog", "--port" },
  };
  for (size_t i = 0; i < sizeof(kBad) / sizeof(kBad[0]); i++) {
    err[0] = '\0';
    assert_int_equal(load(&c, err, 2, (char **)kBad[i]), VIGIL_CONF_ERROR);
    assert_true(strlen(err) > 0);
    assert_memory_equal(&c, &before, sizeof(c));
  }
  /* The message names the setting. */
  char *argv[] = { "prog", "--validity=11d" };
  load(&c, err, 2, argv);
  assert_non_null(strstr(err, "validity"));
  char long_listen[100];
  memset(long_listen, 'a', sizeof(long_listen) - 1);
  long_listen[sizeof(long_listen) - 1] = '\0';
  char arg[128];
  snprintf(arg, sizeof(arg), "--listen=%s", long_listen);
  char *argv2[] = { "prog", arg };
  assert_int_equal(load(&c, err, 2, argv2), VIGIL_CONF_ERROR);
}

static void test_file_errors(void **state) {
  (void)state;
  char path[] = "/tmp/vigil-conf.XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  fputs("port = 9000\nthis line is wrong\n", f);
  fclose(f);
  struct cfg c;
  char err[256];
  char *argv[] = { "prog", "-c", path };
  assert_int_equal(load(&c, err, 3, argv), VIGIL_CONF_ERROR);
  assert_non_null(strstr(err, ":2:"));
  unlink(path);
  assert_int_equal(load(&c, err, 3, argv), VIGIL_CONF_ERROR);
  assert_non_null(strstr(err, "cannot open"));
}

static void test_help_and_dump(void **state) {
  (void)state;
  struct cfg c;
  char err[256];
  char *argv[] = { "prog", "--help" };
  assert_int_equal(load(&c, err, 2, argv), VIGIL_CONF_HELP);
  char *buf = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&buf, &len);
  vigil_conf_help(m, kTable, N, "VTEST_");
  fclose(m);
  assert_non_null(strstr(buf, "--validity"));
  assert_non_null(strstr(buf, "(default 96h)"));
  free(buf);
  /* dump output loads back to the same struct */
  char *argv2[] = { "prog", "--port=1234", "--listen=::1" };
  assert_int_equal(load(&c, err, 3, argv2), VIGIL_CONF_OK);
  char path[] = "/tmp/vigil-conf.XXXXXX";
  int fd = mkstemp(path);
  FILE *f = fdopen(fd, "w");
  vigil_conf_dump(f, &c, kTable, N);
  fclose(f);
  struct cfg back;
  char *argv3[] = { "prog", "-c", path };
  assert_int_equal(load(&back, err, 3, argv3), VIGIL_CONF_OK);
  assert_memory_equal(&back, &c, sizeof(c));
  unlink(path);
}

static void test_positional(void **state) {
  (void)state;
  struct cfg c;
  char err[256];
  const char *args[2];
  size_t n = 0;
  char *argv[] = { "prog", "migrate", "--port=1", "extra", "more" };
  assert_int_equal(vigil_conf_load(&c, sizeof(c), err, sizeof(err), args, 2, &n,
                                   kTable, N, NULL, 5, argv),
                   VIGIL_CONF_ERROR);
  assert_int_equal(vigil_conf_load(&c, sizeof(c), err, sizeof(err), args, 2, &n,
                                   kTable, N, NULL, 4, argv),
                   VIGIL_CONF_OK);
  assert_int_equal(n, 2);
  assert_string_equal(args[0], "migrate");
  assert_string_equal(args[1], "extra");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_precedence),
    cmocka_unit_test(test_errors_leave_config_untouched),
    cmocka_unit_test(test_file_errors),
    cmocka_unit_test(test_help_and_dump),
    cmocka_unit_test(test_positional),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
