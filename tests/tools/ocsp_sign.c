/* ocsp_sign.c: vigil-test-ocsp_sign, a command-line front end to
 * vigil_ocsp_response_build for the interop scripts (tests/interop/
 * ocsp_response_*.sh). It builds and signs one OCSP response and writes its
 * DER to a file; or, with --error, writes an unsigned error response.
 *
 *   vigil-test-ocsp_sign --out r.der --key responder.key --issuer ca.pem
 *       [--cert responder.pem] (--serial HEX [--hash sha1|sha256] |
 *       --request req.der) [--status good|revoked|unknown]
 *       [--reason NAME] [--revocation-time T] [--this-update T]
 *       [--next-update T] [--produced-at T] [--nonce HEX]
 *   vigil-test-ocsp_sign --out r.der --error malformedRequest|...
 *
 * T is epoch seconds, YYYYMMDDHHMMSSZ, "now", or "now+N" / "now-N"
 * seconds. Defaults: status good, produced-at and this-update now,
 * next-update this-update + 96 h, hash sha1. --request copies the first
 * CertID of a DER OCSPRequest verbatim (the nonce is still given with
 * --nonce, so scripts extract it with a tool we did not write). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/cert.h"
#include "vigil/hex.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"
#include "vigil/ocsp_response.h"
#include "vigil/timeutil.h"

#define MAX_FILE 65536
#define OUT_MAX  16384

struct opts {
  const char *out;
  const char *key;
  const char *issuer;
  const char *cert;
  const char *serial;
  const char *hash;
  const char *request;
  const char *status;
  const char *reason;
  const char *revocation_time;
  const char *this_update;
  const char *next_update;
  const char *produced_at;
  const char *nonce;
  const char *error;
};

static void usage(void) {
  fprintf(stderr,
          "usage: vigil-test-ocsp_sign --out FILE --key KEY --issuer CA\n"
          "  [--cert RESPONDER_CERT] (--serial HEX [--hash sha1|sha256] |\n"
          "  --request REQ.der) [--status good|revoked|unknown]\n"
          "  [--reason NAME] [--revocation-time T] [--this-update T]\n"
          "  [--next-update T] [--produced-at T] [--nonce HEX]\n"
          "or: vigil-test-ocsp_sign --out FILE --error STATUS_NAME\n");
}

/* parse_time accepts epoch seconds, YYYYMMDDHHMMSSZ, now, now+N, now-N. */
static int parse_time(int64_t *out, const char *s, int64_t now) {
  size_t len = strlen(s);
  int64_t base = 0;
  if (len == VIGIL_GENTIME_LEN && s[len - 1] == 'Z') {
    return vigil_time_parse_gentime(out, (const uint8_t *)s, len);
  }
  if (strncmp(s, "now", 3) == 0) {
    base = now;
    s += 3;
    if (*s == '\0') {
      *out = now;
      return 1;
    }
    if (*s == '+') {
      s++;
    } else if (*s != '-') {
      return 0;
    }
  }
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = base + (int64_t)v;
  return 1;
}

static int read_file(uint8_t *buf, size_t *out_len, size_t max,
                     const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return 0;
  }
  size_t n = fread(buf, 1, max, f);
  int ok = ferror(f) == 0 && n < max;
  fclose(f);
  *out_len = n;
  return ok;
}

static int write_file(const char *path, const uint8_t *der, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    return 0;
  }
  int ok = fwrite(der, 1, len, f) == len;
  return fclose(f) == 0 && ok;
}

/* first_cert_id finds the first Request's CertID element in a DER
 * OCSPRequest (RFC 6960 4.1.1). */
