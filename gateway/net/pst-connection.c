/* pst-connection.c: one accepted client: deadlines, HTTP hand-off, its log lines
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <glib/gi18n-lib.h>

#include "pst-connection-private.h"
#include "pst-directory.h"
#include "pst-echo.h"
#include "pst-listener.h"
#include "pst-log-escape.h"
#include "pst-peer-address.h"
#include "pst-proxy.h"
#include "pst-status.h"
#include "pst-tls-server.h"

G_DEFINE_TYPE (PstConnection, pst_connection, G_TYPE_OBJECT)

static void
serve_directory (PstConnection *conn, PstRoute *route, SoupServerMessage *msg, const char *path)
{
  const char *base = route->url->path;
  gsize base_len = strlen (base);

  if (base_len > 0 && base[base_len - 1] == '/')
    base_len--;
  if (g_str_equal (path + base_len, "/postern-ca.pem"))
    pst_listener_serve_ca (conn, route, msg);
  else
    pst_directory_serve (route->service, msg, path + base_len);
}

static void
serve_status (PstConnection *conn, PstRoute *route, SoupServerMessage *msg, const char *path)
{
  gsize base_len = strlen (route->url->path);

  if (base_len > 0 && route->url->path[base_len - 1] == '/')
    base_len--;
  pst_status_serve (pst_runtime_get_metrics (conn->runtime), conn->runtime, msg, path + base_len);
}

PstRoute *
pst_route_new (PstService *service, PstUrl *url, gboolean tls, GError **error)
{
  const char *type = pst_service_get_service_type (service);
  g_autoptr(PstUrl) owned = url;
  PstRoute *route;

  route = g_new0 (PstRoute, 1);
  if (g_str_equal (type, "echo"))
    route->start_websocket = pst_echo_start;
  else if (g_str_equal (type, "proxy"))
    {
      route->start_websocket = pst_proxy_start_websocket;
      route->start_bytes = pst_proxy_start_bytes;
    }
  else if (g_str_equal (type, "directory"))
    route->serve_http = serve_directory;
  else if (g_str_equal (type, "status"))
    route->serve_http = serve_status;
  else
    {
      g_free (route);
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID,
                   _("service %s: type “%s” cannot be served by this build yet"),
                   pst_service_get_name (service), type);
      return NULL;
    }
  /* tcp:// and ssl:// accepts carry bytes, not HTTP. */
  if (!g_str_equal (owned->scheme, "tcp") && !g_str_equal (owned->scheme, "ssl"))
    route->start_bytes = NULL;
  route->service = g_object_ref (service);
  route->url = g_steal_pointer (&owned);
  route->tls = tls;
  return route;
}

gboolean
pst_route_serves_status (PstRoute *route)
{
  return route->serve_http == serve_status;
}

void
pst_route_free (PstRoute *route)
{
  g_clear_object (&route->service);
  g_clear_pointer (&route->url, pst_url_free);
  g_free (route);
}

void
pst_route_websocket_options (PstRoute *route, gboolean server, PstWebsocketOptions *options)
{
  PstOptions *accept = pst_service_get_accept_options (route->service);
  guint64 max = 0, inactivity = 0;

  pst_options_get_size (accept, "ws.maximum.message.size", 0, &max);
  /* A silent peer is pinged after this and dropped after twice as long; a
   * healthy client answers the ping.  An explicit 0 means never. */
  pst_options_get_duration_ms (accept, "ws.inactivity.timeout", 120000, &inactivity);
  options->server = server;
  options->max_message_size = max;
  options->inactivity_ms = (guint) MIN (inactivity, G_MAXUINT);
  options->high_water = 1024 * 1024;
}

