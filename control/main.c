/* main.c: vigil-control, the control plane.
 *
 * Thin by design: load the configuration (ctl_config.c), open the database
 * handle, run one subcommand: the schema and audit tools, or `serve`, the
 * REST API (ctl_api.c, docs/api.md) with its background loops (ctl_loops.c),
 * or `resync`, which rebuilds the Redis mirror from Postgres, or `backup` /
 * `restore` (ctl_backup.c; the seed's spellings --full-backup-dir=DIR and
 * --restore-from=DIR select them too).
 *
 * Exit status: 0 success; 1 the command failed (a migration failed, the
 * audit chain is broken, ...); 2 usage or configuration error; 3 the
 * database was unavailable (worth retrying). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_audit.h"
#include "ctl_backup.h"
#include "ctl_config.h"
#include "ctl_db.h"
#include "ctl_loops.h"
#include "ctl_migrate.h"
#include "ctl_selftest.h"
#include "vigil/alloc.h"
#include "vigil/hex.h"
#include "vigil/log.h"

#define VIGIL_VERSION "0.1.0"

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_UNAVAILABLE = 3,
};

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: vigil-control [--config FILE] [--option=value ...] COMMAND\n"
      "\n"
      "vigil-control is Vigil's control plane: Postgres is its source of\n"
      "truth (docs/operations.md).\n"
      "\n"
      "Commands:\n"
      "  migrate          apply the pending schema migrations, in order,\n"
      "                   each once, each in a transaction (safe to rerun)\n"
      "  migrate status   list applied and pending migrations; change "
      "nothing\n"
      "  audit-verify     walk the audit hash chain; report the first "
      "broken link\n"
      "  serve            run the REST API over HTTPS (docs/api.md) until\n"
      "                   SIGTERM\n"
      "  resync           rebuild the Redis mirror from Postgres (issuers,\n"
      "                   responses, status records, CRLs), then set\n"
      "                   v1:mirror (idempotent; docs/operations.md)\n"
      "  backup --dir DIR write a sealed full backup into DIR (new or empty;\n"
      "                   created 0700): pg_dump of the database, including\n"
      "                   the audit log, manifest.json (sizes, SHA-256s,\n"
      "                   audit head, row counts) and manifest.seal.json,\n"
      "                   sealed by vigil-signer's audit key (needs\n"
      "                   --signer-socket). Same: --full-backup-dir=DIR\n"
      "  restore --from DIR --audit-key FILE [--force]\n"
      "                   verify the backup's seal with the pinned audit key\n"
      "                   FILE (the signer's <key-dir>/audit.pub) and every\n"
      "                   file's SHA-256, refuse a tampered one, then restore\n"
      "                   into the configured database (which must hold no\n"
      "                   Vigil tables; --force moves an existing schema\n"
      "                   aside as vigil_replaced_<epoch>), migrate, empty\n"
      "                   crl_cache and ocsp_presign, verify the audit chain\n"
      "                   and, with --redis-url, resync Redis.\n"
      "                   Same: --restore-from=DIR\n"
      "                   (docs/runbooks/disaster-recovery.md)\n"
      "\n"
      "Exit status: 0 success, 1 failure, 2 usage or configuration error,\n"
      "3 database unavailable.\n"
      "\nOptions:\n");
  vigil_conf_help(f, ctl_config_table, ctl_config_table_len, CTL_ENV_PREFIX);
}

static int exit_for_db(enum ctl_db_status st) {
  return st == CTL_DB_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_FAILED;
}

static int cmd_migrate(struct ctl_db *db, const struct ctl_config *cfg,
                       const struct vigil_log *log, int status_only) {
  struct ctl_migrate_report *rep = vigil_calloc(1, sizeof(*rep));
  if (rep == NULL) {
    fprintf(stderr, "vigil-control: out of memory\n");
    return EXIT_FAILED;
  }
  int rc = EXIT_OK;
  enum ctl_migrate_result r =
      ctl_migrate_run(db, rep, log, cfg->migrations_dir, status_only);
  if (r != CTL_MIGRATE_OK) {
    fprintf(stderr, "vigil-control: migrate: %s\n", rep->error);
    rc = r == CTL_MIGRATE_UNAVAILABLE ? EXIT_UNAVAILABLE : EXIT_FAILED;
    if (r == CTL_MIGRATE_BAD_DIR) {
      rc = EXIT_USAGE;
    }
    if (rep->num_applied_now > 0) {
      fprintf(stderr,
              "vigil-control: migrate: %zu migration(s) were applied before "
              "the failure; schema at version %d\n",
              rep->num_applied_now, rep->schema_version);
    }
    goto done;
  }
  if (status_only) {
    size_t pending = 0;
    for (size_t i = 0; i < rep->num_entries; i++) {
      const struct ctl_migrate_entry *e = &rep->entries[i];
      printf("%-40s %s\n", e->name, e->applied ? "applied" : "pending");
      pending += !e->applied;
    }
    printf("schema at version %d; %zu pending\n", rep->schema_version, pending);
    goto done;
  }
  for (size_t i = 0; i < rep->num_entries; i++) {
    const struct ctl_migrate_entry *e = &rep->entries[i];
    if (e->applied_now) {
      printf("applied %s (%lld ms)\n", e->name, (long long)e->duration_ms);
    }
  }
  if (rep->num_applied_now == 0) {
    printf("schema is up to date at version %d (%zu migrations)\n",
           rep->schema_version, rep->num_entries);
  } else {
    printf("schema at version %d (%zu applied now)\n", rep->schema_version,
           rep->num_applied_now);
  }

done:
  vigil_free(rep);
  return rc;
}

static int cmd_resync(const struct ctl_config *cfg,
                      const struct ctl_db_options *opts,
                      const struct vigil_log *log) {
  struct ctl_resync_report rep;
  enum ctl_resync_result r = ctl_resync(&rep, cfg, opts, log);
  if (r != CTL_RESYNC_OK) {
    fprintf(stderr, "vigil-control: resync: %s\n", rep.error);
    return r == CTL_RESYNC_CONFIG        ? EXIT_USAGE
           : r == CTL_RESYNC_UNAVAILABLE ? EXIT_UNAVAILABLE
                                         : EXIT_FAILED;
  }
  printf(
      "mirror rebuilt: %llu issuers, %llu responses (%llu left to newer "
      "revocations), %llu CRLs; v1:mirror %lld\n",
      (unsigned long long)rep.num_issuers,
      (unsigned long long)rep.num_responses,
      (unsigned long long)rep.num_skipped, (unsigned long long)rep.num_crls,
      (long long)rep.mirror);
  return EXIT_OK;
}

static int cmd_audit_verify(struct ctl_db *db) {
  struct ctl_audit_report rep;
  enum ctl_db_status st = ctl_audit_verify(db, &rep);
  if (st != CTL_DB_OK) {
    fprintf(stderr, "vigil-control: audit-verify: %s\n",
            ctl_db_last_error(db)->message);
    return exit_for_db(st);
  }
  char hex[2 * CTL_AUDIT_HASH_LEN + 1];
  vigil_hex_encode(hex, rep.last_hash, sizeof(rep.last_hash));
  if (!rep.intact) {
    printf("audit chain BROKEN at event %lld: %s\n", (long long)rep.broken_id,
           rep.reason);
    printf(
        "(%lld events verified before the break; last good event %lld, "
        "hash %s)\n",
        (long long)rep.num_events, (long long)rep.last_id, hex);
    return EXIT_FAILED;
  }
  printf("audit chain intact: %lld events, last event %lld, head hash %s\n",
         (long long)rep.num_events, (long long)rep.last_id, hex);
  return EXIT_OK;
}

/* The backup and restore options: not configuration (they name one run's
 * input and output), so they are taken out of argv before the
 * configuration table sees it. */
