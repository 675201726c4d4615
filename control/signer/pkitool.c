/* pkitool.c: vigil-pki, the offline PKI tool and Redis publisher.
 *
 * It makes CAs, delegated OCSP responders and TLS certificates with the
 * shared codec, and writes the Redis keyspace (vigil/keyspace.h) exactly as
 * the control plane's publisher does: issuer records, pre-signed responses,
 * status records, CRLs, the mirror marker and events. Until vigil-control
 * exists it is how the local stack and the edge's tests are fed; after that
 * it stays useful as a break-glass publisher and for benchmarks.
 *
 * It reads CA private keys, so it belongs to the signer's room
 * (control/signer/) and never links libpq. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <hiredis/hiredis.h>
#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/crl.h"
#include "vigil/hex.h"
#include "vigil/key.h"
#include "vigil/keyspace.h"
#include "vigil/ocsp_response.h"
#include "vigil/x509.h"

#define MAX_SANS         32
#define DEFAULT_VALIDITY (96 * 3600)
#define BACKDATE         60

/* ======================================================================
 * Options
 * ====================================================================== */

struct opts {
  const char *cmd;
  const char *dir;
  const char *cn;
  const char *name;
  const char *issuer_id;
  const char *tenant;
  const char *cert;
  const char *status;
  const char *reason;
  const char *ocsp_url;
  const char *crl_url;
  const char *key_type;
  char redis_host[256];
  int redis_port;
  int64_t days;
  int64_t validity;
  int64_t revoked_at;
  int no_resp;
  int expired;
  int clear;
  const char *dns[MAX_SANS];
  size_t num_dns;
  const char *ip[MAX_SANS];
  size_t num_ip;
};

static void usage(FILE *f) {
  fputs(
      "usage: vigil-pki COMMAND [options]\n"
      "\n"
      "Offline PKI and Redis publisher (writes the keyspace vigil-edge "
      "reads).\n"
      "Key files are written with mode 0600.\n"
      "\n"
      "  ca        --dir DIR --cn NAME [--key-type T] [--days N]\n"
      "  responder --dir DIR --issuer-id ID [--key-type T] [--days N]\n"
      "  leaf      --dir DIR --name NAME [--dns D]... [--ip A]...\n"
      "            [--ocsp-url U] [--crl-url U] [--key-type T] [--days N]\n"
      "  issuer    --dir DIR --issuer-id ID --tenant T [--redis H:P]\n"
      "  publish   --dir DIR --cert FILE --status good|revoked [--reason R]\n"
      "            [--revoked-at UNIX] [--validity SECS] [--issuer-id ID]\n"
      "            [--no-resp] [--expired] [--redis H:P]\n"
      "  crl       --dir DIR --issuer-id ID [--days N] [--redis H:P]\n"
      "  mirror    [--clear] [--redis H:P]\n"
      "  revoke    --dir DIR --cert FILE --issuer-id ID [--reason R]\n"
      "            [--redis H:P]\n"
      "\n"
      "Key types: p256 (default), p384, rsa2048, ed25519.\n"
      "Reasons: keyCompromise, superseded, cessationOfOperation,\n"
      "affiliationChanged, privilegeWithdrawn, unspecified.\n"
      "Redis defaults to 127.0.0.1:6379.\n",
      f);
}

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "vigil-pki: %s: %s\n", what, arg);
  return 1;
}

