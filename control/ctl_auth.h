/* ctl_auth.h: API tokens, principals and roles.
 *
 * A token is "vgl_" followed by the unpadded base64url of 32 random bytes
 * (getrandom). Only its SHA-256 is stored (api_tokens.token_sha256),
 * computed by Postgres (sha256()): vigil-control links no crypto library
 * for that (DESIGN.md section 1). A token belongs to a principal, which
 * has roles and, optionally, a tenant it is confined to.
 *
 * At the first start of `serve`, when no principal exists, a principal
 * "bootstrap" (kind bootstrap, role admin only: no issuance authority,
 * DESIGN.md section 5) is created and its token written to
 * <state-dir>/bootstrap-token (mode 0600). */
#ifndef VIGIL_CTL_AUTH_H
#define VIGIL_CTL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_db.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTL_AUTH_TOKEN_PREFIX "vgl_"
/* "vgl_" + 43 base64url characters. */
#define CTL_AUTH_TOKEN_LEN 47

/* Role bits. */
enum ctl_auth_role {
  CTL_ROLE_ADMIN = 1 << 0,
  CTL_ROLE_ISSUER = 1 << 1, /* issuance authority: issue and revoke */
  CTL_ROLE_APPROVER = 1 << 2,
  CTL_ROLE_OPERATOR = 1 << 3,
  CTL_ROLE_AUDITOR = 1 << 4,
};

/* An authenticated principal. */
struct ctl_principal {
  char id[37];          /* uuid */
  char name[129];       /* principal name */
  int bootstrap;        /* 1: the bootstrap principal */
  unsigned roles;       /* enum ctl_auth_role bits */
  char tenant_id[37];   /* "" : every tenant */
  char tenant_name[64]; /* "" : every tenant */
};

/* ctl_auth_role_parse maps a role name to its bit; 0 if unknown. */
unsigned ctl_auth_role_parse(const char *name);

/* ctl_auth_roles_parse parses a Postgres text[] in text form
 * ("{admin,issuer}") into role bits; unknown names are ignored. */
unsigned ctl_auth_roles_parse(const char *pg_array);

/* ctl_auth_token_new writes a fresh token (CTL_AUTH_TOKEN_LEN characters
 * and a NUL) to |out|. Returns 1, or 0 if getrandom failed. */
int ctl_auth_token_new(char out[CTL_AUTH_TOKEN_LEN + 1]) CTL_MUST_CHECK;

/* ctl_auth_token_wellformed returns 1 if |tok| has the token format. */
int ctl_auth_token_wellformed(const char *tok);

/* ctl_auth_lookup finds the live principal of |token| (not revoked, not
 * expired, principal not disabled) and fills |out|. Returns CTL_DB_OK,
 * CTL_DB_ABORTED when no such token exists (including a malformed one),
 * or the database's failure. Updates nothing. */
enum ctl_db_status ctl_auth_lookup(struct ctl_db *db, struct ctl_principal *out,
                                   const char *token) CTL_MUST_CHECK;

/* ctl_auth_insert_token stores the hash of |token| for principal
 * |principal_id| inside the caller's open transaction. */
enum ctl_db_status ctl_auth_insert_token(struct ctl_db *db,
                                         const char *principal_id,
                                         const char *token) CTL_MUST_CHECK;

/* ctl_auth_bootstrap makes the bootstrap principal and writes its token
 * to <|state_dir|>/bootstrap-token (0600) if no principal exists yet; does
 * nothing otherwise. The file is written before the commit and removed if
 * the commit fails, so a committed bootstrap always has its file. Returns
 * 1, or 0 with the reason logged. */
int ctl_auth_bootstrap(struct ctl_db *db, const struct vigil_log *log,
                       const char *state_dir) CTL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_AUTH_H */
