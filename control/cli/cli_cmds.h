/* cli_cmds.h: vigilctl's commands, one table row each (docs/cli.md).
 *
 * Each command turns its parsed arguments into one REST call (docs/api.md),
 * prints the answer (the server's JSON as-is with --json, a short human
 * form otherwise) and returns the exit status of cli_args.h. */
#ifndef CLI_CMDS_H
#define CLI_CMDS_H

#include <stddef.h>

#include "cli_args.h"
#include "cli_http.h"

/* Everything a command needs; built by main, borrowed by commands. */
struct cli_ctx {
  struct cli_http_config http; /* where and how to call the API */
  int json;                    /* 1: print the server's JSON as-is */
};

/* The command tables: each command file exports its rows; main.c joins
 * them (at most CLI_MAX_CMDS rows in all). */
#define CLI_MAX_CMDS 64
extern const struct cli_cmd cli_core_cmds[]; /* cli_cmds.c */
extern const size_t cli_core_num_cmds;
extern const struct cli_cmd cli_graph_cmds[]; /* cli_graph.c */
extern const size_t cli_graph_num_cmds;
extern const struct cli_cmd cli_incident_cmds[]; /* cli_incident.c */
extern const size_t cli_incident_num_cmds;
extern const struct cli_cmd cli_approval_cmds[]; /* cli_approval.c */
extern const size_t cli_approval_num_cmds;
extern const struct cli_cmd cli_hook_cmds[]; /* cli_hook.c */
extern const size_t cli_hook_num_cmds;
extern const struct cli_cmd cli_access_cmds[]; /* cli_access.c */
extern const size_t cli_access_num_cmds;

/* The global options (accepted before or after any command). */
extern const struct cli_opt cli_global_opts[];

#endif /* CLI_CMDS_H */
