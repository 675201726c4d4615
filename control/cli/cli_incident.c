/* cli_incident.c: vigilctl commands for incident executions (replace then
 * revoke, docs/cli.md "Incidents") and offline evidence-pack verification
 * (`vigilctl evidence verify`).
 *
 * An evidence pack file is the pack's canonical JSON — json_dumps(pack,
 * JSON_COMPACT | JSON_SORT_KEYS), strings, integers, booleans and null
 * only — followed by one newline. `evidence verify` accepts a file only if
 * its bytes are exactly that, so any flipped byte anywhere fails; then it
 * recomputes the digest (SHA-256 of the canonical pack without
 * audit_bundle.digest and audit_bundle.seal), checks the signer's seal over
 * it (pinned to --audit-key when given), recomputes every audit event's
 * hash from its fields (the audit canonical form of docs/operations.md) and
 * checks prev_hash -> hash wherever two events are consecutive in the
 * chain. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "vigil/alloc.h"
#include "vigil/b64.h"
#include "vigil/hex.h"
#include "vigil/log.h"
#include "vigil/seal.h"

#define MAX_INCIDENT_FILE (64 * 1024)
#define MAX_PACK_FILE     (16 * 1024 * 1024)
#define MAX_KEY_FILE      (16 * 1024)
#define PATH_LEN          512

/* ==========================================================================
 * Printing
 * ========================================================================== */

static void put_line(const char *label, const json_t *v) {
  printf("%s: ", label);
  cli_put_value(stdout, v);
  printf("\n");
}

/* print_summary prints what an operator checks after an execution. */
static void print_summary(const json_t *pack) {
  const json_t *receipt = json_object_get(pack, "delivery_receipt");
  const json_t *bundle = json_object_get(pack, "audit_bundle");
  const json_t *seal = json_object_get(bundle, "seal");
  put_line("id", json_object_get(pack, "id"));
  put_line("status", json_object_get(pack, "status"));
  if (json_is_string(json_object_get(pack, "failed_step"))) {
    put_line("failed_step", json_object_get(pack, "failed_step"));
  }
  put_line("identity_id", json_object_get(pack, "identity_id"));
  put_line("identity_status", json_object_get(pack, "identity_status"));
  put_line("replacement_id", json_object_get(pack, "replacement_id"));
  put_line("replacement_serial",
           json_object_get(json_object_get(pack, "replacement"), "serial"));
  put_line("revocation_queue_status",
           json_object_get(pack, "revocation_queue_status"));
  put_line("failed_targets", json_object_get(pack, "failed_targets"));
  put_line("rollback_refs", json_object_get(pack, "rollback_refs"));
  if (json_is_object(receipt)) {
    printf("delivery_receipt:\n");
    put_line("  connector", json_object_get(receipt, "connector"));
    put_line("  ok", json_object_get(receipt, "ok"));
    if (json_object_get(receipt, "directory") != NULL) {
      put_line("  directory", json_object_get(receipt, "directory"));
    }
    const json_t *files = json_object_get(receipt, "files");
    for (size_t i = 0; i < json_array_size(files); i++) {
      const json_t *f = json_array_get(files, i);
      printf("  file: ");
      cli_put_value(stdout, json_object_get(f, "path"));
      printf(" sha256=");
      cli_put_value(stdout, json_object_get(f, "sha256"));
      printf("\n");
    }
    const json_t *reload = json_object_get(receipt, "reload");
    if (reload != NULL) {
      put_line("  reload_exit_status", json_object_get(reload, "exit_status"));
    }
    const json_t *tls = json_object_get(receipt, "tls_check");
    if (tls != NULL) {
      put_line("  tls_observed_serial",
               json_object_get(tls, "observed_serial"));
    }
    if (json_object_get(receipt, "http_status") != NULL) {
      put_line("  http_status", json_object_get(receipt, "http_status"));
    }
    if (json_object_get(receipt, "error") != NULL) {
      put_line("  error", json_object_get(receipt, "error"));
    }
    put_line("  rolled_back", json_object_get(receipt, "rolled_back"));
  }
  if (json_is_object(seal)) {
    printf("seal: digest=");
    cli_put_value(stdout, json_object_get(bundle, "digest"));
    printf(" key_type=");
    cli_put_value(stdout, json_object_get(seal, "key_type"));
    printf(" sealed_at=");
    cli_put_value(stdout, json_object_get(seal, "sealed_at"));
    printf(" events=%zu\n", json_array_size(json_object_get(bundle, "events")));
  } else {
    printf("seal: - (not sealed yet: the execution is still running)\n");
  }
}

