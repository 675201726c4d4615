/* bench_ocsp_sign.c: how close live OCSP signing gets to the raw signature
 * rate.
 *
 * Target (issue 2): vigil_ocsp_response_build at >= 0.9x the rate of a bare
 * BoringSSL signature on the same key, so the response encoding costs
 * (almost) nothing beside the signature.
 *
 * Rows, per key type (ECDSA P-256 and Ed25519), single thread, each run for
 * about RUN_SECONDS on one fixed key:
 *   raw EVP_DigestSign   EVP_DigestSignInit + EVP_DigestSign over 200
 *                        bytes: what a straightforward signer pays
 *   vigil_key_sign       our signing primitive over the same 200 bytes
 *   build ...            vigil_ocsp_response_build of a good response with
 *                        one single into a fixed CBB over a preallocated
 *                        buffer (as the edge does): CA-signed without
 *                        certs, delegated with the responder certificate,
 *                        and delegated with a 32-byte nonce echo
 * "vs raw" is the row's rate over the raw EVP_DigestSign rate. The rows of
 * one key run interleaved in slices, so background load skews none of them.
 * Measurements, not a test: the exit status only reports setup failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>

#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"
#include "vigil/ocsp_response.h"

#define RUN_SECONDS 2.0
#define MSG_LEN     200
#define T0          INT64_C(1767225600) /* 2026-01-01 */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- a minimal self-signed certificate for the responder key ------------ */

static int add_name(CBB *cbb, const char *cn) {
  static const uint8_t kCommonName[] = { 0x55, 0x04, 0x03 };
  CBB name, rdn, atv, oid, value;
  return CBB_add_asn1(cbb, &name, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&name, &rdn, CBS_ASN1_SET) &&
         CBB_add_asn1(&rdn, &atv, CBS_ASN1_SEQUENCE) &&
         CBB_add_asn1(&atv, &oid, CBS_ASN1_OBJECT) &&
         CBB_add_bytes(&oid, kCommonName, sizeof(kCommonName)) &&
         CBB_add_asn1(&atv, &value, CBS_ASN1_UTF8STRING) &&
         CBB_add_bytes(&value, (const uint8_t *)cn, strlen(cn)) &&
         CBB_flush(cbb);
}

static int add_utctime(CBB *cbb, const char *t) {
  CBB child;
  return CBB_add_asn1(cbb, &child, CBS_ASN1_UTCTIME) &&
         CBB_add_bytes(&child, (const uint8_t *)t, strlen(t)) && CBB_flush(cbb);
}

static struct vigil_cert *self_signed(const struct vigil_key *key) {
  CBB cbb, tbs, version, validity, out;
  uint8_t *tbs_der = NULL, *der = NULL;
  size_t tbs_len = 0, der_len = 0, spki_len = 0, alg_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  const uint8_t *alg = vigil_key_get0_sig_alg(key, &alg_len);
  struct vigil_cert *cert = NULL;
  enum vigil_cert_err err;
  CBB_zero(&cbb);
  CBB_zero(&out);
  if (!CBB_init(&cbb, 512) || !CBB_add_asn1(&cbb, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &version,
                    CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0) ||
      !CBB_add_asn1_uint64(&version, 2) || !CBB_add_asn1_uint64(&tbs, 2) ||
      !CBB_add_bytes(&tbs, alg, alg_len) ||
      !add_name(&tbs, "Bench OCSP responder") ||
      !CBB_add_asn1(&tbs, &validity, CBS_ASN1_SEQUENCE) ||
      !add_utctime(&validity, "250101000000Z") ||
      !add_utctime(&validity, "350101000000Z") ||
      !add_name(&tbs, "Bench OCSP responder") ||
      !CBB_add_bytes(&tbs, spki, spki_len) ||
      !CBB_finish(&cbb, &tbs_der, &tbs_len) || !CBB_init(&out, 1024) ||
      !vigil_key_add_signed(key, &out, tbs_der, tbs_len) ||
      !CBB_finish(&out, &der, &der_len)) {
    goto err;
  }
  cert = vigil_cert_parse(&err, der, der_len);
err:
  CBB_cleanup(&cbb);
  CBB_cleanup(&out);
  OPENSSL_free(tbs_der);
  OPENSSL_free(der);
  return cert;
}

/* --- measured operations ------------------------------------------------- */

struct ctx {
  const struct vigil_key *key;
  const struct vigil_ocsp_responder *responder;
  const struct vigil_ocsp_single *single;
  const uint8_t *nonce;
  size_t nonce_len;
  uint8_t *buf; /* preallocated response buffer */
  size_t buf_len;
  size_t out_len; /* last response length */
};

static const uint8_t g_msg[MSG_LEN] = { 0x30, 0x81, 0xc5 };

static int op_raw(struct ctx *c) {
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = sizeof(sig);
  EVP_MD_CTX md;
  EVP_MD_CTX_init(&md);
  EVP_PKEY *pkey = vigil_key_get0_evp(c->key);
  const EVP_MD *digest =
      EVP_PKEY_id(pkey) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
  int ok = EVP_DigestSignInit(&md, NULL, digest, NULL, pkey) &&
           EVP_DigestSign(&md, sig, &sig_len, g_msg, sizeof(g_msg));
  EVP_MD_CTX_cleanup(&md);
  return ok;
}

