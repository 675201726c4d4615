/* bench_signer_presign.c: pre-signing OCSP responses through vigil-signer's
 * socket versus signing them in-process, in the same run.
 *
 * Starts vigil-signer (next to this program in the build tree, or
 * $VIGIL_SIGNER_BIN) on a temp key directory, creates a root CA, then:
 *   raw     builds and signs responses with vigil_ocsp_response_build in
 *           this process: same key type, responder certificate included,
 *           one response per OCSPResponse, one thread;
 *   socket  PRESIGN_BATCH requests of 1000 and 10000 entries on one
 *           connection: encode, send, sign in the signer, receive, decode.
 * Prints rates and the socket/raw ratio (target >= 0.8: the protocol and
 * the copy through the socket should cost little next to the signatures).
 *
 *   bench_signer_presign [--responses N] [--key-type p256|ed25519] */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bytestring.h>
#include <openssl/mem.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/ocsp_response.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"
#include "vigil/x509.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* serial_of writes a positive 8-byte serial for |i|. */
static void serial_of(uint8_t out[8], uint64_t i) {
  uint64_t v = 0x1000000000000000ull | i;
  for (int b = 7; b >= 0; b--) {
    out[b] = (uint8_t)v;
    v >>= 8;
  }
}

/* ======================================================================
 * Raw: in-process signing
 * ====================================================================== */

static double raw_rate(enum vigil_key_type kt, size_t n) {
  int64_t now = (int64_t)time(NULL);
  struct vigil_key *ca_key = vigil_key_generate(VIGIL_KEY_EC_P256, 0);
  struct vigil_key *r_key = vigil_key_generate(kt, 0);
  struct vigil_x509_name name;
  struct vigil_x509_template t;
  uint8_t *ca_der = NULL;
  size_t ca_len = 0;
  uint8_t *r_der = NULL;
  size_t r_len = 0;
  CBB cbb;
  uint8_t *subj = NULL;
  size_t subj_len = 0;
  enum vigil_cert_err cerr;
  double rate = 0;
  if (ca_key == NULL || r_key == NULL) {
    goto done;
  }
  memset(&name, 0, sizeof(name));
  name.common_name = "Bench Root";
  if (!CBB_init(&cbb, 64) || vigil_x509_name_build(&cbb, &name) != 0 ||
      !CBB_finish(&cbb, &subj, &subj_len)) {
    goto done;
  }
  vigil_x509_profile_root_ca(&t, now, 365 * 86400);
  t.subject = subj;
  t.subject_len = subj_len;
  t.spki = vigil_key_get0_spki(ca_key, &t.spki_len);
  if (vigil_x509_issue_der(&ca_der, &ca_len, &t, NULL, ca_key, now) != 0) {
    goto done;
  }
  struct vigil_cert *ca = vigil_cert_parse(&cerr, ca_der, ca_len);
  vigil_x509_profile_ocsp_responder(&t, now, 7 * 86400);
  t.subject = subj;
  t.subject_len = subj_len;
  t.spki = vigil_key_get0_spki(r_key, &t.spki_len);
  if (ca == NULL ||
      vigil_x509_issue_der(&r_der, &r_len, &t, ca, ca_key, now) != 0) {
    vigil_cert_free(ca);
    goto done;
  }
  struct vigil_cert *rc = vigil_cert_parse(&cerr, r_der, r_len);
  struct vigil_ocsp_responder who = { r_key, rc };
  size_t max = vigil_ocsp_response_max_len(&who, 1, 0);
  uint8_t *buf = malloc(max);
  double t0 = now_s();
  size_t done_n = 0;
  for (size_t i = 0; rc != NULL && buf != NULL && i < n; i++) {
    uint8_t serial[8];
    struct vigil_ocsp_single s;
    memset(&s, 0, sizeof(s));
    serial_of(serial, i);
    s.hash = VIGIL_OCSP_HASH_SHA1;
    s.issuer_name_hash = ca->name_sha1;
    s.issuer_key_hash = ca->key_sha1;
    s.serial = serial;
    s.serial_len = sizeof(serial);
    s.status = VIGIL_CERT_STATUS_GOOD;
    s.reason = VIGIL_REASON_NONE;
    s.this_update = now;
    s.next_update = now + 96 * 3600;
    CBB out;
    size_t len = 0;
    if (!CBB_init_fixed(&out, buf, max) ||
        !vigil_ocsp_response_build(&out, &who, now, &s, 1, NULL, 0) ||
        !CBB_finish(&out, NULL, &len)) {
      break;
    }
    done_n++;
  }
  double dt = now_s() - t0;
  rate = done_n == n && dt > 0 ? (double)n / dt : 0;
  free(buf);
  vigil_cert_free(rc);
  vigil_cert_free(ca);

done:
  OPENSSL_free(subj);
  vigil_free(ca_der);
  vigil_free(r_der);
  vigil_key_free(ca_key);
  vigil_key_free(r_key);
  return rate;
}

