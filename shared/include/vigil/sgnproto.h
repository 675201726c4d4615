/* sgnproto.h: the wire protocol between vigil-control and vigil-signer.
 *
 * vigil-signer is the only process that reads CA private keys; vigil-control
 * asks it to sign over a Unix socket. vigil-control links libpq and must
 * never link BoringSSL (DESIGN.md section 1), so this codec has no crypto:
 * both sides link it from vigil_util. It does no allocation either: frames
 * are encoded into and decoded from buffers the caller owns, and a decoded
 * message is a set of views into the caller's frame.
 *
 * A frame (all integers big-endian; docs/signer.md has the full spec):
 *
 *   u32 length      bytes that follow this word (header rest + fields)
 *   u16 magic       0x5647 ("VG")
 *   u8  version     VIGIL_SGN_VERSION
 *   u8  kind        1 request, 2 reply
 *   u16 op          enum vigil_sgn_op
 *   u16 status      requests: 0; replies: enum vigil_sgn_status
 *   u32 id          chosen by the client, echoed in the reply
 *   u16 num_fields  number of fields that follow
 *   u16 reserved    0
 *   fields          num_fields x { u16 tag, u32 len, len bytes value }
 *
 * Every tag has one type everywhere (u8, u32, i64, bytes, text, entry
 * list) and length bounds; each (op, kind) has a schema saying which tags
 * may appear, which are required and which may repeat. vigil_sgn_decode
 * checks all of it, so a handler reads only well-formed values: a field
 * it needs is present, an integer field has its exact width and range, a
 * text field holds no control characters, and every entry record in an
 * ENTRIES field is well formed. Each way to fail has its own outcome.
 * Replies with a status other than VIGIL_SGN_OK carry only the ERROR_*
 * fields. */
#ifndef VIGIL_SGNPROTO_H
#define VIGIL_SGNPROTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VIGIL_SGN_MUST_CHECK
#define VIGIL_SGN_MUST_CHECK __attribute__((warn_unused_result))
#endif

/* --- Limits -------------------------------------------------------------- */

#define VIGIL_SGN_MAGIC   0x5647u /* "VG" */
#define VIGIL_SGN_VERSION 1
/* Bytes before the first field: the length word and the header. */
#define VIGIL_SGN_HEADER_LEN 20
/* Bytes a field adds besides its value (tag and length). */
#define VIGIL_SGN_FIELD_OVERHEAD 6
/* Largest frame (length word included) anyone may send or accept: room
 * for a CRL of about a million entries. Receivers may set a lower bound. */
#define VIGIL_SGN_MAX_FRAME (64u * 1024u * 1024u)
/* Smallest bound a receiver may configure: every non-batch message fits. */
#define VIGIL_SGN_MIN_FRAME (256u * 1024u)
/* Most fields in one frame (a pre-sign reply has one per response). */
#define VIGIL_SGN_MAX_FIELDS 16384
/* Most OCSP responses one PRESIGN_BATCH may ask for. */
#define VIGIL_SGN_MAX_BATCH 10000
/* Longest serial in an entry record (VIGIL_OCSP_MAX_SERIAL). */
#define VIGIL_SGN_MAX_SERIAL 21
/* Bytes of one entry record: serial_len + serial + status + time + reason. */
#define VIGIL_SGN_ENTRY_FIXED   11
#define VIGIL_SGN_ENTRY_MAX_LEN (VIGIL_SGN_ENTRY_FIXED + VIGIL_SGN_MAX_SERIAL)
/* Entry reason octet meaning "no reasonCode". */
#define VIGIL_SGN_REASON_NONE 0xffu

/* --- Vocabulary ---------------------------------------------------------- */

enum vigil_sgn_kind {
  VIGIL_SGN_REQUEST = 1,
  VIGIL_SGN_REPLY = 2,
};

/* Operations. Request -> reply fields are listed in docs/signer.md and in
 * the schema table of sgnproto.c. */
