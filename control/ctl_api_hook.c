/* ctl_api_hook.c: cache-invalidation hooks (issue 5) — the /hooks
 * endpoints and the delivery worker.
 *
 * Deliveries are enqueued by the database itself, in the transaction of
 * the revocation or CRL they report (migrations/0006_hooks.sql), so none
 * is lost and a hook can never block a revocation. This file's worker, a
 * thread with its own database handle, polls for due deliveries every
 * 200 ms, takes one at a time (FOR UPDATE SKIP LOCKED, so several
 * vigil-control processes share the work), makes its HTTP requests with
 * libcurl (connect 5 s, total 10 s, no redirects, http/https only),
 * records the attempt and either marks it delivered or schedules a retry
 * with exponential backoff and jitter (1 s doubling up to 5 min, at most
 * HOOK_MAX_ATTEMPTS attempts, then failed). The row stays locked while its
 * requests run: a crash before the commit leaves the delivery pending, so
 * it is sent again after a restart (at least once; receivers de-duplicate
 * with X-Vigil-Delivery).
 *
 * Webhook requests are signed: X-Vigil-Signature: sha256=<hex
 * HMAC-SHA256(secret, body)>, computed with GnuTLS (vigil-control never
 * links BoringSSL, DESIGN.md section 1). What the body and the purge
 * templates contain is computed by ctl_hook.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "ctl_api_internal.h"
#include "ctl_audit.h"
#include "ctl_hook.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"

/* Attempts before a delivery is marked failed. */
#define HOOK_MAX_ATTEMPTS 10
/* Backoff: first retry after about 1 s, doubling, at most 5 min. */
#define HOOK_BACKOFF_FIRST_MS 1000
#define HOOK_BACKOFF_MAX_MS   (300 * 1000)
/* How often the worker looks for due deliveries when idle. */
#define HOOK_POLL_MS 200
/* Deliveries per round before the worker checks for stop again. */
#define HOOK_BATCH 20
/* Secrets: bytes given by the caller (the key is the string's bytes). */
#define HOOK_SECRET_MIN 16
#define HOOK_SECRET_MAX 256
/* Response bodies are read and thrown away, up to this many bytes. */
#define HOOK_RESPONSE_MAX (64 * 1024)

/* ==========================================================================
 * The delivery worker
 * ========================================================================== */

struct hook_worker {
  struct ctl_api *api;              /* borrowed */
  struct ctl_db *db;                /* the worker's own handle */
  CURL *curl;                       /* reused: keeps connections */
  struct ctl_hook_targets *targets; /* scratch for purge URLs */
  pthread_t thread;                 /* the worker */
  pthread_mutex_t mu;               /* guards cv waits */
  pthread_cond_t cv;                /* signalled on stop */
  int stop;                         /* 1: exit (atomic access) */
};

static int stopping(struct hook_worker *w) {
  return __atomic_load_n(&w->stop, __ATOMIC_ACQUIRE);
}

/* One HTTP exchange's outcome. */
struct hook_http {
  long status;     /* HTTP status, 0: none (transport error) */
  char error[256]; /* "" or why it failed */
  size_t received; /* response bytes seen */
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg) {
  struct hook_http *h = arg;
  (void)ptr;
  size_t n = size * nmemb;
  if (h->received + n > HOOK_RESPONSE_MAX) {
    return 0; /* curl stops with CURLE_WRITE_ERROR */
  }
  h->received += n;
  return n;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  return stopping(arg) ? 1 : 0; /* non-zero aborts the transfer */
}

/* http_send makes one request. |method| "POST" or "PURGE"; |body| may be
 * NULL (empty). Returns 1 for a 2xx answer, else 0 with |out| saying why. */
