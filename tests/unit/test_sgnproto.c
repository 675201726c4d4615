/* test_sgnproto.c: the vigil-control <-> vigil-signer wire codec
 * (vigil/sgnproto.h, docs/signer.md).
 *
 * Covers: the frame layout byte for byte against the example in
 * docs/signer.md (written by hand from the spec, not by the encoder),
 * round trips of every operation's request and reply, each decode error
 * outcome, truncation at every offset, oversize frames, the writer's
 * bounds and sticky failure, entry records, getters, and that decoding
 * allocates nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <vigil/alloc.h>
#include <vigil/sgnproto.h>

#define MAXF VIGIL_SGN_MAX_FRAME

/* ======================================================================
 * Helpers
 * ====================================================================== */

struct frame {
  uint8_t buf[8192];
  size_t len;
};

static void start(struct vigil_sgn_writer *w, struct frame *f,
                  enum vigil_sgn_kind kind, enum vigil_sgn_op op,
                  enum vigil_sgn_status st) {
  vigil_sgn_writer_init(w, f->buf, sizeof(f->buf), kind, op, st, 0x01020304);
}

static void end(struct vigil_sgn_writer *w, struct frame *f) {
  assert_int_equal(vigil_sgn_writer_finish(w, &f->len), 1);
}

static enum vigil_sgn_err dec(const struct frame *f) {
  struct vigil_sgn_msg m;
  return vigil_sgn_decode(&m, f->buf, f->len, MAXF);
}

static void wr32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void wr16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* A valid ISSUER_INFO request; fields appended by the caller. */
static void issuer_info_req(struct frame *f) {
  struct vigil_sgn_writer w;
  start(&w, f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo-ca");
  end(&w, f);
}

/* ======================================================================
 * Layout
 * ====================================================================== */

/* The example of docs/signer.md: PING request id 7, then an ISSUER_INFO
 * request id 9 for "ab". */
static void test_layout_matches_spec(void **state) {
  (void)state;
  static const uint8_t kPing[] = { 0x00, 0x00, 0x00, 0x10, 0x56, 0x47, 0x01,
                                   0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x07, 0x00, 0x00, 0x00, 0x00 };
  static const uint8_t kInfo[] = { 0x00, 0x00, 0x00, 0x18, 0x56, 0x47, 0x01,
                                   0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
                                   0x00, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00,
                                   0x01, 0x00, 0x00, 0x00, 0x02, 'a',  'b' };
  uint8_t buf[64];
  struct vigil_sgn_writer w;
  size_t len = 0;
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_PING, VIGIL_SGN_OK, 7);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(len, sizeof(kPing));
  assert_memory_equal(buf, kPing, sizeof(kPing));

  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 9);
  assert_int_equal(vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "ab"), 1);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(len, sizeof(kInfo));
  assert_memory_equal(buf, kInfo, sizeof(kInfo));

  struct vigil_sgn_msg m;
  assert_int_equal(vigil_sgn_decode(&m, kInfo, sizeof(kInfo), MAXF),
                   VIGIL_SGN_ERR_OK);
  assert_int_equal(m.version, VIGIL_SGN_VERSION);
  assert_int_equal(m.kind, VIGIL_SGN_REQUEST);
  assert_int_equal(m.op, VIGIL_SGN_OP_ISSUER_INFO);
  assert_int_equal(m.status, VIGIL_SGN_OK);
  assert_int_equal(m.id, 9);
  assert_int_equal(m.num_fields, 1);
  char id[8];
  assert_int_equal(
      vigil_sgn_get_text(&m, id, sizeof(id), VIGIL_SGN_T_ISSUER_ID), 1);
  assert_string_equal(id, "ab");
  assert_int_equal(vigil_sgn_frame_get_id(kInfo), 9);
}

/* ======================================================================
 * Round trips
 * ====================================================================== */