static void
pst_connection_finalize (GObject *object)
{
  PstConnection *self = PST_CONNECTION (object);

  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->peek_id, g_source_remove);
  pst_connection_tls_head_clear (self);
  g_clear_pointer (&self->peek_watch, pst_poller_watch_free);
  if (self->listener != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->listener), (gpointer *) &self->listener);
  if (self->head_limit != NULL)
    {
      pst_head_limit_stream_set_first_byte_func (self->head_limit, NULL, NULL);
      pst_head_limit_stream_set_eof_func (self->head_limit, NULL, NULL);
      g_object_remove_weak_pointer (G_OBJECT (self->head_limit), (gpointer *) &self->head_limit);
    }
  g_clear_object (&self->cancellable);
  g_clear_object (&self->runtime);
  g_clear_object (&self->limits);
  g_clear_object (&self->client_ip);
  g_clear_object (&self->remote);
  g_clear_object (&self->local);
  g_clear_pointer (&self->proxy, g_free);
  g_free (self->via);
  g_clear_pointer (&self->routes, g_ptr_array_unref);
  g_free (self->peer);
  g_free (self->sni);
  g_free (self->tls_info);
  g_free (self->client_subject);
  g_free (self->service);
  g_free (self->backend);
  g_free (self->close_reason);
  G_OBJECT_CLASS (pst_connection_parent_class)->finalize (object);
}

static void
pst_connection_class_init (PstConnectionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_connection_finalize;
}

static void
pst_connection_init (PstConnection *self)
{
  self->cancellable = g_cancellable_new ();
  self->peek_lowat = 1;   /* the kernel's default */
  self->started_us = g_get_monotonic_time ();
}

/* The socket connection is gone (SoupServer or the pump let go of it):
 * the client connection is over, say so once. */
static void socket_gone_cb (gpointer data, GObject *where_the_object_was);

/* " tls=… sni=… client-cert=…" for the open and close lines; what the
 * client chose (SNI, its certificate's subject) is escaped. */
static char *
dup_tls_fields (PstConnection *self)
{
  GString *out = g_string_new (NULL);

  if (self->via != NULL)
    g_string_append_printf (out, " via=%s", self->via);
  if (self->tls_info != NULL)
    g_string_append_printf (out, " tls=%s", self->tls_info);
  if (self->sni != NULL)
    {
      g_autofree char *sni = pst_log_escape (self->sni, -1);
      g_string_append_printf (out, " sni=%s", sni);
    }
  if (self->client_subject != NULL)
    {
      g_autofree char *subject = pst_log_escape (self->client_subject, -1);
      g_string_append_printf (out, " client-cert=\"%s\"", subject);
    }
  return g_string_free (out, FALSE);
}

/* The client connection is over (its session closed, SoupServer dropped
 * it, or the socket object is gone): log it once and leave the table. */
void
pst_connection_end (PstConnection *self)
{
  if (self->ended)
    return;
  self->ended = TRUE;
  g_object_ref (self);
  if (self->socket_connection != NULL)
    g_object_weak_unref (G_OBJECT (self->socket_connection), socket_gone_cb, self);
  pst_connection_tls_head_clear (self);
  self->socket_connection = NULL;
  self->tls = NULL;
  g_clear_object (&self->hold);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->peek_id, g_source_remove);
  g_clear_pointer (&self->peek_watch, pst_poller_watch_free);
  if (self->service != NULL)
    {
      g_autofree char *fields = dup_tls_fields (self);
      g_autofree char *reason = pst_log_escape (self->close_reason ? self->close_reason : "", -1);

      g_autofree char *line = g_strdup_printf ("close %s client=%s%s backend=%s in=%" G_GUINT64_FORMAT
                                               " out=%" G_GUINT64_FORMAT " duration=%.3fs code=%u reason=\"%s\"",
                                               self->service, self->peer, fields,
                                               self->backend ? self->backend : "-",
                                               self->bytes_in, self->bytes_out,
                                               (g_get_monotonic_time () - self->started_us) / 1e6,
                                               self->close_code, reason);

      pst_connection_log (self, "close", line);
      /* tcp/ssl byte sessions log a code too, but have no close frame */
      pst_metrics_connection_closed (pst_runtime_get_metrics (self->runtime), self->service,
                                     self->bytes_in, self->bytes_out, self->upgraded ? self->close_code : 0);
    }
  else
    g_debug ("connection from %s ended", self->peer);
  /* The slot goes back where it came from, even when the listener that
   * accepted us was dropped by a reload or is gone. */
  if (self->limits != NULL && self->client_ip != NULL)
    pst_conn_limits_release (self->limits, self->client_ip);
  g_clear_object (&self->limits);
  if (self->listener != NULL)
    pst_listener_connection_ended (self->listener, self);
  g_object_unref (self);
}

void
pst_connection_upgrading (PstConnection *self)
{
  self->upgraded = TRUE;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
}

void
pst_connection_http_gone (PstConnection *self)
{
  /* Stealing the stream for a WebSocket session disconnects it from
   * SoupServer too: that is not the end of the connection. */
  if (!self->upgraded)
    pst_connection_end (self);
}

