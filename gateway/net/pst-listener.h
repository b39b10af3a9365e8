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
/* The snapshot new connections get (routes: PstRoute, shared). */
void         pst_listener_set_snapshot     (PstListener *self, PstRuntime *runtime, GPtrArray *routes);
void         pst_listener_start            (PstListener *self);
void         pst_listener_stop             (PstListener *self);
guint        pst_listener_get_n_connections (PstListener *self);
/* live: the gateway-wide count of open connections, shared by its
 * listeners; at max, new clients are refused (and it is logged). */
void         pst_listener_set_limit        (PstListener *self, guint *live, guint max);

/* for PstConnection */
SoupServer  *pst_listener_get_soup_server  (PstListener *self);
void         pst_listener_connection_ended (PstListener *self, PstConnection *connection);

G_END_DECLS
