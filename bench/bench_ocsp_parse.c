/* bench_ocsp_parse.c: how fast vigil_ocsp_request_parse reads a request,
 * single-threaded, on the inputs the edge sees:
 *   sha1          what `openssl ocsp` sends without a nonce (one SHA-1
 *                 CertID, 18-octet serial as large CAs use)
 *   sha256+nonce  one SHA-256 CertID and a 32-octet nonce (RFC 9654)
 *   16 ids+nonce  the largest request we accept in count (16 CertIDs)
 *   truncated     the sha256+nonce request cut by one byte (a reject)
 * Each row runs for SECONDS (argv[1], default 2) of this thread's CPU time
 * (so other load on the box does not inflate the figures) and prints
 * parses per CPU-second and CPU ns per parse. Measurements, not a test: the
 * exit status does not depend on them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>

#include "vigil/ocsp_request.h"

#define CTX(n) (CBS_ASN1_CONTEXT_SPECIFIC | CBS_ASN1_CONSTRUCTED | (n))

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* build writes a request with |num_ids| CertIDs (SHA-256 if |sha256|) and a
 * nonce of |nonce_len| octets (0: none) into |buf|; returns its length or
 * 0 on failure. */
static size_t build(uint8_t *buf, size_t cap, int sha256, int num_ids,
                    size_t nonce_len) {
  static const uint8_t kSha1[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
  static const uint8_t kSha256[] = { 0x60, 0x86, 0x48, 0x01, 0x65,
                                     0x03, 0x04, 0x02, 0x01 };
  static const uint8_t kNonceOid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05,
                                       0x07, 0x30, 0x01, 0x02 };
  uint8_t hash[32], serial[18], nonce[128];
  CBB cbb, ocsp, tbs, list, req, id, alg, oid, w, exts, ext, val;
  uint8_t *out;
  size_t out_len;
  size_t hash_len = sha256 ? 32 : 20;
  memset(hash, 0x5c, sizeof(hash));
  memset(nonce, 0x3a, sizeof(nonce));
  for (size_t i = 0; i < sizeof(serial); i++) {
    serial[i] = (uint8_t)(0x41 + 7 * i);
  }
  if (!CBB_init_fixed(&cbb, buf, cap) ||
      !CBB_add_asn1(&cbb, &ocsp, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&ocsp, &tbs, CBS_ASN1_SEQUENCE) ||
      !CBB_add_asn1(&tbs, &list, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (int i = 0; i < num_ids; i++) {
    serial[sizeof(serial) - 1] = (uint8_t)i;
    if (!CBB_add_asn1(&list, &req, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&req, &id, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&id, &alg, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&alg, &oid, CBS_ASN1_OBJECT) ||
        !CBB_add_bytes(&oid, sha256 ? kSha256 : kSha1,
                       sha256 ? sizeof(kSha256) : sizeof(kSha1)) ||
        !CBB_add_asn1(&alg, &val, CBS_ASN1_NULL) ||
        !CBB_add_asn1_octet_string(&id, hash, hash_len) ||
        !CBB_add_asn1_octet_string(&id, hash, hash_len) ||
        !CBB_add_asn1(&id, &val, CBS_ASN1_INTEGER) ||
        !CBB_add_bytes(&val, serial, sizeof(serial)) || !CBB_flush(&list)) {
      return 0;
    }
  }
  if (nonce_len > 0) {
    if (!CBB_add_asn1(&tbs, &w, CTX(2)) ||
        !CBB_add_asn1(&w, &exts, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&exts, &ext, CBS_ASN1_SEQUENCE) ||
        !CBB_add_asn1(&ext, &oid, CBS_ASN1_OBJECT) ||
        !CBB_add_bytes(&oid, kNonceOid, sizeof(kNonceOid)) ||
        !CBB_add_asn1(&ext, &val, CBS_ASN1_OCTETSTRING) ||
        !CBB_add_asn1_octet_string(&val, nonce, nonce_len)) {
      return 0;
    }
  }
  if (!CBB_finish(&cbb, &out, &out_len)) {
    return 0;
  }
  return out_len;
}

struct row {
  const char *name;
  uint8_t der[4096];
  size_t len;
  enum vigil_ocsp_req_result want;
};

static void run(const struct row *row, double seconds) {
  struct vigil_ocsp_request req;
  unsigned long long n = 0;
  /* Consumes every result so the loop cannot be optimised away. */
  volatile size_t sink = 0;
  /* Check the input once, outside the timed loop. */
  enum vigil_ocsp_req_result r =
      vigil_ocsp_request_parse(&req, row->der, row->len);
  if (r != row->want) {
    printf("%-14s  unexpected result %s\n", row->name,
           vigil_ocsp_req_result_string(r));
    return;
  }
  double start = now_s();
  double end = start;
  do {
    for (int i = 0; i < 4096; i++) {
      r = vigil_ocsp_request_parse(&req, row->der, row->len);
      sink += (size_t)r + req.num_ids + CBS_len(&req.nonce);
    }
    n += 4096;
    end = now_s();
  } while (end - start < seconds);
  if (sink == 1) {
    fputs("", stderr); /* keeps the result observable */
  }
  double elapsed = end - start;
  printf("%-14s %6zu %14.0f %10.1f\n", row->name, row->len, (double)n / elapsed,
         elapsed * 1e9 / (double)n);
}

int main(int argc, char **argv) {
  static struct row rows[4];
  double seconds = argc > 1 ? strtod(argv[1], NULL) : 2.0;
  if (!(seconds > 0 && seconds <= 600)) {
    fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
    return 1;
  }
  rows[0].name = "sha1";
  rows[0].len = build(rows[0].der, sizeof(rows[0].der), 0, 1, 0);
  rows[1].name = "sha256+nonce";
  rows[1].len = build(rows[1].der, sizeof(rows[1].der), 1, 1, 32);
  rows[2].name = "16 ids+nonce";
  rows[2].len =
      build(rows[2].der, sizeof(rows[2].der), 1, VIGIL_OCSP_MAX_REQUESTS, 32);
  rows[3].name = "truncated";
  memcpy(rows[3].der, rows[1].der, rows[1].len);
  rows[3].len = rows[1].len - 1;
  rows[3].want = VIGIL_OCSP_REQ_TRUNCATED;
  for (size_t i = 0; i < 3; i++) {
    if (rows[i].len == 0) {
      fprintf(stderr, "building request %zu failed\n", i);
      return 1;
    }
  }
  printf("vigil_ocsp_request_parse, one thread, %.1f CPU s per row\n", seconds);
  printf("%-14s %6s %14s %10s\n", "request", "bytes", "parses/s", "ns/parse");
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    run(&rows[i], seconds);
  }
  return 0;
}
