/* crl_sign.c: vigil-test-crl_sign, a command-line front end to
 * vigil_crl_build for the interop scripts (tests/interop/crl_*.sh). It
 * builds and signs one CRL and writes its DER to a file.
 *
 *   vigil-test-crl_sign --issuer CA.pem --key CA.key --number HEX
 *       --this-update T --next-update T [--entries FILE] [--idp URI]
 *       [--user-certs] [--ca-certs] --out CRL.der
 *
 * T is epoch seconds, "now", or "now+N" / "now-N" seconds. The entries
 * file has one revoked certificate per line: "SERIALHEX TIME REASON",
 * where SERIALHEX is the serial's value in hex (as `openssl x509 -serial`
 * prints it), TIME is as above and REASON is a camelCase RFC 5280 name
 * ("keyCompromise"), "none", or a decimal code (so that scripts can try
 * forbidden ones). Blank lines and lines starting with '#' are skipped.
 *
 * Exit status: 0 written; 1 usage, input or I/O error; 2 vigil_crl_build
 * refused (its reason, and the entry's line if any, go to stderr). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/crl.h"
#include "vigil/hex.h"
#include "vigil/key.h"
#include "vigil/ocsp.h"

#define MAX_LINE 256

struct entries {
  struct vigil_crl_entry *v; /* the entries (owned) */
  uint8_t *serials;          /* VIGIL_OCSP_MAX_SERIAL bytes per entry */
  size_t *lines;             /* input line of each entry */
  size_t num;
  size_t cap;
};

static void usage(void) {
  fprintf(stderr,
          "usage: vigil-test-crl_sign --issuer CA.pem --key CA.key\n"
          "  --number HEX --this-update T --next-update T [--entries FILE]\n"
          "  [--idp URI] [--user-certs] [--ca-certs] --out CRL.der\n"
          "T: epoch seconds, now, now+N, now-N\n");
}

/* parse_int64 parses a whole decimal string. */
static int parse_int64(int64_t *out, const char *s) {
  char *end = NULL;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = (int64_t)v;
  return 1;
}

/* parse_time accepts epoch seconds, now, now+N and now-N. */
static int parse_time(int64_t *out, const char *s, int64_t now) {
  int64_t n;
  if (strncmp(s, "now", 3) != 0) {
    return parse_int64(out, s);
  }
  s += 3;
  if (*s == '\0') {
    *out = now;
    return 1;
  }
  if ((*s != '+' && *s != '-') || !parse_int64(&n, s + 1) || n < 0) {
    return 0;
  }
  *out = *s == '+' ? now + n : now - n;
  return 1;
}

/* parse_serial turns the hex value |hex| into minimal DER INTEGER
 * contents in |out| (VIGIL_OCSP_MAX_SERIAL bytes). Non-minimal or
 * negative serials cannot be written this way; the unit test covers them. */
static int parse_serial(uint8_t *out, uint8_t *out_len, const char *hex) {
  char digits[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  uint8_t bytes[VIGIL_OCSP_MAX_SERIAL + 1];
  size_t len = strlen(hex), nbytes = 0, off = 0;

  while (len > 1 && hex[0] == '0') {
    hex++;
    len--;
  }
  if (len == 0 || len > 2 * VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  if (len % 2 != 0) {
    digits[off++] = '0';
  }
  memcpy(digits + off, hex, len);
  if (!vigil_hex_decode(bytes + 1, &nbytes, sizeof(bytes) - 1, digits,
                        len + off)) {
    return 0;
  }
  bytes[0] = 0;
  off = (bytes[1] & 0x80) ? 0 : 1; /* keep a sign octet only if needed */
  if (nbytes + 1 - off > VIGIL_OCSP_MAX_SERIAL) {
    return 0;
  }
  memcpy(out, bytes + off, nbytes + 1 - off);
  *out_len = (uint8_t)(nbytes + 1 - off);
  return 1;
}

static int parse_reason(enum vigil_reason *out, const char *s) {
  int64_t code;
  if (strcmp(s, "none") == 0) {
    *out = VIGIL_REASON_NONE;
    return 1;
  }
  if (parse_int64(&code, s)) {
    if (code < -1 || code > 255) {
      return 0;
    }
    *out = (enum vigil_reason)code;
    return 1;
  }
  return vigil_reason_from_name(out, s, strlen(s));
}

/* next_field returns the next blank-separated field of |*s| (NUL-
 * terminating it in place) or NULL at the end of the line. */
static char *next_field(char **s) {
  char *p = *s, *start;
  while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
    p++;
  }
  if (*p == '\0') {
    *s = p;
    return NULL;
  }
  start = p;
  while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
    p++;
  }
  if (*p != '\0') {
    *p++ = '\0';
  }
  *s = p;
  return start;
}

