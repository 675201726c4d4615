/* sgn_call.c: vigil-test-sgn_call, a command-line client of vigil-signer for
 * the integration test and for operators poking at a signer by hand. It
 * builds one request with vigil/sgnproto.h, sends it with vigil/sgnclient.h
 * and writes what comes back to files (PEM/DER) and "key value" lines on
 * stdout.
 *
 *   vigil-test-sgn_call --socket PATH [--timeout MS] OP [options]
 *
 *   ping
 *   create-root --issuer ID --cn CN [--o O] [--c CC] [--key-type T]
 *               [--rsa-bits N] --validity S [--out ca.pem]
 *   create-intermediate ... as create-root plus --parent ID [--path-len N]
 *               [--ocsp-url U] [--crl-url U] [--ca-issuers-url U]
 *   issuer-info --issuer ID [--out ca.pem] [--responder-out r.pem]
 *   issue-csr --issuer ID --csr FILE --validity S [--dns D]... [--ip A]...
 *               [--cn CN] [--ocsp-url U] [--crl-url U] [--out leaf.pem]
 *   issue-generated --issuer ID [--cn CN] [--dns D]... [--ip A]...
 *               [--key-type T] --validity S [--out leaf.pem]
 *               [--key-out leaf.key]
 *   presign --issuer ID --validity S [--this-update T] [--entries FILE]
 *               [--entry SPEC]... [--out-dir DIR]
 *   sign-crl --issuer ID --number N --this-update T --next-update T
 *               [--idp URI] [--scope full|user|ca] [--entries FILE]
 *               [--entry SPEC]... --out crl.der
 *   mint-responder --issuer ID [--force] [--out r.pem]
 *   export-responder --issuer ID --dest DIR [--confirm] [--operator NAME]
 *   seal --digest HEX --context C [--sig-out F] [--pub-out F]
 *   raw --frame-hex HEX   (send bytes as they are; print the reply status)
 *
 * Key types: p256 p384 rsa ed25519. Times: epoch seconds, "now", "now+N",
 * "now-N". An entry SPEC / entries-file line is "SERIALHEX good" or
 * "SERIALHEX revoked AT REASON" (REASON: a camelCase name, a number or
 * "none"; in --entry use ':' instead of spaces).
 *
 * Exit status: 0 success, 2 usage, 3 the signer answered with an error
 * status (printed on stderr as "status NAME detail D index I: message"),
 * 4 the call failed (connection, timeout, protocol). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "vigil/cert.h"
#include "vigil/hex.h"
#include "vigil/log.h"
#include "vigil/ocsp.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"

#define MAX_LIST   256
#define MAX_FILE   (1024 * 1024)
#define MAX_ENTRY_ (VIGIL_SGN_ENTRY_MAX_LEN)

struct opts {
  const char *socket;
  int timeout;
  const char *op;
  const char *issuer, *parent, *cn, *o, *c, *key_type, *csr, *out;
  const char *responder_out, *key_out, *out_dir, *entries, *idp, *scope;
  const char *dest, *operator_name, *digest, *context, *sig_out, *pub_out;
  const char *frame_hex, *ocsp_url, *crl_url, *ca_issuers_url, *number;
  const char *this_update, *next_update;
  long long validity, rsa_bits, path_len;
  int force, confirm;
  const char *dns[MAX_LIST];
  size_t num_dns;
  const char *ip[MAX_LIST];
  size_t num_ip;
  const char *entry[MAX_LIST];
  size_t num_entry;
};

static int usage(void) {
  fputs(
      "usage: vigil-test-sgn_call --socket PATH OP [options] (see the "
      "source header)\n",
      stderr);
  return 2;
}

static int parse_ll(long long *out, const char *s) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_time(int64_t *out, const char *s) {
  long long v = 0;
  int64_t now = (int64_t)time(NULL);
  if (strcmp(s, "now") == 0) {
    *out = now;
    return 1;
  }
  if (strncmp(s, "now+", 4) == 0 && parse_ll(&v, s + 4)) {
    *out = now + v;
    return 1;
  }
  if (strncmp(s, "now-", 4) == 0 && parse_ll(&v, s + 4)) {
    *out = now - v;
    return 1;
  }
  if (parse_ll(&v, s)) {
    *out = v;
    return 1;
  }
  return 0;
}

static int parse_args(struct opts *o, int argc, char **argv) {
  memset(o, 0, sizeof(*o));
  o->timeout = 120000;
  o->validity = -1;
  o->rsa_bits = -1;
  o->path_len = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long long n;
#define STR_OPT(name, field)               \
  if (strcmp(a, name) == 0 && v != NULL) { \
    o->field = v;                          \
    i++;                                   \
    continue;                              \
  }
#define NUM_OPT(name, field)                                  \
  if (strcmp(a, name) == 0 && v != NULL && parse_ll(&n, v)) { \
    o->field = n;                                             \
    i++;                                                      \
    continue;                                                 \
  }
#define LIST_OPT(name, arr, num)                                \
  if (strcmp(a, name) == 0 && v != NULL && o->num < MAX_LIST) { \
    o->arr[o->num++] = v;                                       \
    i++;                                                        \
    continue;                                                   \
  }
    STR_OPT("--socket", socket)
    STR_OPT("--issuer", issuer)
    STR_OPT("--parent", parent)
    STR_OPT("--cn", cn)
    STR_OPT("--o", o)
    STR_OPT("--c", c)
    STR_OPT("--key-type", key_type)
    STR_OPT("--csr", csr)
    STR_OPT("--out", out)
    STR_OPT("--responder-out", responder_out)
    STR_OPT("--key-out", key_out)
    STR_OPT("--out-dir", out_dir)
    STR_OPT("--entries", entries)
    STR_OPT("--idp", idp)
    STR_OPT("--scope", scope)
    STR_OPT("--dest", dest)
    STR_OPT("--operator", operator_name)
    STR_OPT("--digest", digest)
    STR_OPT("--context", context)
    STR_OPT("--sig-out", sig_out)
    STR_OPT("--pub-out", pub_out)
    STR_OPT("--frame-hex", frame_hex)
    STR_OPT("--ocsp-url", ocsp_url)
    STR_OPT("--crl-url", crl_url)
    STR_OPT("--ca-issuers-url", ca_issuers_url)
    STR_OPT("--number", number)
    STR_OPT("--this-update", this_update)
    STR_OPT("--next-update", next_update)
    NUM_OPT("--validity", validity)
    NUM_OPT("--rsa-bits", rsa_bits)
    NUM_OPT("--path-len", path_len)
    LIST_OPT("--dns", dns, num_dns)
    LIST_OPT("--ip", ip, num_ip)
    LIST_OPT("--entry", entry, num_entry)
    if (strcmp(a, "--timeout") == 0 && v != NULL && parse_ll(&n, v)) {
      o->timeout = (int)n;
      i++;
      continue;
    }
    if (strcmp(a, "--force") == 0) {
      o->force = 1;
      continue;
    }
    if (strcmp(a, "--confirm") == 0) {
      o->confirm = 1;
      continue;
    }
    if (a[0] != '-' && o->op == NULL) {
      o->op = a;
      continue;
    }
    fprintf(stderr, "sgn_call: bad option %s\n", a);
    return 0;
  }
  return o->socket != NULL && o->op != NULL;
}

/* ======================================================================
 * Files
 * ====================================================================== */

