/* alloc.c: allocation wrapper with test-only failure injection. */
#include "vigil/alloc.h"

#include <stdint.h>
#include <stdlib.h>

/* Thread-local so that one test's injection cannot reach another thread.
 * armed: injection active; remaining: successes left before failing. */
static _Thread_local int fail_armed;
static _Thread_local int fail_persistent;
static _Thread_local unsigned long fail_remaining;
static _Thread_local unsigned long fail_count;

static int should_fail(void) {
  if (__builtin_expect(!fail_armed, 1)) {
    return 0;
  }
  if (fail_remaining > 0) {
    fail_remaining--;
    return 0;
  }
  fail_count++;
  if (!fail_persistent) {
    fail_armed = 0;
  }
  return 1;
}

void *vigil_malloc(size_t len) {
  if (should_fail()) {
    return NULL;
  }
  return malloc(len == 0 ? 1 : len);
}

void *vigil_calloc(size_t num, size_t size) {
  if (size != 0 && num > SIZE_MAX / size) {
    return NULL;
  }
  if (should_fail()) {
    return NULL;
  }
  return calloc(num == 0 ? 1 : num, size == 0 ? 1 : size);
}

void *vigil_realloc(void *ptr, size_t len) {
  if (should_fail()) {
    return NULL;
  }
  return realloc(ptr, len == 0 ? 1 : len);
}

void vigil_free(void *ptr) {
  free(ptr);
}

void vigil_alloc_fail_after(unsigned long n, int persistent) {
  fail_armed = 1;
  fail_persistent = persistent;
  fail_remaining = n;
}

void vigil_alloc_fail_reset(void) {
  fail_armed = 0;
  fail_persistent = 0;
  fail_remaining = 0;
  fail_count = 0;
}

unsigned long vigil_alloc_failures(void) {
  return fail_count;
}