static void
socket_gone_cb (gpointer data, GObject *where_the_object_was)
{
  PstConnection *self = data;

  self->socket_connection = NULL;   /* already finalized: no weak_unref */
  pst_connection_end (self);
}

static void head_first_byte_cb (gpointer user_data);

PstConnection *
pst_connection_new (PstListener       *listener,
                    GSocketConnection *socket_connection,
                    GSocketAddress    *remote,
                    PstRuntime        *runtime,
                    GPtrArray         *routes,
                    gboolean           tls,
                    PstConnLimits     *limits)
{
  PstConnection *self = g_object_new (PST_TYPE_CONNECTION, NULL);
  g_autofree char *text = NULL;

  /* Weak: a listener disposed (gateway stopped) before its last
   * connection ends must not be called back. */
  self->listener = listener;
  g_object_add_weak_pointer (G_OBJECT (listener), (gpointer *) &self->listener);
  self->socket_connection = socket_connection;
  g_object_weak_ref (G_OBJECT (socket_connection), socket_gone_cb, self);
  self->hold = g_object_ref (socket_connection);
  self->runtime = g_object_ref (runtime);
  self->routes = g_ptr_array_ref (routes);
  self->use_tls = tls;
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    {
      /* The caller took a slot for this address from limits. */
      self->client_ip = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
      self->limits = limits ? g_object_ref (limits) : NULL;
      self->remote = G_SOCKET_ADDRESS (pst_peer_address_new (G_INET_SOCKET_ADDRESS (remote), self));
    }
  text = remote ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote)) : g_strdup ("?");
  self->peer = pst_log_escape (text, -1);
  /* the local address is asked for (getsockname) only when needed */
  return self;
}

void
pst_connection_expect_proxy_header (PstConnection *self)
{
  self->expect_proxy = TRUE;
}

GInetSocketAddress *
pst_connection_get_client_address (PstConnection *self)
{
  return G_IS_INET_SOCKET_ADDRESS (self->remote) ? G_INET_SOCKET_ADDRESS (self->remote) : NULL;
}

GInetSocketAddress *
pst_connection_get_local_address (PstConnection *self)
{
  if (self->local == NULL && self->socket_connection != NULL)
    {
      g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (self->socket_connection, NULL);

      if (G_IS_INET_SOCKET_ADDRESS (local))
        self->local = G_INET_SOCKET_ADDRESS (g_steal_pointer (&local));
    }
  return self->local;
}

const char *
pst_connection_get_peer (PstConnection *self)
{
  return self->peer;
}

const char *
pst_connection_get_sni (PstConnection *self)
{
  return self->sni;
}

PstRuntime *
pst_connection_get_runtime (PstConnection *self)
{
  return self->runtime;
}

void
pst_connection_abort (PstConnection *self)
{
  /* Dropping the socket below can end (and free) us through the weak ref. */
  g_autoptr(PstConnection) alive = g_object_ref (self);

  (void) alive;   /* held for its cleanup only */

  g_cancellable_cancel (self->cancellable);
  /* shutdown, not close: whoever reads the socket (SoupServer, a pump)
   * then sees the end and lets go of it; a closed descriptor would leave
   * its watch waiting forever. */
  if (self->socket_connection != NULL)
    g_socket_shutdown (g_socket_connection_get_socket (self->socket_connection), TRUE, TRUE, NULL);
  g_clear_object (&self->hold);
  pst_connection_end (self);
}

static gboolean
deadline_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  self->deadline_id = 0;
  self->failed = TRUE;
  g_message ("client %s: no %s within %d s; closing the connection",
             self->peer, self->deadline_what, DEADLINE_MS / 1000);
  pst_connection_abort (self);
  return G_SOURCE_REMOVE;
}

static void
arm_deadline (PstConnection *self, const char *what)
{
  self->deadline_what = what;
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  self->deadline_id = g_timeout_add (DEADLINE_MS, deadline_cb, self);
}

static gboolean
is_websocket_request (SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  return soup_message_headers_header_contains (headers, "Upgrade", "websocket");
}