enum vigil_sgn_op {
  VIGIL_SGN_OP_NONE = 0, /* only in error replies to undecodable frames */
  VIGIL_SGN_OP_PING = 1,
  VIGIL_SGN_OP_CREATE_ROOT = 2,
  VIGIL_SGN_OP_CREATE_INTERMEDIATE = 3,
  VIGIL_SGN_OP_ISSUER_INFO = 4,
  VIGIL_SGN_OP_ISSUE_CSR = 5,
  VIGIL_SGN_OP_ISSUE_GENERATED = 6,
  VIGIL_SGN_OP_PRESIGN_BATCH = 7,
  VIGIL_SGN_OP_SIGN_CRL = 8,
  VIGIL_SGN_OP_MINT_RESPONDER = 9,
  VIGIL_SGN_OP_EXPORT_RESPONDER = 10,
  VIGIL_SGN_OP_SEAL = 11,
};
#define VIGIL_SGN_OP_MAX 11

/* Reply status. */
enum vigil_sgn_status {
  VIGIL_SGN_OK = 0,
  VIGIL_SGN_E_MALFORMED = 1, /* request did not decode; ERROR_DETAIL is the
                                enum vigil_sgn_err; connection closed */
  VIGIL_SGN_E_VERSION = 2,   /* protocol version not supported; closed */
  VIGIL_SGN_E_TOO_LARGE = 3, /* frame over the signer's max-frame; closed */
  VIGIL_SGN_E_DENIED = 4,    /* peer uid not allowed, or an operator-only
                                operation without CONFIRM */
  VIGIL_SGN_E_NOT_FOUND = 5, /* issuer (or parent) unknown */
  VIGIL_SGN_E_EXISTS = 6,    /* issuer already exists: never overwritten */
  VIGIL_SGN_E_INVALID = 7,   /* arguments refused; ERROR_DETAIL holds the
                                x509 / CRL error code, ERROR_INDEX the
                                offending entry when there is one */
  VIGIL_SGN_E_CSR = 8,       /* CSR refused; ERROR_DETAIL = vigil_csr_err */
  VIGIL_SGN_E_BATCH = 9,     /* more entries than the batch limit */
  VIGIL_SGN_E_INTERNAL = 10, /* key generation, signing or file I/O failed */
  VIGIL_SGN_E_BUSY = 11,     /* too many connections; closed */
};
#define VIGIL_SGN_STATUS_MAX 11

/* Field tags. The type and bounds of each are in the tag table of
 * sgnproto.c and in docs/signer.md. */
