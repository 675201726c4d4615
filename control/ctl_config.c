/* ctl_config.c: the vigil-control configuration table (see ctl_config.h). */
#include "ctl_config.h"

#include <stddef.h>

#ifndef VIGIL_MIGRATIONS_DIR
#define VIGIL_MIGRATIONS_DIR "migrations"
#endif

#define S(field)   offsetof(struct ctl_config, field)
#define STR(field) S(field), sizeof(((struct ctl_config *)0)->field)

const struct vigil_conf_item ctl_config_table[] = {
  { "database-url", VIGIL_CONF_STRING, STR(database_url), "", 0, 0,
    "Postgres connection URL (postgresql://user@host:port/db) or libpq "
    "key=value string; required" },
  { "db-connect-timeout", VIGIL_CONF_DURATION, S(db_connect_timeout), 0, "5s",
    2, 300, "time allowed for one connection attempt" },
  { "migrations-dir", VIGIL_CONF_STRING, STR(migrations_dir),
    VIGIL_MIGRATIONS_DIR, 0, 0,
    "directory of the NNNN_name.sql schema migrations" },
  { "log-level", VIGIL_CONF_STRING, STR(log_level), "info", 0, 0,
    "error, warn, info or debug" },
  { "log-json", VIGIL_CONF_BOOL, S(log_json), 0, "false", 0, 1,
    "log JSON lines instead of text" },
};

const size_t ctl_config_table_len =
    sizeof(ctl_config_table) / sizeof(ctl_config_table[0]);
