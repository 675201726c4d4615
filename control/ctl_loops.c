/* ctl_loops.c: the CRL loop, the pre-sign refresh loop and the mirror
 * resync (see ctl_loops.h; docs/operations.md, "Loops and resync").
 *
 * Each job works on a struct work: its own database handle, the Redis
 * address and the configuration. Signer connections are short (one per
 * call), as in ctl_api_pki.c; Redis connections last one pass. */
#include "ctl_loops.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"
#include "vigil/ocsp.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"

#define SGN_TIMEOUT_MS    30000
#define PRESIGN_BATCH     500     /* entries per PRESIGN_BATCH request */
#define CRL_MAX_ENTRIES   1000000 /* one CRL frame stays far below 64 MiB */
#define CRL_CHECK_SECS    60      /* the CRL consistency check's period */
#define REFRESH_POLL_SECS 60      /* the refresh loop's period */
#define BACKOFF_MIN_MS    1000
#define BACKOFF_MAX_MS    60000
#define EVENTS_MAXLEN     "1000000"

/* ==========================================================================
 * Working context
 * ========================================================================== */

struct work {
  const struct ctl_config *cfg; /* borrowed */
  const struct vigil_log *log;  /* borrowed */
  struct ctl_db *db;            /* owned */
  char redis_host[256];         /* "": no Redis */
  int redis_port;
  struct ctl_loops_counters *ctr; /* the loops' counters; NULL: resync */
};

/* parse_redis_url: redis://host[:port][/...] or "" (none). */
static int parse_redis_url(struct work *w, const char *url) {
  w->redis_host[0] = '\0';
  w->redis_port = 6379;
  if (url[0] == '\0') {
    return 1;
  }
  if (strncmp(url, "redis://", 8) != 0) {
    return 0;
  }
  const char *h = url + 8;
  const char *colon = strrchr(h, ':');
  size_t hl = colon != NULL ? (size_t)(colon - h) : strcspn(h, "/");
  if (hl == 0 || hl >= sizeof(w->redis_host)) {
    return 0;
  }
  memcpy(w->redis_host, h, hl);
  w->redis_host[hl] = '\0';
  if (colon != NULL) {
    char *end = NULL;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || end == colon + 1 || (*end != '\0' && *end != '/') ||
        p < 1 || p > 65535) {
      return 0;
    }
    w->redis_port = (int)p;
  }
  return 1;
}

static int work_init(struct work *w, const struct ctl_config *cfg,
                     const struct ctl_db_options *db_opts,
                     const struct vigil_log *log) {
  memset(w, 0, sizeof(*w));
  w->cfg = cfg;
  w->log = log;
  if (!parse_redis_url(w, cfg->redis_url)) {
    return 0;
  }
  w->db = ctl_db_new(db_opts);
  return w->db != NULL;
}

static void work_cleanup(struct work *w) {
  ctl_db_free(w->db);
  w->db = NULL;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ==========================================================================
 * Redis
 * ========================================================================== */

static redisContext *redis_open(struct work *w, char *err, size_t err_len) {
  struct timeval tv = { 5, 0 };
  if (w->redis_host[0] == '\0') {
    snprintf(err, err_len, "redis-url is not configured");
    return NULL;
  }
  redisContext *c = redisConnectWithTimeout(w->redis_host, w->redis_port, tv);
  if (c == NULL || c->err != 0) {
    snprintf(err, err_len, "redis %s:%d: %s", w->redis_host, w->redis_port,
             c != NULL ? c->errstr : "no memory");
    redisFree(c);
    return NULL;
  }
  (void)redisSetTimeout(c, tv);
  return c;
}

/* redis_replies reads |n| pipelined replies. Returns 1 if none is an
 * error; integer replies of 0 are counted in |*out_zeros| (if non-NULL). */
static int redis_replies(redisContext *c, uint64_t *out_zeros, int n, char *err,
                         size_t err_len) {
  int ok = 1;
  for (int i = 0; i < n; i++) {
    redisReply *rep = NULL;
    if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep == NULL) {
      snprintf(err, err_len, "redis: %s", c->errstr);
      return 0;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
      snprintf(err, err_len, "redis: %s", rep->str);
      ok = 0;
    } else if (out_zeros != NULL && rep->type == REDIS_REPLY_INTEGER &&
               rep->integer == 0) {
      (*out_zeros)++;
    }
    freeReplyObject(rep);
  }
  return ok;
}

/* The guarded response write. A status only moves up this order: absent
 * (-1) < good (0) < revoked (1) < revoked for keyCompromise (2; a reason
 * may only be raised to it). A writer that read the database before a
 * revocation carries a lower rank than the publisher's record and is
 * refused, so "good" never replaces "revoked".
 * KEYS: status key, resp key. ARGV: status record, DER, rank, PX ms. */
static const char GUARD_LUA[] =
    "local cur = redis.call('GET', KEYS[1]) "
    "local rank = -1 "
    "if cur then "
    "  if string.sub(cur, 1, 5) == 'good ' then rank = 0 "
    "  elseif string.sub(cur, -2) == ' 1' then rank = 2 "
    "  else rank = 1 end "
    "end "
    "if tonumber(ARGV[3]) < rank then return 0 end "
    "redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4]) "
    "redis.call('SET', KEYS[1], ARGV[1]) "
    "return 1";

/* ==========================================================================
 * Signer
 * ========================================================================== */

/* One signer exchange; the client owns the reply's memory. */
struct sgn_call {
  struct vigil_sgn_client *c;
  struct vigil_sgn_msg reply;
  uint8_t *frame; /* request buffer */
  size_t cap;
};

static void sgn_call_cleanup(struct sgn_call *sc) {
  vigil_sgn_client_free(sc->c);
  vigil_free(sc->frame);
  memset(sc, 0, sizeof(*sc));
}

static int sgn_begin(struct sgn_call *sc, struct vigil_sgn_writer *w,
                     enum vigil_sgn_op op, size_t cap) {
  memset(sc, 0, sizeof(*sc));
  sc->frame = vigil_malloc(cap);
  if (sc->frame == NULL) {
    return 0;
  }
  sc->cap = cap;
  vigil_sgn_writer_init(w, sc->frame, cap, VIGIL_SGN_REQUEST, op, VIGIL_SGN_OK,
                        0);
  return 1;
}

/* sgn_run sends |w|'s request. Returns 1 when the signer answered OK;
 * else 0 with |err|, and |*out_unreachable| set when the signer could not
 * be reached (worth a retry) rather than refusing. */