enum vigil_sgn_tag {
  VIGIL_SGN_T_ISSUER_ID = 1,       /* text 1..63, [a-z0-9][a-z0-9-]* */
  VIGIL_SGN_T_PARENT_ID = 2,       /* text 1..63: the issuing CA */
  VIGIL_SGN_T_SUBJECT_CN = 3,      /* text 1..64 */
  VIGIL_SGN_T_SUBJECT_O = 4,       /* text 1..64 */
  VIGIL_SGN_T_SUBJECT_C = 5,       /* text 2 */
  VIGIL_SGN_T_KEY_TYPE = 6,        /* u8 enum vigil_sgn_key_type */
  VIGIL_SGN_T_RSA_BITS = 7,        /* u32 2048..8192 */
  VIGIL_SGN_T_VALIDITY = 8,        /* i64 seconds, >= 1 */
  VIGIL_SGN_T_PATH_LEN = 9,        /* u32 0..16: pathLenConstraint */
  VIGIL_SGN_T_OCSP_URL = 10,       /* text 1..1024: AIA OCSP */
  VIGIL_SGN_T_CRL_URL = 11,        /* text 1..1024: CRL distribution point */
  VIGIL_SGN_T_CA_ISSUERS_URL = 12, /* text 1..1024: AIA caIssuers */
  VIGIL_SGN_T_CSR = 13,            /* bytes 1..131072: PKCS#10, DER or PEM */
  VIGIL_SGN_T_PROFILE = 14,        /* u8 enum vigil_sgn_profile */
  VIGIL_SGN_T_SAN_DNS = 15,        /* text 1..253, repeatable */
  VIGIL_SGN_T_SAN_IP = 16,         /* bytes 4 or 16, repeatable */
  VIGIL_SGN_T_CERT = 17,           /* bytes 1..65536: DER certificate */
  VIGIL_SGN_T_RESPONDER_CERT = 18, /* bytes 1..65536: DER certificate */
  VIGIL_SGN_T_SERIAL = 19,         /* bytes 1..21: INTEGER contents */
  VIGIL_SGN_T_NOT_BEFORE = 20,     /* i64 */
  VIGIL_SGN_T_NOT_AFTER = 21,      /* i64 */
  VIGIL_SGN_T_PRIVATE_KEY = 22,    /* bytes 1..16384: PKCS#8 PEM */
  VIGIL_SGN_T_THIS_UPDATE = 23,    /* i64 */
  VIGIL_SGN_T_NEXT_UPDATE = 24,    /* i64 */
  VIGIL_SGN_T_PRODUCED_AT = 25,    /* i64 */
  VIGIL_SGN_T_ENTRIES = 26,        /* entry records, repeatable */
  VIGIL_SGN_T_OCSP_RESPONSE = 27,  /* bytes 1..65536: DER, repeatable */
  VIGIL_SGN_T_CRL_NUMBER = 28,     /* bytes 1..20: big-endian unsigned */
  VIGIL_SGN_T_IDP_URI = 29,        /* text 1..1024 */
  VIGIL_SGN_T_CRL_SCOPE = 30,      /* u8 enum vigil_sgn_crl_scope */
  VIGIL_SGN_T_CRL = 31,            /* bytes: DER CRL */
  VIGIL_SGN_T_FORCE = 32,          /* u8 0..1 */
  VIGIL_SGN_T_DEST_DIR = 33,       /* text 1..4096: absolute path */
  VIGIL_SGN_T_CONFIRM = 34,        /* u8 0..1 */
  VIGIL_SGN_T_OPERATOR = 35,       /* text 1..128: who asked (logged) */
  VIGIL_SGN_T_DIGEST = 36,         /* bytes 32 */
  VIGIL_SGN_T_CONTEXT = 37,        /* text 1..256 */
  VIGIL_SGN_T_SIGNATURE = 38,      /* bytes 1..1024 */
  VIGIL_SGN_T_AUDIT_SPKI = 39,     /* bytes 1..16384: DER SPKI */
  VIGIL_SGN_T_SEALED_AT = 40,      /* i64 */
  VIGIL_SGN_T_NAME_SHA1 = 41,      /* bytes 20 */
  VIGIL_SGN_T_NAME_SHA256 = 42,    /* bytes 32 */
  VIGIL_SGN_T_KEY_SHA1 = 43,       /* bytes 20: the CertID issuerKeyHash */
  VIGIL_SGN_T_KEY_SHA256 = 44,     /* bytes 32 */
  VIGIL_SGN_T_TIME = 45,           /* i64: the signer's clock */
  VIGIL_SGN_T_NUM_ISSUERS = 46,    /* u32 */
  VIGIL_SGN_T_ERROR_MESSAGE = 47,  /* text 1..1024 */
  VIGIL_SGN_T_ERROR_DETAIL = 48,   /* u32 */
  VIGIL_SGN_T_ERROR_INDEX = 49,    /* u32 */
  VIGIL_SGN_T_RESPONDER_NOT_AFTER = 50, /* i64 */
};
#define VIGIL_SGN_TAG_MAX 50

/* Key types (values of KEY_TYPE). */
enum vigil_sgn_key_type {
  VIGIL_SGN_KEY_P256 = 1,
  VIGIL_SGN_KEY_P384 = 2,
  VIGIL_SGN_KEY_RSA = 3, /* RSA_BITS, default 2048 */
  VIGIL_SGN_KEY_ED25519 = 4,
};

/* Certificate profiles (values of PROFILE). */
enum vigil_sgn_profile {
  VIGIL_SGN_PROFILE_TLS_SERVER = 1, /* BR 7.1.2.7 TLS server */
};

/* CRL scopes (values of CRL_SCOPE). */
enum vigil_sgn_crl_scope {
  VIGIL_SGN_CRL_FULL = 0,      /* subscriber certificates, full or shard */
  VIGIL_SGN_CRL_USER_ONLY = 1, /* shard with onlyContainsUserCerts */
  VIGIL_SGN_CRL_CA_CERTS = 2,  /* an ARL (CA certificates) */
};