static int op_key_sign(struct ctx *c) {
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  return vigil_key_sign(c->key, sig, &sig_len, sizeof(sig), g_msg,
                        sizeof(g_msg));
}

static int op_build(struct ctx *c) {
  CBB cbb;
  uint8_t *out = NULL;
  if (!CBB_init_fixed(&cbb, c->buf, c->buf_len)) {
    return 0;
  }
  if (!vigil_ocsp_response_build(&cbb, c->responder, T0, c->single, 1, c->nonce,
                                 c->nonce_len) ||
      !CBB_finish(&cbb, &out, &c->out_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return 1;
}

/* One measured row: an operation, its context and what it achieved. */
struct row {
  const char *what;
  int (*op)(struct ctx *);
  struct ctx c;
  unsigned long n; /* operations done */
  double secs;     /* time spent in them */
};

/* measure runs every row for RUN_SECONDS in total, interleaved in SLICES
 * slices, so that load from other processes on the machine (or frequency
 * changes) hits all rows alike and the ratios stay fair. Returns 0 if an
 * operation failed. */
#define SLICES 8
static int measure(struct row *rows, size_t num_rows) {
  for (int s = 0; s < SLICES; s++) {
    for (size_t r = 0; r < num_rows; r++) {
      double start = now_s(), elapsed = 0;
      do {
        for (int i = 0; i < 16; i++) {
          if (!rows[r].op(&rows[r].c)) {
            fprintf(stderr, "%s failed\n", rows[r].what);
            return 0;
          }
        }
        rows[r].n += 16;
        elapsed = now_s() - start;
      } while (elapsed < RUN_SECONDS / SLICES);
      rows[r].secs += elapsed;
    }
  }
  return 1;
}

static int bench_key(enum vigil_key_type type, const char *name) {
  struct vigil_key *key = vigil_key_generate(type, 0);
  struct vigil_cert *cert = key == NULL ? NULL : self_signed(key);
  static uint8_t buf[8192];
  uint8_t name_hash[20] = { 1 }, key_hash[20] = { 2 };
  static const uint8_t serial[18] = { 0x4f, 0x11, 0x22, 0x33, 0x44, 0x55,
                                      0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
                                      0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02 };
  uint8_t nonce[32];
  int ret = 0;
  if (key == NULL || cert == NULL) {
    fprintf(stderr, "%s: key or certificate setup failed\n", name);
    goto err;
  }
  memset(nonce, 0x6e, sizeof(nonce));

  struct vigil_ocsp_single single;
  memset(&single, 0, sizeof(single));
  single.hash = VIGIL_OCSP_HASH_SHA1;
  single.issuer_name_hash = name_hash;
  single.issuer_key_hash = key_hash;
  single.serial = serial;
  single.serial_len = sizeof(serial);
  single.status = VIGIL_CERT_STATUS_GOOD;
  single.reason = VIGIL_REASON_NONE;
  single.this_update = T0;
  single.next_update = T0 + 96 * 3600;
  struct vigil_ocsp_responder ca_signed = { key, NULL };
  struct vigil_ocsp_responder delegated = { key, cert };
  const struct ctx base = { key, &ca_signed, &single, NULL, 0, buf, 0, 0 };

  struct row rows[5];
  memset(rows, 0, sizeof(rows));
  rows[0].what = "raw EVP_DigestSign (200 B)";
  rows[0].op = op_raw;
  rows[1].what = "vigil_key_sign (200 B)";
  rows[1].op = op_key_sign;
  rows[2].what = "build good, CA-signed, no certs";
  rows[3].what = "build good, delegated + cert";
  rows[4].what = "build good, delegated + 32 B nonce";
  for (size_t r = 0; r < 5; r++) {
    rows[r].c = base;
    if (r >= 2) {
      rows[r].op = op_build;
    }
  }
  rows[3].c.responder = &delegated;
  rows[4].c.responder = &delegated;
  rows[4].c.nonce = nonce;
  rows[4].c.nonce_len = sizeof(nonce);
  for (size_t r = 2; r < 5; r++) {
    rows[r].c.buf_len = vigil_ocsp_response_max_len(rows[r].c.responder, 1,
                                                    rows[r].c.nonce_len);
  }
  if (!measure(rows, 5)) {
    goto err;
  }
  double raw = (double)rows[0].n / rows[0].secs;
  for (size_t r = 0; r < 5; r++) {
    double rate = (double)rows[r].n / rows[r].secs;
    char len_col[32] = "-";
    if (rows[r].c.out_len > 0) {
      snprintf(len_col, sizeof(len_col), "%zu", rows[r].c.out_len);
    }
    printf("%-8s %-34s %10.0f %9.1f %8.2f %7s\n", name, rows[r].what, rate,
           1e6 / rate, rate / raw, len_col);
  }
  ret = 1;

err:
  vigil_cert_free(cert);
  vigil_key_free(key);
  return ret;
}

int main(void) {
  printf(
      "OCSP response signing, single thread, %.0f s per row (interleaved), "
      "fixed key\n",
      RUN_SECONDS);
  printf("target: build rate >= 0.90 x raw EVP_DigestSign rate\n\n");
  printf("%-8s %-34s %10s %9s %8s %7s\n", "key", "operation", "ops/s", "us/op",
         "vs raw", "bytes");
  int ok = bench_key(VIGIL_KEY_EC_P256, "P-256");
  ok &= bench_key(VIGIL_KEY_ED25519, "Ed25519");
  return ok ? 0 : 1;
}