static int sgn_run(struct work *wk, struct sgn_call *sc,
                   struct vigil_sgn_writer *w, int *out_unreachable, char *err,
                   size_t err_len) {
  size_t len = 0;
  enum vigil_sgnc_err ce = VIGIL_SGNC_OK;
  *out_unreachable = 0;
  if (!vigil_sgn_writer_finish(w, &len)) {
    snprintf(err, err_len, "request does not fit a signer frame");
    return 0;
  }
  sc->c = vigil_sgn_client_connect(&ce, wk->cfg->signer_socket, 2000, 0);
  if (sc->c == NULL) {
    *out_unreachable = 1;
    snprintf(err, err_len, "signer unreachable at %.200s: %s",
             wk->cfg->signer_socket, vigil_sgnc_err_string(ce));
    return 0;
  }
  ce = vigil_sgn_client_call(sc->c, &sc->reply, sc->frame, len, SGN_TIMEOUT_MS);
  if (ce != VIGIL_SGNC_OK) {
    *out_unreachable = 1;
    snprintf(err, err_len, "signer call failed: %s", vigil_sgnc_err_string(ce));
    return 0;
  }
  if (sc->reply.status != VIGIL_SGN_OK) {
    char m[512] = "";
    (void)vigil_sgn_get_text(&sc->reply, m, sizeof(m),
                             VIGIL_SGN_T_ERROR_MESSAGE);
    *out_unreachable = sc->reply.status == VIGIL_SGN_E_BUSY;
    snprintf(err, err_len, "signer: %s%s%s",
             vigil_sgn_status_string(sc->reply.status), m[0] ? ": " : "", m);
    return 0;
  }
  return 1;
}

/* reason_entry maps a revocation reason name to the code sent to the
 * signer and kept in status records: unspecified is sent as no reasonCode
 * (RFC 5280 5.3.1), as ctl_api_pki.c does. Returns 0 for unknown names. */
static int reason_entry(int *out, const char *name) {
  enum vigil_reason r = VIGIL_REASON_NONE;
  if (!vigil_reason_from_name(&r, name, strlen(name))) {
    return 0;
  }
  *out = r == VIGIL_REASON_UNSPECIFIED ? VIGIL_REASON_NONE : (int)r;
  return 1;
}

/* ==========================================================================
 * CRL numbers: decimal text (numeric(49,0)) <-> big-endian bytes
 * ========================================================================== */

/* dec_to_be converts decimal |dec| to minimal big-endian bytes in |out|
 * (20 bytes). Returns the length (>= 1), or 0 if it is not a number or
 * does not fit. */
static size_t dec_to_be(uint8_t out[20], const char *dec) {
  uint8_t v[20];
  memset(v, 0, sizeof(v));
  if (dec[0] == '\0') {
    return 0;
  }
  for (const char *p = dec; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') {
      return 0;
    }
    unsigned carry = (unsigned)(*p - '0');
    for (int i = 19; i >= 0; i--) {
      unsigned x = (unsigned)v[i] * 10u + carry;
      v[i] = (uint8_t)(x & 0xffu);
      carry = x >> 8;
    }
    if (carry != 0) {
      return 0;
    }
  }
  size_t skip = 0;
  while (skip < 19 && v[skip] == 0) {
    skip++;
  }
  memcpy(out, v + skip, 20 - skip);
  return 20 - skip;
}

/* be_to_hex writes lowercase hex without leading zeros ("0" for zero). */
static void be_to_hex(char out[41], const uint8_t *be, size_t len) {
  char tmp[41];
  vigil_hex_encode(tmp, be, len);
  tmp[2 * len] = '\0';
  size_t skip = 0;
  while (tmp[skip] == '0' && tmp[skip + 1] != '\0') {
    skip++;
  }
  snprintf(out, 41, "%s", tmp + skip);
}

/* ==========================================================================
 * CRL generation
 * ========================================================================== */

/* One issuer as the jobs see it. */
struct issuer {
  char uuid[37];
  char issuer_id[VIGIL_KS_MAX_NAME + 1];
  uint8_t ikh[20];
};

/* The signed CRL of one run, to publish after the commit. */
struct crl_out {
  uint8_t *der; /* vigil_malloc'ed */
  size_t der_len;
  struct vigil_crlmeta meta;
};

static void crl_out_cleanup(struct crl_out *o) {
  vigil_free(o->der);
  memset(o, 0, sizeof(*o));
}

struct crl_txn {
  struct work *wk;
  const struct issuer *iss;
  struct crl_out out;
  char number_dec[64];
  int64_t count;
  int unreachable;
  char err[512];
};