static int entries_grow(struct entries *e) {
  size_t cap = e->cap == 0 ? 1024 : 2 * e->cap;
  struct vigil_crl_entry *v = vigil_realloc(e->v, cap * sizeof(*v));
  if (v == NULL) {
    return 0;
  }
  e->v = v;
  size_t *lines = vigil_realloc(e->lines, cap * sizeof(*lines));
  if (lines == NULL) {
    return 0;
  }
  e->lines = lines;
  uint8_t *serials = vigil_realloc(e->serials, cap * VIGIL_OCSP_MAX_SERIAL);
  if (serials == NULL) {
    return 0;
  }
  e->serials = serials;
  e->cap = cap;
  return 1;
}

/* read_entries parses the entries file at |path|. Serial pointers are
 * set once the array stops moving (fix_pointers). */
static int read_entries(struct entries *e, const char *path, int64_t now) {
  char line[MAX_LINE];
  size_t lineno = 0;
  int ok = 0;
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    fprintf(stderr, "crl_sign: cannot open %s\n", path);
    return 0;
  }
  while (fgets(line, sizeof(line), f) != NULL) {
    char *rest = line, *serial, *when, *reason, *extra;
    lineno++;
    if (strchr(line, '\n') == NULL && !feof(f)) {
      fprintf(stderr, "crl_sign: %s:%zu: line too long\n", path, lineno);
      goto err;
    }
    serial = next_field(&rest);
    if (serial == NULL || serial[0] == '#') {
      continue;
    }
    when = next_field(&rest);
    reason = next_field(&rest);
    extra = next_field(&rest);
    if (e->num == e->cap && !entries_grow(e)) {
      fprintf(stderr, "crl_sign: out of memory\n");
      goto err;
    }
    struct vigil_crl_entry *ent = &e->v[e->num];
    if (when == NULL || reason == NULL || extra != NULL ||
        !parse_serial(e->serials + e->num * VIGIL_OCSP_MAX_SERIAL,
                      &ent->serial_len, serial) ||
        !parse_time(&ent->revoked_at, when, now) ||
        !parse_reason(&ent->reason, reason)) {
      fprintf(stderr, "crl_sign: %s:%zu: expected SERIALHEX TIME REASON\n",
              path, lineno);
      goto err;
    }
    e->lines[e->num] = lineno;
    e->num++;
  }
  if (ferror(f)) {
    fprintf(stderr, "crl_sign: error reading %s\n", path);
    goto err;
  }
  for (size_t i = 0; i < e->num; i++) {
    e->v[i].serial = e->serials + i * VIGIL_OCSP_MAX_SERIAL;
  }
  ok = 1;

err:
  fclose(f);
  return ok;
}

