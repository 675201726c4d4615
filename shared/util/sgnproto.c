/* sgnproto.c: the vigil-control <-> vigil-signer wire codec (see
 * vigil/sgnproto.h and docs/signer.md).
 *
 * Decoding is one pass over the fields with a fixed-size per-tag counter
 * on the stack: no allocation, and time linear in the frame. The schema is
 * data (two tables) so the spec in docs/signer.md can be checked against
 * it line by line. */
#include "vigil/sgnproto.h"

#include <string.h>

/* ======================================================================
 * Tags: one type and length bound each
 * ====================================================================== */

enum tag_type {
  TT_NONE = 0, /* undefined tag */
  TT_U8,
  TT_U32,
  TT_I64,
  TT_BYTES,
  TT_TEXT,
  TT_ENTRIES,
};

struct tag_def {
  const char *name;
  enum tag_type type;
  uint32_t min_len; /* bytes / text; integers: their width */
  uint32_t max_len;
  int64_t min_val; /* integers only */
  int64_t max_val;
};

#define INT_TAG(n, t, w, lo, hi) \
  { n, t, w, w, lo, hi }
#define LEN_TAG(n, t, lo, hi) \
  { n, t, lo, hi, 0, 0 }

static const struct tag_def kTags[VIGIL_SGN_TAG_MAX + 1] = {
  [VIGIL_SGN_T_ISSUER_ID] = LEN_TAG("issuer_id", TT_TEXT, 1, 63),
  [VIGIL_SGN_T_PARENT_ID] = LEN_TAG("parent_id", TT_TEXT, 1, 63),
  [VIGIL_SGN_T_SUBJECT_CN] = LEN_TAG("subject_cn", TT_TEXT, 1, 64),
  [VIGIL_SGN_T_SUBJECT_O] = LEN_TAG("subject_o", TT_TEXT, 1, 64),
  [VIGIL_SGN_T_SUBJECT_C] = LEN_TAG("subject_c", TT_TEXT, 2, 2),
  [VIGIL_SGN_T_KEY_TYPE] = INT_TAG("key_type", TT_U8, 1, 1, 4),
  [VIGIL_SGN_T_RSA_BITS] = INT_TAG("rsa_bits", TT_U32, 4, 2048, 8192),
  [VIGIL_SGN_T_VALIDITY] = INT_TAG("validity", TT_I64, 8, 1, INT64_MAX),
  [VIGIL_SGN_T_PATH_LEN] = INT_TAG("path_len", TT_U32, 4, 0, 16),
  [VIGIL_SGN_T_OCSP_URL] = LEN_TAG("ocsp_url", TT_TEXT, 1, 1024),
  [VIGIL_SGN_T_CRL_URL] = LEN_TAG("crl_url", TT_TEXT, 1, 1024),
  [VIGIL_SGN_T_CA_ISSUERS_URL] = LEN_TAG("ca_issuers_url", TT_TEXT, 1, 1024),
  [VIGIL_SGN_T_CSR] = LEN_TAG("csr", TT_BYTES, 1, 131072),
  [VIGIL_SGN_T_PROFILE] = INT_TAG("profile", TT_U8, 1, 1, 1),
  [VIGIL_SGN_T_SAN_DNS] = LEN_TAG("san_dns", TT_TEXT, 1, 253),
  [VIGIL_SGN_T_SAN_IP] = LEN_TAG("san_ip", TT_BYTES, 4, 16),
  [VIGIL_SGN_T_CERT] = LEN_TAG("cert", TT_BYTES, 1, 65536),
  [VIGIL_SGN_T_RESPONDER_CERT] = LEN_TAG("responder_cert", TT_BYTES, 1, 65536),
  [VIGIL_SGN_T_SERIAL] = LEN_TAG("serial", TT_BYTES, 1, 21),
  [VIGIL_SGN_T_NOT_BEFORE] =
      INT_TAG("not_before", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_NOT_AFTER] =
      INT_TAG("not_after", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_PRIVATE_KEY] = LEN_TAG("private_key", TT_BYTES, 1, 16384),
  [VIGIL_SGN_T_THIS_UPDATE] =
      INT_TAG("this_update", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_NEXT_UPDATE] =
      INT_TAG("next_update", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_PRODUCED_AT] =
      INT_TAG("produced_at", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_ENTRIES] = LEN_TAG(
      "entries", TT_ENTRIES, VIGIL_SGN_ENTRY_FIXED + 1, VIGIL_SGN_MAX_FRAME),
  [VIGIL_SGN_T_OCSP_RESPONSE] = LEN_TAG("ocsp_response", TT_BYTES, 1, 65536),
  [VIGIL_SGN_T_CRL_NUMBER] = LEN_TAG("crl_number", TT_BYTES, 1, 20),
  [VIGIL_SGN_T_IDP_URI] = LEN_TAG("idp_uri", TT_TEXT, 1, 1024),
  [VIGIL_SGN_T_CRL_SCOPE] = INT_TAG("crl_scope", TT_U8, 1, 0, 2),
  [VIGIL_SGN_T_CRL] = LEN_TAG("crl", TT_BYTES, 1, VIGIL_SGN_MAX_FRAME),
  [VIGIL_SGN_T_FORCE] = INT_TAG("force", TT_U8, 1, 0, 1),
  [VIGIL_SGN_T_DEST_DIR] = LEN_TAG("dest_dir", TT_TEXT, 1, 4096),
  [VIGIL_SGN_T_CONFIRM] = INT_TAG("confirm", TT_U8, 1, 0, 1),
  [VIGIL_SGN_T_OPERATOR] = LEN_TAG("operator", TT_TEXT, 1, 128),
  [VIGIL_SGN_T_DIGEST] = LEN_TAG("digest", TT_BYTES, 32, 32),
  [VIGIL_SGN_T_CONTEXT] = LEN_TAG("context", TT_TEXT, 1, 256),
  [VIGIL_SGN_T_SIGNATURE] = LEN_TAG("signature", TT_BYTES, 1, 1024),
  [VIGIL_SGN_T_AUDIT_SPKI] = LEN_TAG("audit_spki", TT_BYTES, 1, 16384),
  [VIGIL_SGN_T_SEALED_AT] =
      INT_TAG("sealed_at", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_NAME_SHA1] = LEN_TAG("name_sha1", TT_BYTES, 20, 20),
  [VIGIL_SGN_T_NAME_SHA256] = LEN_TAG("name_sha256", TT_BYTES, 32, 32),
  [VIGIL_SGN_T_KEY_SHA1] = LEN_TAG("key_sha1", TT_BYTES, 20, 20),
  [VIGIL_SGN_T_KEY_SHA256] = LEN_TAG("key_sha256", TT_BYTES, 32, 32),
  [VIGIL_SGN_T_TIME] = INT_TAG("time", TT_I64, 8, INT64_MIN, INT64_MAX),
  [VIGIL_SGN_T_NUM_ISSUERS] = INT_TAG("num_issuers", TT_U32, 4, 0, UINT32_MAX),
  [VIGIL_SGN_T_ERROR_MESSAGE] = LEN_TAG("error_message", TT_TEXT, 1, 1024),
  [VIGIL_SGN_T_ERROR_DETAIL] =
      INT_TAG("error_detail", TT_U32, 4, 0, UINT32_MAX),
  [VIGIL_SGN_T_ERROR_INDEX] = INT_TAG("error_index", TT_U32, 4, 0, UINT32_MAX),
  [VIGIL_SGN_T_RESPONDER_NOT_AFTER] =
      INT_TAG("responder_not_after", TT_I64, 8, INT64_MIN, INT64_MAX),
};