static enum ctl_db_status crl_txn_fn(struct ctl_db *db, void *arg) {
  struct crl_txn *t = arg;
  struct sgn_call sc;
  struct vigil_sgn_writer w;
  PGresult *res = NULL;
  enum ctl_db_status st;
  crl_out_cleanup(&t->out);
  t->err[0] = '\0';
  t->count = 0;
  t->unreachable = 0;
  memset(&sc, 0, sizeof(sc));
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->iss->uuid);
  /* The high-water mark's row lock makes generators of one issuer take
   * turns (a first CRL has no row yet; the cache trigger then refuses the
   * loser, which retries later). The number also never falls below the
   * clock's epoch seconds, so a database restored from an old backup
   * cannot reuse a number already published. */
  st = ctl_db_exec(db, NULL,
                   "SELECT 1 FROM crl_numbers WHERE issuer = $1::uuid "
                   "FOR UPDATE",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  st = ctl_db_exec(db, &res,
                   "SELECT greatest(coalesce((SELECT last_number FROM "
                   "crl_numbers WHERE issuer = $1::uuid), 0) + 1, "
                   "floor(extract(epoch FROM now())))::numeric(49,0)::text",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(t->number_dec, sizeof(t->number_dec), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  res = NULL;
  uint8_t num[20];
  size_t num_len = dec_to_be(num, t->number_dec);
  if (num_len == 0) {
    snprintf(t->err, sizeof(t->err), "CRL number %s out of range",
             t->number_dec);
    return CTL_DB_ABORTED;
  }
  /* BR 4.9.10 / 7.2: an entry stays until the certificate expires. */
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->iss->uuid);
  ctl_db_param_int64(&p, CRL_MAX_ENTRIES + 1);
  st = ctl_db_exec(db, &res,
                   "SELECT serial, extract(epoch FROM revoked_at)::bigint, "
                   "reason FROM revocations WHERE issuer = $1::uuid AND "
                   "not_after > now() ORDER BY serial LIMIT $2::int",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  int n = PQntuples(res);
  if (n > CRL_MAX_ENTRIES) {
    PQclear(res);
    snprintf(t->err, sizeof(t->err),
             "more than %d entries: partitioned CRLs are not implemented",
             CRL_MAX_ENTRIES);
    return CTL_DB_ABORTED;
  }
  size_t cap = 4096 + (size_t)n * VIGIL_SGN_ENTRY_MAX_LEN;
  if (!sgn_begin(&sc, &w, VIGIL_SGN_OP_SIGN_CRL, cap)) {
    PQclear(res);
    snprintf(t->err, sizeof(t->err), "out of memory");
    return CTL_DB_ABORTED;
  }
  int64_t now = (int64_t)time(NULL);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, t->iss->issuer_id);
  vigil_sgn_put(&w, VIGIL_SGN_T_CRL_NUMBER, num, num_len);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_THIS_UPDATE, now);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_NEXT_UPDATE,
                    now + t->wk->cfg->crl_validity);
  if (n > 0) {
    size_t max = (size_t)n * VIGIL_SGN_ENTRY_MAX_LEN;
    uint8_t *dst = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ENTRIES, max);
    size_t used = 0;
    for (int i = 0; dst != NULL && i < n; i++) {
      uint8_t serial[VIGIL_SGN_MAX_SERIAL];
      size_t serial_len = 0;
      int64_t at = 0;
      int reason = VIGIL_REASON_NONE;
      if (!ctl_db_value_bytes(serial, &serial_len, sizeof(serial), res, i, 0) ||
          !ctl_db_value_int64(&at, res, i, 1) ||
          !reason_entry(&reason, PQgetvalue(res, i, 2))) {
        snprintf(t->err, sizeof(t->err), "bad revocation row %d", i);
        break;
      }
      struct vigil_sgn_entry e = {
        .serial = serial,
        .serial_len = serial_len,
        .status = 1,
        .revoked_at = at,
        .reason = reason,
      };
      size_t l = vigil_sgn_entry_encode(dst + used, max - used, &e);
      if (l == 0) {
        snprintf(t->err, sizeof(t->err), "revocation row %d not encodable", i);
        break;
      }
      used += l;
    }
    if (dst == NULL || t->err[0] != '\0' || !vigil_sgn_put_commit(&w, used)) {
      if (t->err[0] == '\0') {
        snprintf(t->err, sizeof(t->err), "request does not fit");
      }
      PQclear(res);
      sgn_call_cleanup(&sc);
      return CTL_DB_ABORTED;
    }
  }
  PQclear(res);
  res = NULL;
  t->count = n;
  if (!sgn_run(t->wk, &sc, &w, &t->unreachable, t->err, sizeof(t->err))) {
    sgn_call_cleanup(&sc);
    return CTL_DB_ABORTED;
  }
  struct vigil_sgn_field crl;
  if (!vigil_sgn_find(&sc.reply, &crl, VIGIL_SGN_T_CRL) || crl.len == 0) {
    snprintf(t->err, sizeof(t->err), "signer reply lacks the CRL");
    sgn_call_cleanup(&sc);
    return CTL_DB_ABORTED;
  }
  t->out.der = vigil_malloc(crl.len);
  if (t->out.der == NULL) {
    snprintf(t->err, sizeof(t->err), "out of memory");
    sgn_call_cleanup(&sc);
    return CTL_DB_ABORTED;
  }
  memcpy(t->out.der, crl.value, crl.len);
  t->out.der_len = crl.len;
  sgn_call_cleanup(&sc);
  t->out.meta.this_update = now;
  t->out.meta.next_update = now + t->wk->cfg->crl_validity;
  t->out.meta.num_entries = (uint64_t)n;
  be_to_hex(t->out.meta.number_hex, num, num_len);

  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->iss->uuid);
  ctl_db_param_text(&p, t->number_dec);
  ctl_db_param_int64(&p, now);
  ctl_db_param_int64(&p, t->out.meta.next_update);
  ctl_db_param_bytes(&p, t->out.der, t->out.der_len);
  ctl_db_param_int64(&p, n);
  return ctl_db_exec(
      db, NULL,
      "INSERT INTO crl_cache (issuer, shard, crl_number, this_update, "
      "next_update, der, revoked_count, generated_at) VALUES ($1::uuid, 0, "
      "$2::numeric, to_timestamp($3::bigint), to_timestamp($4::bigint), "
      "$5::bytea, $6::int, now()) ON CONFLICT (issuer, shard) DO UPDATE SET "
      "crl_number = EXCLUDED.crl_number, this_update = EXCLUDED.this_update, "
      "next_update = EXCLUDED.next_update, der = EXCLUDED.der, "
      "revoked_count = EXCLUDED.revoked_count, generated_at = now()",
      &p);
}

/* crl_publish writes one CRL, its metadata and a crl event. */
static int crl_publish(redisContext *c, const char *issuer_id,
                       const uint8_t *der, size_t der_len,
                       const struct vigil_crlmeta *meta, char *err,
                       size_t err_len) {
  char key[VIGIL_KS_MAX_KEY];
  char mkey[VIGIL_KS_MAX_KEY];
  char rec[VIGIL_KS_MAX_RECORD];
  if (vigil_ks_crl_key(key, sizeof(key), issuer_id, -1) == 0 ||
      vigil_ks_crlmeta_key(mkey, sizeof(mkey), issuer_id) == 0 ||
      vigil_crlmeta_format(rec, sizeof(rec), meta) == 0) {
    snprintf(err, err_len, "cannot format the CRL keys of %s", issuer_id);
    return 0;
  }
  redisAppendCommand(c, "SET %s %b", key, der, der_len);
  redisAppendCommand(c, "SET %s %s", mkey, rec);
  redisAppendCommand(c,
                     "XADD " VIGIL_KS_EVENTS " MAXLEN ~ " EVENTS_MAXLEN
                     " * type crl issuer_id %s",
                     issuer_id);
  return redis_replies(c, NULL, 3, err, err_len);
}

/* Outcomes of one issuer's CRL run. */
enum crl_result {
  CRL_DONE = 0,    /* generated, stored and published */
  CRL_STORED,      /* generated and stored; publishing to Redis failed */
  CRL_UNAVAILABLE, /* signer or database unreachable: retry */
  CRL_FAILED,      /* refused (logged and recorded) */
};

/* crl_generate runs one issuer's CRL (file comment of ctl_loops.h) and
 * records the run in crl_generation_events. With |c| NULL the CRL is only
 * stored. */
static enum crl_result crl_generate(struct work *wk, redisContext *c,
                                    const struct issuer *iss) {
  struct crl_txn t;
  memset(&t, 0, sizeof(t));
  t.wk = wk;
  t.iss = iss;
  int64_t started = (int64_t)time(NULL);
  int64_t t0 = mono_ms();
  enum ctl_db_status st =
      ctl_db_txn(wk->db, CTL_DB_READ_COMMITTED, 0, crl_txn_fn, &t);
  int64_t dur = mono_ms() - t0;
  enum crl_result rc = CRL_DONE;
  if (st != CTL_DB_OK) {
    if (t.err[0] == '\0') {
      snprintf(t.err, sizeof(t.err), "database: %.400s",
               ctl_db_last_error(wk->db)->message);
    }
    rc = st == CTL_DB_UNAVAILABLE || t.unreachable ? CRL_UNAVAILABLE
                                                   : CRL_FAILED;
    VLOG_WARN(wk->log, "CRL of issuer %s not generated: %s", iss->issuer_id,
              t.err);
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, iss->uuid);
  ctl_db_param_int64(&p, started);
  ctl_db_param_int64(&p, dur < 0 ? 0 : dur);
  ctl_db_param_bool(&p, st == CTL_DB_OK);
  ctl_db_param_text(&p, st == CTL_DB_OK ? NULL : t.err);
  ctl_db_param_text(&p, st == CTL_DB_OK ? t.number_dec : NULL);
  if (st == CTL_DB_OK) {
    ctl_db_param_int64(&p, t.count);
  } else {
    ctl_db_param_null(&p);
  }
  if (ctl_db_exec(wk->db, NULL,
                  "INSERT INTO crl_generation_events (issuer, shard, "
                  "started_at, duration_ms, succeeded, error, crl_number, "
                  "revoked_count) VALUES ($1::uuid, 0, "
                  "to_timestamp($2::bigint), $3::int, $4::boolean, $5, "
                  "$6::numeric, $7::int)",
                  &p) != CTL_DB_OK) {
    VLOG_WARN(wk->log, "crl_generation_events row not written: %s",
              ctl_db_last_error(wk->db)->message);
  }
  if (st == CTL_DB_OK) {
    VLOG_INFO(wk->log, "CRL of issuer %s: number %s, %lld entries, %lld ms",
              iss->issuer_id, t.number_dec, (long long)t.count, (long long)dur);
    if (c == NULL) {
      rc = wk->redis_host[0] == '\0' ? CRL_DONE : CRL_STORED;
    } else if (!crl_publish(c, iss->issuer_id, t.out.der, t.out.der_len,
                            &t.out.meta, t.err, sizeof(t.err))) {
      VLOG_WARN(wk->log, "CRL of issuer %s not published: %s", iss->issuer_id,
                t.err);
      rc = CRL_STORED;
    }
  }
  crl_out_cleanup(&t.out);
  if (wk->ctr != NULL) {
    ctl_metrics_count(&wk->ctr->crl_runs[rc], 1);
    if (st == CTL_DB_OK) {
      ctl_metrics_hist_observe(&wk->ctr->crl,
                               (uint64_t)(dur < 0 ? 0 : dur) * 1000u);
      __atomic_store_n(&wk->ctr->crl_last_success, (uint64_t)time(NULL),
                       __ATOMIC_RELAXED);
    }
  }
  return rc;
}

