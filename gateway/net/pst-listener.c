/* pst-listener.c: the sockets of one bind address, and the HTTP server behind them
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE   /* accept4 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "pst-listener.h"
#include "pst-log-escape.h"
#include "pst-origin.h"
#include "pst-peer-address.h"
#include "pst-socket.h"

struct _PstListener
{
  GObject         parent_instance;
  char           *key;
  gboolean        tls;
  GPtrArray      *sockets;       /* GSocket listened on (non-blocking) */
  GPtrArray      *sources;       /* GSource: one accept watch per socket, while started */
  guint           yield_timeout; /* accept watches off for a moment: a sibling worker's turn */
  gboolean        resumed;       /* the first wake-up after that turn */
  SoupServer     *soup;
  PstRuntime     *runtime;
  GPtrArray      *routes;
  GHashTable     *connections;   /* set of PstConnection (owned), by identity */
  PstConnLimits  *limits;        /* the gateway's counts (shared) */
  guint           per_address;   /* tcp.maximum.connections.per.address, 0: none */
  int             silent_peer;    /* see keep_alive_enabler */
  gboolean        proxy_protocol; /* tcp.proxy-protocol: a PROXY header comes first */
  int             nodelay;        /* accepted sockets inherit TCP_NODELAY: -1 not known yet, 0 no, 1 yes */
  GTlsAuthenticationMode client_auth;
};

G_DEFINE_TYPE (PstListener, pst_listener, G_TYPE_OBJECT)

static void
pst_listener_dispose (GObject *object)
{
  PstListener *self = PST_LISTENER (object);

  pst_listener_shutdown (self);
  g_clear_object (&self->soup);
  g_clear_object (&self->runtime);
  g_clear_object (&self->limits);
  g_clear_pointer (&self->routes, g_ptr_array_unref);
  G_OBJECT_CLASS (pst_listener_parent_class)->dispose (object);
}

static void
pst_listener_finalize (GObject *object)
{
  PstListener *self = PST_LISTENER (object);

  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->sockets, g_ptr_array_unref);
  g_clear_pointer (&self->sources, g_ptr_array_unref);
  if (self->silent_peer > 0)
    close (self->silent_peer);
  g_free (self->key);
  G_OBJECT_CLASS (pst_listener_parent_class)->finalize (object);
}

static void
pst_listener_class_init (PstListenerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_listener_dispose;
  object_class->finalize = pst_listener_finalize;
}

static void
pst_listener_init (PstListener *self)
{
  self->connections = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  self->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  self->sources = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
  self->nodelay = -1;
}

/* Two clients may share an "ip:port" text (a 0.0.0.0 listener reached on
 * two local addresses, a reused port): the message's remote address is
 * the PstPeerAddress its connection handed to SoupServer, so the object
 * itself leads back, never its text. */
static PstConnection *
connection_for_message (PstListener *self, SoupServerMessage *msg)
{
  PstConnection *conn = pst_peer_address_lookup (soup_server_message_get_remote_address (msg));

  return conn != NULL && g_hash_table_contains (self->connections, conn) ? conn : NULL;
}

static void
request_read_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  PstConnection *conn = connection_for_message (user_data, msg);

  if (conn != NULL)
    pst_connection_request_started (conn, msg);
}

static void
message_disconnected_cb (PstConnection *conn)
{
  pst_connection_http_gone (conn);
}

static void
request_started_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  PstConnection *conn = connection_for_message (user_data, msg);

  if (conn == NULL)
    return;
  /* SoupServer drops a connection without telling us otherwise. */
  g_signal_connect_object (msg, "disconnected", G_CALLBACK (message_disconnected_cb), conn, G_CONNECT_SWAPPED);
}

