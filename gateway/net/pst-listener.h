/* pst-listener.h: the sockets of one bind address, and the HTTP server behind them
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>
#include "pst-connection.h"
#include "pst-runtime.h"

G_BEGIN_DECLS

#define PST_TYPE_LISTENER (pst_listener_get_type ())
G_DECLARE_FINAL_TYPE (PstListener, pst_listener, PST, LISTENER, GObject)

/* key: "tls|127.0.0.1:9000,[::1]:9000" — listeners with the same key
 * survive a reload. */
PstListener *pst_listener_new              (const char *key, gboolean tls);
const char  *pst_listener_get_key          (PstListener *self);
gboolean     pst_listener_add_address      (PstListener *self, GSocketAddress *address, GError **error);
/* An inherited listening socket (socket activation), used as it is */
gboolean     pst_listener_add_socket       (PstListener *self, GSocket *socket, GError **error);
/* The snapshot new connections get (routes: PstRoute, shared). */
void         pst_listener_set_snapshot     (PstListener *self, PstRuntime *runtime, GPtrArray *routes);
/* ssl.verify-client as the listen plan agreed it for every route here. */
void         pst_listener_set_client_auth  (PstListener *self, GTlsAuthenticationMode mode);
GTlsAuthenticationMode pst_listener_get_client_auth (PstListener *self);
void         pst_listener_start            (PstListener *self);
/* Stop accepting; established connections go on (a reload that drops
 * this listener keeps them until they end). */
void         pst_listener_stop             (PstListener *self);
/* Stop accepting and close every connection gracefully. */
void         pst_listener_shutdown         (PstListener *self);
/* The gateway is stopping: like shutdown, except that a listener that
 * serves only status routes goes on accepting, so that /health can say
 * 503 while the sessions of the others drain. */
void         pst_listener_drain            (PstListener *self);
guint        pst_listener_get_n_connections (PstListener *self);
/* The bound sockets (a master hands them down to its workers) */
GPtrArray   *pst_listener_get_sockets      (PstListener *self);
/* The gateway-wide counts, shared by its listeners and taken back by each
 * connection as it ends; a full gateway or a client address at the
 * listener's tcp.maximum.connections.per.address is refused. */
void         pst_listener_set_limits       (PstListener *self, PstConnLimits *limits);

/* for PstConnection */
SoupServer  *pst_listener_get_soup_server  (PstListener *self);
/* tcp.maximum.connections.per.address in force (after a PROXY header) */
guint        pst_listener_get_per_address  (PstListener *self);
/* GET <directory>/postern-ca.pem: the top of the keystore's chain */
void         pst_listener_serve_ca         (PstConnection *conn, PstRoute *route, SoupServerMessage *msg);
void         pst_listener_connection_ended (PstListener *self, PstConnection *connection);

G_END_DECLS