/* write_pack writes |pack|'s canonical form plus a newline to |path|
 * (through a temporary file and a rename). Returns 1, or 0 after saying
 * why. */
static int write_pack(const json_t *pack, const char *path) {
  char tmp[PATH_LEN + 16];
  char eb[128];
  char *text = json_dumps(pack, JSON_COMPACT | JSON_SORT_KEYS);
  int ok = 0;
  if (text == NULL) {
    fprintf(stderr, "%s: out of memory\n", PROG);
    return 0;
  }
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "wx");
  if (f == NULL) {
    fprintf(stderr, "%s: cannot write %s: %s\n", PROG, tmp,
            vigil_strerror(errno, eb, sizeof(eb)));
    free(text);
    return 0;
  }
  ok = fputs(text, f) >= 0 && fputc('\n', f) != EOF && fflush(f) == 0 &&
       fsync(fileno(f)) == 0;
  ok = fclose(f) == 0 && ok;
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
  }
  if (!ok) {
    fprintf(stderr, "%s: cannot write %s: %s\n", PROG, path,
            vigil_strerror(errno, eb, sizeof(eb)));
    (void)unlink(tmp);
  }
  free(text);
  return ok;
}

/* ==========================================================================
 * incidents executions execute / get / list
 * ========================================================================== */

static int run_execute(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                       const struct cli_parsed *p) {
  char kbuf[33];
  struct cli_reply r = { 0 };
  json_error_t jerr;
  const char *file = cli_args_get(p, "file");
  if (file == NULL) {
    return cli_args_usage_error(cmd,
                                "--file FILE (the incident JSON) is "
                                "required");
  }
  const char *key = cli_idempotency_key(cmd, p, kbuf);
  if (key == NULL) {
    return CLI_EXIT_USAGE;
  }
  char *text = cli_read_small_file(file, MAX_INCIDENT_FILE);
  if (text == NULL) {
    return CLI_EXIT_USAGE;
  }
  json_t *body = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  vigil_free(text);
  if (!json_is_object(body)) {
    json_decref(body);
    return cli_args_usage_error(cmd, "%s: not a JSON object (%s)", file,
                                jerr.text);
  }
  int rc = cli_api_call(ctx, &r, "POST", "/incidents/executions", body, key);
  json_decref(body);
  if (rc == CLI_EXIT_OK) {
    if (ctx->json) {
      cli_print_raw(&r.http);
    } else {
      print_summary(r.json);
    }
    const char *st = json_string_value(json_object_get(r.json, "status"));
    if (r.http.status == 202) {
      fprintf(stderr,
              "%s: the execution is still running; it continues in the "
              "background (check with `%s incidents executions get ID`)\n",
              PROG, PROG);
    } else if (st != NULL && strcmp(st, "failed") == 0) {
      fprintf(stderr,
              "%s: the execution FAILED; the delivery was rolled back and the "
              "certificate was NOT revoked\n",
              PROG);
      rc = CLI_EXIT_API;
    }
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_get(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                   const struct cli_parsed *p) {
  char path[PATH_LEN];
  struct cli_reply r = { 0 };
  if (!cli_id_path(cmd, path, sizeof(path), "/incidents/executions", p->pos[0],
                   "")) {
    return CLI_EXIT_USAGE;
  }
  int rc = cli_api_call(ctx, &r, "GET", path, NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    const char *out = cli_args_get(p, "out");
    if (out != NULL) {
      if (json_object_get(r.json, "sealed") != NULL) {
        fprintf(stderr, "%s: not sealed yet; no evidence pack written\n", PROG);
        rc = CLI_EXIT_API;
      } else if (!write_pack(r.json, out)) {
        rc = CLI_EXIT_USAGE;
      } else {
        fprintf(stderr, "%s: evidence pack written to %s\n", PROG, out);
      }
    }
    if (ctx->json) {
      cli_print_raw(&r.http);
    } else {
      print_summary(r.json);
    }
  }
  cli_reply_cleanup(&r);
  return rc;
}

static int run_list(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                    const struct cli_parsed *p) {
  (void)cmd;
  (void)p;
  static const struct cli_column cols[] = {
    { "ID", "id" },
    { "IDENTITY", "identity_id" },
    { "STATUS", "status" },
    { "NEXT", "next_step" },
    { "REPLACEMENT", "replacement_id" },
    { "CONNECTOR", "connector" },
    { "CREATED", "created_at" },
  };
  struct cli_reply r = { 0 };
  int rc = cli_api_call(ctx, &r, "GET", "/incidents/executions", NULL, NULL);
  if (rc == CLI_EXIT_OK) {
    if (ctx->json) {
      cli_print_raw(&r.http);
    } else {
      cli_print_table(json_object_get(r.json, "items"), cols,
                      sizeof(cols) / sizeof(cols[0]));
    }
  }
  cli_reply_cleanup(&r);
  return rc;
}

/* ==========================================================================
 * evidence verify (offline)
 * ========================================================================== */

/* no_reals: |v| holds no real numbers (the canonical form has none). */
static int no_reals(const json_t *v) {
  if (json_is_real(v)) {
    return 0;
  }
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++) {
      if (!no_reals(json_array_get(v, i))) {
        return 0;
      }
    }
  }
  if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      if (!no_reals(x)) {
        return 0;
      }
    }
  }
  return 1;
}

