/* sgnclient.h: a small blocking client for vigil-signer's Unix socket.
 *
 * vigil-control (and test tools) talk to the signer through this: connect
 * to the socket path, send one request frame (built with
 * vigil/sgnproto.h), wait for its reply, with one deadline per call. One
 * client is one connection and is used by one thread at a time; requests
 * on it are answered in order. No crypto: vigil-control links this.
 *
 * The reply is decoded into views of a buffer the client owns and reuses
 * (grown as needed up to the client's max frame), so a reply stays valid
 * until the next call or vigil_sgn_client_free. After any outcome other
 * than VIGIL_SGNC_OK and VIGIL_SGNC_ERR_REQUEST (which sends nothing) —
 * and after a reply with op NONE or a status meaning the signer hung up
 * (MALFORMED, VERSION, TOO_LARGE, BUSY) — the connection is closed and
 * every later call returns VIGIL_SGNC_ERR_CLOSED: free the client and
 * connect again. */
#ifndef VIGIL_SGNCLIENT_H
#define VIGIL_SGNCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "vigil/sgnproto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes of connecting and calling. */
enum vigil_sgnc_err {
  VIGIL_SGNC_OK = 0,
  VIGIL_SGNC_ERR_PATH,     /* socket path empty or longer than sun_path */
  VIGIL_SGNC_ERR_CONNECT,  /* connect failed (not running, no permission);
                              errno says why */
  VIGIL_SGNC_ERR_TIMEOUT,  /* the deadline passed */
  VIGIL_SGNC_ERR_IO,       /* read or write failed (see the errno) */
  VIGIL_SGNC_ERR_CLOSED,   /* the signer closed the connection, or it was
                              closed after an earlier failure */
  VIGIL_SGNC_ERR_PROTO,    /* the reply did not decode; see
                              vigil_sgn_client_proto_err */
  VIGIL_SGNC_ERR_MISMATCH, /* the reply's id or op is not the request's */
  VIGIL_SGNC_ERR_REQUEST,  /* the request frame is not a valid request */
  VIGIL_SGNC_ERR_NOMEM,
};

struct vigil_sgn_client;

/* vigil_sgn_client_connect connects to the signer's socket at |path|
 * within |timeout_ms| milliseconds (<= 0: wait indefinitely). Replies are
 * accepted up to |max_frame| bytes (capped at VIGIL_SGN_MAX_FRAME; 0 means
 * VIGIL_SGN_MAX_FRAME). Returns a new client owned by the caller, or NULL
 * with |*out_err| set (and, for CONNECT, errno as connect(2) left it). */
struct vigil_sgn_client *vigil_sgn_client_connect(
    enum vigil_sgnc_err *out_err, const char *path, int timeout_ms,
    size_t max_frame) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_client_call sends the request frame |req| (|req_len| bytes,
 * from vigil_sgn_writer_finish) and waits for its reply, all within
 * |timeout_ms| milliseconds (<= 0: no deadline). The client writes a fresh
 * request id into |req| first. On VIGIL_SGNC_OK |*out_reply| is the
 * decoded reply (views into the client's buffer, valid until the next
 * call); its status may still be an error the signer reported. On failure
 * |*out_reply| is zeroed and, except for VIGIL_SGNC_ERR_REQUEST, the
 * connection is closed. */
enum vigil_sgnc_err vigil_sgn_client_call(struct vigil_sgn_client *c,
                                          struct vigil_sgn_msg *out_reply,
                                          uint8_t *req, size_t req_len,
                                          int timeout_ms) VIGIL_SGN_MUST_CHECK;

/* vigil_sgn_client_free closes the connection and releases |c|.
 * vigil_sgn_client_free(NULL) does nothing. */
void vigil_sgn_client_free(struct vigil_sgn_client *c);

/* vigil_sgn_client_errno returns the errno of the last IO failure on |c|
 * (0 if none). */
int vigil_sgn_client_errno(const struct vigil_sgn_client *c);

/* vigil_sgn_client_proto_err returns why the last reply failed to decode
 * (VIGIL_SGN_ERR_OK if it did not fail). */
enum vigil_sgn_err vigil_sgn_client_proto_err(const struct vigil_sgn_client *c);

/* vigil_sgnc_err_string returns a static description of |err|. */
const char *vigil_sgnc_err_string(enum vigil_sgnc_err err);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_SGNCLIENT_H */