static void test_round_trip_requests(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_writer w;
  struct vigil_sgn_msg m;
  uint8_t u8 = 0;
  uint32_t u32 = 0;
  int64_t i64 = 0;
  char text[128];
  struct vigil_sgn_field fld;

  /* CREATE_INTERMEDIATE with every field it takes. */
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_CREATE_INTERMEDIATE,
        VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "sub-1");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_PARENT_ID, "root-1");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, "Sub CA \xc3\xa9");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_O, "Vigil");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_C, "DE");
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE, VIGIL_SGN_KEY_RSA);
  vigil_sgn_put_u32(&w, VIGIL_SGN_T_RSA_BITS, 3072);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, INT64_C(5) * 365 * 86400);
  vigil_sgn_put_u32(&w, VIGIL_SGN_T_PATH_LEN, 0);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_OCSP_URL, "http://o.test/");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_CRL_URL, "http://c.test/x.crl");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_CA_ISSUERS_URL, "http://i.test/r.der");
  end(&w, &f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(m.id, 0x01020304);
  assert_int_equal(m.num_fields, 12);
  assert_int_equal(vigil_sgn_get_u8(&m, &u8, VIGIL_SGN_T_KEY_TYPE), 1);
  assert_int_equal(u8, VIGIL_SGN_KEY_RSA);
  assert_int_equal(vigil_sgn_get_u32(&m, &u32, VIGIL_SGN_T_RSA_BITS), 1);
  assert_int_equal(u32, 3072);
  assert_int_equal(vigil_sgn_get_i64(&m, &i64, VIGIL_SGN_T_VALIDITY), 1);
  assert_int_equal(i64, INT64_C(5) * 365 * 86400);
  assert_int_equal(
      vigil_sgn_get_text(&m, text, sizeof(text), VIGIL_SGN_T_SUBJECT_CN), 1);
  assert_string_equal(text, "Sub CA \xc3\xa9");
  assert_int_equal(vigil_sgn_get_u32(&m, &u32, VIGIL_SGN_T_PATH_LEN), 1);
  assert_int_equal(u32, 0);

  /* ISSUE_CSR with repeated SANs. */
  static const uint8_t kCsr[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
  static const uint8_t kIp4[] = { 127, 0, 0, 1 };
  static const uint8_t kIp6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUE_CSR, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put(&w, VIGIL_SGN_T_CSR, kCsr, sizeof(kCsr));
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 86400);
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_PROFILE, VIGIL_SGN_PROFILE_TLS_SERVER);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, "a.test");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, "b.test");
  vigil_sgn_put(&w, VIGIL_SGN_T_SAN_IP, kIp4, sizeof(kIp4));
  vigil_sgn_put(&w, VIGIL_SGN_T_SAN_IP, kIp6, sizeof(kIp6));
  end(&w, &f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(vigil_sgn_count(&m, VIGIL_SGN_T_SAN_DNS), 2);
  assert_int_equal(vigil_sgn_count(&m, VIGIL_SGN_T_SAN_IP), 2);
  assert_int_equal(vigil_sgn_find(&m, &fld, VIGIL_SGN_T_CSR), 1);
  assert_int_equal(fld.len, sizeof(kCsr));
  assert_memory_equal(fld.value, kCsr, sizeof(kCsr));
  /* Fields come back in the order written. */
  struct vigil_sgn_iter it;
  vigil_sgn_iter_init(&it, &m);
  static const uint16_t kOrder[] = {
    VIGIL_SGN_T_ISSUER_ID, VIGIL_SGN_T_CSR,     VIGIL_SGN_T_VALIDITY,
    VIGIL_SGN_T_PROFILE,   VIGIL_SGN_T_SAN_DNS, VIGIL_SGN_T_SAN_DNS,
    VIGIL_SGN_T_SAN_IP,    VIGIL_SGN_T_SAN_IP,
  };
  for (size_t i = 0; i < sizeof(kOrder) / sizeof(kOrder[0]); i++) {
    assert_int_equal(vigil_sgn_iter_next(&it, &fld), 1);
    assert_int_equal(fld.tag, kOrder[i]);
  }
  assert_int_equal(vigil_sgn_iter_next(&it, &fld), 0);

  /* SEAL, EXPORT_RESPONDER, MINT_RESPONDER, CREATE_ROOT, ISSUE_GENERATED:
   * minimal valid requests. */
  uint8_t digest[32];
  memset(digest, 0xab, sizeof(digest));
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_SEAL, VIGIL_SGN_OK);
  vigil_sgn_put(&w, VIGIL_SGN_T_DIGEST, digest, sizeof(digest));
  vigil_sgn_put_text(&w, VIGIL_SGN_T_CONTEXT, "incident 42");
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_EXPORT_RESPONDER, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_DEST_DIR, "/etc/vigil/edge");
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_CONFIRM, 1);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_OPERATOR, "alice");
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_MINT_RESPONDER, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_FORCE, 1);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_CREATE_ROOT, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, "Demo Root");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 86400);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUE_GENERATED, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, "localhost");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 86400);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  /* PING takes no fields. */
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_PING, VIGIL_SGN_OK);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);
}

static void test_round_trip_replies(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_writer w;
  struct vigil_sgn_msg m;
  uint8_t h20[20];
  uint8_t h32[32];
  memset(h20, 1, sizeof(h20));
  memset(h32, 2, sizeof(h32));
  static const uint8_t kDer[] = { 0x30, 0x00 };

  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK);
  vigil_sgn_put(&w, VIGIL_SGN_T_CERT, kDer, sizeof(kDer));
  vigil_sgn_put(&w, VIGIL_SGN_T_NAME_SHA1, h20, 20);
  vigil_sgn_put(&w, VIGIL_SGN_T_NAME_SHA256, h32, 32);
  vigil_sgn_put(&w, VIGIL_SGN_T_KEY_SHA1, h20, 20);
  vigil_sgn_put(&w, VIGIL_SGN_T_KEY_SHA256, h32, 32);
  vigil_sgn_put(&w, VIGIL_SGN_T_RESPONDER_CERT, kDer, sizeof(kDer));
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_RESPONDER_NOT_AFTER, -1);
  end(&w, &f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  int64_t t = 0;
  assert_int_equal(vigil_sgn_get_i64(&m, &t, VIGIL_SGN_T_RESPONDER_NOT_AFTER),
                   1);
  assert_int_equal(t, -1); /* negative i64 survives */

  /* PRESIGN_BATCH reply with many responses. */
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_PRESIGN_BATCH, VIGIL_SGN_OK);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_PRODUCED_AT, 1);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_THIS_UPDATE, 2);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_NEXT_UPDATE, 3);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_RESPONDER_NOT_AFTER, 4);
  for (int i = 0; i < 100; i++) {
    uint8_t *p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_OCSP_RESPONSE, 64);
    assert_non_null(p);
    p[0] = (uint8_t)i;
    assert_int_equal(vigil_sgn_put_commit(&w, 1 + (size_t)i % 7), 1);
  }
  end(&w, &f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(vigil_sgn_count(&m, VIGIL_SGN_T_OCSP_RESPONSE), 100);
  struct vigil_sgn_iter it;
  struct vigil_sgn_field fld;
  int i = 0;
  vigil_sgn_iter_init(&it, &m);
  while (vigil_sgn_iter_next(&it, &fld)) {
    if (fld.tag == VIGIL_SGN_T_OCSP_RESPONSE) {
      assert_int_equal(fld.len, 1 + (size_t)i % 7);
      assert_int_equal(fld.value[0], i);
      i++;
    }
  }
  assert_int_equal(i, 100);

  /* Error replies: any op, NONE included, only ERROR_* fields. */
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_NONE, VIGIL_SGN_E_MALFORMED);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ERROR_MESSAGE, "bad frame");
  vigil_sgn_put_u32(&w, VIGIL_SGN_T_ERROR_DETAIL, 7);
  vigil_sgn_put_u32(&w, VIGIL_SGN_T_ERROR_INDEX, 3);
  end(&w, &f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(m.status, VIGIL_SGN_E_MALFORMED);
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_SIGN_CRL, VIGIL_SGN_E_INVALID);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  /* SEAL and PING replies. */
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_SEAL, VIGIL_SGN_OK);
  vigil_sgn_put(&w, VIGIL_SGN_T_SIGNATURE, h32, 32);
  vigil_sgn_put(&w, VIGIL_SGN_T_AUDIT_SPKI, kDer, sizeof(kDer));
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_SEALED_AT, 5);
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_KEY_TYPE, VIGIL_SGN_KEY_ED25519);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_PING, VIGIL_SGN_OK);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_TIME, 5);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);
}

