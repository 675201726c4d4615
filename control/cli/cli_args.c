/* cli_args.c: table-driven parsing and help for vigilctl (see cli_args.h).
 */
#include "cli_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PROG "vigilctl"

/* ------------------------------------------------------------------------
 * Help
 * ------------------------------------------------------------------------ */

/* Prints |text| word-wrapped to 79 columns, starting at column |col|;
 * continuation lines are indented to |indent|. */
static void put_wrapped(FILE *f, const char *text, size_t col, size_t indent) {
  const char *p = text;
  while (*p != '\0') {
    const char *sp = strchr(p, ' ');
    size_t word = sp != NULL ? (size_t)(sp - p) : strlen(p);
    if (col > indent && col + 1 + word > 79) {
      fprintf(f, "\n%*s", (int)indent, "");
      col = indent;
    } else if (col > indent) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, word, f);
    col += word;
    p += word;
    while (*p == ' ') {
      p++;
    }
  }
  fputc('\n', f);
}

static void print_opts(FILE *f, const struct cli_opt *opts) {
  for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
    char left[64];
    if (o->kind == CLI_OPT_FLAG) {
      snprintf(left, sizeof(left), "--%s", o->name);
    } else {
      /* --file has the one short alias, -f (cli_args_parse). */
      snprintf(left, sizeof(left), "%s--%s %s",
               strcmp(o->name, "file") == 0 ? "-f, " : "", o->name,
               o->metavar != NULL ? o->metavar : "VALUE");
    }
    char help[256];
    snprintf(help, sizeof(help), "%s%s", o->help,
             o->kind == CLI_OPT_LIST ? " (repeatable)" : "");
    fprintf(f, "  %-26s", left);
    put_wrapped(f, help, 28, 28);
  }
}

static void print_cmd_line(FILE *f, const struct cli_cmd *c) {
  char left[96];
  snprintf(left, sizeof(left), "%s%s%s%s%s", c->group,
           c->verb != NULL ? " " : "", c->verb != NULL ? c->verb : "",
           c->pos_usage[0] != '\0' ? " " : "", c->pos_usage);
  fprintf(f, "  %-30s", left);
  put_wrapped(f, c->summary, 32, 32);
}

static void tool_help(FILE *f, const char *text, const struct cli_cmd *cmds,
                      size_t num_cmds, const struct cli_opt *global) {
  fprintf(f, "%s\nCommands:\n", text);
  for (size_t i = 0; i < num_cmds; i++) {
    print_cmd_line(f, &cmds[i]);
  }
  fprintf(f, "\nGlobal options (before or after the command):\n");
  print_opts(f, global);
  fprintf(f, "\nRun `%s COMMAND --help` for a command's options.\n", PROG);
}

static void group_help(FILE *f, const char *group, const struct cli_cmd *cmds,
                       size_t num_cmds) {
  fprintf(f, "usage: %s %s VERB ... [options]\n\nVerbs:\n", PROG, group);
  for (size_t i = 0; i < num_cmds; i++) {
    if (strcmp(cmds[i].group, group) == 0) {
      print_cmd_line(f, &cmds[i]);
    }
  }
  fprintf(f, "\nRun `%s %s VERB --help` for a verb's options.\n", PROG, group);
}

static void cmd_help(FILE *f, const struct cli_cmd *c,
                     const struct cli_opt *global) {
  fprintf(f, "usage: %s %s%s%s%s%s [options]\n\n%s\n", PROG, c->group,
          c->verb != NULL ? " " : "", c->verb != NULL ? c->verb : "",
          c->pos_usage[0] != '\0' ? " " : "", c->pos_usage, c->summary);
  if (c->details != NULL) {
    fprintf(f, "\n%s\n", c->details);
  }
  if (c->opts != NULL && c->opts[0].name != NULL) {
    fprintf(f, "\nOptions:\n");
    print_opts(f, c->opts);
  }
  if (c->offline) {
    /* Runs locally: the server options and API exit codes do not apply. */
    fprintf(f,
            "\nThis command contacts no server (no URL or token needed).\n"
            "\nExit status: 0 success, 1 the check failed, 2 usage "
            "error.\n");
    return;
  }
  fprintf(f, "\nGlobal options:\n");
  print_opts(f, global);
  fprintf(f,
          "\nExit status: 0 success, 1 API error (4xx), 2 usage error, "
          "3 server\nunavailable (cannot connect, TLS failure, timeout, "
          "5xx), 4 authentication\nor authorization refused (401/403).\n");
}

