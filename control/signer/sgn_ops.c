/* sgn_ops.c: vigil-signer's operations (see sgn_ops.h and docs/signer.md).
 *
 * Layout: reply helpers, request helpers, then one handler per operation
 * in protocol order, then the dispatcher. */
#include "sgn_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "sgn_files.h"
#include "vigil/file.h"
#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/crl.h"
#include "vigil/csr.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"
#include "vigil/ocsp.h"
#include "vigil/ocsp_response.h"
#include "vigil/timeutil.h"
#include "vigil/x509.h"

/* Certificate lifetimes the signer accepts. */
#define CA_MIN_VALIDITY   86400
#define CA_MAX_VALIDITY   (INT64_C(30) * 365 * 86400)
#define LEAF_MIN_VALIDITY 3600
#define LEAF_MAX_VALIDITY (INT64_C(398) * 86400) /* BR 6.3.2 */
/* OCSP response validity (CA/B Forum BR 4.9.10): 8 hours .. 10 days. */
#define OCSP_MIN_VALIDITY (8 * 3600)
#define OCSP_MAX_VALIDITY (10 * 86400)
/* thisUpdate of responses and CRLs: at most a day back (pre-production is
 * allowed, RFC 6960 2.5) and no further ahead than clock skew, since
 * relying parties refuse statements from the future. */
#define MAX_BACKDATE 86400
#define MAX_SKEW     300
/* Room for the fixed fields of any reply besides its big values. */
#define REPLY_SLACK 1024

/* ======================================================================
 * Replies
 * ====================================================================== */

void sgn_reply_init(struct sgn_reply *r) {
  r->buf = NULL;
  r->len = 0;
  r->cap = 0;
  r->secret = 0;
}

void sgn_reply_cleanup(struct sgn_reply *r) {
  if (r->buf != NULL && r->buf != r->small) {
    if (r->secret) {
      OPENSSL_cleanse(r->buf, r->cap);
    }
    vigil_free(r->buf);
  } else if (r->buf == r->small && r->secret) {
    OPENSSL_cleanse(r->small, sizeof(r->small));
  }
  sgn_reply_init(r);
}

void sgn_reply_error(struct sgn_reply *r, enum vigil_sgn_op op, uint32_t id,
                     enum vigil_sgn_status status, uint32_t detail,
                     int64_t index, const char *fmt, ...) {
  char msg[1025];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (n < 0) {
    msg[0] = '\0';
  }
  /* A message may quote request text; the codec allows no control
   * characters in text fields. */
  for (char *p = msg; *p != '\0'; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      *p = '?';
    }
  }
  sgn_reply_cleanup(r);
  struct vigil_sgn_writer w;
  vigil_sgn_writer_init(&w, r->small, sizeof(r->small), VIGIL_SGN_REPLY, op,
                        status, id);
  if (msg[0] != '\0') {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_ERROR_MESSAGE, msg);
  }
  if (detail != 0) {
    vigil_sgn_put_u32(&w, VIGIL_SGN_T_ERROR_DETAIL, detail);
  }
  if (index >= 0 && index <= (int64_t)UINT32_MAX) {
    vigil_sgn_put_u32(&w, VIGIL_SGN_T_ERROR_INDEX, (uint32_t)index);
  }
  size_t len = 0;
  if (!vigil_sgn_writer_finish(&w, &len)) {
    /* Cannot happen with SGN_SMALL_REPLY bytes; send the bare status. */
    vigil_sgn_writer_init(&w, r->small, sizeof(r->small), VIGIL_SGN_REPLY, op,
                          status, id);
    if (!vigil_sgn_writer_finish(&w, &len)) {
      len = 0;
    }
  }
  r->buf = r->small;
  r->len = len;
}

#define FAIL(r, req, st, detail, index, ...)                          \
  sgn_reply_error((r), (req)->op, (req)->id, (st), (detail), (index), \
                  __VA_ARGS__)

/* begin allocates a reply buffer of |cap| bytes and starts a successful
 * reply to |req|. On failure |r| holds an INTERNAL error and 0 returns. */
static int begin(struct sgn_reply *r, struct vigil_sgn_writer *w,
                 const struct vigil_sgn_msg *req, size_t cap) {
  sgn_reply_cleanup(r);
  r->buf = vigil_malloc(cap);
  if (r->buf == NULL) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "out of memory (%zu bytes)", cap);
    return 0;
  }
  r->cap = cap;
  vigil_sgn_writer_init(w, r->buf, cap, VIGIL_SGN_REPLY, req->op, VIGIL_SGN_OK,
                        req->id);
  return 1;
}

/* finish completes the reply, or replaces it with an INTERNAL error. */
static void finish(struct sgn_reply *r, struct vigil_sgn_writer *w,
                   const struct vigil_sgn_msg *req) {
  if (!vigil_sgn_writer_finish(w, &r->len)) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "reply does not fit a frame");
  }
}

/* ======================================================================
 * Request helpers
 * ====================================================================== */

/* get_issuer looks up the issuer named by |tag|; on failure |r| holds the
 * error reply. */
static struct sgn_issuer *get_issuer(const struct sgn_ctx *ctx,
                                     struct sgn_reply *r,
                                     const struct vigil_sgn_msg *req,
                                     uint16_t tag) {
  char id[VIGIL_KS_MAX_NAME + 1];
  if (!vigil_sgn_get_text(req, id, sizeof(id), tag) ||
      !vigil_ks_name_valid(id, strlen(id))) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "%s must match [a-z0-9][a-z0-9-]{0,62}", vigil_sgn_tag_name(tag));
    return NULL;
  }
  struct sgn_issuer *iss = sgn_registry_find(ctx->reg, id);
  if (iss == NULL) {
    FAIL(r, req, VIGIL_SGN_E_NOT_FOUND, 0, -1, "no issuer \"%s\"", id);
  }
  return iss;
}