/* ======================================================================
 * Entries
 * ====================================================================== */

static size_t entry(uint8_t *out, const uint8_t *serial, size_t serial_len,
                    uint8_t status, int64_t at, int reason) {
  struct vigil_sgn_entry e;
  memset(&e, 0, sizeof(e));
  e.serial = serial;
  e.serial_len = serial_len;
  e.status = status;
  e.revoked_at = at;
  e.reason = reason;
  return vigil_sgn_entry_encode(out, VIGIL_SGN_ENTRY_MAX_LEN, &e);
}

static void test_entries(void **state) {
  (void)state;
  static const uint8_t kS1[] = { 0x01 };
  static const uint8_t kS2[] = { 0x00, 0x80, 0x11 };
  uint8_t s21[21];
  memset(s21, 0x7f, sizeof(s21));
  s21[0] = 0;
  uint8_t rec[3][VIGIL_SGN_ENTRY_MAX_LEN];
  size_t n1 = entry(rec[0], kS1, sizeof(kS1), 0, 0, -1);
  size_t n2 = entry(rec[1], kS2, sizeof(kS2), 1, -5, 1);
  size_t n3 = entry(rec[2], s21, sizeof(s21), 1, INT64_C(1700000000), 0);
  assert_int_equal(n1, VIGIL_SGN_ENTRY_FIXED + 1);
  assert_int_equal(n2, VIGIL_SGN_ENTRY_FIXED + 3);
  assert_int_equal(n3, VIGIL_SGN_ENTRY_MAX_LEN);
  /* The record layout: len, serial, status, time (BE), reason. */
  static const uint8_t kRec2[] = { 0x03, 0x00, 0x80, 0x11, 0x01, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xff, 0xfb, 0x01 };
  assert_memory_equal(rec[1], kRec2, sizeof(kRec2));
  assert_int_equal(rec[0][n1 - 1], VIGIL_SGN_REASON_NONE);

  /* Two ENTRIES fields: records 0+1 in the first, 2 in the second. */
  struct frame f;
  struct vigil_sgn_writer w;
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_PRESIGN_BATCH, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 96 * 3600);
  uint8_t *p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ENTRIES, n1 + n2);
  assert_non_null(p);
  memcpy(p, rec[0], n1);
  memcpy(p + n1, rec[1], n2);
  assert_int_equal(vigil_sgn_put_commit(&w, n1 + n2), 1);
  vigil_sgn_put(&w, VIGIL_SGN_T_ENTRIES, rec[2], n3);
  end(&w, &f);
  struct vigil_sgn_msg m;
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(vigil_sgn_entries_count(&m), 3);
  struct vigil_sgn_entry_iter it;
  struct vigil_sgn_entry e;
  vigil_sgn_entries_init(&it, &m);
  assert_int_equal(vigil_sgn_entries_next(&it, &e), 1);
  assert_int_equal(e.serial_len, 1);
  assert_int_equal(e.status, 0);
  assert_int_equal(e.reason, -1);
  assert_int_equal(vigil_sgn_entries_next(&it, &e), 1);
  assert_int_equal(e.serial_len, 3);
  assert_memory_equal(e.serial, kS2, 3);
  assert_int_equal(e.status, 1);
  assert_int_equal(e.revoked_at, -5);
  assert_int_equal(e.reason, 1);
  assert_int_equal(vigil_sgn_entries_next(&it, &e), 1);
  assert_int_equal(e.serial_len, 21);
  assert_int_equal(e.revoked_at, INT64_C(1700000000));
  assert_int_equal(e.reason, 0);
  assert_int_equal(vigil_sgn_entries_next(&it, &e), 0);

  /* The encoder refuses what no record can hold. */
  uint8_t out[VIGIL_SGN_ENTRY_MAX_LEN + 8];
  uint8_t s22[22] = { 0 };
  struct vigil_sgn_entry bad;
  memset(&bad, 0, sizeof(bad));
  bad.serial = s22;
  bad.serial_len = 22;
  assert_int_equal(vigil_sgn_entry_encode(out, sizeof(out), &bad), 0);
  bad.serial_len = 0;
  assert_int_equal(vigil_sgn_entry_encode(out, sizeof(out), &bad), 0);
  bad.serial_len = 1;
  bad.status = 2;
  assert_int_equal(vigil_sgn_entry_encode(out, sizeof(out), &bad), 0);
  bad.status = 1;
  bad.reason = 11;
  assert_int_equal(vigil_sgn_entry_encode(out, sizeof(out), &bad), 0);
  bad.reason = 1;
  assert_int_equal(vigil_sgn_entry_encode(out, 11, &bad), 0); /* no room */
  assert_int_equal(vigil_sgn_entry_encode(out, 12, &bad), 12);
}