static void
request_finished_cb (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  PstConnection *conn = connection_for_message (user_data, msg);
  GUri *uri = soup_server_message_get_uri (msg);

  /* uri is NULL when the client left in the middle of a request head. */
  if (conn != NULL && soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    pst_connection_request_finished (conn, uri == NULL ? NULL
                                           : pst_connection_find_route (conn, g_uri_get_host (uri),
                                                                        g_uri_get_path (uri)),
                                     soup_server_message_get_status (msg));
}

typedef struct {
  PstConnection *conn;
  PstRoute      *route;   /* owned by the connection's routes */
} Upgrade;

static void
upgrade_free (gpointer data, GClosure *closure)
{
  Upgrade *up = data;

  g_object_unref (up->conn);
  g_free (up);
}

static void
wrote_informational_cb (SoupServerMessage *msg, gpointer user_data)
{
  Upgrade *up = user_data;
  g_autoptr(GIOStream) stream = NULL;

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  pst_connection_upgrading (up->conn);
  stream = soup_server_message_steal_connection (msg);
  up->route->start_websocket (up->conn, up->route, stream);
}

/* A WebSocket request that is refused is over: tell the client so it
 * reports the status at once (python3-websockets waits for the close,
 * up to its open timeout, otherwise), and let SoupServer close. */
static void
refuse (SoupServerMessage *msg, guint status)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_header_contains (headers, "Upgrade", "websocket"))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");
  soup_server_message_set_status (msg, status, NULL);
}

void
pst_listener_serve_ca (PstConnection *conn, PstRoute *route, SoupServerMessage *msg)
{
  PstKeystore *keystore = pst_runtime_get_keystore (pst_connection_get_runtime (conn));
  const char *host = pst_connection_get_sni (conn) ? pst_connection_get_sni (conn) : route->url->host;
  PstStoreEntry *entry = keystore ? pst_keystore_find_for_host (keystore, host) : NULL;
  GPtrArray *chain;
  GBytes *top;
  g_autofree char *b64 = NULL;
  GString *pem;

  if (entry == NULL)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  /* The top of the chain: the local CA, or the self-signed certificate. */
  chain = pst_store_entry_get_chain (entry);
  top = g_ptr_array_index (chain, chain->len - 1);
  b64 = g_base64_encode (g_bytes_get_data (top, NULL), g_bytes_get_size (top));
  pem = g_string_new ("-----BEGIN CERTIFICATE-----\n");
  for (gsize i = 0, n = strlen (b64); i < n; i += 64)
    {
      g_string_append_len (pem, b64 + i, MIN (64, n - i));
      g_string_append_c (pem, '\n');
    }
  g_string_append (pem, "-----END CERTIFICATE-----\n");
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Content-Disposition", "attachment; filename=\"postern-ca.pem\"");
  soup_server_message_set_response (msg, "application/x-x509-ca-cert", SOUP_MEMORY_COPY, pem->str, pem->len);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  g_string_free (pem, TRUE);
}

static void
handle_websocket (PstListener *self, PstConnection *conn, PstRoute *route, SoupServerMessage *msg)
{
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *origin = soup_message_headers_get_one (headers, "Origin");
  Upgrade *up;

  if (!pst_origin_allowed (route->service, route->url, origin))
    {
      g_autofree char *safe = pst_log_escape (origin, -1);

      g_message ("client %s: WebSocket upgrade to service %s refused: origin \"%s\" is not allowed "
                 "(add it to the service's cross-site-constraint)",
                 pst_connection_get_peer (conn), pst_service_get_name (route->service), safe);
      refuse (msg, SOUP_STATUS_FORBIDDEN);
      return;
    }
  if (route->start_websocket == NULL || !soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      static const char body[] = "This is a WebSocket endpoint: connect with a WebSocket client.\n";
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, body, sizeof body - 1);
      refuse (msg, SOUP_STATUS_BAD_REQUEST);
      return;
    }
  soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL);
  up = g_new0 (Upgrade, 1);
  up->conn = g_object_ref (conn);
  up->route = route;
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (wrote_informational_cb),
                         up, upgrade_free, 0);
}

static void
handler_cb (SoupServer        *server,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  PstListener *self = user_data;
  PstConnection *conn = connection_for_message (self, msg);
  GUri *uri = soup_server_message_get_uri (msg);
  PstRoute *route;

  if (conn == NULL)
    {
      refuse (msg, SOUP_STATUS_SERVICE_UNAVAILABLE);
      return;
    }
  route = pst_connection_find_route (conn, g_uri_get_host (uri), path);
  if (route == NULL)
    {
      refuse (msg, SOUP_STATUS_NOT_FOUND);
      return;
    }
  pst_connection_set_route (conn, route);
  if (route->serve_http != NULL)
    route->serve_http (conn, route, msg, path);
  else
    handle_websocket (self, conn, route, msg);
}