static int parse_i64(int64_t *out, const char *s) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0') {
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_opts(struct opts *o, int argc, char **argv) {
  memset(o, 0, sizeof(*o));
  snprintf(o->redis_host, sizeof(o->redis_host), "127.0.0.1");
  o->redis_port = 6379;
  o->validity = DEFAULT_VALIDITY;
  o->revoked_at = -1;
  if (argc < 2) {
    return 0;
  }
  o->cmd = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int takes = 1;
    if (strcmp(a, "--no-resp") == 0) {
      o->no_resp = 1;
      takes = 0;
    } else if (strcmp(a, "--expired") == 0) {
      o->expired = 1;
      takes = 0;
    } else if (strcmp(a, "--clear") == 0) {
      o->clear = 1;
      takes = 0;
    } else if (v == NULL) {
      fprintf(stderr, "vigil-pki: %s needs a value\n", a);
      return 0;
    } else if (strcmp(a, "--dir") == 0) {
      o->dir = v;
    } else if (strcmp(a, "--cn") == 0) {
      o->cn = v;
    } else if (strcmp(a, "--name") == 0) {
      o->name = v;
    } else if (strcmp(a, "--issuer-id") == 0) {
      o->issuer_id = v;
    } else if (strcmp(a, "--tenant") == 0) {
      o->tenant = v;
    } else if (strcmp(a, "--cert") == 0) {
      o->cert = v;
    } else if (strcmp(a, "--status") == 0) {
      o->status = v;
    } else if (strcmp(a, "--reason") == 0) {
      o->reason = v;
    } else if (strcmp(a, "--ocsp-url") == 0) {
      o->ocsp_url = v;
    } else if (strcmp(a, "--crl-url") == 0) {
      o->crl_url = v;
    } else if (strcmp(a, "--key-type") == 0) {
      o->key_type = v;
    } else if (strcmp(a, "--dns") == 0 && o->num_dns < MAX_SANS) {
      o->dns[o->num_dns++] = v;
    } else if (strcmp(a, "--ip") == 0 && o->num_ip < MAX_SANS) {
      o->ip[o->num_ip++] = v;
    } else if (strcmp(a, "--days") == 0) {
      if (!parse_i64(&o->days, v) || o->days <= 0) {
        return 0;
      }
    } else if (strcmp(a, "--validity") == 0) {
      /* CA/B Forum BR 4.9.10: OCSP responses valid 8 hours to 10 days. */
      if (!parse_i64(&o->validity, v) || o->validity < 8 * 3600 ||
          o->validity > 10 * 86400) {
        fprintf(stderr,
                "vigil-pki: --validity must be 28800..864000 seconds "
                "(8 h..10 days, CA/B Forum BR 4.9.10)\n");
        return 0;
      }
    } else if (strcmp(a, "--revoked-at") == 0) {
      if (!parse_i64(&o->revoked_at, v)) {
        return 0;
      }
    } else if (strcmp(a, "--redis") == 0) {
      const char *colon = strrchr(v, ':');
      int64_t port;
      if (colon == NULL || (size_t)(colon - v) >= sizeof(o->redis_host) ||
          !parse_i64(&port, colon + 1) || port <= 0 || port > 65535) {
        fprintf(stderr, "vigil-pki: --redis wants HOST:PORT\n");
        return 0;
      }
      memcpy(o->redis_host, v, (size_t)(colon - v));
      o->redis_host[colon - v] = '\0';
      o->redis_port = (int)port;
    } else {
      fprintf(stderr, "vigil-pki: unknown option %s\n", a);
      return 0;
    }
    i += takes;
  }
  return 1;
}

/* ======================================================================
 * Files
 * ====================================================================== */

static int path_join(char *out, size_t len, const char *dir, const char *name) {
  int n = snprintf(out, len, "%s/%s", dir, name);
  return n > 0 && (size_t)n < len;
}

static int write_file(const char *path, const uint8_t *data, size_t len,
                      mode_t mode) {
  char tmp[PATH_MAX];
  int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  if (n < 0 || (size_t)n >= sizeof(tmp)) {
    return 0;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return 0;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) {
      continue;
    }
    if (w <= 0) {
      close(fd);
      unlink(tmp);
      return 0;
    }
    off += (size_t)w;
  }
  if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0 ||
      rename(tmp, path) != 0) {
    unlink(tmp);
    return 0;
  }
  return 1;
}

/* write_pem writes one or two DER certificates as PEM. */
static int write_pem(const char *path, const uint8_t *der, size_t der_len,
                     const uint8_t *der2, size_t der2_len) {
  CBB cbb;
  uint8_t *pem = NULL;
  size_t pem_len = 0;
  int ok =
      CBB_init(&cbb, 2048) &&
      vigil_pem_encode(&cbb, "CERTIFICATE", der, der_len) &&
      (der2 == NULL || vigil_pem_encode(&cbb, "CERTIFICATE", der2, der2_len)) &&
      CBB_finish(&cbb, &pem, &pem_len);
  if (!ok) {
    CBB_cleanup(&cbb);
    return 0;
  }
  ok = write_file(path, pem, pem_len, 0644);
  OPENSSL_free(pem);
  return ok;
}

static int key_type(enum vigil_key_type *out, unsigned *bits,
                    const char *name) {
  *bits = 0;
  if (name == NULL || strcmp(name, "p256") == 0) {
    *out = VIGIL_KEY_EC_P256;
  } else if (strcmp(name, "p384") == 0) {
    *out = VIGIL_KEY_EC_P384;
  } else if (strcmp(name, "rsa2048") == 0) {
    *out = VIGIL_KEY_RSA;
    *bits = 2048;
  } else if (strcmp(name, "ed25519") == 0) {
    *out = VIGIL_KEY_ED25519;
  } else {
    return 0;
  }
  return 1;
}