/* Outcomes of decoding. */
enum vigil_sgn_err {
  VIGIL_SGN_ERR_OK = 0,
  VIGIL_SGN_ERR_TRUNCATED,        /* fewer bytes than the length word says
                                     (or than the length word itself) */
  VIGIL_SGN_ERR_TRAILING,         /* bytes after the frame's declared end */
  VIGIL_SGN_ERR_TOO_LARGE,        /* declared frame over the bound */
  VIGIL_SGN_ERR_SHORT,            /* declared length below the header */
  VIGIL_SGN_ERR_MAGIC,            /* magic is not VIGIL_SGN_MAGIC */
  VIGIL_SGN_ERR_VERSION,          /* version not VIGIL_SGN_VERSION */
  VIGIL_SGN_ERR_KIND,             /* kind neither request nor reply */
  VIGIL_SGN_ERR_OP,               /* unknown op (or NONE in a request or a
                                     successful reply) */
  VIGIL_SGN_ERR_STATUS,           /* request with a status, or an unknown
                                     status */
  VIGIL_SGN_ERR_RESERVED,         /* reserved header bits not zero */
  VIGIL_SGN_ERR_TOO_MANY_FIELDS,  /* num_fields over VIGIL_SGN_MAX_FIELDS */
  VIGIL_SGN_ERR_FIELD_TRUNCATED,  /* a field runs past the frame's end */
  VIGIL_SGN_ERR_FIELD_COUNT,      /* fields end before num_fields, or bytes
                                     remain after them */
  VIGIL_SGN_ERR_UNKNOWN_TAG,      /* tag not defined for this op and kind */
  VIGIL_SGN_ERR_DUPLICATE,        /* a non-repeatable tag appears twice */
  VIGIL_SGN_ERR_FIELD_LENGTH,     /* value length outside the tag's bounds */
  VIGIL_SGN_ERR_FIELD_VALUE,      /* integer value outside the tag's range */
  VIGIL_SGN_ERR_TEXT,             /* text with a control character or DEL */
  VIGIL_SGN_ERR_ENTRY,            /* malformed entry record */
  VIGIL_SGN_ERR_MISSING,          /* a required field is absent */
  VIGIL_SGN_ERR_TOO_MANY_REPEATS, /* a repeatable tag over its limit */
};

/* --- Decoded messages ---------------------------------------------------- */

/* A decoded frame: header values and a view of the fields, which point
 * into the caller's frame buffer (valid while it is). */
struct vigil_sgn_msg {
  uint8_t version;              /* VIGIL_SGN_VERSION */
  enum vigil_sgn_kind kind;     /* request or reply */
  enum vigil_sgn_op op;         /* the operation */
  enum vigil_sgn_status status; /* VIGIL_SGN_OK in requests */
  uint32_t id;                  /* request id, echoed in the reply */
  uint32_t num_fields;          /* fields at |fields| */
  const uint8_t *fields;        /* first field */
  size_t fields_len;            /* bytes of all fields */
};

/* One field: a view into the frame. */
struct vigil_sgn_field {
  uint16_t tag;         /* enum vigil_sgn_tag */
  const uint8_t *value; /* value bytes */
  size_t len;           /* bytes at |value| */
};

/* Iterator over the fields of a message. */
struct vigil_sgn_iter {
  const uint8_t *p; /* next field */
  size_t left;      /* bytes from |p| to the end of the fields */
};

/* One revocation-status record of an ENTRIES field. */
struct vigil_sgn_entry {
  const uint8_t *serial; /* INTEGER contents, 1..21 bytes (a view) */
  size_t serial_len;     /* bytes at |serial| */
  uint8_t status;        /* 0 good, 1 revoked */
  int64_t revoked_at;    /* revoked: Unix seconds; good: 0 */
  int reason;            /* revoked: RFC 5280 code 0..10 (not 7), or -1
                            for none; good: -1 */
};

/* Iterator over every entry record of every ENTRIES field of a message. */
struct vigil_sgn_entry_iter {
  struct vigil_sgn_iter fields; /* position among the fields */
  const uint8_t *p;             /* next record in the current field */
  size_t left;                  /* bytes left in the current field */
};

/* vigil_sgn_frame_len looks at the start of a frame, |buf| (|buf_len|
 * bytes available so far), and on VIGIL_SGN_ERR_OK sets |*out_len| to the
 * whole frame's length (length word included). Returns
 * VIGIL_SGN_ERR_TRUNCATED while fewer than 4 bytes are there (read more),
 * VIGIL_SGN_ERR_SHORT or VIGIL_SGN_ERR_TOO_LARGE when the declared length
 * is below the header or above |max_frame| (itself capped at
 * VIGIL_SGN_MAX_FRAME). |*out_len| is untouched on failure. */