int cli_args_usage_error(const struct cli_cmd *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", PROG);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (cmd != NULL) {
    fprintf(stderr, "\nRun `%s %s%s%s --help` for usage.\n", PROG, cmd->group,
            cmd->verb != NULL ? " " : "", cmd->verb != NULL ? cmd->verb : "");
  } else {
    fprintf(stderr, "\nRun `%s --help` for usage.\n", PROG);
  }
  return CLI_EXIT_USAGE;
}

/* ------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------ */

static const struct cli_opt *find_opt(const struct cli_opt *opts,
                                      const char *name, size_t name_len) {
  for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
    if (strlen(o->name) == name_len && memcmp(o->name, name, name_len) == 0) {
      return o;
    }
  }
  return NULL;
}

/* verb_match: how many words of |argv| (|argc| left) spell |verb|, whose
 * words are separated by single spaces ("executions execute"); 0 if they
 * do not. */
static size_t verb_match(const char *verb, char **argv, int argc) {
  size_t n = 0;
  while (*verb != '\0') {
    size_t len = strcspn(verb, " ");
    if ((int)n >= argc || strlen(argv[n]) != len ||
        strncmp(argv[n], verb, len) != 0) {
      return 0;
    }
    n++;
    verb += len;
    if (*verb == ' ') {
      verb++;
    }
  }
  return n;
}

/* has_opt: does the NULL-name terminated |opts| have option |name|? */
static int has_opt(const struct cli_opt *opts, const char *name) {
  for (; opts != NULL && opts->name != NULL; opts++) {
    if (strcmp(opts->name, name) == 0) {
      return 1;
    }
  }
  return 0;
}

