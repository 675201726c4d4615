/* conf.c: declarative configuration tables (see vigil/conf.h). */
#include "vigil/conf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/alloc.h"
#include "vigil/log.h"

/* Longest config file accepted and longest line in it. */
#define CONF_MAX_FILE (1024 * 1024)
#define CONF_MAX_LINE 4096

static void set_err(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...) {
  if (err == NULL || err_len == 0) {
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
}

static const struct vigil_conf_item *find_item(
    const struct vigil_conf_item *table, size_t num_items, const char *key,
    size_t key_len) {
  for (size_t i = 0; i < num_items; i++) {
    if (strlen(table[i].key) == key_len &&
        memcmp(table[i].key, key, key_len) == 0) {
      return &table[i];
    }
  }
  return NULL;
}

/* parse_int64 parses a decimal integer with an optional '-' and a suffix
 * scale taken from |suffixes| (pairs of char and multiplier). */
static int parse_scaled(int64_t *out, const char *value, const char *suffixes,
                        const int64_t *mults) {
  const char *p = value;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  if (*p < '0' || *p > '9') {
    return 0;
  }
  int64_t v = 0;
  while (*p >= '0' && *p <= '9') {
    int d = *p - '0';
    if (v > (INT64_MAX - d) / 10) {
      return 0;
    }
    v = v * 10 + d;
    p++;
  }
  int64_t mult = 1;
  if (*p != '\0') {
    const char *s = suffixes == NULL ? NULL : strchr(suffixes, *p);
    if (s == NULL || p[1] != '\0') {
      return 0;
    }
    mult = mults[s - suffixes];
  }
  if (mult != 1 && v > INT64_MAX / mult) {
    return 0;
  }
  v *= mult;
  *out = neg ? -v : v;
  return 1;
}

static int parse_bool(int *out, const char *v) {
  static const char *const kTrue[] = { "1", "true", "yes", "on" };
  static const char *const kFalse[] = { "0", "false", "no", "off" };
  for (size_t i = 0; i < 4; i++) {
    if (strcmp(v, kTrue[i]) == 0) {
      *out = 1;
      return 1;
    }
    if (strcmp(v, kFalse[i]) == 0) {
      *out = 0;
      return 1;
    }
  }
  return 0;
}

/* apply parses |value| into the field of |item| in |out|. */
static int apply(void *out, char *err, size_t err_len,
                 const struct vigil_conf_item *item, const char *value) {
  uint8_t *base = out;
  static const int64_t kDurMults[] = { 1, 60, 3600, 86400 };
  static const int64_t kSizeMults[] = { 1024, 1024 * 1024, 1024 * 1024 * 1024 };
  int64_t v = 0;
  switch (item->type) {
    case VIGIL_CONF_STRING: {
      size_t len = strlen(value);
      if (len >= item->size) {
        set_err(err, err_len, "%s: value longer than %zu bytes", item->key,
                item->size - 1);
        return 0;
      }
      memcpy(base + item->offset, value, len + 1);
      return 1;
    }
    case VIGIL_CONF_BOOL: {
      int b;
      if (!parse_bool(&b, value)) {
        set_err(err, err_len, "%s: expected true or false, got \"%s\"",
                item->key, value);
        return 0;
      }
      memcpy(base + item->offset, &b, sizeof(b));
      return 1;
    }
    case VIGIL_CONF_INT:
      if (!parse_scaled(&v, value, NULL, NULL)) {
        set_err(err, err_len, "%s: expected an integer, got \"%s\"", item->key,
                value);
        return 0;
      }
      break;
    case VIGIL_CONF_DURATION:
      if (!parse_scaled(&v, value, "smhd", kDurMults)) {
        set_err(err, err_len,
                "%s: expected a duration like 30s, 10m, 96h, 7d; got \"%s\"",
                item->key, value);
        return 0;
      }
      break;
    case VIGIL_CONF_SIZE:
      if (!parse_scaled(&v, value, "KMG", kSizeMults)) {
        set_err(err, err_len,
                "%s: expected a size like 8192, 64K, 512M, 4G; got \"%s\"",
                item->key, value);
        return 0;
      }
      break;
  }
  if (v < item->min || v > item->max) {
    set_err(err, err_len, "%s: %lld is outside %lld..%lld", item->key,
            (long long)v, (long long)item->min, (long long)item->max);
    return 0;
  }
  memcpy(base + item->offset, &v, sizeof(v));
  return 1;
}

int vigil_conf_set(void *out, char *err, size_t err_len,
                   const struct vigil_conf_item *table, size_t num_items,
                   const char *key, const char *value) {
  const struct vigil_conf_item *item =
      find_item(table, num_items, key, strlen(key));
  if (item == NULL) {
    set_err(err, err_len, "unknown setting \"%s\"", key);
    return 0;
  }
  return apply(out, err, err_len, item, value);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') {
    s++;
  }
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                   s[n - 1] == '\n')) {
    s[--n] = '\0';
  }
  return s;
}

