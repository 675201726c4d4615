/* ctl_access.h: what brokered access does on a target Postgres server —
 * check an admin conninfo, create a short-lived login role, drop it.
 *
 * DDL takes no parameters, so role names and literals are quoted with
 * libpq's PQescapeIdentifier / PQescapeLiteral on the target connection
 * (they know its encoding and standard_conforming_strings); everything
 * else runs through ctl_db_exec with parameters. Each call opens its own
 * short connection (connect timeout 5 s, statement timeout 10 s) with the
 * target's admin conninfo and closes it before returning: targets are few
 * and sessions rare, and no admin connection stays open.
 *
 * The background expiry sweep of sessions is declared here too; it lives
 * in ctl_api_access.c with the endpoints whose bookkeeping it shares. */
#ifndef VIGIL_CTL_ACCESS_H
#define VIGIL_CTL_ACCESS_H

#include <stddef.h>

#include "ctl_db.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bounds (the API checks them before calling). */
#define CTL_ACCESS_MAX_GRANTS 16 /* server roles one session role maps to */
#define CTL_ACCESS_NAME_MAX   63 /* a Postgres identifier, bytes */

/* What a call found wrong. */
enum ctl_access_outcome {
  CTL_ACCESS_OK = 0,
  CTL_ACCESS_UNREACHABLE, /* could not connect or the connection broke */
  CTL_ACCESS_REFUSED,     /* the server refused (privilege, unknown role,
                             bad conninfo ...): see the message */
};

/* ctl_access_check connects with |conninfo| and checks that its role may
 * create roles (superuser or CREATEROLE) and that every role in
 * |grants| (|num_grants| names) exists. Returns CTL_ACCESS_OK, or another
 * outcome with a one-line reason in |err|. */
enum ctl_access_outcome ctl_access_check(char *err, size_t err_len,
                                         const struct vigil_log *log,
                                         const char *conninfo,
                                         const char *const *grants,
                                         size_t num_grants) CTL_MUST_CHECK;

/* ctl_access_role_create creates login role |username| whose password is
 * |password| (sent as its SCRAM-SHA-256 verifier, computed here with
 * PQencryptPasswordConn, so the password never reaches the server's logs),
 * VALID UNTIL |valid_until| (a timestamptz literal) and membership in the
 * |num_grants| roles |grants| (0 < num_grants <= CTL_ACCESS_MAX_GRANTS),
 * in one statement. Returns CTL_ACCESS_OK, or another outcome with a
 * reason in |err| (nothing was created on the server then). */
enum ctl_access_outcome ctl_access_role_create(
    char *err, size_t err_len, const struct vigil_log *log,
    const char *conninfo, const char *username, const char *password,
    const char *valid_until, const char *const *grants,
    size_t num_grants) CTL_MUST_CHECK;

/* ctl_access_role_drop ends role |username| on the target: NOLOGIN,
 * terminates its backends (waiting up to 5 s for each), gives what it owns
 * in the conninfo's database to the admin role, and drops it. A role that
 * does not exist counts as dropped. Returns CTL_ACCESS_OK, or another
 * outcome with a reason in |err| (the role may then be NOLOGIN but not
 * yet dropped; calling again is safe). */
enum ctl_access_outcome ctl_access_role_drop(
    char *err, size_t err_len, const struct vigil_log *log,
    const char *conninfo, const char *username) CTL_MUST_CHECK;

/* ctl_access_conninfo_hint writes "host=H port=P dbname=D user=U" for
 * |conninfo| (no password, no admin user) with dbname |dbname| when
 * non-NULL. Returns 1, or 0 when |conninfo| does not parse or |out| is
 * too small. */
int ctl_access_conninfo_hint(char *out, size_t out_len, const char *conninfo,
                             const char *dbname,
                             const char *username) CTL_MUST_CHECK;

/* --- The expiry sweep (ctl_api_access.c) --------------------------------- */

struct ctl_api;
struct ctl_access_worker;

/* ctl_access_worker_start starts a thread that, every second, ends the
 * access sessions past their expiry (drops each role on its target, marks
 * the session expired, audits pam.session.expired), with its own database
 * handle from |api|->db_opts. Call it once the API is set up; |api| must
 * outlive the worker. Returns the worker (stop it with
 * ctl_access_worker_stop), or NULL after logging why. Without it, expired
 * sessions are ended only by the sweep at the start of each /access
 * request (VALID UNTIL still refuses new logins at expiry). */
struct ctl_access_worker *ctl_access_worker_start(struct ctl_api *api);

/* ctl_access_worker_stop asks the worker to stop, joins it (at most one
 * sweep batch: bounded by the targets' 5 s connect and 10 s statement
 * timeouts) and frees it. NULL does nothing. */
void ctl_access_worker_stop(struct ctl_access_worker *w);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_ACCESS_H */