enum vigil_sgn_err vigil_sgn_frame_len(size_t *out_len, const uint8_t *buf,
                                       size_t buf_len,
                                       size_t max_frame) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_decode decodes exactly one frame, |frame| (|frame_len| bytes),
 * no larger than |max_frame| (capped at VIGIL_SGN_MAX_FRAME), and checks
 * it against the schema of its op and kind (see the file comment). On
 * VIGIL_SGN_ERR_OK fills |*out| with views into |frame|. On failure
 * returns the first problem found, in this order: framing, header,
 * fields, schema; |*out| is zeroed, except that once the header decoded
 * (any error from UNKNOWN_TAG... on, and TOO_MANY_FIELDS, FIELD_TRUNCATED,
 * FIELD_COUNT) its op, kind and id are kept so an error reply can echo
 * them. Never reads outside |frame|. */
enum vigil_sgn_err vigil_sgn_decode(struct vigil_sgn_msg *out,
                                    const uint8_t *frame, size_t frame_len,
                                    size_t max_frame) VIGIL_SGN_MUST_CHECK;

/* --- Reading fields of a decoded message ---------------------------------
 * These assume |msg| came from vigil_sgn_decode (so lengths are valid).
 * An absent optional field is normal, so the getters' results need not be
 * checked when the caller initialised the output with its default. */

/* vigil_sgn_iter_init positions |it| before the first field of |msg|. */
void vigil_sgn_iter_init(struct vigil_sgn_iter *it,
                         const struct vigil_sgn_msg *msg);

/* vigil_sgn_iter_next sets |*out| to the next field and returns 1, or
 * returns 0 at the end. */
int vigil_sgn_iter_next(struct vigil_sgn_iter *it,
                        struct vigil_sgn_field *out) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_find sets |*out| to the first field with |tag| and returns 1,
 * or returns 0 if there is none. */
int vigil_sgn_find(const struct vigil_sgn_msg *msg, struct vigil_sgn_field *out,
                   uint16_t tag);

/* vigil_sgn_count returns how many fields with |tag| |msg| holds. */
size_t vigil_sgn_count(const struct vigil_sgn_msg *msg, uint16_t tag);

/* vigil_sgn_get_u8 / _u32 / _i64 set |*out| from the first field with
 * |tag| and return 1, or return 0 (|*out| untouched) when it is absent.
 * The tag must be of that type. */
int vigil_sgn_get_u8(const struct vigil_sgn_msg *msg, uint8_t *out,
                     uint16_t tag);
int vigil_sgn_get_u32(const struct vigil_sgn_msg *msg, uint32_t *out,
                      uint16_t tag);
int vigil_sgn_get_i64(const struct vigil_sgn_msg *msg, int64_t *out,
                      uint16_t tag);

/* vigil_sgn_get_text copies the first field with |tag| into |out| (|out_len|
 * bytes) with a terminating NUL and returns 1; returns 0 if the field is
 * absent or does not fit (then |out| holds "" if |out_len| > 0). */
int vigil_sgn_get_text(const struct vigil_sgn_msg *msg, char *out,
                       size_t out_len, uint16_t tag);

/* vigil_sgn_entries_init positions |it| before the first entry record of
 * |msg|'s ENTRIES fields. */
void vigil_sgn_entries_init(struct vigil_sgn_entry_iter *it,
                            const struct vigil_sgn_msg *msg);

/* vigil_sgn_entries_next sets |*out| to the next entry record (views into
 * the frame) and returns 1, or returns 0 at the end. */
int vigil_sgn_entries_next(struct vigil_sgn_entry_iter *it,
                           struct vigil_sgn_entry *out) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_entries_count returns the number of entry records of |msg|. */
size_t vigil_sgn_entries_count(const struct vigil_sgn_msg *msg);

/* --- Encoding ------------------------------------------------------------ */

/* A frame being written into caller memory. Errors are sticky: once a put
 * fails (no room, too many fields, misuse) every later call fails and
 * vigil_sgn_writer_finish returns 0, so callers may check only there. */