/* ==========================================================================
 * Issuers
 * ========================================================================== */

/* load_issuers: unexpired issuers; with |dirty_only|, those whose cached
 * CRL is missing, does not match the revocations any more, or nears its
 * nextUpdate. Returns a vigil_malloc'ed array (|*out_n| entries) or NULL
 * (|*out_n| 0 when there are none; -1 on a database error). */
static struct issuer *load_issuers(struct work *wk, long *out_n,
                                   int dirty_only) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_bool(&p, dirty_only);
  ctl_db_param_int64(&p, wk->cfg->crl_interval);
  PGresult *res = NULL;
  *out_n = -1;
  if (ctl_db_exec(
          wk->db, &res,
          "SELECT i.id, i.issuer_id, i.key_sha1 FROM issuers i LEFT JOIN "
          "crl_cache cc ON cc.issuer = i.id AND cc.shard = 0 WHERE "
          "i.not_after > now() AND (NOT $1::boolean OR cc.issuer IS NULL OR "
          "cc.revoked_count <> (SELECT count(*) FROM revocations r WHERE "
          "r.issuer = i.id AND r.not_after > now()) OR EXISTS (SELECT 1 FROM "
          "revocations r WHERE r.issuer = i.id AND r.updated_at >= "
          "cc.generated_at) OR cc.next_update < now() + make_interval(secs "
          "=> $2::bigint)) ORDER BY i.created_at, i.id",
          &p) != CTL_DB_OK) {
    return NULL;
  }
  int n = PQntuples(res);
  struct issuer *v = NULL;
  if (n > 0) {
    v = vigil_calloc((size_t)n, sizeof(*v));
    if (v == NULL) {
      PQclear(res);
      return NULL;
    }
  }
  long k = 0;
  for (int i = 0; i < n; i++) {
    size_t l = 0;
    if (!ctl_db_value_bytes(v[k].ikh, &l, 20, res, i, 2) || l != 20) {
      continue;
    }
    snprintf(v[k].uuid, sizeof(v[k].uuid), "%s", PQgetvalue(res, i, 0));
    snprintf(v[k].issuer_id, sizeof(v[k].issuer_id), "%s",
             PQgetvalue(res, i, 1));
    k++;
  }
  PQclear(res);
  *out_n = k;
  return v;
}

/* ==========================================================================
 * Pre-signing
 * ========================================================================== */

/* One certificate to sign. */
struct cert_row {
  char id[37];
  uint8_t serial[VIGIL_SGN_MAX_SERIAL];
  size_t serial_len;
  int64_t not_after;
  int revoked;
  int64_t revoked_at;
  int reason; /* entry form: -1 none */
};

struct presign_stats {
  uint64_t signed_n;  /* written to Redis */
  uint64_t skipped_n; /* refused by the guard */
};

/* presign_rows signs |rows| (|n| <= PRESIGN_BATCH) of |iss| in one batch,
 * writes them through the guard and records them in ocsp_presign.
 * Returns 1, or 0 with |err| (|*out_unreachable| for retryable causes). */