/* load_ca loads DIR/ca.key and DIR/ca.pem. */
static int load_ca(const char *dir, struct vigil_key **out_key,
                   struct vigil_cert **out_cert) {
  char path[PATH_MAX];
  enum vigil_key_err kerr;
  enum vigil_cert_err cerr;
  *out_key = NULL;
  *out_cert = NULL;
  if (!path_join(path, sizeof(path), dir, "ca.key")) {
    return 0;
  }
  *out_key = vigil_key_load_file(&kerr, path, 1);
  if (*out_key == NULL) {
    fprintf(stderr, "vigil-pki: %s: %s\n", path, vigil_key_err_string(kerr));
    return 0;
  }
  if (!path_join(path, sizeof(path), dir, "ca.pem")) {
    return 0;
  }
  *out_cert = vigil_cert_load_file(&cerr, path);
  if (*out_cert == NULL) {
    fprintf(stderr, "vigil-pki: %s: %s\n", path, vigil_cert_err_string(cerr));
    vigil_key_free(*out_key);
    *out_key = NULL;
    return 0;
  }
  return 1;
}

/* ======================================================================
 * Issuing
 * ====================================================================== */

/* issue makes a key (saved to |key_path|) and a certificate for it from
 * |tmpl| (subject CN |cn|), signed by |ca|/|ca_key| or self-signed when
 * |ca| is NULL. Writes the certificate to |cert_path| (and, if
 * |chain_path|, certificate + CA). Returns 1 on success. */
static int issue(struct vigil_x509_template *tmpl, const char *cn,
                 enum vigil_key_type kt, unsigned bits, const char *key_path,
                 const char *cert_path, const char *chain_path,
                 const struct vigil_cert *ca, const struct vigil_key *ca_key,
                 int64_t now, char *serial_hex, size_t serial_hex_len) {
  int ok = 0;
  uint8_t *der = NULL;
  size_t der_len = 0;
  CBB name;
  uint8_t *name_der = NULL;
  size_t name_len = 0;
  struct vigil_key *key = vigil_key_generate(kt, bits);
  if (key == NULL) {
    fprintf(stderr, "vigil-pki: key generation failed\n");
    return 0;
  }
  struct vigil_x509_name n;
  memset(&n, 0, sizeof(n));
  n.common_name = cn;
  n.organization = "Vigil";
  if (!CBB_init(&name, 128) ||
      vigil_x509_name_build(&name, &n) != VIGIL_X509_OK ||
      !CBB_finish(&name, &name_der, &name_len)) {
    CBB_cleanup(&name);
    fprintf(stderr, "vigil-pki: bad name \"%s\"\n", cn);
    goto done;
  }
  tmpl->subject = name_der;
  tmpl->subject_len = name_len;
  tmpl->spki = vigil_key_get0_spki(key, &tmpl->spki_len);
  enum vigil_x509_err xerr = vigil_x509_issue_der(
      &der, &der_len, tmpl, ca, ca != NULL ? ca_key : key, now);
  if (xerr != VIGIL_X509_OK) {
    fprintf(stderr, "vigil-pki: cannot issue: %s\n",
            vigil_x509_err_string(xerr));
    goto done;
  }
  if (!vigil_key_save_pem(key, key_path)) {
    fprintf(stderr, "vigil-pki: cannot write %s\n", key_path);
    goto done;
  }
  if (!write_pem(cert_path, der, der_len, NULL, 0)) {
    fprintf(stderr, "vigil-pki: cannot write %s\n", cert_path);
    goto done;
  }
  if (chain_path != NULL && !write_pem(chain_path, der, der_len,
                                       CBS_data(&ca->der), CBS_len(&ca->der))) {
    fprintf(stderr, "vigil-pki: cannot write %s\n", chain_path);
    goto done;
  }
  if (serial_hex != NULL) {
    enum vigil_cert_err cerr;
    struct vigil_cert *c = vigil_cert_parse(&cerr, der, der_len);
    if (c == NULL || serial_hex_len < 2 * CBS_len(&c->serial) + 2) {
      vigil_cert_free(c);
      goto done;
    }
    vigil_serial_hex(serial_hex, CBS_data(&c->serial), CBS_len(&c->serial));
    vigil_cert_free(c);
  }
  ok = 1;

done:
  vigil_key_free(key);
  OPENSSL_free(name_der);
  vigil_free(der);
  return ok;
}

static int cmd_ca(const struct opts *o, int64_t now) {
  enum vigil_key_type kt;
  unsigned bits;
  char kp[PATH_MAX], cp[PATH_MAX];
  if (o->dir == NULL || o->cn == NULL || !key_type(&kt, &bits, o->key_type)) {
    usage(stderr);
    return 2;
  }
  mkdir(o->dir, 0700);
  struct vigil_x509_template t;
  vigil_x509_profile_root_ca(&t, now, (o->days ? o->days : 3650) * 86400);
  if (!path_join(kp, sizeof(kp), o->dir, "ca.key") ||
      !path_join(cp, sizeof(cp), o->dir, "ca.pem") ||
      !issue(&t, o->cn, kt, bits, kp, cp, NULL, NULL, NULL, now, NULL, 0)) {
    return 1;
  }
  printf("ca %s\n", cp);
  return 0;
}