/* presign_with_entry makes a PRESIGN_BATCH request whose ENTRIES field is
 * |rec| (|len| bytes, taken as they are). */
static void presign_with_entry(struct frame *f, const uint8_t *rec,
                               size_t len) {
  struct vigil_sgn_writer w;
  start(&w, f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_PRESIGN_BATCH, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 96 * 3600);
  vigil_sgn_put(&w, VIGIL_SGN_T_ENTRIES, rec, len);
  end(&w, f);
}

static void test_bad_entries(void **state) {
  (void)state;
  struct frame f;
  static const uint8_t kS[] = { 0x05 };
  uint8_t rec[2 * VIGIL_SGN_ENTRY_MAX_LEN];
  size_t n = entry(rec, kS, 1, 1, 100, 4);
  presign_with_entry(&f, rec, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  uint8_t b[2 * VIGIL_SGN_ENTRY_MAX_LEN];
  /* status 2 */
  memcpy(b, rec, n);
  b[2] = 2;
  presign_with_entry(&f, b, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  /* reason 7 (unused) and 11 (undefined) */
  memcpy(b, rec, n);
  b[n - 1] = 7;
  presign_with_entry(&f, b, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  b[n - 1] = 11;
  presign_with_entry(&f, b, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  /* good with a revocation time, good with a reason */
  n = entry(b, kS, 1, 0, 0, -1);
  b[10] = 1;
  presign_with_entry(&f, b, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  n = entry(b, kS, 1, 0, 0, -1);
  b[n - 1] = 1;
  presign_with_entry(&f, b, n);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  /* serial length 0 and 22, with the bytes there */
  memset(b, 0, sizeof(b));
  b[0] = 0;
  b[1] = 0;
  b[10] = 0xff;
  presign_with_entry(&f, b, 12);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  memset(b, 0, sizeof(b));
  b[0] = 22;
  b[1] = 1;
  b[32] = 0xff;
  presign_with_entry(&f, b, 33);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  /* a complete record followed by part of another */
  n = entry(b, kS, 1, 1, 100, 4);
  memcpy(b + n, rec, 5);
  presign_with_entry(&f, b, n + 5);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_ENTRY);
  /* every truncation of one record */
  for (size_t cut = 1; cut < n; cut++) {
    presign_with_entry(&f, rec, cut);
    enum vigil_sgn_err e = dec(&f);
    /* Below the minimum field length it is a length error. */
    assert_int_equal(e, cut < VIGIL_SGN_ENTRY_FIXED + 1
                            ? VIGIL_SGN_ERR_FIELD_LENGTH
                            : VIGIL_SGN_ERR_ENTRY);
  }
}

/* ======================================================================
 * Decode errors, one by one
 * ====================================================================== */

static void test_framing_errors(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_msg m;
  size_t total = 0;
  issuer_info_req(&f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);

  /* frame_len needs the length word. */
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(vigil_sgn_frame_len(&total, f.buf, i, MAXF),
                     VIGIL_SGN_ERR_TRUNCATED);
  }
  assert_int_equal(vigil_sgn_frame_len(&total, f.buf, 4, MAXF),
                   VIGIL_SGN_ERR_OK);
  assert_int_equal(total, f.len);

  /* Truncated at every offset, and one byte too many. */
  for (size_t i = 0; i < f.len; i++) {
    assert_int_equal(vigil_sgn_decode(&m, f.buf, i, MAXF),
                     VIGIL_SGN_ERR_TRUNCATED);
  }
  f.buf[f.len] = 0;
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len + 1, MAXF),
                   VIGIL_SGN_ERR_TRAILING);
  assert_int_equal(vigil_sgn_decode(&m, NULL, 0, MAXF),
                   VIGIL_SGN_ERR_TRUNCATED);

  /* Too large for the receiver's bound, and for anyone's. */
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, f.len - 1),
                   VIGIL_SGN_ERR_TOO_LARGE);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, f.len), VIGIL_SGN_ERR_OK);
  uint8_t big[VIGIL_SGN_HEADER_LEN];
  memcpy(big, f.buf, sizeof(big));
  wr32(big, VIGIL_SGN_MAX_FRAME - 4 + 1);
  assert_int_equal(vigil_sgn_frame_len(&total, big, 4, SIZE_MAX),
                   VIGIL_SGN_ERR_TOO_LARGE);
  wr32(big, VIGIL_SGN_MAX_FRAME - 4);
  assert_int_equal(vigil_sgn_frame_len(&total, big, 4, SIZE_MAX),
                   VIGIL_SGN_ERR_OK);
  assert_int_equal(total, VIGIL_SGN_MAX_FRAME);
  wr32(big, UINT32_MAX);
  assert_int_equal(vigil_sgn_frame_len(&total, big, 4, SIZE_MAX),
                   VIGIL_SGN_ERR_TOO_LARGE);

  /* Shorter than a header. */
  wr32(big, VIGIL_SGN_HEADER_LEN - 4 - 1);
  assert_int_equal(vigil_sgn_frame_len(&total, big, 4, MAXF),
                   VIGIL_SGN_ERR_SHORT);
  assert_int_equal(vigil_sgn_decode(&m, big, VIGIL_SGN_HEADER_LEN - 1, MAXF),
                   VIGIL_SGN_ERR_SHORT);
}