static int http_send(struct hook_worker *w, struct hook_http *out,
                     const char *method, const char *url, const char *body,
                     size_t body_len, struct curl_slist *headers) {
  char cerr[CURL_ERROR_SIZE] = "";
  CURL *c = w->curl;
  memset(out, 0, sizeof(*out));
  curl_easy_reset(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "vigil-control-hooks/1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body != NULL ? body : "");
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    snprintf(out->error, sizeof(out->error), "%.80s: %.160s",
             curl_easy_strerror(rc), cerr[0] != '\0' ? cerr : "-");
    return 0;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  if (out->status < 200 || out->status > 299) {
    snprintf(out->error, sizeof(out->error), "HTTP %ld", out->status);
    return 0;
  }
  return 1;
}

/* One due delivery, as read from the database. */
struct due {
  int64_t id;          /* hook_deliveries.id */
  char id_text[24];    /* the same, as text */
  int64_t attempts;    /* attempts so far */
  int webhook;         /* 1: webhook, 0: purge */
  const char *event;   /* "revoke" | "crl" (borrowed from the result) */
  const char *payload; /* jsonb text (borrowed) */
  const char *url;     /* URL or template (borrowed) */
  const char *method;  /* purge method (borrowed) */
  uint8_t secret[HOOK_SECRET_MAX];
  size_t secret_len; /* 0: none */
  uint8_t name_sha1[20], key_sha1[20];
  uint8_t serial[20];
  size_t serial_len;     /* 0: a CRL event */
  const char *tenant;    /* tenant name (borrowed) */
  const char *issuer_id; /* (borrowed) */
};

/* webhook_body builds the JSON body: the stored payload plus the URLs and
 * surrogate keys. Returns malloc'ed text (free()), or NULL. */
static char *webhook_body(const struct due *d, const struct ctl_hook_event *ev,
                          int64_t delivery_id) {
  json_t *o = json_loads(d->payload, 0, NULL);
  json_t *ocsp = json_array();
  json_t *crl = json_array();
  json_t *keys = json_array();
  char *text = NULL;
  if (!json_is_object(o) || ocsp == NULL || crl == NULL || keys == NULL) {
    goto done;
  }
  for (size_t i = 0; i < ev->num_ocsp; i++) {
    json_array_append_new(ocsp, json_string(ev->ocsp[i]));
  }
  for (size_t i = 0; i < ev->num_crl; i++) {
    json_array_append_new(crl, json_string(ev->crl[i]));
  }
  for (size_t i = 0; i < ev->num_keys; i++) {
    json_array_append_new(keys, json_string(ev->keys[i]));
  }
  json_object_set(o, "ocsp_urls", ocsp);
  json_object_set(o, "crl_urls", crl);
  json_object_set(o, "surrogate_keys", keys);
  json_object_set_new(o, "delivery_id", json_integer(delivery_id));
  text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

done:
  json_decref(o);
  json_decref(ocsp);
  json_decref(crl);
  json_decref(keys);
  return text;
}

/* send_webhook: one signed POST. Returns 1 if answered 2xx. */
static int send_webhook(struct hook_worker *w, struct hook_http *out,
                        const struct due *d, const struct ctl_hook_event *ev) {
  int ok = 0;
  struct curl_slist *hdrs = NULL;
  char *body = webhook_body(d, ev, d->id);
  if (body == NULL || d->secret_len == 0) {
    snprintf(out->error, sizeof(out->error), "%s",
             body == NULL ? "cannot build the body" : "hook has no secret");
    goto done;
  }
  size_t body_len = strlen(body);
  uint8_t mac[32];
  if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, d->secret, d->secret_len, body,
                       body_len, mac) != 0) {
    snprintf(out->error, sizeof(out->error), "HMAC failed");
    goto done;
  }
  char mac_hex[65];
  vigil_hex_encode(mac_hex, mac, sizeof(mac));
  char h_sig[96], h_id[64], h_ts[64], h_ev[64];
  snprintf(h_sig, sizeof(h_sig), "X-Vigil-Signature: sha256=%s", mac_hex);
  snprintf(h_id, sizeof(h_id), "X-Vigil-Delivery: %" PRId64, d->id);
  snprintf(h_ts, sizeof(h_ts), "X-Vigil-Timestamp: %lld",
           (long long)time(NULL));
  snprintf(h_ev, sizeof(h_ev), "X-Vigil-Event: %s", d->event);
  const char *const list[] = {
    "Content-Type: application/json", "Expect:", h_sig, h_id, h_ts, h_ev
  };
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    struct curl_slist *n = curl_slist_append(hdrs, list[i]);
    if (n == NULL) {
      snprintf(out->error, sizeof(out->error), "out of memory");
      goto done;
    }
    hdrs = n;
  }
  ok = http_send(w, out, "POST", d->url, body, body_len, hdrs);

done:
  curl_slist_free_all(hdrs);
  free(body);
  return ok;
}

/* send_purges: one request per expanded URL; stops at the first failure.
 * Sets |*out_none| when the template yields no URL for this event.
 * Returns 1 if all were answered 2xx. */
static int send_purges(struct hook_worker *w, struct hook_http *out,
                       int *out_none, const struct due *d,
                       const struct ctl_hook_event *ev) {
  int ok = 0;
  struct curl_slist *hdrs = NULL;
  *out_none = 0;
  if (!ctl_hook_expand(w->targets, d->url, ev)) {
    snprintf(out->error, sizeof(out->error),
             "purge template does not expand to http(s) URLs within %d bytes",
             CTL_HOOK_EXPANDED_MAX);
    return 0;
  }
  if (w->targets->num == 0) {
    *out_none = 1;
    return 1;
  }
  char h_id[64], h_ts[64], h_ev[64];
  snprintf(h_id, sizeof(h_id), "X-Vigil-Delivery: %" PRId64, d->id);
  snprintf(h_ts, sizeof(h_ts), "X-Vigil-Timestamp: %lld",
           (long long)time(NULL));
  snprintf(h_ev, sizeof(h_ev), "X-Vigil-Event: %s", d->event);
  const char *const list[] = { h_id, h_ts, h_ev };
  for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++) {
    struct curl_slist *n = curl_slist_append(hdrs, list[i]);
    if (n == NULL) {
      snprintf(out->error, sizeof(out->error), "out of memory");
      goto done;
    }
    hdrs = n;
  }
  for (size_t i = 0; i < w->targets->num; i++) {
    if (!http_send(w, out, d->method, w->targets->url[i], NULL, 0, hdrs)) {
      char tmp[sizeof(out->error)];
      snprintf(tmp, sizeof(tmp), "%s", out->error);
      snprintf(out->error, sizeof(out->error), "purge %zu of %zu: %.180s",
               i + 1, w->targets->num, tmp);
      goto done;
    }
  }
  ok = 1;

