/* pst-connection.c: one accepted client: deadlines, HTTP hand-off, its log lines
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <glib/gi18n-lib.h>

#include "pst-connection-private.h"
#include "pst-listener.h"
#include "pst-proxy.h"

G_DEFINE_TYPE (PstConnection, pst_connection, G_TYPE_OBJECT)

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
  pst_options_get_duration_ms (accept, "ws.inactivity.timeout", 0, &inactivity);
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
  if (self->listener != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->listener), (gpointer *) &self->listener);
  if (self->head_limit != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->head_limit), (gpointer *) &self->head_limit);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->runtime);
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
  self->started_us = g_get_monotonic_time ();
}

/* The socket connection is gone (SoupServer or the pump let go of it):
 * the client connection is over, say so once. */
static void socket_gone_cb (gpointer data, GObject *where_the_object_was);

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
  self->socket_connection = NULL;
  self->tls = NULL;
  g_clear_object (&self->hold);
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_handle_id (&self->peek_id, g_source_remove);
  {
    {
      if (self->service != NULL)
        g_message ("close %s client=%s%s%s%s%s%s%s backend=%s in=%" G_GUINT64_FORMAT
                   " out=%" G_GUINT64_FORMAT " duration=%.3fs code=%u reason=\"%s\"",
                   self->service, self->peer,
                   self->tls_info ? " tls=" : "", self->tls_info ? self->tls_info : "",
                   self->sni ? " sni=" : "", self->sni ? self->sni : "",
                   self->client_subject ? " client-cert=" : "", self->client_subject ? self->client_subject : "",
                   self->backend ? self->backend : "-",
                   self->bytes_in, self->bytes_out,
                   (g_get_monotonic_time () - self->started_us) / 1e6,
                   self->close_code, self->close_reason ? self->close_reason : "");
      else
        g_debug ("connection from %s ended", self->peer);
    }
  }
  if (self->listener != NULL)
    pst_listener_connection_ended (self->listener, self);
  g_object_unref (self);
}

void
pst_connection_upgrading (PstConnection *self)
{
  self->upgraded = TRUE;
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
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

PstConnection *
pst_connection_new (PstListener       *listener,
                    GSocketConnection *socket_connection,
                    PstRuntime        *runtime,
                    GPtrArray         *routes,
                    gboolean           tls)
{
  PstConnection *self = g_object_new (PST_TYPE_CONNECTION, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (socket_connection, NULL);

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
  self->peer = remote ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote)) : g_strdup ("?");
  return self;
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
  g_message ("client %s: no %s within %d s; closing the connection",
             self->peer, self->use_tls ? "TLS handshake and request" : "request", DEADLINE_MS / 1000);
  pst_connection_abort (self);
  return G_SOURCE_REMOVE;
}

void
pst_connection_request_started (PstConnection *self)
{
  g_clear_handle_id (&self->deadline_id, g_source_remove);
  if (self->head_limit != NULL)
    pst_head_limit_stream_disarm (self->head_limit);
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
pst_connection_request_finished (PstConnection *self, PstRoute *route)
{
  guint64 ms = 30000;

  if (route != NULL)
    pst_options_get_duration_ms (pst_service_get_accept_options (route->service),
                                 "http.keepalive.timeout", 30000, &ms);
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->session == NULL && self->socket_connection != NULL)
    self->keepalive_id = g_timeout_add (MAX (ms, 1), keepalive_cb, self);
}

void
pst_connection_request_begins (PstConnection *self)
{
  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->head_limit != NULL)
    pst_head_limit_stream_arm (self->head_limit);
}

void
pst_connection_hand_to_http (PstConnection *self, GIOStream *stream)
{
  PstRoute *first = g_ptr_array_index (self->routes, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (self->socket_connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (self->socket_connection, NULL);

  if (self->listener == NULL)
    {
      pst_connection_abort (self);   /* the gateway stopped meanwhile */
      return;
    }
  /* tcp:// and ssl:// accepts carry bytes, not HTTP. */
  if (g_str_equal (first->url->scheme, "tcp") || g_str_equal (first->url->scheme, "ssl"))
    {
      pst_connection_request_started (self);
      pst_connection_set_route (self, first);
      pst_proxy_start_bytes (self, first, stream);
      g_clear_object (&self->hold);
      return;
    }
  {
    g_autoptr(GIOStream) limited = pst_head_limit_wrap (stream, HEAD_LIMIT, &self->head_limit);

    g_object_add_weak_pointer (G_OBJECT (self->head_limit), (gpointer *) &self->head_limit);
    if (!soup_server_accept_iostream (pst_listener_get_soup_server (self->listener),
                                      limited, local, remote, &error))
      {
        g_warning ("client %s: %s", self->peer, error->message);
        pst_connection_abort (self);   /* may drop the last reference */
        return;
      }
  }
  g_clear_object (&self->hold);
}


void
pst_connection_start (PstConnection *self)
{
  self->deadline_id = g_timeout_add (DEADLINE_MS, deadline_cb, self);
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
  if (pst_service_get_n_connects (service) > 0 && self->backend == NULL)
    self->backend = g_strdup (pst_service_get_connect (service, 0));
  g_message ("open %s client=%s%s%s%s%s%s%s backend=%s",
             self->service, self->peer,
             self->tls_info ? " tls=" : "", self->tls_info ? self->tls_info : "",
             self->sni ? " sni=" : "", self->sni ? self->sni : "",
             self->client_subject ? " client-cert=" : "", self->client_subject ? self->client_subject : "",
             self->backend ? self->backend : "-");
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