/* key_type maps KEY_TYPE / RSA_BITS (defaults: P-256, 2048 bits). */
static int key_type(enum vigil_key_type *out, unsigned *out_bits,
                    const struct vigil_sgn_msg *req) {
  uint8_t t = VIGIL_SGN_KEY_P256;
  uint32_t bits = 2048;
  (void)vigil_sgn_get_u8(req, &t, VIGIL_SGN_T_KEY_TYPE);
  (void)vigil_sgn_get_u32(req, &bits, VIGIL_SGN_T_RSA_BITS);
  *out_bits = 0;
  switch (t) {
    case VIGIL_SGN_KEY_P256:
      *out = VIGIL_KEY_EC_P256;
      return 1;
    case VIGIL_SGN_KEY_P384:
      *out = VIGIL_KEY_EC_P384;
      return 1;
    case VIGIL_SGN_KEY_ED25519:
      *out = VIGIL_KEY_ED25519;
      return 1;
    case VIGIL_SGN_KEY_RSA:
      if (bits % 8 != 0) {
        return 0;
      }
      *out = VIGIL_KEY_RSA;
      *out_bits = bits;
      return 1;
    default:
      return 0;
  }
}

static uint8_t sgn_key_type_of(enum vigil_key_type t) {
  switch (t) {
    case VIGIL_KEY_EC_P256:
      return VIGIL_SGN_KEY_P256;
    case VIGIL_KEY_EC_P384:
      return VIGIL_SGN_KEY_P384;
    case VIGIL_KEY_RSA:
      return VIGIL_SGN_KEY_RSA;
    case VIGIL_KEY_ED25519:
      return VIGIL_SGN_KEY_ED25519;
  }
  return 0;
}

/* Text fields of a subject; NUL-terminated copies. */
struct subject {
  char cn[65];
  char o[65];
  char c[3];
  int given; /* any SUBJECT_* field present */
};

static void get_subject(struct subject *s, const struct vigil_sgn_msg *req) {
  memset(s, 0, sizeof(*s));
  s->given |=
      vigil_sgn_get_text(req, s->cn, sizeof(s->cn), VIGIL_SGN_T_SUBJECT_CN);
  s->given |=
      vigil_sgn_get_text(req, s->o, sizeof(s->o), VIGIL_SGN_T_SUBJECT_O);
  s->given |=
      vigil_sgn_get_text(req, s->c, sizeof(s->c), VIGIL_SGN_T_SUBJECT_C);
}

/* build_name encodes |s| into a new DER Name (OPENSSL_free it). */
static enum vigil_x509_err build_name(uint8_t **out, size_t *out_len,
                                      const struct subject *s) {
  struct vigil_x509_name n;
  CBB cbb;
  memset(&n, 0, sizeof(n));
  n.common_name = s->cn;
  n.organization = s->o;
  n.country = s->c;
  *out = NULL;
  *out_len = 0;
  if (!CBB_init(&cbb, 128)) {
    return VIGIL_X509_ERR_NOMEM;
  }
  enum vigil_x509_err e = vigil_x509_name_build(&cbb, &n);
  if (e == VIGIL_X509_OK && !CBB_finish(&cbb, out, out_len)) {
    e = VIGIL_X509_ERR_NOMEM;
  }
  if (e != VIGIL_X509_OK) {
    CBB_cleanup(&cbb);
  }
  return e;
}

/* URLs for AIA and CRL DP; empty when absent. */
struct urls {
  char ocsp[1025];
  char crl[1025];
  char ca_issuers[1025];
};

static void get_urls(struct urls *u, const struct vigil_sgn_msg *req) {
  (void)vigil_sgn_get_text(req, u->ocsp, sizeof(u->ocsp), VIGIL_SGN_T_OCSP_URL);
  (void)vigil_sgn_get_text(req, u->crl, sizeof(u->crl), VIGIL_SGN_T_CRL_URL);
  (void)vigil_sgn_get_text(req, u->ca_issuers, sizeof(u->ca_issuers),
                           VIGIL_SGN_T_CA_ISSUERS_URL);
}

static void set_urls(struct vigil_x509_template *t, const struct urls *u) {
  t->ocsp_url = u->ocsp[0] != '\0' ? u->ocsp : NULL;
  t->crl_url = u->crl[0] != '\0' ? u->crl : NULL;
  t->ca_issuers_url = u->ca_issuers[0] != '\0' ? u->ca_issuers : NULL;
}

/* serial_ok: a positive, minimally encoded INTEGER of 1..21 octets (21
 * only with a leading sign octet), as RFC 5280 and the builders want. */
static int serial_ok(const uint8_t *s, size_t len) {
  if (len < 1 || len > VIGIL_OCSP_MAX_SERIAL || (s[0] & 0x80) != 0) {
    return 0;
  }
  if (len > 1 && s[0] == 0 && (s[1] & 0x80) == 0) {
    return 0; /* not minimal */
  }
  if (len == VIGIL_OCSP_MAX_SERIAL && s[0] != 0) {
    return 0;
  }
  return !(len == 1 && s[0] == 0); /* zero is not positive */
}

/* response_validity_ok applies the BR window and the responder rule:
 * a response may last at most 2/3 of a responder's validity, because a
 * responder is rotated when a third of its life is left. */
static int response_validity_ok(const struct sgn_ctx *ctx, struct sgn_reply *r,
                                const struct vigil_sgn_msg *req, int64_t v) {
  const struct sgn_responder_policy *pol = sgn_registry_policy(ctx->reg);
  if (v < OCSP_MIN_VALIDITY || v > OCSP_MAX_VALIDITY) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "validity %lld s outside the CA/B Forum window (8 h .. 10 days)",
         (long long)v);
    return 0;
  }
  if (v > pol->validity / 3 * 2) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "validity %lld s exceeds 2/3 of responder-validity (%lld s); raise "
         "responder-validity to at least %lld s",
         (long long)v, (long long)pol->validity, (long long)(v / 2 * 3));
    return 0;
  }
  return 1;
}

static int this_update_ok(struct sgn_reply *r, const struct vigil_sgn_msg *req,
                          int64_t t, int64_t now) {
  if (t < now - MAX_BACKDATE || t > now + MAX_SKEW) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "this_update %lld is not within [now - 1 day, now + 5 min] (now "
         "%lld)",
         (long long)t, (long long)now);
    return 0;
  }
  return 1;
}

/* get_responder fetches (minting if needed) |iss|'s responder; on failure
 * |r| holds the error reply. */
static struct sgn_responder *get_responder(const struct sgn_ctx *ctx,
                                           struct sgn_reply *r,
                                           const struct vigil_sgn_msg *req,
                                           struct sgn_issuer *iss, int64_t now,
                                           int64_t need_until, int force) {
  int minted = 0;
  enum sgn_mint_result mr;
  enum vigil_x509_err xerr;
  struct sgn_responder *resp = sgn_issuer_responder(
      ctx->reg, iss, &minted, &mr, &xerr, now, need_until, force);
  if (resp != NULL) {
    return resp;
  }
  if (mr == SGN_MINT_ISSUE) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1,
         "cannot mint a responder for %s: %s", iss->id,
         vigil_x509_err_string(xerr));
  } else {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1,
         "cannot mint a responder for %s: %s", iss->id,
         mr == SGN_MINT_KEYGEN ? "key generation failed"
                               : "responder files not written");
  }
  return NULL;
}