static int cmd_responder(const struct opts *o, int64_t now) {
  enum vigil_key_type kt;
  unsigned bits;
  char dir[PATH_MAX], kp[PATH_MAX], cp[PATH_MAX], file[128], cn[128];
  if (o->dir == NULL || o->issuer_id == NULL ||
      !vigil_ks_name_valid(o->issuer_id, strlen(o->issuer_id)) ||
      !key_type(&kt, &bits, o->key_type)) {
    usage(stderr);
    return 2;
  }
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  if (!load_ca(o->dir, &ca_key, &ca)) {
    return 1;
  }
  int rc = 1;
  struct vigil_x509_template t;
  vigil_x509_profile_ocsp_responder(&t, now, (o->days ? o->days : 30) * 86400);
  snprintf(cn, sizeof(cn), "Vigil OCSP responder %s", o->issuer_id);
  if (path_join(dir, sizeof(dir), o->dir, "responder")) {
    mkdir(dir, 0700);
    snprintf(file, sizeof(file), "%s.key", o->issuer_id);
    if (path_join(kp, sizeof(kp), dir, file)) {
      snprintf(file, sizeof(file), "%s.pem", o->issuer_id);
      if (path_join(cp, sizeof(cp), dir, file) &&
          issue(&t, cn, kt, bits, kp, cp, NULL, ca, ca_key, now, NULL, 0)) {
        printf("responder %s\n", cp);
        rc = 0;
      }
    }
  }
  vigil_key_free(ca_key);
  vigil_cert_free(ca);
  return rc;
}

static int cmd_leaf(const struct opts *o, int64_t now) {
  enum vigil_key_type kt;
  unsigned bits;
  char kp[PATH_MAX], cp[PATH_MAX], chp[PATH_MAX], file[256];
  if (o->dir == NULL || o->name == NULL || strchr(o->name, '/') != NULL ||
      !key_type(&kt, &bits, o->key_type)) {
    usage(stderr);
    return 2;
  }
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  if (!load_ca(o->dir, &ca_key, &ca)) {
    return 1;
  }
  struct vigil_x509_san sans[2 * MAX_SANS];
  uint8_t ips[MAX_SANS][16];
  size_t num_sans = 0;
  int rc = 1;
  for (size_t i = 0; i < o->num_dns; i++) {
    sans[num_sans].type = VIGIL_X509_SAN_DNS;
    sans[num_sans].value = (const uint8_t *)o->dns[i];
    sans[num_sans].value_len = strlen(o->dns[i]);
    num_sans++;
  }
  for (size_t i = 0; i < o->num_ip; i++) {
    sans[num_sans].type = VIGIL_X509_SAN_IP;
    if (inet_pton(AF_INET, o->ip[i], ips[i]) == 1) {
      sans[num_sans].value_len = 4;
    } else if (inet_pton(AF_INET6, o->ip[i], ips[i]) == 1) {
      sans[num_sans].value_len = 16;
    } else {
      fprintf(stderr, "vigil-pki: bad IP address %s\n", o->ip[i]);
      goto done;
    }
    sans[num_sans].value = ips[i];
    num_sans++;
  }
  struct vigil_x509_template t;
  vigil_x509_profile_tls_server(&t, now, (o->days ? o->days : 90) * 86400, kt);
  t.sans = sans;
  t.num_sans = num_sans;
  t.ocsp_url = o->ocsp_url;
  t.crl_url = o->crl_url;
  char serial[64];
  snprintf(file, sizeof(file), "%s.key", o->name);
  if (!path_join(kp, sizeof(kp), o->dir, file)) {
    goto done;
  }
  snprintf(file, sizeof(file), "%s.pem", o->name);
  if (!path_join(cp, sizeof(cp), o->dir, file)) {
    goto done;
  }
  snprintf(file, sizeof(file), "%s-fullchain.pem", o->name);
  if (!path_join(chp, sizeof(chp), o->dir, file)) {
    goto done;
  }
  if (issue(&t, o->name, kt, bits, kp, cp, chp, ca, ca_key, now, serial,
            sizeof(serial))) {
    printf("leaf %s\nserial %s\n", cp, serial);
    rc = 0;
  }

done:
  vigil_key_free(ca_key);
  vigil_cert_free(ca);
  return rc;
}

/* ======================================================================
 * Redis
 * ====================================================================== */

static redisContext *redis_connect(const struct opts *o) {
  struct timeval tv = { 5, 0 };
  redisContext *rc = redisConnectWithTimeout(o->redis_host, o->redis_port, tv);
  if (rc == NULL || rc->err) {
    fprintf(stderr, "vigil-pki: redis %s:%d: %s\n", o->redis_host,
            o->redis_port, rc != NULL ? rc->errstr : "cannot connect");
    if (rc != NULL) {
      redisFree(rc);
    }
    return NULL;
  }
  return rc;
}