static uint8_t *read_file(const char *path, size_t *out_len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  uint8_t *buf = malloc(MAX_FILE);
  size_t n = buf != NULL ? fread(buf, 1, MAX_FILE, f) : 0;
  fclose(f);
  if (buf == NULL || n == MAX_FILE) {
    free(buf);
    return NULL;
  }
  *out_len = n;
  return buf;
}

static int write_file(const char *path, const uint8_t *p, size_t len,
                      mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return 0;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, p + off, len - off);
    if (w <= 0) {
      close(fd);
      return 0;
    }
    off += (size_t)w;
  }
  return close(fd) == 0;
}

static int write_pem(const char *path, const char *label, const uint8_t *der,
                     size_t len, mode_t mode) {
  CBB cbb;
  uint8_t *pem = NULL;
  size_t pem_len = 0;
  if (!CBB_init(&cbb, 2 * len + 128) ||
      !vigil_pem_encode(&cbb, label, der, len) ||
      !CBB_finish(&cbb, &pem, &pem_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  int ok = write_file(path, pem, pem_len, mode);
  OPENSSL_free(pem);
  return ok;
}

/* ======================================================================
 * Entries
 * ====================================================================== */

struct entries {
  uint8_t *buf; /* packed records */
  size_t len;
  size_t cap;
  size_t num;
};

/* add_entry parses "SERIALHEX good" / "SERIALHEX revoked AT REASON" with
 * |sep| between fields. */
static int add_entry(struct entries *es, char *spec, char sep) {
  char *fields[4] = { NULL, NULL, NULL, NULL };
  size_t nf = 0;
  char *p = spec;
  while (nf < 4 && p != NULL && *p != '\0') {
    while (*p == sep) {
      p++;
    }
    if (*p == '\0' || *p == '\n') {
      break;
    }
    fields[nf++] = p;
    char *q = p;
    while (*q != '\0' && *q != sep && *q != '\n') {
      q++;
    }
    if (*q == '\0') {
      p = NULL;
    } else {
      *q = '\0';
      p = q + 1;
    }
  }
  if (nf < 2) {
    return 0;
  }
  uint8_t serial[VIGIL_SGN_MAX_SERIAL];
  struct vigil_sgn_entry e;
  memset(&e, 0, sizeof(e));
  if (!vigil_hex_decode(serial, &e.serial_len, sizeof(serial), fields[0],
                        strlen(fields[0])) ||
      e.serial_len == 0) {
    return 0;
  }
  e.serial = serial;
  e.reason = -1;
  if (strcmp(fields[1], "good") == 0) {
    e.status = 0;
  } else if (strcmp(fields[1], "revoked") == 0 && nf == 4) {
    long long r;
    e.status = 1;
    if (!parse_time(&e.revoked_at, fields[2])) {
      return 0;
    }
    enum vigil_reason rs;
    if (strcmp(fields[3], "none") == 0) {
      e.reason = -1;
    } else if (vigil_reason_from_name(&rs, fields[3], strlen(fields[3]))) {
      e.reason = (int)rs;
    } else if (parse_ll(&r, fields[3])) {
      e.reason = (int)r;
    } else {
      return 0;
    }
  } else {
    return 0;
  }
  if (es->cap - es->len < VIGIL_SGN_ENTRY_MAX_LEN) {
    size_t ncap = es->cap == 0 ? 4096 : es->cap * 2;
    uint8_t *nb = realloc(es->buf, ncap);
    if (nb == NULL) {
      return 0;
    }
    es->buf = nb;
    es->cap = ncap;
  }
  size_t n = vigil_sgn_entry_encode(es->buf + es->len, es->cap - es->len, &e);
  if (n == 0) {
    return 0;
  }
  es->len += n;
  es->num++;
  return 1;
}

static int load_entries(struct entries *es, const struct opts *o) {
  if (o->entries != NULL) {
    FILE *f = fopen(o->entries, "r");
    char line[512];
    if (f == NULL) {
      fprintf(stderr, "sgn_call: cannot open %s\n", o->entries);
      return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
      if (line[0] == '\n' || line[0] == '#') {
        continue;
      }
      if (!add_entry(es, line, ' ')) {
        fprintf(stderr, "sgn_call: bad entry line: %s", line);
        fclose(f);
        return 0;
      }
    }
    fclose(f);
  }
  for (size_t i = 0; i < o->num_entry; i++) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", o->entry[i]);
    if (!add_entry(es, buf, ':')) {
      fprintf(stderr, "sgn_call: bad --entry %s\n", o->entry[i]);
      return 0;
    }
  }
  return 1;
}

/* ======================================================================
 * Requests
 * ====================================================================== */

static int key_type_code(uint8_t *out, const char *name) {
  if (name == NULL || strcmp(name, "p256") == 0) {
    *out = VIGIL_SGN_KEY_P256;
  } else if (strcmp(name, "p384") == 0) {
    *out = VIGIL_SGN_KEY_P384;
  } else if (strcmp(name, "rsa") == 0) {
    *out = VIGIL_SGN_KEY_RSA;
  } else if (strcmp(name, "ed25519") == 0) {
    *out = VIGIL_SGN_KEY_ED25519;
  } else {
    return 0;
  }
  return 1;
}

static void put_opt_text(struct vigil_sgn_writer *w, uint16_t tag,
                         const char *s) {
  if (s != NULL) {
    vigil_sgn_put_text(w, tag, s);
  }
}

static int put_sans(struct vigil_sgn_writer *w, const struct opts *o) {
  for (size_t i = 0; i < o->num_dns; i++) {
    vigil_sgn_put_text(w, VIGIL_SGN_T_SAN_DNS, o->dns[i]);
  }
  for (size_t i = 0; i < o->num_ip; i++) {
    uint8_t a[16];
    if (inet_pton(AF_INET, o->ip[i], a) == 1) {
      vigil_sgn_put(w, VIGIL_SGN_T_SAN_IP, a, 4);
    } else if (inet_pton(AF_INET6, o->ip[i], a) == 1) {
      vigil_sgn_put(w, VIGIL_SGN_T_SAN_IP, a, 16);
    } else {
      fprintf(stderr, "sgn_call: bad IP %s\n", o->ip[i]);
      return 0;
    }
  }
  return 1;
}

static void put_key_type(struct vigil_sgn_writer *w, const struct opts *o,
                         uint8_t kt) {
  if (o->key_type != NULL) {
    vigil_sgn_put_u8(w, VIGIL_SGN_T_KEY_TYPE, kt);
  }
  if (o->rsa_bits >= 0) {
    vigil_sgn_put_u32(w, VIGIL_SGN_T_RSA_BITS, (uint32_t)o->rsa_bits);
  }
}

/* build writes the request for |o| into |w|. Returns 1, or 0 on a usage
 * error (message printed). */
static int build(struct vigil_sgn_writer *w, const struct opts *o,
                 const struct entries *es, const uint8_t *csr, size_t csr_len) {
  uint8_t kt = 0;
  if (!key_type_code(&kt, o->key_type)) {
    fprintf(stderr, "sgn_call: bad --key-type\n");
    return 0;
  }
  put_opt_text(w, VIGIL_SGN_T_ISSUER_ID, o->issuer);
  if (o->validity >= 0) {
    vigil_sgn_put_i64(w, VIGIL_SGN_T_VALIDITY, o->validity);
  }
  const char *op = o->op;
  if (strcmp(op, "create-root") == 0 ||
      strcmp(op, "create-intermediate") == 0) {
    put_opt_text(w, VIGIL_SGN_T_PARENT_ID, o->parent);
    put_opt_text(w, VIGIL_SGN_T_SUBJECT_CN, o->cn);
    put_opt_text(w, VIGIL_SGN_T_SUBJECT_O, o->o);
    put_opt_text(w, VIGIL_SGN_T_SUBJECT_C, o->c);
    put_key_type(w, o, kt);
    if (o->path_len >= 0) {
      vigil_sgn_put_u32(w, VIGIL_SGN_T_PATH_LEN, (uint32_t)o->path_len);
    }
    put_opt_text(w, VIGIL_SGN_T_OCSP_URL, o->ocsp_url);
    put_opt_text(w, VIGIL_SGN_T_CRL_URL, o->crl_url);
    put_opt_text(w, VIGIL_SGN_T_CA_ISSUERS_URL, o->ca_issuers_url);
  } else if (strcmp(op, "issue-csr") == 0 ||
             strcmp(op, "issue-generated") == 0) {
    if (csr != NULL) {
      vigil_sgn_put(w, VIGIL_SGN_T_CSR, csr, csr_len);
    }
    put_opt_text(w, VIGIL_SGN_T_SUBJECT_CN, o->cn);
    put_opt_text(w, VIGIL_SGN_T_SUBJECT_O, o->o);
    if (!put_sans(w, o)) {
      return 0;
    }
    if (strcmp(op, "issue-generated") == 0) {
      put_key_type(w, o, kt);
    }
    put_opt_text(w, VIGIL_SGN_T_OCSP_URL, o->ocsp_url);
    put_opt_text(w, VIGIL_SGN_T_CRL_URL, o->crl_url);
    put_opt_text(w, VIGIL_SGN_T_CA_ISSUERS_URL, o->ca_issuers_url);
  } else if (strcmp(op, "presign") == 0 || strcmp(op, "sign-crl") == 0) {
    int64_t t;
    if (o->this_update != NULL) {
      if (!parse_time(&t, o->this_update)) {
        return 0;
      }
      vigil_sgn_put_i64(w, VIGIL_SGN_T_THIS_UPDATE, t);
    }
    if (o->next_update != NULL) {
      if (!parse_time(&t, o->next_update)) {
        return 0;
      }
      vigil_sgn_put_i64(w, VIGIL_SGN_T_NEXT_UPDATE, t);
    }
    if (o->number != NULL) {
      uint8_t num[20];
      size_t n = 0;
      if (!vigil_hex_decode(num, &n, sizeof(num), o->number,
                            strlen(o->number))) {
        fprintf(stderr, "sgn_call: --number wants hex\n");
        return 0;
      }
      vigil_sgn_put(w, VIGIL_SGN_T_CRL_NUMBER, num, n);
    }
    put_opt_text(w, VIGIL_SGN_T_IDP_URI, o->idp);
    if (o->scope != NULL) {
      uint8_t sc = strcmp(o->scope, "user") == 0 ? VIGIL_SGN_CRL_USER_ONLY
                   : strcmp(o->scope, "ca") == 0 ? VIGIL_SGN_CRL_CA_CERTS
                                                 : VIGIL_SGN_CRL_FULL;
      vigil_sgn_put_u8(w, VIGIL_SGN_T_CRL_SCOPE, sc);
    }
    /* One ENTRIES field per ~1 MiB keeps fields of a sane size. */
    size_t off = 0;
    while (off < es->len) {
      size_t chunk = es->len - off;
      if (chunk > (1u << 20)) {
        /* Cut on a record boundary. */
        size_t c = 0;
        while (c < (1u << 20)) {
          size_t rl = VIGIL_SGN_ENTRY_FIXED + es->buf[off + c];
          c += rl;
        }
        chunk = c;
      }
      vigil_sgn_put(w, VIGIL_SGN_T_ENTRIES, es->buf + off, chunk);
      off += chunk;
    }
  } else if (strcmp(op, "mint-responder") == 0) {
    if (o->force) {
      vigil_sgn_put_u8(w, VIGIL_SGN_T_FORCE, 1);
    }
  } else if (strcmp(op, "export-responder") == 0) {
    put_opt_text(w, VIGIL_SGN_T_DEST_DIR, o->dest);
    vigil_sgn_put_u8(w, VIGIL_SGN_T_CONFIRM, (uint8_t)o->confirm);
    put_opt_text(w, VIGIL_SGN_T_OPERATOR,
                 o->operator_name != NULL ? o->operator_name : "sgn_call");
  } else if (strcmp(op, "seal") == 0) {
    uint8_t d[64];
    size_t n = 0;
    if (o->digest == NULL ||
        !vigil_hex_decode(d, &n, sizeof(d), o->digest, strlen(o->digest))) {
      fprintf(stderr, "sgn_call: --digest wants hex\n");
      return 0;
    }
    vigil_sgn_put(w, VIGIL_SGN_T_DIGEST, d, n);
    put_opt_text(w, VIGIL_SGN_T_CONTEXT, o->context);
  }
  return 1;
}

static const struct {
  const char *name;
  enum vigil_sgn_op op;
} kOps[] = {
  { "ping", VIGIL_SGN_OP_PING },
  { "create-root", VIGIL_SGN_OP_CREATE_ROOT },
  { "create-intermediate", VIGIL_SGN_OP_CREATE_INTERMEDIATE },
  { "issuer-info", VIGIL_SGN_OP_ISSUER_INFO },
  { "issue-csr", VIGIL_SGN_OP_ISSUE_CSR },
  { "issue-generated", VIGIL_SGN_OP_ISSUE_GENERATED },
  { "presign", VIGIL_SGN_OP_PRESIGN_BATCH },
  { "sign-crl", VIGIL_SGN_OP_SIGN_CRL },
  { "mint-responder", VIGIL_SGN_OP_MINT_RESPONDER },
  { "export-responder", VIGIL_SGN_OP_EXPORT_RESPONDER },
  { "seal", VIGIL_SGN_OP_SEAL },
};

/* ======================================================================
 * Replies
 * ====================================================================== */

static void print_hex_field(const struct vigil_sgn_msg *m, uint16_t tag,
                            const char *label) {
  struct vigil_sgn_field f;
  if (vigil_sgn_find(m, &f, tag)) {
    char hex[2 * 64 + 1];
    size_t n = f.len > 64 ? 64 : f.len;
    vigil_hex_encode(hex, f.value, n);
    printf("%s %s\n", label, hex);
  }
}

static void print_i64_field(const struct vigil_sgn_msg *m, uint16_t tag,
                            const char *label) {
  int64_t v;
  if (vigil_sgn_get_i64(m, &v, tag)) {
    printf("%s %lld\n", label, (long long)v);
  }
}

static int save_cert(const struct vigil_sgn_msg *m, uint16_t tag,
                     const char *path) {
  struct vigil_sgn_field f;
  if (path == NULL || !vigil_sgn_find(m, &f, tag)) {
    return 1; /* not asked for, or not in this reply */
  }
  if (!write_pem(path, "CERTIFICATE", f.value, f.len, 0644)) {
    fprintf(stderr, "sgn_call: cannot write %s\n", path);
    return 0;
  }
  return 1;
}

static int handle_reply(const struct opts *o, const struct vigil_sgn_msg *m,
                        double secs) {
  struct vigil_sgn_field f;
  print_hex_field(m, VIGIL_SGN_T_KEY_SHA1, "key_sha1");
  print_hex_field(m, VIGIL_SGN_T_NAME_SHA1, "name_sha1");
  print_hex_field(m, VIGIL_SGN_T_SERIAL, "serial");
  print_i64_field(m, VIGIL_SGN_T_TIME, "time");
  print_i64_field(m, VIGIL_SGN_T_NOT_AFTER, "not_after");
  print_i64_field(m, VIGIL_SGN_T_RESPONDER_NOT_AFTER, "responder_not_after");
  print_i64_field(m, VIGIL_SGN_T_THIS_UPDATE, "this_update");
  print_i64_field(m, VIGIL_SGN_T_NEXT_UPDATE, "next_update");
  print_i64_field(m, VIGIL_SGN_T_SEALED_AT, "sealed_at");
  uint32_t ni;
  if (vigil_sgn_get_u32(m, &ni, VIGIL_SGN_T_NUM_ISSUERS)) {
    printf("num_issuers %u\n", ni);
  }
  if (vigil_sgn_find(m, &f, VIGIL_SGN_T_RESPONDER_CERT)) {
    printf("responder yes\n");
  }
  int ok = save_cert(m, VIGIL_SGN_T_CERT, o->out) &&
           save_cert(m, VIGIL_SGN_T_RESPONDER_CERT,
                     m->op == VIGIL_SGN_OP_MINT_RESPONDER ||
                             m->op == VIGIL_SGN_OP_EXPORT_RESPONDER
                         ? o->out
                         : o->responder_out);
  if (ok && o->key_out != NULL &&
      vigil_sgn_find(m, &f, VIGIL_SGN_T_PRIVATE_KEY)) {
    ok = write_file(o->key_out, f.value, f.len, 0600);
  }
  if (ok && m->op == VIGIL_SGN_OP_SIGN_CRL && o->out != NULL &&
      vigil_sgn_find(m, &f, VIGIL_SGN_T_CRL)) {
    ok = write_file(o->out, f.value, f.len, 0644);
  }
  if (ok && m->op == VIGIL_SGN_OP_SEAL) {
    if (o->sig_out != NULL && vigil_sgn_find(m, &f, VIGIL_SGN_T_SIGNATURE)) {
      ok = write_file(o->sig_out, f.value, f.len, 0644);
    }
    if (ok && o->pub_out != NULL &&
        vigil_sgn_find(m, &f, VIGIL_SGN_T_AUDIT_SPKI)) {
      ok = write_pem(o->pub_out, "PUBLIC KEY", f.value, f.len, 0644);
    }
  }
  if (m->op == VIGIL_SGN_OP_PRESIGN_BATCH) {
    struct vigil_sgn_iter it;
    size_t n = 0;
    vigil_sgn_iter_init(&it, m);
    while (ok && vigil_sgn_iter_next(&it, &f)) {
      if (f.tag != VIGIL_SGN_T_OCSP_RESPONSE) {
        continue;
      }
      if (o->out_dir != NULL) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%zu.der", o->out_dir, n);
        ok = write_file(path, f.value, f.len, 0644);
      }
      n++;
    }
    printf("responses %zu\n", n);
    if (secs > 0) {
      printf("rate %.0f/s\n", (double)n / secs);
    }
  }
  if (!ok) {
    fprintf(stderr, "sgn_call: cannot write the output files\n");
  }
  return ok ? 0 : 4;
}