/* pem_spki reads a PEM "PUBLIC KEY" file into DER. Returns 1, or 0. */
static int pem_spki(uint8_t *out, size_t *out_len, size_t max,
                    const char *path) {
  char *text = cli_read_small_file(path, MAX_KEY_FILE);
  if (text == NULL) {
    return 0;
  }
  int ok = 0;
  const char *b = strstr(text, "-----BEGIN PUBLIC KEY-----");
  const char *e = b != NULL ? strstr(b, "-----END PUBLIC KEY-----") : NULL;
  if (b != NULL && e != NULL) {
    b += strlen("-----BEGIN PUBLIC KEY-----");
    char *b64 = vigil_malloc((size_t)(e - b) + 1);
    size_t n = 0;
    if (b64 != NULL) {
      for (const char *c = b; c < e; c++) {
        if (*c != '\n' && *c != '\r' && *c != ' ' && *c != '\t') {
          b64[n++] = *c;
        }
      }
      ok = vigil_b64_decode(out, out_len, max, b64, n) == VIGIL_B64_OK;
      vigil_free(b64);
    }
  }
  if (!ok) {
    fprintf(stderr, "%s: %s is not a PEM public key\n", PROG, path);
  }
  vigil_free(text);
  return ok;
}

/* netstring appends "<len>:<s>," to |buf| (|*len| used of |cap|). */
static int netstring(char *buf, size_t *len, size_t cap, const char *s) {
  size_t n = strlen(s);
  int w = snprintf(buf + *len, cap - *len, "%zu:", n);
  if (w < 0 || (size_t)w + n + 1 >= cap - *len) {
    return 0;
  }
  *len += (size_t)w;
  memcpy(buf + *len, s, n);
  *len += n;
  buf[(*len)++] = ',';
  return 1;
}