/* patched decodes |f| with |len| bytes at |off| replaced by |val|. */
static enum vigil_sgn_err patched(const struct frame *orig, size_t off,
                                  const uint8_t *val, size_t len,
                                  struct vigil_sgn_msg *m) {
  struct frame f = *orig;
  memcpy(f.buf + off, val, len);
  return vigil_sgn_decode(m, f.buf, f.len, MAXF);
}

static void test_header_errors(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_msg m;
  issuer_info_req(&f);
  static const uint8_t kMagic[] = { 0x47, 0x56 };
  static const uint8_t kV2[] = { 2 };
  static const uint8_t kV0[] = { 0 };
  static const uint8_t kKind3[] = { 3 };
  static const uint8_t kKind0[] = { 0 };
  static const uint8_t kOp12[] = { 0, 12 };
  static const uint8_t kOp0[] = { 0, 0 };
  static const uint8_t kSt1[] = { 0, 1 };
  static const uint8_t kRes[] = { 0, 1 };
  static const uint8_t kNf[] = { 0x40, 0x01 }; /* 16385 */
  assert_int_equal(patched(&f, 4, kMagic, 2, &m), VIGIL_SGN_ERR_MAGIC);
  assert_int_equal(patched(&f, 6, kV2, 1, &m), VIGIL_SGN_ERR_VERSION);
  assert_int_equal(patched(&f, 6, kV0, 1, &m), VIGIL_SGN_ERR_VERSION);
  assert_int_equal(patched(&f, 7, kKind3, 1, &m), VIGIL_SGN_ERR_KIND);
  assert_int_equal(patched(&f, 7, kKind0, 1, &m), VIGIL_SGN_ERR_KIND);
  assert_int_equal(patched(&f, 8, kOp12, 2, &m), VIGIL_SGN_ERR_OP);
  assert_int_equal(patched(&f, 8, kOp0, 2, &m), VIGIL_SGN_ERR_OP);
  assert_int_equal(patched(&f, 10, kSt1, 2, &m), VIGIL_SGN_ERR_STATUS);
  assert_int_equal(patched(&f, 18, kRes, 2, &m), VIGIL_SGN_ERR_RESERVED);
  assert_int_equal(patched(&f, 16, kNf, 2, &m), VIGIL_SGN_ERR_TOO_MANY_FIELDS);
  /* After the header, op / kind / id stay for the error reply. */
  assert_int_equal(m.op, VIGIL_SGN_OP_ISSUER_INFO);
  assert_int_equal(m.kind, VIGIL_SGN_REQUEST);
  assert_int_equal(m.id, 0x01020304);

  /* Replies: an undefined status; a successful reply naming no op. */
  struct vigil_sgn_writer w;
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_PING, VIGIL_SGN_OK);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_TIME, 1);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_OK);
  static const uint8_t kSt12[] = { 0, 12 };
  assert_int_equal(patched(&f, 10, kSt12, 2, &m), VIGIL_SGN_ERR_STATUS);
  assert_int_equal(patched(&f, 8, kOp0, 2, &m), VIGIL_SGN_ERR_OP);
}

