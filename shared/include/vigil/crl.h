/* crl.h: building signed X.509 v2 CRLs (RFC 5280 section 5) that meet the
 * CA/Browser Forum Baseline Requirements (sections 4.9.7 and 7.2).
 *
 * The signer turns the revocation list of one issuer (or of one shard of
 * it) into a DER CertificateList in a single call. Large CRLs are the
 * normal case - a busy CA lists a million certificates - so the builder
 * computes the exact encoded size first and then writes everything into one
 * allocation of that size: no growing buffers, no copy of the body, and the
 * signature is computed over the TBSCertList where it lies. Peak memory is
 * the CRL itself (40 to 60 bytes per entry with today's serials); the duplicate
 * check's table (16 to 32 bytes per entry) is freed before the CRL is
 * allocated.
 *
 * What goes into the CRL:
 *   - version v2, signature algorithm of the issuer key, issuer = the
 *     issuer certificate's subject Name, byte for byte;
 *   - thisUpdate / nextUpdate as UTCTime through 2049 and GeneralizedTime
 *     from 2050 (RFC 5280 5.1.2.4-5), likewise every revocationDate;
 *   - the entries in the order given (RFC 5280 does not order them; callers
 *     that want a canonical CRL sort before calling). Each entry has a
 *     reasonCode extension unless its reason is VIGIL_REASON_NONE or
 *     VIGIL_REASON_UNSPECIFIED: the BRs express "unspecified" by omitting
 *     the extension. revokedCertificates is omitted when there are none;
 *   - crlExtensions: AuthorityKeyIdentifier (the issuer's SKI, or the SHA-1
 *     of its public key bits when it has none), CRLNumber (non-critical)
 *     and, for a shard of a partitioned CRL, a critical
 *     IssuingDistributionPoint whose fullName is the given URI.
 *
 * Everything that would make the CRL violate the profile is refused before
 * anything is signed; the outcome says which rule. This module keeps no
 * state and may be called from several threads at once. */
#ifndef VIGIL_CRL_H
#define VIGIL_CRL_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Most entries one CRL may hold (bounds memory: at most 56 bytes each). */
#define VIGIL_CRL_MAX_ENTRIES 10000000
/* Longest IssuingDistributionPoint URI, in bytes. */
#define VIGIL_CRL_MAX_URI 1024
/* Longest CRL number: 20 octets, and the value must be below 2^159
 * (RFC 5280 5.2.3, BR 7.2.2). */
#define VIGIL_CRL_MAX_NUMBER 20
/* Longest validity (nextUpdate - thisUpdate) of a CRL for subscriber
 * certificates (BR 4.9.7: 10 days), and of one for CA certificates
 * (BR 4.9.7: twelve months; we allow 365 days). */
#define VIGIL_CRL_MAX_VALIDITY    (10 * 86400)
#define VIGIL_CRL_MAX_VALIDITY_CA (365 * 86400)

/* --- Inputs -------------------------------------------------------------- */

/* One revoked certificate. */
struct vigil_crl_entry {
  const uint8_t *serial;    /* serialNumber INTEGER contents, minimal DER
                               two's complement, positive (borrowed) */
  uint8_t serial_len;       /* 1..20 bytes, or 21 when the first is the
                               0x00 sign octet (VIGIL_OCSP_MAX_SERIAL) */
  enum vigil_reason reason; /* NONE or UNSPECIFIED: no reasonCode */
  int64_t revoked_at;       /* revocationDate, Unix seconds; not after
                               thisUpdate */
};

