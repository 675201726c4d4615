/* answer.c: from a parsed HTTP request to a queued answer (see answer.h).
 *
 * The revoke race. A lookup that read "good" from Redis (or signed "good"
 * from a status record) must not put that answer into L1 after the
 * revocation event for the serial was applied, or L1 would serve "good"
 * until nextUpdate. So every fill takes an L1 ticket (edge_l1_ticket)
 * BEFORE it asks Redis, and edge_l1_insert refuses the fill if any removal
 * or clear ran since (EDGE_L1_ERR_STALE). The request that raced is still
 * answered with what was true when it was looked up; it is just not cached.
 *
 * CRLs are too large for L1 blocks (EDGE_L1_MAX_BLOCK), so each worker keeps
 * its own small CRL cache, dropped whenever the events thread bumps
 * shared->crl_gen. */
#include "answer.h"

#include <string.h>

#include <openssl/sha.h>

#include "getpath.h"
#include "respinfo.h"
#include "route.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/keyspace.h"
#include "vigil/ocsp_request.h"
#include "vigil/ocsp_response.h"
#include "vigil/timeutil.h"
#include "worker.h"

/* Waiters one coalesced lookup can carry; more get tryLater. */
#define LOOKUP_MAX_WAITERS 32
/* Coalescing key of an issuer's CRL: in place of a serial, tag 0x01 for
 * the full CRL, or 0x02 and the shard number (3 bytes, big-endian). */
#define CRL_KEY_FULL  0x01
#define CRL_KEY_SHARD 0x02
/* Largest block of one OCSP answer built here (prefix + headers + DER). */
#define SIGN_BUF_SIZE 8192
/* Live-signed responses start a minute in the past, so relying parties
 * whose clocks run slightly behind do not see a thisUpdate in the future. */
#define BACKDATE_SECONDS 60

struct waiter {
  uint32_t conn; /* connection index */
  uint32_t gen;  /* its generation when the waiter was added */
  uint8_t slot;  /* slot index in the connection's queue */
};

struct edge_lookup {
  struct edge_worker *w;
  uint32_t next;   /* bucket chain (index + 1; 0 = end) */
  uint32_t l1_idx; /* key: issuer index (with SHA256/CRL bits) */
  uint8_t used;
  uint8_t serial_len;
  uint8_t num_waiters;
  uint8_t is_crl;
  uint8_t serial[VIGIL_OCSP_MAX_SERIAL];
  uint64_t ticket; /* L1 ticket (OCSP) or crl_gen (CRLs) taken before the
                      lookup was sent: every waiter's fill uses it, so a
                      waiter that joined after an invalidation cannot cache
                      what was read before it */
  char issuer_id[VIGIL_KS_MAX_NAME + 1]; /* CRLs: which CRL */
  int32_t shard;                         /* CRLs: shard, -1 = full CRL */
  struct waiter waiters[LOOKUP_MAX_WAITERS];
};

struct edge_signjob {
  uint32_t conn;
  uint32_t gen;
  uint8_t slot;
  uint8_t unknown; /* sign "unknown" (never issued, configured) */
  uint64_t ticket; /* the lookup's ticket (see struct edge_lookup) */
  struct vigil_status st;
};

/* Lookup table: pool of max_lookups entries plus hash buckets. */
struct lookup_table {
  uint32_t *buckets; /* index + 1 of the first lookup; 0 = empty */
  uint32_t num_buckets;
  uint32_t *free_list;
  uint32_t free_count;
};

/* The per-worker state of this file lives in the worker's fields; the
 * table's extra arrays hang off this struct stored in w->lookups[0]'s
 * neighbour. To keep worker.h small we keep one static-free struct per
 * worker here, reached through w->lookups (pool) and this side table. */
struct edge_crlblock {
  uint32_t refs;      /* the cache's reference + one per slot sending it */
  uint32_t issuer_l1; /* EDGE_L1_IDX_CRL | issuer index */
  int32_t shard;      /* -1: the full CRL, else a shard's */
  uint64_t gen;       /* shared->crl_gen when it was filled */
  int64_t this_update;
  int64_t next_update;
  size_t len;     /* bytes used in data */
  uint8_t data[]; /* [edge_block][entity headers][DER] */
};

/* Most CRLs (full or shards) one worker caches; beyond, the oldest goes. */
#define CRL_CACHE_MAX 256

/* L1 lookups one event-loop batch collects before doing them together
 * (edge_l1_get_batch overlaps their memory accesses); a fuller batch is
 * looked up at once, one by one. */
#define L1_BATCH_MAX 64

/* A request waiting for the batched L1 lookup. */
struct l1_wait {
  uint32_t conn;                 /* connection index */
  uint32_t gen;                  /* its generation */
  uint8_t slot;                  /* slot index in its queue */
  const struct edge_issuer *iss; /* valid until this thread's next
                                    quiescent state (QSBR) */
};

struct answer_state {
  struct lookup_table table;
  size_t num_crls;
  struct edge_crlblock *crls[CRL_CACHE_MAX];
  size_t num_l1;
  struct l1_wait l1_wait[L1_BATCH_MAX];
  struct edge_l1_key l1_keys[L1_BATCH_MAX];
  const struct edge_l1_entry *l1_out[L1_BATCH_MAX];
};

/* ======================================================================
 * Small helpers
 * ====================================================================== */

static struct answer_state *state_of(struct edge_worker *w) {
  /* Stored just past the lookup pool (allocated together). */
  return (struct answer_state *)(void *)(w->lookups + w->lookups_cap);
}

static uint32_t key_hash(uint32_t l1_idx, const uint8_t *serial, size_t len) {
  /* FNV-1a: the table is per worker and bounded; a flood of colliding
   * keys costs chain walks, not correctness, and lookups are bounded. */
  uint32_t h = 2166136261u ^ l1_idx;
  for (size_t i = 0; i < len; i++) {
    h = (h ^ serial[i]) * 16777619u;
  }
  return h;
}

static const struct edge_issuers *issuers(struct edge_worker *w) {
  return edge_shared_issuers(w->shared);
}

/* copy_conditional keeps what a later 304 decision needs: the method and
 * the If-None-Match / If-Modified-Since values (copied: the receive
 * buffer is gone by the time a pending answer is finished). A value too
 * long to keep is dropped, which only costs a full answer. */
static void copy_conditional(struct edge_slot *s,
                             const struct edge_http_request *r) {
  s->method = (uint8_t)r->method;
  s->inm_len = 0;
  s->ims_len = 0;
  if (r->if_none_match.ptr != NULL &&
      r->if_none_match.len <= sizeof(s->if_none_match)) {
    memcpy(s->if_none_match, r->if_none_match.ptr, r->if_none_match.len);
    s->inm_len = (uint8_t)r->if_none_match.len;
  }
  if (r->if_modified_since.ptr != NULL &&
      r->if_modified_since.len <= sizeof(s->if_modified_since)) {
    memcpy(s->if_modified_since, r->if_modified_since.ptr,
           r->if_modified_since.len);
    s->ims_len = (uint8_t)r->if_modified_since.len;
  }
}