done:
  curl_slist_free_all(hdrs);
  return ok;
}

/* backoff_ms: the wait after failed attempt number |attempt| (1-based):
 * HOOK_BACKOFF_FIRST_MS doubling, capped, with the upper half jittered so
 * that many deliveries failing together do not retry together. */
static int64_t backoff_ms(int64_t attempt) {
  int64_t d = HOOK_BACKOFF_FIRST_MS;
  for (int64_t i = 1; i < attempt && d < HOOK_BACKOFF_MAX_MS; i++) {
    d *= 2;
  }
  if (d > HOOK_BACKOFF_MAX_MS) {
    d = HOOK_BACKOFF_MAX_MS;
  }
  uint32_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
    r = (uint32_t)time(NULL);
  }
  return d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* due_read fills |d| from row 0 of |res| (strings borrowed from |res|).
 * Returns 1, or 0 for an unusable row (|why| says why). */
static int due_read(struct due *d, const PGresult *res, char *why,
                    size_t why_len) {
  size_t n = 0;
  memset(d, 0, sizeof(*d));
  if (!ctl_db_value_int64(&d->id, res, 0, 0) ||
      !ctl_db_value_int64(&d->attempts, res, 0, 3)) {
    snprintf(why, why_len, "bad row");
    return 0;
  }
  snprintf(d->id_text, sizeof(d->id_text), "%" PRId64, d->id);
  d->event = PQgetvalue(res, 0, 1);
  d->payload = PQgetvalue(res, 0, 2);
  d->webhook = strcmp(PQgetvalue(res, 0, 4), "webhook") == 0;
  d->url = PQgetvalue(res, 0, 5);
  d->method = PQgetvalue(res, 0, 6);
  if (!PQgetisnull(res, 0, 7) &&
      !ctl_db_value_bytes(d->secret, &d->secret_len, sizeof(d->secret), res, 0,
                          7)) {
    snprintf(why, why_len, "unusable secret");
    return 0;
  }
  if (!ctl_db_value_bytes(d->name_sha1, &n, 20, res, 0, 8) || n != 20 ||
      !ctl_db_value_bytes(d->key_sha1, &n, 20, res, 0, 9) || n != 20) {
    snprintf(why, why_len, "unusable issuer hashes");
    return 0;
  }
  if (!PQgetisnull(res, 0, 10) &&
      (!ctl_db_value_bytes(d->serial, &d->serial_len, sizeof(d->serial), res, 0,
                           10) ||
       d->serial_len == 0)) {
    snprintf(why, why_len, "unusable serial");
    return 0;
  }
  d->tenant = PQgetvalue(res, 0, 11);
  d->issuer_id = PQgetvalue(res, 0, 12);
  return 1;
}

/* deliver_one takes one due delivery, makes its requests and records the
 * attempt. Returns 1 if it handled one, 0 if none was due, -1 on a
 * database failure. */
