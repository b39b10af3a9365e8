/* pst-tls-client.h: the back-end leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A GIOStream speaking TLS (client side) over a connected socket, with
 * pollable input and output.  It keeps no certificate and no trust state
 * per connection: one set of GnuTLS credentials serves every back-end
 * connection, and the caller checks the chain (pst_tls_client_dup_peer_chain)
 * after every handshake, resumed or not.  Sessions to the same back-end
 * are resumed (one ticket kept per back-end).  glib-networking's client
 * connection keeps ~30 KiB per connection for the same job (the peer's
 * parsed certificate, credentials with an empty trust list, a copy of the
 * session ticket). */
#define PST_TYPE_TLS_CLIENT (pst_tls_client_get_type ())
G_DECLARE_FINAL_TYPE (PstTlsClient, pst_tls_client, PST, TLS_CLIENT, GIOStream)

/* base: a GSocketConnection.  server_name: sent as SNI (not for an IP
 * address) and the key of the resumption cache with port. */
PstTlsClient *pst_tls_client_new              (GSocketConnection    *base,
                                               const char           *server_name,
                                               guint16               port,
                                               GError              **error);
/* Fails with G_IO_ERROR_TIMED_OUT after timeout_s seconds. */
void          pst_tls_client_handshake_async  (PstTlsClient         *self,
                                               guint                 timeout_s,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
gboolean      pst_tls_client_handshake_finish (PstTlsClient         *self,
                                               GAsyncResult         *result,
                                               GError              **error);
/* The chain the server sent (or the resumed session's), leaf first, as a
 * GTlsCertificate made now (the caller drops it after checking); NULL if
 * there is none. */
GTlsCertificate *pst_tls_client_dup_peer_chain (PstTlsClient       *self);
gboolean      pst_tls_client_is_resumed       (PstTlsClient         *self);

G_END_DECLS