struct backup_args {
  const char *dir;       /* backup --dir / --full-backup-dir */
  const char *from;      /* restore --from / --restore-from */
  const char *audit_key; /* restore --audit-key */
  int force;             /* restore --force */
  int full_backup;       /* --full-backup-dir was given */
  int restore;           /* --restore-from was given */
};

#define MAX_ARGV 256

/* take_value matches --|name|=V or --|name| V at argv[*i]; sets *out and
 * advances *i past a separate value. Returns 1 on a match, -1 when the
 * value is missing, 0 otherwise. */
static int take_value(const char **out, int *i, int argc, char **argv,
                      const char *name) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) {
    return 0;
  }
  if (a[2 + n] == '=') {
    *out = a + 3 + n;
    return 1;
  }
  if (a[2 + n] != '\0') {
    return 0;
  }
  if (*i + 1 >= argc) {
    return -1;
  }
  *i += 1;
  *out = argv[*i];
  return 1;
}

/* split_backup_args moves the backup options from argv into |ba| and the
 * rest into |out_argv| (room for MAX_ARGV + 1). Returns 1, or 0 with a
 * message on stderr. */
static int split_backup_args(struct backup_args *ba, char **out_argv,
                             int *out_argc, int argc, char **argv) {
  int n = 0;
  memset(ba, 0, sizeof(*ba));
  if (argc > MAX_ARGV) {
    fprintf(stderr, "vigil-control: too many arguments\n");
    return 0;
  }
  for (int i = 0; i < argc; i++) {
    static const char *const names[] = { "dir", "full-backup-dir", "from",
                                         "restore-from", "audit-key" };
    const char **dst[] = { &ba->dir, &ba->dir, &ba->from, &ba->from,
                           &ba->audit_key };
    int matched = 0;
    if (i > 0 && strcmp(argv[i], "--force") == 0) {
      ba->force = 1;
      continue;
    }
    for (size_t k = 0; i > 0 && k < sizeof(names) / sizeof(names[0]); k++) {
      int r = take_value(dst[k], &i, argc, argv, names[k]);
      if (r < 0) {
        fprintf(stderr, "vigil-control: --%s needs a value\n", names[k]);
        return 0;
      }
      if (r > 0) {
        ba->full_backup |= k == 1;
        ba->restore |= k == 3;
        matched = 1;
        break;
      }
    }
    if (!matched) {
      out_argv[n++] = argv[i];
    }
  }
  out_argv[n] = NULL;
  *out_argc = n;
  return 1;
}