/* check_event recomputes |ev|'s hash. Returns 1, or 0 with |why|. */
static int check_event(char *why, size_t why_len, const json_t *ev) {
  char num[32];
  char num2[32];
  const char *type = json_string_value(json_object_get(ev, "type"));
  const char *subject = json_string_value(json_object_get(ev, "subject"));
  const char *dt = json_string_value(json_object_get(ev, "details_text"));
  const char *principal = json_string_value(json_object_get(ev, "principal"));
  const char *tenant = json_string_value(json_object_get(ev, "tenant"));
  const char *ph = json_string_value(json_object_get(ev, "prev_hash"));
  const char *h = json_string_value(json_object_get(ev, "hash"));
  json_t *id = json_object_get(ev, "id");
  json_t *at = json_object_get(ev, "at_us");
  uint8_t prev[32];
  uint8_t want[32];
  size_t l1 = 0;
  size_t l2 = 0;
  if (type == NULL || subject == NULL || dt == NULL || ph == NULL ||
      h == NULL || !json_is_integer(id) || !json_is_integer(at) ||
      !vigil_hex_decode(prev, &l1, sizeof(prev), ph, strlen(ph)) || l1 != 32 ||
      !vigil_hex_decode(want, &l2, sizeof(want), h, strlen(h)) || l2 != 32 ||
      strspn(ph, "0123456789abcdef") != 64 ||
      strspn(h, "0123456789abcdef") != 64) {
    snprintf(why, why_len, "an audit event lacks a field");
    return 0;
  }
  json_t *parsed = json_loads(dt, 0, NULL);
  int same =
      parsed != NULL && json_equal(parsed, json_object_get(ev, "details"));
  json_decref(parsed);
  if (!same) {
    snprintf(why, why_len, "audit event %lld: details differ from details_text",
             (long long)json_integer_value(id));
    return 0;
  }
  size_t cap = 32 + 5 * 32 + strlen(type) + strlen(subject) + strlen(dt) + 256;
  char *buf = vigil_malloc(cap);
  if (buf == NULL) {
    snprintf(why, why_len, "out of memory");
    return 0;
  }
  memcpy(buf, prev, 32);
  size_t len = 32;
  snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(id));
  snprintf(num2, sizeof(num2), "%lld", (long long)json_integer_value(at));
  int ok = netstring(buf, &len, cap, "vigil-audit-v1") &&
           netstring(buf, &len, cap, num) && netstring(buf, &len, cap, num2) &&
           netstring(buf, &len, cap, type) &&
           netstring(buf, &len, cap, principal != NULL ? principal : "") &&
           netstring(buf, &len, cap, tenant != NULL ? tenant : "") &&
           netstring(buf, &len, cap, subject) && netstring(buf, &len, cap, dt);
  uint8_t got[32];
  ok = ok && vigil_sha256(got, buf, len) && memcmp(got, want, 32) == 0;
  vigil_free(buf);
  if (!ok) {
    snprintf(why, why_len, "audit event %lld: hash does not match its fields",
             (long long)json_integer_value(id));
  }
  return ok;
}

/* key_type_consistent: the seal's key_type names its audit_spki's
 * algorithm (the signature check uses the key itself; this keeps the
 * informational field honest too). */
static int key_type_consistent(const json_t *seal) {
  static const uint8_t ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
  const char *kt = json_string_value(json_object_get(seal, "key_type"));
  const char *b64 = json_string_value(json_object_get(seal, "audit_spki"));
  uint8_t spki[1024];
  size_t n = 0;
  if (kt == NULL || b64 == NULL ||
      vigil_b64_decode(spki, &n, sizeof(spki), b64, strlen(b64)) !=
          VIGIL_B64_OK) {
    return 0;
  }
  int ed = n > 9 && memcmp(spki + 4, ed_oid, sizeof(ed_oid)) == 0;
  return strcmp(kt, ed ? "ed25519" : "p256") == 0;
}