/* run executes one command and checks for an error reply. */
static int run(redisContext *rc, int argc, const char **argv,
               const size_t *argvlen) {
  redisReply *r = redisCommandArgv(rc, argc, argv, argvlen);
  if (r == NULL) {
    fprintf(stderr, "vigil-pki: redis: %s\n", rc->errstr);
    return 0;
  }
  int ok = r->type != REDIS_REPLY_ERROR;
  if (!ok) {
    fprintf(stderr, "vigil-pki: redis: %s\n", r->str);
  }
  freeReplyObject(r);
  return ok;
}

static int cmd_issuer(const struct opts *o) {
  if (o->dir == NULL || o->issuer_id == NULL || o->tenant == NULL) {
    usage(stderr);
    return 2;
  }
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  if (!load_ca(o->dir, &ca_key, &ca)) {
    return 1;
  }
  int rc = 1;
  struct vigil_issuer_record rec;
  memset(&rec, 0, sizeof(rec));
  char record[VIGIL_KS_MAX_RECORD], ikh[41];
  redisContext *r = NULL;
  if (strlen(o->issuer_id) > VIGIL_KS_MAX_NAME ||
      strlen(o->tenant) > VIGIL_KS_MAX_NAME) {
    fprintf(stderr, "vigil-pki: issuer id or tenant too long\n");
    goto done;
  }
  memcpy(rec.issuer_id, o->issuer_id, strlen(o->issuer_id) + 1);
  memcpy(rec.tenant, o->tenant, strlen(o->tenant) + 1);
  memcpy(rec.name_sha1, ca->name_sha1, 20);
  memcpy(rec.name_sha256, ca->name_sha256, 32);
  memcpy(rec.key_sha256, ca->key_sha256, 32);
  rec.current = 1;
  if (vigil_issuer_record_format(record, sizeof(record), &rec) == 0) {
    fprintf(stderr, "vigil-pki: invalid issuer id or tenant\n");
    goto done;
  }
  vigil_hex_encode(ikh, ca->key_sha1, 20);
  r = redis_connect(o);
  if (r == NULL) {
    goto done;
  }
  const char *hset[4] = { "HSET", VIGIL_KS_ISSUERS, ikh, record };
  size_t hset_len[4] = { 4, strlen(VIGIL_KS_ISSUERS), 40, strlen(record) };
  const char *xadd[9] = { "XADD", VIGIL_KS_EVENTS, "*",
                          "type", "issuer",        "ikh",
                          ikh,    "issuer_id",     o->issuer_id };
  size_t xadd_len[9];
  for (int i = 0; i < 9; i++) {
    xadd_len[i] = strlen(xadd[i]);
  }
  if (run(r, 4, hset, hset_len) && run(r, 9, xadd, xadd_len)) {
    printf("ikh %s\n", ikh);
    rc = 0;
  }

done:
  if (r != NULL) {
    redisFree(r);
  }
  vigil_key_free(ca_key);
  vigil_cert_free(ca);
  return rc;
}