static int first_cert_id(CBS *out, const uint8_t *der, size_t len) {
  CBS in, req, tbs, list, request;
  CBS_init(&in, der, len);
  if (!CBS_get_asn1(&in, &req, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&req, &tbs, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  const unsigned v0 = CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 0;
  const unsigned v1 = CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | 1;
  if ((CBS_peek_asn1_tag(&tbs, v0) && !CBS_get_asn1(&tbs, NULL, v0)) ||
      (CBS_peek_asn1_tag(&tbs, v1) && !CBS_get_asn1(&tbs, NULL, v1))) {
    return 0;
  }
  return CBS_get_asn1(&tbs, &list, CBS_ASN1_SEQUENCE) &&
         CBS_get_asn1(&list, &request, CBS_ASN1_SEQUENCE) &&
         CBS_get_asn1_element(&request, out, CBS_ASN1_SEQUENCE);
}

/* serial_from_hex turns "0x1a2b" / "1a2b" into minimal positive INTEGER
 * contents. */
static int serial_from_hex(uint8_t *out, size_t *out_len, size_t max,
                           const char *hex) {
  uint8_t raw[64];
  char padded[130];
  size_t raw_len = 0;
  if (strncmp(hex, "0x", 2) == 0 || strncmp(hex, "0X", 2) == 0) {
    hex += 2;
  }
  size_t hex_len = strlen(hex);
  if (hex_len == 0 || hex_len > 128) {
    return 0;
  }
  size_t pad = hex_len % 2;
  padded[0] = '0';
  memcpy(padded + pad, hex, hex_len);
  if (!vigil_hex_decode(raw, &raw_len, sizeof(raw), padded, hex_len + pad)) {
    return 0;
  }
  size_t skip = 0;
  while (skip + 1 < raw_len && raw[skip] == 0) {
    skip++;
  }
  size_t n = 0;
  if (raw[skip] & 0x80) {
    if (max < 1) {
      return 0;
    }
    out[n++] = 0;
  }
  if (n + raw_len - skip > max) {
    return 0;
  }
  memcpy(out + n, raw + skip, raw_len - skip);
  *out_len = n + raw_len - skip;
  return 1;
}

static int error_status(enum vigil_ocsp_status *out, const char *name) {
  static const enum vigil_ocsp_status all[] = {
    VIGIL_OCSP_MALFORMED_REQUEST, VIGIL_OCSP_INTERNAL_ERROR,
    VIGIL_OCSP_TRY_LATER, VIGIL_OCSP_SIG_REQUIRED, VIGIL_OCSP_UNAUTHORIZED
  };
  for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
    if (strcmp(vigil_ocsp_status_name(all[i]), name) == 0) {
      *out = all[i];
      return 1;
    }
  }
  return 0;
}

static int parse_args(struct opts *o, int argc, char **argv) {
  struct {
    const char *name;
    const char **target;
  } table[] = {
    { "--out", &o->out },
    { "--key", &o->key },
    { "--issuer", &o->issuer },
    { "--cert", &o->cert },
    { "--serial", &o->serial },
    { "--hash", &o->hash },
    { "--request", &o->request },
    { "--status", &o->status },
    { "--reason", &o->reason },
    { "--revocation-time", &o->revocation_time },
    { "--this-update", &o->this_update },
    { "--next-update", &o->next_update },
    { "--produced-at", &o->produced_at },
    { "--nonce", &o->nonce },
    { "--error", &o->error },
  };
  for (int i = 1; i < argc; i += 2) {
    size_t j;
    for (j = 0; j < sizeof(table) / sizeof(table[0]); j++) {
      if (strcmp(argv[i], table[j].name) == 0) {
        break;
      }
    }
    if (j == sizeof(table) / sizeof(table[0]) || i + 1 >= argc) {
      fprintf(stderr, "bad argument: %s\n", argv[i]);
      return 0;
    }
    *table[j].target = argv[i + 1];
  }
  return o->out != NULL;
}

int main(int argc, char **argv) {
  struct opts o;
  memset(&o, 0, sizeof(o));
  struct vigil_key *key = NULL;
  struct vigil_cert *issuer = NULL;
  struct vigil_cert *rcert = NULL;
  static uint8_t req_der[MAX_FILE];
  static uint8_t out_buf[OUT_MAX];
  uint8_t serial[VIGIL_OCSP_MAX_SERIAL];
  uint8_t nonce[VIGIL_OCSP_NONCE_MAX + 1];
  size_t nonce_len = 0;
  int ret = 1;
  const int64_t now = (int64_t)time(NULL);
  enum vigil_key_err kerr = VIGIL_KEY_OK;
  enum vigil_cert_err cerr = VIGIL_CERT_OK;
  struct vigil_ocsp_single single;
  memset(&single, 0, sizeof(single));
  CBB cbb;
  CBB_zero(&cbb);

  if (!parse_args(&o, argc, argv)) {
    usage();
    return 2;
  }

  if (o.error != NULL) {
    enum vigil_ocsp_status st;
    size_t len = 0;
    const uint8_t *der = NULL;
    if (!error_status(&st, o.error)) {
      fprintf(stderr, "unknown error status %s\n", o.error);
      return 2;
    }
    der = vigil_ocsp_error_response(&len, st);
    if (der == NULL || !write_file(o.out, der, len)) {
      fprintf(stderr, "cannot write %s\n", o.out);
      return 1;
    }
    return 0;
  }

  if (o.key == NULL || o.issuer == NULL ||
      (o.serial == NULL && o.request == NULL)) {
    usage();
    return 2;
  }
  key = vigil_key_load_file(&kerr, o.key, 0);
  if (key == NULL) {
    fprintf(stderr, "key %s: %s\n", o.key, vigil_key_err_string(kerr));
    goto err;
  }
  issuer = vigil_cert_load_file(&cerr, o.issuer);
  if (issuer == NULL) {
    fprintf(stderr, "issuer %s: %s\n", o.issuer, vigil_cert_err_string(cerr));
    goto err;
  }
  if (o.cert != NULL) {
    rcert = vigil_cert_load_file(&cerr, o.cert);
    if (rcert == NULL) {
      fprintf(stderr, "cert %s: %s\n", o.cert, vigil_cert_err_string(cerr));
      goto err;
    }
  }

  /* CertID */
  if (o.request != NULL) {
    size_t req_len = 0;
    CBS cert_id;
    if (!read_file(req_der, &req_len, sizeof(req_der), o.request) ||
        !first_cert_id(&cert_id, req_der, req_len)) {
      fprintf(stderr, "cannot read a CertID from %s\n", o.request);
      goto err;
    }
    single.cert_id_der = CBS_data(&cert_id);
    single.cert_id_der_len = CBS_len(&cert_id);
  } else {
    single.hash = VIGIL_OCSP_HASH_SHA1;
    if (o.hash != NULL && strcmp(o.hash, "sha256") == 0) {
      single.hash = VIGIL_OCSP_HASH_SHA256;
    } else if (o.hash != NULL && strcmp(o.hash, "sha1") != 0) {
      fprintf(stderr, "unknown hash %s\n", o.hash);
      goto err;
    }
    if (!vigil_ocsp_cert_id_hashes(&single.issuer_name_hash,
                                   &single.issuer_key_hash, issuer,
                                   single.hash) ||
        !serial_from_hex(serial, &single.serial_len, sizeof(serial),
                         o.serial)) {
      fprintf(stderr, "bad serial %s\n", o.serial);
      goto err;
    }
    single.serial = serial;
  }

  /* Status */
  single.status = VIGIL_CERT_STATUS_GOOD;
  single.reason = VIGIL_REASON_NONE;
  if (o.status == NULL || strcmp(o.status, "good") == 0) {
    single.status = VIGIL_CERT_STATUS_GOOD;
  } else if (strcmp(o.status, "revoked") == 0) {
    single.status = VIGIL_CERT_STATUS_REVOKED;
  } else if (strcmp(o.status, "unknown") == 0) {
    single.status = VIGIL_CERT_STATUS_UNKNOWN;
  } else {
    fprintf(stderr, "unknown status %s\n", o.status);
    goto err;
  }
  if (o.reason != NULL &&
      !vigil_reason_from_name(&single.reason, o.reason, strlen(o.reason))) {
    fprintf(stderr, "unknown reason %s\n", o.reason);
    goto err;
  }

  /* Times */
  int64_t produced_at = now;
  single.this_update = now;
  single.revocation_time = now;
  if ((o.produced_at != NULL &&
       !parse_time(&produced_at, o.produced_at, now)) ||
      (o.this_update != NULL &&
       !parse_time(&single.this_update, o.this_update, now)) ||
      (o.revocation_time != NULL &&
       !parse_time(&single.revocation_time, o.revocation_time, now))) {
    fprintf(stderr, "bad time\n");
    goto err;
  }
  single.next_update = single.this_update + 96 * 3600;
  if (o.next_update != NULL &&
      !parse_time(&single.next_update, o.next_update, now)) {
    fprintf(stderr, "bad time\n");
    goto err;
  }

  if (o.nonce != NULL && !vigil_hex_decode(nonce, &nonce_len, sizeof(nonce),
                                           o.nonce, strlen(o.nonce))) {
    fprintf(stderr, "bad nonce hex\n");
    goto err;
  }

  struct vigil_ocsp_responder responder = { key, rcert };
  size_t max = vigil_ocsp_response_max_len(&responder, 1, nonce_len);
  size_t out_len = 0;
  uint8_t *out_der = NULL;
  if (max == 0 || max > sizeof(out_buf) ||
      !CBB_init_fixed(&cbb, out_buf, max) ||
      !vigil_ocsp_response_build(&cbb, &responder, produced_at, &single, 1,
                                 o.nonce != NULL ? nonce : NULL, nonce_len) ||
      !CBB_finish(&cbb, &out_der, &out_len)) {
    fprintf(stderr, "vigil_ocsp_response_build failed\n");
    goto err;
  }
  if (!write_file(o.out, out_der, out_len)) {
    fprintf(stderr, "cannot write %s\n", o.out);
    goto err;
  }
  ret = 0;

err:
  CBB_cleanup(&cbb);
  vigil_cert_free(rcert);
  vigil_cert_free(issuer);
  vigil_key_free(key);
  return ret;
}
