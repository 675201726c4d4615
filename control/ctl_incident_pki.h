/* ctl_incident_pki.h: the issue and revoke internals of ctl_api_pki.c,
 * callable without an HTTP request (the incident worker, ctl_api_incident.c,
 * issues replacements and revokes compromised certificates with them).
 *
 * The HTTP endpoints POST /certificates and POST /certificates/{id}/revoke
 * are built on the same functions, so an incident's issue and revoke go
 * through exactly the path an operator's would: the certificate row and its
 * audit event in one transaction, the revocation as an INSERT INTO
 * revocations (the schema's triggers set the status and enqueue the
 * publication), the publisher and the CRL loop following. */
#ifndef VIGIL_CTL_INCIDENT_PKI_H
#define VIGIL_CTL_INCIDENT_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl_api_internal.h"
#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A certificate the signer issued with a key it generated. */
struct api_pki_issued {
  uint8_t *cert_der;     /* DER certificate (vigil_malloc) */
  size_t cert_len;       /* bytes of cert_der */
  uint8_t serial[20];    /* DER INTEGER contents */
  size_t serial_len;     /* bytes of serial */
  int64_t not_before;    /* Unix seconds */
  int64_t not_after;     /* Unix seconds */
  char *key_pem;         /* the new private key, PEM (vigil_malloc; wiped) */
  char subject_dn[1024]; /* RFC 4514 */
  char *sans_json;       /* ["DNS:x","IP:y"] text (free()) */
  uint8_t *spki;         /* DER SubjectPublicKeyInfo (vigil_malloc) */
  size_t spki_len;       /* bytes of spki */
};

/* api_pki_issued_cleanup wipes the key and frees |out|'s buffers. */
void api_pki_issued_cleanup(struct api_pki_issued *out);

/* api_pki_sign_generated asks the signer for a TLS server certificate with
 * a new key of |key_type| (VIGIL_SGN_KEY_*, |rsa_bits| for RSA) from
 * |issuer_id| for the SANs |sans| (["DNS:x", "IP:y"]), valid |validity_s|
 * seconds, with AIA/CRL DP for |tenant_name| when edge-url is set. Returns
 * 1 with |out| filled (clean it up), 0 with |err| (|out| clean). Writes
 * nothing to the database. */
int api_pki_sign_generated(struct ctl_api *api, struct api_pki_issued *out,
                           char *err, size_t err_len, const char *issuer_id,
                           const char *tenant_name, const json_t *sans,
                           uint8_t key_type, uint32_t rsa_bits,
                           int64_t validity_s) CTL_MUST_CHECK;

/* api_pki_cert_record inserts the certificate |in| (named |name|, of
 * issuer |issuer_uuid| / |issuer_id| in |tenant_id|) and its
 * certificate.issued audit event by |principal| inside the caller's open
 * transaction on |db|. Fills |out_id| (37 bytes) and |*out_audit_id|.
 * Returns the statement outcome (the transaction is aborted on failure). */
enum ctl_db_status api_pki_cert_record(struct ctl_db *db, char *out_id,
                                       int64_t *out_audit_id,
                                       const struct api_pki_issued *in,
                                       const char *tenant_id,
                                       const char *issuer_uuid,
                                       const char *issuer_id, const char *name,
                                       const char *principal) CTL_MUST_CHECK;

/* api_pki_publish_good pre-signs and publishes the good response and
 * status record of a new certificate. Returns 1, or 0 with |err|. */
int api_pki_publish_good(struct ctl_api *api, char *err, size_t err_len,
                         const char *issuer_id, const uint8_t ikh[20],
                         const uint8_t *serial, size_t serial_len,
                         int64_t not_after) CTL_MUST_CHECK;

/* api_pki_revoke_record revokes certificate |cert_id| with |reason| by
 * |principal| inside the caller's open transaction on |db|: locks the
 * certificate, INSERT INTO revocations (which enqueues the publication)
 * and the certificate.revoked audit event. |tenant_scope| (NULL: any)
 * limits which certificates are visible. Returns CTL_DB_OK (|*out_audit_id|
 * set), CTL_DB_ABORTED with |*out_found| 0 (no such certificate) or
 * |*out_already| 1 (it was revoked before), or the statement outcome. */
enum ctl_db_status api_pki_revoke_record(
    struct ctl_db *db, int *out_found, int *out_already, int64_t *out_audit_id,
    const char *cert_id, const char *reason, const char *principal,
    const char *tenant_scope) CTL_MUST_CHECK;

/* api_pki_publish_certificate publishes the pending revocation of
 * |cert_id| now (signer, Redis, event stream) and, if that fails, kicks the
 * publisher thread, which retries. Returns 1 if it was published. */
int api_pki_publish_certificate(struct ctl_api *api, struct ctl_db *db,
                                const char *cert_id);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_INCIDENT_PKI_H */
