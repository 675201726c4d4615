/* sgn_keydir.h: the signer's key directory on disk.
 *
 *   <key-dir>/                 not group/other-writable
 *     signer.lock              flock'ed while a signer uses the directory
 *     audit.key  (0600)        audit (SEAL) key, made at first start
 *     audit.pub                its SubjectPublicKeyInfo, PEM
 *     issuers/<issuer_id>/     one directory per CA
 *       ca.key   (0600)        the CA's private key
 *       ca.pem                 the CA's certificate
 *       responder.key (0600)   delegated OCSP responder key (optional:
 *       responder.pem          minted on demand)
 *     issuers/.tmp-*           a CA being created (removed at start)
 *
 * An issuer directory is built complete under a temporary name and
 * renamed into place without replacing anything (renameat2
 * RENAME_NOREPLACE), then issuers/ is fsync'ed: after a crash an issuer
 * either exists with its key and certificate or not at all, and an
 * existing issuer is never overwritten. */
#ifndef SGN_KEYDIR_H
#define SGN_KEYDIR_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "vigil/key.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sgn_keydir {
  char root[PATH_MAX];    /* the key directory */
  char issuers[PATH_MAX]; /* <root>/issuers */
  int lock_fd;            /* flock'ed signer.lock; -1 when closed */
};

/* Outcomes of sgn_keydir_create_issuer. */
enum sgn_keydir_result {
  SGN_KEYDIR_OK = 0,
  SGN_KEYDIR_EXISTS, /* an issuer with that id already exists */
  SGN_KEYDIR_IO,     /* a file could not be written (errno set) */
};

/* sgn_keydir_open prepares |root| for use: creates it (0700) and issuers/
 * if missing, takes the directory lock (a second signer on the same
 * directory is refused), removes leftovers of interrupted creations, and
 * refuses the directory if it or an issuer directory is group- or
 * other-writable, or if any *.key file in it is not a regular file of
 * mode 0600 or stricter. Returns 1 on success; 0 with a message naming
 * the offending path in |err| (|kd| then holds nothing to close). */
int sgn_keydir_open(struct sgn_keydir *kd, char *err, size_t err_len,
                    const char *root,
                    const struct vigil_log *log) VIGIL_MUST_CHECK;

/* sgn_keydir_close releases the directory lock. */
void sgn_keydir_close(struct sgn_keydir *kd);

/* sgn_keydir_path writes "<root>/issuers/<id>/<file>" into |out|. Returns
 * 1, or 0 if it does not fit. */
int sgn_keydir_path(const struct sgn_keydir *kd, char *out, size_t out_len,
                    const char *id, const char *file) VIGIL_MUST_CHECK;

/* sgn_keydir_list calls |fn| with each issuer id found under issuers/ (in
 * directory order). Entries that are not valid issuer ids are skipped
 * with a warning. Stops and returns 0 when |fn| returns 0 or the
 * directory cannot be read (message in |err|); returns 1 otherwise. */
int sgn_keydir_list(const struct sgn_keydir *kd, char *err, size_t err_len,
                    int (*fn)(void *arg, const char *id, char *err,
                              size_t err_len),
                    void *arg, const struct vigil_log *log) VIGIL_MUST_CHECK;

/* sgn_keydir_create_issuer writes a new issuer |id| with |key| (ca.key)
 * and the DER certificate |cert_der| (ca.pem), atomically as described
 * above. Returns SGN_KEYDIR_OK, SGN_KEYDIR_EXISTS (nothing written) or
 * SGN_KEYDIR_IO (nothing left behind). */
enum sgn_keydir_result sgn_keydir_create_issuer(
    const struct sgn_keydir *kd, const char *id, const struct vigil_key *key,
    const uint8_t *cert_der, size_t cert_len) VIGIL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* SGN_KEYDIR_H */
