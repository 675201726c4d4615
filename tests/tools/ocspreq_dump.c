/* ocspreq_dump.c: parses one DER OCSPRequest with vigil_ocsp_request_parse
 * and prints what it found, one key=value per line, for the interop test
 * (tests/interop/ocsp_request_openssl.sh) to compare with what OpenSSL and
 * GnuTLS were asked to put in the request:
 *
 *   result=ok
 *   num_ids=1
 *   id0.hash=sha1            (sha1 | sha256)
 *   id0.name_hash=<hex>
 *   id0.key_hash=<hex>
 *   id0.serial=<hex>         INTEGER contents, lowercase, as received
 *   nonce_len=16             (0 without a nonce)
 *   nonce=<hex>              (only with a nonce)
 *   requestor_name=0
 *   signed=0
 *
 * Usage: vigil-test-ocspreq_dump FILE   (or - for stdin)
 * Exit: 0 parsed, 2 refused (result=<reason> printed), 1 usage/IO error. */
#include <stdio.h>
#include <string.h>

#include "vigil/ocsp_request.h"

/* One more than the parser accepts, so an oversized file reaches it. */
#define MAX_INPUT (VIGIL_OCSP_REQUEST_MAX_DER + 1)

static void print_hex(const char *key, const CBS *cbs) {
  static const char kDigits[] = "0123456789abcdef";
  const uint8_t *p = CBS_data(cbs);
  printf("%s=", key);
  for (size_t i = 0; i < CBS_len(cbs); i++) {
    putchar(kDigits[p[i] >> 4]);
    putchar(kDigits[p[i] & 0x0f]);
  }
  putchar('\n');
}

int main(int argc, char **argv) {
  static uint8_t buf[MAX_INPUT];
  struct vigil_ocsp_request req;
  if (argc != 2) {
    fprintf(stderr, "usage: %s FILE|-\n", argv[0]);
    return 1;
  }
  FILE *f = strcmp(argv[1], "-") == 0 ? stdin : fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 1;
  }
  size_t len = fread(buf, 1, sizeof(buf), f);
  int read_error = ferror(f);
  if (f != stdin) {
    fclose(f);
  }
  if (read_error) {
    fprintf(stderr, "%s: read error\n", argv[1]);
    return 1;
  }
  enum vigil_ocsp_req_result r = vigil_ocsp_request_parse(&req, buf, len);
  printf("result=%s\n", vigil_ocsp_req_result_string(r));
  if (r != VIGIL_OCSP_REQ_OK) {
    return 2;
  }
  printf("num_ids=%zu\n", req.num_ids);
  for (size_t i = 0; i < req.num_ids; i++) {
    const struct vigil_ocsp_cert_id *id = &req.ids[i];
    char key[80];
    printf("id%zu.hash=%s\n", i,
           id->hash == VIGIL_OCSP_HASH_SHA256 ? "sha256" : "sha1");
    snprintf(key, sizeof(key), "id%zu.name_hash", i);
    print_hex(key, &id->name_hash);
    snprintf(key, sizeof(key), "id%zu.key_hash", i);
    print_hex(key, &id->key_hash);
    snprintf(key, sizeof(key), "id%zu.serial", i);
    print_hex(key, &id->serial);
  }
  printf("nonce_len=%zu\n", req.has_nonce ? CBS_len(&req.nonce) : (size_t)0);
  if (req.has_nonce) {
    print_hex("nonce", &req.nonce);
  }
  printf("requestor_name=%d\n", req.has_requestor_name);
  printf("signed=%d\n", req.is_signed);
  return 0;
}