/* publish_status signs and writes the status (and response) of |leaf|. */
static int publish_status(const struct opts *o, redisContext *r,
                          const struct vigil_cert *ca,
                          const struct vigil_key *ca_key,
                          const struct vigil_cert *leaf, int revoked,
                          enum vigil_reason reason, int64_t now) {
  struct vigil_status st;
  memset(&st, 0, sizeof(st));
  st.status = revoked ? VIGIL_CERT_STATUS_REVOKED : VIGIL_CERT_STATUS_GOOD;
  st.not_after = leaf->not_after;
  st.revoked_at = o->revoked_at >= 0 ? o->revoked_at : now;
  st.reason = revoked ? reason : VIGIL_REASON_NONE;
  char record[VIGIL_KS_MAX_RECORD], skey[VIGIL_KS_MAX_KEY],
      rkey[VIGIL_KS_MAX_KEY];
  const uint8_t *serial = CBS_data(&leaf->serial);
  size_t serial_len = CBS_len(&leaf->serial);
  if (vigil_status_format(record, sizeof(record), &st) == 0 ||
      vigil_ks_status_key(skey, sizeof(skey), ca->key_sha1, serial,
                          serial_len) == 0 ||
      vigil_ks_resp_key(rkey, sizeof(rkey), ca->key_sha1, serial, serial_len) ==
          0) {
    fprintf(stderr, "vigil-pki: cannot format the status record\n");
    return 0;
  }
  if (!o->no_resp) {
    struct vigil_ocsp_single single;
    memset(&single, 0, sizeof(single));
    single.hash = VIGIL_OCSP_HASH_SHA1;
    single.issuer_name_hash = ca->name_sha1;
    single.issuer_key_hash = ca->key_sha1;
    single.serial = serial;
    single.serial_len = serial_len;
    single.status = st.status;
    single.revocation_time = st.revoked_at;
    single.reason = st.reason;
    single.this_update = now - BACKDATE;
    single.next_update = single.this_update + o->validity;
    int64_t ttl_ms = (single.next_update - now) * 1000;
    if (o->expired) {
      /* Present in Redis but stale: the edge must never serve it. */
      single.this_update = now - 2 * o->validity;
      single.next_update = now - o->validity;
      ttl_ms = 3600 * 1000;
    }
    struct vigil_ocsp_responder resp = { ca_key, NULL };
    uint8_t buf[8192];
    CBB cbb;
    size_t len = 0;
    if (!CBB_init_fixed(&cbb, buf, sizeof(buf)) ||
        !vigil_ocsp_response_build(&cbb, &resp, now, &single, 1, NULL, 0) ||
        !CBB_finish(&cbb, NULL, &len)) {
      CBB_cleanup(&cbb);
      fprintf(stderr, "vigil-pki: cannot sign the response\n");
      return 0;
    }
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "%lld", (long long)ttl_ms);
    const char *set[5] = { "SET", rkey, (const char *)buf, "PX", ttl };
    size_t set_len[5] = { 3, strlen(rkey), len, 2, strlen(ttl) };
    if (!run(r, 5, set, set_len)) {
      return 0;
    }
  }
  if (o->no_resp) {
    /* No new response: an older one must not outlive the status it
     * contradicts. */
    const char *del[2] = { "DEL", rkey };
    size_t del_len[2] = { 3, strlen(rkey) };
    if (!run(r, 2, del, del_len)) {
      return 0;
    }
  }
  const char *set[3] = { "SET", skey, record };
  size_t set_len[3] = { 3, strlen(skey), strlen(record) };
  if (!run(r, 3, set, set_len)) {
    return 0;
  }
  char hex[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  vigil_serial_hex(hex, serial, serial_len);
  if (revoked) {
    /* The event goes out only after the response and status are in
     * place: an edge that drops its copy must find the revoked one. */
    char ikh[41];
    vigil_hex_encode(ikh, ca->key_sha1, 20);
    const char *id = o->issuer_id != NULL ? o->issuer_id : "";
    const char *xadd[11] = { "XADD",   VIGIL_KS_EVENTS, "*", "type",
                             "revoke", "ikh",           ikh, "serial",
                             hex,      "issuer_id",     id };
    size_t xadd_len[11];
    for (int i = 0; i < 11; i++) {
      xadd_len[i] = strlen(xadd[i]);
    }
    if (!run(r, 11, xadd, xadd_len)) {
      return 0;
    }
    /* Remember the revocation for CRLs: "contents-hex revoked_at reason". */
    char path[PATH_MAX], line[256], contents[2 * VIGIL_OCSP_MAX_SERIAL + 1];
    vigil_hex_encode(contents, serial, serial_len);
    if (!path_join(path, sizeof(path), o->dir, "revoked.txt")) {
      return 0;
    }
    FILE *f = fopen(path, "a");
    if (f == NULL) {
      return 0;
    }
    snprintf(line, sizeof(line), "%s %lld %d\n", contents,
             (long long)st.revoked_at, (int)st.reason);
    fputs(line, f);
    if (fclose(f) != 0) {
      return 0;
    }
  }
  printf("%s %s\n", revoked ? "revoked" : "good", hex);
  return 1;
}

static int cmd_crl(const struct opts *o, redisContext *r,
                   const struct vigil_cert *ca, const struct vigil_key *ca_key,
                   int64_t now);

static int cmd_publish(const struct opts *o, int64_t now, int also_crl) {
  if (o->dir == NULL || o->cert == NULL || o->status == NULL ||
      (strcmp(o->status, "good") != 0 && strcmp(o->status, "revoked") != 0)) {
    usage(stderr);
    return 2;
  }
  int revoked = strcmp(o->status, "revoked") == 0;
  enum vigil_reason reason = VIGIL_REASON_NONE;
  if (o->reason != NULL) {
    if (!vigil_reason_from_name(&reason, o->reason, strlen(o->reason)) ||
        !vigil_reason_allowed_by_br(
            reason == VIGIL_REASON_UNSPECIFIED ? VIGIL_REASON_NONE : reason,
            0)) {
      return fail("reason not allowed (CA/B Forum BR 7.2.2)", o->reason);
    }
    if (reason == VIGIL_REASON_UNSPECIFIED) {
      reason = VIGIL_REASON_NONE;
    }
  }
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  if (!load_ca(o->dir, &ca_key, &ca)) {
    return 1;
  }
  int rc = 1;
  enum vigil_cert_err cerr;
  redisContext *r = NULL;
  struct vigil_cert *leaf = vigil_cert_load_file(&cerr, o->cert);
  if (leaf == NULL) {
    fprintf(stderr, "vigil-pki: %s: %s\n", o->cert,
            vigil_cert_err_string(cerr));
    goto done;
  }
  if (!vigil_cert_verify_signed_by(leaf, ca)) {
    fprintf(stderr, "vigil-pki: %s was not issued by %s/ca.pem\n", o->cert,
            o->dir);
    goto done;
  }
  r = redis_connect(o);
  if (r == NULL ||
      !publish_status(o, r, ca, ca_key, leaf, revoked, reason, now)) {
    goto done;
  }
  if (also_crl && cmd_crl(o, r, ca, ca_key, now) != 0) {
    goto done;
  }
  rc = 0;

done:
  if (r != NULL) {
    redisFree(r);
  }
  vigil_cert_free(leaf);
  vigil_key_free(ca_key);
  vigil_cert_free(ca);
  return rc;
}