static void test_field_errors(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_msg m;
  issuer_info_req(&f); /* one field: tag 1, len 7, "demo-ca" */
  uint8_t nf[2];

  /* Field length past the end. */
  uint8_t len8[4];
  wr32(len8, 8);
  assert_int_equal(patched(&f, 22, len8, 4, &m), VIGIL_SGN_ERR_FIELD_TRUNCATED);
  wr32(len8, UINT32_MAX);
  assert_int_equal(patched(&f, 22, len8, 4, &m), VIGIL_SGN_ERR_FIELD_TRUNCATED);
  /* Claims two fields, holds one. */
  wr16(nf, 2);
  assert_int_equal(patched(&f, 16, nf, 2, &m), VIGIL_SGN_ERR_FIELD_COUNT);
  /* Claims none, holds one. */
  wr16(nf, 0);
  assert_int_equal(patched(&f, 16, nf, 2, &m), VIGIL_SGN_ERR_FIELD_COUNT);
  /* A partial field header at the end. */
  struct frame g = f;
  memset(g.buf + g.len, 0, 3);
  g.len += 3;
  wr32(g.buf, (uint32_t)(g.len - 4));
  wr16(g.buf + 16, 2);
  assert_int_equal(dec(&g), VIGIL_SGN_ERR_FIELD_TRUNCATED);
  assert_int_equal(m.op, VIGIL_SGN_OP_ISSUER_INFO);

  /* Tag unknown anywhere, and tag not in this op's schema. */
  uint8_t tag[2];
  wr16(tag, 999);
  assert_int_equal(patched(&f, 20, tag, 2, &m), VIGIL_SGN_ERR_UNKNOWN_TAG);
  wr16(tag, 0);
  assert_int_equal(patched(&f, 20, tag, 2, &m), VIGIL_SGN_ERR_UNKNOWN_TAG);
  wr16(tag, VIGIL_SGN_T_CSR);
  assert_int_equal(patched(&f, 20, tag, 2, &m), VIGIL_SGN_ERR_UNKNOWN_TAG);
  assert_int_equal(m.id, 0x01020304);
  /* An error reply with a success-only field. */
  struct vigil_sgn_writer w;
  static const uint8_t kDer[] = { 0x30, 0x00 };
  start(&w, &f, VIGIL_SGN_REPLY, VIGIL_SGN_OP_ISSUER_INFO,
        VIGIL_SGN_E_NOT_FOUND);
  vigil_sgn_put(&w, VIGIL_SGN_T_CERT, kDer, sizeof(kDer));
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_UNKNOWN_TAG);

  /* Duplicate. */
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "a");
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "b");
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_DUPLICATE);

  /* Missing required. */
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_MISSING);
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_PRESIGN_BATCH, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "a");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 1);
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_MISSING);

  /* Too many repeats: 257 DNS names. */
  static uint8_t buf[16384];
  size_t len = 0;
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUE_GENERATED, VIGIL_SGN_OK, 1);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "a");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 1);
  for (int i = 0; i < 257; i++) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, "x.test");
  }
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(vigil_sgn_decode(&m, buf, len, MAXF),
                   VIGIL_SGN_ERR_TOO_MANY_REPEATS);
  /* 256 are fine. */
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUE_GENERATED, VIGIL_SGN_OK, 1);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "a");
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 1);
  for (int i = 0; i < 256; i++) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_SAN_DNS, "x.test");
  }
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(vigil_sgn_decode(&m, buf, len, MAXF), VIGIL_SGN_ERR_OK);
}

/* one_field decodes a request of |op| holding |tag| = |val| plus whatever
 * else |op| requires (given as valid values). */
static enum vigil_sgn_err one_field(enum vigil_sgn_op op, uint16_t tag,
                                    const void *val, size_t len) {
  struct frame f;
  struct vigil_sgn_writer w;
  start(&w, &f, VIGIL_SGN_REQUEST, op, VIGIL_SGN_OK);
  if (tag != VIGIL_SGN_T_ISSUER_ID) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  }
  if (op == VIGIL_SGN_OP_CREATE_ROOT && tag != VIGIL_SGN_T_SUBJECT_CN) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, "CN");
  }
  if (op == VIGIL_SGN_OP_CREATE_ROOT && tag != VIGIL_SGN_T_VALIDITY) {
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 86400);
  }
  vigil_sgn_put(&w, tag, val, len);
  end(&w, &f);
  return dec(&f);
}

static void test_value_errors(void **state) {
  (void)state;
  const enum vigil_sgn_op root = VIGIL_SGN_OP_CREATE_ROOT;
  const enum vigil_sgn_op mint = VIGIL_SGN_OP_MINT_RESPONDER;
  uint8_t b[64];
  memset(b, 0, sizeof(b));

  /* Lengths: integers must have their exact width. */
  assert_int_equal(one_field(root, VIGIL_SGN_T_VALIDITY, b, 4),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  assert_int_equal(one_field(root, VIGIL_SGN_T_KEY_TYPE, b, 2),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  assert_int_equal(one_field(root, VIGIL_SGN_T_RSA_BITS, b, 8),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  /* Text bounds: empty, and one over. */
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, "", 0),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  char long_cn[66];
  memset(long_cn, 'a', sizeof(long_cn));
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, long_cn, 64),
                   VIGIL_SGN_ERR_OK);
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, long_cn, 65),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_C, "DEU", 3),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  assert_int_equal(one_field(mint, VIGIL_SGN_T_ISSUER_ID, long_cn, 64),
                   VIGIL_SGN_ERR_FIELD_LENGTH);
  /* SAN_IP: 4 or 16, nothing between. */
  assert_int_equal(
      one_field(VIGIL_SGN_OP_ISSUE_GENERATED, VIGIL_SGN_T_SAN_IP, b, 5),
      VIGIL_SGN_ERR_FIELD_LENGTH);
  assert_int_equal(
      one_field(VIGIL_SGN_OP_ISSUE_GENERATED, VIGIL_SGN_T_SAN_IP, b, 3),
      VIGIL_SGN_ERR_FIELD_LENGTH);

  /* Values out of range. */
  uint8_t v = 5;
  assert_int_equal(one_field(root, VIGIL_SGN_T_KEY_TYPE, &v, 1),
                   VIGIL_SGN_ERR_FIELD_VALUE);
  v = 0;
  assert_int_equal(one_field(root, VIGIL_SGN_T_KEY_TYPE, &v, 1),
                   VIGIL_SGN_ERR_FIELD_VALUE);
  v = 2;
  assert_int_equal(one_field(mint, VIGIL_SGN_T_FORCE, &v, 1),
                   VIGIL_SGN_ERR_FIELD_VALUE);
  uint8_t bits[4];
  wr32(bits, 1024);
  assert_int_equal(one_field(root, VIGIL_SGN_T_RSA_BITS, bits, 4),
                   VIGIL_SGN_ERR_FIELD_VALUE);
  wr32(bits, 8192);
  assert_int_equal(one_field(root, VIGIL_SGN_T_RSA_BITS, bits, 4),
                   VIGIL_SGN_ERR_OK);
  uint8_t zero[8] = { 0 };
  assert_int_equal(one_field(root, VIGIL_SGN_T_VALIDITY, zero, 8),
                   VIGIL_SGN_ERR_FIELD_VALUE);
  uint8_t neg[8];
  memset(neg, 0xff, sizeof(neg));
  assert_int_equal(one_field(root, VIGIL_SGN_T_VALIDITY, neg, 8),
                   VIGIL_SGN_ERR_FIELD_VALUE);

  /* Text with control characters. */
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, "a\nb", 3),
                   VIGIL_SGN_ERR_TEXT);
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, "a\0b", 3),
                   VIGIL_SGN_ERR_TEXT);
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, "a\x7f", 2),
                   VIGIL_SGN_ERR_TEXT);
  assert_int_equal(one_field(root, VIGIL_SGN_T_SUBJECT_CN, "\xc3\xa9", 2),
                   VIGIL_SGN_ERR_OK);

  /* Bytes with a fixed length: the SEAL digest. */
  struct frame f;
  struct vigil_sgn_writer w;
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_SEAL, VIGIL_SGN_OK);
  vigil_sgn_put(&w, VIGIL_SGN_T_DIGEST, b, 31);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_CONTEXT, "x");
  end(&w, &f);
  assert_int_equal(dec(&f), VIGIL_SGN_ERR_FIELD_LENGTH);
}