/* put_issuer writes the issuer-info fields (and the responder's, if any). */
static void put_issuer(struct vigil_sgn_writer *w, const struct sgn_issuer *iss,
                       const struct sgn_responder *resp) {
  const struct vigil_cert *c = iss->cert;
  vigil_sgn_put(w, VIGIL_SGN_T_CERT, CBS_data(&c->der), CBS_len(&c->der));
  vigil_sgn_put(w, VIGIL_SGN_T_NAME_SHA1, c->name_sha1, 20);
  vigil_sgn_put(w, VIGIL_SGN_T_NAME_SHA256, c->name_sha256, 32);
  vigil_sgn_put(w, VIGIL_SGN_T_KEY_SHA1, c->key_sha1, 20);
  vigil_sgn_put(w, VIGIL_SGN_T_KEY_SHA256, c->key_sha256, 32);
  vigil_sgn_put_i64(w, VIGIL_SGN_T_NOT_BEFORE, c->not_before);
  vigil_sgn_put_i64(w, VIGIL_SGN_T_NOT_AFTER, c->not_after);
  if (resp != NULL) {
    vigil_sgn_put(w, VIGIL_SGN_T_RESPONDER_CERT, CBS_data(&resp->cert->der),
                  CBS_len(&resp->cert->der));
    vigil_sgn_put_i64(w, VIGIL_SGN_T_RESPONDER_NOT_AFTER,
                      resp->cert->not_after);
  }
}

static size_t issuer_reply_cap(const struct sgn_issuer *iss,
                               const struct sgn_responder *resp) {
  return VIGIL_SGN_HEADER_LEN + REPLY_SLACK + CBS_len(&iss->cert->der) +
         (resp != NULL ? CBS_len(&resp->cert->der) : 0);
}

static void reply_issuer(const struct sgn_ctx *ctx, struct sgn_reply *r,
                         const struct vigil_sgn_msg *req,
                         struct sgn_issuer *iss,
                         const struct sgn_responder *resp) {
  struct vigil_sgn_writer w;
  (void)ctx;
  if (begin(r, &w, req, issuer_reply_cap(iss, resp))) {
    put_issuer(&w, iss, resp);
    finish(r, &w, req);
  }
}

/* ======================================================================
 * PING
 * ====================================================================== */

static void op_ping(const struct sgn_ctx *ctx, struct sgn_reply *r,
                    const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_sgn_writer w;
  if (begin(r, &w, req, VIGIL_SGN_HEADER_LEN + 64)) {
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_TIME, now);
    vigil_sgn_put_u32(&w, VIGIL_SGN_T_NUM_ISSUERS,
                      (uint32_t)sgn_registry_count(ctx->reg));
    finish(r, &w, req);
  }
}

/* ======================================================================
 * CREATE_ROOT, CREATE_INTERMEDIATE
 * ====================================================================== */

static void op_create(const struct sgn_ctx *ctx, struct sgn_reply *r,
                      const struct vigil_sgn_msg *req, int64_t now) {
  char id[VIGIL_KS_MAX_NAME + 1];
  struct subject s;
  struct urls u;
  struct vigil_x509_template t;
  enum vigil_key_type kt;
  unsigned bits;
  int64_t validity = 0;
  uint8_t *name = NULL;
  size_t name_len = 0;
  uint8_t *der = NULL;
  size_t der_len = 0;
  struct vigil_key *key = NULL;
  struct sgn_issuer *parent = NULL;
  int intermediate = req->op == VIGIL_SGN_OP_CREATE_INTERMEDIATE;

  if (!vigil_sgn_get_text(req, id, sizeof(id), VIGIL_SGN_T_ISSUER_ID) ||
      !vigil_ks_name_valid(id, strlen(id))) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "issuer_id must match [a-z0-9][a-z0-9-]{0,62}");
    goto done;
  }
  if (sgn_registry_find(ctx->reg, id) != NULL) {
    FAIL(r, req, VIGIL_SGN_E_EXISTS, 0, -1, "issuer \"%s\" already exists", id);
    goto done;
  }
  if (intermediate) {
    parent = get_issuer(ctx, r, req, VIGIL_SGN_T_PARENT_ID);
    if (parent == NULL) {
      goto done;
    }
  }
  if (!key_type(&kt, &bits, req)) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "unsupported key type or RSA size");
    goto done;
  }
  (void)vigil_sgn_get_i64(req, &validity, VIGIL_SGN_T_VALIDITY);
  if (validity < CA_MIN_VALIDITY || validity > CA_MAX_VALIDITY) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "CA validity must be 1 day .. 30 years");
    goto done;
  }
  get_subject(&s, req);
  enum vigil_x509_err xerr = build_name(&name, &name_len, &s);
  if (xerr != VIGIL_X509_OK) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1, "subject: %s",
         vigil_x509_err_string(xerr));
    goto done;
  }
  key = vigil_key_generate(kt, bits);
  if (key == NULL) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "key generation failed");
    goto done;
  }
  if (intermediate) {
    uint32_t path_len = 0;
    int has_path_len = vigil_sgn_get_u32(req, &path_len, VIGIL_SGN_T_PATH_LEN);
    /* A BR TLS sub-CA: serverAuth + clientAuth EKU (BR 7.1.2.10.6). */
    vigil_x509_profile_intermediate_ca(
        &t, now, validity, has_path_len ? (int)path_len : -1,
        VIGIL_X509_EKU_SERVER_AUTH | VIGIL_X509_EKU_CLIENT_AUTH);
    get_urls(&u, req);
    set_urls(&t, &u);
  } else {
    vigil_x509_profile_root_ca(&t, now, validity);
  }
  t.subject = name;
  t.subject_len = name_len;
  t.spki = vigil_key_get0_spki(key, &t.spki_len);
  xerr = vigil_x509_issue_der(&der, &der_len, &t,
                              intermediate ? parent->cert : NULL,
                              intermediate ? parent->key : key, now);
  if (xerr != VIGIL_X509_OK) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1,
         "certificate refused: %s", vigil_x509_err_string(xerr));
    goto done;
  }
  struct sgn_issuer *iss = NULL;
  switch (sgn_registry_add(ctx->reg, &iss, id, key, der, der_len)) {
    case SGN_ADD_OK:
      key = NULL; /* the registry owns it now */
      break;
    case SGN_ADD_EXISTS:
      FAIL(r, req, VIGIL_SGN_E_EXISTS, 0, -1, "issuer \"%s\" already exists",
           id);
      goto done;
    case SGN_ADD_FULL:
      FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
           "max-issuers reached; issuer not created");
      goto done;
    case SGN_ADD_IO:
      FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1,
           "cannot write the issuer to the key directory");
      goto done;
    case SGN_ADD_NOMEM:
    default:
      FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "out of memory");
      goto done;
  }
  VLOG_INFO(ctx->log, "created %s CA %s%s%s (notAfter %lld)",
            intermediate ? "intermediate" : "root", id,
            intermediate ? " under " : "", intermediate ? parent->id : "",
            (long long)iss->cert->not_after);
  /* The CA exists now; a responder is a convenience here (it is minted on
   * demand later if this fails), so its failure does not fail the call. */
  int minted = 0;
  enum sgn_mint_result mr;
  struct sgn_responder *resp =
      sgn_issuer_responder(ctx->reg, iss, &minted, &mr, &xerr, now, 0, 0);
  if (resp == NULL) {
    VLOG_WARN(ctx->log, "issuer %s: no responder minted yet (%s)", id,
              vigil_x509_err_string(xerr));
  }
  reply_issuer(ctx, r, req, iss, resp);
  sgn_responder_release(resp);

