/* bench_edgeload.c: test data and the raw signing rate for
 * bench/edge/run.sh.
 *
 * Publishing serials one `vigil-pki publish` at a time is far too slow for
 * 100k or millions of them, so this helper does in one process what the
 * control plane would: it signs good OCSP responses with the CA key (the
 * shared codec, vigil_ocsp_response_build) on every core and writes them
 * to Redis in the keyspace of vigil/keyspace.h with pipelined hiredis
 * commands, and writes everything the load generator and nginx need.
 *
 *   bench_edgeload gen --ca-cert CA.pem --ca-key CA.key --count N
 *       [--first I] [--redis HOST:PORT] [--www DIR] [--paths FILE]
 *       [--nonce-paths FILE --nonce-count M] [--template] [--unlink]
 *       [--issuer-record ID --tenant T] [--mirror]
 *     Serials are a pure function of their index (I .. I+N-1), so separate
 *     runs agree. For each serial:
 *       --redis    SET v1:resp:{ikh}:{serial} DER PX (until nextUpdate) and
 *                  SET v1:status:{ikh}:{serial} "good {notAfter}"
 *                  (--unlink: UNLINK both instead)
 *       --www      DIR/ocsp/{b64url of the OCSP request} = the DER response,
 *                  so nginx answers GET /ocsp/{b64url} from a file
 *       --paths    one line per serial: /ocsp/{b64url request}
 *     --nonce-paths writes M request paths with a 16-byte nonce each (the
 *     edge live-signs those) over the first M serials.
 *     --template signs one response and patches each serial into a copy:
 *     the signatures are then wrong, which the edge does not check (it
 *     never verifies what Redis holds) — for filling very large L1s only.
 *     --issuer-record/--mirror write v1:issuers and v1:mirror as vigil-pki
 *     issuer / mirror would (fallback when vigil-pki is not available).
 *   bench_edgeload sign-rate --key K.key [--cert K.pem] [--seconds S]
 *     Rate per CPU-second (this thread's CPU time, for S CPU-seconds in
 *     all) of vigil_key_sign over 200 bytes (the raw signature) and of
 *     vigil_ocsp_response_build of a delegated response with a 16-byte
 *     nonce (what a live-signed answer costs), with the edge's responder
 *     key: "raw_sign_per_s X build_per_s Y".
 *
 * Without arguments (as `make bench` runs every bench program) it prints
 * what it is for and exits 0. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/bytestring.h>

#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/cert.h"
#include "vigil/key.h"
#include "vigil/keyspace.h"
#include "vigil/ocsp.h"
#include "vigil/ocsp_response.h"

#include "edgebench_ocsp.h"

#define SERIAL_LEN  16
#define NONCE_LEN   EB_NONCE_LEN
#define BATCH       4096
#define MAX_THREADS 16
#define VALIDITY    (96 * 3600)
#define REQ_MAX     EB_REQ_MAX
#define PATH_MAX_B  EB_PATH_MAX

struct opts {
  const char *ca_cert;
  const char *ca_key;
  const char *redis;
  const char *www;
  const char *paths;
  const char *nonce_paths;
  const char *issuer_id;
  const char *tenant;
  long first;
  long count;
  long nonce_count;
  int template_mode;
  int unlink_mode;
  int mirror;
};

/* Read-only context shared by the signing threads. */
struct gen_ctx {
  const struct vigil_cert *ca;
  const struct vigil_key *key;
  int64_t now;
  size_t slot_len; /* bytes per response slot in a batch */
};

struct batch {
  const struct gen_ctx *g;
  long first; /* index of slot 0 */
  long num;
  uint8_t *der;     /* num * g->slot_len */
  size_t *der_len;  /* num */
  int failed;       /* set by a thread that could not sign */
  unsigned thread;  /* this thread's stripe */
  unsigned threads; /* stripes */
};

/* The serial of index |i|: 16 bytes, positive and minimal (first byte
 * 0x5a), a scrambled part so serials do not share long prefixes, and the
 * index itself so they are unique. */