/* ======================================================================
 * Socket: through vigil-signer
 * ====================================================================== */

static int simple_call(struct vigil_sgn_client *c, uint8_t *frame, size_t cap,
                       enum vigil_sgn_op op, int create) {
  struct vigil_sgn_writer w;
  struct vigil_sgn_msg m;
  size_t len = 0;
  vigil_sgn_writer_init(&w, frame, cap, VIGIL_SGN_REQUEST, op, VIGIL_SGN_OK, 0);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "bench");
  if (create) {
    vigil_sgn_put_text(&w, VIGIL_SGN_T_SUBJECT_CN, "Bench Root");
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 365 * 86400);
  }
  return vigil_sgn_writer_finish(&w, &len) &&
         vigil_sgn_client_call(c, &m, frame, len, 60000) == VIGIL_SGNC_OK &&
         m.status == VIGIL_SGN_OK;
}

/* socket_rate pre-signs |n| responses in batches of |batch|. */
static double socket_rate(struct vigil_sgn_client *c, size_t n, size_t batch) {
  size_t cap = VIGIL_SGN_MIN_FRAME + batch * VIGIL_SGN_ENTRY_MAX_LEN;
  uint8_t *frame = malloc(cap);
  double t0 = now_s();
  size_t got = 0;
  for (size_t done_n = 0; frame != NULL && done_n < n; done_n += batch) {
    struct vigil_sgn_writer w;
    struct vigil_sgn_msg m;
    size_t len = 0;
    vigil_sgn_writer_init(&w, frame, cap, VIGIL_SGN_REQUEST,
                          VIGIL_SGN_OP_PRESIGN_BATCH, VIGIL_SGN_OK, 0);
    vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, "bench");
    vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, 96 * 3600);
    uint8_t *p = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ENTRIES,
                                       batch * VIGIL_SGN_ENTRY_MAX_LEN);
    size_t off = 0;
    for (size_t i = 0; p != NULL && i < batch; i++) {
      uint8_t serial[8];
      struct vigil_sgn_entry e;
      memset(&e, 0, sizeof(e));
      serial_of(serial, done_n + i);
      e.serial = serial;
      e.serial_len = sizeof(serial);
      e.reason = -1;
      off += vigil_sgn_entry_encode(p + off,
                                    batch * VIGIL_SGN_ENTRY_MAX_LEN - off, &e);
    }
    if (p == NULL || !vigil_sgn_put_commit(&w, off) ||
        !vigil_sgn_writer_finish(&w, &len) ||
        vigil_sgn_client_call(c, &m, frame, len, 120000) != VIGIL_SGNC_OK ||
        m.status != VIGIL_SGN_OK) {
      fprintf(stderr, "bench_signer_presign: batch failed\n");
      break;
    }
    got += vigil_sgn_count(&m, VIGIL_SGN_T_OCSP_RESPONSE);
  }
  double dt = now_s() - t0;
  free(frame);
  return got >= n && dt > 0 ? (double)got / dt : 0;
}

