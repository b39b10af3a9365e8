/* pst-connection.h: one accepted client: TLS with SNI, then HTTP/WebSocket
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>
#include "pst-conn-limits.h"
#include "pst-runtime.h"
#include "pst-websocket.h"

G_BEGIN_DECLS

typedef struct _PstListener PstListener;
typedef struct _PstRoute PstRoute;
typedef struct _PstConnection PstConnection;

/* What a route does with its client, chosen once when the routes are built
 * (never by comparing type names per connection). */
typedef void (*PstRouteStartFunc) (PstConnection *conn, PstRoute *route, GIOStream *stream);
typedef void (*PstRouteServeFunc) (PstConnection *conn, PstRoute *route, SoupServerMessage *msg,
                                   const char *path);

/* One accept URL of one service, as bound on a listener. */
struct _PstRoute
{
  PstService        *service;
  PstUrl            *url;
  gboolean           tls;          /* secure scheme with ssl.encryption enabled */
  /* tcp/ssl accepts: the stream carries bytes, not HTTP */
  PstRouteStartFunc  start_bytes;
  /* ws/wss: the upgraded stream (NULL: the service does not take WebSockets) */
  PstRouteStartFunc  start_websocket;
  /* plain HTTP requests (NULL: only WebSocket upgrades) */
  PstRouteServeFunc  serve_http;
};

/* A route for service at url (taken), its handlers chosen by the service
 * type; NULL with an error when this build cannot serve that type. */
PstRoute *pst_route_new  (PstService *service, PstUrl *url, gboolean tls, GError **error);
void      pst_route_free (PstRoute *route);
/* TRUE for a route of a status service (/health, /metrics) */
gboolean  pst_route_serves_status (PstRoute *route);
/* The WebSocket limits of a route's accept options (maximum message size,
 * inactivity timeout: 120 s unless ws.inactivity.timeout says otherwise, 0
 * for none) for a PstWebsocket on that route. */
void pst_route_websocket_options (PstRoute *route, gboolean server, PstWebsocketOptions *options);

#define PST_TYPE_CONNECTION (pst_connection_get_type ())
G_DECLARE_FINAL_TYPE (PstConnection, pst_connection, PST, CONNECTION, GObject)

PstConnection *pst_connection_new          (PstListener       *listener,
                                            GSocketConnection *socket_connection,
                                            GSocketAddress    *remote,   /* the peer's, as accepted */
                                            PstRuntime        *runtime,
                                            GPtrArray         *routes,   /* PstRoute, shared */
                                            gboolean           tls,
                                            PstConnLimits     *limits);
/* tcp.proxy-protocol: the connection starts with a PROXY header, whose
 * source becomes the client's address (call before start). */
void           pst_connection_expect_proxy_header (PstConnection *self);
void           pst_connection_start        (PstConnection *self);
/* The client's address (the PROXY header's source when there was one),
 * and the gateway's end of the accepted socket; nullable. */
GInetSocketAddress *pst_connection_get_client_address (PstConnection *self);
GInetSocketAddress *pst_connection_get_local_address  (PstConnection *self);
const char    *pst_connection_get_peer     (PstConnection *self);   /* "127.0.0.1:5555" */
const char    *pst_connection_get_sni      (PstConnection *self);   /* nullable */
PstRuntime    *pst_connection_get_runtime  (PstConnection *self);
/* Which route serves (Host, path); NULL when none. */
PstRoute      *pst_connection_find_route   (PstConnection *self, const char *host, const char *path);
/* A request head was read: its deadline no longer applies, except for a
 * WebSocket upgrade, whose deadline runs until the 101 is out. */
void           pst_connection_request_started (PstConnection *self, SoupServerMessage *msg);
/* A response is complete: an idle kept-alive connection is closed after
 * the route's http.keepalive.timeout (default 30 s), and the next request
 * head is capped and timed from its first byte.  (SoupServer 3.2 emits
 * request-started for a kept-alive connection's next request only once its
 * head has been read: too late for either.) */
/* status: the response's (a 4xx marks the connection failed: logged at
 * info even on a status service) */
void           pst_connection_request_finished (PstConnection *self, PstRoute *route, guint status);
/* Record what the close log line says */
/* The route serving the connection is known: the first call logs the
 * "open" line (service, client, TLS, SNI, client certificate, back-end). */
void           pst_connection_set_route    (PstConnection *self, PstRoute *route);
void           pst_connection_set_backend  (PstConnection *self, const char *backend);
void           pst_connection_set_close    (PstConnection *self, gushort code, const char *reason,
                                            guint64 bytes_in, guint64 bytes_out);
/* The running session (echo, proxy) closes itself gracefully with this
 * when the gateway stops; NULL when the session is over. */
typedef void (*PstSessionShutdown) (gpointer session);
void           pst_connection_set_session  (PstConnection *self, PstSessionShutdown shutdown, gpointer session);
/* Graceful: the session's close handshake, else abort */
void           pst_connection_shutdown     (PstConnection *self);
/* The connection is over: log its line, leave the listener */
void           pst_connection_end          (PstConnection *self);
/* The 101 is out: the stream is about to leave SoupServer for a session */
void           pst_connection_upgrading    (PstConnection *self);
/* SoupServer let go of it: over, unless a session took the stream */
void           pst_connection_http_gone    (PstConnection *self);
/* Close now (deadline, shutdown) */
void           pst_connection_abort        (PstConnection *self);

G_END_DECLS
