/* sgn_server.h: vigil-signer's Unix-socket server.
 *
 * One listening socket (mode 0600, created under umask 0177 and chmod'ed;
 * a stale socket file left by a crash is replaced, a live one — another
 * signer answering on it — is not), an acceptor thread, and one thread
 * per client connection up to max-connections (further clients get a BUSY
 * reply and are closed). Each accepted peer's uid is checked with
 * SO_PEERCRED before anything is read: other uids get a DENIED reply, are
 * logged and closed.
 *
 * A connection reads one frame at a time (length word first, so an
 * oversized frame is refused before its body is read), answers it, and
 * reads the next: replies go out in request order. A frame that does not
 * decode is answered with an error reply (MALFORMED, VERSION or
 * TOO_LARGE) and the connection is closed, since the stream can no longer
 * be trusted to be in sync. Timeouts: idle-timeout between requests,
 * io-timeout for receiving or sending one frame. */
#ifndef SGN_SERVER_H
#define SGN_SERVER_H

#include <stddef.h>

#include "sgn_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sgn_server;

/* sgn_server_start binds the configured socket and starts accepting.
 * |ctx| is borrowed until sgn_server_stop. Returns a new server, or NULL
 * with a message in |err|. */
struct sgn_server *sgn_server_start(char *err, size_t err_len,
                                    const struct sgn_ctx *ctx) VIGIL_MUST_CHECK;

/* sgn_server_stop stops accepting, shuts down open connections (a request
 * being signed completes first; its reply is dropped), waits for every
 * thread, removes the socket file and frees |s|. NULL does nothing. */
void sgn_server_stop(struct sgn_server *s);

#ifdef __cplusplus
}
#endif

#endif /* SGN_SERVER_H */