/* ======================================================================
 * CRLs and the mirror
 * ====================================================================== */

static int cmd_crl(const struct opts *o, redisContext *r,
                   const struct vigil_cert *ca, const struct vigil_key *ca_key,
                   int64_t now) {
  char path[PATH_MAX];
  struct vigil_crl_entry *entries = NULL;
  uint8_t(*serials)[VIGIL_OCSP_MAX_SERIAL] = NULL;
  size_t num = 0, cap = 0;
  uint8_t *der = NULL;
  size_t der_len = 0;
  int rc = 1;
  if (o->issuer_id == NULL ||
      !vigil_ks_name_valid(o->issuer_id, strlen(o->issuer_id))) {
    usage(stderr);
    return 2;
  }
  /* The revoked list; a missing file is an empty CRL. */
  if (!path_join(path, sizeof(path), o->dir, "revoked.txt")) {
    return 1;
  }
  FILE *f = fopen(path, "r");
  char line[256];
  while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
    char hex[64];
    long long at;
    int reason;
    if (sscanf(line, "%63s %lld %d", hex, &at, &reason) != 3) {
      continue;
    }
    if (num == cap) {
      size_t ncap = cap == 0 ? 64 : cap * 2;
      struct vigil_crl_entry *ne =
          vigil_realloc(entries, ncap * sizeof(*entries));
      if (ne == NULL) {
        goto done;
      }
      entries = ne;
      uint8_t(*ns)[VIGIL_OCSP_MAX_SERIAL] =
          vigil_realloc(serials, ncap * sizeof(*serials));
      if (ns == NULL) {
        goto done;
      }
      serials = ns;
      cap = ncap;
    }
    size_t n;
    if (!vigil_hex_decode(serials[num], &n, VIGIL_OCSP_MAX_SERIAL, hex,
                          strlen(hex))) {
      continue;
    }
    /* A serial revoked twice is listed once (the first time). */
    int dup = 0;
    for (size_t i = 0; i < num; i++) {
      if (entries[i].serial_len == n &&
          memcmp(serials[i], serials[num], n) == 0) {
        dup = 1;
      }
    }
    if (dup) {
      continue;
    }
    entries[num].serial_len = (uint8_t)n;
    entries[num].revoked_at = at;
    entries[num].reason = (enum vigil_reason)reason;
    num++;
  }
  if (f != NULL) {
    fclose(f);
  }
  for (size_t i = 0; i < num; i++) {
    entries[i].serial = serials[i]; /* after the last realloc */
  }
  /* CRL number: DIR/crlnumber, strictly increasing. */
  uint64_t number = 0;
  if (!path_join(path, sizeof(path), o->dir, "crlnumber")) {
    goto done;
  }
  f = fopen(path, "r");
  if (f != NULL) {
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) == 1) {
      number = v;
    }
    fclose(f);
  }
  number++;
  uint8_t num_be[8];
  for (int i = 0; i < 8; i++) {
    num_be[i] = (uint8_t)(number >> (56 - 8 * i));
  }
  struct vigil_crl_params p;
  memset(&p, 0, sizeof(p));
  p.issuer = ca;
  p.issuer_key = ca_key;
  p.crl_number = num_be;
  p.crl_number_len = 8;
  /* Not backdated: an entry revoked "now" must not postdate thisUpdate. */
  p.this_update = now;
  p.next_update = p.this_update + (o->days ? o->days : 7) * 86400;
  size_t bad = 0;
  enum vigil_crl_err cerr =
      vigil_crl_build(&der, &der_len, &bad, &p, entries, num);
  if (cerr != VIGIL_CRL_OK) {
    fprintf(stderr, "vigil-pki: CRL: %s (entry %zu)\n",
            vigil_crl_err_string(cerr), bad);
    goto done;
  }
  char nbuf[32];
  snprintf(nbuf, sizeof(nbuf), "%llu\n", (unsigned long long)number);
  if (!write_file(path, (const uint8_t *)nbuf, strlen(nbuf), 0644) ||
      !path_join(path, sizeof(path), o->dir, "crl.der") ||
      !write_file(path, der, der_len, 0644)) {
    fprintf(stderr, "vigil-pki: cannot write the CRL files\n");
    goto done;
  }
  char key[VIGIL_KS_MAX_KEY], mkey[VIGIL_KS_MAX_KEY], meta[VIGIL_KS_MAX_RECORD];
  struct vigil_crlmeta m;
  memset(&m, 0, sizeof(m));
  m.this_update = p.this_update;
  m.next_update = p.next_update;
  snprintf(m.number_hex, sizeof(m.number_hex), "%llx",
           (unsigned long long)number);
  m.num_entries = num;
  if (vigil_ks_crl_key(key, sizeof(key), o->issuer_id, -1) == 0 ||
      vigil_ks_crlmeta_key(mkey, sizeof(mkey), o->issuer_id) == 0 ||
      vigil_crlmeta_format(meta, sizeof(meta), &m) == 0) {
    goto done;
  }
  const char *set1[3] = { "SET", key, (const char *)der };
  size_t set1_len[3] = { 3, strlen(key), der_len };
  const char *set2[3] = { "SET", mkey, meta };
  size_t set2_len[3] = { 3, strlen(mkey), strlen(meta) };
  const char *xadd[7] = { "XADD", VIGIL_KS_EVENTS, "*",         "type",
                          "crl",  "issuer_id",     o->issuer_id };
  size_t xadd_len[7];
  for (int i = 0; i < 7; i++) {
    xadd_len[i] = strlen(xadd[i]);
  }
  if (run(r, 3, set1, set1_len) && run(r, 3, set2, set2_len) &&
      run(r, 7, xadd, xadd_len)) {
    printf("crl %s number %llu entries %zu\n", o->issuer_id,
           (unsigned long long)number, num);
    rc = 0;
  }