static int presign_rows(struct work *wk, redisContext *c,
                        struct presign_stats *stats, int *out_unreachable,
                        char *err, size_t err_len, const struct issuer *iss,
                        const struct cert_row *rows, int n) {
  struct sgn_call sc;
  struct vigil_sgn_writer w;
  int ok = 0;
  char *ids = NULL;
  char *sts = NULL;
  uint8_t *written = NULL;
  *out_unreachable = 0;
  size_t cap = 4096 + (size_t)n * VIGIL_SGN_ENTRY_MAX_LEN;
  if (!sgn_begin(&sc, &w, VIGIL_SGN_OP_PRESIGN_BATCH, cap)) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, iss->issuer_id);
  vigil_sgn_put_i64(&w, VIGIL_SGN_T_VALIDITY, wk->cfg->ocsp_validity);
  size_t max = (size_t)n * VIGIL_SGN_ENTRY_MAX_LEN;
  uint8_t *dst = vigil_sgn_put_reserve(&w, VIGIL_SGN_T_ENTRIES, max);
  size_t used = 0;
  for (int i = 0; dst != NULL && i < n; i++) {
    struct vigil_sgn_entry e = {
      .serial = rows[i].serial,
      .serial_len = rows[i].serial_len,
      .status = (uint8_t)(rows[i].revoked ? 1 : 0),
      .revoked_at = rows[i].revoked ? rows[i].revoked_at : 0,
      .reason = rows[i].revoked ? rows[i].reason : -1,
    };
    size_t l = vigil_sgn_entry_encode(dst + used, max - used, &e);
    if (l == 0) {
      dst = NULL;
      break;
    }
    used += l;
  }
  if (dst == NULL || !vigil_sgn_put_commit(&w, used)) {
    snprintf(err, err_len, "batch not encodable");
    goto done;
  }
  if (!sgn_run(wk, &sc, &w, out_unreachable, err, err_len)) {
    goto done;
  }
  int64_t this_update = 0;
  int64_t next_update = 0;
  if (!vigil_sgn_get_i64(&sc.reply, &this_update, VIGIL_SGN_T_THIS_UPDATE) ||
      !vigil_sgn_get_i64(&sc.reply, &next_update, VIGIL_SGN_T_NEXT_UPDATE) ||
      vigil_sgn_count(&sc.reply, VIGIL_SGN_T_OCSP_RESPONSE) != (size_t)n) {
    snprintf(err, err_len, "signer reply lacks responses");
    goto done;
  }
  int64_t px = (next_update - (int64_t)time(NULL)) * 1000;
  if (px < 1000) {
    px = 1000;
  }
  struct vigil_sgn_iter it;
  struct vigil_sgn_field f;
  int k = 0;
  vigil_sgn_iter_init(&it, &sc.reply);
  while (k < n && vigil_sgn_iter_next(&it, &f)) {
    if (f.tag != VIGIL_SGN_T_OCSP_RESPONSE) {
      continue;
    }
    const struct cert_row *r = &rows[k];
    char rkey[VIGIL_KS_MAX_KEY];
    char skey[VIGIL_KS_MAX_KEY];
    char rec[VIGIL_KS_MAX_RECORD];
    struct vigil_status st = {
      .status = r->revoked ? VIGIL_CERT_STATUS_REVOKED : VIGIL_CERT_STATUS_GOOD,
      .not_after = r->not_after,
      .revoked_at = r->revoked ? r->revoked_at : 0,
      .reason = r->revoked ? (enum vigil_reason)r->reason : VIGIL_REASON_NONE,
    };
    int rank =
        !r->revoked ? 0 : (r->reason == VIGIL_REASON_KEY_COMPROMISE ? 2 : 1);
    if (vigil_ks_resp_key(rkey, sizeof(rkey), iss->ikh, r->serial,
                          r->serial_len) == 0 ||
        vigil_ks_status_key(skey, sizeof(skey), iss->ikh, r->serial,
                            r->serial_len) == 0 ||
        vigil_status_format(rec, sizeof(rec), &st) == 0) {
      snprintf(err, err_len, "cannot format the Redis records");
      goto done;
    }
    redisAppendCommand(c, "EVAL %s 2 %s %s %s %b %d %lld", GUARD_LUA, skey,
                       rkey, rec, f.value, f.len, rank, (long long)px);
    k++;
  }
  if (k != n) {
    snprintf(err, err_len, "signer reply lacks responses");
    goto done;
  }
  /* Which writes the guard accepted: read one by one. */
  int redis_err = 0;
  written = vigil_calloc((size_t)n, 1);
  if (written == NULL) {
    snprintf(err, err_len, "out of memory");
    (void)redis_replies(c, NULL, n, err, err_len);
    goto done;
  }
  for (int i = 0; i < n; i++) {
    redisReply *rep = NULL;
    if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep == NULL) {
      snprintf(err, err_len, "redis: %s", c->errstr);
      *out_unreachable = 1;
      goto done;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
      snprintf(err, err_len, "redis: %s", rep->str);
      redis_err = 1;
    } else if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 1) {
      written[i] = 1;
    }
    freeReplyObject(rep);
  }
  /* Record what was written: "{uuid,...}" and "{good,revoked,...}". */
  ids = vigil_malloc((size_t)n * 38 + 3);
  sts = vigil_malloc((size_t)n * 8 + 3);
  if (ids == NULL || sts == NULL) {
    snprintf(err, err_len, "out of memory");
    goto done;
  }
  size_t il = 0;
  size_t sl = 0;
  ids[il++] = '{';
  sts[sl++] = '{';
  int num_written = 0;
  for (int i = 0; i < n; i++) {
    if (!written[i]) {
      stats->skipped_n++;
      continue;
    }
    if (num_written > 0) {
      ids[il++] = ',';
      sts[sl++] = ',';
    }
    memcpy(ids + il, rows[i].id, 36);
    il += 36;
    const char *s = rows[i].revoked ? "revoked" : "good";
    memcpy(sts + sl, s, strlen(s));
    sl += strlen(s);
    num_written++;
  }
  ids[il++] = '}';
  ids[il] = '\0';
  sts[sl++] = '}';
  sts[sl] = '\0';
  stats->signed_n += (uint64_t)num_written;

  if (num_written > 0) {
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, ids);
    ctl_db_param_text(&p, iss->uuid);
    ctl_db_param_int64(&p, this_update);
    ctl_db_param_int64(&p, next_update);
    ctl_db_param_text(&p, sts);
    if (ctl_db_exec(
            wk->db, NULL,
            "INSERT INTO ocsp_presign (certificate, issuer, status, "
            "this_update, next_update, signed_at) SELECT u.id, $2::uuid, "
            "u.st, to_timestamp($3::bigint), to_timestamp($4::bigint), now() "
            "FROM unnest($1::uuid[], $5::text[]) AS u(id, st) ON CONFLICT "
            "(certificate) DO UPDATE SET issuer = EXCLUDED.issuer, status = "
            "EXCLUDED.status, this_update = EXCLUDED.this_update, "
            "next_update = EXCLUDED.next_update, signed_at = now()",
            &p) != CTL_DB_OK) {
      snprintf(err, err_len, "database: %.400s",
               ctl_db_last_error(wk->db)->message);
      *out_unreachable = 1;
      goto done;
    }
  }
  /* On a Redis error what was written is recorded; the rest stays due. */
  ok = !redis_err;

done:
  vigil_free(ids);
  vigil_free(sts);
  vigil_free(written);
  sgn_call_cleanup(&sc);
  return ok;
}

/* presign_issuer signs the responses of |iss|'s unexpired certificates:
 * all of them (|all|), or those due (no record, older than refresh-after,
 * or signed with another status). Returns 1, or 0 with |err|. */
static int presign_issuer(struct work *wk, redisContext *c,
                          struct presign_stats *stats, int *out_unreachable,
                          char *err, size_t err_len, const struct issuer *iss,
                          int all) {
  char after[37] = "00000000-0000-0000-0000-000000000000";
  struct cert_row *rows = vigil_calloc(PRESIGN_BATCH, sizeof(*rows));
  int ok = 0;
  *out_unreachable = 0;
  if (rows == NULL) {
    snprintf(err, err_len, "out of memory");
    return 0;
  }
  for (;;) {
    struct ctl_db_params p;
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, iss->uuid);
    ctl_db_param_bool(&p, all);
    ctl_db_param_int64(&p, wk->cfg->refresh_after);
    ctl_db_param_text(&p, after);
    ctl_db_param_int64(&p, PRESIGN_BATCH);
    PGresult *res = NULL;
    if (ctl_db_exec(
            wk->db, &res,
            "SELECT c.id, c.serial, extract(epoch FROM c.not_after)::bigint, "
            "c.status, extract(epoch FROM c.revoked_at)::bigint, "
            "c.revocation_reason FROM certificates c LEFT JOIN ocsp_presign "
            "ps ON ps.certificate = c.id WHERE c.issuer = $1::uuid AND "
            "c.not_after > now() AND c.id > $4::uuid AND ($2::boolean OR "
            "ps.certificate IS NULL OR ps.this_update <= now() - "
            "make_interval(secs => $3::bigint) OR ps.status <> CASE WHEN "
            "c.status = 'revoked' THEN 'revoked' ELSE 'good' END) "
            "ORDER BY c.id LIMIT $5::int",
            &p) != CTL_DB_OK) {
      snprintf(err, err_len, "database: %.400s",
               ctl_db_last_error(wk->db)->message);
      *out_unreachable = 1;
      goto done;
    }
    int n = PQntuples(res);
    int k = 0;
    for (int i = 0; i < n; i++) {
      struct cert_row *r = &rows[k];
      memset(r, 0, sizeof(*r));
      snprintf(r->id, sizeof(r->id), "%s", PQgetvalue(res, i, 0));
      snprintf(after, sizeof(after), "%s", r->id);
      r->revoked = strcmp(PQgetvalue(res, i, 3), "revoked") == 0;
      r->reason = -1;
      if (!ctl_db_value_bytes(r->serial, &r->serial_len, sizeof(r->serial), res,
                              i, 1) ||
          !ctl_db_value_int64(&r->not_after, res, i, 2) ||
          (r->revoked && (!ctl_db_value_int64(&r->revoked_at, res, i, 4) ||
                          !reason_entry(&r->reason, PQgetvalue(res, i, 5))))) {
        VLOG_WARN(wk->log, "certificate %s: unusable row skipped", r->id);
        continue;
      }
      k++;
    }
    PQclear(res);
    if (k > 0 && !presign_rows(wk, c, stats, out_unreachable, err, err_len, iss,
                               rows, k)) {
      goto done;
    }
    if (n < PRESIGN_BATCH) {
      break;
    }
  }
  ok = 1;