void
pst_connection_request_started (PstConnection *self, SoupServerMessage *msg)
{
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->head_limit != NULL)
    pst_head_limit_stream_disarm (self->head_limit);
  /* An upgrade is not done until the 101 is out (pst_connection_upgrading);
   * any other request is in its handler's hands now. */
  if (msg != NULL && is_websocket_request (msg))
    {
      if (self->deadline_id == 0)
        arm_deadline (self, "WebSocket upgrade");
      else
        self->deadline_what = "WebSocket upgrade";
    }
  else
    g_clear_handle_id (&self->deadline_id, g_source_remove);
}

/* The first byte of a request head on a kept-alive connection: the head
 * must be complete within the deadline, however slowly it trickles in. */
static void
head_first_byte_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->deadline_id == 0 && !self->ended)
    arm_deadline (self, "complete request head");
}

static gboolean
client_left_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  if (!self->ended && !self->upgraded && self->session == NULL)
    pst_connection_abort (self);
  return G_SOURCE_REMOVE;
}

/* The client closed between requests: the connection is over now, not
 * when the keep-alive timer fires (its slot, its descriptor, the open
 * count).  From an idle: SoupServer is in the middle of that read. */
static void
head_eof_cb (gpointer user_data)
{
  g_idle_add_full (G_PRIORITY_DEFAULT, client_left_cb, g_object_ref (user_data), g_object_unref);
}

static gboolean
keepalive_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  self->keepalive_id = 0;
  g_debug ("client %s: idle keep-alive connection closed", self->peer);
  pst_connection_abort (self);
  return G_SOURCE_REMOVE;
}

void
pst_connection_request_finished (PstConnection *self, PstRoute *route, guint status)
{
  guint64 ms = 30000;

  /* A probe that asked for what a status service does not serve (a wrong
   * path or method) is worth an info line; 503 is the health it asked for. */
  if (status >= 400 && status != SOUP_STATUS_SERVICE_UNAVAILABLE)
    self->failed = TRUE;

  if (route != NULL)
    pst_options_get_duration_ms (pst_service_get_accept_options (route->service),
                                 "http.keepalive.timeout", 30000, &ms);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->session == NULL && self->socket_connection != NULL)
    self->keepalive_id = g_timeout_add (MAX (ms, 1), keepalive_cb, self);
  /* The next request's head is counted (size cap) and timed (its first
   * byte arms the deadline) from here. */
  if (self->head_limit != NULL)
    pst_head_limit_stream_arm (self->head_limit);
}

void
pst_connection_hand_to_http (PstConnection *self, GIOStream *stream)
{
  PstRoute *first = g_ptr_array_index (self->routes, 0);
  /* what follows may end us (the listener lets go of its reference)
   * while we still use self */
  g_autoptr(PstConnection) alive = g_object_ref (self);

  (void) alive;   /* held for its cleanup only */
  if (self->listener == NULL)
    {
      pst_connection_abort (self);   /* the gateway stopped meanwhile */
      return;
    }
  if (first->start_bytes != NULL)
    {
      if (PST_IS_TLS_SERVER (self->tls))
        pst_tls_server_flush (PST_TLS_SERVER (self->tls));   /* its ticket */
      pst_connection_request_started (self, NULL);
      pst_connection_set_route (self, first);
      first->start_bytes (self, first, stream);
      g_clear_object (&self->hold);
      return;
    }
  if (stream == G_IO_STREAM (self->socket_connection))
    {
      if (!pst_connection_try_upgrade (self))
        pst_connection_hand_to_soup (self, stream);
    }
  else if (stream == self->tls)
    pst_connection_read_tls_head (self, stream);
  else
    pst_connection_hand_to_soup (self, stream);
}