/* Every outcome has its own name. */
static void test_names(void **state) {
  (void)state;
  for (int a = 0; a <= VIGIL_SGN_ERR_TOO_MANY_REPEATS; a++) {
    const char *sa = vigil_sgn_err_string((enum vigil_sgn_err)a);
    assert_string_not_equal(sa, "?");
    for (int b = 0; b < a; b++) {
      assert_string_not_equal(sa, vigil_sgn_err_string((enum vigil_sgn_err)b));
    }
  }
  assert_string_equal(vigil_sgn_err_string((enum vigil_sgn_err)99), "?");
  for (int a = 0; a <= VIGIL_SGN_STATUS_MAX; a++) {
    assert_string_not_equal(vigil_sgn_status_string((enum vigil_sgn_status)a),
                            "?");
  }
  assert_string_equal(vigil_sgn_status_string((enum vigil_sgn_status)12), "?");
  for (int a = 0; a <= VIGIL_SGN_OP_MAX; a++) {
    assert_string_not_equal(vigil_sgn_op_name((enum vigil_sgn_op)a), "?");
  }
  for (int t = 1; t <= VIGIL_SGN_TAG_MAX; t++) {
    assert_string_not_equal(vigil_sgn_tag_name((uint16_t)t), "?");
  }
  assert_string_equal(vigil_sgn_tag_name(0), "?");
  assert_string_equal(vigil_sgn_tag_name(VIGIL_SGN_TAG_MAX + 1), "?");
}

/* ======================================================================
 * Writer bounds
 * ====================================================================== */

static void test_writer_bounds(void **state) {
  (void)state;
  uint8_t buf[64];
  struct vigil_sgn_writer w;
  size_t len = 99;

  /* Too small for a header. */
  vigil_sgn_writer_init(&w, buf, VIGIL_SGN_HEADER_LEN - 1, VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_PING, VIGIL_SGN_OK, 1);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);
  assert_int_equal(len, 0);

  /* Exactly full, then one byte over; failure is sticky. */
  vigil_sgn_writer_init(&w, buf, 20 + 6 + 10, VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_int_equal(vigil_sgn_put(&w, VIGIL_SGN_T_ISSUER_ID, "0123456789", 10),
                   1);
  assert_int_equal(vigil_sgn_put(&w, VIGIL_SGN_T_ISSUER_ID, NULL, 0), 0);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);
  vigil_sgn_writer_init(&w, buf, 20 + 6 + 10, VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_int_equal(vigil_sgn_put(&w, VIGIL_SGN_T_ISSUER_ID, "0123456789", 10),
                   1);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(len, 36);

  /* Reserve misuse: a put while open, commit beyond the reservation,
   * commit with nothing open, finish while open. */
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_non_null(vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ISSUER_ID, 8));
  assert_int_equal(vigil_sgn_put_u8(&w, VIGIL_SGN_T_FORCE, 1), 0);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_non_null(vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ISSUER_ID, 8));
  assert_int_equal(vigil_sgn_put_commit(&w, 9), 0);
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_int_equal(vigil_sgn_put_commit(&w, 0), 0);
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_non_null(vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ISSUER_ID, 8));
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);
  vigil_sgn_writer_init(&w, buf, sizeof(buf), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK, 1);
  assert_null(vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ISSUER_ID, 64));

  /* Field count: VIGIL_SGN_MAX_FIELDS fit, one more does not. */
  size_t cap = VIGIL_SGN_HEADER_LEN +
               (VIGIL_SGN_MAX_FIELDS + 1) * VIGIL_SGN_FIELD_OVERHEAD;
  uint8_t *big = malloc(cap);
  assert_non_null(big);
  vigil_sgn_writer_init(&w, big, cap, VIGIL_SGN_REPLY, VIGIL_SGN_OP_PING,
                        VIGIL_SGN_OK, 1);
  for (int i = 0; i < VIGIL_SGN_MAX_FIELDS; i++) {
    assert_int_equal(vigil_sgn_put(&w, VIGIL_SGN_T_TIME, NULL, 0), 1);
  }
  assert_int_equal(vigil_sgn_put(&w, VIGIL_SGN_T_TIME, NULL, 0), 0);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);
  free(big);
}