static int run_verify(struct cli_ctx *ctx, const struct cli_cmd *cmd,
                      const struct cli_parsed *p) {
  (void)ctx;
  const char *file = p->pos[0];
  const char *keyfile = cli_args_get(p, "audit-key");
  uint8_t pin[1024];
  size_t pin_len = 0;
  char why[512] = "";
  char *text = NULL;
  char *canon = NULL;
  char *unsealed = NULL;
  json_t *doc = NULL;
  json_t *copy = NULL;
  json_error_t jerr;
  struct stat st;
  int rc = CLI_EXIT_API;
  if (keyfile != NULL && !pem_spki(pin, &pin_len, sizeof(pin), keyfile)) {
    return CLI_EXIT_USAGE;
  }
  text = cli_read_small_file(file, MAX_PACK_FILE);
  if (text == NULL) {
    return CLI_EXIT_USAGE;
  }
  if (stat(file, &st) != 0 || (size_t)st.st_size != strlen(text)) {
    snprintf(why, sizeof(why), "the file holds NUL bytes or changed");
    goto out;
  }
  doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(doc)) {
    snprintf(why, sizeof(why), "not a JSON object (line %d: %s)", jerr.line,
             jerr.text);
    goto out;
  }
  if (!no_reals(doc)) {
    snprintf(why, sizeof(why), "holds real numbers (not canonical)");
    goto out;
  }
  canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
  size_t cl = canon != NULL ? strlen(canon) : 0;
  if (canon == NULL || strlen(text) != cl + 1 || memcmp(text, canon, cl) != 0 ||
      text[cl] != '\n') {
    snprintf(why, sizeof(why),
             "the file is not the canonical serialisation of its document "
             "(bytes were changed)");
    goto out;
  }
  printf("canonical form: ok (%zu bytes)\n", cl + 1);
  const char *id = json_string_value(json_object_get(doc, "id"));
  json_t *bundle = json_object_get(doc, "audit_bundle");
  const char *digest_hex = json_string_value(json_object_get(bundle, "digest"));
  json_t *seal = json_object_get(bundle, "seal");
  json_t *events = json_object_get(bundle, "events");
  uint8_t digest[32];
  size_t dl = 0;
  if (id == NULL || digest_hex == NULL || !json_is_object(seal) ||
      !json_is_array(events) ||
      !vigil_hex_decode(digest, &dl, sizeof(digest), digest_hex,
                        strlen(digest_hex)) ||
      dl != 32) {
    snprintf(why, sizeof(why),
             "not a sealed evidence pack (id, audit_bundle.digest, .seal, "
             ".events)");
    goto out;
  }
  copy = json_deep_copy(doc);
  json_t *cb = json_object_get(copy, "audit_bundle");
  if (copy == NULL || json_object_del(cb, "digest") != 0 ||
      json_object_del(cb, "seal") != 0) {
    snprintf(why, sizeof(why), "out of memory");
    goto out;
  }
  unsealed = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
  uint8_t got[32];
  if (unsealed == NULL || !vigil_sha256(got, unsealed, strlen(unsealed)) ||
      memcmp(got, digest, 32) != 0) {
    snprintf(why, sizeof(why), "the digest does not match the pack");
    goto out;
  }
  char got_hex[65];
  vigil_hex_encode(got_hex, got, 32);
  got_hex[64] = '\0';
  const char *seal_hex = json_string_value(json_object_get(seal, "digest"));
  if (strcmp(got_hex, digest_hex) != 0 || seal_hex == NULL ||
      strcmp(got_hex, seal_hex) != 0) {
    snprintf(why, sizeof(why), "the digest is not written in canonical form");
    goto out;
  }
  if (!key_type_consistent(seal)) {
    snprintf(why, sizeof(why), "seal: key_type does not match audit_spki");
    goto out;
  }
  printf("digest: ok (%s)\n", digest_hex);
  char context[128];
  snprintf(context, sizeof(context), "vigil-evidence-v1:%s", id);
  if (!vigil_seal_check_json(why, sizeof(why), seal, digest, context,
                             keyfile != NULL ? pin : NULL, pin_len)) {
    goto out;
  }
  if (keyfile != NULL) {
    printf("seal: ok (context %s, signed by the pinned audit key %s)\n",
           context, keyfile);
  } else {
    printf(
        "seal: ok (context %s) — WARNING: checked with the key embedded "
        "in the pack; pin the signer's key with --audit-key FILE\n",
        context);
  }
  int64_t last_id = 0;
  const char *last_hash = NULL;
  size_t links = 0;
  for (size_t i = 0; i < json_array_size(events); i++) {
    json_t *ev = json_array_get(events, i);
    if (!check_event(why, sizeof(why), ev)) {
      goto out;
    }
    int64_t eid = json_integer_value(json_object_get(ev, "id"));
    const char *ph = json_string_value(json_object_get(ev, "prev_hash"));
    if (eid <= last_id) {
      snprintf(why, sizeof(why), "audit events out of order at %lld",
               (long long)eid);
      goto out;
    }
    if (last_hash != NULL && eid == last_id + 1) {
      if (strcmp(ph, last_hash) != 0) {
        snprintf(why, sizeof(why),
                 "audit event %lld: prev_hash is not event %lld's hash",
                 (long long)eid, (long long)last_id);
        goto out;
      }
      links++;
    }
    last_id = eid;
    last_hash = json_string_value(json_object_get(ev, "hash"));
  }
  printf(
      "audit events: ok (%zu events, every hash recomputed, %zu "
      "prev_hash links checked)\n",
      json_array_size(events), links);
  printf("execution %s: status ", id);
  cli_put_value(stdout, json_object_get(doc, "status"));
  printf(", replacement ");
  cli_put_value(stdout, json_object_get(doc, "replacement_id"));
  printf(", revocation ");
  cli_put_value(stdout, json_object_get(doc, "revocation_queue_status"));
  printf("\nVERIFIED\n");
  rc = CLI_EXIT_OK;