static int deliver_one(struct hook_worker *w) {
  struct ctl_db *db = w->db;
  const struct vigil_log *log = w->api->log;
  PGresult *res = NULL;
  int rc = -1;
  struct due *d = NULL;
  if (ctl_db_begin(db, CTL_DB_READ_COMMITTED, 0) != CTL_DB_OK) {
    return -1;
  }
  /* A revoke delivery waits until the revoked response is published, so
   * that a CDN purged now re-fetches "revoked" (not the good answer). */
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "SELECT d.id, d.event, d.payload::text, d.attempts, h.kind, h.url, "
      "h.method, s.secret, i.name_sha1, i.key_sha1, c.serial, t.name, "
      "i.issuer_id FROM hook_deliveries d JOIN hooks h ON h.id = d.hook "
      "JOIN issuers i ON i.id = d.issuer JOIN tenants t ON t.id = d.tenant "
      "LEFT JOIN hook_secrets s ON s.hook = h.id "
      "LEFT JOIN certificates c ON c.id = d.certificate "
      "WHERE d.status = 'pending' AND d.next_attempt_at <= now() "
      "AND h.enabled AND NOT EXISTS (SELECT 1 FROM revocation_queue q "
      "WHERE d.certificate IS NOT NULL AND q.certificate = d.certificate "
      "AND q.status = 'pending') "
      "ORDER BY d.next_attempt_at, d.id LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
      NULL);
  if (st != CTL_DB_OK) {
    goto done;
  }
  if (PQntuples(res) != 1) {
    rc = 0;
    goto done;
  }
  d = vigil_malloc(sizeof(*d));
  if (d == NULL) {
    goto done;
  }
  struct hook_http http;
  memset(&http, 0, sizeof(http));
  int ok = 0;
  int permanent = 0; /* no retry can help */
  int none = 0;      /* nothing to send for this event */
  int64_t t0 = mono_ms();
  struct ctl_hook_event ev;
  if (!due_read(d, res, http.error, sizeof(http.error))) {
    permanent = 1;
  } else if (!ctl_hook_event_fill(&ev, w->api->cfg->edge_url, d->tenant,
                                  d->issuer_id, d->name_sha1, d->key_sha1,
                                  d->serial_len > 0 ? d->serial : NULL,
                                  d->serial_len)) {
    snprintf(http.error, sizeof(http.error),
             "cannot compute the event's URLs (edge-url too long?)");
    permanent = 1;
  } else if (d->webhook) {
    ok = send_webhook(w, &http, d, &ev);
  } else {
    ok = send_purges(w, &http, &none, d, &ev);
  }
  int64_t dur = mono_ms() - t0;
  if (!ok && stopping(w)) {
    /* Cut short by shutdown: not the receiver's failure. The rollback
     * leaves the delivery as it was; the next start sends it. */
    rc = 0;
    goto done;
  }
  int64_t attempt = d->attempts + (none ? 0 : 1);
  const char *status =
      ok ? "delivered"
         : (permanent || attempt >= HOOK_MAX_ATTEMPTS ? "failed" : "pending");
  struct ctl_db_params p;
  if (!none) {
    ctl_db_params_init(&p);
    ctl_db_param_text(&p, d->id_text);
    ctl_db_param_int64(&p, attempt);
    if (http.status >= 100 && http.status <= 599) {
      ctl_db_param_int64(&p, http.status);
    } else {
      ctl_db_param_null(&p);
    }
    ctl_db_param_text(&p, http.error[0] != '\0' ? http.error : NULL);
    ctl_db_param_int64(&p, dur < 0 ? 0 : dur);
    st = ctl_db_exec(db, NULL,
                     "INSERT INTO hook_delivery_attempts (delivery, attempt, "
                     "http_status, error, duration_ms) VALUES ($1::bigint, "
                     "$2::int, $3::int, $4, $5::int)",
                     &p);
    if (st != CTL_DB_OK) {
      goto done;
    }
  }
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, d->id_text);
  ctl_db_param_int64(&p, attempt);
  ctl_db_param_text(&p, status);
  ctl_db_param_int64(&p, ok ? 0 : backoff_ms(attempt));
  ctl_db_param_text(&p, none ? "nothing to purge for this event"
                             : (http.error[0] != '\0' ? http.error : NULL));
  if (http.status >= 100 && http.status <= 599) {
    ctl_db_param_int64(&p, http.status);
  } else {
    ctl_db_param_null(&p);
  }
  st = ctl_db_exec(
      db, NULL,
      "UPDATE hook_deliveries d SET attempts = $2::int, status = CASE WHEN "
      "$3 = 'pending' AND NOT h.enabled THEN 'failed' ELSE $3 END, "
      "next_attempt_at = now() + $4::bigint * interval '1 millisecond', "
      "last_error = CASE WHEN $3 = 'pending' AND NOT h.enabled THEN "
      "'hook disabled' ELSE $5 END, last_http_status = $6::int, "
      "delivered_at = CASE WHEN $3 = 'delivered' THEN now() END "
      "FROM hooks h WHERE h.id = d.hook AND d.id = $1::bigint",
      &p);
  if (st != CTL_DB_OK) {
    goto done;
  }
  st = ctl_db_commit(db);
  if (st != CTL_DB_OK) {
    goto done;
  }
  if (ok) {
    VLOG_DEBUG(log,
               "hooks: delivery %" PRId64 " delivered (attempt %" PRId64 ")",
               d->id, attempt);
  } else {
    VLOG_WARN(log, "hooks: delivery %" PRId64 " attempt %" PRId64 " (%s): %s",
              d->id, attempt, status, http.error);
  }
  rc = 1;

done:
  if (rc < 0 && !stopping(w)) {
    VLOG_WARN(log, "hooks: database: %s", ctl_db_last_error(db)->message);
  }
  ctl_db_rollback(db); /* no-op after the commit */
  PQclear(res);
  if (d != NULL) {
    memset(d->secret, 0, sizeof(d->secret));
  }
  vigil_free(d);
  return rc;
}

/* nap waits |ms| or until stop. */
static void nap(struct hook_worker *w, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&w->mu);
  while (!stopping(w)) {
    if (pthread_cond_timedwait(&w->cv, &w->mu, &ts) != 0) {
      break;
    }
  }
  pthread_mutex_unlock(&w->mu);
}

static void *worker_main(void *arg) {
  struct hook_worker *w = arg;
  while (!stopping(w)) {
    int n = 0;
    int failed = 0;
    while (n < HOOK_BATCH && !stopping(w)) {
      int rc = deliver_one(w);
      if (rc <= 0) {
        failed = rc < 0;
        break;
      }
      n++;
    }
    if (n < HOOK_BATCH) {
      nap(w, failed ? 1000 : HOOK_POLL_MS);
    }
  }
  return NULL;
}