done:
  OPENSSL_free(name);
  vigil_free(der);
  vigil_key_free(key);
}

/* ======================================================================
 * ISSUER_INFO
 * ====================================================================== */

static void op_issuer_info(const struct sgn_ctx *ctx, struct sgn_reply *r,
                           const struct vigil_sgn_msg *req, int64_t now) {
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL) {
    return;
  }
  struct sgn_responder *resp = get_responder(ctx, r, req, iss, now, 0, 0);
  if (resp == NULL) {
    return;
  }
  reply_issuer(ctx, r, req, iss, resp);
  sgn_responder_release(resp);
}

/* ======================================================================
 * ISSUE_CSR, ISSUE_GENERATED
 * ====================================================================== */

/* get_sans collects SAN_DNS / SAN_IP fields into |out| (views into the
 * request). Returns the count, or -1 if there are more than |max|. */
static long get_sans(struct vigil_x509_san *out, size_t max,
                     const struct vigil_sgn_msg *req) {
  struct vigil_sgn_iter it;
  struct vigil_sgn_field f;
  size_t n = 0;
  vigil_sgn_iter_init(&it, req);
  while (vigil_sgn_iter_next(&it, &f)) {
    if (f.tag != VIGIL_SGN_T_SAN_DNS && f.tag != VIGIL_SGN_T_SAN_IP) {
      continue;
    }
    if (n == max) {
      return -1;
    }
    out[n].type =
        f.tag == VIGIL_SGN_T_SAN_DNS ? VIGIL_X509_SAN_DNS : VIGIL_X509_SAN_IP;
    out[n].value = f.value;
    out[n].value_len = f.len;
    n++;
  }
  return (long)n;
}

/* issue_leaf issues a TLS server certificate for |spki| under |iss| and
 * replies; |key_pem| (may be NULL) is the generated private key to return
 * with it. */
static void issue_leaf(const struct sgn_ctx *ctx, struct sgn_reply *r,
                       const struct vigil_sgn_msg *req, int64_t now,
                       struct sgn_issuer *iss, const uint8_t *subject,
                       size_t subject_len, const uint8_t *spki, size_t spki_len,
                       enum vigil_key_type kt,
                       const struct vigil_x509_san *sans, size_t num_sans,
                       const uint8_t *key_pem, size_t key_pem_len) {
  struct vigil_x509_template t;
  struct urls u;
  uint8_t serial[VIGIL_X509_SERIAL_LEN];
  uint8_t *der = NULL;
  size_t der_len = 0;
  int64_t validity = 0;
  uint8_t profile = VIGIL_SGN_PROFILE_TLS_SERVER;
  char hex[2 * VIGIL_X509_SERIAL_LEN + 2];

  (void)vigil_sgn_get_u8(req, &profile, VIGIL_SGN_T_PROFILE);
  (void)vigil_sgn_get_i64(req, &validity, VIGIL_SGN_T_VALIDITY);
  if (validity < LEAF_MIN_VALIDITY || validity > LEAF_MAX_VALIDITY) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "TLS server certificate validity must be 1 hour .. 398 days");
    return;
  }
  if (num_sans == 0) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "a TLS server certificate needs at least one DNS or IP SAN");
    return;
  }
  for (size_t i = 0; i < num_sans; i++) {
    /* BR 7.1.2.7.12: dNSName and iPAddress only (a CSR may ask for more). */
    if (sans[i].type != VIGIL_X509_SAN_DNS &&
        sans[i].type != VIGIL_X509_SAN_IP) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, VIGIL_X509_ERR_SAN, (int64_t)i,
           "SAN %zu: a TLS server certificate takes DNS and IP names only", i);
      return;
    }
  }
  if (!vigil_x509_serial_generate(serial)) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "no randomness for a serial");
    return;
  }
  vigil_x509_profile_tls_server(&t, now, validity, kt);
  t.serial = serial;
  t.serial_len = sizeof(serial);
  t.subject = subject;
  t.subject_len = subject_len;
  t.spki = spki;
  t.spki_len = spki_len;
  t.sans = sans;
  t.num_sans = num_sans;
  memset(&u, 0, sizeof(u));
  get_urls(&u, req);
  set_urls(&t, &u);
  enum vigil_x509_err xerr =
      vigil_x509_issue_der(&der, &der_len, &t, iss->cert, iss->key, now);
  if (xerr != VIGIL_X509_OK) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1,
         "certificate refused: %s", vigil_x509_err_string(xerr));
    return;
  }
  struct vigil_sgn_writer w;
  if (begin(r, &w, req,
            VIGIL_SGN_HEADER_LEN + REPLY_SLACK + der_len + key_pem_len)) {
    r->secret = key_pem != NULL;
    vigil_sgn_put(&w, VIGIL_SGN_T_CERT, der, der_len);
    vigil_sgn_put(&w, VIGIL_SGN_T_SERIAL, serial, sizeof(serial));
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_NOT_BEFORE, t.not_before);
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_NOT_AFTER, t.not_after);
    if (key_pem != NULL) {
      vigil_sgn_put(&w, VIGIL_SGN_T_PRIVATE_KEY, key_pem, key_pem_len);
    }
    finish(r, &w, req);
  }
  vigil_serial_hex(hex, serial, sizeof(serial));
  VLOG_INFO(ctx->log, "issuer %s: issued %s serial %s (notAfter %lld)", iss->id,
            key_pem != NULL ? "certificate+key" : "certificate", hex,
            (long long)t.not_after);
  vigil_free(der);
}