out:
  if (rc != CLI_EXIT_OK) {
    printf("FAILED: %s\n", why);
    fprintf(stderr, "%s: %s: verification failed: %s\n", PROG, file, why);
  }
  (void)cmd;
  free(canon);
  free(unsealed);
  json_decref(copy);
  json_decref(doc);
  vigil_free(text);
  return rc;
}

/* ==========================================================================
 * The table
 * ========================================================================== */

static const struct cli_opt execute_opts[] = {
  { "file", CLI_OPT_VALUE, "FILE",
    "the incident JSON: identity_id, reason, replacement_name, connector, "
    "target, delivery_rollback_ref (and check_address for nginx)" },
  CLI_IDEMPOTENCY_OPT,
  CLI_END_OPT,
};

static const struct cli_opt get_opts[] = {
  { "out", CLI_OPT_VALUE, "FILE",
    "write the sealed evidence pack (canonical JSON) to FILE" },
  CLI_END_OPT,
};

static const struct cli_opt list_opts[] = {
  CLI_END_OPT,
};

static const struct cli_opt verify_opts[] = {
  { "audit-key", CLI_OPT_VALUE, "FILE",
    "the signer's audit public key (PEM, <key-dir>/audit.pub) to pin" },
  CLI_END_OPT,
};

const struct cli_cmd cli_incident_cmds[4] = {
  { "incidents", "executions execute", "", 0,
    "run a replace-then-revoke incident execution (issuer)",
    "Issues a replacement with a new key, delivers it through the connector, "
    "revokes the compromised certificate (keyCompromise) and seals the "
    "evidence. Waits for the outcome; exit 1 if the delivery failed (it was "
    "rolled back and nothing was revoked).",
    execute_opts, run_execute, 0 },
  { "incidents", "executions get", "ID", 1, "show an execution's evidence pack",
    "With --out FILE, writes the sealed pack for `vigilctl evidence verify`.",
    get_opts, run_get, 0 },
  { "incidents", "executions list", "", 0,
    "list incident executions, newest first", NULL, list_opts, run_list, 0 },
  { "evidence", "verify", "FILE", 1,
    "verify an evidence pack offline (canonical bytes, digest, seal, audit "
    "hashes)",
    "Exit 0 if everything verifies, 1 if anything does not.", verify_opts,
    run_verify, 1 },
};
const size_t cli_incident_num_cmds = 4;
