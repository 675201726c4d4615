/* ctl_config.h: vigil-control's configuration, one declarative table
 * (vigil/conf.h) driving defaults, the config file, VIGIL_CONTROL_*
 * environment variables, command-line options, --help and the dump. */
#ifndef VIGIL_CTL_CONFIG_H
#define VIGIL_CTL_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CTL_ENV_PREFIX "VIGIL_CONTROL_"

/* The loaded configuration; immutable once loaded. */
struct ctl_config {
  char database_url[1024];    /* libpq URL or key=value string */
  int64_t db_connect_timeout; /* seconds per connection attempt */
  char migrations_dir[1024];  /* NNNN_name.sql files */
  char log_level[16];         /* error, warn, info, debug */
  int log_json;               /* 1: JSON log lines */
};

extern const struct vigil_conf_item ctl_config_table[];
extern const size_t ctl_config_table_len;

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_CONFIG_H */