done:
  vigil_free(entries);
  vigil_free(serials);
  vigil_free(der);
  return rc;
}

static int cmd_crl_main(const struct opts *o, int64_t now) {
  if (o->dir == NULL) {
    usage(stderr);
    return 2;
  }
  struct vigil_key *ca_key;
  struct vigil_cert *ca;
  if (!load_ca(o->dir, &ca_key, &ca)) {
    return 1;
  }
  int rc = 1;
  redisContext *r = redis_connect(o);
  if (r != NULL) {
    rc = cmd_crl(o, r, ca, ca_key, now);
    redisFree(r);
  }
  vigil_key_free(ca_key);
  vigil_cert_free(ca);
  return rc;
}

static int cmd_mirror(const struct opts *o, int64_t now) {
  redisContext *r = redis_connect(o);
  if (r == NULL) {
    return 1;
  }
  char v[32];
  snprintf(v, sizeof(v), "%lld", (long long)now);
  int ok;
  if (o->clear) {
    const char *argv[2] = { "DEL", VIGIL_KS_MIRROR };
    size_t len[2] = { 3, strlen(VIGIL_KS_MIRROR) };
    ok = run(r, 2, argv, len);
  } else {
    const char *argv[3] = { "SET", VIGIL_KS_MIRROR, v };
    size_t len[3] = { 3, strlen(VIGIL_KS_MIRROR), strlen(v) };
    ok = run(r, 3, argv, len);
  }
  redisFree(r);
  if (ok) {
    printf("mirror %s\n", o->clear ? "cleared" : "set");
  }
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  struct opts o;
  if (argc >= 2 &&
      (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (!parse_opts(&o, argc, argv)) {
    usage(stderr);
    return 2;
  }
  int64_t now = (int64_t)time(NULL);
  if (strcmp(o.cmd, "ca") == 0) {
    return cmd_ca(&o, now);
  }
  if (strcmp(o.cmd, "responder") == 0) {
    return cmd_responder(&o, now);
  }
  if (strcmp(o.cmd, "leaf") == 0) {
    return cmd_leaf(&o, now);
  }
  if (strcmp(o.cmd, "issuer") == 0) {
    return cmd_issuer(&o);
  }
  if (strcmp(o.cmd, "publish") == 0) {
    return cmd_publish(&o, now, 0);
  }
  if (strcmp(o.cmd, "revoke") == 0) {
    if (o.issuer_id == NULL) {
      usage(stderr);
      return 2;
    }
    o.status = "revoked";
    if (o.reason == NULL) {
      o.reason = "keyCompromise";
    }
    return cmd_publish(&o, now, 1);
  }
  if (strcmp(o.cmd, "crl") == 0) {
    return cmd_crl_main(&o, now);
  }
  if (strcmp(o.cmd, "mirror") == 0) {
    return cmd_mirror(&o, now);
  }
  fprintf(stderr, "vigil-pki: unknown command \"%s\"\n", o.cmd);
  usage(stderr);
  return 2;
}