static void serial_of(uint8_t out[SERIAL_LEN], long i) {
  uint64_t z = (uint64_t)i + UINT64_C(0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  z ^= z >> 31;
  out[0] = 0x5a;
  for (int k = 0; k < 7; k++) {
    out[1 + k] = (uint8_t)(z >> (8 * k));
  }
  for (int k = 0; k < 8; k++) {
    out[8 + k] = (uint8_t)((uint64_t)i >> (56 - 8 * k));
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of this thread: the sign rate is per CPU-second, the unit the
 * edge's CPU per request is in, so other load on the machine does not
 * lower it. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------------------
 * Responses
 * ------------------------------------------------------------------------- */

static int sign_one(const struct gen_ctx *g, uint8_t *out, size_t *out_len,
                    const uint8_t *serial) {
  struct vigil_ocsp_single s;
  memset(&s, 0, sizeof(s));
  s.hash = VIGIL_OCSP_HASH_SHA1;
  s.issuer_name_hash = g->ca->name_sha1;
  s.issuer_key_hash = g->ca->key_sha1;
  s.serial = serial;
  s.serial_len = SERIAL_LEN;
  s.status = VIGIL_CERT_STATUS_GOOD;
  s.reason = VIGIL_REASON_NONE;
  s.this_update = g->now - 60;
  s.next_update = s.this_update + VALIDITY;
  struct vigil_ocsp_responder r = { g->key, NULL };
  CBB cbb;
  if (!CBB_init_fixed(&cbb, out, g->slot_len)) {
    return 0;
  }
  if (!vigil_ocsp_response_build(&cbb, &r, g->now, &s, 1, NULL, 0) ||
      !CBB_finish(&cbb, NULL, out_len)) {
    CBB_cleanup(&cbb);
    return 0;
  }
  return 1;
}

static void *sign_stripe(void *arg) {
  struct batch *b = arg;
  for (long k = (long)b->thread; k < b->num; k += (long)b->threads) {
    uint8_t serial[SERIAL_LEN];
    serial_of(serial, b->first + k);
    if (!sign_one(b->g, b->der + (size_t)k * b->g->slot_len, &b->der_len[k],
                  serial)) {
      b->failed = 1;
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------- */

static int write_file(const char *path, const uint8_t *data, size_t len) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return 0;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      close(fd);
      return 0;
    }
    off += (size_t)n;
  }
  return close(fd) == 0;
}

static int drain_replies(redisContext *rc, long n) {
  for (long k = 0; k < n; k++) {
    void *reply = NULL;
    if (redisGetReply(rc, &reply) != REDIS_OK || reply == NULL) {
      fprintf(stderr, "bench_edgeload: redis: %s\n", rc->errstr);
      return 0;
    }
    redisReply *r = reply;
    int bad = r->type == REDIS_REPLY_ERROR;
    if (bad) {
      fprintf(stderr, "bench_edgeload: redis error: %s\n", r->str);
    }
    freeReplyObject(reply);
    if (bad) {
      return 0;
    }
  }
  return 1;
}

static redisContext *redis_open(const char *hostport) {
  char host[256];
  const char *colon = strrchr(hostport, ':');
  if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
    fprintf(stderr, "bench_edgeload: --redis wants HOST:PORT\n");
    return NULL;
  }
  memcpy(host, hostport, (size_t)(colon - hostport));
  host[colon - hostport] = '\0';
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535) {
    fprintf(stderr, "bench_edgeload: bad port in --redis\n");
    return NULL;
  }
  redisContext *rc = redisConnect(host, (int)port);
  if (rc == NULL || rc->err) {
    fprintf(stderr, "bench_edgeload: cannot connect to Redis at %s\n",
            hostport);
    if (rc != NULL) {
      redisFree(rc);
    }
    return NULL;
  }
  return rc;
}

static int write_issuer(redisContext *rc, const struct opts *o,
                        const struct vigil_cert *ca, int64_t now) {
  char ikh[41];
  char rec[VIGIL_KS_MAX_RECORD];
  struct vigil_issuer_record ir;
  memset(&ir, 0, sizeof(ir));
  size_t id_len = strlen(o->issuer_id);
  size_t t_len = strlen(o->tenant);
  if (!vigil_ks_name_valid(o->issuer_id, id_len) ||
      !vigil_ks_name_valid(o->tenant, t_len)) {
    fprintf(stderr, "bench_edgeload: bad issuer id or tenant\n");
    return 0;
  }
  memcpy(ir.issuer_id, o->issuer_id, id_len + 1);
  memcpy(ir.tenant, o->tenant, t_len + 1);
  memcpy(ir.name_sha1, ca->name_sha1, 20);
  memcpy(ir.name_sha256, ca->name_sha256, 32);
  memcpy(ir.key_sha256, ca->key_sha256, 32);
  ir.current = 1;
  size_t rec_len = vigil_issuer_record_format(rec, sizeof(rec), &ir);
  if (rec_len == 0) {
    return 0;
  }
  static const char kHex[] = "0123456789abcdef";
  for (int k = 0; k < 20; k++) {
    ikh[2 * k] = kHex[ca->key_sha1[k] >> 4];
    ikh[2 * k + 1] = kHex[ca->key_sha1[k] & 15];
  }
  ikh[40] = '\0';
  redisAppendCommand(rc, "HSET %s %s %b", VIGIL_KS_ISSUERS, ikh, rec, rec_len);
  redisAppendCommand(rc, "XADD %s * type issuer ikh %s issuer_id %s",
                     VIGIL_KS_EVENTS, ikh, o->issuer_id);
  int n = 2;
  if (o->mirror) {
    redisAppendCommand(rc, "SET %s %lld", VIGIL_KS_MIRROR, (long long)now);
    n++;
  }
  return drain_replies(rc, n);
}

/* ---------------------------------------------------------------------------
 * gen
 * ------------------------------------------------------------------------- */

static int cmd_gen(const struct opts *o) {
  int ok = 0;
  struct vigil_cert *ca = NULL;
  struct vigil_key *key = NULL;
  redisContext *rc = NULL;
  FILE *paths = NULL;
  FILE *npaths = NULL;
  uint8_t *der = NULL;
  size_t *der_len = NULL;
  uint8_t *tmpl = NULL;
  char *fname = NULL;
  enum vigil_cert_err cerr = VIGIL_CERT_OK;
  enum vigil_key_err kerr = VIGIL_KEY_OK;

  ca = vigil_cert_load_file(&cerr, o->ca_cert);
  if (ca == NULL) {
    fprintf(stderr, "bench_edgeload: %s: %s\n", o->ca_cert,
            vigil_cert_err_string(cerr));
    goto err;
  }
  key = vigil_key_load_file(&kerr, o->ca_key, 0);
  if (key == NULL) {
    fprintf(stderr, "bench_edgeload: %s: %s\n", o->ca_key,
            vigil_key_err_string(kerr));
    goto err;
  }
  struct gen_ctx g;
  memset(&g, 0, sizeof(g));
  g.ca = ca;
  g.key = key;
  g.now = (int64_t)time(NULL);
  struct vigil_ocsp_responder r = { key, NULL };
  g.slot_len = vigil_ocsp_response_max_len(&r, 1, 0);
  if (g.slot_len == 0) {
    goto err;
  }
  if (o->redis != NULL) {
    rc = redis_open(o->redis);
    if (rc == NULL) {
      goto err;
    }
    if (o->issuer_id != NULL && !write_issuer(rc, o, ca, g.now)) {
      goto err;
    }
  }
  if (o->www != NULL) {
    size_t wl = strlen(o->www);
    fname = vigil_malloc(wl + 8 + PATH_MAX_B);
    if (fname == NULL) {
      goto err;
    }
    memcpy(fname, o->www, wl);
    memcpy(fname + wl, "/ocsp", 6);
    if (mkdir(o->www, 0755) != 0 && errno != EEXIST) {
      goto err;
    }
    if (mkdir(fname, 0755) != 0 && errno != EEXIST) {
      fprintf(stderr, "bench_edgeload: cannot create %s\n", fname);
      goto err;
    }
  }
  if (o->paths != NULL) {
    paths = fopen(o->paths, "w");
    if (paths == NULL) {
      fprintf(stderr, "bench_edgeload: cannot write %s\n", o->paths);
      goto err;
    }
  }
  der = vigil_malloc((size_t)BATCH * g.slot_len);
  der_len = vigil_calloc(BATCH, sizeof(size_t));
  if (der == NULL || der_len == NULL) {
    goto err;
  }

  /* Template mode: one signature; the serial's offset in the DER is where
   * its 16 bytes occur (they are unique in the response). */
  size_t tmpl_len = 0;
  size_t tmpl_serial_off = 0;
  if (o->template_mode && !o->unlink_mode) {
    uint8_t serial[SERIAL_LEN];
    serial_of(serial, o->first);
    tmpl = vigil_malloc(g.slot_len);
    if (tmpl == NULL || !sign_one(&g, tmpl, &tmpl_len, serial)) {
      goto err;
    }
    const uint8_t *at = memmem(tmpl, tmpl_len, serial, SERIAL_LEN);
    if (at == NULL) {
      goto err;
    }
    tmpl_serial_off = (size_t)(at - tmpl);
  }

  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) {
    threads = 1;
  }
  if (threads > MAX_THREADS) {
    threads = MAX_THREADS;
  }
  char status_rec[VIGIL_KS_MAX_RECORD];
  struct vigil_status st;
  memset(&st, 0, sizeof(st));
  st.status = VIGIL_CERT_STATUS_GOOD;
  st.not_after = g.now + 365 * 86400;
  st.reason = VIGIL_REASON_NONE;
  size_t status_len = vigil_status_format(status_rec, sizeof(status_rec), &st);
  if (status_len == 0) {
    goto err;
  }
  long long px = (long long)(VALIDITY - 60) * 1000;
  double t0 = now_s();
  size_t total_der = 0;

  for (long base = 0; base < o->count; base += BATCH) {
    long num = o->count - base < BATCH ? o->count - base : BATCH;
    long first = o->first + base;
    int need_der = !o->unlink_mode && (rc != NULL || o->www != NULL);
    if (need_der && tmpl != NULL) {
      for (long k = 0; k < num; k++) {
        uint8_t *d = der + (size_t)k * g.slot_len;
        memcpy(d, tmpl, tmpl_len);
        serial_of(d + tmpl_serial_off, first + k);
        der_len[k] = tmpl_len;
      }
    } else if (need_der) {
      struct batch bs[MAX_THREADS];
      pthread_t tids[MAX_THREADS];
      for (long t = 0; t < threads; t++) {
        bs[t] =
            (struct batch){ &g,      first, num,         der,
                            der_len, 0,     (unsigned)t, (unsigned)threads };
      }
      for (long t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, sign_stripe, &bs[t]) != 0) {
          goto err;
        }
      }
      sign_stripe(&bs[0]);
      int failed = bs[0].failed;
      for (long t = 1; t < threads; t++) {
        pthread_join(tids[t], NULL);
        failed |= bs[t].failed;
      }
      if (failed) {
        fprintf(stderr, "bench_edgeload: signing failed\n");
        goto err;
      }
    }
    for (long k = 0; k < num; k++) {
      uint8_t serial[SERIAL_LEN];
      serial_of(serial, first + k);
      const uint8_t *d = der + (size_t)k * g.slot_len;
      total_der += need_der ? der_len[k] : 0;
      if (rc != NULL) {
        char rkey[VIGIL_KS_MAX_KEY];
        char skey[VIGIL_KS_MAX_KEY];
        if (vigil_ks_resp_key(rkey, sizeof(rkey), ca->key_sha1, serial,
                              SERIAL_LEN) == 0 ||
            vigil_ks_status_key(skey, sizeof(skey), ca->key_sha1, serial,
                                SERIAL_LEN) == 0) {
          goto err;
        }
        if (o->unlink_mode) {
          redisAppendCommand(rc, "UNLINK %s %s", rkey, skey);
        } else {
          redisAppendCommand(rc, "SET %s %b PX %lld", rkey, d, der_len[k], px);
          redisAppendCommand(rc, "SET %s %b", skey, status_rec, status_len);
        }
      }
      if (paths != NULL || o->www != NULL) {
        uint8_t req[REQ_MAX];
        char path[PATH_MAX_B];
        size_t req_len = eb_build_request(req, ca->name_sha1, ca->key_sha1,
                                          serial, SERIAL_LEN, NULL);
        if (req_len == 0) {
          goto err;
        }
        size_t pl = eb_path_of(path, req, req_len);
        if (paths != NULL &&
            (fwrite(path, 1, pl, paths) != pl || fputc('\n', paths) == EOF)) {
          goto err;
        }
        if (o->www != NULL && !o->unlink_mode) {
          size_t wl = strlen(o->www);
          memcpy(fname + wl, path, pl);
          fname[wl + pl] = '\0';
          if (!write_file(fname, d, der_len[k])) {
            fprintf(stderr, "bench_edgeload: cannot write %s\n", fname);
            goto err;
          }
        }
      }
    }
    if (rc != NULL && !drain_replies(rc, o->unlink_mode ? num : 2 * num)) {
      goto err;
    }
  }

  if (o->nonce_paths != NULL) {
    npaths = fopen(o->nonce_paths, "w");
    if (npaths == NULL) {
      goto err;
    }
    for (long k = 0; k < o->nonce_count; k++) {
      uint8_t serial[SERIAL_LEN];
      uint8_t nonce[NONCE_LEN];
      uint8_t req[REQ_MAX];
      char path[PATH_MAX_B];
      serial_of(serial, o->first + (o->count > 0 ? k % o->count : k));
      serial_of(nonce, k + (INT64_C(1) << 40));
      size_t req_len = eb_build_request(req, ca->name_sha1, ca->key_sha1,
                                        serial, SERIAL_LEN, nonce);
      if (req_len == 0) {
        goto err;
      }
      size_t pl = eb_path_of(path, req, req_len);
      if (fwrite(path, 1, pl, npaths) != pl || fputc('\n', npaths) == EOF) {
        goto err;
      }
    }
  }
  if (!o->template_mode && o->mirror && o->issuer_id == NULL && rc != NULL) {
    redisAppendCommand(rc, "SET %s %lld", VIGIL_KS_MIRROR, (long long)g.now);
    if (!drain_replies(rc, 1)) {
      goto err;
    }
  }
  double dt = now_s() - t0;
  printf("bench_edgeload: %s %ld serials from index %ld in %.1f s (%.0f/s)",
         o->unlink_mode ? "unlinked" : "generated", o->count, o->first, dt,
         dt > 0 ? (double)o->count / dt : 0.0);
  if (total_der > 0) {
    printf("%s, mean DER %.0f bytes",
           tmpl != NULL ? " [template: one signature, serials patched in]" : "",
           (double)total_der / (double)o->count);
  }
  printf("\n");
  ok = 1;