done:
  vigil_free(rows);
  return ok;
}

/* ==========================================================================
 * Resync
 * ========================================================================== */

/* publish_issuers writes every issuer's v1:issuers record and an issuer
 * event. Returns the number written, or -1 with |err|. */
static long publish_issuers(struct work *wk, redisContext *c, char *err,
                            size_t err_len) {
  PGresult *res = NULL;
  if (ctl_db_exec(wk->db, &res,
                  "SELECT i.issuer_id, i.key_sha1, i.name_sha1, "
                  "i.name_sha256, i.key_sha256, i.current, t.name FROM "
                  "issuers i JOIN tenants t ON t.id = i.tenant ORDER BY "
                  "i.created_at, i.id",
                  NULL) != CTL_DB_OK) {
    snprintf(err, err_len, "database: %.400s",
             ctl_db_last_error(wk->db)->message);
    return -1;
  }
  int cmds = 0;
  long num = 0;
  for (int i = 0; i < PQntuples(res); i++) {
    struct vigil_issuer_record rec;
    uint8_t k1[20];
    size_t l1 = 0;
    size_t l2 = 0;
    size_t l3 = 0;
    size_t l4 = 0;
    char text[VIGIL_KS_MAX_RECORD];
    char hex[41];
    memset(&rec, 0, sizeof(rec));
    snprintf(rec.issuer_id, sizeof(rec.issuer_id), "%s", PQgetvalue(res, i, 0));
    snprintf(rec.tenant, sizeof(rec.tenant), "%s", PQgetvalue(res, i, 6));
    rec.current = strcmp(PQgetvalue(res, i, 5), "t") == 0;
    if (!ctl_db_value_bytes(k1, &l1, 20, res, i, 1) || l1 != 20 ||
        !ctl_db_value_bytes(rec.name_sha1, &l2, 20, res, i, 2) ||
        !ctl_db_value_bytes(rec.name_sha256, &l3, 32, res, i, 3) ||
        !ctl_db_value_bytes(rec.key_sha256, &l4, 32, res, i, 4) ||
        vigil_issuer_record_format(text, sizeof(text), &rec) == 0) {
      VLOG_WARN(wk->log, "issuer %s: record not formattable, skipped",
                rec.issuer_id);
      continue;
    }
    vigil_hex_encode(hex, k1, 20);
    hex[40] = '\0';
    redisAppendCommand(c, "HSET " VIGIL_KS_ISSUERS " %s %s", hex, text);
    redisAppendCommand(c,
                       "XADD " VIGIL_KS_EVENTS " MAXLEN ~ " EVENTS_MAXLEN
                       " * type issuer ikh %s issuer_id %s",
                       hex, rec.issuer_id);
    cmds += 2;
    num++;
  }
  PQclear(res);
  if (!redis_replies(c, NULL, cmds, err, err_len)) {
    return -1;
  }
  return num;
}

/* publish_cached_crl publishes |iss|'s cached CRL if it has more than
 * |min_left| seconds to its nextUpdate. Returns 1 published, 0 none (or
 * too old), -1 error (|err|). */
static int publish_cached_crl(struct work *wk, redisContext *c,
                              const struct issuer *iss, int64_t min_left,
                              char *err, size_t err_len) {
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, iss->uuid);
  ctl_db_param_int64(&p, min_left);
  PGresult *res = NULL;
  if (ctl_db_exec(wk->db, &res,
                  "SELECT crl_number::text, "
                  "extract(epoch FROM this_update)::bigint, "
                  "extract(epoch FROM next_update)::bigint, revoked_count, "
                  "der FROM crl_cache WHERE issuer = $1::uuid AND shard = 0 "
                  "AND next_update > now() + make_interval(secs => "
                  "$2::bigint)",
                  &p) != CTL_DB_OK) {
    snprintf(err, err_len, "database: %.400s",
             ctl_db_last_error(wk->db)->message);
    return -1;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return 0;
  }
  struct vigil_crlmeta meta;
  int64_t count = 0;
  uint8_t num[20];
  memset(&meta, 0, sizeof(meta));
  size_t num_len = dec_to_be(num, PQgetvalue(res, 0, 0));
  size_t cap = (size_t)PQgetlength(res, 0, 4);
  uint8_t *der = vigil_malloc(cap > 0 ? cap : 1);
  size_t der_len = 0;
  int rc = -1;
  if (der == NULL || num_len == 0 ||
      !ctl_db_value_int64(&meta.this_update, res, 0, 1) ||
      !ctl_db_value_int64(&meta.next_update, res, 0, 2) ||
      !ctl_db_value_int64(&count, res, 0, 3) ||
      !ctl_db_value_bytes(der, &der_len, cap, res, 0, 4)) {
    snprintf(err, err_len, "crl_cache row of %s unusable", iss->issuer_id);
  } else {
    meta.num_entries = (uint64_t)count;
    be_to_hex(meta.number_hex, num, num_len);
    rc = crl_publish(c, iss->issuer_id, der, der_len, &meta, err, err_len) ? 1
                                                                           : -1;
  }
  PQclear(res);
  vigil_free(der);
  return rc;
}

