/* conf.h: declarative configuration tables.
 *
 * Each program describes its configuration once, as a table of items (key,
 * type, where it lands in the program's config struct, default, bounds,
 * help). That one table drives defaults, the config file, environment
 * variables, command-line flags, --help and the config dump, so they cannot
 * disagree (pgbouncer's main.c does the same).
 *
 * Values land in a plain struct with fixed-size string fields: a loaded
 * config owns no heap memory, can be copied, and is treated as immutable.
 * A reload builds a new struct and swaps it in; a failed load leaves the
 * caller's struct untouched.
 *
 * Precedence, lowest first: default, config file (--config=FILE or
 * -c FILE; lines "key = value", '#' comments), environment ({PREFIX}{KEY}
 * upper-cased, '-' and '.' as '_'), command line (--key=value or --key
 * value; --flag for booleans). No crypto: every program may link this. */
#ifndef VIGIL_CONF_H
#define VIGIL_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vigil_conf_type {
  VIGIL_CONF_STRING,   /* char[size] at offset; size from the item */
  VIGIL_CONF_INT,      /* int64_t; decimal, within [min, max] */
  VIGIL_CONF_BOOL,     /* int; true/false/yes/no/on/off/1/0 */
  VIGIL_CONF_DURATION, /* int64_t seconds; suffix s, m, h, d (none = s) */
  VIGIL_CONF_SIZE,     /* int64_t bytes; suffix K, M, G (binary) */
};

struct vigil_conf_item {
  const char *key;           /* "listen-port" */
  enum vigil_conf_type type; /* how the value is parsed */
  size_t offset;             /* offsetof(struct program_config, field) */
  size_t size;               /* STRING only: the field's size in bytes */
  const char *def;           /* default, as text (NULL: empty / 0) */
  int64_t min;               /* INT/DURATION/SIZE bounds (inclusive) */
  int64_t max;
  const char *help; /* one line for --help */
};

/* Outcome of vigil_conf_load. */
enum vigil_conf_result {
  VIGIL_CONF_OK = 0,
  VIGIL_CONF_HELP,    /* --help was given: caller prints help, exits 0 */
  VIGIL_CONF_VERSION, /* --version was given */
  VIGIL_CONF_ERROR,   /* |err| says what and where */
};

/* vigil_conf_load fills |out| (the program's config struct, |out_size|
 * bytes) from |table| (|num_items| items): defaults, then the config file,
 * then environment variables starting with |env_prefix| (e.g.
 * "VIGIL_EDGE_"; NULL for none), then |argc|/|argv| (argv[0] skipped).
 * Non-option arguments are an error unless |out_args| is non-NULL, in
 * which case they are stored there (borrowed from argv, at most
 * |max_args|) and counted in |*out_num_args|. On VIGIL_CONF_ERROR |err|
 * (|err_len| bytes) holds a message naming the key and source, and |out|
 * is unchanged. */
enum vigil_conf_result vigil_conf_load(void *out, size_t out_size, char *err,
                                       size_t err_len, const char **out_args,
                                       size_t max_args, size_t *out_num_args,
                                       const struct vigil_conf_item *table,
                                       size_t num_items, const char *env_prefix,
                                       int argc, char **argv);

/* vigil_conf_set parses |value| for |key| into |out|. Returns 1 on
 * success; 0 with |err| set on an unknown key or invalid value. */
int vigil_conf_set(void *out, char *err, size_t err_len,
                   const struct vigil_conf_item *table, size_t num_items,
                   const char *key, const char *value);

/* vigil_conf_help writes the options table (key, type, default, help) to
 * |f|. */
void vigil_conf_help(FILE *f, const struct vigil_conf_item *table,
                     size_t num_items, const char *env_prefix);

/* vigil_conf_dump writes "key = value" for every item of |conf| to |f|, in
 * a form vigil_conf_load reads back. */
void vigil_conf_dump(FILE *f, const void *conf,
                     const struct vigil_conf_item *table, size_t num_items);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CONF_H */
