/* bench_crl.c: how fast, and in how much memory, vigil_crl_build makes a
 * large CRL.
 *
 * Targets (issue 2): 1,000,000 entries built and signed in <= 1.5 s on
 * one core, with the process's peak RSS <= 3x the CRL's size.
 *
 * Each row runs in its own child process (fork + wait4), so its peak RSS
 * (ru_maxrss from wait4) is its own: the child makes the key, the entries
 * (18-byte random serials as large CAs use, times within 90 days, 2/3
 * with a reasonCode) and then the CRL. Columns:
 *   wall, cpu   vigil_crl_build only (CLOCK_MONOTONIC, process CPU time)
 *   floor       vigil_key_sign over a buffer of the CRL's size in the same
 *               child: the hashing + signing no builder can avoid
 *   x floor     wall / floor
 *   peak RSS    the child's ru_maxrss (inputs + CRL + everything)
 *   build RSS   how much the build raised the peak (ru_maxrss after -
 *               before)
 *   x CRL       peak RSS / CRL size, build RSS / CRL size
 * Measurements, not a test: the exit status does not depend on them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/mem.h>
#include <openssl/rand.h>

#include "vigil/alloc.h"
#include "vigil/cert.h"
#include "vigil/crl.h"
#include "vigil/key.h"

#define SERIAL_LEN 18
#define T0         INT64_C(1767225600) /* 2026-01-01 */

struct result {
  int ok;
  double wall;     /* seconds */
  double cpu;      /* seconds */
  double floor;    /* seconds */
  size_t crl_len;  /* bytes */
  long rss_before; /* KiB, ru_maxrss before the build */
  long rss_after;  /* KiB, ru_maxrss after the build */
};

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long maxrss_kib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* make_ca returns a self-signed CA certificate for |key| (DER built by
 * hand: the bench must not depend on an issuance module). */
static struct vigil_cert *make_ca(const struct vigil_key *key) {
  static const uint8_t kName[] = { 0x30, 0x12, 0x31, 0x10, 0x30, 0x0e, 0x06,
                                   0x03, 0x55, 0x04, 0x03, 0x0c, 0x07, 'B',
                                   'e',  'n',  'c',  'h',  'C',  'A' };
  static const uint8_t kValidity[] = { 0x30, 0x1e, 0x17, 0x0d, '2',  '5', '0',
                                       '1',  '0',  '1',  '0',  '0',  '0', '0',
                                       '0',  '0',  'Z',  0x17, 0x0d, '3', '5',
                                       '0',  '1',  '0',  '1',  '0',  '0', '0',
                                       '0',  '0',  '0',  'Z' };
  /* [3] { SEQUENCE { basicConstraints critical { cA TRUE } } } */
  static const uint8_t kExts[] = { 0xa3, 0x13, 0x30, 0x11, 0x30, 0x0f, 0x06,
                                   0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff,
                                   0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff };
  size_t spki_len, alg_len, tbs_len, der_len;
  const uint8_t *spki = vigil_key_get0_spki(key, &spki_len);
  const uint8_t *alg = vigil_key_get0_sig_alg(key, &alg_len);
  uint8_t *tbs = NULL, *der = NULL;
  CBB cbb, seq;
  struct vigil_cert *cert = NULL;
  enum vigil_cert_err err;

  if (!CBB_init(&cbb, 1024) || !CBB_add_asn1(&cbb, &seq, CBS_ASN1_SEQUENCE) ||
      !CBB_add_bytes(&seq, (const uint8_t *)"\xa0\x03\x02\x01\x02", 5) ||
      !CBB_add_asn1_uint64(&seq, 1) || !CBB_add_bytes(&seq, alg, alg_len) ||
      !CBB_add_bytes(&seq, kName, sizeof(kName)) ||
      !CBB_add_bytes(&seq, kValidity, sizeof(kValidity)) ||
      !CBB_add_bytes(&seq, kName, sizeof(kName)) ||
      !CBB_add_bytes(&seq, spki, spki_len) ||
      !CBB_add_bytes(&seq, kExts, sizeof(kExts)) ||
      !CBB_finish(&cbb, &tbs, &tbs_len)) {
    CBB_cleanup(&cbb);
    return NULL;
  }
  if (CBB_init(&cbb, tbs_len + 600) &&
      vigil_key_add_signed(key, &cbb, tbs, tbs_len) &&
      CBB_finish(&cbb, &der, &der_len)) {
    cert = vigil_cert_parse(&err, der, der_len);
    if (cert == NULL) {
      fprintf(stderr, "bench_crl: CA: %s\n", vigil_cert_err_string(err));
    }
  } else {
    CBB_cleanup(&cbb);
  }
  OPENSSL_free(tbs);
  OPENSSL_free(der);
  return cert;
}

/* run_one is the child's work for one row. */
static struct result run_one(enum vigil_key_type type, size_t n) {
  struct result r;
  struct vigil_key *key = NULL;
  struct vigil_cert *ca = NULL;
  struct vigil_crl_entry *entries = NULL;
  uint8_t *serials = NULL, *der = NULL, *scratch = NULL;
  uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
  size_t len = 0, sig_len;
  uint8_t number[] = { 0x01, 0x00 };
  struct vigil_crl_params p;

