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
 * <state-dir>/bootstrap-token (mode 0600).
 *
 * A token may expire (expires_at) and can be revoked; both are final
 * (migrations/0007_tokens.sql), and a refused token's 401 says which
 * (ctl_auth_refusal_of). */
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

/* ctl_auth_principal_name_valid returns 1 if |s| is a valid principal name
 * ([A-Za-z0-9][A-Za-z0-9._@:-]{0,127}, the principals_name_format CHECK of
 * 0001_init.sql), else 0. */
int ctl_auth_principal_name_valid(const char *s);

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

/* Why ctl_auth_lookup found no live principal for a token. */
enum ctl_auth_refusal {
  CTL_AUTH_UNKNOWN = 0, /* no such token (or not a token at all) */
  CTL_AUTH_EXPIRED,     /* past its expires_at */
  CTL_AUTH_REVOKED,     /* revoked (POST /tokens/{id}/revoke) */
  CTL_AUTH_DISABLED,    /* its principal is disabled */
};

/* ctl_auth_refusal_of tells why |token| was refused, for the 401 message
 * (after ctl_auth_lookup answered CTL_DB_ABORTED). Revoked wins over
 * expired. Returns CTL_DB_OK with |*out| set, or the database's failure
 * (|*out| is then CTL_AUTH_UNKNOWN). */
enum ctl_db_status ctl_auth_refusal_of(struct ctl_db *db,
                                       enum ctl_auth_refusal *out,
                                       const char *token) CTL_MUST_CHECK;

/* Longest token lifetime accepted (10 years), seconds. */
#define CTL_AUTH_MAX_LIFETIME INT64_C(315360000)

/* ctl_auth_parse_time parses the RFC 3339 UTC form "YYYY-MM-DDTHH:MM:SSZ"
 * (exactly that) into epoch seconds. Returns 1, or 0 if |s| is not that. */
int ctl_auth_parse_time(int64_t *out, const char *s) CTL_MUST_CHECK;

/* ctl_auth_insert_token_until is ctl_auth_insert_token with an expiry:
 * |expires_at| epoch seconds (0: never). Writes the stored expiry as RFC
 * 3339 text to |out_expires_at| ("" for never). Inside the caller's open
 * transaction; the database refuses (CTL_DB_INVALID) an expiry not after
 * the creation time. */
enum ctl_db_status ctl_auth_insert_token_until(
    struct ctl_db *db, const char *principal_id, const char *token,
    int64_t expires_at, char out_expires_at[32]) CTL_MUST_CHECK;

/* ctl_auth_create_token_principal inserts, inside the caller's open
 * transaction, a principal of kind "token" named |name| with the roles
 * |roles_pg| (a Postgres text[] literal, e.g. "{issuer,operator}"),
 * confined to tenant |tenant_id| (a uuid; NULL: every tenant), created by
 * principal |created_by|, and its one token |token| (stored as SHA-256)
 * expiring at |expires_at| (epoch seconds; 0: never). Writes the new
 * principal's id to |out_id| and the stored expiry (RFC 3339, "" for
 * never) to |out_expires_at|, both "" on failure. Returns CTL_DB_OK,
 * CTL_DB_CONFLICT when the name is taken, or the database's failure; the
 * transaction is then aborted. */
enum ctl_db_status ctl_auth_create_token_principal(
    struct ctl_db *db, char out_id[37], char out_expires_at[32],
    const char *name, const char *roles_pg, const char *tenant_id,
    const char *created_by, const char *token,
    int64_t expires_at) CTL_MUST_CHECK;

/* What ctl_auth_revoke_tokens did. */
struct ctl_auth_revoked {
  int found;           /* 1: the principal exists (and is in scope) */
  long num_revoked;    /* live tokens revoked now (0: all were already) */
  char name[129];      /* the principal's name */
  char tenant_id[37];  /* "" : unscoped principal */
  char revoked_at[32]; /* RFC 3339 of the revocation ("" if none now) */
};

/* ctl_auth_revoke_tokens revokes, inside the caller's open transaction,
 * every unrevoked token of principal |principal_id| (a uuid), recording
 * principal |by_id| as who revoked them. With |scope_tenant_id| non-NULL
 * only a principal confined to that tenant is found. Fills |out| (always
 * written). Returns CTL_DB_OK (see out->found and out->num_revoked) or the
 * database's failure. */
enum ctl_db_status ctl_auth_revoke_tokens(struct ctl_db *db,
                                          struct ctl_auth_revoked *out,
                                          const char *principal_id,
                                          const char *scope_tenant_id,
                                          const char *by_id) CTL_MUST_CHECK;

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