static void op_issue_csr(const struct sgn_ctx *ctx, struct sgn_reply *r,
                         const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_sgn_field csr_f;
  struct vigil_x509_san sans[VIGIL_X509_MAX_SANS];
  struct subject s;
  enum vigil_csr_err cerr;
  uint8_t *name = NULL;
  size_t name_len = 0;
  struct vigil_csr *csr = NULL;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL || !vigil_sgn_find(req, &csr_f, VIGIL_SGN_T_CSR)) {
    return;
  }
  csr = vigil_csr_parse(&cerr, csr_f.value, csr_f.len);
  if (csr == NULL) {
    FAIL(r, req, VIGIL_SGN_E_CSR, (uint32_t)cerr, -1, "CSR refused: %s",
         vigil_csr_err_string(cerr));
    return;
  }
  /* SANs and subject given in the request replace the CSR's: the control
   * plane has validated the names; the CSR proves possession of the key. */
  long num_sans = get_sans(sans, VIGIL_X509_MAX_SANS, req);
  if (num_sans < 0) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1, "more than %d SANs",
         VIGIL_X509_MAX_SANS);
    goto done;
  }
  const struct vigil_x509_san *use_sans = sans;
  size_t use_num = (size_t)num_sans;
  if (num_sans == 0) {
    use_sans = csr->sans;
    use_num = csr->num_sans;
  }
  const uint8_t *subject = CBS_data(&csr->subject);
  size_t subject_len = CBS_len(&csr->subject);
  get_subject(&s, req);
  if (s.given) {
    enum vigil_x509_err xerr = build_name(&name, &name_len, &s);
    if (xerr != VIGIL_X509_OK) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1, "subject: %s",
           vigil_x509_err_string(xerr));
      goto done;
    }
    subject = name;
    subject_len = name_len;
  }
  issue_leaf(ctx, r, req, now, iss, subject, subject_len, CBS_data(&csr->spki),
             CBS_len(&csr->spki), csr->key_type, use_sans, use_num, NULL, 0);

done:
  OPENSSL_free(name);
  vigil_csr_free(csr);
}

static void op_issue_generated(const struct sgn_ctx *ctx, struct sgn_reply *r,
                               const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_x509_san sans[VIGIL_X509_MAX_SANS];
  struct subject s;
  enum vigil_key_type kt;
  unsigned bits;
  uint8_t *name = NULL;
  size_t name_len = 0;
  uint8_t *pem = NULL;
  size_t pem_len = 0;
  struct vigil_key *key = NULL;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL) {
    return;
  }
  if (!key_type(&kt, &bits, req)) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "unsupported key type or RSA size");
    return;
  }
  long num_sans = get_sans(sans, VIGIL_X509_MAX_SANS, req);
  if (num_sans < 0) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1, "more than %d SANs",
         VIGIL_X509_MAX_SANS);
    return;
  }
  get_subject(&s, req);
  enum vigil_x509_err xerr = build_name(&name, &name_len, &s);
  if (xerr != VIGIL_X509_OK) {
    FAIL(r, req, VIGIL_SGN_E_INVALID, (uint32_t)xerr, -1, "subject: %s",
         vigil_x509_err_string(xerr));
    goto done;
  }
  key = vigil_key_generate(kt, bits);
  if (key == NULL || !sgn_key_pem(&pem, &pem_len, key)) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "key generation failed");
    goto done;
  }
  size_t spki_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  issue_leaf(ctx, r, req, now, iss, name, name_len, spki, spki_len, kt, sans,
             (size_t)num_sans, pem, pem_len);

done:
  OPENSSL_free(name);
  sgn_free_secret(pem, pem_len);
  vigil_key_free(key);
}

/* ======================================================================
 * PRESIGN_BATCH
 * ====================================================================== */

/* entry_reason maps an entry's reason for OCSP and checks the BRs:
 * unspecified is expressed by omitting the reason. */
static int entry_reason(enum vigil_reason *out, int reason) {
  enum vigil_reason rs = reason < 0 || reason == VIGIL_REASON_UNSPECIFIED
                             ? VIGIL_REASON_NONE
                             : (enum vigil_reason)reason;
  if (!vigil_reason_allowed_by_br(rs, 0)) {
    return 0;
  }
  *out = rs;
  return 1;
}