void
pst_connection_hand_to_soup (PstConnection *self, GIOStream *stream)
{
  g_autoptr(GError) error = NULL;
  /* asked for (getsockname) only on this path, and kept */
  GSocketAddress *local = NULL;
  /* SoupServer may serve a request that is already there, and drop the
   * connection, before soup_server_accept_iostream returns: that can end
   * us (the listener lets go of its reference) while we still use self. */
  g_autoptr(PstConnection) alive = g_object_ref (self);
  g_autoptr(GIOStream) limited = NULL;

  (void) alive;   /* held for its cleanup only */
  if (self->listener == NULL || self->socket_connection == NULL)
    {
      pst_connection_abort (self);   /* the gateway stopped meanwhile */
      return;
    }
  /* the TLS 1.3 ticket held back after the handshake goes now */
  if (PST_IS_TLS_SERVER (self->tls))
    pst_tls_server_flush (PST_TLS_SERVER (self->tls));
  local = G_SOCKET_ADDRESS (pst_connection_get_local_address (self));
  limited = pst_head_limit_wrap (stream, HEAD_LIMIT, &self->head_limit);
  g_object_add_weak_pointer (G_OBJECT (self->head_limit), (gpointer *) &self->head_limit);
  pst_head_limit_stream_set_first_byte_func (self->head_limit, head_first_byte_cb, self);
  pst_head_limit_stream_set_eof_func (self->head_limit, head_eof_cb, self);
  /* self->remote, not a copy: SoupServer hands this very object back
   * with each message, which is how the listener finds us. */
  if (!soup_server_accept_iostream (pst_listener_get_soup_server (self->listener),
                                    limited, local, self->remote, &error))
    {
      g_warning ("client %s: %s", self->peer, error->message);
      pst_connection_abort (self);   /* may drop the last reference */
      return;
    }
  g_clear_object (&self->hold);
}

void
pst_connection_start (PstConnection *self)
{
  /* One deadline from accept: PROXY header, TLS handshake, request head. */
  arm_deadline (self, self->use_tls ? "TLS handshake and request" : "request");
  if (self->expect_proxy)
    {
      self->deadline_what = "PROXY protocol header";
      pst_connection_read_proxy_header (self);
    }
  else
    pst_connection_continue (self);
}

void
pst_connection_continue (PstConnection *self)
{
  self->deadline_what = self->use_tls ? "TLS handshake and request" : "request";
  if (self->use_tls)
    pst_connection_start_tls (self);
  else
    pst_connection_hand_to_http (self, G_IO_STREAM (self->socket_connection));
}

PstRoute *
pst_connection_find_route (PstConnection *self, const char *host, const char *path)
{
  PstRoute *best = NULL;
  gsize best_len = 0;
  gboolean best_host = FALSE;

  /* Longest path prefix wins; a route whose host matches the request's
   * Host header wins over one that does not. */
  for (guint i = 0; i < self->routes->len; i++)
    {
      PstRoute *route = g_ptr_array_index (self->routes, i);
      const char *rp = route->url->path;
      gsize len = strlen (rp);
      gboolean host_match = host != NULL && g_ascii_strcasecmp (host, route->url->host) == 0;
      gboolean prefix;

      if (len > 1 && rp[len - 1] == '/')
        len--;
      prefix = strncmp (path, rp, len) == 0 && (path[len] == '\0' || path[len] == '/' || len == 1);
      if (!prefix)
        continue;
      if (best == NULL || len > best_len || (len == best_len && host_match && !best_host))
        {
          best = route;
          best_len = len;
          best_host = host_match;
        }
    }
  return best;
}

void
pst_connection_set_session (PstConnection *self, PstSessionShutdown shutdown, gpointer session)
{
  self->session_shutdown = shutdown;
  self->session = session;
}

void
pst_connection_shutdown (PstConnection *self)
{
  if (self->session_shutdown != NULL)
    self->session_shutdown (self->session);
  else
    pst_connection_abort (self);
}

void
pst_connection_set_route (PstConnection *self, PstRoute *route)
{
  PstService *service = route->service;

  if (self->service != NULL)
    return;
  self->service = g_strdup (pst_service_get_name (service));
  self->quiet = pst_route_serves_status (route);
  if (pst_service_get_n_connects (service) > 0 && self->backend == NULL)
    self->backend = g_strdup (pst_service_get_connect (service, 0));
  {
    g_autofree char *fields = dup_tls_fields (self);

    g_autofree char *line = g_strdup_printf ("open %s client=%s%s backend=%s", self->service, self->peer,
                                             fields, self->backend ? self->backend : "-");

    pst_connection_log (self, "open", line);
  }
  pst_metrics_connection_opened (pst_runtime_get_metrics (self->runtime), self->service);
}

void
pst_connection_set_backend (PstConnection *self, const char *backend)
{
  g_free (self->backend);
  self->backend = g_strdup (backend);
}

void
pst_connection_set_close (PstConnection *self, gushort code, const char *reason,
                          guint64 bytes_in, guint64 bytes_out)
{
  self->close_code = code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason);
  self->bytes_in = bytes_in;
  self->bytes_out = bytes_out;
}
