/* pst-tls-server.h: the accept leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-tls-session.h"

G_BEGIN_DECLS

/* A PstTlsSession on the server side.  Its GnuTLS credentials (the
 * certificate's chain and key) are made once per GTlsCertificate and kept
 * with it, so a config snapshot's certificate serves every connection
 * without being imported again; there is no trust list in them.  With a
 * ticket key, clients resume their sessions (TLS 1.2 and 1.3 tickets).
 * glib-networking's GTlsServerConnection keeps ~23 KiB per connection
 * and runs its handshake and close in GIO's thread pool. */
#define PST_TYPE_TLS_SERVER (pst_tls_server_get_type ())
G_DECLARE_FINAL_TYPE (PstTlsServer, pst_tls_server, PST, TLS_SERVER, PstTlsSession)

/* base: the accepted GSocketConnection; cert: with its private key (and
 * its issuers, sent with it); ticket_key: from
 * gnutls_session_ticket_key_generate (), nullable (no resumption).
 * mode: whether to ask the client for a certificate; one it sends is
 * checked against trust during the handshake (a refused one fails it
 * with G_TLS_ERROR_BAD_CERTIFICATE, see pst_tls_server_get_refused ()).
 * Then pst_tls_session_handshake_async (). */
PstTlsServer *pst_tls_server_new          (GSocketConnection      *base,
                                           GTlsCertificate        *cert,
                                           GBytes                 *ticket_key,
                                           GTlsAuthenticationMode  mode,
                                           GTlsDatabase           *trust,
                                           GError                **error);
/* Sends now what the server holds back after its handshake (the TLS 1.3
 * session ticket, which otherwise goes out with the next record): for a
 * connection handed to another reader or writer. */
void             pst_tls_server_flush       (PstTlsServer         *self);
/* The client certificate the handshake refused (transfer none, nullable)
 * and why. */
GTlsCertificate *pst_tls_server_get_refused (PstTlsServer         *self,
                                             GTlsCertificateFlags *errors);

/* Session tickets across a master's workers: the master makes one key
 * (in a sealed memfd it passes to every worker); each worker adopts it,
 * so any worker resumes any worker's ticket.  Without a master, each
 * config snapshot makes its own (pst_runtime_get_ticket_key ()). */
int           pst_tls_server_ticket_key_fd_new (GError **error);
gboolean      pst_tls_server_adopt_ticket_key  (int fd, GError **error);
/* The adopted key, or NULL (transfer none) */
GBytes       *pst_tls_server_get_shared_ticket_key (void);

G_END_DECLS