static void op_presign(const struct sgn_ctx *ctx, struct sgn_reply *r,
                       const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_sgn_entry_iter it;
  struct vigil_sgn_entry e;
  int64_t validity = 0;
  int64_t this_update = now;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL) {
    return;
  }
  (void)vigil_sgn_get_i64(req, &validity, VIGIL_SGN_T_VALIDITY);
  (void)vigil_sgn_get_i64(req, &this_update, VIGIL_SGN_T_THIS_UPDATE);
  if (!response_validity_ok(ctx, r, req, validity) ||
      !this_update_ok(r, req, this_update, now)) {
    return;
  }
  int64_t next_update = this_update + validity;
  size_t n = vigil_sgn_entries_count(req);
  if (n > (size_t)ctx->cfg->max_batch) {
    FAIL(r, req, VIGIL_SGN_E_BATCH, 0, -1,
         "%zu entries; at most %lld per batch", n,
         (long long)ctx->cfg->max_batch);
    return;
  }
  /* Check every entry before signing anything: a batch is all or none. */
  size_t i = 0;
  vigil_sgn_entries_init(&it, req);
  while (vigil_sgn_entries_next(&it, &e)) {
    enum vigil_reason rs;
    if (!serial_ok(e.serial, e.serial_len)) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, 0, (int64_t)i,
           "entry %zu: serial not a positive minimal INTEGER", i);
      return;
    }
    if (e.status == 1 && !entry_reason(&rs, e.reason)) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, 0, (int64_t)i,
           "entry %zu: reason %d not allowed for subscriber certificates "
           "(BR 7.2.2)",
           i, e.reason);
      return;
    }
    if (e.status == 1 &&
        (e.revoked_at < VIGIL_TIME_MIN || e.revoked_at > now + MAX_SKEW)) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, 0, (int64_t)i,
           "entry %zu: revoked_at %lld is in the future or before 1950", i,
           (long long)e.revoked_at);
      return;
    }
    i++;
  }
  struct sgn_responder *resp =
      get_responder(ctx, r, req, iss, now, next_update, 0);
  if (resp == NULL) {
    return;
  }
  struct vigil_ocsp_responder who = { resp->key, resp->cert };
  size_t max_one = vigil_ocsp_response_max_len(&who, 1, 0);
  struct vigil_sgn_writer w;
  if (max_one == 0 || !begin(r, &w, req,
                             VIGIL_SGN_HEADER_LEN + REPLY_SLACK +
                                 n * (VIGIL_SGN_FIELD_OVERHEAD + max_one))) {
    if (max_one == 0) {
      FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "responder unusable");
    }
    goto done;
  }
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_PRODUCED_AT, now);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_THIS_UPDATE, this_update);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_NEXT_UPDATE, next_update);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_RESPONDER_NOT_AFTER, resp->cert->not_after);
  i = 0;
  vigil_sgn_entries_init(&it, req);
  while (vigil_sgn_entries_next(&it, &e)) {
    struct vigil_ocsp_single single;
    memset(&single, 0, sizeof(single));
    single.hash = VIGIL_OCSP_HASH_SHA1; /* DESIGN.md 3: SHA-1 CertIDs */
    single.issuer_name_hash = iss->cert->name_sha1;
    single.issuer_key_hash = iss->cert->key_sha1;
    single.serial = e.serial;
    single.serial_len = e.serial_len;
    single.status =
        e.status == 1 ? VIGIL_CERT_STATUS_REVOKED : VIGIL_CERT_STATUS_GOOD;
    single.reason = VIGIL_REASON_NONE;
    if (e.status == 1) {
      single.revocation_time = e.revoked_at;
      (void)entry_reason(&single.reason, e.reason); /* checked above */
    }
    single.this_update = this_update;
    single.next_update = next_update;
    /* Sign straight into the reply frame: no copy per response. */
    uint8_t *dst =
        vigil_sgn_put_reserve(&w, VIGIL_SGN_T_OCSP_RESPONSE, max_one);
    CBB cbb;
    size_t len = 0;
    if (dst == NULL || !CBB_init_fixed(&cbb, dst, max_one) ||
        !vigil_ocsp_response_build(&cbb, &who, now, &single, 1, NULL, 0) ||
        !CBB_finish(&cbb, NULL, &len) || !vigil_sgn_put_commit(&w, len)) {
      if (dst != NULL) {
        CBB_cleanup(&cbb);
      }
      FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, (int64_t)i,
           "entry %zu: signing failed", i);
      goto done;
    }
    i++;
  }
  finish(r, &w, req);
  VLOG_DEBUG(ctx->log, "issuer %s: pre-signed %zu responses", iss->id, n);

done:
  sgn_responder_release(resp);
}

/* ======================================================================
 * SIGN_CRL
 * ====================================================================== */

static void op_sign_crl(const struct sgn_ctx *ctx, struct sgn_reply *r,
                        const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_sgn_field num_f;
  struct vigil_crl_params p;
  struct vigil_sgn_entry_iter it;
  struct vigil_sgn_entry e;
  struct vigil_crl_entry *entries = NULL;
  char idp[1025];
  uint8_t scope = VIGIL_SGN_CRL_FULL;
  uint8_t *der = NULL;
  size_t der_len = 0;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL || !vigil_sgn_find(req, &num_f, VIGIL_SGN_T_CRL_NUMBER)) {
    return;
  }
  memset(&p, 0, sizeof(p));
  p.issuer = iss->cert;
  p.issuer_key = iss->key;
  p.crl_number = num_f.value;
  p.crl_number_len = num_f.len;
  (void)vigil_sgn_get_i64(req, &p.this_update, VIGIL_SGN_T_THIS_UPDATE);
  (void)vigil_sgn_get_i64(req, &p.next_update, VIGIL_SGN_T_NEXT_UPDATE);
  if (!this_update_ok(r, req, p.this_update, now)) {
    return;
  }
  if (vigil_sgn_get_text(req, idp, sizeof(idp), VIGIL_SGN_T_IDP_URI)) {
    p.idp_uri = idp;
  }
  (void)vigil_sgn_get_u8(req, &scope, VIGIL_SGN_T_CRL_SCOPE);
  p.only_contains_user_certs = scope == VIGIL_SGN_CRL_USER_ONLY;
  p.ca_certs = scope == VIGIL_SGN_CRL_CA_CERTS;
  size_t n = vigil_sgn_entries_count(req);
  if (n > VIGIL_CRL_MAX_ENTRIES) {
    FAIL(r, req, VIGIL_SGN_E_BATCH, 0, -1, "%zu entries; at most %d", n,
         VIGIL_CRL_MAX_ENTRIES);
    return;
  }
  if (n > 0) {
    entries = vigil_calloc(n, sizeof(*entries));
    if (entries == NULL) {
      FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "out of memory");
      return;
    }
  }
  size_t i = 0;
  vigil_sgn_entries_init(&it, req);
  while (vigil_sgn_entries_next(&it, &e)) {
    if (e.status != 1) {
      FAIL(r, req, VIGIL_SGN_E_INVALID, 0, (int64_t)i,
           "entry %zu: a CRL lists revoked certificates only", i);
      goto done;
    }
    entries[i].serial = e.serial; /* views into the request frame */
    entries[i].serial_len = (uint8_t)e.serial_len;
    entries[i].revoked_at = e.revoked_at;
    entries[i].reason =
        e.reason < 0 ? VIGIL_REASON_NONE : (enum vigil_reason)e.reason;
    i++;
  }
  size_t bad = 0;
  enum vigil_crl_err cerr =
      vigil_crl_build(&der, &der_len, &bad, &p, entries, n);
  if (cerr != VIGIL_CRL_OK) {
    int per_entry = cerr == VIGIL_CRL_ERR_BAD_SERIAL ||
                    cerr == VIGIL_CRL_ERR_BAD_REVOCATION_TIME ||
                    cerr == VIGIL_CRL_ERR_REASON_NOT_ALLOWED ||
                    cerr == VIGIL_CRL_ERR_DUPLICATE_SERIAL;
    FAIL(r, req,
         cerr == VIGIL_CRL_ERR_NOMEM || cerr == VIGIL_CRL_ERR_SIGN
             ? VIGIL_SGN_E_INTERNAL
             : VIGIL_SGN_E_INVALID,
         (uint32_t)cerr, per_entry ? (int64_t)bad : -1, "CRL refused: %s",
         vigil_crl_err_string(cerr));
    goto done;
  }
  struct vigil_sgn_writer w;
  if (begin(r, &w, req, VIGIL_SGN_HEADER_LEN + REPLY_SLACK + der_len)) {
    vigil_sgn_put(&w, VIGIL_SGN_T_CRL, der, der_len);
    finish(r, &w, req);
  }
  VLOG_DEBUG(ctx->log, "issuer %s: signed a CRL with %zu entries", iss->id, n);