  memset(&r, 0, sizeof(r));
  key = vigil_key_generate(type, 2048);
  ca = key ? make_ca(key) : NULL;
  entries = calloc(n, sizeof(*entries));
  serials = malloc(n * SERIAL_LEN);
  if (ca == NULL || entries == NULL || serials == NULL) {
    goto err;
  }
  RAND_bytes(serials, n * SERIAL_LEN);
  for (size_t i = 0; i < n; i++) {
    uint8_t *s = serials + i * SERIAL_LEN;
    s[0] = (uint8_t)((s[0] & 0x7f) | 0x01); /* positive, minimal */
    entries[i].serial = s;
    entries[i].serial_len = SERIAL_LEN;
    entries[i].revoked_at =
        T0 - (int64_t)(s[1] << 16 | s[2] << 8 | s[3]) % (90 * 86400);
    entries[i].reason = (i % 3 == 0)   ? VIGIL_REASON_NONE
                        : (i % 3 == 1) ? VIGIL_REASON_KEY_COMPROMISE
                                       : VIGIL_REASON_SUPERSEDED;
  }
  memset(&p, 0, sizeof(p));
  p.issuer = ca;
  p.issuer_key = key;
  p.crl_number = number;
  p.crl_number_len = sizeof(number);
  p.this_update = T0;
  p.next_update = T0 + 7 * 86400;

  r.rss_before = maxrss_kib();
  double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
  enum vigil_crl_err err = vigil_crl_build(&der, &len, NULL, &p, entries, n);
  r.wall = now_s(CLOCK_MONOTONIC) - w0;
  r.cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
  r.rss_after = maxrss_kib();
  if (err != VIGIL_CRL_OK) {
    fprintf(stderr, "bench_crl: %s\n", vigil_crl_err_string(err));
    goto err;
  }
  r.crl_len = len;
  vigil_free(der);
  der = NULL;

  /* The floor: sign a buffer of the same size (after the RSS reading). */
  scratch = calloc(1, len);
  if (scratch == NULL) {
    goto err;
  }
  w0 = now_s(CLOCK_MONOTONIC);
  if (!vigil_key_sign(key, sig, &sig_len, sizeof(sig), scratch, len)) {
    goto err;
  }
  r.floor = now_s(CLOCK_MONOTONIC) - w0;
  r.ok = 1;

err:
  free(scratch);
  vigil_free(der);
  free(entries);
  free(serials);
  vigil_cert_free(ca);
  vigil_key_free(key);
  return r;
}

static const char *type_name(enum vigil_key_type type) {
  switch (type) {
    case VIGIL_KEY_EC_P256:
      return "P-256";
    case VIGIL_KEY_EC_P384:
      return "P-384";
    case VIGIL_KEY_RSA:
      return "RSA-2048";
    case VIGIL_KEY_ED25519:
      return "Ed25519";
  }
  return "?";
}

/* row runs one measurement in a child and prints it. Returns 1 if the
 * 1M-entry targets (time and memory) hold, or the row is not a 1M row. */
static int row(enum vigil_key_type type, size_t n) {
  int fds[2];
  struct result r;
  struct rusage ru;
  int status = 0;
  pid_t pid;

  memset(&r, 0, sizeof(r));
  if (pipe(fds) != 0) {
    return 0;
  }
  fflush(stdout);
  pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return 0;
  }
  if (pid == 0) {
    close(fds[0]);
    r = run_one(type, n);
    ssize_t w = write(fds[1], &r, sizeof(r));
    _exit(w == (ssize_t)sizeof(r) ? 0 : 1);
  }
  close(fds[1]);
  ssize_t got;
  do {
    got = read(fds[0], &r, sizeof(r));
  } while (got < 0 && errno == EINTR);
  close(fds[0]);
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  if (got != (ssize_t)sizeof(r) || !r.ok || !WIFEXITED(status) ||
      WEXITSTATUS(status) != 0) {
    printf("| %-8s | %9zu | failed |\n", type_name(type), n);
    return 0;
  }
  double crl_mib = (double)r.crl_len / (1024.0 * 1024.0);
  double peak_mib = (double)ru.ru_maxrss / 1024.0;
  double build_mib = (double)(r.rss_after - r.rss_before) / 1024.0;
  printf(
      "| %-8s | %9zu | %6.3f s | %6.3f s | %6.3f s | %6.1fx | %7.1f MiB "
      "| %7.1f MiB (%5.2fx) | %7.1f MiB (%5.2fx) |\n",
      type_name(type), n, r.wall, r.cpu, r.floor,
      r.floor > 0 ? r.wall / r.floor : 0.0, crl_mib, peak_mib,
      peak_mib / crl_mib, build_mib, build_mib / crl_mib);
  if (n < 1000000) {
    return 1;
  }
  return r.wall <= 1.5 && peak_mib <= 3.0 * crl_mib;
}

int main(void) {
  int met = 1;
  printf("CRL build + sign (one core; each row in a fresh child process)\n\n");
  printf(
      "| key      |   entries |     wall |      cpu |    floor | x floor "
      "|         CRL | peak RSS (x CRL)     | build RSS (x CRL)    |\n");
  printf(
      "|----------|-----------|----------|----------|----------|---------"
      "|-------------|----------------------|----------------------|\n");
  met &= row(VIGIL_KEY_EC_P256, 100000);
  met &= row(VIGIL_KEY_EC_P256, 1000000);
  met &= row(VIGIL_KEY_RSA, 1000000);
  met &= row(VIGIL_KEY_ED25519, 1000000);
  printf(
      "\ntargets for 1,000,000 entries (wall <= 1.5 s, peak RSS <= 3x "
      "CRL): %s\n",
      met ? "met" : "NOT met");
  return 0;
}