/* fake_req rebuilds the conditional-request view of a slot. */
static void fake_req(struct edge_http_request *r, const struct edge_slot *s) {
  memset(r, 0, sizeof(*r));
  r->method = (enum edge_http_method)s->method;
  if (s->inm_len > 0) {
    r->if_none_match.ptr = s->if_none_match;
    r->if_none_match.len = s->inm_len;
  }
  if (s->ims_len > 0) {
    r->if_modified_since.ptr = s->if_modified_since;
    r->if_modified_since.len = s->ims_len;
  }
}

static void count(struct edge_worker *w, enum edge_answer a) {
  edge_metrics_add(&w->metrics.answers[a], 1);
}

/* ======================================================================
 * Filling slots
 * ====================================================================== */

static void slot_ocsp_error(struct edge_worker *w, struct edge_slot *s,
                            enum vigil_ocsp_status st) {
  size_t der_len;
  const uint8_t *der = vigil_ocsp_error_response(&der_len, st);
  uint32_t max_age = 0;
  enum edge_answer a = EDGE_ANS_INTERNAL_ERROR;
  switch (st) {
    case VIGIL_OCSP_MALFORMED_REQUEST:
      a = EDGE_ANS_MALFORMED;
      break;
    case VIGIL_OCSP_UNAUTHORIZED:
      a = EDGE_ANS_UNAUTHORIZED;
      /* A short public max-age lets a CDN absorb floods of junk. */
      max_age = (uint32_t)edge_cfg(w->shared)->unauthorized_max_age;
      break;
    case VIGIL_OCSP_TRY_LATER:
      a = EDGE_ANS_TRY_LATER;
      break;
    default:
      break;
  }
  count(w, a);
  size_t n = edge_http_write_ocsp_error(s->head, sizeof(s->head), &w->clock,
                                        max_age, der_len, s->keep_alive);
  if (n == 0) {
    s->keep_alive = 0;
    n = edge_http_write_error(s->head, sizeof(s->head), &w->clock, 500, NULL,
                              s->head_only);
  }
  s->head_len = (uint16_t)n;
  s->body = s->head_only ? NULL : der;
  s->body_len = s->head_only ? 0 : (uint32_t)der_len;
  s->state = EDGE_SLOT_READY;
}

static void slot_http_error(struct edge_worker *w, struct edge_slot *s,
                            int status, const char *allow) {
  count(w, EDGE_ANS_HTTP_ERROR);
  s->keep_alive = 0; /* edge_http_write_error says Connection: close */
  s->head_len = (uint16_t)edge_http_write_error(
      s->head, sizeof(s->head), &w->clock, status, allow, s->head_only);
  s->body = NULL;
  s->body_len = 0;
  s->state = EDGE_SLOT_READY;
}

/* surrogate writes the Surrogate-Key value for an answer (DESIGN.md
 * section 4; the keys the control plane's CDN purge hooks name):
 *   OCSP: "{ikh} {ikh}:{serial}"
 *   CRL:  "crl {issuer_id}"
 * with ikh the hex SHA-1 issuer key hash and serial in keyspace form
 * (lowercase hex, no leading zeros), as in the Redis keys. Issuer ids are
 * [a-z0-9-] (vigil_ks_name_valid), so the value is always a valid header
 * value. Returns its length, or 0 (no header) if it does not fit. */
