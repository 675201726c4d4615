/* sgn_export_cli.c: `vigil-signer export-responder` (see sgn_export_cli.h). */
#include "sgn_export_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "vigil/log.h"
#include "vigil/sgnclient.h"
#include "vigil/sgnproto.h"

#define EXPORT_TIMEOUT_MS 10000

int sgn_export_cli(const char *socket_path, const char *issuer_id,
                   const char *dest_dir, const char *operator_name) {
  uint8_t frame[VIGIL_SGN_MIN_FRAME + 4096];
  struct vigil_sgn_writer w;
  size_t len = 0;
  vigil_sgn_writer_init(&w, frame, sizeof(frame), VIGIL_SGN_REQUEST,
                        VIGIL_SGN_OP_EXPORT_RESPONDER, VIGIL_SGN_OK, 0);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_ISSUER_ID, issuer_id);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_DEST_DIR, dest_dir);
  /* The explicit confirmation the protocol requires: this command is it. */
  vigil_sgn_put_u8(&w, VIGIL_SGN_T_CONFIRM, 1);
  vigil_sgn_put_text(&w, VIGIL_SGN_T_OPERATOR, operator_name);
  if (!vigil_sgn_writer_finish(&w, &len)) {
    fprintf(stderr, "vigil-signer: export request too large\n");
    return 1;
  }
  enum vigil_sgnc_err ce;
  struct vigil_sgn_client *c =
      vigil_sgn_client_connect(&ce, socket_path, EXPORT_TIMEOUT_MS, 0);
  if (c == NULL) {
    char eb[128];
    fprintf(stderr, "vigil-signer: %s: %s (%s)\n", socket_path,
            vigil_sgnc_err_string(ce), vigil_strerror(errno, eb, sizeof(eb)));
    return 3;
  }
  struct vigil_sgn_msg reply;
  ce = vigil_sgn_client_call(c, &reply, frame, len, EXPORT_TIMEOUT_MS);
  int rc;
  if (ce != VIGIL_SGNC_OK) {
    fprintf(stderr, "vigil-signer: export failed: %s\n",
            vigil_sgnc_err_string(ce));
    rc = 3;
  } else if (reply.status != VIGIL_SGN_OK) {
    char msg[1025] = "";
    (void)vigil_sgn_get_text(&reply, msg, sizeof(msg),
                             VIGIL_SGN_T_ERROR_MESSAGE);
    fprintf(stderr, "vigil-signer: export refused (%s): %s\n",
            vigil_sgn_status_string(reply.status), msg);
    rc = 1;
  } else {
    printf(
        "exported the delegated OCSP responder of %s to %s/%s.key (0600) "
        "and .pem\n",
        issuer_id, dest_dir, issuer_id);
    rc = 0;
  }
  vigil_sgn_client_free(c);
  return rc;
}
