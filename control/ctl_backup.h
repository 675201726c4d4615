/* ctl_backup.h: sealed full backups of the control plane's database and
 * their restore (`vigil-control backup` / `vigil-control restore`,
 * docs/runbooks/disaster-recovery.md).
 *
 * A backup is a directory of three files, each 0600 in a 0700 directory:
 *
 *   database.dump       pg_dump -Fc of the whole database, audit_events
 *                       included (the forensic record), taken in one
 *                       exported snapshot
 *   manifest.json       what the backup holds: format, creation time,
 *                       database name, schema version, the audit chain
 *                       head (id and hash) and row counts of the key
 *                       tables as of that snapshot, and every file's
 *                       name, size and SHA-256
 *   manifest.seal.json  vigil-signer's seal (vigil/seal.h) of
 *                       SHA-256(manifest.json bytes) under the context
 *                       CTL_BACKUP_SEAL_CONTEXT
 *
 * A restore checks, before it touches the database, that the seal
 * verifies with a pinned audit key (--audit-key, the signer's audit.pub),
 * and that every listed file has its size and SHA-256. A tampered backup
 * is refused and nothing changes. It then restores with pg_restore in a
 * single transaction, checks the restored audit head and row counts
 * against the manifest, applies newer migrations, empties the caches that
 * are rebuilt from the truth (crl_cache, ocsp_presign) with an audit event
 * "backup.restored", verifies the audit chain and, with a redis-url,
 * rebuilds the Redis mirror (ctl_resync).
 *
 * pg_dump and pg_restore run as children (fork/execve, no shell). The
 * database URL never appears in their argv: it is split with
 * PQconninfoParse into libpq's environment variables (PGHOST,
 * PGPASSWORD, ...), which only the same user can read. They are looked
 * up on PATH, then in CTL_BACKUP_PG_BINDIR. */
#ifndef VIGIL_CTL_BACKUP_H
#define VIGIL_CTL_BACKUP_H

#include <stdio.h>

#include "ctl_config.h"
#include "ctl_db.h"
#include "vigil/log.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seal context of a backup manifest. */
#define CTL_BACKUP_SEAL_CONTEXT "vigil-backup-manifest-v1"
/* The manifest's "format" and "format_version". */
#define CTL_BACKUP_FORMAT         "vigil-backup"
#define CTL_BACKUP_FORMAT_VERSION 1
/* Where pg_dump and pg_restore are looked for when not on PATH. */
#define CTL_BACKUP_PG_BINDIR "/usr/lib/postgresql/15/bin"

/* Outcomes of ctl_backup_write and ctl_backup_restore (main.c maps them to
 * its exit statuses). */
enum ctl_backup_result {
  CTL_BACKUP_OK = 0,      /* done (warnings, if any, were printed) */
  CTL_BACKUP_FAILED,      /* refused or failed; the message says which */
  CTL_BACKUP_USAGE,       /* bad arguments or configuration */
  CTL_BACKUP_UNAVAILABLE, /* Postgres unreachable */
};

/* What a restore is asked to do. Strings are borrowed. */
struct ctl_restore_options {
  const char *dir;       /* the backup directory */
  const char *audit_key; /* PEM SubjectPublicKeyInfo of the signer's audit
                            key (<signer key-dir>/audit.pub); required */
  int force; /* 1: the database already holds a Vigil schema; move it
                aside (renamed vigil_replaced_<epoch>, kept) and restore
                into a new one */
};

/* ctl_backup_write writes a sealed backup of |cfg|'s database into |dir|,
 * which must not exist (it is created 0700) or be an empty directory, and
 * prints a confirmation (path, sizes, digests, audit head, the audit key's
 * fingerprint) to |out|. The signer at cfg->signer_socket seals it. A
 * broken audit chain does not stop the backup (it is the evidence), but is
 * recorded in the manifest and reported loudly. On failure the files it
 * created are removed again (and |dir|, if it created it); the reason is
 * on stderr. */
enum ctl_backup_result ctl_backup_write(FILE *out, const struct ctl_config *cfg,
                                        const struct ctl_db_options *db_opts,
                                        const struct vigil_log *log,
                                        const char *dir)
    __attribute__((warn_unused_result));

/* ctl_backup_restore verifies the backup in |ropts|->dir and restores it
 * into |cfg|'s database as described above, printing each step to |out|.
 * A backup that fails verification, or a database that already holds
 * Vigil tables (without force), is refused before anything changes. If
 * pg_restore fails, its transaction leaves the database as it was (with
 * force, the moved schema is put back). Failures after the restore
 * committed (migration, audit chain, Redis) are reported with what was
 * already done. */
enum ctl_backup_result ctl_backup_restore(
    FILE *out, const struct ctl_config *cfg,
    const struct ctl_db_options *db_opts, const struct vigil_log *log,
    const struct ctl_restore_options *ropts)
    __attribute__((warn_unused_result));

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_BACKUP_H */