/* ======================================================================
 * raw: send bytes as they are
 * ====================================================================== */

static int do_raw(const struct opts *o) {
  struct sockaddr_un sa;
  uint8_t frame[65536];
  size_t len = 0;
  if (o->frame_hex == NULL ||
      !vigil_hex_decode(frame, &len, sizeof(frame), o->frame_hex,
                        strlen(o->frame_hex))) {
    return usage();
  }
  memset(&sa, 0, sizeof(sa));
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->socket);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    perror("sgn_call: connect");
    return 4;
  }
  if (len > 0 && send(fd, frame, len, MSG_NOSIGNAL) != (ssize_t)len) {
    perror("sgn_call: send");
  }
  shutdown(fd, SHUT_WR);
  /* Read until the signer closes: a reply (maybe), then EOF. */
  static uint8_t buf[1 << 20];
  size_t got = 0;
  for (;;) {
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, o->timeout) <= 0) {
      printf("timeout\n");
      close(fd);
      return 4;
    }
    ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  if (got == 0) {
    printf("closed without reply\n");
    return 4;
  }
  struct vigil_sgn_msg m;
  enum vigil_sgn_err e = vigil_sgn_decode(&m, buf, got, VIGIL_SGN_MAX_FRAME);
  if (e != VIGIL_SGN_ERR_OK) {
    printf("undecodable reply: %s\n", vigil_sgn_err_string(e));
    return 4;
  }
  uint32_t detail = 0;
  char msg[1025];
  (void)vigil_sgn_get_u32(&m, &detail, VIGIL_SGN_T_ERROR_DETAIL);
  (void)vigil_sgn_get_text(&m, msg, sizeof(msg), VIGIL_SGN_T_ERROR_MESSAGE);
  printf("status %s detail %u op %s id %u: %s\n",
         vigil_sgn_status_string(m.status), detail, vigil_sgn_op_name(m.op),
         m.id, msg);
  return 0;
}

