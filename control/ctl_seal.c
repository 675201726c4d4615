/* ctl_seal.c: seals from vigil-signer (see ctl_seal.h). */
#include "ctl_seal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/seal.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"

#define SEAL_FRAME   8192
#define SEAL_TIMEOUT 10000

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

/* Returns a new JSON string of the base64 of |in|, or NULL. */
static json_t *b64_string(const uint8_t *in, size_t len) {
  char *s = vigil_malloc(vigil_b64_encoded_len(len) + 1);
  if (s == NULL) {
    return NULL;
  }
  s[vigil_b64_encode(s, in, len)] = '\0';
  json_t *j = json_string(s);
  vigil_free(s);
  return j;
}

json_t *ctl_seal_make(char *err, size_t err_len, const char *signer_socket,
                      const uint8_t digest[32], const char *context) {
  uint8_t frame[SEAL_FRAME];
  struct vigil_sgn_writer w;
  struct vigil_sgn_msg reply;
  struct vigil_sgn_field sig;
  struct vigil_sgn_field spki;
  enum vigil_sgnc_err ce = VIGIL_SGNC_OK;
  json_t *out = NULL;
  size_t ctx_len = strlen(context);
  size_t len = 0;
  if (ctx_len == 0 || ctx_len > VIGIL_SEAL_MAX_CONTEXT) {
    set_err(err, err_len, "seal context must be 1..%d bytes",
            VIGIL_SEAL_MAX_CONTEXT);
    return NULL;
  }
  vigil_sgn_writer_init(&w, frame, sizeof(frame), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_SEAL, VIGIL_SGN_OK, 0);
  vigil_sgn_put(&w, VIGIL_SGN_T_DIGEST, digest, 32);
  vigil_sgn_put(&w, VIGIL_SGN_T_CONTEXT, (const uint8_t *)context, ctx_len);
  if (!vigil_sgn_writer_finish(&w, &len)) {
    set_err(err, err_len, "seal request does not fit a frame");
    return NULL;
  }
  struct vigil_sgn_client *c =
      vigil_sgn_client_connect(&ce, signer_socket, 2000, 0);
  if (c == NULL) {
    set_err(err, err_len, "signer unreachable at %.200s: %s", signer_socket,
            vigil_sgnc_err_string(ce));
    return NULL;
  }
  ce = vigil_sgn_client_call(c, &reply, frame, len, SEAL_TIMEOUT);
  if (ce != VIGIL_SGNC_OK) {
    set_err(err, err_len, "signer call failed: %s", vigil_sgnc_err_string(ce));
    goto done;
  }
  if (reply.status != VIGIL_SGN_OK) {
    char m[256] = "";
    (void)vigil_sgn_get_text(&reply, m, sizeof(m), VIGIL_SGN_T_ERROR_MESSAGE);
    set_err(err, err_len, "signer refused to seal: %s%s%s",
            vigil_sgn_status_string(reply.status), m[0] ? ": " : "", m);
    goto done;
  }
  int64_t at = 0;
  uint8_t kt = 0;
  if (!vigil_sgn_find(&reply, &sig, VIGIL_SGN_T_SIGNATURE) ||
      !vigil_sgn_find(&reply, &spki, VIGIL_SGN_T_AUDIT_SPKI) ||
      !vigil_sgn_get_i64(&reply, &at, VIGIL_SGN_T_SEALED_AT) ||
      !vigil_sgn_get_u8(&reply, &kt, VIGIL_SGN_T_KEY_TYPE)) {
    set_err(err, err_len, "signer's seal answer lacks a field");
    goto done;
  }
  char hex[65];
  vigil_hex_encode(hex, digest, 32);
  out = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "context", context, "digest",
                  hex, "sealed_at", (json_int_t)at, "key_type",
                  kt == VIGIL_SGN_KEY_ED25519 ? "ed25519" : "p256", "signature",
                  b64_string(sig.value, sig.len), "audit_spki",
                  b64_string(spki.value, spki.len));
  if (out == NULL) {
    set_err(err, err_len, "out of memory");
  }

done:
  vigil_sgn_client_free(c);
  return out;
}
