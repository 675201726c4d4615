/* x509_issue.c: issue test certificates with vigil_x509_issue, so interop
 * scripts can check them with clients we did not write (openssl,
 * python3-cryptography, TLS handshakes).
 *
 *   vigil-test-x509_issue ca --key K [--gen T] --out F --cn N [--o O] [--c C]
 *   vigil-test-x509_issue intermediate --ca-cert F --ca-key K --key K
 *       [--gen T] --out F --cn N [--path-len N] [--eku serverAuth,clientAuth]
 *   vigil-test-x509_issue leaf --ca-cert F --ca-key K (--csr F | --key K
 *       [--gen T]) --out F [--cn N] [--dns D]... [--ip A]... [--uri U]...
 *       [--email E]...
 *   vigil-test-x509_issue responder --ca-cert F --ca-key K --key K [--gen T]
 *       --out F --cn N
 *
 * Common: --ocsp-url U, --crl-url U, --ca-issuers-url U (intermediate and
 * leaf only; the ca and responder profiles carry no AIA / CRL DP), --days N,
 * --hours N, --serial HEX, --now EPOCH (signing time, default: the clock),
 * --not-before EPOCH, --not-after EPOCH, --der (write DER, not PEM).
 * --gen T (p256, p384, rsa2048, rsa3072, rsa4096, ed25519) makes a fresh
 * key and saves it to the --key path (mode 0600). Exit status 0 on
 * success, 1 with a message on stderr otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/csr.h"
#include "vigil/hex.h"
#include "vigil/key.h"
#include "vigil/x509.h"

#define MAX_SANS 64
#define MAX_FILE (256 * 1024)

struct opts {
  const char *cmd;
  const char *key, *gen, *out, *ca_cert, *ca_key, *csr;
  const char *cn, *o, *c;
  const char *ocsp_url, *crl_url, *ca_issuers_url, *eku, *serial;
  long long days, hours, now, not_before, not_after, path_len;
  int has_days, has_hours, has_now, has_not_before, has_not_after;
  int der;
  struct vigil_x509_san sans[MAX_SANS];
  uint8_t ips[MAX_SANS][16];
  size_t num_sans;
};

static int usage(void) {
  fprintf(stderr,
          "usage: vigil-test-x509_issue ca|intermediate|leaf|responder "
          "[options]\n(see the comment at the top of x509_issue.c)\n");
  return 1;
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

static int add_san(struct opts *o, enum vigil_x509_san_type type,
                   const char *value) {
  if (o->num_sans == MAX_SANS) {
    fprintf(stderr, "too many SANs\n");
    return 0;
  }
  struct vigil_x509_san *san = &o->sans[o->num_sans];
  san->type = type;
  if (type == VIGIL_X509_SAN_IP) {
    uint8_t *buf = o->ips[o->num_sans];
    if (inet_pton(AF_INET, value, buf) == 1) {
      san->value_len = 4;
    } else if (inet_pton(AF_INET6, value, buf) == 1) {
      san->value_len = 16;
    } else {
      fprintf(stderr, "bad IP address: %s\n", value);
      return 0;
    }
    san->value = buf;
  } else {
    san->value = (const uint8_t *)value;
    san->value_len = strlen(value);
  }
  o->num_sans++;
  return 1;
}

static int parse_args(struct opts *o, int argc, char **argv) {
  if (argc < 2) {
    return 0;
  }
  o->cmd = argv[1];
  o->path_len = -1;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--der") == 0) {
      o->der = 1;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "%s needs a value\n", a);
      return 0;
    }
    const char *v = argv[++i];
    int ok = 1;
    if (strcmp(a, "--key") == 0) {
      o->key = v;
    } else if (strcmp(a, "--gen") == 0) {
      o->gen = v;
    } else if (strcmp(a, "--out") == 0) {
      o->out = v;
    } else if (strcmp(a, "--ca-cert") == 0) {
      o->ca_cert = v;
    } else if (strcmp(a, "--ca-key") == 0) {
      o->ca_key = v;
    } else if (strcmp(a, "--csr") == 0) {
      o->csr = v;
    } else if (strcmp(a, "--cn") == 0) {
      o->cn = v;
    } else if (strcmp(a, "--o") == 0) {
      o->o = v;
    } else if (strcmp(a, "--c") == 0) {
      o->c = v;
    } else if (strcmp(a, "--ocsp-url") == 0) {
      o->ocsp_url = v;
    } else if (strcmp(a, "--crl-url") == 0) {
      o->crl_url = v;
    } else if (strcmp(a, "--ca-issuers-url") == 0) {
      o->ca_issuers_url = v;
    } else if (strcmp(a, "--eku") == 0) {
      o->eku = v;
    } else if (strcmp(a, "--serial") == 0) {
      o->serial = v;
    } else if (strcmp(a, "--dns") == 0) {
      ok = add_san(o, VIGIL_X509_SAN_DNS, v);
    } else if (strcmp(a, "--ip") == 0) {
      ok = add_san(o, VIGIL_X509_SAN_IP, v);
    } else if (strcmp(a, "--uri") == 0) {
      ok = add_san(o, VIGIL_X509_SAN_URI, v);
    } else if (strcmp(a, "--email") == 0) {
      ok = add_san(o, VIGIL_X509_SAN_EMAIL, v);
    } else if (strcmp(a, "--days") == 0) {
      ok = parse_ll(&o->days, v) && o->days > 0;
      o->has_days = 1;
    } else if (strcmp(a, "--hours") == 0) {
      ok = parse_ll(&o->hours, v) && o->hours > 0;
      o->has_hours = 1;
    } else if (strcmp(a, "--now") == 0) {
      ok = parse_ll(&o->now, v);
      o->has_now = 1;
    } else if (strcmp(a, "--not-before") == 0) {
      ok = parse_ll(&o->not_before, v);
      o->has_not_before = 1;
    } else if (strcmp(a, "--not-after") == 0) {
      ok = parse_ll(&o->not_after, v);
      o->has_not_after = 1;
    } else if (strcmp(a, "--path-len") == 0) {
      ok = parse_ll(&o->path_len, v) && o->path_len >= 0 && o->path_len < 100;
    } else {
      fprintf(stderr, "unknown option %s\n", a);
      return 0;
    }
    if (!ok) {
      fprintf(stderr, "bad value for %s: %s\n", a, v);
      return 0;
    }
  }
  return 1;
}

static int parse_eku(unsigned *out, const char *list) {
  static const struct {
    const char *name;
    unsigned bit;
  } kNames[] = {
    { "serverAuth", VIGIL_X509_EKU_SERVER_AUTH },
    { "clientAuth", VIGIL_X509_EKU_CLIENT_AUTH },
    { "codeSigning", VIGIL_X509_EKU_CODE_SIGNING },
    { "emailProtection", VIGIL_X509_EKU_EMAIL_PROTECTION },
    { "timeStamping", VIGIL_X509_EKU_TIME_STAMPING },
    { "OCSPSigning", VIGIL_X509_EKU_OCSP_SIGNING },
  };
  *out = 0;
  const char *p = list;
  while (*p != '\0') {
    size_t n = strcspn(p, ",");
    size_t i;
    for (i = 0; i < sizeof(kNames) / sizeof(kNames[0]); i++) {
      if (strlen(kNames[i].name) == n && strncmp(kNames[i].name, p, n) == 0) {
        *out |= kNames[i].bit;
        break;
      }
    }
    if (i == sizeof(kNames) / sizeof(kNames[0])) {
      return 0;
    }
    p += n;
    if (*p == ',') {
      p++;
    }
  }
  return 1;
}

static int read_file(uint8_t **out, size_t *out_len, const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 0;
  }
  uint8_t *buf = malloc(MAX_FILE);
  if (buf == NULL) {
    fclose(f);
    return 0;
  }
  size_t n = fread(buf, 1, MAX_FILE, f);
  fclose(f);
  *out = buf;
  *out_len = n;
  return 1;
}

static int write_file(const char *path, const uint8_t *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "cannot create %s\n", path);
    return 0;
  }
  int ok = fwrite(data, 1, len, f) == len;
  if (fclose(f) != 0) {
    ok = 0;
  }
  return ok;
}

static struct vigil_key *get_key(const char *path, const char *gen) {
  if (path == NULL) {
    fprintf(stderr, "--key is required\n");
    return NULL;
  }
  if (gen != NULL) {
    static const struct {
      const char *name;
      enum vigil_key_type type;
      unsigned bits;
    } kTypes[] = {
      { "p256", VIGIL_KEY_EC_P256, 0 },   { "p384", VIGIL_KEY_EC_P384, 0 },
      { "rsa2048", VIGIL_KEY_RSA, 2048 }, { "rsa3072", VIGIL_KEY_RSA, 3072 },
      { "rsa4096", VIGIL_KEY_RSA, 4096 }, { "ed25519", VIGIL_KEY_ED25519, 0 },
    };
    for (size_t i = 0; i < sizeof(kTypes) / sizeof(kTypes[0]); i++) {
      if (strcmp(gen, kTypes[i].name) != 0) {
        continue;
      }
      struct vigil_key *key =
          vigil_key_generate(kTypes[i].type, kTypes[i].bits);
      if (key == NULL || !vigil_key_save_pem(key, path)) {
        fprintf(stderr, "cannot generate or save key %s\n", path);
        vigil_key_free(key);
        return NULL;
      }
      return key;
    }
    fprintf(stderr, "unknown key type %s\n", gen);
    return NULL;
  }
  enum vigil_key_err err;
  struct vigil_key *key = vigil_key_load_file(&err, path, 0);
  if (key == NULL) {
    fprintf(stderr, "%s: %s\n", path, vigil_key_err_string(err));
  }
  return key;
}

int main(int argc, char **argv) {
  struct opts o;
  struct vigil_x509_template t;
  struct vigil_key *key = NULL, *ca_key = NULL;
  struct vigil_cert *ca = NULL;
  struct vigil_csr *csr = NULL;
  uint8_t *file = NULL, *der = NULL, *name = NULL, *pem = NULL;
  size_t file_len = 0, der_len = 0, name_len = 0, pem_len = 0;
  uint8_t serial[VIGIL_X509_MAX_SERIAL];
  CBB cbb;
  int rc = 1;

  memset(&o, 0, sizeof(o));
  CBB_zero(&cbb);
  if (!parse_args(&o, argc, argv)) {
    return usage();
  }
  int64_t now = o.has_now ? (int64_t)o.now : (int64_t)time(NULL);
  int is_ca = strcmp(o.cmd, "ca") == 0;
  int is_inter = strcmp(o.cmd, "intermediate") == 0;
  int is_leaf = strcmp(o.cmd, "leaf") == 0;
  int is_resp = strcmp(o.cmd, "responder") == 0;
  if ((!is_ca && !is_inter && !is_leaf && !is_resp) || o.out == NULL) {
    return usage();
  }

  /* Issuer. */
  if (!is_ca) {
    enum vigil_cert_err cerr;
    enum vigil_key_err kerr;
    if (o.ca_cert == NULL || o.ca_key == NULL) {
      fprintf(stderr, "--ca-cert and --ca-key are required\n");
      goto err;
    }
    ca = vigil_cert_load_file(&cerr, o.ca_cert);
    if (ca == NULL) {
      fprintf(stderr, "%s: %s\n", o.ca_cert, vigil_cert_err_string(cerr));
      goto err;
    }
    ca_key = vigil_key_load_file(&kerr, o.ca_key, 0);
    if (ca_key == NULL) {
      fprintf(stderr, "%s: %s\n", o.ca_key, vigil_key_err_string(kerr));
      goto err;
    }
  }

  /* Subject key: a CSR or a key file. */
  const uint8_t *spki = NULL;
  size_t spki_len = 0;
  enum vigil_key_type key_type;
  if (o.csr != NULL) {
    enum vigil_csr_err cerr;
    if (!read_file(&file, &file_len, o.csr)) {
      goto err;
    }
    csr = vigil_csr_parse(&cerr, file, file_len);
    if (csr == NULL) {
      fprintf(stderr, "%s: %s\n", o.csr, vigil_csr_err_string(cerr));
      goto err;
    }
    spki = CBS_data(&csr->spki);
    spki_len = CBS_len(&csr->spki);
    key_type = csr->key_type;
  } else {
    key = get_key(o.key, o.gen);
    if (key == NULL) {
      goto err;
    }
    spki = vigil_key_get0_spki(key, &spki_len);
    key_type = vigil_key_get_type(key);
  }

  /* Profile. */
  int64_t lifetime;
  if (o.has_hours) {
    lifetime = (int64_t)o.hours * 3600;
  } else if (o.has_days) {
    lifetime = (int64_t)o.days * 86400;
  } else {
    lifetime = is_ca      ? 3650 * 86400LL
               : is_inter ? 1825 * 86400LL
               : is_leaf  ? 90 * 86400LL
                          : 3 * 86400LL;
  }
  if (is_ca) {
    vigil_x509_profile_root_ca(&t, now, lifetime);
  } else if (is_inter) {
    unsigned eku = 0;
    if (o.eku != NULL && !parse_eku(&eku, o.eku)) {
      fprintf(stderr, "bad --eku list %s\n", o.eku);
      goto err;
    }
    vigil_x509_profile_intermediate_ca(&t, now, lifetime, (int)o.path_len, eku);
  } else if (is_leaf) {
    vigil_x509_profile_tls_server(&t, now, lifetime, key_type);
  } else {
    vigil_x509_profile_ocsp_responder(&t, now, lifetime);
  }
  if (o.has_not_before) {
    t.not_before = o.not_before;
  }
  if (o.has_not_after) {
    t.not_after = o.not_after;
  }
  if (!is_ca && !is_resp) {
    t.ocsp_url = o.ocsp_url;
    t.crl_url = o.crl_url;
    t.ca_issuers_url = o.ca_issuers_url;
  }
  if (o.serial != NULL) {
    size_t serial_len = 0;
    if (!vigil_hex_decode(serial, &serial_len, sizeof(serial), o.serial,
                          strlen(o.serial))) {
      fprintf(stderr, "bad --serial\n");
      goto err;
    }
    t.serial = serial;
    t.serial_len = serial_len;
  }
  t.spki = spki;
  t.spki_len = spki_len;

  /* Subject: from --cn/--o/--c, else the CSR's. */
  if (o.cn != NULL || o.o != NULL || o.c != NULL || csr == NULL) {
    struct vigil_x509_name n;
    memset(&n, 0, sizeof(n));
    n.common_name = o.cn;
    n.organization = o.o;
    n.country = o.c;
    enum vigil_x509_err nerr;
    if (!CBB_init(&cbb, 128)) {
      goto err;
    }
    nerr = vigil_x509_name_build(&cbb, &n);
    if (nerr != VIGIL_X509_OK || !CBB_finish(&cbb, &name, &name_len)) {
      fprintf(stderr, "name: %s\n", vigil_x509_err_string(nerr));
      goto err;
    }
    t.subject = name;
    t.subject_len = name_len;
  } else {
    t.subject = CBS_data(&csr->subject);
    t.subject_len = CBS_len(&csr->subject);
  }
  if (o.num_sans > 0) {
    t.sans = o.sans;
    t.num_sans = o.num_sans;
  } else if (csr != NULL) {
    t.sans = csr->sans;
    t.num_sans = csr->num_sans;
  }

  enum vigil_x509_err xerr =
      vigil_x509_issue_der(&der, &der_len, &t, ca, is_ca ? key : ca_key, now);
  if (xerr != VIGIL_X509_OK) {
    fprintf(stderr, "issue: %s\n", vigil_x509_err_string(xerr));
    goto err;
  }
  if (o.der) {
    if (!write_file(o.out, der, der_len)) {
      goto err;
    }
  } else {
    CBB_cleanup(&cbb);
    if (!CBB_init(&cbb, 2 * der_len + 64) ||
        !vigil_pem_encode(&cbb, "CERTIFICATE", der, der_len) ||
        !CBB_finish(&cbb, &pem, &pem_len) || !write_file(o.out, pem, pem_len)) {
      goto err;
    }
  }
  rc = 0;

err:
  CBB_cleanup(&cbb);
  OPENSSL_free(name);
  OPENSSL_free(pem);
  vigil_free(der);
  free(file);
  vigil_csr_free(csr);
  vigil_cert_free(ca);
  vigil_key_free(key);
  vigil_key_free(ca_key);
  return rc;
}