int main(int argc, char **argv) {
  struct opts o;
  struct entries es;
  uint8_t *csr = NULL;
  size_t csr_len = 0;
  uint8_t *frame = NULL;
  int rc = 4;
  memset(&es, 0, sizeof(es));
  if (!parse_args(&o, argc, argv)) {
    return usage();
  }
  if (strcmp(o.op, "raw") == 0) {
    return do_raw(&o);
  }
  enum vigil_sgn_op op = VIGIL_SGN_OP_NONE;
  for (size_t i = 0; i < sizeof(kOps) / sizeof(kOps[0]); i++) {
    if (strcmp(kOps[i].name, o.op) == 0) {
      op = kOps[i].op;
    }
  }
  if (op == VIGIL_SGN_OP_NONE) {
    return usage();
  }
  if (o.csr != NULL) {
    csr = read_file(o.csr, &csr_len);
  }
  if (o.csr != NULL && csr == NULL) {
    fprintf(stderr, "sgn_call: cannot read %s\n", o.csr);
    return 2;
  }
  if (!load_entries(&es, &o)) {
    rc = 2;
    goto done;
  }
  size_t cap = VIGIL_SGN_MIN_FRAME + csr_len + es.len * 2;
  frame = malloc(cap);
  if (frame == NULL) {
    goto done;
  }
  struct vigil_sgn_writer w;
  size_t len = 0;
  vigil_sgn_writer_init(&w, frame, cap, VIGIL_SGN_REQUEST, op, VIGIL_SGN_OK, 0);
  if (!build(&w, &o, &es, csr, csr_len)) {
    rc = 2;
    goto done;
  }
  if (!vigil_sgn_writer_finish(&w, &len)) {
    fprintf(stderr, "sgn_call: request does not fit a frame\n");
    goto done;
  }
  enum vigil_sgnc_err ce;
  struct vigil_sgn_client *c =
      vigil_sgn_client_connect(&ce, o.socket, o.timeout, 0);
  if (c == NULL) {
    char eb[128];
    fprintf(stderr, "sgn_call: %s: %s (%s)\n", o.socket,
            vigil_sgnc_err_string(ce), vigil_strerror(errno, eb, sizeof(eb)));
    goto done;
  }
  struct vigil_sgn_msg reply;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  ce = vigil_sgn_client_call(c, &reply, frame, len, o.timeout);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (ce != VIGIL_SGNC_OK) {
    fprintf(stderr, "sgn_call: %s", vigil_sgnc_err_string(ce));
    if (ce == VIGIL_SGNC_ERR_PROTO) {
      fprintf(stderr, " (%s)",
              vigil_sgn_err_string(vigil_sgn_client_proto_err(c)));
    }
    fprintf(stderr, "\n");
  } else if (reply.status != VIGIL_SGN_OK) {
    uint32_t detail = 0;
    uint32_t index = UINT32_MAX;
    char msg[1025];
    (void)vigil_sgn_get_u32(&reply, &detail, VIGIL_SGN_T_ERROR_DETAIL);
    (void)vigil_sgn_get_u32(&reply, &index, VIGIL_SGN_T_ERROR_INDEX);
    (void)vigil_sgn_get_text(&reply, msg, sizeof(msg),
                             VIGIL_SGN_T_ERROR_MESSAGE);
    fprintf(stderr, "status %s detail %u index %ld: %s\n",
            vigil_sgn_status_string(reply.status), detail,
            index == UINT32_MAX ? -1L : (long)index, msg);
    rc = 3;
  } else {
    rc = handle_reply(&o, &reply, secs);
  }
  vigil_sgn_client_free(c);

done:
  free(frame);
  free(csr);
  free(es.buf);
  return rc;
}