/* A frame over VIGIL_SGN_MAX_FRAME is never produced, and one of exactly
 * the maximum decodes. */
static void test_oversize(void **state) {
  (void)state;
  size_t cap = VIGIL_SGN_MAX_FRAME + 64;
  uint8_t *big = malloc(cap);
  assert_non_null(big);
  struct vigil_sgn_writer w;
  size_t len = 0;
  size_t crl_max =
      VIGIL_SGN_MAX_FRAME - VIGIL_SGN_HEADER_LEN - VIGIL_SGN_FIELD_OVERHEAD;
  vigil_sgn_writer_init(&w, big, cap, VIGIL_SGN_REPLY, VIGIL_SGN_OP_SIGN_CRL,
                        VIGIL_SGN_OK, 1);
  uint8_t *p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_CRL, crl_max + 1);
  assert_non_null(p);
  memset(p, 0x30, crl_max + 1);
  assert_int_equal(vigil_sgn_put_commit(&w, crl_max + 1), 1);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 0);

  vigil_sgn_writer_init(&w, big, cap, VIGIL_SGN_REPLY, VIGIL_SGN_OP_SIGN_CRL,
                        VIGIL_SGN_OK, 1);
  p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_CRL, crl_max);
  assert_non_null(p);
  assert_int_equal(vigil_sgn_put_commit(&w, crl_max), 1);
  assert_int_equal(vigil_sgn_writer_finish(&w, &len), 1);
  assert_int_equal(len, VIGIL_SGN_MAX_FRAME);
  struct vigil_sgn_msg m;
  assert_int_equal(vigil_sgn_decode(&m, big, len, SIZE_MAX), VIGIL_SGN_ERR_OK);
  assert_int_equal(vigil_sgn_decode(&m, big, len, len - 1),
                   VIGIL_SGN_ERR_TOO_LARGE);
  free(big);
}

/* ======================================================================
 * Getters and allocation
 * ====================================================================== */

static void test_getters(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_msg m;
  issuer_info_req(&f);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  char small[7];
  memset(small, 'x', sizeof(small));
  /* "demo-ca" needs 8 bytes with its NUL. */
  assert_int_equal(
      vigil_sgn_get_text(&m, small, sizeof(small), VIGIL_SGN_T_ISSUER_ID), 0);
  assert_int_equal(small[0], '\0');
  char ok[8];
  assert_int_equal(
      vigil_sgn_get_text(&m, ok, sizeof(ok), VIGIL_SGN_T_ISSUER_ID), 1);
  assert_string_equal(ok, "demo-ca");
  uint8_t u8 = 42;
  uint32_t u32 = 42;
  int64_t i64 = 42;
  assert_int_equal(vigil_sgn_get_u8(&m, &u8, VIGIL_SGN_T_FORCE), 0);
  assert_int_equal(vigil_sgn_get_u32(&m, &u32, VIGIL_SGN_T_PATH_LEN), 0);
  assert_int_equal(vigil_sgn_get_i64(&m, &i64, VIGIL_SGN_T_VALIDITY), 0);
  assert_int_equal(u8, 42);
  assert_int_equal(u32, 42);
  assert_int_equal(i64, 42);
  /* Wrong width (a text tag read as an integer) is "absent". */
  assert_int_equal(vigil_sgn_get_u32(&m, &u32, VIGIL_SGN_T_ISSUER_ID), 0);
  assert_int_equal(vigil_sgn_count(&m, VIGIL_SGN_T_ISSUER_ID), 1);
  assert_int_equal(vigil_sgn_entries_count(&m), 0);

  vigil_sgn_frame_set_id(f.buf, 0xdeadbeef);
  assert_int_equal(vigil_sgn_frame_get_id(f.buf), 0xdeadbeef);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(m.id, 0xdeadbeef);
}

static void test_no_allocation(void **state) {
  (void)state;
  struct frame f;
  struct vigil_sgn_msg m;
  struct vigil_sgn_writer w;
  vigil_alloc_fail_after(0, 1);
  start(&w, &f, VIGIL_SGN_REQUEST, VIGIL_SGN_OP_ISSUER_INFO, VIGIL_SGN_OK);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "demo");
  assert_int_equal(vigil_sgn_writer_finish(&w, &f.len), 1);
  assert_int_equal(vigil_sgn_decode(&m, f.buf, f.len, MAXF), VIGIL_SGN_ERR_OK);
  assert_int_equal(vigil_alloc_failures(), 0);
  vigil_alloc_fail_reset();
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_layout_matches_spec),
    cmocka_unit_test(test_round_trip_requests),
    cmocka_unit_test(test_round_trip_replies),
    cmocka_unit_test(test_entries),
    cmocka_unit_test(test_bad_entries),
    cmocka_unit_test(test_framing_errors),
    cmocka_unit_test(test_header_errors),
    cmocka_unit_test(test_field_errors),
    cmocka_unit_test(test_value_errors),
    cmocka_unit_test(test_names),
    cmocka_unit_test(test_writer_bounds),
    cmocka_unit_test(test_oversize),
    cmocka_unit_test(test_getters),
    cmocka_unit_test(test_no_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
