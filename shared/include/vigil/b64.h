/* b64.h: base64, base64url and URL percent-decoding.
 *
 * The OCSP GET form (RFC 5019 5, RFC 6960 A.1) is
 * {url}/{url-encode(base64(DER))}, and in practice arrives with '+' turned
 * into ' ', unencoded '/' and '+', percent-encoding of any character,
 * base64url instead of base64, or missing padding. vigil_b64_decode_ocsp_get
 * accepts all of those and nothing else. No function allocates. */
#ifndef VIGIL_B64_H
#define VIGIL_B64_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why a decode failed. */
enum vigil_b64_err {
  VIGIL_B64_OK = 0,
  VIGIL_B64_ERR_CHAR,      /* a byte outside the alphabet */
  VIGIL_B64_ERR_PAD,       /* padding in the wrong place or wrong amount */
  VIGIL_B64_ERR_LENGTH,    /* length impossible (one leftover sextet) */
  VIGIL_B64_ERR_BITS,      /* non-zero unused bits in the last symbol */
  VIGIL_B64_ERR_PERCENT,   /* bad %XX escape */
  VIGIL_B64_ERR_TOO_LARGE, /* output would exceed the caller's buffer */
};

/* vigil_b64_encoded_len returns the length of the padded standard base64
 * encoding of |in_len| bytes. */
size_t vigil_b64_encoded_len(size_t in_len);

/* vigil_b64_encode writes the padded standard base64 of |in| to |out|
 * (room for vigil_b64_encoded_len(in_len) bytes; no NUL is written) and
 * returns the number of bytes written. */
size_t vigil_b64_encode(char *out, const uint8_t *in, size_t in_len);

/* vigil_b64url_encode writes unpadded base64url; returns the length. |out|
 * needs vigil_b64_encoded_len(in_len) bytes. */
size_t vigil_b64url_encode(char *out, const uint8_t *in, size_t in_len);

/* vigil_b64_decode strictly decodes padded standard base64 (RFC 4648 4):
 * no whitespace, correct padding, zero unused bits. Writes at most
 * |max_out| bytes to |out| and sets |*out_len|. Returns VIGIL_B64_OK or
 * the reason. */
enum vigil_b64_err vigil_b64_decode(uint8_t *out, size_t *out_len,
                                    size_t max_out, const char *in,
                                    size_t in_len);

/* vigil_b64_decode_ocsp_get decodes the {request} part of an OCSP GET path
 * (already cut from the path, query string excluded): percent-decodes,
 * maps ' ' to '+', accepts the base64 and base64url alphabets (even
 * mixed: the DER parser behind it is strict anyway), missing or partial
 * padding, and ignores no other characters (no whitespace skipping). Writes at
 * most |max_out| bytes and sets |*out_len|. Returns VIGIL_B64_OK or the reason.
 */
enum vigil_b64_err vigil_b64_decode_ocsp_get(uint8_t *out, size_t *out_len,
                                             size_t max_out, const char *in,
                                             size_t in_len);

/* vigil_url_decode percent-decodes |in| into |out| (room for |max_out|;
 * may equal |in| for in-place decoding) and sets |*out_len|. '+' is kept
 * as '+'. Returns VIGIL_B64_OK, VIGIL_B64_ERR_PERCENT or
 * VIGIL_B64_ERR_TOO_LARGE. */
enum vigil_b64_err vigil_url_decode(char *out, size_t *out_len, size_t max_out,
                                    const char *in, size_t in_len);

/* vigil_b64_err_string returns a static description of |err|. */
const char *vigil_b64_err_string(enum vigil_b64_err err);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_B64_H */