/* SoupServer 3.2 keeps a connection alive after a response only when it
 * has a listener of its own ("priv->listeners" in request_finished); we
 * accept the sockets ourselves (TLS with SNI, limits) and hand them over
 * with soup_server_accept_iostream.  So it gets one end of a socket pair
 * as its "listener": never readable, it accepts nothing. */
static void
keep_alive_enabler (PstListener *self)
{
  int fds[2];
  g_autoptr(GSocket) end = NULL;
  g_autoptr(GError) error = NULL;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    return;
  end = g_socket_new_from_fd (fds[0], &error);
  self->silent_peer = fds[1];
  if (end == NULL || !soup_server_listen_socket (self->soup, end, 0, &error))
    g_warning ("HTTP keep-alive unavailable: %s", error ? error->message : "no socket");
}

PstListener *
pst_listener_new (const char *key, gboolean tls)
{
  PstListener *self = g_object_new (PST_TYPE_LISTENER, NULL);

  self->key = g_strdup (key);
  self->tls = tls;
  /* raw-paths: the directory service must see percent-encoding to refuse
   * encoded dots and slashes. */
  self->soup = soup_server_new ("server-header", "Postern", "raw-paths", TRUE, NULL);
  soup_server_add_handler (self->soup, NULL, handler_cb, self, NULL);
  keep_alive_enabler (self);
  g_signal_connect_object (self->soup, "request-read", G_CALLBACK (request_read_cb), self, 0);
  g_signal_connect_object (self->soup, "request-started", G_CALLBACK (request_started_cb), self, 0);
  g_signal_connect_object (self->soup, "request-finished", G_CALLBACK (request_finished_cb), self, 0);
  return self;
}

const char *
pst_listener_get_key (PstListener *self)
{
  return self->key;
}

/* Several processes (a master's workers) wait on the same listening
 * socket and all wake for one client: a blocking GSocket would make the
 * losers wait inside accept() with their main loop stuck, so the socket
 * is non-blocking and we accept ourselves (GSocketService warns at every
 * lost race, and takes one client per main-loop turn). */
static void
add_listening (PstListener *self, GSocket *socket)
{
  g_socket_set_blocking (socket, FALSE);
  /* Linux hands it down to each accepted socket (one setsockopt per
   * client fewer); the first client tells whether it did. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_ptr_array_add (self->sockets, socket);
}

gboolean
pst_listener_add_address (PstListener *self, GSocketAddress *address, GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) local_error = NULL;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  if (g_socket_address_get_family (address) == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, NULL);
  g_socket_set_listen_backlog (socket, 1024);
  if (!g_socket_bind (socket, address, TRUE, &local_error) || !g_socket_listen (socket, &local_error))
    {
      g_autofree char *where = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                   _("cannot listen on %s: %s (is another gateway running? change the port in the accept URL)"),
                   where, local_error->message);
      return FALSE;
    }
  add_listening (self, g_steal_pointer (&socket));
  return TRUE;
}

gboolean
pst_listener_add_socket (PstListener *self, GSocket *inherited, GError **error)
{
  g_autoptr(GSocket) socket = NULL;
  int fd = fcntl (g_socket_get_fd (inherited), F_DUPFD_CLOEXEC, 3);

  /* A copy: stopping this listener closes it, while the inherited one
   * stays open for a later configuration (the service manager keeps its
   * own, and queues connections meanwhile). */
  if (fd < 0 || (socket = g_socket_new_from_fd (fd, error)) == NULL)
    {
      if (fd >= 0)
        close (fd);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "dup: %s", g_strerror (errno));
      return FALSE;
    }
  add_listening (self, g_steal_pointer (&socket));
  return TRUE;
}

/* accept4() with the flags GIO would set afterwards (two fcntl calls
 * fewer), the peer's address from the same call (no getpeername), and a
 * GSocket told what it is rather than asking (PstSocket: six system
 * calls fewer).  NULL when nothing is left (or on an error, logged at
 * debug level). */
static GSocketConnection *
accept_one (PstListener *self, GSocket *listening, GSocketAddress **remote)
{
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  g_autoptr(GSocket) socket = NULL;
  int fd;

  do
    fd = accept4 (g_socket_get_fd (listening), (struct sockaddr *) &peer, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      /* Another worker took it, or nothing is left. */
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        g_debug ("accept on %s: %s", self->key, g_strerror (errno));
      return NULL;
    }
  socket = pst_socket_new_accepted (fd, peer.ss_family);
  *remote = g_socket_address_new_from_native (&peer, len);
  return g_socket_connection_factory_create_connection (socket);
}

