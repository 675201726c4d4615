/* sgn_issuers.h: the signer's CAs in memory and their delegated OCSP
 * responders.
 *
 * Every issuer in the key directory is loaded at start (a CA key or
 * certificate that does not load, or that do not belong together, stops
 * the start). Issuers are only ever added, never removed or replaced, so
 * a found issuer stays valid for the registry's life and its CA key and
 * certificate are immutable: handlers sign with them without locks.
 *
 * The delegated responder of an issuer (RFC 6960 4.2.2.2: issued directly
 * by the CA, EKU OCSPSigning, id-pkix-ocsp-nocheck, short validity) is
 * minted on demand: when it is missing or unusable on disk, when less than
 * a third of its validity is left, when a caller needs it valid until a
 * time past its notAfter, or when forced. A mint writes responder.key then
 * responder.pem atomically; a crash between the two leaves a pair that
 * does not match, which the next start ignores (and re-mints). Callers get
 * a counted reference, so a rotation never frees a responder in use. */
#ifndef SGN_ISSUERS_H
#define SGN_ISSUERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "sgn_keydir.h"
#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/keyspace.h"
#include "vigil/log.h"
#include "vigil/x509.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A delegated responder: key and certificate, reference-counted. */
struct sgn_responder {
  int refs;                /* references (atomic) */
  struct vigil_key *key;   /* the responder's private key (owned) */
  struct vigil_cert *cert; /* its certificate (owned) */
};

/* One CA. */
struct sgn_issuer {
  char id[VIGIL_KS_MAX_NAME + 1];  /* issuer id, NUL-terminated */
  struct vigil_key *key;           /* CA private key (owned, immutable) */
  struct vigil_cert *cert;         /* CA certificate (owned, immutable) */
  pthread_mutex_t lock;            /* guards |responder| and its files */
  struct sgn_responder *responder; /* current responder, or NULL */
};

/* How responders are made. */
struct sgn_responder_policy {
  int64_t validity;             /* lifetime in seconds */
  enum vigil_key_type key_type; /* key type of new responder keys */
  unsigned rsa_bits;            /* VIGIL_KEY_RSA only */
};

/* Outcomes of sgn_registry_add. */
enum sgn_add_result {
  SGN_ADD_OK = 0,
  SGN_ADD_EXISTS, /* the id is taken (in memory or on disk) */
  SGN_ADD_FULL,   /* max-issuers reached */
  SGN_ADD_IO,     /* the key directory could not be written */
  SGN_ADD_NOMEM,
};

/* Outcomes of sgn_issuer_responder. */
enum sgn_mint_result {
  SGN_MINT_OK = 0,
  SGN_MINT_KEYGEN, /* key generation failed */
  SGN_MINT_ISSUE,  /* the certificate was refused (see the x509 error) */
  SGN_MINT_IO,     /* responder files could not be written */
};

struct sgn_registry;

/* sgn_registry_load loads every issuer of |kd| (at most |max_issuers|).
 * |kd| and |log| are borrowed for the registry's life. Returns a new
 * registry, or NULL with a message in |err|. */
struct sgn_registry *sgn_registry_load(
    char *err, size_t err_len, const struct sgn_keydir *kd, size_t max_issuers,
    const struct sgn_responder_policy *pol,
    const struct vigil_log *log) VIGIL_MUST_CHECK;

/* sgn_registry_free releases |reg| and every issuer (no references to
 * them may remain). sgn_registry_free(NULL) does nothing. */
void sgn_registry_free(struct sgn_registry *reg);

/* sgn_registry_find returns the issuer |id| (borrowed, valid for the
 * registry's life), or NULL. Thread-safe. */
struct sgn_issuer *sgn_registry_find(struct sgn_registry *reg, const char *id);

/* sgn_registry_count returns the number of issuers. Thread-safe. */
size_t sgn_registry_count(struct sgn_registry *reg);

/* sgn_registry_add persists a new issuer |id| with |key| and the DER
 * certificate |cert_der| to the key directory, then adds it. On
 * SGN_ADD_OK ownership of |key| moves to the registry and |*out| is the
 * new issuer; otherwise the caller still owns |key| and nothing was
 * written. Thread-safe; two adds of one id: one wins, the other gets
 * SGN_ADD_EXISTS. */
enum sgn_add_result sgn_registry_add(struct sgn_registry *reg,
                                     struct sgn_issuer **out, const char *id,
                                     struct vigil_key *key,
                                     const uint8_t *cert_der,
                                     size_t cert_len) VIGIL_MUST_CHECK;

/* sgn_issuer_responder returns a reference to |iss|'s responder, minting
 * (and persisting) a new one first if |force|, if there is none, if less
 * than a third of its validity is left at |now|, or if it expires before
 * |need_until| (clamped to the CA's notAfter; 0: no need). |*out_minted|
 * says whether a mint happened. If a needed mint fails but the current
 * responder is still valid through |need_until| (and the mint was not
 * forced), the current one is returned with a warning. Returns NULL with
 * |*out_result| (and for SGN_MINT_ISSUE |*out_xerr|) on failure. Release
 * the result with sgn_responder_release. Thread-safe. */
struct sgn_responder *sgn_issuer_responder(
    struct sgn_registry *reg, struct sgn_issuer *iss, int *out_minted,
    enum sgn_mint_result *out_result, enum vigil_x509_err *out_xerr,
    int64_t now, int64_t need_until, int force) VIGIL_MUST_CHECK;

/* sgn_responder_release drops a reference from sgn_issuer_responder.
 * NULL does nothing. */
void sgn_responder_release(struct sgn_responder *r);

/* sgn_registry_policy returns the responder policy (borrowed). */
const struct sgn_responder_policy *sgn_registry_policy(
    const struct sgn_registry *reg);

#ifdef __cplusplus
}
#endif

#endif /* SGN_ISSUERS_H */
