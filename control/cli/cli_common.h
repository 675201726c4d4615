/* cli_common.h: what every vigilctl command file shares — the one API
 * call (cli_api_call), printing answers for humans, Idempotency-Keys and
 * small helpers to build JSON bodies from options.
 *
 * Command files (cli_cmds.c and the cli_<group>.c files) each export a
 * table of rows (cli_args.h struct cli_cmd); main.c joins them. A command
 * checks its arguments locally (a usage error costs no round trip), makes
 * its calls through cli_api_call, prints the result and returns a
 * cli_exit status. Strings from the server are printed through
 * cli_put_safe (control characters replaced): names are free text and must
 * not be able to drive the operator's terminal. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "cli_args.h"
#include "cli_cmds.h"
#include "cli_http.h"

#define PROG "vigilctl"

/* Option rows every write command has, and the table terminator. */
#define CLI_IDEMPOTENCY_OPT                                               \
  {                                                                       \
    "idempotency-key", CLI_OPT_VALUE, "KEY",                              \
        "Idempotency-Key for this write (default: random); a retry with " \
        "the same key returns the first answer"                           \
  }
#define CLI_END_OPT \
  { NULL, CLI_OPT_FLAG, NULL, NULL }

/* An answer: the raw response and, when it is JSON, its parse. */
struct cli_reply {
  struct cli_http_response http; /* owned */
  json_t *json;                  /* owned, or NULL if not JSON */
};

/* cli_reply_cleanup releases |r|'s contents (it may be reused). */
void cli_reply_cleanup(struct cli_reply *r);

/* cli_api_call makes one request (|body| may be NULL; |idem_key| NULL for
 * reads) and maps the answer to an exit status: 2xx → CLI_EXIT_OK with
 * |out| filled; 401/403 → CLI_EXIT_AUTH; other 4xx (and anything
 * unexpected) → CLI_EXIT_API; 5xx, transport failures and oversized
 * answers → CLI_EXIT_UNAVAILABLE. Errors are printed here. Whatever the
 * outcome, |out| must be cleaned up by the caller (on a non-2xx answer it
 * holds the response for inspection). */
int cli_api_call(struct cli_ctx *ctx, struct cli_reply *out, const char *method,
                 const char *path, const json_t *body, const char *idem_key);

/* cli_print_reply prints a 2xx object answer: as-is with --json, else
 * "key: value" lines without the members in |skip| (NULL-terminated, or
 * NULL). */
void cli_print_reply(const struct cli_ctx *ctx, const struct cli_reply *r,
                     const char *const *skip);

/* cli_print_object prints every member of |obj| as "key: value", except
 * those in |skip|. */
void cli_print_object(const json_t *obj, const char *const *skip);

/* One column of a list table: header and the member it shows. */
struct cli_column {
  const char *header; /* printed as given (upper case by convention) */
  const char *key;    /* member of each item */
};

/* cli_print_table prints |items| (an array of objects) as a table of
 * |cols| (at most 8 columns are shown). */
void cli_print_table(const json_t *items, const struct cli_column *cols,
                     size_t num_cols);

/* cli_print_list prints a list answer {"items": [...], "next": ...}: the
 * raw JSON with --json (or when it has no "items" array), else a table of
 * |cols| and, when "next" is set and |page_opt| is not NULL, the hint
 * "(more: --<page_opt> <next>)". */
void cli_print_list(const struct cli_ctx *ctx, const struct cli_reply *r,
                    const struct cli_column *cols, size_t num_cols,
                    const char *page_opt);

/* cli_get_list GETs |path| and prints the list answer as cli_print_list
 * does (|cols|, |num_cols|, |page_opt|). Returns the exit code of the call
 * (CLI_EXIT_OK when printed). */
int cli_get_list(struct cli_ctx *ctx, const char *path,
                 const struct cli_column *cols, size_t num_cols,
                 const char *page_opt);

/* cli_print_raw writes the raw body (the --json form) with a final
 * newline. */
void cli_print_raw(const struct cli_http_response *r);

/* cli_put_safe prints |s| with control characters (and DEL) as '?'. */
void cli_put_safe(FILE *f, const char *s);

/* cli_put_value prints a JSON value for humans: strings bare, null as "-",
 * others compact JSON. */
void cli_put_value(FILE *f, const json_t *v);

/* cli_idempotency_key picks the Idempotency-Key for a write:
 * --idempotency-key K (1..255 printable ASCII) or a random one written to
 * |buf|. Returns the key, or NULL after printing a usage error. */
const char *cli_idempotency_key(const struct cli_cmd *cmd,
                                const struct cli_parsed *p, char buf[33]);

/* cli_read_small_file reads a whole file of at most |max| bytes into a
 * NUL-terminated buffer (free with vigil_free). Returns it, or NULL after
 * printing why. */
char *cli_read_small_file(const char *path, size_t max);

/* cli_add_query appends "?key=value" or "&key=value" (escaped; nothing
 * when |value| is NULL) to |path|. Returns 1, or 0 after a usage error. */
int cli_add_query(const struct cli_cmd *cmd, char *path, size_t path_len,
                  const char *key, const char *value);

/* cli_id_path builds "prefix/{escaped id}suffix" into |path|. Returns 1,
 * or 0 after a usage error. */
int cli_id_path(const struct cli_cmd *cmd, char *path, size_t path_len,
                const char *prefix, const char *id, const char *suffix);

/* cli_set_str sets obj[key] = |value| when |value| is non-NULL. Returns 1,
 * or 0 on out-of-memory. */
int cli_set_str(json_t *obj, const char *key, const char *value);

/* cli_set_list sets obj[key] to the array of every value of list option
 * |opt| (only if any were given). Returns 1, or 0 on out-of-memory. */
int cli_set_list(json_t *obj, const char *key, const struct cli_parsed *p,
                 const char *opt);

/* cli_set_int_opt parses option |name| (if given) as an integer in
 * [min, max] into obj[key]. Returns 1, or 0 after a usage error or out of
 * memory. */
int cli_set_int_opt(const struct cli_cmd *cmd, json_t *obj, const char *key,
                    const struct cli_parsed *p, const char *name, long min,
                    long max);

/* cli_oom prints "out of memory" and returns CLI_EXIT_UNAVAILABLE. */
int cli_oom(void);

#endif /* CLI_COMMON_H */