done:
  vigil_free(entries);
  vigil_free(der);
}

/* ======================================================================
 * MINT_RESPONDER, EXPORT_RESPONDER
 * ====================================================================== */

static void reply_responder(struct sgn_reply *r,
                            const struct vigil_sgn_msg *req,
                            const struct sgn_responder *resp) {
  struct vigil_sgn_writer w;
  if (begin(r, &w, req,
            VIGIL_SGN_HEADER_LEN + REPLY_SLACK + CBS_len(&resp->cert->der))) {
    vigil_sgn_put(&w, VIGIL_SGN_T_RESPONDER_CERT, CBS_data(&resp->cert->der),
                  CBS_len(&resp->cert->der));
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_RESPONDER_NOT_AFTER,
                      resp->cert->not_after);
    vigil_sgn_put(&w, VIGIL_SGN_T_KEY_SHA1, vigil_key_get0_sha1(resp->key), 20);
    finish(r, &w, req);
  }
}

static void op_mint(const struct sgn_ctx *ctx, struct sgn_reply *r,
                    const struct vigil_sgn_msg *req, int64_t now) {
  uint8_t force = 0;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL) {
    return;
  }
  (void)vigil_sgn_get_u8(req, &force, VIGIL_SGN_T_FORCE);
  struct sgn_responder *resp = get_responder(ctx, r, req, iss, now, 0, force);
  if (resp != NULL) {
    reply_responder(r, req, resp);
    sgn_responder_release(resp);
  }
}

/* open_dest opens the export destination |dest| as a directory without
 * following a symlink in its last component, and checks that nobody but
 * the signer's user (or root) can change what is in it: its owner is the
 * signer's uid or root and it is not group- or other-writable. Otherwise
 * whoever can write there could plant a symlink at the key's name (or
 * swap the directory) and have the responder key written where they can
 * read it. Returns the directory fd, or -1 with |msg| set. */
static int open_dest(char *msg, size_t msg_len, const char *dest) {
  struct stat st;
  char eb[128];
  int fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    struct stat lst;
    if (lstat(dest, &lst) == 0 && S_ISLNK(lst.st_mode)) {
      snprintf(msg, msg_len,
               "dest_dir %s is a symlink: give the real directory", dest);
    } else {
      snprintf(msg, msg_len,
               "dest_dir %s must be an existing directory given as an "
               "absolute path: %s",
               dest, vigil_strerror(e, eb, sizeof(eb)));
    }
    return -1;
  }
  if (fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(msg, msg_len, "dest_dir %s is not a directory", dest);
    goto err;
  }
  if (st.st_uid != geteuid() && st.st_uid != 0) {
    snprintf(msg, msg_len,
             "dest_dir %s is owned by uid %lu, not by the signer's uid %lu "
             "or root: refusing to write a key there",
             dest, (unsigned long)st.st_uid, (unsigned long)geteuid());
    goto err;
  }
  if ((st.st_mode & 022) != 0) {
    snprintf(msg, msg_len,
             "dest_dir %s is group- or other-writable (mode %04o): refusing "
             "to write a key there",
             dest, (unsigned)(st.st_mode & 07777));
    goto err;
  }
  return fd;

err:
  close(fd);
  return -1;
}

/* write_at writes |len| bytes of |data| to |name| in the directory |dfd|
 * with |mode|, crash-safely and relative to the fd (never through a path
 * that could be re-pointed): "<name>.tmp" created O_EXCL|O_NOFOLLOW,
 * fsync, renameat over |name| (which replaces a symlink there rather than
 * following it), fsync of the directory. Returns 1, or 0 with errno set
 * and |name| untouched. */
static int write_at(int dfd, const char *name, const uint8_t *data, size_t len,
                    mode_t mode) {
  char tmp[VIGIL_KS_MAX_NAME + 16];
  int fd = -1;
  int ok = 0;
  int saved = 0;
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    errno = ENAMETOOLONG;
    return 0;
  }
  /* A leftover temp file from a crash is ours to replace; unlinkat
   * removes a symlink itself, never its target. */
  (void)unlinkat(dfd, tmp, 0);
  fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              mode);
  if (fd < 0) {
    goto err;
  }
  /* open's mode is filtered by the umask: make it exact. */
  if (fchmod(fd, mode) != 0 || !vigil_file_write_all(fd, data, len) ||
      fsync(fd) != 0) {
    goto err;
  }
  if (close(fd) != 0) {
    fd = -1;
    goto err;
  }
  fd = -1;
  if (renameat(dfd, tmp, dfd, name) != 0 || fsync(dfd) != 0) {
    goto err;
  }
  ok = 1;

err:
  saved = errno;
  if (fd >= 0) {
    close(fd);
  }
  if (!ok) {
    (void)unlinkat(dfd, tmp, 0);
  }
  errno = saved;
  return ok;
}

/* export_files writes {id}.key (PKCS#8 PEM, 0600) and {id}.pem (0644) of
 * |resp| into the directory |dfd|. Returns 1, or 0 with errno set. */
