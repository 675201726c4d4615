/* alloc.h: the one allocation wrapper of Vigil's shared code.
 *
 * Every heap allocation in shared/ goes through these functions so that a
 * test can make the Nth allocation fail, once or persistently (SQLite's OOM
 * loops, curl's torture mode), and check that the caller returns an error,
 * frees what it owns and leaves its outputs in the documented state.
 *
 * Memory from vigil_malloc / vigil_calloc / vigil_realloc is released with
 * vigil_free (it is plain malloc memory, so free() works too). BoringSSL's
 * own allocations are not counted. */
#ifndef VIGIL_ALLOC_H
#define VIGIL_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- Allocation ---------------------------------------------------------- */

/* vigil_malloc allocates |len| bytes (at least 1). Returns NULL on failure
 * or when a test-injected failure fires. */
void *vigil_malloc(size_t len);

/* vigil_calloc allocates |num| * |size| zeroed bytes, checking the product
 * for overflow. Returns NULL on failure or overflow. */
void *vigil_calloc(size_t num, size_t size);

/* vigil_realloc resizes |ptr| to |len| bytes. Returns NULL on failure, in
 * which case |ptr| is still valid and still owned by the caller. */
void *vigil_realloc(void *ptr, size_t len);

/* vigil_free releases |ptr|. vigil_free(NULL) does nothing. */
void vigil_free(void *ptr);

/* --- Failure injection (tests only) --------------------------------------
 *
 * This is the one piece of process-wide mutable state in shared/, kept
 * thread-local so parallel tests cannot disturb one another. */

/* vigil_alloc_fail_after makes the allocation after |n| more successful
 * ones fail (n = 0: the very next one). If |persistent| is non-zero every
 * later allocation fails too, until vigil_alloc_fail_reset. */
void vigil_alloc_fail_after(unsigned long n, int persistent);

/* vigil_alloc_fail_reset turns failure injection off. */
void vigil_alloc_fail_reset(void);

/* vigil_alloc_failures returns how many allocations failed by injection
 * since the last reset; a loop uses it to know it went past the last one. */
unsigned long vigil_alloc_failures(void);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_ALLOC_H */
