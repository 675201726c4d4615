/* fuzz_csr.c: libFuzzer target for vigil_csr_parse (vigil/csr.h).
 *
 * The input is parsed as given (DER when it starts with a SEQUENCE tag,
 * PEM otherwise) and, when it looks like DER, once more wrapped in PEM
 * armour, so both paths see every structure. Checked invariants:
 *   - the DER and the PEM-wrapped DER give the same outcome;
 *   - on success every view lies inside the CSR's own copy, the subject is
 *     a well-formed Name, the key passes vigil_x509_spki_check with the
 *     same type, every SAN passes vigil_x509_san_check and there are at
 *     most VIGIL_X509_MAX_SANS of them;
 *   - on failure the reason is a defined enum value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include <vigil/cert.h>
#include <vigil/csr.h>
#include <vigil/x509.h>

#define CHECK(x) \
  do {           \
    if (!(x)) {  \
      abort();   \
    }            \
  } while (0)

static int inside(const struct vigil_csr *csr, size_t owned_len,
                  const uint8_t *p, size_t len) {
  return p >= csr->owned && len <= owned_len &&
         (size_t)(p - csr->owned) <= owned_len - len;
}

static int view_inside(const struct vigil_csr *csr, size_t owned_len,
                       const CBS *cbs) {
  return CBS_len(cbs) == 0 ||
         inside(csr, owned_len, CBS_data(cbs), CBS_len(cbs));
}

static void check_csr(const struct vigil_csr *csr) {
  /* |der| is the whole copy. */
  size_t owned_len = CBS_len(&csr->der);
  CHECK(CBS_data(&csr->der) == csr->owned);
  CHECK(view_inside(csr, owned_len, &csr->info));
  CHECK(view_inside(csr, owned_len, &csr->subject));
  CHECK(view_inside(csr, owned_len, &csr->spki));
  CHECK(view_inside(csr, owned_len, &csr->sig_alg));
  CHECK(view_inside(csr, owned_len, &csr->signature));
  CHECK(view_inside(csr, owned_len, &csr->extensions));
  CHECK(vigil_x509_name_check(CBS_data(&csr->subject), CBS_len(&csr->subject)));
  enum vigil_key_type type;
  CHECK(vigil_x509_spki_check(NULL, &type, CBS_data(&csr->spki),
                              CBS_len(&csr->spki)) == VIGIL_X509_OK);
  CHECK(type == csr->key_type);
  CHECK(csr->pubkey != NULL);
  CHECK(csr->num_sans <= VIGIL_X509_MAX_SANS);
  CHECK(csr->num_sans == 0 || csr->sans != NULL);
  for (size_t i = 0; i < csr->num_sans; i++) {
    CHECK(vigil_x509_san_check(&csr->sans[i]));
    CHECK(inside(csr, owned_len, csr->sans[i].value, csr->sans[i].value_len));
  }
}

static enum vigil_csr_err parse_and_check(const uint8_t *data, size_t size) {
  enum vigil_csr_err err = VIGIL_CSR_ERR_NOMEM;
  struct vigil_csr *csr = vigil_csr_parse(&err, data, size);
  if (csr != NULL) {
    CHECK(err == VIGIL_CSR_OK);
    check_csr(csr);
    vigil_csr_free(csr);
  } else {
    CHECK(err > VIGIL_CSR_OK && err <= VIGIL_CSR_ERR_NOMEM);
  }
  return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  enum vigil_csr_err der_err = parse_and_check(data, size);
  if (size == 0 || data[0] != 0x30) {
    return 0;
  }
  CBB cbb;
  uint8_t *pem = NULL;
  size_t pem_len = 0;
  CHECK(CBB_init(&cbb, size * 2 + 64));
  CHECK(vigil_pem_encode(&cbb, "CERTIFICATE REQUEST", data, size));
  CHECK(CBB_finish(&cbb, &pem, &pem_len));
  enum vigil_csr_err pem_err = parse_and_check(pem, pem_len);
  OPENSSL_free(pem);
  CHECK(pem_err == der_err);
  return 0;
}