static size_t surrogate(char *out, size_t cap, const struct edge_issuer *iss,
                        const uint8_t *serial, size_t serial_len, int is_crl) {
  char hex[2 * VIGIL_OCSP_MAX_SERIAL + 2];
  int n;
  if (is_crl) {
    n = snprintf(out, cap, "crl %s", iss->issuer_id);
  } else {
    vigil_serial_hex(hex, serial, serial_len);
    n = snprintf(out, cap, "%s %s:%s", iss->ikh_hex, iss->ikh_hex, hex);
  }
  return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* The longest Surrogate-Key value surrogate() writes, and the bound on the
 * slot's head buffer it implies (a 304 is ~300 bytes besides the key). */
#define SURROGATE_MAX_OCSP (40 + 1 + 40 + 1 + 2 * VIGIL_OCSP_MAX_SERIAL)
#define SURROGATE_MAX_CRL  (sizeof("crl ") - 1 + VIGIL_KS_MAX_NAME)
#define SURROGATE_MAX                                          \
  (SURROGATE_MAX_OCSP > SURROGATE_MAX_CRL ? SURROGATE_MAX_OCSP \
                                          : SURROGATE_MAX_CRL)
_Static_assert(EDGE_SLOT_HEAD >= 310 + SURROGATE_MAX,
               "a 304 with the longest Surrogate-Key must fit a slot head");

/* build_block writes [edge_block][entity headers][DER] to |out|. Returns
 * the total length, or 0 if it does not fit. */
static size_t build_block(uint8_t *out, size_t cap, const uint8_t *der,
                          size_t der_len, int64_t this_update,
                          int64_t next_update, const char *skey,
                          size_t skey_len, int is_crl) {
  struct edge_block blk;
  memset(&blk, 0, sizeof(blk));
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(der, der_len, digest);
  vigil_hex_encode(blk.etag, digest, 12); /* 24 hex chars + NUL */
  blk.etag_len = 24;
  blk.is_crl = (uint8_t)is_crl;
  struct edge_http_entity ent;
  memset(&ent, 0, sizeof(ent));
  ent.etag = blk.etag;
  ent.etag_len = blk.etag_len;
  ent.surrogate_key = skey;
  ent.surrogate_key_len = skey_len;
  ent.this_update = this_update;
  ent.next_update = next_update;
  ent.body_len = der_len;
  ent.ctype = is_crl ? EDGE_HTTP_CT_CRL : EDGE_HTTP_CT_OCSP;
  if (cap < sizeof(blk)) {
    return 0;
  }
  size_t n = edge_http_write_entity_headers((char *)out + sizeof(blk),
                                            cap - sizeof(blk), &ent);
  if (n == 0 || sizeof(blk) + n + der_len > cap) {
    return 0;
  }
  blk.entity_len = (uint32_t)n;
  blk.der_len = (uint32_t)der_len;
  memcpy(out, &blk, sizeof(blk));
  memcpy(out + sizeof(blk) + n, der, der_len);
  return sizeof(blk) + n + der_len;
}

/* slot_from_block answers |s| from a prebuilt block (prefix, entity
 * headers, DER). Returns 1 if the answer's body points into |block| (the
 * caller must keep it alive until the slot is released), 0 if it does not
 * (a 304 or an error answer). */
static int slot_from_block(struct edge_worker *w, struct edge_slot *s,
                           const uint8_t *block, int64_t this_update,
                           int64_t next_update, const struct edge_issuer *iss,
                           const uint8_t *serial, size_t serial_len,
                           enum edge_answer kind) {
  struct edge_block blk;
  memcpy(&blk, block, sizeof(blk));
  struct edge_http_entity ent;
  memset(&ent, 0, sizeof(ent));
  char skey[EDGE_HTTP_SURROGATE_KEY_MAX];
  ent.etag = (const char *)block + offsetof(struct edge_block, etag);
  ent.etag_len = blk.etag_len;
  ent.this_update = this_update;
  ent.next_update = next_update;
  ent.body_len = blk.der_len;
  ent.ctype = blk.is_crl ? EDGE_HTTP_CT_CRL : EDGE_HTTP_CT_OCSP;
  struct edge_http_request r;
  fake_req(&r, s);
  if (edge_http_not_modified(&r, &ent)) {
    ent.surrogate_key = skey;
    ent.surrogate_key_len =
        surrogate(skey, sizeof(skey), iss, serial, serial_len, blk.is_crl);
    size_t n = edge_http_write_not_modified(s->head, sizeof(s->head), &w->clock,
                                            &ent, s->keep_alive);
    if (n == 0) {
      slot_http_error(w, s, 500, NULL);
      return 0;
    }
    count(w, EDGE_ANS_NOT_MODIFIED);
    s->head_len = (uint16_t)n;
    s->body = NULL;
    s->body_len = 0;
    s->state = EDGE_SLOT_READY;
    return 0;
  }
  size_t n = edge_http_write_success_head(s->head, sizeof(s->head), &w->clock,
                                          next_update, s->keep_alive);
  if (n == 0) {
    slot_http_error(w, s, 500, NULL);
    return 0;
  }
  count(w, kind);
  s->head_len = (uint16_t)n;
  s->body = block + sizeof(blk);
  /* HEAD: the entity headers without the DER. */
  s->body_len = blk.entity_len + (s->head_only ? 0 : blk.der_len);
  s->state = EDGE_SLOT_READY;
  return 1;
}

/* slot_from_entry answers from an L1 entry; takes ownership of the
 * reference (released when the answer has been sent, or at once for a
 * 304). */
static void slot_from_entry(struct edge_worker *w, struct edge_slot *s,
                            const struct edge_l1_entry *e,
                            const struct edge_issuer *iss,
                            const uint8_t *serial, size_t serial_len,
                            enum edge_answer kind) {
  if (slot_from_block(w, s, edge_l1_entry_block(e),
                      edge_l1_entry_this_update(e), edge_l1_entry_expires_at(e),
                      iss, serial, serial_len, kind)) {
    s->entry = e;
  } else {
    edge_l1_put_ref(w->shared->l1, e);
  }
}

/* get_fresh looks up L1 and returns the entry only if it has not reached
 * its refresh point (thisUpdate + refresh, DESIGN.md section 4: re-signed
 * before half of the validity has passed); an older entry counts as a
 * miss so the fill path fetches or signs a newer answer. */
static const struct edge_l1_entry *get_fresh(struct edge_worker *w,
                                             uint32_t l1_idx,
                                             const uint8_t *serial,
                                             size_t serial_len) {
  const struct edge_l1_entry *e = edge_l1_get(w->shared->l1, w->idx, l1_idx,
                                              serial, serial_len, w->clock.now);
  if (e != NULL &&
      edge_l1_entry_this_update(e) + edge_cfg(w->shared)->refresh <=
          w->clock.now) {
    edge_l1_put_ref(w->shared->l1, e);
    return NULL;
  }
  return e;
}

/* insert_and_serve caches |block| in L1 and answers |s| from it. Applies
 * the revoke-race rule (file comment) using |seq|. */
static void insert_and_serve(struct edge_worker *w, struct edge_slot *s,
                             const struct edge_issuer *iss, uint32_t l1_idx,
                             const uint8_t *serial, size_t serial_len,
                             const uint8_t *block, size_t block_len,
                             int64_t this_update, int64_t next_update,
                             uint64_t ticket, enum edge_answer kind) {
  struct edge_l1 *l1 = w->shared->l1;
  const struct edge_l1_entry *e = NULL;
  enum edge_l1_err err;
  if (edge_l1_insert(l1, &err, w->idx, ticket, l1_idx, serial, serial_len,
                     block, block_len, this_update, next_update)) {
    e = edge_l1_get(l1, w->idx, l1_idx, serial, serial_len, w->clock.now);
  }
  if (e != NULL) {
    slot_from_entry(w, s, e, iss, serial, serial_len, kind);
    return;
  }
  /* L1 refused it (budget, allocation): serve from a sign buffer copy. */
  if (w->sign_free_count == 0 || block_len > w->sign_buf_size) {
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
    return;
  }
  uint8_t *buf = w->sign_free[--w->sign_free_count];
  memcpy(buf, block, block_len);
  struct edge_block blk;
  memcpy(&blk, buf, sizeof(blk));
  size_t n = edge_http_write_success_head(s->head, sizeof(s->head), &w->clock,
                                          next_update, s->keep_alive);
  if (n == 0) {
    w->sign_free[w->sign_free_count++] = buf;
    slot_http_error(w, s, 500, NULL);
    return;
  }
  count(w, kind);
  s->sign_buf = buf;
  s->head_len = (uint16_t)n;
  s->body = buf + sizeof(blk);
  s->body_len = blk.entity_len + (s->head_only ? 0 : blk.der_len);
  s->state = EDGE_SLOT_READY;
}

/* ======================================================================
 * Lookups (L2, coalesced)
 * ====================================================================== */

static struct edge_lookup *lookup_find(struct edge_worker *w, uint32_t l1_idx,
                                       const uint8_t *serial,
                                       size_t serial_len) {
  struct lookup_table *t = &state_of(w)->table;
  uint32_t b = key_hash(l1_idx, serial, serial_len) & (t->num_buckets - 1);
  for (uint32_t i = t->buckets[b]; i != 0; i = w->lookups[i - 1].next) {
    struct edge_lookup *lk = &w->lookups[i - 1];
    if (lk->l1_idx == l1_idx && lk->serial_len == serial_len &&
        memcmp(lk->serial, serial, serial_len) == 0) {
      return lk;
    }
  }
  return NULL;
}

static struct edge_lookup *lookup_new(struct edge_worker *w, uint32_t l1_idx,
                                      const uint8_t *serial,
                                      size_t serial_len) {
  struct lookup_table *t = &state_of(w)->table;
  if (t->free_count == 0) {
    return NULL;
  }
  uint32_t i = t->free_list[--t->free_count];
  struct edge_lookup *lk = &w->lookups[i];
  memset(lk, 0, offsetof(struct edge_lookup, waiters));
  lk->w = w;
  lk->used = 1;
  lk->l1_idx = l1_idx;
  lk->serial_len = (uint8_t)serial_len;
  memcpy(lk->serial, serial, serial_len);
  uint32_t b = key_hash(l1_idx, serial, serial_len) & (t->num_buckets - 1);
  lk->next = t->buckets[b];
  t->buckets[b] = i + 1;
  w->lookups_count++;
  return lk;
}

/* lookup_detach takes |lk| out of the hash chains (lookup_find no longer
 * returns it); it stays allocated until its reply arrives. */
static void lookup_detach(struct edge_worker *w, struct edge_lookup *lk) {
  struct lookup_table *t = &state_of(w)->table;
  uint32_t i = (uint32_t)(lk - w->lookups);
  uint32_t b =
      key_hash(lk->l1_idx, lk->serial, lk->serial_len) & (t->num_buckets - 1);
  uint32_t *link = &t->buckets[b];
  while (*link != 0 && *link != i + 1) {
    link = &w->lookups[*link - 1].next;
  }
  if (*link == i + 1) {
    *link = lk->next;
  }
  lk->next = 0;
}

static void lookup_free(struct edge_worker *w, struct edge_lookup *lk) {
  struct lookup_table *t = &state_of(w)->table;
  uint32_t i = (uint32_t)(lk - w->lookups);
  uint32_t b =
      key_hash(lk->l1_idx, lk->serial, lk->serial_len) & (t->num_buckets - 1);
  uint32_t *link = &t->buckets[b];
  while (*link != 0 && *link != i + 1) {
    link = &w->lookups[*link - 1].next;
  }
  if (*link == i + 1) {
    *link = lk->next;
  }
  lk->used = 0;
  t->free_list[t->free_count++] = i;
  w->lookups_count--;
}

static int add_waiter(struct edge_lookup *lk, struct edge_conn *c,
                      struct edge_slot *s) {
  if (lk->num_waiters >= LOOKUP_MAX_WAITERS) {
    return 0;
  }
  struct waiter *wt = &lk->waiters[lk->num_waiters++];
  wt->conn = c->idx;
  wt->gen = c->gen;
  wt->slot = (uint8_t)(s - c->slots);
  return 1;
}

static void finish_waiter(struct edge_worker *w, struct edge_conn *c,
                          struct edge_slot *s, const struct edge_lookup *lk,
                          const struct edge_l2_result *res);
static void finish_crl(struct edge_worker *w, struct edge_slot *s,
                       const struct edge_lookup *lk,
                       const struct edge_l2_result *res);

static void on_lookup(void *arg, const struct edge_l2_result *res) {
  struct edge_lookup *lk = arg;
  struct edge_worker *w = lk->w;
  if (!res->ok) {
    edge_metrics_add(&w->metrics.redis_errors, 1);
  }
  for (unsigned i = 0; i < lk->num_waiters; i++) {
    struct edge_conn *c =
        edge_conn_get(w, lk->waiters[i].conn, lk->waiters[i].gen);
    if (c == NULL) {
      continue; /* the client went away */
    }
    struct edge_slot *s = &c->slots[lk->waiters[i].slot];
    if (s->state != EDGE_SLOT_PENDING) {
      continue;
    }
    if (lk->is_crl) {
      finish_crl(w, s, lk, res);
    } else {
      finish_waiter(w, c, s, lk, res);
    }
    edge_conn_try_send(w, c);
  }
  lookup_free(w, lk);
}

/* start_lookup makes |s| wait for Redis, joining a lookup in flight for
 * the same key if there is one. */
static void start_lookup(struct edge_worker *w, struct edge_conn *c,
                         struct edge_slot *s, const struct edge_issuer *iss,
                         uint32_t l1_idx, const uint8_t *serial,
                         size_t serial_len, int is_crl, int32_t shard) {
  struct edge_lookup *lk = lookup_find(w, l1_idx, serial, serial_len);
  if (lk != NULL) {
    uint64_t now_ticket =
        is_crl ? __atomic_load_n(&w->shared->crl_gen, __ATOMIC_ACQUIRE)
               : edge_l1_ticket(w->shared->l1);
    if (lk->ticket != now_ticket) {
      /* Sent before an invalidation: what it reads may be the revoked
       * certificate's old answer. It finishes for its own waiters, but
       * nobody new joins it: detach it and start a fresh lookup. */
      lookup_detach(w, lk);
      lk = NULL;
    }
  }
  if (lk != NULL) {
    if (add_waiter(lk, c, s)) {
      s->state = EDGE_SLOT_PENDING;
      edge_metrics_add(&w->metrics.coalesced, 1);
      return;
    }
    goto busy;
  }
  if (!edge_l2_up(w->l2)) {
    goto busy;
  }
  lk = lookup_new(w, l1_idx, serial, serial_len);
  if (lk == NULL) {
    goto busy;
  }
  lk->is_crl = (uint8_t)is_crl;
  /* The ticket is taken BEFORE the lookup is sent (file comment). */
  lk->ticket = is_crl ? __atomic_load_n(&w->shared->crl_gen, __ATOMIC_ACQUIRE)
                      : edge_l1_ticket(w->shared->l1);
  int ok;
  if (is_crl) {
    char key[VIGIL_KS_MAX_KEY];
    memcpy(lk->issuer_id, iss->issuer_id, sizeof(lk->issuer_id));
    lk->shard = shard;
    ok = vigil_ks_crl_key(key, sizeof(key), iss->issuer_id, shard) != 0 &&
         edge_l2_get(w->l2, key, on_lookup, lk);
  } else {
    char rkey[VIGIL_KS_MAX_KEY], skey[VIGIL_KS_MAX_KEY];
    ok = vigil_ks_resp_key(rkey, sizeof(rkey), iss->key_sha1, serial,
                           serial_len) != 0 &&
         vigil_ks_status_key(skey, sizeof(skey), iss->key_sha1, serial,
                             serial_len) != 0 &&
         edge_l2_lookup(w->l2, rkey, skey, on_lookup, lk);
  }
  if (!ok) {
    lookup_free(w, lk);
    goto busy;
  }
  add_waiter(lk, c, s);
  s->state = EDGE_SLOT_PENDING;
  edge_metrics_add(&w->metrics.redis_lookups, 1);
  return;

busy:
  if (is_crl) {
    slot_http_error(w, s, 503, NULL);
  } else {
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
  }
}

/* ======================================================================
 * Live signing
 * ====================================================================== */

static void queue_sign(struct edge_worker *w, struct edge_conn *c,
                       struct edge_slot *s, const struct vigil_status *st,
                       int unknown, uint64_t ticket) {
  if (w->jobs_count >= w->jobs_cap) {
    edge_metrics_add(&w->metrics.live_sign_rejected, 1);
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
    return;
  }
  struct edge_signjob *j =
      &w->jobs[(w->jobs_head + w->jobs_count) % w->jobs_cap];
  w->jobs_count++;
  j->conn = c->idx;
  j->gen = c->gen;
  j->slot = (uint8_t)(s - c->slots);
  j->unknown = (uint8_t)unknown;
  j->ticket = ticket;
  if (st != NULL) {
    j->st = *st;
  } else {
    memset(&j->st, 0, sizeof(j->st));
  }
  s->state = EDGE_SLOT_PENDING;
}

static void sign_one(struct edge_worker *w, struct edge_conn *c,
                     struct edge_slot *s, const struct edge_signjob *j) {
  const struct edge_pending_ctx *p = &s->pend;
  const struct edge_issuer *iss = edge_issuers_find(
      issuers(w), (enum vigil_ocsp_hash)p->hash, p->name_hash, p->key_hash);
  if (iss == NULL) {
    slot_ocsp_error(w, s, VIGIL_OCSP_UNAUTHORIZED);
    return;
  }
  int plain = p->nonce_len == 0;
  uint32_t l1_idx =
      iss->l1_idx |
      (p->hash == VIGIL_OCSP_HASH_SHA256 ? EDGE_L1_IDX_SHA256 : 0);
  if (plain) {
    /* Another job may have filled L1 meanwhile. */
    const struct edge_l1_entry *e =
        get_fresh(w, l1_idx, p->serial, p->serial_len);
    if (e != NULL) {
      slot_from_entry(w, s, e, iss, p->serial, p->serial_len, EDGE_ANS_L1_HIT);
      return;
    }
  }
  int64_t now = w->clock.now;
  /* A responder certificate that has expired (or is about to) signs
   * nothing: relying parties would reject the answer. */
  if (iss->responder_key == NULL || iss->responder_cert == NULL ||
      iss->responder_cert->not_after <= now + BACKDATE_SECONDS ||
      w->sign_free_count == 0) {
    edge_metrics_add(&w->metrics.live_sign_rejected, 1);
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
    return;
  }
  struct vigil_ocsp_single single;
  memset(&single, 0, sizeof(single));
  single.cert_id_der = p->cert_id;
  single.cert_id_der_len = p->cert_id_len;
  single.reason = VIGIL_REASON_NONE;
  single.this_update = now - BACKDATE_SECONDS;
  single.next_update = single.this_update + edge_cfg(w->shared)->validity;
  /* Never promise beyond the responder certificate's own validity. */
  if (single.next_update > iss->responder_cert->not_after) {
    single.next_update = iss->responder_cert->not_after;
  }
  if (j->unknown) {
    single.status = VIGIL_CERT_STATUS_UNKNOWN;
  } else {
    single.status = j->st.status;
    single.revocation_time = j->st.revoked_at;
    /* CA/B Forum BR 7.2.2: unspecified is expressed by omitting the
     * reasonCode, and only the listed reasons may appear. */
    if (j->st.reason != VIGIL_REASON_UNSPECIFIED &&
        vigil_reason_allowed_by_br(j->st.reason, 0)) {
      single.reason = j->st.reason;
    }
  }
  struct vigil_ocsp_responder resp = { iss->responder_key,
                                       iss->responder_cert };
  uint8_t *buf = w->sign_free[--w->sign_free_count];
  /* Sign straight into the sign buffer, leaving room for the block prefix
   * and entity headers in front (plain answers) or a text head (nonce). */
  size_t front = sizeof(struct edge_block) + EDGE_HTTP_ENTITY_HEAD_MAX;
  CBB cbb;
  size_t der_len = 0;
  if (!CBB_init_fixed(&cbb, buf + front, w->sign_buf_size - front) ||
      !vigil_ocsp_response_build(&cbb, &resp, now, &single, 1,
                                 p->nonce_len ? p->nonce : NULL,
                                 p->nonce_len) ||
      !CBB_finish(&cbb, NULL, &der_len)) {
    CBB_cleanup(&cbb);
    w->sign_free[w->sign_free_count++] = buf;
    slot_ocsp_error(w, s, VIGIL_OCSP_INTERNAL_ERROR);
    return;
  }
  enum edge_answer kind =
      j->unknown ? EDGE_ANS_UNKNOWN_SIGNED : EDGE_ANS_LIVE_SIGNED;
  if (!plain) {
    /* Nonce echo: this answer is for this client only. */
    count(w, kind);
    char skey[EDGE_HTTP_SURROGATE_KEY_MAX];
    size_t skey_len =
        surrogate(skey, sizeof(skey), iss, p->serial, p->serial_len, 0);
    size_t n =
        edge_http_write_nonce_head(s->head, sizeof(s->head), &w->clock, der_len,
                                   skey, skey_len, s->keep_alive);
    if (n == 0) {
      w->sign_free[w->sign_free_count++] = buf;
      slot_http_error(w, s, 500, NULL);
      return;
    }
    s->sign_buf = buf;
    s->head_len = (uint16_t)n;
    s->body = buf + front;
    s->body_len = s->head_only ? 0 : (uint32_t)der_len;
    s->state = EDGE_SLOT_READY;
    return;
  }
  /* Plain: build the block in a second buffer region? The DER sits at
   * |front|; build_block copies it after the headers into a fresh buffer. */
  uint8_t *blockbuf = NULL;
  if (w->sign_free_count > 0) {
    blockbuf = w->sign_free[--w->sign_free_count];
  }
  char skey[EDGE_HTTP_SURROGATE_KEY_MAX];
  size_t skey_len =
      surrogate(skey, sizeof(skey), iss, p->serial, p->serial_len, 0);
  size_t block_len = blockbuf == NULL
                         ? 0
                         : build_block(blockbuf, w->sign_buf_size, buf + front,
                                       der_len, single.this_update,
                                       single.next_update, skey, skey_len, 0);
  if (block_len == 0) {
    if (blockbuf != NULL) {
      w->sign_free[w->sign_free_count++] = blockbuf;
    }
    w->sign_free[w->sign_free_count++] = buf;
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
    return;
  }
  if (p->hash == VIGIL_OCSP_HASH_SHA1 && !j->unknown) {
    /* Write back so other edges need not sign it again. NX: whatever the
     * control plane wrote meanwhile (a revocation) wins. */
    char rkey[VIGIL_KS_MAX_KEY];
    if (vigil_ks_resp_key(rkey, sizeof(rkey), iss->key_sha1, p->serial,
                          p->serial_len) != 0) {
      edge_l2_store(w->l2, rkey, buf + front, der_len,
                    (single.next_update - now) * 1000);
    }
  }
  w->sign_free[w->sign_free_count++] = buf;
  insert_and_serve(w, s, iss, l1_idx, p->serial, p->serial_len, blockbuf,
                   block_len, single.this_update, single.next_update, j->ticket,
                   kind);
  w->sign_free[w->sign_free_count++] = blockbuf;
}

void edge_answer_run_jobs(struct edge_worker *w) {
  int64_t budget = edge_cfg(w->shared)->sign_budget;
  while (w->jobs_count > 0 && budget-- > 0) {
    struct edge_signjob j = w->jobs[w->jobs_head];
    w->jobs_head = (w->jobs_head + 1) % w->jobs_cap;
    w->jobs_count--;
    struct edge_conn *c = edge_conn_get(w, j.conn, j.gen);
    if (c == NULL) {
      continue;
    }
    struct edge_slot *s = &c->slots[j.slot];
    if (s->state != EDGE_SLOT_PENDING) {
      continue;
    }
    sign_one(w, c, s, &j);
    edge_conn_try_send(w, c);
  }
}

/* ======================================================================
 * Finishing lookups
 * ====================================================================== */

/* resp_matches returns 1 if the pre-signed response |info| answers exactly
 * the request in |p| (a SHA-1 CertID with the same issuer name hash, key
 * hash and serial), agrees with the status record |st| (when there is
 * one), and is within its freshness window at |now|. Anything else is
 * re-signed from the status record: a keying mistake upstream must never
 * become an answer about another certificate. */
static int resp_matches(const struct edge_respinfo *info,
                        const struct edge_pending_ctx *p,
                        const struct vigil_status *st, int64_t now,
                        int64_t refresh) {
  static const uint8_t kSha1Oid[] = { 0x2b, 0x0e, 0x03, 0x02, 0x1a };
  CBS cid, seq, alg, oid, name_hash, key_hash;
  CBS_init(&cid, CBS_data(&info->cert_id), CBS_len(&info->cert_id));
  if (!CBS_get_asn1(&cid, &seq, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&seq, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&alg, &oid, CBS_ASN1_OBJECT) ||
      !CBS_mem_equal(&oid, kSha1Oid, sizeof(kSha1Oid)) ||
      !CBS_get_asn1(&seq, &name_hash, CBS_ASN1_OCTETSTRING) ||
      !CBS_get_asn1(&seq, &key_hash, CBS_ASN1_OCTETSTRING) ||
      !CBS_mem_equal(&name_hash, p->name_hash, 20) ||
      !CBS_mem_equal(&key_hash, p->key_hash, 20) ||
      !CBS_mem_equal(&info->serial, p->serial, p->serial_len)) {
    return 0;
  }
  /* Fresh: started (allowing the usual backdating), not past the point
   * where it must be re-signed, not expired. */
  if (info->this_update > now + BACKDATE_SECONDS ||
      info->this_update + refresh <= now || info->next_update <= now) {
    return 0;
  }
  if (st != NULL && (enum vigil_cert_status)info->status != st->status) {
    return 0; /* the status record is the truth; the response is stale */
  }
  return 1;
}

static void finish_waiter(struct edge_worker *w, struct edge_conn *c,
                          struct edge_slot *s, const struct edge_lookup *lk,
                          const struct edge_l2_result *res) {
  const struct edge_pending_ctx *p = &s->pend;
  if (res->mirror) {
    __atomic_store_n(&w->shared->mirror, 1, __ATOMIC_RELAXED);
  }
  if (!res->ok) {
    slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
    return;
  }
  const struct edge_issuer *iss = edge_issuers_find(
      issuers(w), (enum vigil_ocsp_hash)p->hash, p->name_hash, p->key_hash);
  if (iss == NULL) {
    slot_ocsp_error(w, s, VIGIL_OCSP_UNAUTHORIZED);
    return;
  }
  struct vigil_status st;
  int have_status = 0;
  if (res->status != NULL) {
    if (!vigil_status_parse(&st, res->status, res->status_len)) {
      slot_ocsp_error(w, s, VIGIL_OCSP_INTERNAL_ERROR);
      return;
    }
    have_status = 1;
  }
  int plain = p->nonce_len == 0 && p->hash == VIGIL_OCSP_HASH_SHA1;
  struct edge_respinfo info;
  if (plain && res->resp != NULL &&
      edge_respinfo_parse(&info, res->resp, res->resp_len) &&
      resp_matches(&info, p, have_status ? &st : NULL, w->clock.now,
                   edge_cfg(w->shared)->refresh) &&
      w->sign_free_count > 0) {
    char skey[EDGE_HTTP_SURROGATE_KEY_MAX];
    size_t skey_len =
        surrogate(skey, sizeof(skey), iss, p->serial, p->serial_len, 0);
    uint8_t *tmp = w->sign_free[--w->sign_free_count];
    size_t block_len =
        build_block(tmp, w->sign_buf_size, res->resp, res->resp_len,
                    info.this_update, info.next_update, skey, skey_len, 0);
    if (block_len > 0) {
      insert_and_serve(w, s, iss, lk->l1_idx, p->serial, p->serial_len, tmp,
                       block_len, info.this_update, info.next_update,
                       lk->ticket, EDGE_ANS_L2_HIT);
      w->sign_free[w->sign_free_count++] = tmp;
      return;
    }
    w->sign_free[w->sign_free_count++] = tmp;
  }
  /* No usable pre-signed response: sign from the status record. */
  if (have_status) {
    queue_sign(w, c, s, &st, 0, lk->ticket);
    return;
  }
  if (res->mirror) {
    /* The mirror is complete and has no record: never issued here. */
    if (edge_cfg(w->shared)->unknown_signed) {
      queue_sign(w, c, s, NULL, 1, lk->ticket);
    } else {
      slot_ocsp_error(w, s, VIGIL_OCSP_UNAUTHORIZED);
    }
    return;
  }
  slot_ocsp_error(w, s, VIGIL_OCSP_TRY_LATER);
}

/* crl_times reads thisUpdate and nextUpdate from a DER CRL. */
static int crl_times(const uint8_t *der, size_t len, int64_t *out_this,
                     int64_t *out_next) {
  CBS in, crl, tbs, alg, name;
  CBS_init(&in, der, len);
  if (!CBS_get_asn1(&in, &crl, CBS_ASN1_SEQUENCE) || CBS_len(&in) != 0 ||
      !CBS_get_asn1(&crl, &tbs, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  if (CBS_peek_asn1_tag(&tbs, CBS_ASN1_INTEGER)) {
    CBS version;
    if (!CBS_get_asn1(&tbs, &version, CBS_ASN1_INTEGER)) {
      return 0;
    }
  }
  if (!CBS_get_asn1(&tbs, &alg, CBS_ASN1_SEQUENCE) ||
      !CBS_get_asn1(&tbs, &name, CBS_ASN1_SEQUENCE)) {
    return 0;
  }
  for (int i = 0; i < 2; i++) {
    CBS t;
    unsigned tag;
    int64_t *out = i == 0 ? out_this : out_next;
    if (!CBS_get_any_asn1(&tbs, &t, &tag)) {
      return 0;
    }
    int ok = tag == CBS_ASN1_UTCTIME
                 ? vigil_time_parse_utctime(out, CBS_data(&t), CBS_len(&t))
             : tag == CBS_ASN1_GENERALIZEDTIME
                 ? vigil_time_parse_gentime(out, CBS_data(&t), CBS_len(&t))
                 : 0;
    if (!ok) {
      return 0;
    }
  }
  return *out_next > *out_this;
}

/* ----------------------------------------------------------------------
 * The per-worker CRL cache
 * ---------------------------------------------------------------------- */

static void crl_put(struct edge_crlblock *b) {
  if (b != NULL && --b->refs == 0) {
    vigil_free(b);
  }
}

/* crl_sweep drops every cached CRL if a `crl` event was applied since it
 * was filled (the events thread bumped shared->crl_gen). */
static void crl_sweep(struct edge_worker *w) {
  struct answer_state *st = state_of(w);
  uint64_t gen = __atomic_load_n(&w->shared->crl_gen, __ATOMIC_ACQUIRE);
  size_t keep = 0;
  for (size_t i = 0; i < st->num_crls; i++) {
    struct edge_crlblock *b = st->crls[i];
    if (b->gen != gen || b->next_update <= w->clock.now) {
      crl_put(b);
    } else {
      st->crls[keep++] = b;
    }
  }
  st->num_crls = keep;
}

static struct edge_crlblock *crl_find(struct edge_worker *w, uint32_t idx,
                                      int32_t shard) {
  struct answer_state *st = state_of(w);
  crl_sweep(w);
  for (size_t i = 0; i < st->num_crls; i++) {
    if (st->crls[i]->issuer_l1 == idx && st->crls[i]->shard == shard) {
      return st->crls[i];
    }
  }
  return NULL;
}

static void slot_from_crl(struct edge_worker *w, struct edge_slot *s,
                          struct edge_crlblock *b,
                          const struct edge_issuer *iss) {
  if (slot_from_block(w, s, b->data, b->this_update, b->next_update, iss, NULL,
                      0, EDGE_ANS_CRL)) {
    b->refs++;
    s->crl = b;
  }
}

static void finish_crl(struct edge_worker *w, struct edge_slot *s,
                       const struct edge_lookup *lk,
                       const struct edge_l2_result *res) {
  if (!res->ok) {
    slot_http_error(w, s, 503, NULL);
    return;
  }
  const struct edge_issuer *iss =
      edge_issuers_by_id(issuers(w), lk->issuer_id, strlen(lk->issuer_id));
  int64_t this_update, next_update;
  if (iss == NULL || res->value == NULL) {
    slot_http_error(w, s, 404, NULL);
    return;
  }
  if (!crl_times(res->value, res->value_len, &this_update, &next_update) ||
      next_update <= w->clock.now) {
    slot_http_error(w, s, 503, NULL); /* never serve a stale CRL */
    return;
  }
  /* A fill that started before a `crl` event may carry the old CRL. */
  if (__atomic_load_n(&w->shared->crl_gen, __ATOMIC_ACQUIRE) != lk->ticket) {
    slot_http_error(w, s, 503, NULL);
    return;
  }
  struct edge_crlblock *b = crl_find(w, lk->l1_idx, lk->shard);
  if (b == NULL) {
    struct answer_state *st = state_of(w);
    if (st->num_crls == CRL_CACHE_MAX) {
      /* Full (many shards): drop the oldest fill; answers still sending
       * it keep their own references. */
      crl_put(st->crls[0]);
      memmove(&st->crls[0], &st->crls[1],
              (CRL_CACHE_MAX - 1) * sizeof(st->crls[0]));
      st->num_crls--;
    }
    size_t cap =
        sizeof(struct edge_block) + EDGE_HTTP_ENTITY_HEAD_MAX + res->value_len;
    b = vigil_malloc(sizeof(*b) + cap); /* cold path: a cache fill */
    if (b == NULL) {
      slot_http_error(w, s, 503, NULL);
      return;
    }
    char skey[EDGE_HTTP_SURROGATE_KEY_MAX];
    size_t skey_len = surrogate(skey, sizeof(skey), iss, NULL, 0, 1);
    b->len = build_block(b->data, cap, res->value, res->value_len, this_update,
                         next_update, skey, skey_len, 1);
    if (b->len == 0) {
      vigil_free(b);
      slot_http_error(w, s, 500, NULL);
      return;
    }
    b->refs = 1; /* the cache's own reference */
    b->issuer_l1 = lk->l1_idx;
    b->shard = lk->shard;
    b->gen = lk->ticket;
    b->this_update = this_update;
    b->next_update = next_update;
    st->crls[st->num_crls++] = b;
  }
  slot_from_crl(w, s, b, iss);
}

/* ======================================================================
 * Requests
 * ====================================================================== */

static void answer_crl(struct edge_worker *w, struct edge_conn *c,
                       struct edge_slot *s, const struct edge_route *rt) {
  const struct edge_issuers *iss_all = issuers(w);
  const struct edge_issuer *iss;
  if (rt->issuer_id.ptr != NULL) {
    iss = edge_issuers_by_id(iss_all, rt->issuer_id.ptr, rt->issuer_id.len);
    if (iss != NULL && rt->tenant.ptr != NULL &&
        (strlen(iss->tenant) != rt->tenant.len ||
         memcmp(iss->tenant, rt->tenant.ptr, rt->tenant.len) != 0)) {
      iss = NULL;
    }
  } else {
    iss = edge_issuers_current(iss_all, rt->tenant.ptr, rt->tenant.len);
  }
  if (iss == NULL) {
    slot_http_error(w, s, 404, NULL);
    return;
  }
  uint32_t idx = EDGE_L1_IDX_CRL | iss->l1_idx;
  struct edge_crlblock *b = crl_find(w, idx, rt->shard);
  if (b != NULL) {
    slot_from_crl(w, s, b, iss);
    return;
  }
  uint8_t key[4] = { CRL_KEY_FULL, 0, 0, 0 };
  size_t key_len = 1;
  if (rt->shard >= 0) {
    key[0] = CRL_KEY_SHARD;
    key[1] = (uint8_t)(rt->shard >> 16);
    key[2] = (uint8_t)(rt->shard >> 8);
    key[3] = (uint8_t)rt->shard;
    key_len = 4;
  }
  start_lookup(w, c, s, iss, idx, key, key_len, 1, rt->shard);
}

void edge_answer_request(struct edge_worker *w, struct edge_conn *c,
                         struct edge_slot *s,
                         const struct edge_http_request *req,
                         const uint8_t *body) {
  s->keep_alive = req->keep_alive;
  s->head_only = req->method == EDGE_HTTP_HEAD;
  copy_conditional(s, req);

  struct edge_route rt;
  enum edge_route_kind kind =
      edge_route_parse(&rt, req->target.ptr, req->target.len);
  if (kind == EDGE_ROUTE_NOT_FOUND) {
    slot_http_error(w, s, 404, NULL);
    return;
  }
  if (!edge_route_method_allowed(kind, req->method)) {
    slot_http_error(w, s, 405, edge_route_allow(kind));
    return;
  }
  if (kind == EDGE_ROUTE_CRL) {
    answer_crl(w, c, s, &rt);
    return;
  }

  /* The DER request: POST body, or the decoded GET path. */
  const uint8_t *der;
  size_t der_len;
  if (kind == EDGE_ROUTE_OCSP_POST) {
    der = body;
    der_len = req->content_length;
  } else {
    /* The single-pass decoder, or the library where it declines. */
    if (!edge_getpath_decode(w->scratch, &der_len, w->scratch_size,
                             rt.request.ptr, rt.request.len) &&
        vigil_b64_decode_ocsp_get(w->scratch, &der_len, w->scratch_size,
                                  rt.request.ptr,
                                  rt.request.len) != VIGIL_B64_OK) {
      slot_ocsp_error(w, s, VIGIL_OCSP_MALFORMED_REQUEST);
      return;
    }
    der = w->scratch;
  }
  struct vigil_ocsp_request ocsp;
  if (vigil_ocsp_request_parse(&ocsp, der, der_len) != VIGIL_OCSP_REQ_OK ||
      ocsp.num_ids != 1) {
    slot_ocsp_error(w, s, VIGIL_OCSP_MALFORMED_REQUEST);
    return;
  }
  const struct vigil_ocsp_cert_id *id = &ocsp.ids[0];
  const struct edge_issuer *iss = edge_issuers_find(
      issuers(w), id->hash, CBS_data(&id->name_hash), CBS_data(&id->key_hash));
  if (iss == NULL ||
      (rt.tenant.ptr != NULL &&
       (strlen(iss->tenant) != rt.tenant.len ||
        memcmp(iss->tenant, rt.tenant.ptr, rt.tenant.len) != 0)) ||
      CBS_len(&id->der) > sizeof(s->pend.cert_id)) {
    slot_ocsp_error(w, s, VIGIL_OCSP_UNAUTHORIZED);
    return;
  }
  /* Everything a pending answer needs, copied out of the receive buffer. */
  struct edge_pending_ctx *p = &s->pend;
  p->cert_id_len = (uint8_t)CBS_len(&id->der);
  memcpy(p->cert_id, CBS_data(&id->der), CBS_len(&id->der));
  p->serial_len = (uint8_t)CBS_len(&id->serial);
  memcpy(p->serial, CBS_data(&id->serial), CBS_len(&id->serial));
  p->hash = (uint8_t)id->hash;
  size_t hlen = vigil_ocsp_hash_len(id->hash);
  memcpy(p->name_hash, CBS_data(&id->name_hash), hlen);
  memcpy(p->key_hash, CBS_data(&id->key_hash), hlen);
  p->nonce_len = 0;
  if (ocsp.has_nonce && edge_cfg(w->shared)->nonces) {
    p->nonce_len = (uint8_t)CBS_len(&ocsp.nonce);
    memcpy(p->nonce, CBS_data(&ocsp.nonce), CBS_len(&ocsp.nonce));
  }
  uint32_t l1_idx =
      iss->l1_idx |
      (id->hash == VIGIL_OCSP_HASH_SHA256 ? EDGE_L1_IDX_SHA256 : 0);
  if (p->nonce_len == 0) {
    struct answer_state *st = state_of(w);
    if (st->num_l1 < L1_BATCH_MAX) {
      /* Looked up with the rest of this batch (edge_answer_flush_l1). */
      struct l1_wait *wt = &st->l1_wait[st->num_l1];
      struct edge_l1_key *k = &st->l1_keys[st->num_l1];
      st->num_l1++;
      wt->conn = c->idx;
      wt->gen = c->gen;
      wt->slot = (uint8_t)(s - c->slots);
      wt->iss = iss;
      k->issuer_idx = l1_idx;
      k->serial = p->serial;
      k->serial_len = p->serial_len;
      s->state = EDGE_SLOT_PENDING;
      return;
    }
    const struct edge_l1_entry *e =
        get_fresh(w, l1_idx, p->serial, p->serial_len);
    if (e != NULL) {
      slot_from_entry(w, s, e, iss, p->serial, p->serial_len, EDGE_ANS_L1_HIT);
      return;
    }
  }
  start_lookup(w, c, s, iss, l1_idx, p->serial, p->serial_len, 0, -1);
}

void edge_answer_flush_l1(struct edge_worker *w) {
  struct answer_state *st = state_of(w);
  size_t n = st->num_l1;
  if (n == 0) {
    return;
  }
  st->num_l1 = 0;
  struct edge_l1 *l1 = w->shared->l1;
  edge_l1_get_batch(l1, st->l1_out, w->idx, st->l1_keys, n, w->clock.now);
  /* Start fetching every answer's bytes now: the kernel copies them when
   * the sends are submitted, and a large cache's blocks are rarely in the
   * CPU caches; fetched together their misses overlap. */
  for (size_t i = 0; i < n; i++) {
    const struct edge_l1_entry *e = st->l1_out[i];
    if (e != NULL) {
      const uint8_t *b = edge_l1_entry_block(e);
      size_t len = edge_l1_entry_block_len(e);
      for (size_t off = 0; off < len; off += 64) {
        __builtin_prefetch(b + off);
      }
    }
  }
  int64_t refresh = edge_cfg(w->shared)->refresh;
  for (size_t i = 0; i < n; i++) {
    const struct l1_wait *wt = &st->l1_wait[i];
    const struct edge_l1_key *k = &st->l1_keys[i];
    const struct edge_l1_entry *e = st->l1_out[i];
    struct edge_conn *c = edge_conn_get(w, wt->conn, wt->gen);
    struct edge_slot *s = c == NULL ? NULL : &c->slots[wt->slot];
    if (s == NULL || s->state != EDGE_SLOT_PENDING) {
      if (e != NULL) {
        edge_l1_put_ref(l1, e); /* the client went away meanwhile */
      }
      continue;
    }
    /* As get_fresh: an answer past its refresh point is a miss. */
    if (e != NULL && edge_l1_entry_this_update(e) + refresh <= w->clock.now) {
      edge_l1_put_ref(l1, e);
      e = NULL;
    }
    if (e != NULL) {
      slot_from_entry(w, s, e, wt->iss, k->serial, k->serial_len,
                      EDGE_ANS_L1_HIT);
    } else {
      start_lookup(w, c, s, wt->iss, k->issuer_idx, k->serial, k->serial_len, 0,
                   -1);
    }
  }
  /* Then send: pipelined answers of one connection go out together. */
  for (size_t i = 0; i < n; i++) {
    struct edge_conn *c =
        edge_conn_get(w, st->l1_wait[i].conn, st->l1_wait[i].gen);
    if (c != NULL) {
      edge_conn_try_send(w, c);
    }
  }
}

void edge_answer_release(struct edge_worker *w, struct edge_slot *s) {
  if (s->entry != NULL) {
    edge_l1_put_ref(w->shared->l1, s->entry);
    s->entry = NULL;
  }
  if (s->sign_buf != NULL) {
    w->sign_free[w->sign_free_count++] = s->sign_buf;
    s->sign_buf = NULL;
  }
  if (s->crl != NULL) {
    crl_put(s->crl);
    s->crl = NULL;
  }
}

/* ======================================================================
 * Setup
 * ====================================================================== */

int edge_answer_init(struct edge_worker *w) {
  const struct edge_config *cfg = w->shared->cfg;
  uint32_t cap = (uint32_t)cfg->max_lookups;
  uint32_t buckets = 1;
  while (buckets < 2 * cap) {
    buckets <<= 1;
  }
  /* One allocation: the pool followed by the side state. */
  w->lookups = vigil_calloc(
      1, cap * sizeof(struct edge_lookup) + sizeof(struct answer_state));
  if (w->lookups == NULL) {
    return 0;
  }
  w->lookups_cap = cap;
  struct lookup_table *t = &state_of(w)->table;
  t->num_buckets = buckets;
  t->buckets = vigil_calloc(buckets, sizeof(uint32_t));
  t->free_list = vigil_calloc(cap, sizeof(uint32_t));
  if (t->buckets == NULL || t->free_list == NULL) {
    return 0;
  }
  for (uint32_t i = cap; i-- > 0;) {
    t->free_list[t->free_count++] = i;
  }
  /* Sign buffers: every waiting job may hold one, plus headroom for the
   * answers in flight; a nonce answer holds its buffer until sent. */
  uint32_t num_sign =
      (uint32_t)cfg->sign_queue + 2 * (uint32_t)cfg->sign_budget + 64;
  w->sign_buf_size = SIGN_BUF_SIZE;
  w->sign_mem = vigil_malloc((size_t)num_sign * w->sign_buf_size);
  w->sign_free = vigil_calloc(num_sign, sizeof(uint8_t *));
  w->jobs_cap = (uint32_t)cfg->sign_queue + 1;
  w->jobs = vigil_calloc(w->jobs_cap, sizeof(struct edge_signjob));
  if (w->sign_mem == NULL || w->sign_free == NULL || w->jobs == NULL) {
    return 0;
  }
  for (uint32_t i = 0; i < num_sign; i++) {
    w->sign_free[w->sign_free_count++] =
        w->sign_mem + (size_t)i * w->sign_buf_size;
  }
  return 1;
}

void edge_answer_cleanup(struct edge_worker *w) {
  if (w->lookups != NULL) {
    struct answer_state *st = state_of(w);
    for (size_t i = 0; i < st->num_crls; i++) {
      crl_put(st->crls[i]);
    }
    st->num_crls = 0;
    struct lookup_table *t = &st->table;
    vigil_free(t->buckets);
    vigil_free(t->free_list);
    vigil_free(w->lookups);
    w->lookups = NULL;
  }
  vigil_free(w->sign_mem);
  vigil_free(w->sign_free);
  vigil_free(w->jobs);
  w->sign_mem = NULL;
  w->sign_free = NULL;
  w->jobs = NULL;
}