/* TCP_NODELAY: inherited from the listening socket (Linux), or set. */
static void
no_delay (PstListener *self, GSocket *socket)
{
  gint value = 0;

  if (self->nodelay < 0)
    self->nodelay = g_socket_get_option (socket, IPPROTO_TCP, TCP_NODELAY, &value, NULL) && value != 0;
  if (self->nodelay == 0)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

static void
incoming (PstListener *self, GSocketConnection *connection, GSocketAddress *remote)
{
  PstConnection *conn;
  GInetAddress *ip = G_IS_INET_SOCKET_ADDRESS (remote)
                     ? g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)) : NULL;

  if (ip == NULL || self->limits == NULL || self->runtime == NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  /* Refused with a plain close: nothing was read, and answering would
   * cost what the cap is there to save. The limits log it, rate-limited.
   * Behind a load balancer every connection comes from it: the cap per
   * address applies once the PROXY header names the client. */
  if (!pst_conn_limits_acquire (self->limits, ip, self->proxy_protocol ? 0 : self->per_address))
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  no_delay (self, g_socket_connection_get_socket (connection));
  conn = pst_connection_new (self, connection, remote, self->runtime, self->routes, self->tls, self->limits);
  g_hash_table_add (self->connections, conn);
  if (self->proxy_protocol)
    pst_connection_expect_proxy_header (conn);
  pst_connection_start (conn);
}

#define ACCEPTS_PER_WAKEUP 64
#define YIELD_MS           2

static void add_accept_watches (PstListener *self);

static gboolean
yield_done_cb (gpointer user_data)
{
  PstListener *self = user_data;

  self->yield_timeout = 0;
  self->resumed = TRUE;
  add_accept_watches (self);
  return G_SOURCE_REMOVE;
}

static void
remove_accept_watches (PstListener *self)
{
  for (guint i = 0; self->sources != NULL && i < self->sources->len; i++)
    g_source_destroy (self->sources->pdata[i]);
  if (self->sources != NULL)
    g_ptr_array_set_size (self->sources, 0);
}

/* Every worker of a master waits on the same sockets, and the first one
 * the kernel wakes would take a whole burst: one that holds clearly more
 * connections than a sibling stops accepting for YIELD_MS, which lets the
 * sibling take the clients waiting.  Then it takes some of what is still
 * waiting (a sibling may be busy or stuck): every turn serves clients,
 * and none is lost. */
static gboolean
accept_ready_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PstListener *self = user_data;
  /* After our turn off, the clients still waiting are ours, as many as the
   * margin of the imbalance (then we look again): a sibling that does not
   * take them may be busy or stuck. */
  guint unchecked = self->resumed && self->limits != NULL
                    ? 4 + pst_conn_limits_get_live (self->limits) / 8 : 0;

  self->resumed = FALSE;
  /* Bounded, so that a flood of clients cannot starve the sessions. */
  for (guint i = 0; i < ACCEPTS_PER_WAKEUP; i++)
    {
      g_autoptr(GSocketAddress) remote = NULL;
      g_autoptr(GSocketConnection) connection = NULL;

      if (i >= unchecked && self->limits != NULL && pst_conn_limits_should_yield (self->limits))
        {
          if (i == 0)
            {
              remove_accept_watches (self);
              self->yield_timeout = g_timeout_add (YIELD_MS, yield_done_cb, self);
              return G_SOURCE_REMOVE;
            }
          break;   /* the next wake-up decides again */
        }
      connection = accept_one (self, socket, &remote);
      if (connection == NULL)
        break;
      incoming (self, connection, remote);
      if (self->sources->len == 0)   /* stopped meanwhile */
        break;
    }
  return G_SOURCE_CONTINUE;
}