static int write_file(const char *path, const uint8_t *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "crl_sign: cannot create %s\n", path);
    return 0;
  }
  size_t n = fwrite(data, 1, len, f);
  if (fclose(f) != 0 || n != len) {
    fprintf(stderr, "crl_sign: cannot write %s\n", path);
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
    { "issuer", required_argument, NULL, 'i' },
    { "key", required_argument, NULL, 'k' },
    { "number", required_argument, NULL, 'n' },
    { "this-update", required_argument, NULL, 't' },
    { "next-update", required_argument, NULL, 'u' },
    { "entries", required_argument, NULL, 'e' },
    { "idp", required_argument, NULL, 'd' },
    { "user-certs", no_argument, NULL, 'U' },
    { "ca-certs", no_argument, NULL, 'C' },
    { "out", required_argument, NULL, 'o' },
    { NULL, 0, NULL, 0 },
  };
  const char *issuer_path = NULL, *key_path = NULL, *number_hex = NULL;
  const char *this_s = NULL, *next_s = NULL, *entries_path = NULL;
  const char *out_path = NULL;
  struct vigil_crl_params p;
  struct entries ents;
  struct vigil_cert *issuer = NULL;
  struct vigil_key *key = NULL;
  enum vigil_cert_err cert_err = VIGIL_CERT_OK;
  enum vigil_key_err key_err = VIGIL_KEY_OK;
  uint8_t number[64];
  size_t number_len = 0, bad = 0, der_len = 0;
  uint8_t *der = NULL;
  int64_t now = (int64_t)time(NULL);
  int ret = 1, opt;

  memset(&p, 0, sizeof(p));
  memset(&ents, 0, sizeof(ents));
  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
      case 'i':
        issuer_path = optarg;
        break;
      case 'k':
        key_path = optarg;
        break;
      case 'n':
        number_hex = optarg;
        break;
      case 't':
        this_s = optarg;
        break;
      case 'u':
        next_s = optarg;
        break;
      case 'e':
        entries_path = optarg;
        break;
      case 'd':
        p.idp_uri = optarg;
        break;
      case 'U':
        p.only_contains_user_certs = 1;
        break;
      case 'C':
        p.ca_certs = 1;
        break;
      case 'o':
        out_path = optarg;
        break;
      default:
        usage();
        goto err;
    }
  }
  if (optind != argc || issuer_path == NULL || key_path == NULL ||
      number_hex == NULL || this_s == NULL || next_s == NULL ||
      out_path == NULL) {
    usage();
    goto err;
  }
  if (!vigil_hex_decode(number, &number_len, sizeof(number), number_hex,
                        strlen(number_hex)) ||
      !parse_time(&p.this_update, this_s, now) ||
      !parse_time(&p.next_update, next_s, now)) {
    fprintf(stderr, "crl_sign: bad --number (even-length hex) or time\n");
    goto err;
  }
  p.crl_number = number;
  p.crl_number_len = number_len;

  issuer = vigil_cert_load_file(&cert_err, issuer_path);
  if (issuer == NULL) {
    fprintf(stderr, "crl_sign: %s: %s\n", issuer_path,
            vigil_cert_err_string(cert_err));
    goto err;
  }
  key = vigil_key_load_file(&key_err, key_path, 0);
  if (key == NULL) {
    fprintf(stderr, "crl_sign: %s: %s\n", key_path,
            vigil_key_err_string(key_err));
    goto err;
  }
  if (entries_path != NULL && !read_entries(&ents, entries_path, now)) {
    goto err;
  }
  p.issuer = issuer;
  p.issuer_key = key;

  enum vigil_crl_err cerr =
      vigil_crl_build(&der, &der_len, &bad, &p, ents.v, ents.num);
  if (cerr != VIGIL_CRL_OK) {
    fprintf(stderr, "crl_sign: %s", vigil_crl_err_string(cerr));
    if (cerr == VIGIL_CRL_ERR_BAD_SERIAL ||
        cerr == VIGIL_CRL_ERR_BAD_REVOCATION_TIME ||
        cerr == VIGIL_CRL_ERR_REASON_NOT_ALLOWED ||
        cerr == VIGIL_CRL_ERR_DUPLICATE_SERIAL) {
      fprintf(stderr, " (entries line %zu)", ents.lines[bad]);
    }
    fprintf(stderr, "\n");
    ret = 2;
    goto err;
  }
  if (!write_file(out_path, der, der_len)) {
    goto err;
  }
  ret = 0;

err:
  vigil_free(der);
  vigil_free(ents.v);
  vigil_free(ents.serials);
  vigil_free(ents.lines);
  vigil_key_free(key);
  vigil_cert_free(issuer);
  return ret;
}
