/* pst-tls-client.h: the back-end leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-tls-session.h"

G_BEGIN_DECLS

/* A PstTlsSession on the client side.  It keeps no certificate and no
 * trust state per connection: one set of GnuTLS credentials serves every
 * back-end connection, and the caller checks the chain
 * (pst_tls_session_dup_peer_chain) after every handshake, resumed or not.
 * Sessions to the same back-end are resumed (one ticket kept per
 * back-end).  glib-networking's client connection keeps ~30 KiB per
 * connection for the same job (the peer's parsed certificate, credentials
 * with an empty trust list, a copy of the session ticket). */
#define PST_TYPE_TLS_CLIENT (pst_tls_client_get_type ())
G_DECLARE_FINAL_TYPE (PstTlsClient, pst_tls_client, PST, TLS_CLIENT, PstTlsSession)

/* base: a GSocketConnection.  server_name: sent as SNI (not for an IP
 * address) and the key of the resumption cache with port.  Then
 * pst_tls_session_handshake_async (). */
PstTlsClient *pst_tls_client_new              (GSocketConnection    *base,
                                               const char           *server_name,
                                               guint16               port,
                                               GError              **error);

G_END_DECLS