int main(int argc, char **argv) {
  size_t n = 20000;
  const char *kt_name = "p256";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--responses") == 0) {
      char *end = NULL;
      unsigned long v = strtoul(argv[i + 1], &end, 10);
      if (end == argv[i + 1] || *end != '\0' || v == 0 || v > 10000000) {
        fprintf(stderr, "bench_signer_presign: bad --responses\n");
        return 2;
      }
      n = (size_t)v;
    } else if (strcmp(argv[i], "--key-type") == 0) {
      kt_name = argv[i + 1];
    }
  }
  n = (n + 9999) / 10000 * 10000;
  enum vigil_key_type kt =
      strcmp(kt_name, "ed25519") == 0 ? VIGIL_KEY_ED25519 : VIGIL_KEY_EC_P256;

  char bin[PATH_MAX];
  const char *env = getenv("VIGIL_SIGNER_BIN");
  if (env != NULL) {
    snprintf(bin, sizeof(bin), "%s", env);
  } else {
    char self[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (l <= 0) {
      return 1;
    }
    self[l] = '\0';
    char *slash = strrchr(self, '/');
    *slash = '\0';
    int w = snprintf(bin, sizeof(bin), "%.*s/../control/signer/vigil-signer",
                     (int)(sizeof(bin) - 64), self);
    if (w < 0 || (size_t)w >= sizeof(bin)) {
      return 1;
    }
  }
  char dir[] = "/tmp/vigil-bench-signer.XXXXXX";
  if (mkdtemp(dir) == NULL) {
    return 1;
  }
  char sock[PATH_MAX];
  char keys[PATH_MAX];
  char a1[PATH_MAX + 16];
  char a2[PATH_MAX + 16];
  char a3[64];
  snprintf(sock, sizeof(sock), "%s/s.sock", dir);
  snprintf(keys, sizeof(keys), "%s/keys", dir);
  snprintf(a1, sizeof(a1), "--socket=%s", sock);
  snprintf(a2, sizeof(a2), "--key-dir=%s", keys);
  snprintf(a3, sizeof(a3), "--responder-key-type=%s", kt_name);
  pid_t pid = fork();
  if (pid == 0) {
    execl(bin, bin, a1, a2, a3, "--log-level=warn", (char *)NULL);
    _exit(127);
  }
  int rc = 1;
  struct vigil_sgn_client *c = NULL;
  for (int tries = 0; tries < 1000 && c == NULL; tries++) {
    enum vigil_sgnc_err e;
    c = vigil_sgn_client_connect(&e, sock, 1000, 0);
    if (c == NULL) {
      struct timespec ts = { 0, 10 * 1000 * 1000 };
      nanosleep(&ts, NULL); /* polling the daemon's start, bounded */
    }
  }
  uint8_t small[4096];
  if (c == NULL ||
      !simple_call(c, small, sizeof(small), VIGIL_SGN_OP_CREATE_ROOT, 1) ||
      !simple_call(c, small, sizeof(small), VIGIL_SGN_OP_ISSUER_INFO, 0)) {
    fprintf(stderr, "bench_signer_presign: signer %s not usable\n", bin);
    goto done;
  }
  double raw = raw_rate(kt, n);
  double s1k = socket_rate(c, n, 1000);
  double s10k = socket_rate(c, n, 10000);
  printf("%-34s %10s %12s %8s\n", "pre-sign mode", "responses", "rate/s",
         "ratio");
  printf("%-34s %10zu %12.0f %8s\n", "raw, in-process", n, raw, "1.00");
  printf("%-34s %10zu %12.0f %8.2f\n", "socket, batches of 1000", n, s1k,
         raw > 0 ? s1k / raw : 0);
  printf("%-34s %10zu %12.0f %8.2f\n", "socket, batches of 10000", n, s10k,
         raw > 0 ? s10k / raw : 0);
  printf("(responder key %s, one thread each; target ratio >= 0.8)\n", kt_name);
  rc = raw > 0 && s1k > 0 && s10k > 0 ? 0 : 1;

done:
  vigil_sgn_client_free(c);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
