/* file.h: reading whole files, bounded.
 *
 * Keys, certificates, CSRs and config-like inputs are small files read
 * whole, and written whole. vigil_file_read does it once for everyone: regular
 * files only, a size cap checked before reading, EINTR and short reads handled,
 * and an optional "private file" rule (owned by the effective user, no access
 * for group or others) for key material. No crypto: every program may link it.
 */
#ifndef VIGIL_FILE_H
#define VIGIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vigil_file_err {
  VIGIL_FILE_OK = 0,
  VIGIL_FILE_ERR_IO,        /* cannot open, not a regular file, read error */
  VIGIL_FILE_ERR_MODE,      /* private file required: wrong owner or mode */
  VIGIL_FILE_ERR_TOO_LARGE, /* larger than the caller's cap */
  VIGIL_FILE_ERR_NOMEM,
};

/* vigil_file_read reads the regular file at |path| (at most |max| bytes)
 * into a new buffer from vigil_malloc (one spare byte allocated, so a
 * caller may NUL-terminate) and sets |*out| (owned by the caller) and
 * |*out_len|. If |require_private| is non-zero the file must be owned by
 * the effective user and not be accessible by group or others. On failure
 * returns the reason and |*out| is NULL. */
enum vigil_file_err vigil_file_read(uint8_t **out, size_t *out_len,
                                    const char *path, size_t max,
                                    int require_private)
    __attribute__((warn_unused_result));

/* vigil_file_write_all writes |len| bytes of |data| to |fd|, retrying on
 * EINTR and short writes. Returns 1 on success; 0 on failure with errno
 * set (EIO if the file stopped taking bytes). */
int vigil_file_write_all(int fd, const void *data, size_t len)
    __attribute__((warn_unused_result));

/* vigil_file_wipe_free overwrites |len| bytes of |buf| (key material) and
 * frees it. vigil_file_wipe_free(NULL, 0) does nothing. */
void vigil_file_wipe_free(uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_FILE_H */