/* resync_run: ctl_resync on an existing work context. */
static enum ctl_resync_result resync_run(struct work *wk,
                                         struct ctl_resync_report *rep) {
  char *err = rep->error;
  size_t err_len = sizeof(rep->error);
  enum ctl_resync_result rc = CTL_RESYNC_FAILED;
  long num = 0;
  struct issuer *iss = NULL;
  redisContext *c = redis_open(wk, err, err_len);
  if (c == NULL) {
    return wk->redis_host[0] == '\0' ? CTL_RESYNC_CONFIG
                                     : CTL_RESYNC_UNAVAILABLE;
  }
  long ni = publish_issuers(wk, c, err, err_len);
  if (ni < 0) {
    rc = CTL_RESYNC_UNAVAILABLE;
    goto done;
  }
  rep->num_issuers = (uint64_t)ni;
  iss = load_issuers(wk, &num, 0);
  if (num < 0) {
    snprintf(err, err_len, "database: %.400s",
             ctl_db_last_error(wk->db)->message);
    rc = CTL_RESYNC_UNAVAILABLE;
    goto done;
  }
  for (long i = 0; i < num; i++) {
    struct presign_stats ps = { 0, 0 };
    int unreachable = 0;
    int ok = presign_issuer(wk, c, &ps, &unreachable, err, err_len, &iss[i], 1);
    rep->num_responses += ps.signed_n;
    rep->num_skipped += ps.skipped_n;
    if (!ok) {
      rc = unreachable ? CTL_RESYNC_UNAVAILABLE : CTL_RESYNC_FAILED;
      goto done;
    }
    int pc =
        publish_cached_crl(wk, c, &iss[i], wk->cfg->crl_interval, err, err_len);
    if (pc < 0) {
      rc = CTL_RESYNC_UNAVAILABLE;
      goto done;
    }
    if (pc == 0) {
      enum crl_result cr = crl_generate(wk, c, &iss[i]);
      if (cr != CRL_DONE &&
          publish_cached_crl(wk, c, &iss[i], 0, err, err_len) == 1) {
        /* Another generator (serve's CRL loop) won the race for the
         * number, or the signer refused: a CRL still within its
         * nextUpdate is published. */
        cr = CRL_DONE;
      }
      if (cr != CRL_DONE) {
        snprintf(err, err_len, "CRL of issuer %s not generated or published",
                 iss[i].issuer_id);
        rc = cr == CRL_FAILED ? CTL_RESYNC_FAILED : CTL_RESYNC_UNAVAILABLE;
        goto done;
      }
    }
    rep->num_crls++;
  }
  rep->mirror = (int64_t)time(NULL);
  redisAppendCommand(c, "SET " VIGIL_KS_MIRROR " %lld", (long long)rep->mirror);
  if (!redis_replies(c, NULL, 1, err, err_len)) {
    rc = CTL_RESYNC_UNAVAILABLE;
    goto done;
  }
  err[0] = '\0';
  rc = CTL_RESYNC_OK;

done:
  vigil_free(iss);
  redisFree(c);
  return rc;
}

enum ctl_resync_result ctl_resync(struct ctl_resync_report *report,
                                  const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log) {
  struct work wk;
  memset(report, 0, sizeof(*report));
  if (!parse_redis_url(&wk, cfg->redis_url) || cfg->redis_url[0] == '\0') {
    snprintf(report->error, sizeof(report->error),
             "redis-url: expected redis://host:port, got \"%s\"",
             cfg->redis_url);
    return CTL_RESYNC_CONFIG;
  }
  if (!work_init(&wk, cfg, db_opts, log)) {
    snprintf(report->error, sizeof(report->error), "out of memory");
    return CTL_RESYNC_FAILED;
  }
  enum ctl_resync_result rc = resync_run(&wk, report);
  work_cleanup(&wk);
  return rc;
}

/* ==========================================================================
 * The threads
 * ========================================================================== */

struct ctl_loops {
  const struct ctl_config *cfg;
  const struct ctl_db_options *db_opts;
  const struct vigil_log *log;
  pthread_mutex_t mu;
  pthread_cond_t cv;  /* kicks and stop */
  int stop;           /* 1: the threads should exit */
  uint64_t crl_kicks; /* bumped by ctl_loops_crl_soon */
  pthread_t crl_thread;
  pthread_t refresh_thread;
  int crl_started;
  int refresh_started;
  struct ctl_loops_counters ctr; /* atomics (ctl_metrics.h) */
};

/* wait_until waits (mu held) until |deadline_ms| (monotonic), a stop, or,
 * if |kicks| is non-NULL, a change of l->crl_kicks from |*kicks|. */
static void wait_until(struct ctl_loops *l, int64_t deadline_ms,
                       const uint64_t *kicks) {
  struct timespec ts;
  ts.tv_sec = (time_t)(deadline_ms / 1000);
  ts.tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
  while (!l->stop && (kicks == NULL || l->crl_kicks == *kicks)) {
    if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) != 0) {
      break;
    }
  }
}

static int64_t next_backoff(int64_t b) {
  b = b == 0 ? BACKOFF_MIN_MS : b * 2;
  return b > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b;
}

/* crl_pass runs the CRLs of all issuers or of the changed ones; cached
 * CRLs whose publishing failed earlier are published again first
 * (|*republish|). Returns 1 if everything succeeded. */
static int crl_pass(struct work *wk, int all, int *republish) {
  char err[512] = "";
  long num = 0;
  int ok = 1;
  redisContext *c = NULL;
  if (wk->redis_host[0] != '\0') {
    c = redis_open(wk, err, sizeof(err));
    if (c == NULL) {
      VLOG_WARN(wk->log, "CRL loop: %s (CRLs are stored, published later)",
                err);
      *republish = 1;
      ok = 0;
    }
  }
  if (c != NULL && *republish) {
    struct issuer *all_iss = load_issuers(wk, &num, 0);
    int rok = num >= 0;
    for (long i = 0; rok && i < num; i++) {
      rok = publish_cached_crl(wk, c, &all_iss[i], 0, err, sizeof(err)) >= 0;
    }
    vigil_free(all_iss);
    if (!rok) {
      VLOG_WARN(wk->log, "CRL loop: republishing failed: %s", err);
      redisFree(c);
      return 0;
    }
    *republish = 0;
  }
  struct issuer *iss = load_issuers(wk, &num, !all);
  if (num < 0) {
    VLOG_WARN(wk->log, "CRL loop: %s", ctl_db_last_error(wk->db)->message);
    redisFree(c);
    return 0;
  }
  for (long i = 0; i < num; i++) {
    enum crl_result r = crl_generate(wk, c, &iss[i]);
    if (r == CRL_STORED) {
      *republish = 1;
    }
    if (r != CRL_DONE) {
      ok = 0;
    }
    if (r == CRL_UNAVAILABLE) {
      break; /* the rest would fail the same way; retry later */
    }
  }
  vigil_free(iss);
  redisFree(c);
  return ok;
}

static void *crl_main(void *arg) {
  struct ctl_loops *l = arg;
  struct work wk;
  if (!work_init(&wk, l->cfg, l->db_opts, l->log)) {
    VLOG_ERROR(l->log, "CRL loop: cannot start (memory or redis-url)");
    return NULL;
  }
  wk.ctr = &l->ctr;
  int64_t now = mono_ms();
  int64_t next_full = now; /* a full run at start */
  int64_t next_check = now + CRL_CHECK_SECS * 1000;
  int64_t debounce_at = 0; /* 0: no revocation waiting */
  int64_t retry_at = 0;    /* 0: no retry due */
  int64_t backoff = 0;
  int retry_full = 0;
  int republish = 0;
  pthread_mutex_lock(&l->mu);
  uint64_t seen = l->crl_kicks;
  while (!l->stop) {
    int64_t deadline = next_full < next_check ? next_full : next_check;
    if (debounce_at != 0 && debounce_at < deadline) {
      deadline = debounce_at;
    }
    if (retry_at != 0 && retry_at < deadline) {
      deadline = retry_at;
    }
    if (mono_ms() < deadline) {
      wait_until(l, deadline, &seen);
    }
    if (l->stop) {
      break;
    }
    if (l->crl_kicks != seen) {
      seen = l->crl_kicks;
      if (debounce_at == 0) {
        /* Later kicks join this run: the delay stays bounded. */
        debounce_at = mono_ms() + l->cfg->crl_debounce * 1000;
      }
    }
    now = mono_ms();
    int full =
        now >= next_full || (retry_at != 0 && now >= retry_at && retry_full);
    int changed = (debounce_at != 0 && now >= debounce_at) ||
                  now >= next_check || (retry_at != 0 && now >= retry_at);
    if (!full && !changed) {
      continue;
    }
    pthread_mutex_unlock(&l->mu);
    int ok = crl_pass(&wk, full, &republish);
    pthread_mutex_lock(&l->mu);
    now = mono_ms();
    if (full) {
      next_full = now + l->cfg->crl_interval * 1000;
    }
    if (debounce_at != 0 && debounce_at <= now) {
      debounce_at = 0;
    }
    next_check = now + CRL_CHECK_SECS * 1000;
    if (ok) {
      retry_at = 0;
      backoff = 0;
      retry_full = 0;
    } else {
      backoff = next_backoff(backoff);
      retry_at = now + backoff;
      retry_full = retry_full || full;
    }
  }
  pthread_mutex_unlock(&l->mu);
  work_cleanup(&wk);
  return NULL;
}

