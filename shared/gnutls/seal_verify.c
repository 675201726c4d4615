/* seal_verify.c: offline seal verification with GnuTLS (see vigil/seal.h).
 * GnuTLS (on nettle) exports no OpenSSL symbols, so vigil-control (libpq)
 * and vigilctl (libcurl) can both link it. */
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "vigil/seal.h"

int vigil_sha256(uint8_t out[32], const void *data, size_t len) {
  return gnutls_hash_fast(GNUTLS_DIG_SHA256, data, len, out) == 0;
}

int vigil_seal_verify(const uint8_t *spki, size_t spki_len, const uint8_t *sig,
                      size_t sig_len, const uint8_t digest[32],
                      const char *context, size_t context_len,
                      int64_t sealed_at) {
  uint8_t msg[VIGIL_SEAL_MAX_MESSAGE];
  size_t msg_len =
      vigil_seal_message(msg, digest, context, context_len, sealed_at);
  if (msg_len == 0 || spki_len == 0 || sig_len == 0 || spki_len > 0xffffffffu ||
      sig_len > 0xffffffffu) {
    return 0;
  }
  gnutls_pubkey_t key = NULL;
  int ok = 0;
  if (gnutls_pubkey_init(&key) < 0) {
    return 0;
  }
  const gnutls_datum_t kd = { (unsigned char *)spki, (unsigned)spki_len };
  if (gnutls_pubkey_import(key, &kd, GNUTLS_X509_FMT_DER) < 0) {
    goto done;
  }
  gnutls_sign_algorithm_t alg;
  unsigned bits = 0;
  switch (gnutls_pubkey_get_pk_algorithm(key, &bits)) {
    case GNUTLS_PK_EDDSA_ED25519:
      alg = GNUTLS_SIGN_EDDSA_ED25519;
      break;
    case GNUTLS_PK_ECDSA: {
      gnutls_ecc_curve_t curve;
      if (gnutls_pubkey_export_ecc_raw(key, &curve, NULL, NULL) < 0 ||
          curve != GNUTLS_ECC_CURVE_SECP256R1) {
        goto done;
      }
      alg = GNUTLS_SIGN_ECDSA_SHA256;
      break;
    }
    default:
      goto done;
  }
  const gnutls_datum_t md = { msg, (unsigned)msg_len };
  const gnutls_datum_t sd = { (unsigned char *)sig, (unsigned)sig_len };
  ok = gnutls_pubkey_verify_data2(key, alg, 0, &md, &sd) >= 0;

done:
  gnutls_pubkey_deinit(key);
  return ok;
}