err:
  if (paths != NULL && fclose(paths) != 0) {
    ok = 0;
  }
  if (npaths != NULL && fclose(npaths) != 0) {
    ok = 0;
  }
  if (rc != NULL) {
    redisFree(rc);
  }
  vigil_free(fname);
  vigil_free(tmpl);
  vigil_free(der);
  vigil_free(der_len);
  vigil_key_free(key);
  vigil_cert_free(ca);
  return ok;
}

/* ---------------------------------------------------------------------------
 * sign-rate
 * ------------------------------------------------------------------------- */

static int cmd_sign_rate(const char *key_path, const char *cert_path,
                         double seconds) {
  int ok = 0;
  enum vigil_key_err kerr = VIGIL_KEY_OK;
  enum vigil_cert_err cerr = VIGIL_CERT_OK;
  struct vigil_cert *cert = NULL;
  uint8_t *buf = NULL;
  struct vigil_key *key = vigil_key_load_file(&kerr, key_path, 0);
  if (key == NULL) {
    fprintf(stderr, "bench_edgeload: %s: %s\n", key_path,
            vigil_key_err_string(kerr));
    goto err;
  }
  if (cert_path != NULL) {
    cert = vigil_cert_load_file(&cerr, cert_path);
    if (cert == NULL) {
      fprintf(stderr, "bench_edgeload: %s: %s\n", cert_path,
              vigil_cert_err_string(cerr));
      goto err;
    }
  }
  struct vigil_ocsp_responder r = { key, cert };
  size_t max = vigil_ocsp_response_max_len(&r, 1, NONCE_LEN);
  buf = vigil_malloc(max);
  if (buf == NULL) {
    goto err;
  }
  uint8_t msg[200];
  memset(msg, 0x42, sizeof(msg));
  uint8_t serial[SERIAL_LEN];
  uint8_t nonce[NONCE_LEN];
  uint8_t hashes[20];
  memset(hashes, 7, sizeof(hashes));
  serial_of(serial, 1);
  serial_of(nonce, 2);
  struct vigil_ocsp_single s;
  memset(&s, 0, sizeof(s));
  s.hash = VIGIL_OCSP_HASH_SHA1;
  s.issuer_name_hash = hashes;
  s.issuer_key_hash = hashes;
  s.serial = serial;
  s.serial_len = SERIAL_LEN;
  s.status = VIGIL_CERT_STATUS_GOOD;
  s.reason = VIGIL_REASON_NONE;
  s.this_update = (int64_t)time(NULL) - 60;
  s.next_update = s.this_update + VALIDITY;

  /* Alternate slices of both, so background load skews neither. */
  double t_raw = 0;
  double t_build = 0;
  long n_raw = 0;
  long n_build = 0;
  while (t_raw + t_build < seconds) {
    double a = cpu_s();
    for (int k = 0; k < 200; k++) {
      uint8_t sig[VIGIL_KEY_MAX_SIG_LEN];
      size_t sig_len = 0;
      if (!vigil_key_sign(key, sig, &sig_len, sizeof(sig), msg, sizeof(msg))) {
        goto err;
      }
    }
    double b = cpu_s();
    for (int k = 0; k < 200; k++) {
      CBB cbb;
      size_t len = 0;
      if (!CBB_init_fixed(&cbb, buf, max)) {
        goto err;
      }
      if (!vigil_ocsp_response_build(&cbb, &r, s.this_update + 60, &s, 1, nonce,
                                     NONCE_LEN) ||
          !CBB_finish(&cbb, NULL, &len)) {
        CBB_cleanup(&cbb);
        goto err;
      }
    }
    double c = cpu_s();
    t_raw += b - a;
    t_build += c - b;
    n_raw += 200;
    n_build += 200;
  }
  printf("raw_sign_per_s %.0f build_per_s %.0f\n", (double)n_raw / t_raw,
         (double)n_build / t_build);
  ok = 1;
err:
  vigil_free(buf);
  vigil_cert_free(cert);
  vigil_key_free(key);
  return ok;
}

