/* ctl_tls.h: the API server's TLS certificate.
 *
 * `vigil-control serve` speaks HTTPS only. An operator may configure a
 * certificate and key (PEM files); otherwise the first start makes a
 * self-signed ECDSA P-256 certificate for localhost / 127.0.0.1 / ::1 in
 * <state-dir>/api-tls/ (key.pem mode 0600, cert.pem 0644) and later starts
 * reuse it. The key is made with GnuTLS: vigil-control must never link
 * BoringSSL (DESIGN.md section 1), and GnuTLS (nettle) does not clash with
 * the OpenSSL 3 that libpq loads. */
#ifndef VIGIL_CTL_TLS_H
#define VIGIL_CTL_TLS_H

#include <stddef.h>

#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* PEM text of the server's certificate and key (heap, NUL-terminated). */
struct ctl_tls_pem {
  char *cert_pem; /* certificate chain */
  char *key_pem;  /* private key (wiped by ctl_tls_pem_cleanup) */
};

/* ctl_tls_load fills |out| with the certificate and key to serve: read
 * from |cert_path| and |key_path| when both are non-empty, else from
 * <|state_dir|>/api-tls/, made there first if absent. Returns 1, or 0 with
 * a one-line reason in |err| (|out| then holds nothing to clean up).
 * Refuses a key file that is group- or other-accessible. */
int ctl_tls_load(struct ctl_tls_pem *out, char *err, size_t err_len,
                 const char *state_dir, const char *cert_path,
                 const char *key_path) CTL_MUST_CHECK;

/* ctl_tls_pem_cleanup wipes the key and frees both strings; |p| is then
 * empty. Safe on an empty (zeroed) struct. */
void ctl_tls_pem_cleanup(struct ctl_tls_pem *p);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_TLS_H */
