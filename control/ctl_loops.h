/* ctl_loops.h: vigil-control's background loops and the mirror resync.
 *
 * Postgres is the source of truth; Redis holds what the edges serve
 * (DESIGN.md sections 2 and 3). Three jobs keep Redis in step, all signing
 * through vigil-signer (vigil/sgnclient.h; control never links BoringSSL):
 *
 *   - the CRL loop: per issuer, builds the entry list from the revocations
 *     of certificates not yet expired, takes the next CRL number (strictly
 *     increasing, checked by the database), has the signer sign the CRL,
 *     stores it in crl_cache with a crl_generation_events row, then
 *     publishes v1:crl:{issuer_id}, v1:crlmeta:{issuer_id} and a "crl"
 *     event. It runs every crl-interval, within crl-debounce of a
 *     published revocation (ctl_loops_crl_soon), and for any issuer whose
 *     cached CRL no longer matches its revocations (checked every minute).
 *   - the refresh loop: re-signs, in batches, the responses of unexpired
 *     certificates whose last signing (table ocsp_presign) is older than
 *     refresh-after, and writes v1:resp (expiring at nextUpdate) and
 *     v1:status. If v1:mirror is absent it runs the full resync first.
 *   - the resync (ctl_resync, `vigil-control resync`): rebuilds the mirror
 *     from Postgres, then sets v1:mirror.
 *
 * Neither loop ever touches a revocation: they only read revocations and
 * certificates. Every Redis write of a response is guarded so that a
 * loop that read a certificate just before its revocation can never put
 * a "good" answer over the publisher's "revoked" one. */
#ifndef VIGIL_CTL_LOOPS_H
#define VIGIL_CTL_LOOPS_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_config.h"
#include "ctl_db.h"
#include "ctl_metrics.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* --- The loops (serve) ---------------------------------------------------- */

struct ctl_loops;

/* ctl_loops_start starts the CRL and refresh threads for |cfg| (borrowed;
 * with |db_opts| and |log| it must outlive the loops). Each thread opens
 * its own database connection lazily. Without a redis-url the refresh
 * loop is idle and CRLs are stored in Postgres only. The caller should
 * block SIGTERM/SIGINT before, as the threads inherit its mask. Returns
 * the running loops (stop with ctl_loops_stop), or NULL if a thread could
 * not be started or memory ran out (nothing is left running). */
struct ctl_loops *ctl_loops_start(const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log)
    __attribute__((warn_unused_result));

/* ctl_loops_crl_soon tells the CRL loop that a revocation was published:
 * it regenerates the changed issuers' CRLs within crl-debounce (kicks in
 * the meantime join the same run). Never blocks on the loop's work;
 * thread-safe. ctl_loops_crl_soon(NULL) does nothing. */
void ctl_loops_crl_soon(struct ctl_loops *loops);

/* ctl_loops_counters returns the loops' counters (struct in
 * ctl_metrics.h; read them with relaxed atomic loads, as
 * ctl_metrics_render does), valid until ctl_loops_stop; NULL for NULL. */
const struct ctl_loops_counters *ctl_loops_counters(
    const struct ctl_loops *loops);

/* ctl_loops_stop asks both threads to stop, waits for them (a signer or
 * Redis call in progress finishes or times out first) and frees |loops|.
 * ctl_loops_stop(NULL) does nothing. */
void ctl_loops_stop(struct ctl_loops *loops);

/* --- Resync ----------------------------------------------------------------
 */

/* What a resync did. */
struct ctl_resync_report {
  uint64_t num_issuers;   /* issuer records written to v1:issuers */
  uint64_t num_responses; /* responses signed and written */
  uint64_t num_skipped;   /* responses not written: Redis already held a
                             newer status (a revocation published since) */
  uint64_t num_crls;      /* CRLs published (from crl_cache or new) */
  int64_t mirror;         /* the epoch written to v1:mirror */
  char error[512];        /* why it failed ("" on success) */
};

/* Outcomes of ctl_resync. */
enum ctl_resync_result {
  CTL_RESYNC_OK = 0,      /* the mirror is complete; v1:mirror set */
  CTL_RESYNC_CONFIG,      /* redis-url missing or malformed */
  CTL_RESYNC_UNAVAILABLE, /* Postgres, Redis or the signer unreachable */
  CTL_RESYNC_FAILED,      /* anything else (report->error) */
};

/* ctl_resync rebuilds the Redis mirror from Postgres: the v1:issuers
 * record and an "issuer" event of every issuer; a freshly signed response
 * and status record for every unexpired certificate; every issuer's CRL
 * (the cached one while it has more than crl-interval left, else a new
 * one) with its metadata and a "crl" event; and last SET v1:mirror to the
 * current epoch. It only overwrites keys of what Postgres knows and
 * deletes nothing, so it is idempotent and safe while serve runs. On
 * failure v1:mirror is left as it was and |report->error| says why.
 * |report| is always filled. */
enum ctl_resync_result ctl_resync(struct ctl_resync_report *report,
                                  const struct ctl_config *cfg,
                                  const struct ctl_db_options *db_opts,
                                  const struct vigil_log *log)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_LOOPS_H */
