/* ctl_migrate.h: apply the schema migrations (`vigil-control migrate`).
 *
 * A migrations directory holds files named NNNN_name.sql (four digits, then
 * [a-z0-9_]+). They are applied in version order, each exactly once, each in
 * its own transaction together with its row in schema_migrations (version,
 * name, SHA-256 of the file, time applied), so a migration either applies
 * completely and is recorded, or leaves no trace. Running it again is a
 * no-op. A session advisory lock makes concurrent runs (several control
 * plane instances starting at once) take turns.
 *
 * It refuses to go on, changing nothing, when the files and the database
 * disagree: an applied file changed since (checksum), the database has a
 * migration the directory lacks (an older binary against a newer schema),
 * an unapplied file sorts before an applied one, a .sql file with a bad
 * name, or two files with one version. */
#ifndef VIGIL_CTL_MIGRATE_H
#define VIGIL_CTL_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outcome of ctl_migrate_run. */
enum ctl_migrate_result {
  CTL_MIGRATE_OK = 0,
  CTL_MIGRATE_BAD_DIR,     /* directory unreadable, bad or duplicate file
                              names, unreadable or oversized file */
  CTL_MIGRATE_MISMATCH,    /* files and schema_migrations disagree */
  CTL_MIGRATE_FAILED,      /* a migration's SQL failed; it was rolled back */
  CTL_MIGRATE_UNAVAILABLE, /* the database could not be reached */
  CTL_MIGRATE_ERROR,       /* anything else (no memory, unexpected error) */
};

/* Per-migration line of a report. */
struct ctl_migrate_entry {
  int version;         /* NNNN */
  char name[128];      /* file name without ".sql" */
  int applied;         /* 1: recorded in schema_migrations (after the run) */
  int applied_now;     /* 1: applied by this run */
  int64_t duration_ms; /* how long it took, when applied_now */
};

#define CTL_MIGRATE_MAX_FILES 1000

/* What a run found and did. */
struct ctl_migrate_report {
  size_t num_entries; /* migrations found in the directory */
  struct ctl_migrate_entry entries[CTL_MIGRATE_MAX_FILES];
  size_t num_applied_now; /* applied by this run */
  int schema_version;     /* highest applied version afterwards (0: none) */
  char error[1024];       /* on failure: what, where (file:line) and why */
};

/* ctl_migrate_run applies the pending migrations of |dir| to |db| (or, with
 * |dry_run|, only reports what is applied and what is pending). Progress is
 * logged to |log| at INFO. Fills |out| (including out->error on failure).
 * Must be called with no transaction open on |db|. */
enum ctl_migrate_result ctl_migrate_run(struct ctl_db *db,
                                        struct ctl_migrate_report *out,
                                        const struct vigil_log *log,
                                        const char *dir,
                                        int dry_run) CTL_MUST_CHECK;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_MIGRATE_H */