int api_hook_worker_start(struct ctl_api *api) {
  struct hook_worker *w = vigil_calloc(1, sizeof(*w));
  int mu_ok = 0;
  int cv_ok = 0;
  if (w == NULL) {
    VLOG_ERROR(api->log, "hooks: out of memory");
    return 0;
  }
  w->api = api;
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    VLOG_ERROR(api->log, "hooks: libcurl initialisation failed");
    vigil_free(w);
    return 0;
  }
  w->db = ctl_db_new(api->db_opts);
  w->curl = curl_easy_init();
  w->targets = ctl_hook_targets_new();
  if (w->db == NULL || w->curl == NULL || w->targets == NULL) {
    VLOG_ERROR(api->log, "hooks: out of memory");
    goto err;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  mu_ok = pthread_mutex_init(&w->mu, NULL) == 0;
  cv_ok = mu_ok && pthread_cond_init(&w->cv, &ca) == 0;
  pthread_condattr_destroy(&ca);
  if (!cv_ok || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    VLOG_ERROR(api->log, "hooks: cannot start the delivery worker");
    goto err;
  }
  api->hook_worker = w;
  return 1;

err:
  if (cv_ok) {
    pthread_cond_destroy(&w->cv);
  }
  if (mu_ok) {
    pthread_mutex_destroy(&w->mu);
  }
  ctl_hook_targets_free(w->targets);
  if (w->curl != NULL) {
    curl_easy_cleanup(w->curl);
  }
  ctl_db_free(w->db);
  vigil_free(w);
  curl_global_cleanup();
  return 0;
}

void api_hook_worker_stop(struct ctl_api *api) {
  struct hook_worker *w = api->hook_worker;
  if (w == NULL) {
    return;
  }
  pthread_mutex_lock(&w->mu);
  __atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  ctl_hook_targets_free(w->targets);
  curl_easy_cleanup(w->curl);
  ctl_db_free(w->db);
  vigil_free(w);
  api->hook_worker = NULL;
  curl_global_cleanup();
}

/* ==========================================================================
 * Endpoints
 * ========================================================================== */

#define HOOK_READ_ROLES (CTL_ROLE_ADMIN | CTL_ROLE_OPERATOR | CTL_ROLE_AUDITOR)

/* The columns of a hook, as hook_json reads them (never the secret). */
#define HOOK_COLS \
  "h.id, t.name, h.kind, h.url, h.method, array_to_json(h.events)::text, " \
  "h.enabled, " API_TS("h.created_at") ", " API_TS("h.disabled_at") ", "    \
  "p.name "
#define HOOK_FROM                                        \
  "FROM hooks h LEFT JOIN tenants t ON t.id = h.tenant " \
  "LEFT JOIN principals p ON p.id = h.created_by "

static json_t *hook_json(const PGresult *res, int i) {
  json_t *events = json_loads(PQgetvalue(res, i, 5), 0, NULL);
  return json_pack(
      "{s:s,s:s?,s:s,s:s,s:s,s:o,s:b,s:s,s:s?,s:s?}", "id",
      PQgetvalue(res, i, 0), "tenant",
      PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1), "kind",
      PQgetvalue(res, i, 2), "url", PQgetvalue(res, i, 3), "method",
      PQgetvalue(res, i, 4), "events", events != NULL ? events : json_array(),
      "enabled", strcmp(PQgetvalue(res, i, 6), "t") == 0, "created_at",
      PQgetvalue(res, i, 7), "disabled_at",
      PQgetisnull(res, i, 8) ? NULL : PQgetvalue(res, i, 8), "created_by",
      PQgetisnull(res, i, 9) ? NULL : PQgetvalue(res, i, 9));
}

/* hook_load answers nothing; fills |*out| with hook |id| visible to the
 * caller. Returns 1, 0 when not found, -1 on a database error (answered). */
static int hook_load(struct api_req *r, json_t **out, const char *id) {
  *out = NULL;
  PGresult *res = NULL;
  int found = api_fetch_one(
      r, &res,
      "SELECT " HOOK_COLS HOOK_FROM
      "WHERE h.id = $1::uuid AND ($2::uuid IS NULL OR h.tenant = $2::uuid)",
      id);
  if (found == 1) {
    *out = hook_json(res, 0);
    PQclear(res);
  }
  return found;
}

struct hook_new {
  struct api_req *r;
  const char *tenant_id; /* NULL: every tenant */
  const char *tenant_name;
  const char *kind;
  const char *url;
  const char *method;
  const char *events_pg; /* "{revoke,crl}" */
  json_t *events;        /* borrowed */
  const char *secret;
  char id[37];
};

static enum ctl_db_status hook_txn(struct ctl_db *db, void *arg) {
  struct hook_new *n = arg;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->tenant_id);
  ctl_db_param_text(&p, n->kind);
  ctl_db_param_text(&p, n->url);
  ctl_db_param_text(&p, n->method);
  ctl_db_param_text(&p, n->events_pg);
  ctl_db_param_text(&p, n->r->who.id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      db, &res,
      "INSERT INTO hooks (tenant, kind, url, method, events, created_by) "
      "VALUES ($1::uuid, $2, $3, $4, $5::text[], $6::uuid) RETURNING id",
      &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  snprintf(n->id, sizeof(n->id), "%s", PQgetvalue(res, 0, 0));
  PQclear(res);
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, n->id);
  ctl_db_param_bytes(&p, (const uint8_t *)n->secret, strlen(n->secret));
  st = ctl_db_exec(db, NULL,
                   "INSERT INTO hook_secrets (hook, secret) VALUES ($1::uuid, "
                   "$2::bytea)",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  char subject[64];
  snprintf(subject, sizeof(subject), "hook:%s", n->id);
  /* Never the secret. */
  json_t *d = json_pack("{s:s,s:s,s:s,s:O,s:s?}", "kind", n->kind, "url",
                        n->url, "method", n->method, "events", n->events,
                        "tenant", n->tenant_name);
  st = api_audit_take(db, NULL, "hook.created", n->r->who.id, n->tenant_id,
                      subject, d);
  return st;
}

