/* sgn_files.h: durable files for vigil-signer.
 *
 * A key file the signer writes must either be there completely or not at
 * all after a crash: every write goes to a temporary file in the same
 * directory, is fsync'ed, renamed over the target and the directory is
 * fsync'ed so the rename itself survives (DESIGN.md section 6). Keys are
 * written as PKCS#8 PEM with mode 0600; buffers that held key material are
 * cleansed before they are freed. */
#ifndef SGN_FILES_H
#define SGN_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vigil/key.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sgn_fsync_dir fsyncs the directory |dir|. Returns 1 on success. */
int sgn_fsync_dir(const char *dir) VIGIL_MUST_CHECK;

/* sgn_write_atomic writes |len| bytes of |data| to |path| with |mode|:
 * temp file "<path>.tmp", fsync, rename, fsync of the directory. Returns 1
 * on success; on failure returns 0 with errno set, |path| is untouched
 * and the temp file removed. Callers serialise writes to one path. */
int sgn_write_atomic(const char *path, const uint8_t *data, size_t len,
                     mode_t mode) VIGIL_MUST_CHECK;

/* sgn_key_pem encodes |key| as PKCS#8 PEM ("PRIVATE KEY") into a new
 * buffer from vigil_malloc: |*out| (owned by the caller, who must cleanse
 * it with sgn_free_secret) and |*out_len|. Returns 1, or 0 with |*out|
 * NULL. */
int sgn_key_pem(uint8_t **out, size_t *out_len,
                const struct vigil_key *key) VIGIL_MUST_CHECK;

/* sgn_free_secret cleanses and frees |len| bytes at |p| (may be NULL). */
void sgn_free_secret(uint8_t *p, size_t len);

/* sgn_write_key writes |key| to |path| as PKCS#8 PEM, mode 0600,
 * atomically. Returns 1 on success, 0 with errno set. */
int sgn_write_key(const char *path,
                  const struct vigil_key *key) VIGIL_MUST_CHECK;

/* sgn_write_cert writes the DER certificate |der| to |path| as PEM,
 * mode 0644, atomically. Returns 1 on success, 0 with errno set. */
int sgn_write_cert(const char *path, const uint8_t *der,
                   size_t der_len) VIGIL_MUST_CHECK;

/* sgn_path joins |dir| and |name| into |out| (|len| bytes). Returns 1, or
 * 0 if it does not fit. */
int sgn_path(char *out, size_t len, const char *dir,
             const char *name) VIGIL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* SGN_FILES_H */