/* mirror_present: 1 set, 0 absent, -1 Redis unreachable. */
static int mirror_present(redisContext *c) {
  redisReply *r = redisCommand(c, "EXISTS " VIGIL_KS_MIRROR);
  int rc = -1;
  if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
    rc = r->integer > 0 ? 1 : 0;
  }
  freeReplyObject(r);
  return rc;
}

/* refresh_pass: the full resync if v1:mirror is absent, else re-sign what
 * is due. Returns 1 on success. */
static int refresh_pass(struct work *wk) {
  char err[512] = "";
  redisContext *c = redis_open(wk, err, sizeof(err));
  if (c == NULL) {
    VLOG_WARN(wk->log, "refresh loop: %s", err);
    return 0;
  }
  int mp = mirror_present(c);
  if (mp <= 0) {
    redisFree(c);
    if (mp < 0) {
      VLOG_WARN(wk->log, "refresh loop: redis does not answer");
      return 0;
    }
    struct ctl_resync_report rep;
    memset(&rep, 0, sizeof(rep));
    VLOG_INFO(wk->log, "v1:mirror is absent: resyncing the mirror");
    if (resync_run(wk, &rep) != CTL_RESYNC_OK) {
      VLOG_WARN(wk->log, "resync failed: %s", rep.error);
      return 0;
    }
    VLOG_INFO(wk->log,
              "resync done: %llu issuers, %llu responses, %llu CRLs; "
              "v1:mirror %lld",
              (unsigned long long)rep.num_issuers,
              (unsigned long long)rep.num_responses,
              (unsigned long long)rep.num_crls, (long long)rep.mirror);
    return 1;
  }
  long num = 0;
  int ok = 1;
  struct issuer *iss = load_issuers(wk, &num, 0);
  if (num < 0) {
    VLOG_WARN(wk->log, "refresh loop: %s", ctl_db_last_error(wk->db)->message);
    redisFree(c);
    return 0;
  }
  struct presign_stats ps = { 0, 0 };
  for (long i = 0; i < num; i++) {
    int unreachable = 0;
    if (!presign_issuer(wk, c, &ps, &unreachable, err, sizeof(err), &iss[i],
                        0)) {
      VLOG_WARN(wk->log, "refresh of issuer %s: %s", iss[i].issuer_id, err);
      ok = 0;
      if (unreachable) {
        break;
      }
    }
  }
  if (wk->ctr != NULL) {
    ctl_metrics_count(&wk->ctr->refresh_signed, ps.signed_n);
  }
  if (ps.signed_n > 0 || ps.skipped_n > 0) {
    VLOG_INFO(wk->log, "refresh: %llu responses re-signed, %llu skipped",
              (unsigned long long)ps.signed_n,
              (unsigned long long)ps.skipped_n);
  }
  vigil_free(iss);
  redisFree(c);
  return ok;
}

static void *refresh_main(void *arg) {
  struct ctl_loops *l = arg;
  struct work wk;
  if (!work_init(&wk, l->cfg, l->db_opts, l->log)) {
    VLOG_ERROR(l->log, "refresh loop: cannot start (memory or redis-url)");
    return NULL;
  }
  wk.ctr = &l->ctr;
  int64_t backoff = 0;
  pthread_mutex_lock(&l->mu);
  while (!l->stop) {
    int64_t wait_ms = REFRESH_POLL_SECS * 1000;
    if (wk.redis_host[0] != '\0') {
      pthread_mutex_unlock(&l->mu);
      int ok = refresh_pass(&wk);
      ctl_metrics_count(&l->ctr.refresh_passes[ok ? 0 : 1], 1);
      pthread_mutex_lock(&l->mu);
      backoff = ok ? 0 : next_backoff(backoff);
      if (!ok && backoff < wait_ms) {
        wait_ms = backoff;
      }
    }
    wait_until(l, mono_ms() + wait_ms, NULL);
  }
  pthread_mutex_unlock(&l->mu);
  work_cleanup(&wk);
  return NULL;
}

struct ctl_loops *ctl_loops_start(const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log) {
  struct ctl_loops *l = vigil_calloc(1, sizeof(*l));
  if (l == NULL) {
    return NULL;
  }
  l->cfg = cfg;
  l->db_opts = db_opts;
  l->log = log;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&l->mu, NULL) != 0) {
    pthread_condattr_destroy(&ca);
    vigil_free(l);
    return NULL;
  }
  if (pthread_cond_init(&l->cv, &ca) != 0) {
    pthread_condattr_destroy(&ca);
    pthread_mutex_destroy(&l->mu);
    vigil_free(l);
    return NULL;
  }
  pthread_condattr_destroy(&ca);
  l->crl_started = pthread_create(&l->crl_thread, NULL, crl_main, l) == 0;
  l->refresh_started =
      l->crl_started &&
      pthread_create(&l->refresh_thread, NULL, refresh_main, l) == 0;
  if (!l->refresh_started) {
    ctl_loops_stop(l);
    return NULL;
  }
  return l;
}

const struct ctl_loops_counters *ctl_loops_counters(
    const struct ctl_loops *loops) {
  return loops != NULL ? &loops->ctr : NULL;
}

void ctl_loops_crl_soon(struct ctl_loops *loops) {
  if (loops == NULL) {
    return;
  }
  pthread_mutex_lock(&loops->mu);
  loops->crl_kicks++;
  pthread_cond_broadcast(&loops->cv);
  pthread_mutex_unlock(&loops->mu);
}

void ctl_loops_stop(struct ctl_loops *loops) {
  if (loops == NULL) {
    return;
  }
  pthread_mutex_lock(&loops->mu);
  loops->stop = 1;
  pthread_cond_broadcast(&loops->cv);
  pthread_mutex_unlock(&loops->mu);
  if (loops->crl_started) {
    pthread_join(loops->crl_thread, NULL);
  }
  if (loops->refresh_started) {
    pthread_join(loops->refresh_thread, NULL);
  }
  pthread_cond_destroy(&loops->cv);
  pthread_mutex_destroy(&loops->mu);
  vigil_free(loops);
}