static void h_hooks_create(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  json_t *o = api_body_object(r);
  if (o == NULL) {
    return;
  }
  const char *tenant = NULL;
  const char *kind = NULL;
  const char *url = NULL;
  const char *method = NULL;
  const char *secret = NULL;
  char gen_secret[2 * 32 + 1] = "";
  char tenant_id[37] = "";
  char events_pg[32] = "{";
  json_t *events_out = json_array();
  json_t *out = NULL;
  if (!api_get_string(r, &tenant, o, "tenant", 0, 1, 63) ||
      !api_get_string(r, &kind, o, "kind", 1, 1, 16) ||
      !api_get_string(r, &url, o, "url", 1, 1, CTL_HOOK_URL_MAX) ||
      !api_get_string(r, &method, o, "method", 0, 1, 16) ||
      !api_get_string(r, &secret, o, "secret", 0, HOOK_SECRET_MIN,
                      HOOK_SECRET_MAX)) {
    goto done;
  }
  int webhook = strcmp(kind, "webhook") == 0;
  if (!webhook && strcmp(kind, "purge") != 0) {
    api_error(r, 422, "invalid_field", "field \"kind\": one of webhook, purge");
    goto done;
  }
  if (method == NULL) {
    method = "POST";
  }
  if (strcmp(method, "POST") != 0 &&
      (webhook || strcmp(method, "PURGE") != 0)) {
    api_error(r, 422, "invalid_field", "field \"method\": %s",
              webhook ? "webhooks always POST" : "one of POST, PURGE");
    goto done;
  }
  enum ctl_hook_tmpl tc = ctl_hook_template_check(url);
  if (strlen(url) < 10 || tc == CTL_HOOK_TMPL_SCHEME ||
      tc == CTL_HOOK_TMPL_TOO_LONG ||
      (webhook && (strchr(url, '{') != NULL || strchr(url, '}') != NULL))) {
    api_error(r, 422, "invalid_field",
              "field \"url\": must be an http:// or https:// URL of at most "
              "%d bytes without spaces or control characters%s",
              CTL_HOOK_URL_MAX,
              webhook ? " (no placeholders in a webhook)" : "");
    goto done;
  }
  if (!webhook && tc != CTL_HOOK_TMPL_OK) {
    api_error(r, 422, "invalid_field", "field \"url\": %s",
              tc == CTL_HOOK_TMPL_MIXED
                  ? "use only one of {ocsp_get_url}, {crl_url}, "
                    "{surrogate_key} in a template"
                  : "unknown placeholder or unbalanced brace (known: "
                    "ocsp_get_url, crl_url, surrogate_key, serial, "
                    "issuer_id, tenant; {+name} inserts it unescaped)");
    goto done;
  }
  if (secret != NULL) {
    for (const char *s = secret; *s != '\0'; s++) {
      if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) {
        api_error(r, 422, "invalid_field",
                  "field \"secret\": printable ASCII without spaces");
        goto done;
      }
    }
  }
  json_t *events = json_object_get(o, "events");
  if (events == NULL || json_is_null(events)) {
    json_array_append_new(events_out, json_string("revoke"));
  } else if (!json_is_array(events) || json_array_size(events) == 0 ||
             json_array_size(events) > 2) {
    api_error(r, 422, "invalid_field",
              "field \"events\": a non-empty array of revoke, crl");
    goto done;
  } else {
    int seen_revoke = 0;
    int seen_crl = 0;
    for (size_t i = 0; i < json_array_size(events); i++) {
      const char *e = json_string_value(json_array_get(events, i));
      if (e != NULL && strcmp(e, "revoke") == 0) {
        seen_revoke = 1;
      } else if (e != NULL && strcmp(e, "crl") == 0) {
        seen_crl = 1;
      } else {
        api_error(r, 422, "invalid_field",
                  "field \"events\": element %zu is not revoke or crl", i);
        goto done;
      }
    }
    if (seen_revoke) {
      json_array_append_new(events_out, json_string("revoke"));
    }
    if (seen_crl) {
      json_array_append_new(events_out, json_string("crl"));
    }
  }
  for (size_t i = 0; i < json_array_size(events_out); i++) {
    size_t n = strlen(events_pg);
    snprintf(events_pg + n, sizeof(events_pg) - n, "%s%s", i ? "," : "",
             json_string_value(json_array_get(events_out, i)));
  }
  size_t n = strlen(events_pg);
  snprintf(events_pg + n, sizeof(events_pg) - n, "}");
  if (tenant == NULL && r->who.tenant_id[0] != '\0') {
    tenant = r->who.tenant_name; /* a scoped admin makes scoped hooks */
  }
  if (tenant != NULL && !api_resolve_tenant(r, tenant_id, tenant)) {
    if (r->status == 404) {
      api_error(r, 422, "invalid_field", "field \"tenant\": no tenant \"%s\"",
                tenant);
    }
    goto done;
  }
  if (secret == NULL) {
    uint8_t raw[32];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
      api_error(r, 500, "internal", "no randomness");
      goto done;
    }
    vigil_hex_encode(gen_secret, raw, sizeof(raw));
    memset(raw, 0, sizeof(raw));
    secret = gen_secret;
  }
  struct hook_new hn = {
    .r = r,
    .tenant_id = tenant != NULL ? tenant_id : NULL,
    .tenant_name = tenant,
    .kind = kind,
    .url = url,
    .method = method,
    .events_pg = events_pg,
    .events = events_out,
    .secret = secret,
  };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, hook_txn, &hn);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    goto done;
  }
  if (hook_load(r, &out, hn.id) != 1) {
    if (r->status == 0) {
      api_error(r, 500, "internal", "the new hook vanished");
    }
    goto done;
  }
  /* The only time the secret is shown. */
  json_object_set_new(out, "secret", json_string(secret));
  api_json(r, 201, out);
  out = NULL;