static int load_file(void *out, char *err, size_t err_len,
                     const struct vigil_conf_item *table, size_t num_items,
                     const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    char msg[128];
    set_err(err, err_len, "%s: cannot open: %s", path,
            vigil_strerror(errno, msg, sizeof(msg)));
    return 0;
  }
  char line[CONF_MAX_LINE];
  size_t lineno = 0;
  size_t total = 0;
  int ok = 1;
  while (fgets(line, sizeof(line), f) != NULL) {
    lineno++;
    size_t n = strlen(line);
    total += n;
    if (total > CONF_MAX_FILE ||
        (n == sizeof(line) - 1 && line[n - 1] != '\n')) {
      set_err(err, err_len, "%s:%zu: line or file too long", path, lineno);
      ok = 0;
      break;
    }
    char *s = trim(line);
    if (*s == '\0' || *s == '#') {
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
      set_err(err, err_len, "%s:%zu: expected \"key = value\"", path, lineno);
      ok = 0;
      break;
    }
    *eq = '\0';
    char *key = trim(s);
    char *value = trim(eq + 1);
    char inner[256];
    if (!vigil_conf_set(out, inner, sizeof(inner), table, num_items, key,
                        value)) {
      set_err(err, err_len, "%s:%zu: %s", path, lineno, inner);
      ok = 0;
      break;
    }
  }
  fclose(f);
  return ok;
}

/* env_name builds PREFIX + KEY upper-cased with '-' and '.' as '_'. */
static int env_name(char *out, size_t out_len, const char *prefix,
                    const char *key) {
  size_t pl = strlen(prefix);
  size_t kl = strlen(key);
  if (pl + kl + 1 > out_len) {
    return 0;
  }
  memcpy(out, prefix, pl);
  for (size_t i = 0; i < kl; i++) {
    char c = key[i];
    if (c >= 'a' && c <= 'z') {
      c = (char)(c - 'a' + 'A');
    } else if (c == '-' || c == '.') {
      c = '_';
    }
    out[pl + i] = c;
  }
  out[pl + kl] = '\0';
  return 1;
}

