/* sgn_config.c: the vigil-signer configuration table (see sgn_config.h). */
#include "sgn_config.h"

#include <stddef.h>

#include "vigil/sgnproto.h"

#define S(field)   offsetof(struct sgn_config, field)
#define STR(field) S(field), sizeof(((struct sgn_config *)0)->field)

const struct vigil_conf_item sgn_config_table[] = {
  { "socket", VIGIL_CONF_STRING, STR(socket), "/run/vigil/signer.sock", 0, 0,
    "Unix socket to listen on (created 0600; a stale one is replaced)" },
  { "key-dir", VIGIL_CONF_STRING, STR(key_dir), "/var/lib/vigil/signer", 0, 0,
    "key directory: issuers/<id>/ca.key, responder.key, audit.key" },
  { "allowed-uid", VIGIL_CONF_INT, S(allowed_uid), 0, "-1", -1,
    INT64_C(4294967294),
    "uid allowed to connect (SO_PEERCRED); -1: the signer's own uid" },
  { "max-frame", VIGIL_CONF_SIZE, S(max_frame), 0, "64M", VIGIL_SGN_MIN_FRAME,
    VIGIL_SGN_MAX_FRAME,
    "largest request frame accepted (CRL requests are the big ones)" },
  { "max-connections", VIGIL_CONF_INT, S(max_connections), 0, "16", 1, 256,
    "concurrent client connections (one thread each); more get BUSY" },
  { "max-batch", VIGIL_CONF_INT, S(max_batch), 0, "10000", 1,
    VIGIL_SGN_MAX_BATCH, "OCSP responses per PRESIGN_BATCH request" },
  { "max-issuers", VIGIL_CONF_INT, S(max_issuers), 0, "10000", 1, 1000000,
    "issuers the key directory may hold" },
  { "responder-validity", VIGIL_CONF_DURATION, S(responder_validity), 0, "7d",
    86400, 90 * 86400,
    "lifetime of delegated OCSP responder certificates; re-minted when "
    "under a third is left; pre-signed responses may last at most 2/3 of it" },
  { "responder-key-type", VIGIL_CONF_STRING, STR(responder_key_type), "p256", 0,
    0, "key type of new responder keys: p256, p384, ed25519, rsa2048" },
  { "audit-key-type", VIGIL_CONF_STRING, STR(audit_key_type), "ed25519", 0, 0,
    "key type of the audit (SEAL) key made at first start: ed25519, p256" },
  { "io-timeout", VIGIL_CONF_DURATION, S(io_timeout), 0, "30s", 1, 3600,
    "time allowed to receive or send one whole frame" },
  { "idle-timeout", VIGIL_CONF_DURATION, S(idle_timeout), 0, "1h", 1, 7 * 86400,
    "time a connection may wait between requests" },
  { "log-level", VIGIL_CONF_STRING, STR(log_level), "info", 0, 0,
    "error, warn, info or debug" },
  { "log-json", VIGIL_CONF_BOOL, S(log_json), 0, "false", 0, 1,
    "log JSON lines instead of text" },
};

const size_t sgn_config_table_len =
    sizeof(sgn_config_table) / sizeof(sgn_config_table[0]);
