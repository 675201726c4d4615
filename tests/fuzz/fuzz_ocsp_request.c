/* fuzz_ocsp_request.c: libFuzzer target for vigil_ocsp_request_parse, the
 * first code on the edge to touch bytes from the internet.
 *
 * Beyond "no crash, no over-read, no UB", it checks the promises of
 * vigil/ocsp_request.h on every input: on success every view lies inside
 * the input and counts and lengths are within their bounds; on failure
 * the scalar fields are reset; and the fast path for plain requests gives
 * exactly what the general DER walk gives (vigil_ocsp_request_parse_general).
 * A broken promise aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/ocsp_request.h"

#define CHECK(cond) \
  do {              \
    if (!(cond)) {  \
      abort();      \
    }               \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* inside: |cbs| is empty or lies within [data, data + size). */
static int inside(const CBS *cbs, const uint8_t *data, size_t size) {
  uintptr_t p = (uintptr_t)CBS_data(cbs);
  uintptr_t lo = (uintptr_t)data;
  if (CBS_len(cbs) == 0) {
    return 1;
  }
  return p >= lo && CBS_len(cbs) <= size && p - lo <= size - CBS_len(cbs);
}

/* within: |inner| (non-empty) lies inside |outer|. */
static int within(const CBS *inner, const CBS *outer) {
  return CBS_len(inner) > 0 && inside(inner, CBS_data(outer), CBS_len(outer));
}

static int same_cbs(const CBS *a, const CBS *b) {
  return CBS_data(a) == CBS_data(b) && CBS_len(a) == CBS_len(b);
}

/* same_as_general: the fast path and the general DER walk agree on |data|
 * (result and every view). */
static int same_as_general(const struct vigil_ocsp_request *req,
                           enum vigil_ocsp_req_result r, const uint8_t *data,
                           size_t size) {
  struct vigil_ocsp_request g;
  memset(&g, 0x5a, sizeof(g));
  if (vigil_ocsp_request_parse_general(&g, data, size) != r ||
      g.num_ids != req->num_ids || g.has_nonce != req->has_nonce ||
      g.has_requestor_name != req->has_requestor_name ||
      g.is_signed != req->is_signed || !same_cbs(&g.nonce, &req->nonce) ||
      !same_cbs(&g.tbs, &req->tbs)) {
    return 0;
  }
  for (size_t i = 0; i < req->num_ids; i++) {
    if (g.ids[i].hash != req->ids[i].hash ||
        !same_cbs(&g.ids[i].der, &req->ids[i].der) ||
        !same_cbs(&g.ids[i].name_hash, &req->ids[i].name_hash) ||
        !same_cbs(&g.ids[i].key_hash, &req->ids[i].key_hash) ||
        !same_cbs(&g.ids[i].serial, &req->ids[i].serial)) {
      return 0;
    }
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct vigil_ocsp_request req;
  memset(&req, 0xa5, sizeof(req));
  enum vigil_ocsp_req_result r = vigil_ocsp_request_parse(&req, data, size);
  CHECK(same_as_general(&req, r, data, size));

  const char *name = vigil_ocsp_req_result_string(r);
  CHECK(name != NULL && strcmp(name, "invalid") != 0);
  if (r != VIGIL_OCSP_REQ_OK) {
    CHECK(req.num_ids == 0 && req.has_nonce == 0 && CBS_len(&req.nonce) == 0);
    CHECK(req.has_requestor_name == 0 && req.is_signed == 0);
    CHECK(CBS_len(&req.tbs) == 0);
    return 0;
  }

  CHECK(size <= VIGIL_OCSP_REQUEST_MAX_DER);
  CHECK(req.num_ids >= 1 && req.num_ids <= VIGIL_OCSP_MAX_REQUESTS);
  CHECK(inside(&req.tbs, data, size) && CBS_len(&req.tbs) > 0);
  for (size_t i = 0; i < req.num_ids; i++) {
    const struct vigil_ocsp_cert_id *id = &req.ids[i];
    size_t hash_len = id->hash == VIGIL_OCSP_HASH_SHA1     ? 20
                      : id->hash == VIGIL_OCSP_HASH_SHA256 ? 32
                                                           : 0;
    CHECK(hash_len != 0);
    CHECK(inside(&id->der, data, size) && CBS_len(&id->der) > 0);
    CHECK(within(&id->der, &req.tbs));
    CHECK(CBS_len(&id->name_hash) == hash_len);
    CHECK(CBS_len(&id->key_hash) == hash_len);
    CHECK(CBS_len(&id->serial) >= 1 &&
          CBS_len(&id->serial) <= VIGIL_OCSP_MAX_SERIAL);
    CHECK(within(&id->name_hash, &id->der));
    CHECK(within(&id->key_hash, &id->der));
    CHECK(within(&id->serial, &id->der));
    CHECK(CBS_is_valid_asn1_integer(&id->serial, NULL));
    /* CertIDs come in input order and do not overlap. */
    if (i > 0) {
      CHECK(CBS_data(&id->der) >=
            CBS_data(&req.ids[i - 1].der) + CBS_len(&req.ids[i - 1].der));
    }
  }
  if (req.has_nonce) {
    CHECK(req.has_nonce == 1);
    CHECK(CBS_len(&req.nonce) >= VIGIL_OCSP_NONCE_MIN &&
          CBS_len(&req.nonce) <= VIGIL_OCSP_NONCE_MAX);
    CHECK(within(&req.nonce, &req.tbs));
  } else {
    CHECK(CBS_len(&req.nonce) == 0);
  }
  CHECK(req.has_requestor_name == 0 || req.has_requestor_name == 1);
  CHECK(req.is_signed == 0 || req.is_signed == 1);

  /* Parsing is a pure function of the bytes. */
  struct vigil_ocsp_request again;
  CHECK(vigil_ocsp_request_parse(&again, data, size) == VIGIL_OCSP_REQ_OK);
  CHECK(again.num_ids == req.num_ids && again.has_nonce == req.has_nonce);
  CHECK(CBS_data(&again.nonce) == CBS_data(&req.nonce) &&
        CBS_len(&again.nonce) == CBS_len(&req.nonce));
  CHECK(again.is_signed == req.is_signed &&
        again.has_requestor_name == req.has_requestor_name);
  for (size_t i = 0; i < req.num_ids; i++) {
    CHECK(CBS_data(&again.ids[i].der) == CBS_data(&req.ids[i].der) &&
          CBS_len(&again.ids[i].der) == CBS_len(&req.ids[i].der) &&
          again.ids[i].hash == req.ids[i].hash);
  }
  return 0;
}