void
pst_listener_set_snapshot (PstListener *self, PstRuntime *runtime, GPtrArray *routes)
{
  guint64 cap = 0;

  g_set_object (&self->runtime, runtime);
  g_clear_pointer (&self->routes, g_ptr_array_unref);
  self->routes = g_ptr_array_ref (routes);
  /* Services sharing a port share its sockets: the strictest cap applies. */
  self->per_address = 0;
  for (guint i = 0; i < routes->len; i++)
    {
      PstRoute *route = g_ptr_array_index (routes, i);
      const char *value = pst_options_get (pst_service_get_accept_options (route->service),
                                           "tcp.maximum.connections.per.address");

      if (value != NULL && g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &cap, NULL))
        self->per_address = self->per_address == 0 ? (guint) cap : MIN (self->per_address, (guint) cap);
    }
  if (self->per_address == 0)
    self->per_address = PST_CONN_LIMITS_PER_ADDRESS_DEFAULT;
  /* The listen plan refuses routes on one listener that disagree. */
  self->proxy_protocol = routes->len > 0 &&
    pst_options_get_proxy_protocol (pst_service_get_accept_options (
      ((PstRoute *) g_ptr_array_index (routes, 0))->service));
}

guint
pst_listener_get_per_address (PstListener *self)
{
  return self->per_address;
}

void
pst_listener_set_client_auth (PstListener *self, GTlsAuthenticationMode mode)
{
  self->client_auth = mode;
}

GTlsAuthenticationMode
pst_listener_get_client_auth (PstListener *self)
{
  return self->client_auth;
}

void
pst_listener_start (PstListener *self)
{
  g_clear_handle_id (&self->yield_timeout, g_source_remove);
  add_accept_watches (self);
}

static void
add_accept_watches (PstListener *self)
{
  if (self->sources->len > 0)
    return;
  for (guint i = 0; i < self->sockets->len; i++)
    {
      GSource *source = g_socket_create_source (self->sockets->pdata[i], G_IO_IN, NULL);

      g_source_set_callback (source, G_SOURCE_FUNC (accept_ready_cb), self, NULL);
      /* GLib 2.74 blocks a non-recursive source while dispatching it:
       * its descriptor leaves the context and comes back, each change
       * waking the context (an eventfd write, then an empty iteration)
       * at every accept wake-up.  accept_ready_cb may safely be
       * re-entered (each round takes what the kernel has, bounded). */
      g_source_set_can_recurse (source, TRUE);
      g_source_attach (source, g_main_context_get_thread_default ());
      g_ptr_array_add (self->sources, source);
    }
}

void
pst_listener_stop (PstListener *self)
{
  g_clear_handle_id (&self->yield_timeout, g_source_remove);
  remove_accept_watches (self);
  for (guint i = 0; self->sockets != NULL && i < self->sockets->len; i++)
    g_socket_close (self->sockets->pdata[i], NULL);
  if (self->sockets != NULL)
    g_ptr_array_set_size (self->sockets, 0);
}

void
pst_listener_shutdown (PstListener *self)
{
  pst_listener_stop (self);
  if (self->connections != NULL)
    {
      g_autoptr(GList) conns = g_hash_table_get_values (self->connections);
      for (GList *l = conns; l != NULL; l = l->next)
        pst_connection_shutdown (l->data);
    }
}

void
pst_listener_drain (PstListener *self)
{
  gboolean status_only = self->routes != NULL && self->routes->len > 0;

  for (guint i = 0; status_only && i < self->routes->len; i++)
    status_only = pst_route_serves_status (g_ptr_array_index (self->routes, i));
  if (!status_only)
    {
      pst_listener_shutdown (self);
      return;
    }
  /* Kept-alive probes are closed; new ones are answered 503 (and closed). */
  if (self->connections != NULL)
    {
      g_autoptr(GList) conns = g_hash_table_get_values (self->connections);
      for (GList *l = conns; l != NULL; l = l->next)
        pst_connection_shutdown (l->data);
    }
}

/**
 * pst_listener_get_sockets:
 *
 * Returns: (transfer none) (element-type GSocket): the listening sockets,
 *   empty once stopped
 */
GPtrArray *
pst_listener_get_sockets (PstListener *self)
{
  return self->sockets;
}

guint
pst_listener_get_n_connections (PstListener *self)
{
  return g_hash_table_size (self->connections);
}

SoupServer *
pst_listener_get_soup_server (PstListener *self)
{
  return self->soup;
}

void
pst_listener_set_limits (PstListener *self, PstConnLimits *limits)
{
  g_set_object (&self->limits, limits);
}

void
pst_listener_connection_ended (PstListener *self, PstConnection *connection)
{
  g_hash_table_remove (self->connections, connection);
}