/* What to build. All pointers are borrowed for the duration of the call. */
struct vigil_crl_params {
  const struct vigil_cert *issuer;    /* the CA certificate (must be a CA) */
  const struct vigil_key *issuer_key; /* its private key */
  const uint8_t *crl_number;          /* big-endian unsigned, leading zero
                                         octets ignored, value < 2^159 */
  size_t crl_number_len;              /* >= 1 */
  int64_t this_update;                /* Unix seconds */
  int64_t next_update;                /* > this_update, within the BR limit */
  /* NULL for a full CRL. For a shard: the NUL-terminated URI written
   * verbatim as the fullName of a critical IssuingDistributionPoint; it
   * must equal the certificates' CRL distribution point byte for byte
   * (printable ASCII, no spaces, at most VIGIL_CRL_MAX_URI bytes). */
  const char *idp_uri;
  int only_contains_user_certs; /* with |idp_uri|: set onlyContainsUserCerts
                                   in the IssuingDistributionPoint */
  int ca_certs; /* the CRL lists CA certificates (an ARL): cACompromise is
                   allowed, nextUpdate may be up to 365 days away and, with
                   |idp_uri|, onlyContainsCACerts is set */
};

/* Outcomes of vigil_crl_build. */
enum vigil_crl_err {
  VIGIL_CRL_OK = 0,
  VIGIL_CRL_ERR_BAD_PARAMS,   /* NULL params, issuer, key, output, or
                                 entries with num_entries > 0 */
  VIGIL_CRL_ERR_NOT_CA,       /* issuer certificate is not a CA */
  VIGIL_CRL_ERR_KEY_MISMATCH, /* issuer_key is not the issuer's key */
  VIGIL_CRL_ERR_BAD_NUMBER,   /* CRL number empty, too long or >= 2^159 */
  VIGIL_CRL_ERR_BAD_TIMES,    /* next_update not after this_update, beyond
                                 the BR limit, or a time outside 1950..9999 */
  VIGIL_CRL_ERR_BAD_IDP,      /* URI empty, too long or not printable
                                 ASCII; a scope flag without |idp_uri|;
                                 only_contains_user_certs with ca_certs */
  VIGIL_CRL_ERR_TOO_MANY,     /* more than VIGIL_CRL_MAX_ENTRIES entries */
  VIGIL_CRL_ERR_BAD_SERIAL,   /* empty, too long, not minimal, or not
                                 positive */
  VIGIL_CRL_ERR_BAD_REVOCATION_TIME, /* after this_update or before 1950 */
  VIGIL_CRL_ERR_REASON_NOT_ALLOWED,  /* not a reason the BRs allow here
                                        (certificateHold, removeFromCRL,
                                        aACompromise, an undefined code,
                                        cACompromise without ca_certs) */
  VIGIL_CRL_ERR_DUPLICATE_SERIAL,    /* a serial is listed twice */
  VIGIL_CRL_ERR_NOMEM,
  VIGIL_CRL_ERR_SIGN, /* the key failed to sign */
};

/* --- Building ------------------------------------------------------------ */

/* vigil_crl_build checks |params| and the |num_entries| entries at
 * |entries| (which may be NULL when |num_entries| is 0), then encodes and
 * signs the CRL. Duplicate serials are refused here rather than left to
 * the caller: a CRL is a signed statement, and the check costs one pass
 * over a hash table of 16 to 32 bytes per entry.
 *
 * On VIGIL_CRL_OK, |*out_der| is a new buffer from vigil_malloc holding the
 * DER CertificateList of |*out_len| bytes; the caller frees it with
 * vigil_free (the allocation may be a few bytes longer than |*out_len|,
 * because an ECDSA signature's length is known only after signing).
 *
 * On any other outcome nothing is allocated, |*out_der| is NULL and
 * |*out_len| is 0. If |out_bad_entry| is not NULL and the outcome concerns
 * one entry (BAD_SERIAL, BAD_REVOCATION_TIME, REASON_NOT_ALLOWED,
 * DUPLICATE_SERIAL: the second occurrence), it receives that entry's
 * index; otherwise it is left alone. */
enum vigil_crl_err vigil_crl_build(uint8_t **out_der, size_t *out_len,
                                   size_t *out_bad_entry,
                                   const struct vigil_crl_params *params,
                                   const struct vigil_crl_entry *entries,
                                   size_t num_entries) VIGIL_MUST_CHECK;

/* vigil_crl_err_string returns a static description of |err|. */
const char *vigil_crl_err_string(enum vigil_crl_err err);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CRL_H */
