/* cli_args.h: vigilctl's declarative command and option tables.
 *
 * Every command is one row of a table (cli_cmds.c): its words, its
 * positional arguments, its options with their help lines, and the function
 * that runs it. The same rows drive parsing, `vigilctl --help`,
 * `vigilctl GROUP --help` and `vigilctl GROUP VERB --help`, so the help
 * cannot drift from what the parser accepts (pgbouncer's config table).
 *
 * Parsing allocates nothing: parsed values are borrowed from argv and held
 * in a fixed-size struct (at most CLI_MAX_VALUES option values, CLI_MAX_POS
 * positional arguments; more is a usage error). */
#ifndef CLI_ARGS_H
#define CLI_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include "cli_http.h"

#define CLI_MAX_VALUES 64
#define CLI_MAX_POS    4

/* Exit statuses (documented in --help and docs/cli.md). */
enum cli_exit {
  CLI_EXIT_OK = 0,          /* success */
  CLI_EXIT_API = 1,         /* the API refused the request (4xx) */
  CLI_EXIT_USAGE = 2,       /* bad command line or local input */
  CLI_EXIT_UNAVAILABLE = 3, /* cannot connect, TLS failure, timeout, 5xx */
  CLI_EXIT_AUTH = 4,        /* 401 or 403 */
};

enum cli_opt_kind {
  CLI_OPT_FLAG,  /* --name, no value */
  CLI_OPT_VALUE, /* --name VALUE or --name=VALUE; the last one wins */
  CLI_OPT_LIST,  /* like VALUE, but repeatable; every value kept */
};

/* One option of a command (or of every command: the global table). */
struct cli_opt {
  const char *name;       /* without the leading "--" */
  enum cli_opt_kind kind; /* how many values it takes */
  const char *metavar;    /* value placeholder for help ("FILE"), or NULL */
  const char *help;       /* one line for --help */
};

/* Parsed command line: borrowed pointers into argv. */
struct cli_parsed {
  const struct cli_opt *opt[CLI_MAX_VALUES]; /* which option each value is */
  const char *value[CLI_MAX_VALUES];         /* its value ("" for a flag) */
  size_t num_values;                         /* entries used in opt/value */
  const char *pos[CLI_MAX_POS];              /* positional arguments in order */
  size_t num_pos;                            /* entries used in pos */
};

struct cli_ctx;

/* One command: `vigilctl GROUP [VERB] POS... [OPTIONS]`. */
struct cli_cmd {
  const char *group;          /* "certificates" */
  const char *verb;           /* "create", or NULL for one-word commands */
  const char *pos_usage;      /* positional usage ("ID"), or "" */
  size_t num_pos;             /* exact number of positional arguments */
  const char *summary;        /* one line for the command list */
  const char *details;        /* extra help paragraph, or NULL */
  const struct cli_opt *opts; /* command options, NULL-name terminated */
  /* Runs the command; |cmd| is this row (for usage errors). */
  int (*run)(struct cli_ctx *ctx, const struct cli_cmd *cmd,
             const struct cli_parsed *p);
  int offline; /* 1: needs no server, URL or token (local file checks) */
};

/* What the user asked for at the top level. */
enum cli_parse_result {
  CLI_PARSE_RUN = 0, /* run *out_cmd with *out */
  CLI_PARSE_HELP,    /* help printed to stdout: exit 0 */
  CLI_PARSE_VERSION, /* print the version: exit 0 */
  CLI_PARSE_USAGE,   /* a usage error was printed to stderr: exit 2 */
};

/* cli_args_parse finds the command in |cmds| (|num_cmds| rows) named by
 * argv and parses global options (|global|, NULL-name terminated, accepted
 * anywhere) and the command's options into |out|. Prints help or a usage
 * error itself; |tool_help| opens the tool-level help. On CLI_PARSE_RUN
 * |*out_cmd| is the matched row; otherwise |out| is unspecified. */
enum cli_parse_result cli_args_parse(
    struct cli_parsed *out, const struct cli_cmd **out_cmd,
    const struct cli_cmd *cmds, size_t num_cmds, const struct cli_opt *global,
    const char *tool_help, int argc, char **argv) CLI_MUST_CHECK;

/* cli_args_get returns the last value given for option |name|, or NULL if
 * it was not given ("" for a given flag). */
const char *cli_args_get(const struct cli_parsed *p, const char *name);

/* cli_args_count returns how many values option |name| received. */
size_t cli_args_count(const struct cli_parsed *p, const char *name);

/* cli_args_nth returns the |n|th (0-based) value of option |name|, or
 * NULL. */
const char *cli_args_nth(const struct cli_parsed *p, const char *name,
                         size_t n);

/* cli_args_usage_error prints "vigilctl: MESSAGE" and a hint to run
 * --help for |cmd| to stderr and returns CLI_EXIT_USAGE. */
int cli_args_usage_error(const struct cli_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_args_parse_long parses |s| as a decimal integer in [min, max] into
 * |*out|. Returns 1, or 0 if it is not one. */
int cli_args_parse_long(long *out, const char *s, long min,
                        long max) CLI_MUST_CHECK;

#endif /* CLI_ARGS_H */