struct vigil_sgn_writer {
  uint8_t *buf;        /* the caller's buffer */
  size_t cap;          /* its size */
  size_t len;          /* bytes written so far */
  uint32_t num_fields; /* fields written so far */
  size_t open;         /* offset of a reserved field's header, or SIZE_MAX */
  size_t open_max;     /* bytes reserved for it */
  int failed;          /* a put failed */
};

/* vigil_sgn_writer_init starts a frame with the given header in |buf|
 * (|cap| bytes, at least VIGIL_SGN_HEADER_LEN or the writer fails). The
 * writer does not check that fields suit the op: the receiver's decoder
 * does. */
void vigil_sgn_writer_init(struct vigil_sgn_writer *w, uint8_t *buf, size_t cap,
                           enum vigil_sgn_kind kind, enum vigil_sgn_op op,
                           enum vigil_sgn_status status, uint32_t id);

/* vigil_sgn_put appends a field with |len| bytes from |value| (which may be
 * NULL when |len| is 0). Returns 1, or 0 if it does not fit. */
int vigil_sgn_put(struct vigil_sgn_writer *w, uint16_t tag, const void *value,
                  size_t len);

/* vigil_sgn_put_u8 / _u32 / _i64 append an integer field; _text appends
 * the NUL-terminated |s| without its NUL. Return 1, or 0 if it does not
 * fit. */
int vigil_sgn_put_u8(struct vigil_sgn_writer *w, uint16_t tag, uint8_t v);
int vigil_sgn_put_u32(struct vigil_sgn_writer *w, uint16_t tag, uint32_t v);
int vigil_sgn_put_i64(struct vigil_sgn_writer *w, uint16_t tag, int64_t v);
int vigil_sgn_put_text(struct vigil_sgn_writer *w, uint16_t tag, const char *s);

/* vigil_sgn_put_reserve opens a field with |tag| and returns where its
 * value (up to |max_len| bytes) is to be written in place, or NULL if
 * that does not fit. Close it with vigil_sgn_put_commit before any other
 * put; this lets a caller sign straight into the frame. */
uint8_t *vigil_sgn_put_reserve(struct vigil_sgn_writer *w, uint16_t tag,
                               size_t max_len);

/* vigil_sgn_put_commit closes the reserved field with |len| (<= the
 * reserved size) value bytes. Returns 1, or 0 on misuse. */
int vigil_sgn_put_commit(struct vigil_sgn_writer *w, size_t len);

/* vigil_sgn_writer_finish completes the frame (length word and field
 * count) and sets |*out_len| to its length. Returns 1, or 0 if any put
 * failed, a reserved field is still open, or the frame exceeds
 * VIGIL_SGN_MAX_FRAME or VIGIL_SGN_MAX_FIELDS (|*out_len| then 0). */
int vigil_sgn_writer_finish(struct vigil_sgn_writer *w,
                            size_t *out_len) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_entry_encode writes |e| as one entry record (see
 * docs/signer.md) to |out| (|out_cap| bytes) and returns its length
 * (VIGIL_SGN_ENTRY_FIXED + serial_len), or 0 if it does not fit or |e| is
 * not encodable (serial length 0 or over 21, status not 0/1, reason not
 * -1..10). The writer does not apply the decoder's other rules. */
size_t vigil_sgn_entry_encode(uint8_t *out, size_t out_cap,
                              const struct vigil_sgn_entry *e);

/* --- Helpers ------------------------------------------------------------- */

/* vigil_sgn_frame_set_id rewrites the id in an encoded frame (at least
 * VIGIL_SGN_HEADER_LEN bytes). */
void vigil_sgn_frame_set_id(uint8_t *frame, uint32_t id);

/* vigil_sgn_frame_get_id reads the id of an encoded frame (at least
 * VIGIL_SGN_HEADER_LEN bytes). */
uint32_t vigil_sgn_frame_get_id(const uint8_t *frame);

/* vigil_sgn_err_string, vigil_sgn_status_string, vigil_sgn_op_name and
 * vigil_sgn_tag_name return static names ("?" for undefined values). */
const char *vigil_sgn_err_string(enum vigil_sgn_err err);
const char *vigil_sgn_status_string(enum vigil_sgn_status status);
const char *vigil_sgn_op_name(enum vigil_sgn_op op);
const char *vigil_sgn_tag_name(uint16_t tag);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_SGNPROTO_H */