done:
  memset(gen_secret, 0, sizeof(gen_secret));
  json_decref(out);
  json_decref(events_out);
  json_decref(o);
}

static void h_hooks_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, HOOK_READ_ROLES)) {
    return;
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, api_scope(r));
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(r->db, &res,
                  "SELECT " HOOK_COLS HOOK_FROM
                  "WHERE ($1::uuid IS NULL OR h.tenant = $1::uuid) "
                  "ORDER BY h.created_at, h.id LIMIT 1000",
                  &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  for (int i = 0; i < PQntuples(res); i++) {
    json_array_append_new(items, hook_json(res, i));
  }
  PQclear(res);
  api_json(r, 200, json_pack("{s:o}", "items", items));
}

struct hook_disable {
  struct api_req *r;
  const char *id;
  int found;   /* visible to the caller */
  int changed; /* it was enabled */
  int failed;  /* pending deliveries marked failed */
};

static enum ctl_db_status disable_txn(struct ctl_db *db, void *arg) {
  struct hook_disable *t = arg;
  t->found = 0;
  t->changed = 0;
  t->failed = 0;
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  ctl_db_param_text(&p, api_scope(t->r));
  PGresult *res = NULL;
  enum ctl_db_status st =
      ctl_db_exec(db, &res,
                  "SELECT enabled, tenant FROM hooks WHERE id = $1::uuid AND "
                  "($2::uuid IS NULL OR tenant = $2::uuid) FOR UPDATE",
                  &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  if (PQntuples(res) != 1) {
    PQclear(res);
    return CTL_DB_ABORTED;
  }
  t->found = 1;
  int enabled = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
  char tenant[37] = "";
  if (!PQgetisnull(res, 0, 1)) {
    snprintf(tenant, sizeof(tenant), "%s", PQgetvalue(res, 0, 1));
  }
  PQclear(res);
  if (!enabled) {
    return CTL_DB_OK; /* nothing changes, nothing to audit */
  }
  t->changed = 1;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, t->id);
  st = ctl_db_exec(db, NULL,
                   "UPDATE hooks SET enabled = false, disabled_at = now() "
                   "WHERE id = $1::uuid",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  /* A delivery whose requests are in flight is locked by the worker: it is
   * skipped here, and the worker fails it when it records a failure for a
   * disabled hook (and keeps a success). */
  st = ctl_db_exec(db, &res,
                   "UPDATE hook_deliveries SET status = 'failed', last_error "
                   "= 'hook disabled' WHERE id IN (SELECT id FROM "
                   "hook_deliveries WHERE hook = $1::uuid AND status = "
                   "'pending' FOR UPDATE SKIP LOCKED)",
                   &p);
  if (st != CTL_DB_OK) {
    return st;
  }
  const char *tuples = PQcmdTuples(res);
  char *end = NULL;
  long v = strtol(tuples, &end, 10);
  t->failed = end != tuples && v > 0 && v < INT32_MAX ? (int)v : 0;
  PQclear(res);
  char subject[64];
  snprintf(subject, sizeof(subject), "hook:%s", t->id);
  char details[96];
  snprintf(details, sizeof(details), "{\"pending_deliveries_failed\":%d}",
           t->failed);
  struct ctl_audit_event ev = {
    .type = "hook.disabled",
    .principal = t->r->who.id,
    .tenant = tenant[0] != '\0' ? tenant : NULL,
    .subject = subject,
    .details_json = details,
  };
  return ctl_audit_append(db, NULL, NULL, &ev);
}

static void h_hooks_disable(struct api_req *r, const char *arg) {
  if (!api_need(r, CTL_ROLE_ADMIN)) {
    return;
  }
  if (!api_uuid_valid(arg)) {
    api_error(r, 404, "not_found", "no such hook");
    return;
  }
  struct hook_disable t = { .r = r, .id = arg };
  enum ctl_db_status st =
      ctl_db_txn(r->db, CTL_DB_READ_COMMITTED, 0, disable_txn, &t);
  if (st == CTL_DB_ABORTED && !t.found) {
    api_error(r, 404, "not_found", "no hook \"%s\"", arg);
    return;
  }
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *out = NULL;
  if (hook_load(r, &out, arg) == 1) {
    json_object_set_new(out, "pending_deliveries_failed",
                        json_integer(t.failed));
    api_json(r, 200, out);
  } else if (r->status == 0) {
    api_error(r, 404, "not_found", "no hook \"%s\"", arg);
  }
}

static void h_deliveries_list(struct api_req *r, const char *arg) {
  (void)arg;
  if (!api_need(r, HOOK_READ_ROLES)) {
    return;
  }
  const char *hook = api_query(r, "hook");
  const char *status = api_query(r, "status");
  const char *before = api_query(r, "before");
  int64_t limit = 50;
  long long before_id = 0;
  if (hook != NULL && !api_uuid_valid(hook)) {
    api_error(r, 400, "bad_request", "query parameter \"hook\": not an id");
    return;
  }
  if (status != NULL && strcmp(status, "pending") != 0 &&
      strcmp(status, "delivered") != 0 && strcmp(status, "failed") != 0) {
    api_error(r, 400, "bad_request",
              "query parameter \"status\": pending, delivered or failed");
    return;
  }
  if (!api_query_int(r, &limit, "limit", 1, 500)) {
    return;
  }
  if (before != NULL) {
    char *end = NULL;
    errno = 0;
    before_id = strtoll(before, &end, 10);
    if (errno != 0 || end == before || *end != '\0' || before_id < 1) {
      api_error(r, 400, "bad_request",
                "query parameter \"before\": a delivery id");
      return;
    }
  }
  struct ctl_db_params p;
  ctl_db_params_init(&p);
  ctl_db_param_text(&p, hook);
  ctl_db_param_text(&p, status);
  ctl_db_param_text(&p, api_scope(r));
  ctl_db_param_int64(&p, limit);
  ctl_db_param_int64(&p, before_id);
  PGresult *res = NULL;
  enum ctl_db_status st = ctl_db_exec(
      r->db, &res,
      "SELECT d.id, d.hook, d.event, t.name, d.status, d.attempts, "
      API_TS("d.next_attempt_at") ", d.last_error, d.last_http_status, "
      API_TS("d.created_at") ", " API_TS("d.delivered_at") ", "
      "d.payload::text, (SELECT coalesce(json_agg(json_build_object("
      "'attempt', a.attempt, 'at', " API_TS("a.at") ", 'http_status', "
      "a.http_status, 'error', a.error, 'duration_ms', a.duration_ms) ORDER "
      "BY a.attempt), '[]')::text FROM hook_delivery_attempts a WHERE "
      "a.delivery = d.id) FROM hook_deliveries d JOIN tenants t ON "
      "t.id = d.tenant WHERE ($1::uuid IS NULL OR d.hook = $1::uuid) AND "
      "($2::text IS NULL OR d.status = $2) AND ($3::uuid IS NULL OR "
      "d.tenant = $3::uuid) AND ($5::bigint = 0 OR d.id < $5::bigint) "
      "ORDER BY d.id DESC LIMIT $4::int",
      &p);
  if (st != CTL_DB_OK) {
    api_db_error(r, st);
    return;
  }
  json_t *items = json_array();
  int n = PQntuples(res);
  int64_t last = 0;
  for (int i = 0; i < n; i++) {
    int64_t id = 0;
    int64_t attempts = 0;
    int64_t http = 0;
    if (!ctl_db_value_int64(&id, res, i, 0) ||
        !ctl_db_value_int64(&attempts, res, i, 5)) {
      continue;
    }
    last = id;
    int has_http = ctl_db_value_int64(&http, res, i, 8);
    json_t *payload = json_loads(PQgetvalue(res, i, 11), 0, NULL);
    json_t *log = json_loads(PQgetvalue(res, i, 12), 0, NULL);
    json_array_append_new(
        items,
        json_pack(
            "{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:s?,s:o,s:s,s:s?,s:o,s:o}", "id",
            (json_int_t)id, "hook", PQgetvalue(res, i, 1), "event",
            PQgetvalue(res, i, 2), "tenant", PQgetvalue(res, i, 3), "status",
            PQgetvalue(res, i, 4), "attempts", (json_int_t)attempts,
            "next_attempt_at", PQgetvalue(res, i, 6), "last_error",
            PQgetisnull(res, i, 7) ? NULL : PQgetvalue(res, i, 7),
            "last_http_status", has_http ? json_integer(http) : json_null(),
            "created_at", PQgetvalue(res, i, 9), "delivered_at",
            PQgetisnull(res, i, 10) ? NULL : PQgetvalue(res, i, 10), "payload",
            payload != NULL ? payload : json_object(), "attempt_log",
            log != NULL ? log : json_array()));
  }
  PQclear(res);
  api_json(r, 200,
           json_pack("{s:o,s:o}", "items", items, "next",
                     n == limit && n > 0 ? json_integer(last) : json_null()));
}

const struct api_route api_hook_routes[] = {
  { "POST", "hooks", h_hooks_create, 0 },
  { "GET", "hooks", h_hooks_list, 0 },
  { "GET", "hooks/deliveries", h_deliveries_list, 0 },
  { "POST", "hooks/*/disable", h_hooks_disable, 0 },
  { "DELETE", "hooks/*", h_hooks_disable, 0 },
};
const size_t api_hook_num_routes =
    sizeof(api_hook_routes) / sizeof(api_hook_routes[0]);