enum vigil_conf_result vigil_conf_load(void *out, size_t out_size, char *err,
                                       size_t err_len, const char **out_args,
                                       size_t max_args, size_t *out_num_args,
                                       const struct vigil_conf_item *table,
                                       size_t num_items, const char *env_prefix,
                                       int argc, char **argv) {
  enum vigil_conf_result result = VIGIL_CONF_ERROR;
  size_t num_args = 0;
  const char *config_file = NULL;
  /* Build into a scratch copy so that |out| is untouched on failure. */
  void *tmp = vigil_calloc(1, out_size);
  if (tmp == NULL) {
    set_err(err, err_len, "out of memory");
    return VIGIL_CONF_ERROR;
  }
  for (size_t i = 0; i < num_items; i++) {
    const char *def = table[i].def != NULL ? table[i].def : "";
    if (table[i].type != VIGIL_CONF_STRING && *def == '\0') {
      def = "0";
    }
    if (!apply(tmp, err, err_len, &table[i], def)) {
      goto done; /* a broken table is a programmer error */
    }
  }
  /* Pass 1 over argv: --help, --version and --config. */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      result = VIGIL_CONF_HELP;
      goto done;
    }
    if (strcmp(a, "--version") == 0) {
      result = VIGIL_CONF_VERSION;
      goto done;
    }
    if (strncmp(a, "--config=", 9) == 0) {
      config_file = a + 9;
    } else if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
      if (i + 1 >= argc) {
        set_err(err, err_len, "%s needs a file name", a);
        goto done;
      }
      config_file = argv[++i];
    }
  }
  if (config_file != NULL &&
      !load_file(tmp, err, err_len, table, num_items, config_file)) {
    goto done;
  }
  if (env_prefix != NULL) {
    for (size_t i = 0; i < num_items; i++) {
      char name[256];
      if (!env_name(name, sizeof(name), env_prefix, table[i].key)) {
        continue;
      }
      const char *v = getenv(name);
      if (v != NULL) {
        char inner[256];
        if (!apply(tmp, inner, sizeof(inner), &table[i], v)) {
          set_err(err, err_len, "environment %s: %s", name, inner);
          goto done;
        }
      }
    }
  }
  /* Pass 2 over argv: settings and positional arguments. */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strncmp(a, "--config=", 9) == 0) {
      continue;
    }
    if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
      i++;
      continue;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      if (out_args == NULL || num_args >= max_args) {
        set_err(err, err_len, "unexpected argument \"%s\" (see --help)", a);
        goto done;
      }
      out_args[num_args++] = a;
      continue;
    }
    const char *key = a + 2;
    const char *eq = strchr(key, '=');
    size_t key_len = eq != NULL ? (size_t)(eq - key) : strlen(key);
    const struct vigil_conf_item *item =
        find_item(table, num_items, key, key_len);
    if (item == NULL) {
      set_err(err, err_len, "unknown option --%.*s (see --help)", (int)key_len,
              key);
      goto done;
    }
    const char *value;
    if (eq != NULL) {
      value = eq + 1;
    } else if (item->type == VIGIL_CONF_BOOL) {
      value = "true";
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      set_err(err, err_len, "--%s needs a value", item->key);
      goto done;
    }
    if (!apply(tmp, err, err_len, item, value)) {
      goto done;
    }
  }
  memcpy(out, tmp, out_size);
  if (out_num_args != NULL) {
    *out_num_args = num_args;
  }
  result = VIGIL_CONF_OK;

done:
  vigil_free(tmp);
  return result;
}

static const char *type_name(enum vigil_conf_type t) {
  switch (t) {
    case VIGIL_CONF_STRING:
      return "string";
    case VIGIL_CONF_INT:
      return "int";
    case VIGIL_CONF_BOOL:
      return "bool";
    case VIGIL_CONF_DURATION:
      return "duration";
    case VIGIL_CONF_SIZE:
      return "size";
  }
  return "?";
}

void vigil_conf_help(FILE *f, const struct vigil_conf_item *table,
                     size_t num_items, const char *env_prefix) {
  for (size_t i = 0; i < num_items; i++) {
    const struct vigil_conf_item *it = &table[i];
    fprintf(f, "  --%-24s %-8s %s", it->key, type_name(it->type), it->help);
    if (it->def != NULL && *it->def != '\0') {
      fprintf(f, " (default %s)", it->def);
    }
    fputc('\n', f);
  }
  if (env_prefix != NULL) {
    fprintf(f,
            "\nEvery option can also be set in the config file (key = value) "
            "or in the\nenvironment as %s<KEY> (upper case, '-' as '_').\n",
            env_prefix);
  }
}

void vigil_conf_dump(FILE *f, const void *conf,
                     const struct vigil_conf_item *table, size_t num_items) {
  const uint8_t *base = conf;
  for (size_t i = 0; i < num_items; i++) {
    const struct vigil_conf_item *it = &table[i];
    int64_t v;
    int b;
    switch (it->type) {
      case VIGIL_CONF_STRING:
        fprintf(f, "%s = %s\n", it->key, (const char *)(base + it->offset));
        break;
      case VIGIL_CONF_BOOL:
        memcpy(&b, base + it->offset, sizeof(b));
        fprintf(f, "%s = %s\n", it->key, b ? "true" : "false");
        break;
      default:
        memcpy(&v, base + it->offset, sizeof(v));
        fprintf(f, "%s = %lld\n", it->key, (long long)v);
        break;
    }
  }
}
