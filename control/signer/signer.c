/* signer.c: vigil-signer, the only process that reads CA private keys.
 *
 * Thin by design: load the configuration, open the key directory (which
 * refuses keys that are not 0600 and directories others can write), load
 * the audit key and every issuer, start the Unix-socket server, then wait
 * for SIGTERM/SIGINT and stop cleanly. The protocol is in
 * vigil/sgnproto.h and docs/signer.md; the operations in sgn_ops.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sgn_audit.h"
#include "sgn_config.h"
#include "sgn_export_cli.h"
#include "sgn_issuers.h"
#include "sgn_keydir.h"
#include "sgn_ops.h"
#include "sgn_server.h"
#include "vigil/log.h"

#define VIGIL_VERSION "0.1.0"

static void usage(FILE *f) {
  fprintf(f,
          "usage: vigil-signer [--config FILE] [--option=value ...]\n"
          "       vigil-signer [--socket PATH] export-responder ISSUER_ID "
          "DEST_DIR [OPERATOR]\n"
          "\n"
          "vigil-signer holds the CA private keys and signs for vigil-control\n"
          "over a Unix socket: CAs, certificates, pre-signed OCSP responses,\n"
          "CRLs, delegated OCSP responders and evidence seals. Only the\n"
          "allowed uid may connect (SO_PEERCRED). It refuses to start if a\n"
          "*.key file in the key directory is not mode 0600 or the\n"
          "directory is writable by group or others. See docs/signer.md.\n"
          "\n"
          "export-responder asks the running signer to write ISSUER_ID's\n"
          "delegated OCSP responder key (0600) and certificate into DEST_DIR\n"
          "(an edge's --responder-dir), logged with the OPERATOR's name.\n"
          "\n"
          "Signals: SIGTERM/SIGINT stop gracefully.\n"
          "\nOptions:\n");
  vigil_conf_help(f, sgn_config_table, sgn_config_table_len, "VIGIL_SIGNER_");
}

/* key_type_named maps a config key-type name. */
static int key_type_named(enum vigil_key_type *out, unsigned *out_bits,
                          const char *name) {
  *out_bits = 0;
  if (strcmp(name, "p256") == 0) {
    *out = VIGIL_KEY_EC_P256;
  } else if (strcmp(name, "p384") == 0) {
    *out = VIGIL_KEY_EC_P384;
  } else if (strcmp(name, "ed25519") == 0) {
    *out = VIGIL_KEY_ED25519;
  } else if (strcmp(name, "rsa2048") == 0) {
    *out = VIGIL_KEY_RSA;
    *out_bits = 2048;
  } else {
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  struct sgn_config cfg;
  struct vigil_log log;
  struct sgn_keydir kd;
  struct sgn_responder_policy pol;
  enum vigil_key_type audit_type;
  unsigned bits;
  char err[1024];
  int rc = 1;
  struct sgn_audit *audit = NULL;
  struct sgn_registry *reg = NULL;
  struct sgn_server *srv = NULL;

  vigil_log_init(&log, "vigil-signer");
  const char *args[4];
  size_t num_args = 0;
  enum vigil_conf_result cr = vigil_conf_load(
      &cfg, sizeof(cfg), err, sizeof(err), args, 4, &num_args, sgn_config_table,
      sgn_config_table_len, "VIGIL_SIGNER_", argc, argv);
  if (cr == VIGIL_CONF_HELP) {
    usage(stdout);
    return 0;
  }
  if (cr == VIGIL_CONF_VERSION) {
    printf("vigil-signer %s\n", VIGIL_VERSION);
    return 0;
  }
  if (cr != VIGIL_CONF_OK) {
    fprintf(stderr, "vigil-signer: %s\n", err);
    return 2;
  }
  if (num_args > 0) {
    /* Operator command: a client of the running signer. */
    if (strcmp(args[0], "export-responder") != 0 || num_args < 3) {
      fprintf(stderr,
              "vigil-signer: usage: vigil-signer [--socket PATH] "
              "export-responder ISSUER_ID DEST_DIR [OPERATOR]\n");
      return 2;
    }
    const char *who = num_args > 3 ? args[3] : getenv("USER");
    return sgn_export_cli(cfg.socket, args[1], args[2],
                          who != NULL ? who : "operator");
  }
  if (!vigil_log_parse_level(&log.level, cfg.log_level)) {
    fprintf(stderr, "vigil-signer: log-level: unknown level \"%s\"\n",
            cfg.log_level);
    return 2;
  }
  log.json = cfg.log_json;
  memset(&pol, 0, sizeof(pol));
  pol.validity = cfg.responder_validity;
  if (!key_type_named(&pol.key_type, &pol.rsa_bits, cfg.responder_key_type)) {
    fprintf(stderr,
            "vigil-signer: responder-key-type: \"%s\" is not p256, p384, "
            "ed25519 or rsa2048\n",
            cfg.responder_key_type);
    return 2;
  }
  if (!key_type_named(&audit_type, &bits, cfg.audit_key_type) ||
      (audit_type != VIGIL_KEY_ED25519 && audit_type != VIGIL_KEY_EC_P256)) {
    fprintf(stderr,
            "vigil-signer: audit-key-type: \"%s\" is not ed25519 or p256\n",
            cfg.audit_key_type);
    return 2;
  }

  /* Everything this process creates is private unless made otherwise on
   * purpose (certificates are chmod'ed 0644 explicitly). */
  umask(077);
  /* Block the signals we wait for in every thread; main sigwaits. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (!sgn_keydir_open(&kd, err, sizeof(err), cfg.key_dir, &log)) {
    VLOG_ERROR(&log, "refusing to start: %s", err);
    return 1;
  }
  audit = sgn_audit_open(err, sizeof(err), cfg.key_dir, audit_type, &log);
  if (audit == NULL) {
    VLOG_ERROR(&log, "refusing to start: %s", err);
    goto done;
  }
  reg = sgn_registry_load(err, sizeof(err), &kd, (size_t)cfg.max_issuers, &pol,
                          &log);
  if (reg == NULL) {
    VLOG_ERROR(&log, "refusing to start: %s", err);
    goto done;
  }
  struct sgn_ctx ctx = { &cfg, &log, reg, audit };
  srv = sgn_server_start(err, sizeof(err), &ctx);
  if (srv == NULL) {
    VLOG_ERROR(&log, "cannot serve: %s", err);
    goto done;
  }
  VLOG_INFO(&log, "serving %zu issuers on %s (key directory %s)",
            sgn_registry_count(reg), cfg.socket, cfg.key_dir);

  for (;;) {
    int sig = 0;
    if (sigwait(&sigs, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      VLOG_INFO(&log,
                "SIGHUP: nothing to reload (keys load at start and on "
                "creation)");
      continue;
    }
    VLOG_INFO(&log, "signal %d: stopping", sig);
    break;
  }
  rc = 0;

done:
  sgn_server_stop(srv);
  sgn_registry_free(reg);
  sgn_audit_free(audit);
  sgn_keydir_close(&kd);
  return rc;
}