/* ======================================================================
 * Schema: which tags each (op, kind) takes
 * ====================================================================== */

#define F_REQ 1u /* required */
#define F_REP 2u /* may repeat (up to |max|) */

struct field_rule {
  uint16_t tag;
  uint8_t flags;
  uint32_t max; /* most occurrences of a repeatable tag */
};

struct schema {
  const struct field_rule *rules;
  size_t num;
};

#define RULES(a) \
  { a, sizeof(a) / sizeof(a[0]) }
#define REQ(t) \
  { VIGIL_SGN_T_##t, F_REQ, 1 }
#define OPT(t) \
  { VIGIL_SGN_T_##t, 0, 1 }
#define REP(t, n) \
  { VIGIL_SGN_T_##t, F_REP, n }
#define REQREP(t, n) \
  { VIGIL_SGN_T_##t, F_REQ | F_REP, n }
#define SANS_MAX 256

/* The reply every CA-shaped operation gives (CREATE_*, ISSUER_INFO). */
static const struct field_rule kIssuerReply[] = {
  REQ(CERT),       REQ(NAME_SHA1),  REQ(NAME_SHA256),
  REQ(KEY_SHA1),   REQ(KEY_SHA256), OPT(RESPONDER_CERT),
  OPT(NOT_BEFORE), OPT(NOT_AFTER),  OPT(RESPONDER_NOT_AFTER),
};

static const struct field_rule kPingRep[] = { REQ(TIME), OPT(NUM_ISSUERS) };

static const struct field_rule kCreateRootReq[] = {
  REQ(ISSUER_ID), REQ(SUBJECT_CN), OPT(SUBJECT_O), OPT(SUBJECT_C),
  OPT(KEY_TYPE),  OPT(RSA_BITS),   REQ(VALIDITY),
};

static const struct field_rule kCreateIntReq[] = {
  REQ(ISSUER_ID), REQ(PARENT_ID), REQ(SUBJECT_CN), OPT(SUBJECT_O),
  OPT(SUBJECT_C), OPT(KEY_TYPE),  OPT(RSA_BITS),   REQ(VALIDITY),
  OPT(PATH_LEN),  OPT(OCSP_URL),  OPT(CRL_URL),    OPT(CA_ISSUERS_URL),
};

static const struct field_rule kIssuerInfoReq[] = { REQ(ISSUER_ID) };

static const struct field_rule kIssueCsrReq[] = {
  REQ(ISSUER_ID),        REQ(CSR),       REQ(VALIDITY),  OPT(PROFILE),
  OPT(SUBJECT_CN),       OPT(SUBJECT_O), OPT(SUBJECT_C), REP(SAN_DNS, SANS_MAX),
  REP(SAN_IP, SANS_MAX), OPT(OCSP_URL),  OPT(CRL_URL),   OPT(CA_ISSUERS_URL),
};

static const struct field_rule kIssueReply[] = {
  REQ(CERT),
  REQ(SERIAL),
  REQ(NOT_BEFORE),
  REQ(NOT_AFTER),
};

static const struct field_rule kIssueGenReq[] = {
  REQ(ISSUER_ID),         OPT(SUBJECT_CN),       OPT(SUBJECT_O), OPT(SUBJECT_C),
  REP(SAN_DNS, SANS_MAX), REP(SAN_IP, SANS_MAX), OPT(KEY_TYPE),  OPT(RSA_BITS),
  REQ(VALIDITY),          OPT(PROFILE),          OPT(OCSP_URL),  OPT(CRL_URL),
  OPT(CA_ISSUERS_URL),
};

static const struct field_rule kIssueGenReply[] = {
  REQ(CERT), REQ(SERIAL), REQ(NOT_BEFORE), REQ(NOT_AFTER), REQ(PRIVATE_KEY),
};

static const struct field_rule kPresignReq[] = {
  REQ(ISSUER_ID),
  REQ(VALIDITY),
  OPT(THIS_UPDATE),
  REQREP(ENTRIES, VIGIL_SGN_MAX_FIELDS),
};

static const struct field_rule kPresignReply[] = {
  REQ(PRODUCED_AT),
  REQ(THIS_UPDATE),
  REQ(NEXT_UPDATE),
  REQ(RESPONDER_NOT_AFTER),
  REQREP(OCSP_RESPONSE, VIGIL_SGN_MAX_BATCH),
};

static const struct field_rule kCrlReq[] = {
  REQ(ISSUER_ID),
  REQ(CRL_NUMBER),
  REQ(THIS_UPDATE),
  REQ(NEXT_UPDATE),
  OPT(IDP_URI),
  OPT(CRL_SCOPE),
  REP(ENTRIES, VIGIL_SGN_MAX_FIELDS),
};

static const struct field_rule kCrlReply[] = { REQ(CRL) };

static const struct field_rule kMintReq[] = { REQ(ISSUER_ID), OPT(FORCE) };

static const struct field_rule kResponderReply[] = {
  REQ(RESPONDER_CERT),
  REQ(RESPONDER_NOT_AFTER),
  REQ(KEY_SHA1),
};

static const struct field_rule kExportReq[] = {
  REQ(ISSUER_ID),
  REQ(DEST_DIR),
  REQ(CONFIRM),
  REQ(OPERATOR),
};

static const struct field_rule kSealReq[] = { REQ(DIGEST), REQ(CONTEXT) };

static const struct field_rule kSealReply[] = {
  REQ(SIGNATURE),
  REQ(AUDIT_SPKI),
  REQ(SEALED_AT),
  REQ(KEY_TYPE),
};

static const struct field_rule kErrorReply[] = {
  OPT(ERROR_MESSAGE),
  OPT(ERROR_DETAIL),
  OPT(ERROR_INDEX),
};

static const struct schema kRequests[VIGIL_SGN_OP_MAX + 1] = {
  [VIGIL_SGN_OP_PING] = { NULL, 0 }, /* no fields */
  [VIGIL_SGN_OP_CREATE_ROOT] = RULES(kCreateRootReq),
  [VIGIL_SGN_OP_CREATE_INTERMEDIATE] = RULES(kCreateIntReq),
  [VIGIL_SGN_OP_ISSUER_INFO] = RULES(kIssuerInfoReq),
  [VIGIL_SGN_OP_ISSUE_CSR] = RULES(kIssueCsrReq),
  [VIGIL_SGN_OP_ISSUE_GENERATED] = RULES(kIssueGenReq),
  [VIGIL_SGN_OP_PRESIGN_BATCH] = RULES(kPresignReq),
  [VIGIL_SGN_OP_SIGN_CRL] = RULES(kCrlReq),
  [VIGIL_SGN_OP_MINT_RESPONDER] = RULES(kMintReq),
  [VIGIL_SGN_OP_EXPORT_RESPONDER] = RULES(kExportReq),
  [VIGIL_SGN_OP_SEAL] = RULES(kSealReq),
};

static const struct schema kReplies[VIGIL_SGN_OP_MAX + 1] = {
  [VIGIL_SGN_OP_PING] = RULES(kPingRep),
  [VIGIL_SGN_OP_CREATE_ROOT] = RULES(kIssuerReply),
  [VIGIL_SGN_OP_CREATE_INTERMEDIATE] = RULES(kIssuerReply),
  [VIGIL_SGN_OP_ISSUER_INFO] = RULES(kIssuerReply),
  [VIGIL_SGN_OP_ISSUE_CSR] = RULES(kIssueReply),
  [VIGIL_SGN_OP_ISSUE_GENERATED] = RULES(kIssueGenReply),
  [VIGIL_SGN_OP_PRESIGN_BATCH] = RULES(kPresignReply),
  [VIGIL_SGN_OP_SIGN_CRL] = RULES(kCrlReply),
  [VIGIL_SGN_OP_MINT_RESPONDER] = RULES(kResponderReply),
  [VIGIL_SGN_OP_EXPORT_RESPONDER] = RULES(kResponderReply),
  [VIGIL_SGN_OP_SEAL] = RULES(kSealReply),
};

static const struct schema kErrorSchema = RULES(kErrorReply);

/* ======================================================================
 * Byte helpers
 * ====================================================================== */

static uint16_t rd16(const uint8_t *p) {
  return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static int64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) {
    v = v << 8 | p[i];
  }
  return (int64_t)v; /* two's complement (gnu11: implementation-defined,
                        GCC and clang define it as modular) */
}

static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void wr64(uint8_t *p, int64_t sv) {
  uint64_t v = (uint64_t)sv;
  for (int i = 7; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static size_t cap_frame(size_t max_frame) {
  return max_frame > VIGIL_SGN_MAX_FRAME ? VIGIL_SGN_MAX_FRAME : max_frame;
}

/* ======================================================================
 * Entry records
 * ====================================================================== */

static int reason_ok(uint8_t r) {
  return r == VIGIL_SGN_REASON_NONE || (r <= 10 && r != 7);
}

/* parse_entry reads one record at |p| (|left| bytes); returns its length
 * and fills |*out|, or returns 0 if malformed. */
static size_t parse_entry(struct vigil_sgn_entry *out, const uint8_t *p,
                          size_t left) {
  if (left < VIGIL_SGN_ENTRY_FIXED + 1) {
    return 0;
  }
  size_t slen = p[0];
  if (slen < 1 || slen > VIGIL_SGN_MAX_SERIAL ||
      left < VIGIL_SGN_ENTRY_FIXED + slen) {
    return 0;
  }
  const uint8_t *q = p + 1 + slen;
  uint8_t status = q[0];
  int64_t at = rd64(q + 1);
  uint8_t reason = q[9];
  if (status > 1 || !reason_ok(reason)) {
    return 0;
  }
  if (status == 0 && (at != 0 || reason != VIGIL_SGN_REASON_NONE)) {
    return 0;
  }
  out->serial = p + 1;
  out->serial_len = slen;
  out->status = status;
  out->revoked_at = at;
  out->reason = reason == VIGIL_SGN_REASON_NONE ? -1 : (int)reason;
  return VIGIL_SGN_ENTRY_FIXED + slen;
}

static int entries_valid(const uint8_t *p, size_t len) {
  struct vigil_sgn_entry e;
  while (len > 0) {
    size_t n = parse_entry(&e, p, len);
    if (n == 0) {
      return 0;
    }
    p += n;
    len -= n;
  }
  return 1;
}

size_t vigil_sgn_entry_encode(uint8_t *out, size_t out_cap,
                              const struct vigil_sgn_entry *e) {
  if (e == NULL || e->serial_len < 1 || e->serial_len > VIGIL_SGN_MAX_SERIAL ||
      e->serial == NULL || e->status > 1 || e->reason < -1 || e->reason > 10) {
    return 0;
  }
  size_t n = VIGIL_SGN_ENTRY_FIXED + e->serial_len;
  if (out == NULL || out_cap < n) {
    return 0;
  }
  out[0] = (uint8_t)e->serial_len;
  memcpy(out + 1, e->serial, e->serial_len);
  uint8_t *q = out + 1 + e->serial_len;
  q[0] = e->status;
  wr64(q + 1, e->revoked_at);
  q[9] = e->reason < 0 ? VIGIL_SGN_REASON_NONE : (uint8_t)e->reason;
  return n;
}

/* ======================================================================
 * Decoding
 * ====================================================================== */

enum vigil_sgn_err vigil_sgn_frame_len(size_t *out_len, const uint8_t *buf,
                                       size_t buf_len, size_t max_frame) {
  if (buf == NULL || buf_len < 4) {
    return VIGIL_SGN_ERR_TRUNCATED;
  }
  uint64_t total = (uint64_t)rd32(buf) + 4;
  if (total < VIGIL_SGN_HEADER_LEN) {
    return VIGIL_SGN_ERR_SHORT;
  }
  if (total > cap_frame(max_frame)) {
    return VIGIL_SGN_ERR_TOO_LARGE;
  }
  *out_len = (size_t)total;
  return VIGIL_SGN_ERR_OK;
}

static const struct schema *schema_for(const struct vigil_sgn_msg *m) {
  if (m->kind == VIGIL_SGN_REPLY && m->status != VIGIL_SGN_OK) {
    return &kErrorSchema;
  }
  return m->kind == VIGIL_SGN_REQUEST ? &kRequests[m->op] : &kReplies[m->op];
}

static const struct field_rule *find_rule(const struct schema *s,
                                          uint16_t tag) {
  for (size_t i = 0; i < s->num; i++) {
    if (s->rules[i].tag == tag) {
      return &s->rules[i];
    }
  }
  return NULL;
}

/* check_value applies the tag's type rules to one value. */
static enum vigil_sgn_err check_value(const struct tag_def *d, const uint8_t *v,
                                      size_t len) {
  if (len < d->min_len || len > d->max_len) {
    return VIGIL_SGN_ERR_FIELD_LENGTH;
  }
  int64_t iv = 0;
  switch (d->type) {
    case TT_U8:
      iv = v[0];
      break;
    case TT_U32:
      iv = (int64_t)rd32(v);
      break;
    case TT_I64:
      iv = rd64(v);
      break;
    case TT_BYTES:
      /* SAN_IP is the one tag with two allowed lengths. */
      if (d == &kTags[VIGIL_SGN_T_SAN_IP] && len != 4 && len != 16) {
        return VIGIL_SGN_ERR_FIELD_LENGTH;
      }
      return VIGIL_SGN_ERR_OK;
    case TT_TEXT:
      for (size_t i = 0; i < len; i++) {
        if (v[i] < 0x20 || v[i] == 0x7f) {
          return VIGIL_SGN_ERR_TEXT;
        }
      }
      return VIGIL_SGN_ERR_OK;
    case TT_ENTRIES:
      return entries_valid(v, len) ? VIGIL_SGN_ERR_OK : VIGIL_SGN_ERR_ENTRY;
    case TT_NONE:
    default:
      return VIGIL_SGN_ERR_UNKNOWN_TAG;
  }
  if (iv < d->min_val || iv > d->max_val) {
    return VIGIL_SGN_ERR_FIELD_VALUE;
  }
  return VIGIL_SGN_ERR_OK;
}

enum vigil_sgn_err vigil_sgn_decode(struct vigil_sgn_msg *out,
                                    const uint8_t *frame, size_t frame_len,
                                    size_t max_frame) {
  struct vigil_sgn_msg m;
  memset(&m, 0, sizeof(m));
  memset(out, 0, sizeof(*out));
  size_t total = 0;
  enum vigil_sgn_err e =
      vigil_sgn_frame_len(&total, frame, frame_len, max_frame);
  if (e != VIGIL_SGN_ERR_OK) {
    return e;
  }
  if (frame_len < total) {
    return VIGIL_SGN_ERR_TRUNCATED;
  }
  if (frame_len > total) {
    return VIGIL_SGN_ERR_TRAILING;
  }
  if (rd16(frame + 4) != VIGIL_SGN_MAGIC) {
    return VIGIL_SGN_ERR_MAGIC;
  }
  m.version = frame[6];
  if (m.version != VIGIL_SGN_VERSION) {
    return VIGIL_SGN_ERR_VERSION;
  }
  uint8_t kind = frame[7];
  uint16_t op = rd16(frame + 8);
  uint16_t status = rd16(frame + 10);
  m.id = rd32(frame + 12);
  m.num_fields = rd16(frame + 16);
  if (kind != VIGIL_SGN_REQUEST && kind != VIGIL_SGN_REPLY) {
    return VIGIL_SGN_ERR_KIND;
  }
  m.kind = (enum vigil_sgn_kind)kind;
  if (op > VIGIL_SGN_OP_MAX) {
    return VIGIL_SGN_ERR_OP;
  }
  m.op = (enum vigil_sgn_op)op;
  if (status > VIGIL_SGN_STATUS_MAX ||
      (kind == VIGIL_SGN_REQUEST && status != VIGIL_SGN_OK)) {
    return VIGIL_SGN_ERR_STATUS;
  }
  m.status = (enum vigil_sgn_status)status;
  /* NONE names no operation: only an error reply may carry it. */
  if (op == VIGIL_SGN_OP_NONE &&
      !(kind == VIGIL_SGN_REPLY && status != VIGIL_SGN_OK)) {
    return VIGIL_SGN_ERR_OP;
  }
  if (rd16(frame + 18) != 0) {
    return VIGIL_SGN_ERR_RESERVED;
  }
  /* From here on the header is known: keep op, kind and id for the
   * caller's error reply. */
  out->version = m.version;
  out->kind = m.kind;
  out->op = m.op;
  out->id = m.id;
  if (m.num_fields > VIGIL_SGN_MAX_FIELDS) {
    return VIGIL_SGN_ERR_TOO_MANY_FIELDS;
  }
  m.fields = frame + VIGIL_SGN_HEADER_LEN;
  m.fields_len = total - VIGIL_SGN_HEADER_LEN;

  /* Pass 1: structure. Every field lies inside the frame and the count
   * matches exactly. */
  const uint8_t *p = m.fields;
  size_t left = m.fields_len;
  for (uint32_t i = 0; i < m.num_fields; i++) {
    if (left < VIGIL_SGN_FIELD_OVERHEAD) {
      return left == 0 ? VIGIL_SGN_ERR_FIELD_COUNT
                       : VIGIL_SGN_ERR_FIELD_TRUNCATED;
    }
    uint32_t len = rd32(p + 2);
    if (len > left - VIGIL_SGN_FIELD_OVERHEAD) {
      return VIGIL_SGN_ERR_FIELD_TRUNCATED;
    }
    p += VIGIL_SGN_FIELD_OVERHEAD + len;
    left -= VIGIL_SGN_FIELD_OVERHEAD + len;
  }
  if (left != 0) {
    return VIGIL_SGN_ERR_FIELD_COUNT;
  }

  /* Pass 2: schema. */
  const struct schema *s = schema_for(&m);
  uint32_t counts[VIGIL_SGN_TAG_MAX + 1];
  memset(counts, 0, sizeof(counts));
  p = m.fields;
  for (uint32_t i = 0; i < m.num_fields; i++) {
    uint16_t tag = rd16(p);
    uint32_t len = rd32(p + 2);
    const uint8_t *v = p + VIGIL_SGN_FIELD_OVERHEAD;
    p += VIGIL_SGN_FIELD_OVERHEAD + len;
    const struct field_rule *r =
        tag <= VIGIL_SGN_TAG_MAX ? find_rule(s, tag) : NULL;
    if (r == NULL) {
      return VIGIL_SGN_ERR_UNKNOWN_TAG;
    }
    counts[tag]++;
    if (counts[tag] > 1 && !(r->flags & F_REP)) {
      return VIGIL_SGN_ERR_DUPLICATE;
    }
    if (counts[tag] > r->max) {
      return VIGIL_SGN_ERR_TOO_MANY_REPEATS;
    }
    e = check_value(&kTags[tag], v, len);
    if (e != VIGIL_SGN_ERR_OK) {
      return e;
    }
  }
  for (size_t i = 0; i < s->num; i++) {
    if ((s->rules[i].flags & F_REQ) && counts[s->rules[i].tag] == 0) {
      return VIGIL_SGN_ERR_MISSING;
    }
  }
  *out = m;
  return VIGIL_SGN_ERR_OK;
}

/* ======================================================================
 * Field access
 * ====================================================================== */

void vigil_sgn_iter_init(struct vigil_sgn_iter *it,
                         const struct vigil_sgn_msg *msg) {
  it->p = msg->fields;
  it->left = msg->fields_len;
}

int vigil_sgn_iter_next(struct vigil_sgn_iter *it,
                        struct vigil_sgn_field *out) {
  if (it->left < VIGIL_SGN_FIELD_OVERHEAD) {
    return 0;
  }
  uint32_t len = rd32(it->p + 2);
  if (len > it->left - VIGIL_SGN_FIELD_OVERHEAD) {
    it->left = 0; /* not from vigil_sgn_decode: stop safely */
    return 0;
  }
  out->tag = rd16(it->p);
  out->value = it->p + VIGIL_SGN_FIELD_OVERHEAD;
  out->len = len;
  it->p += VIGIL_SGN_FIELD_OVERHEAD + len;
  it->left -= VIGIL_SGN_FIELD_OVERHEAD + len;
  return 1;
}

int vigil_sgn_find(const struct vigil_sgn_msg *msg, struct vigil_sgn_field *out,
                   uint16_t tag) {
  struct vigil_sgn_iter it;
  struct vigil_sgn_field f;
  vigil_sgn_iter_init(&it, msg);
  while (vigil_sgn_iter_next(&it, &f)) {
    if (f.tag == tag) {
      *out = f;
      return 1;
    }
  }
  return 0;
}

size_t vigil_sgn_count(const struct vigil_sgn_msg *msg, uint16_t tag) {
  struct vigil_sgn_iter it;
  struct vigil_sgn_field f;
  size_t n = 0;
  vigil_sgn_iter_init(&it, msg);
  while (vigil_sgn_iter_next(&it, &f)) {
    n += f.tag == tag;
  }
  return n;
}

int vigil_sgn_get_u8(const struct vigil_sgn_msg *msg, uint8_t *out,
                     uint16_t tag) {
  struct vigil_sgn_field f;
  if (!vigil_sgn_find(msg, &f, tag) || f.len != 1) {
    return 0;
  }
  *out = f.value[0];
  return 1;
}

int vigil_sgn_get_u32(const struct vigil_sgn_msg *msg, uint32_t *out,
                      uint16_t tag) {
  struct vigil_sgn_field f;
  if (!vigil_sgn_find(msg, &f, tag) || f.len != 4) {
    return 0;
  }
  *out = rd32(f.value);
  return 1;
}

int vigil_sgn_get_i64(const struct vigil_sgn_msg *msg, int64_t *out,
                      uint16_t tag) {
  struct vigil_sgn_field f;
  if (!vigil_sgn_find(msg, &f, tag) || f.len != 8) {
    return 0;
  }
  *out = rd64(f.value);
  return 1;
}

int vigil_sgn_get_text(const struct vigil_sgn_msg *msg, char *out,
                       size_t out_len, uint16_t tag) {
  struct vigil_sgn_field f;
  if (out_len > 0) {
    out[0] = '\0';
  }
  if (!vigil_sgn_find(msg, &f, tag) || f.len >= out_len) {
    return 0;
  }
  memcpy(out, f.value, f.len);
  out[f.len] = '\0';
  return 1;
}

void vigil_sgn_entries_init(struct vigil_sgn_entry_iter *it,
                            const struct vigil_sgn_msg *msg) {
  vigil_sgn_iter_init(&it->fields, msg);
  it->p = NULL;
  it->left = 0;
}

int vigil_sgn_entries_next(struct vigil_sgn_entry_iter *it,
                           struct vigil_sgn_entry *out) {
  while (it->left == 0) {
    struct vigil_sgn_field f;
    if (!vigil_sgn_iter_next(&it->fields, &f)) {
      return 0;
    }
    if (f.tag == VIGIL_SGN_T_ENTRIES) {
      it->p = f.value;
      it->left = f.len;
    }
  }
  size_t n = parse_entry(out, it->p, it->left);
  if (n == 0) {
    it->left = 0; /* not from vigil_sgn_decode: skip the rest safely */
    return vigil_sgn_entries_next(it, out);
  }
  it->p += n;
  it->left -= n;
  return 1;
}

size_t vigil_sgn_entries_count(const struct vigil_sgn_msg *msg) {
  struct vigil_sgn_entry_iter it;
  struct vigil_sgn_entry e;
  size_t n = 0;
  vigil_sgn_entries_init(&it, msg);
  while (vigil_sgn_entries_next(&it, &e)) {
    n++;
  }
  return n;
}

/* ======================================================================
 * Encoding
 * ====================================================================== */

void vigil_sgn_writer_init(struct vigil_sgn_writer *w, uint8_t *buf, size_t cap,
                           enum vigil_sgn_kind kind, enum vigil_sgn_op op,
                           enum vigil_sgn_status status, uint32_t id) {
  memset(w, 0, sizeof(*w));
  w->buf = buf;
  w->cap = cap;
  w->open = SIZE_MAX;
  if (buf == NULL || cap < VIGIL_SGN_HEADER_LEN) {
    w->failed = 1;
    return;
  }
  memset(buf, 0, VIGIL_SGN_HEADER_LEN);
  wr16(buf + 4, VIGIL_SGN_MAGIC);
  buf[6] = VIGIL_SGN_VERSION;
  buf[7] = (uint8_t)kind;
  wr16(buf + 8, (uint16_t)op);
  wr16(buf + 10, (uint16_t)status);
  wr32(buf + 12, id);
  w->len = VIGIL_SGN_HEADER_LEN;
}

/* room checks that a field with |len| value bytes fits. */
static int room(struct vigil_sgn_writer *w, size_t len) {
  if (w->failed || w->open != SIZE_MAX || len > UINT32_MAX ||
      w->num_fields >= VIGIL_SGN_MAX_FIELDS ||
      w->cap - w->len < VIGIL_SGN_FIELD_OVERHEAD ||
      w->cap - w->len - VIGIL_SGN_FIELD_OVERHEAD < len) {
    w->failed = 1;
    return 0;
  }
  return 1;
}

int vigil_sgn_put(struct vigil_sgn_writer *w, uint16_t tag, const void *value,
                  size_t len) {
  if ((value == NULL && len > 0) || !room(w, len)) {
    w->failed = 1;
    return 0;
  }
  uint8_t *p = w->buf + w->len;
  wr16(p, tag);
  wr32(p + 2, (uint32_t)len);
  if (len > 0) {
    memcpy(p + VIGIL_SGN_FIELD_OVERHEAD, value, len);
  }
  w->len += VIGIL_SGN_FIELD_OVERHEAD + len;
  w->num_fields++;
  return 1;
}

int vigil_sgn_put_u8(struct vigil_sgn_writer *w, uint16_t tag, uint8_t v) {
  return vigil_sgn_put(w, tag, &v, 1);
}

int vigil_sgn_put_u32(struct vigil_sgn_writer *w, uint16_t tag, uint32_t v) {
  uint8_t b[4];
  wr32(b, v);
  return vigil_sgn_put(w, tag, b, sizeof(b));
}

int vigil_sgn_put_i64(struct vigil_sgn_writer *w, uint16_t tag, int64_t v) {
  uint8_t b[8];
  wr64(b, v);
  return vigil_sgn_put(w, tag, b, sizeof(b));
}

int vigil_sgn_put_text(struct vigil_sgn_writer *w, uint16_t tag,
                       const char *s) {
  if (s == NULL) {
    w->failed = 1;
    return 0;
  }
  return vigil_sgn_put(w, tag, s, strlen(s));
}

uint8_t *vigil_sgn_put_reserve(struct vigil_sgn_writer *w, uint16_t tag,
                               size_t max_len) {
  if (!room(w, max_len)) {
    return NULL;
  }
  uint8_t *p = w->buf + w->len;
  wr16(p, tag);
  w->open = w->len;
  w->open_max = max_len;
  return p + VIGIL_SGN_FIELD_OVERHEAD;
}

int vigil_sgn_put_commit(struct vigil_sgn_writer *w, size_t len) {
  if (w->failed || w->open == SIZE_MAX || len > w->open_max) {
    w->failed = 1;
    return 0;
  }
  wr32(w->buf + w->open + 2, (uint32_t)len);
  w->len = w->open + VIGIL_SGN_FIELD_OVERHEAD + len;
  w->open = SIZE_MAX;
  w->num_fields++;
  return 1;
}

int vigil_sgn_writer_finish(struct vigil_sgn_writer *w, size_t *out_len) {
  *out_len = 0;
  if (w->failed || w->open != SIZE_MAX || w->len > VIGIL_SGN_MAX_FRAME ||
      w->num_fields > VIGIL_SGN_MAX_FIELDS) {
    w->failed = 1;
    return 0;
  }
  wr32(w->buf, (uint32_t)(w->len - 4));
  wr16(w->buf + 16, (uint16_t)w->num_fields);
  *out_len = w->len;
  return 1;
}

/* ======================================================================
 * Helpers and names
 * ====================================================================== */

void vigil_sgn_frame_set_id(uint8_t *frame, uint32_t id) {
  wr32(frame + 12, id);
}

uint32_t vigil_sgn_frame_get_id(const uint8_t *frame) {
  return rd32(frame + 12);
}

const char *vigil_sgn_err_string(enum vigil_sgn_err err) {
  switch (err) {
    case VIGIL_SGN_ERR_OK:
      return "ok";
    case VIGIL_SGN_ERR_TRUNCATED:
      return "frame truncated";
    case VIGIL_SGN_ERR_TRAILING:
      return "bytes after the frame";
    case VIGIL_SGN_ERR_TOO_LARGE:
      return "frame too large";
    case VIGIL_SGN_ERR_SHORT:
      return "frame shorter than its header";
    case VIGIL_SGN_ERR_MAGIC:
      return "bad magic";
    case VIGIL_SGN_ERR_VERSION:
      return "unsupported protocol version";
    case VIGIL_SGN_ERR_KIND:
      return "bad frame kind";
    case VIGIL_SGN_ERR_OP:
      return "unknown operation";
    case VIGIL_SGN_ERR_STATUS:
      return "bad status";
    case VIGIL_SGN_ERR_RESERVED:
      return "reserved header bits set";
    case VIGIL_SGN_ERR_TOO_MANY_FIELDS:
      return "too many fields";
    case VIGIL_SGN_ERR_FIELD_TRUNCATED:
      return "field runs past the frame";
    case VIGIL_SGN_ERR_FIELD_COUNT:
      return "field count does not match";
    case VIGIL_SGN_ERR_UNKNOWN_TAG:
      return "field not allowed here";
    case VIGIL_SGN_ERR_DUPLICATE:
      return "duplicate field";
    case VIGIL_SGN_ERR_FIELD_LENGTH:
      return "field length out of bounds";
    case VIGIL_SGN_ERR_FIELD_VALUE:
      return "field value out of range";
    case VIGIL_SGN_ERR_TEXT:
      return "control character in text field";
    case VIGIL_SGN_ERR_ENTRY:
      return "malformed entry record";
    case VIGIL_SGN_ERR_MISSING:
      return "required field missing";
    case VIGIL_SGN_ERR_TOO_MANY_REPEATS:
      return "field repeated too often";
  }
  return "?";
}

const char *vigil_sgn_status_string(enum vigil_sgn_status status) {
  static const char *const kNames[VIGIL_SGN_STATUS_MAX + 1] = {
    "ok",     "malformed", "version", "too_large", "denied",   "not_found",
    "exists", "invalid",   "csr",     "batch",     "internal", "busy",
  };
  if ((unsigned)status > VIGIL_SGN_STATUS_MAX) {
    return "?";
  }
  return kNames[status];
}

const char *vigil_sgn_op_name(enum vigil_sgn_op op) {
  static const char *const kNames[VIGIL_SGN_OP_MAX + 1] = {
    "none",        "ping",           "create_root",      "create_intermediate",
    "issuer_info", "issue_csr",      "issue_generated",  "presign_batch",
    "sign_crl",    "mint_responder", "export_responder", "seal",
  };
  if ((unsigned)op > VIGIL_SGN_OP_MAX) {
    return "?";
  }
  return kNames[op];
}

const char *vigil_sgn_tag_name(uint16_t tag) {
  if (tag > VIGIL_SGN_TAG_MAX || kTags[tag].name == NULL) {
    return "?";
  }
  return kTags[tag].name;
}