static int is_help(const char *a) {
  return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parses the option at argv[*i] (which starts with "--"; or is a short
 * alias, when |alias| names the long option it stands for) into |out|,
 * looking in |opts| and then |global|. Advances *i past a separate value.
 * Returns 1, or 0 after printing a usage error. */
static int take_opt(struct cli_parsed *out, const struct cli_cmd *cmd,
                    const struct cli_opt *opts, const struct cli_opt *global,
                    int argc, char **argv, int *i, const char *alias) {
  const char *arg = alias != NULL ? alias : argv[*i] + 2;
  const char *eq = strchr(arg, '=');
  size_t name_len = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
  const struct cli_opt *o = find_opt(opts, arg, name_len);
  if (o == NULL) {
    o = find_opt(global, arg, name_len);
  }
  if (o == NULL) {
    cli_args_usage_error(cmd, "unknown option --%.*s", (int)name_len, arg);
    return 0;
  }
  const char *value = "";
  if (o->kind == CLI_OPT_FLAG) {
    if (eq != NULL) {
      cli_args_usage_error(cmd, "--%s takes no value", o->name);
      return 0;
    }
  } else if (eq != NULL) {
    value = eq + 1;
  } else if (*i + 1 < argc) {
    *i += 1;
    value = argv[*i];
  } else {
    cli_args_usage_error(cmd, "--%s needs a value (%s)", o->name,
                         o->metavar != NULL ? o->metavar : "VALUE");
    return 0;
  }
  if (out->num_values == CLI_MAX_VALUES) {
    cli_args_usage_error(cmd, "too many options (at most %d)", CLI_MAX_VALUES);
    return 0;
  }
  out->opt[out->num_values] = o;
  out->value[out->num_values] = value;
  out->num_values++;
  return 1;
}

enum cli_parse_result cli_args_parse(
    struct cli_parsed *out, const struct cli_cmd **out_cmd,
    const struct cli_cmd *cmds, size_t num_cmds, const struct cli_opt *global,
    const char *help_text, int argc, char **argv) {
  memset(out, 0, sizeof(*out));
  *out_cmd = NULL;
  int i = 1;

  /* Global options before the command. */
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (is_help(argv[i])) {
      tool_help(stdout, help_text, cmds, num_cmds, global);
      return CLI_PARSE_HELP;
    }
    if (strcmp(argv[i], "--version") == 0) {
      return CLI_PARSE_VERSION;
    }
    if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0') {
      cli_args_usage_error(NULL, "unexpected argument '%s'", argv[i]);
      return CLI_PARSE_USAGE;
    }
    if (!take_opt(out, NULL, NULL, global, argc, argv, &i, NULL)) {
      return CLI_PARSE_USAGE;
    }
  }
  if (i == argc) {
    cli_args_usage_error(NULL, "no command given");
    return CLI_PARSE_USAGE;
  }

  /* `vigilctl help [GROUP [VERB]]` is --help spelled as a command. */
  const char *group = argv[i];
  int help_cmd = strcmp(group, "help") == 0;
  if (help_cmd) {
    if (i + 1 == argc) {
      tool_help(stdout, help_text, cmds, num_cmds, global);
      return CLI_PARSE_HELP;
    }
    i++;
    group = argv[i];
  }
  const struct cli_cmd *first = NULL;
  for (size_t c = 0; c < num_cmds; c++) {
    if (strcmp(cmds[c].group, group) == 0) {
      first = &cmds[c];
      break;
    }
  }
  if (first == NULL) {
    cli_args_usage_error(NULL, "unknown command '%s'", group);
    return CLI_PARSE_USAGE;
  }
  i++;
  const struct cli_cmd *cmd = first;
  if (first->verb != NULL) {
    if (i == argc || argv[i][0] == '-') {
      if (help_cmd || (i < argc && is_help(argv[i]))) {
        group_help(stdout, group, cmds, num_cmds);
        return CLI_PARSE_HELP;
      }
      fprintf(stderr, "%s: '%s' needs a verb\n", PROG, group);
      group_help(stderr, group, cmds, num_cmds);
      return CLI_PARSE_USAGE;
    }
    cmd = NULL;
    size_t words = 0;
    for (size_t c = 0; c < num_cmds; c++) {
      size_t n = 0;
      if (strcmp(cmds[c].group, group) == 0 && cmds[c].verb != NULL &&
          (n = verb_match(cmds[c].verb, argv + i, argc - i)) > words) {
        cmd = &cmds[c];
        words = n;
      }
    }
    if (cmd == NULL) {
      fprintf(stderr, "%s: unknown verb '%s %s'\n", PROG, group, argv[i]);
      group_help(stderr, group, cmds, num_cmds);
      return CLI_PARSE_USAGE;
    }
    i += (int)words;
  }
  if (help_cmd) {
    cmd_help(stdout, cmd, global);
    return CLI_PARSE_HELP;
  }

  /* Options (command's, then global) and positional arguments, mixed. */
  int only_pos = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!only_pos && strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (!only_pos && is_help(a)) {
      cmd_help(stdout, cmd, global);
      return CLI_PARSE_HELP;
    }
    if (!only_pos && strncmp(a, "--", 2) == 0) {
      if (!take_opt(out, cmd, cmd->opts, global, argc, argv, &i, NULL)) {
        return CLI_PARSE_USAGE;
      }
      continue;
    }
    if (!only_pos && a[0] == '-' && a[1] != '\0') {
      /* The one short option: -f FILE is --file FILE where a command has
       * --file. */
      if (strcmp(a, "-f") == 0 && has_opt(cmd->opts, "file")) {
        if (!take_opt(out, cmd, cmd->opts, global, argc, argv, &i, "file")) {
          return CLI_PARSE_USAGE;
        }
        continue;
      }
      cli_args_usage_error(cmd, "unknown option '%s'", a);
      return CLI_PARSE_USAGE;
    }
    if (out->num_pos == CLI_MAX_POS || out->num_pos == cmd->num_pos) {
      cli_args_usage_error(cmd, "unexpected argument '%s'", a);
      return CLI_PARSE_USAGE;
    }
    out->pos[out->num_pos++] = a;
  }
  if (out->num_pos != cmd->num_pos) {
    cli_args_usage_error(cmd, "missing argument %s", cmd->pos_usage);
    return CLI_PARSE_USAGE;
  }
  *out_cmd = cmd;
  return CLI_PARSE_RUN;
}

/* ------------------------------------------------------------------------
 * Lookup
 * ------------------------------------------------------------------------ */

const char *cli_args_get(const struct cli_parsed *p, const char *name) {
  const char *v = NULL;
  for (size_t i = 0; i < p->num_values; i++) {
    if (strcmp(p->opt[i]->name, name) == 0) {
      v = p->value[i];
    }
  }
  return v;
}

size_t cli_args_count(const struct cli_parsed *p, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < p->num_values; i++) {
    if (strcmp(p->opt[i]->name, name) == 0) {
      n++;
    }
  }
  return n;
}

const char *cli_args_nth(const struct cli_parsed *p, const char *name,
                         size_t n) {
  for (size_t i = 0; i < p->num_values; i++) {
    if (strcmp(p->opt[i]->name, name) == 0) {
      if (n == 0) {
        return p->value[i];
      }
      n--;
    }
  }
  return NULL;
}

int cli_args_parse_long(long *out, const char *s, long min, long max) {
  if (s == NULL || s[0] == '\0' || s[0] == ' ' || s[0] == '+') {
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
    return 0;
  }
  *out = v;
  return 1;
}
