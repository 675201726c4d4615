/* seal_json.c: a seal in its JSON form, checked (see vigil/seal.h). */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/seal.h"

#define MAX_SPKI 4096
#define MAX_SIG  1024

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

/* Decodes base64 member |name| of |seal| into |out| (|max| bytes). */
static int get_b64(uint8_t *out, size_t *out_len, size_t max,
                   const json_t *seal, const char *name) {
  const char *s = json_string_value(json_object_get(seal, name));
  if (s == NULL) {
    return 0;
  }
  return vigil_b64_decode(out, out_len, max, s, strlen(s)) == VIGIL_B64_OK;
}

int vigil_seal_check_json(char *err, size_t err_len, const struct json_t *seal,
                          const uint8_t digest[32], const char *want_context,
                          const uint8_t *pin_spki, size_t pin_len) {
  uint8_t spki[MAX_SPKI];
  uint8_t sig[MAX_SIG];
  uint8_t got[32];
  size_t spki_len = 0;
  size_t sig_len = 0;
  size_t got_len = 0;
  if (!json_is_object(seal)) {
    set_err(err, err_len, "seal: not an object");
    return 0;
  }
  const char *context = json_string_value(json_object_get(seal, "context"));
  const char *hex = json_string_value(json_object_get(seal, "digest"));
  json_t *at = json_object_get(seal, "sealed_at");
  if (context == NULL || hex == NULL || !json_is_integer(at)) {
    set_err(err, err_len,
            "seal: \"context\", \"digest\" and \"sealed_at\" are required");
    return 0;
  }
  if (strcmp(context, want_context) != 0) {
    set_err(err, err_len, "seal: context \"%.100s\", expected \"%.100s\"",
            context, want_context);
    return 0;
  }
  if (strlen(hex) != 64 ||
      !vigil_hex_decode(got, &got_len, sizeof(got), hex, 64) || got_len != 32 ||
      memcmp(got, digest, 32) != 0) {
    set_err(err, err_len,
            "seal: the digest does not match the content (it was changed "
            "after sealing)");
    return 0;
  }
  if (!get_b64(sig, &sig_len, sizeof(sig), seal, "signature") || sig_len == 0) {
    set_err(err, err_len, "seal: \"signature\" is not base64");
    return 0;
  }
  if (!get_b64(spki, &spki_len, sizeof(spki), seal, "audit_spki") ||
      spki_len == 0) {
    set_err(err, err_len, "seal: \"audit_spki\" is not base64");
    return 0;
  }
  if (pin_spki != NULL &&
      (pin_len != spki_len || memcmp(pin_spki, spki, spki_len) != 0)) {
    set_err(err, err_len,
            "seal: made with another key than the pinned audit key");
    return 0;
  }
  if (!vigil_seal_verify(spki, spki_len, sig, sig_len, digest, context,
                         strlen(context), json_integer_value(at))) {
    set_err(err, err_len, "seal: the signature does not verify");
    return 0;
  }
  return 1;
}