static int cmd_backup(const struct ctl_config *cfg,
                      const struct ctl_db_options *opts,
                      const struct vigil_log *log, const struct backup_args *ba,
                      int restore) {
  enum ctl_backup_result r;
  if (restore) {
    struct ctl_restore_options ro;
    memset(&ro, 0, sizeof(ro));
    ro.dir = ba->from;
    ro.audit_key = ba->audit_key;
    ro.force = ba->force;
    r = ctl_backup_restore(stdout, cfg, opts, log, &ro);
  } else {
    r = ctl_backup_write(stdout, cfg, opts, log, ba->dir);
  }
  return r == CTL_BACKUP_OK            ? EXIT_OK
         : r == CTL_BACKUP_USAGE       ? EXIT_USAGE
         : r == CTL_BACKUP_UNAVAILABLE ? EXIT_UNAVAILABLE
                                       : EXIT_FAILED;
}

int main(int argc, char **argv) {
  struct ctl_config cfg;
  struct vigil_log log;
  char err[512];
  const char *args[4];
  size_t num_args = 0;
  struct backup_args ba;
  char *conf_argv[MAX_ARGV + 1];
  int conf_argc = 0;
  vigil_log_init(&log, "vigil-control");
  if (!split_backup_args(&ba, conf_argv, &conf_argc, argc, argv)) {
    return EXIT_USAGE;
  }
  enum vigil_conf_result cr = vigil_conf_load(
      &cfg, sizeof(cfg), err, sizeof(err), args, 4, &num_args, ctl_config_table,
      ctl_config_table_len, CTL_ENV_PREFIX, conf_argc, conf_argv);
  if (cr == VIGIL_CONF_HELP) {
    usage(stdout);
    return EXIT_OK;
  }
  if (cr == VIGIL_CONF_VERSION) {
    printf("vigil-control %s\n", VIGIL_VERSION);
    return EXIT_OK;
  }
  if (cr != VIGIL_CONF_OK) {
    fprintf(stderr, "vigil-control: %s\n", err);
    return EXIT_USAGE;
  }
  if (!vigil_log_parse_level(&log.level, cfg.log_level)) {
    fprintf(stderr, "vigil-control: log-level: unknown level \"%s\"\n",
            cfg.log_level);
    return EXIT_USAGE;
  }
  log.json = cfg.log_json;
  if (!ctl_config_check(err, sizeof(err), &cfg)) {
    fprintf(stderr, "vigil-control: %s\n", err);
    return EXIT_USAGE;
  }
  if (ba.full_backup || ba.restore) {
    /* The seed's spellings: the option is the command. */
    if (num_args != 0 || (ba.full_backup && ba.restore)) {
      fprintf(stderr,
              "vigil-control: --full-backup-dir and --restore-from "
              "take no command and exclude each other\n");
      return EXIT_USAGE;
    }
    args[0] = ba.full_backup ? "backup" : "restore";
    num_args = 1;
  }
  if (num_args == 0) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *cmd = args[0];
  int is_backup = strcmp(cmd, "backup") == 0;
  int is_restore = strcmp(cmd, "restore") == 0;
  if ((ba.dir != NULL && !is_backup) ||
      ((ba.from != NULL || ba.audit_key != NULL || ba.force) && !is_restore)) {
    fprintf(stderr,
            "vigil-control: --dir belongs to backup; --from, "
            "--audit-key and --force to restore\n");
    return EXIT_USAGE;
  }
  int known = (strcmp(cmd, "migrate") == 0 && num_args <= 2) ||
              (strcmp(cmd, "audit-verify") == 0 && num_args == 1) ||
              (strcmp(cmd, "serve") == 0 && num_args == 1) ||
              (strcmp(cmd, "resync") == 0 && num_args == 1) ||
              ((is_backup || is_restore) && num_args == 1) ||
              strcmp(cmd, "selftest") == 0;
  if (strcmp(cmd, "migrate") == 0 && num_args == 2 &&
      strcmp(args[1], "status") != 0) {
    known = 0;
  }
  if (!known) {
    fprintf(stderr, "vigil-control: unknown command \"%s\" (see --help)\n",
            cmd);
    return EXIT_USAGE;
  }
  if (cfg.database_url[0] == '\0') {
    fprintf(stderr,
            "vigil-control: database-url is not set (--database-url, "
            "database-url in the config file, or %sDATABASE_URL)\n",
            CTL_ENV_PREFIX);
    return EXIT_USAGE;
  }
  struct ctl_db_options opts;
  memset(&opts, 0, sizeof(opts));
  opts.conninfo = cfg.database_url;
  opts.connect_timeout = (int)cfg.db_connect_timeout;
  opts.application_name = "vigil-control";
  opts.log = &log;

  int rc;
  if (strcmp(cmd, "selftest") == 0) {
    /* Hidden: tests only (writes test rows). */
    rc = ctl_selftest_main(&opts, num_args - 1, args + 1);
    return rc;
  }
  if (strcmp(cmd, "serve") == 0) {
    enum ctl_api_result ar = ctl_api_serve(&cfg, &opts, &log);
    return ar == CTL_API_OK            ? EXIT_OK
           : ar == CTL_API_CONFIG      ? EXIT_USAGE
           : ar == CTL_API_UNAVAILABLE ? EXIT_UNAVAILABLE
                                       : EXIT_FAILED;
  }
  if (strcmp(cmd, "resync") == 0) {
    return cmd_resync(&cfg, &opts, &log);
  }
  if (is_backup || is_restore) {
    return cmd_backup(&cfg, &opts, &log, &ba, is_restore);
  }
  struct ctl_db *db = ctl_db_new(&opts);
  if (db == NULL) {
    fprintf(stderr, "vigil-control: out of memory\n");
    return EXIT_FAILED;
  }
  if (strcmp(cmd, "migrate") == 0) {
    rc = cmd_migrate(db, &cfg, &log, num_args == 2);
  } else {
    rc = cmd_audit_verify(db);
  }
  ctl_db_free(db);
  return rc;
}