/* ---------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------- */

static int parse_long(long *out, const char *s, long min, long max) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    return 0;
  }
  *out = v;
  return 1;
}

static void usage(FILE *f) {
  fprintf(f,
          "bench_edgeload: test data and raw sign rate for bench/edge/run.sh\n"
          "usage: bench_edgeload gen --ca-cert F --ca-key F --count N "
          "[--first I]\n"
          "         [--redis H:P] [--www DIR] [--paths F] [--nonce-paths F "
          "--nonce-count M]\n"
          "         [--template] [--unlink] [--issuer-record ID --tenant T] "
          "[--mirror]\n"
          "       bench_edgeload sign-rate --key F [--cert F] [--seconds S]\n");
}

int main(int argc, char **argv) {
  if (argc == 1) {
    usage(stdout);
    return 0;
  }
  struct opts o;
  memset(&o, 0, sizeof(o));
  const char *key = NULL;
  const char *cert = NULL;
  long seconds = 2;
  int gen = strcmp(argv[1], "gen") == 0;
  int rate = strcmp(argv[1], "sign-rate") == 0;
  if (!gen && !rate) {
    usage(stderr);
    return 2;
  }
  int i = 2;
  while (i < argc) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    int ok = 1;
    int flag = 1;
    if (strcmp(a, "--template") == 0) {
      o.template_mode = 1;
    } else if (strcmp(a, "--unlink") == 0) {
      o.unlink_mode = 1;
    } else if (strcmp(a, "--mirror") == 0) {
      o.mirror = 1;
    } else {
      flag = 0;
    }
    if (flag) {
      i++;
      continue;
    }
    if (v == NULL) {
      ok = 0;
    } else if (strcmp(a, "--ca-cert") == 0) {
      o.ca_cert = v;
    } else if (strcmp(a, "--ca-key") == 0) {
      o.ca_key = v;
    } else if (strcmp(a, "--redis") == 0) {
      o.redis = v;
    } else if (strcmp(a, "--www") == 0) {
      o.www = v;
    } else if (strcmp(a, "--paths") == 0) {
      o.paths = v;
    } else if (strcmp(a, "--nonce-paths") == 0) {
      o.nonce_paths = v;
    } else if (strcmp(a, "--issuer-record") == 0) {
      o.issuer_id = v;
    } else if (strcmp(a, "--tenant") == 0) {
      o.tenant = v;
    } else if (strcmp(a, "--count") == 0) {
      ok = parse_long(&o.count, v, 0, 100000000);
    } else if (strcmp(a, "--first") == 0) {
      ok = parse_long(&o.first, v, 0, INT64_C(1) << 40);
    } else if (strcmp(a, "--nonce-count") == 0) {
      ok = parse_long(&o.nonce_count, v, 0, 10000000);
    } else if (strcmp(a, "--key") == 0) {
      key = v;
    } else if (strcmp(a, "--cert") == 0) {
      cert = v;
    } else if (strcmp(a, "--seconds") == 0) {
      ok = parse_long(&seconds, v, 1, 3600);
    } else {
      ok = 0;
    }
    if (!ok) {
      fprintf(stderr, "bench_edgeload: bad or unknown option %s\n", a);
      return 2;
    }
    i += 2;
  }
  if (rate) {
    if (key == NULL) {
      usage(stderr);
      return 2;
    }
    return cmd_sign_rate(key, cert, (double)seconds) ? 0 : 1;
  }
  if (o.ca_cert == NULL || o.ca_key == NULL ||
      (o.issuer_id != NULL && o.tenant == NULL)) {
    usage(stderr);
    return 2;
  }
  return cmd_gen(&o) ? 0 : 1;
}