static int export_files(int dfd, const char *id,
                        const struct sgn_responder *resp) {
  char file[VIGIL_KS_MAX_NAME + 8];
  uint8_t *key_pem = NULL;
  size_t key_len = 0;
  uint8_t *cert_pem = NULL;
  size_t cert_len = 0;
  CBB cbb;
  int ok = 0;
  int saved = 0;
  CBB_zero(&cbb);
  if (!sgn_key_pem(&key_pem, &key_len, resp->key) ||
      !CBB_init(&cbb, 2 * CBS_len(&resp->cert->der) + 128) ||
      !vigil_pem_encode(&cbb, "CERTIFICATE", CBS_data(&resp->cert->der),
                        CBS_len(&resp->cert->der)) ||
      !CBB_finish(&cbb, &cert_pem, &cert_len)) {
    errno = ENOMEM;
    goto err;
  }
  int n = snprintf(file, sizeof(file), "%s.key", id);
  if (n < 0 || (size_t)n >= sizeof(file)) {
    errno = ENAMETOOLONG;
    goto err;
  }
  if (!write_at(dfd, file, key_pem, key_len, 0600)) {
    goto err;
  }
  n = snprintf(file, sizeof(file), "%s.pem", id);
  if (n < 0 || (size_t)n >= sizeof(file)) {
    errno = ENAMETOOLONG;
    goto err;
  }
  if (!write_at(dfd, file, cert_pem, cert_len, 0644)) {
    goto err;
  }
  ok = 1;

err:
  saved = errno;
  CBB_cleanup(&cbb);
  sgn_free_secret(key_pem, key_len);
  OPENSSL_free(cert_pem);
  errno = saved;
  return ok;
}

static void op_export(const struct sgn_ctx *ctx, struct sgn_reply *r,
                      const struct vigil_sgn_msg *req, int64_t now) {
  char dest[4097];
  char who[129];
  char msg[4096 + 256];
  char eb[128];
  uint8_t confirm = 0;
  struct sgn_issuer *iss = get_issuer(ctx, r, req, VIGIL_SGN_T_ISSUER_ID);
  if (iss == NULL) {
    return;
  }
  (void)vigil_sgn_get_u8(req, &confirm, VIGIL_SGN_T_CONFIRM);
  (void)vigil_sgn_get_text(req, who, sizeof(who), VIGIL_SGN_T_OPERATOR);
  if (!confirm) {
    VLOG_WARN(ctx->log,
              "issuer %s: responder export by \"%s\" refused: not "
              "confirmed",
              iss->id, who);
    FAIL(r, req, VIGIL_SGN_E_DENIED, 0, -1,
         "exporting a responder key is an operator action: set CONFIRM");
    return;
  }
  if (!vigil_sgn_get_text(req, dest, sizeof(dest), VIGIL_SGN_T_DEST_DIR) ||
      dest[0] != '/') {
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1,
         "dest_dir must be an existing directory given as an absolute path");
    return;
  }
  int dfd = open_dest(msg, sizeof(msg), dest);
  if (dfd < 0) {
    VLOG_WARN(ctx->log, "issuer %s: responder export by \"%s\" refused: %s",
              iss->id, who, msg);
    FAIL(r, req, VIGIL_SGN_E_INVALID, 0, -1, "%s", msg);
    return;
  }
  struct sgn_responder *resp = get_responder(ctx, r, req, iss, now, 0, 0);
  if (resp == NULL) {
    close(dfd);
    return;
  }
  /* The edge's responder-dir layout: {issuer_id}.key (0600) and .pem. */
  if (!export_files(dfd, iss->id, resp)) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "cannot write to %s: %s", dest,
         vigil_strerror(errno, eb, sizeof(eb)));
  } else {
    VLOG_INFO(ctx->log,
              "issuer %s: operator \"%s\" exported the responder "
              "key and certificate (notAfter %lld) to %s",
              iss->id, who, (long long)resp->cert->not_after, dest);
    reply_responder(r, req, resp);
  }
  close(dfd);
  sgn_responder_release(resp);
}

/* ======================================================================
 * SEAL
 * ====================================================================== */

static void op_seal(const struct sgn_ctx *ctx, struct sgn_reply *r,
                    const struct vigil_sgn_msg *req, int64_t now) {
  struct vigil_sgn_field digest;
  struct vigil_sgn_field context;
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t sig_len = 0;
  if (!vigil_sgn_find(req, &digest, VIGIL_SGN_T_DIGEST) ||
      !vigil_sgn_find(req, &context, VIGIL_SGN_T_CONTEXT)) {
    return;
  }
  const struct vigil_key *key = sgn_audit_key(ctx->audit);
  if (!sgn_audit_seal(ctx->audit, sig, &sig_len, sizeof(sig), digest.value,
                      (const char *)context.value, context.len, now)) {
    FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "sealing failed");
    return;
  }
  size_t spki_len = 0;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  struct vigil_sgn_writer w;
  if (begin(r, &w, req,
            VIGIL_SGN_HEADER_LEN + REPLY_SLACK + sig_len + spki_len)) {
    vigil_sgn_put(&w, VIGIL_SGN_T_SIGNATURE, sig, sig_len);
    vigil_sgn_put(&w, VIGIL_SGN_T_AUDIT_SPKI, spki, spki_len);
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_SEALED_AT, now);
    vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE,
                     sgn_key_type_of(vigil_key_get_type(key)));
    finish(r, &w, req);
  }
}

/* ======================================================================
 * Dispatch
 * ====================================================================== */

void sgn_ops_handle(const struct sgn_ctx *ctx, struct sgn_reply *r,
                    const struct vigil_sgn_msg *req, int64_t now) {
  /* Fallback, in case a handler returns without a reply (a required
   * field missing despite the schema: a programmer error). */
  FAIL(r, req, VIGIL_SGN_E_INTERNAL, 0, -1, "no reply produced");
  switch (req->op) {
    case VIGIL_SGN_OP_PING:
      op_ping(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_CREATE_ROOT:
    case VIGIL_SGN_OP_CREATE_INTERMEDIATE:
      op_create(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_ISSUER_INFO:
      op_issuer_info(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_ISSUE_CSR:
      op_issue_csr(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_ISSUE_GENERATED:
      op_issue_generated(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_PRESIGN_BATCH:
      op_presign(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_SIGN_CRL:
      op_sign_crl(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_MINT_RESPONDER:
      op_mint(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_EXPORT_RESPONDER:
      op_export(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_SEAL:
      op_seal(ctx, r, req, now);
      break;
    case VIGIL_SGN_OP_NONE:
    default:
      FAIL(r, req, VIGIL_SGN_E_MALFORMED, VIGIL_SGN_ERR_OP, -1,
           "unknown operation %u", (unsigned)req->op);
      break;
  }
}
