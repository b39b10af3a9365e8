/* pst-connection.c: one accepted client: TLS with SNI, then HTTP/WebSocket
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <gnutls/x509.h>
#include <glib/gi18n-lib.h>

#include "pst-client-hello.h"
#include "pst-head-limit-stream.h"
#include "pst-connection.h"
#include "pst-listener.h"
#include "pst-proxy.h"

#define HELLO_MAX        (16 * 1024 + 5)
#define DEADLINE_MS      10000
#define HEAD_LIMIT       (32 * 1024)   /* request line + headers */

struct _PstConnection
{
  GObject            parent_instance;
  PstListener       *listener;           /* owns us through its table */
  GSocketConnection *socket_connection;  /* weak: SoupServer or the pump own it */
  GSocketConnection *hold;               /* strong until SoupServer has it */
  GIOStream         *tls;                /* weak, like the socket */
  PstHeadLimitStream *head_limit;        /* weak pointer */
  PstRuntime        *runtime;
  GPtrArray         *routes;
  GCancellable      *cancellable;
  gboolean           use_tls;
  char              *peer;
  char              *sni;
  char              *tls_info;           /* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
  char              *client_subject;
  char              *service;
  char              *backend;
  guint              deadline_id;
  guint              keepalive_id;
  guint              peek_id;
  gsize              peeked;
  gint64             started_us;
  gushort            close_code;
  char              *close_reason;
  guint64            bytes_in;
  guint64            bytes_out;
  gboolean           ended;
  gboolean           upgraded;          /* a session owns the stream */
  PstSessionShutdown session_shutdown;
  gpointer           session;
};

G_DEFINE_TYPE (PstConnection, pst_connection, G_TYPE_OBJECT)

void
pst_route_free (PstRoute *route)
{
  g_clear_object (&route->service);
  g_clear_pointer (&route->url, pst_url_free);
  g_free (route);
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

static void
hand_to_http (PstConnection *self, GIOStream *stream)
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

static char *
dup_cert_subject (GTlsCertificate *cert)
{
  GByteArray *der = NULL;
  gnutls_x509_crt_t crt;
  gnutls_datum_t datum, dn = { NULL, 0 };
  char *subject = NULL;

  g_object_get (cert, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  datum.data = der->data;
  datum.size = der->len;
  if (gnutls_x509_crt_init (&crt) == 0)
    {
      if (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) == 0 &&
          gnutls_x509_crt_get_dn3 (crt, &dn, 0) == 0)
        {
          subject = g_strndup ((const char *) dn.data, dn.size);
          gnutls_free (dn.data);
        }
      gnutls_x509_crt_deinit (crt);
    }
  g_byte_array_unref (der);
  return subject;
}

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PstConnection) self = user_data;
  GTlsConnection *tls = G_TLS_CONNECTION (source);
  g_autoptr(GError) error = NULL;
  GTlsCertificate *peer_cert;
  const char *version;

  if (!g_tls_connection_handshake_finish (tls, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
            g_message ("client %s: TLS handshake refused: no client certificate "
                       "(ssl.verify-client is required)", self->peer);
          else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
            g_message ("client %s: TLS handshake refused: the client certificate is not trusted "
                       "by the truststore (import it with “postern cert import”)", self->peer);
          else
            {
              /* After our certificate went out, a client that gives up is
               * almost always one that does not trust it. */
              PstRoute *route = g_ptr_array_index (self->routes, 0);
              const char *host = self->sni ? self->sni : route->url->host;
              gboolean v6 = strchr (host, ':') != NULL;

              g_message ("client %s: TLS handshake failed (%s): the client most likely does not trust "
                         "this gateway's certificate for “%s” — browsers: open https://%s%s%s:%u/ and accept "
                         "it, or import the CA from /postern-ca.pem; other clients: give them the CA "
                         "(postern cert export)",
                         self->peer, error->message, host, v6 ? "[" : "", host, v6 ? "]" : "", route->url->port);
            }
        }
      pst_connection_abort (self);
      return;
    }

  switch (g_tls_connection_get_protocol_version (tls))
    {
    case G_TLS_PROTOCOL_VERSION_TLS_1_3: version = "TLSv1.3"; break;
    case G_TLS_PROTOCOL_VERSION_TLS_1_2: version = "TLSv1.2"; break;
    case G_TLS_PROTOCOL_VERSION_TLS_1_1: version = "TLSv1.1"; break;
    case G_TLS_PROTOCOL_VERSION_TLS_1_0: version = "TLSv1.0"; break;
    default: version = "TLS"; break;
    }
  {
    g_autofree char *cipher = g_tls_connection_get_ciphersuite_name (tls);
    self->tls_info = g_strdup_printf ("%s/%s", version, cipher ? cipher : "?");
  }
  peer_cert = g_tls_connection_get_peer_certificate (tls);
  if (peer_cert != NULL)
    self->client_subject = dup_cert_subject (peer_cert);

  hand_to_http (self, G_IO_STREAM (tls));
}

static GTlsCertificate *
choose_certificate (PstConnection *self)
{
  GTlsCertificate *cert = NULL;

  if (self->sni != NULL)
    cert = pst_runtime_lookup_certificate (self->runtime, self->sni);
  /* No SNI (or an unknown name): the accept URLs' hosts, in order. */
  for (guint i = 0; cert == NULL && i < self->routes->len; i++)
    {
      PstRoute *route = g_ptr_array_index (self->routes, i);
      cert = pst_runtime_lookup_certificate (self->runtime, route->url->host);
    }
  return cert;
}

static gboolean
accept_client_certificate_cb (GTlsConnection       *conn,
                              GTlsCertificate      *peer_cert,
                              GTlsCertificateFlags  errors,
                              gpointer              user_data)
{
  PstConnection *self = user_data;
  g_autofree char *subject = NULL;

  /* GIO asks even for a certificate that verified (errors 0). */
  if (errors == 0)
    return TRUE;
  subject = dup_cert_subject (peer_cert);
  g_message ("client %s: client certificate “%s” refused: not issued by a certificate in the "
             "truststore (flags 0x%x); add it with “postern cert import”",
             self->peer, subject ? subject : "?", errors);
  return FALSE;
}

static void
start_tls (PstConnection *self)
{
  g_autoptr(GError) error = NULL;
  GTlsCertificate *cert = choose_certificate (self);
  GIOStream *tls;
  PstRoute *route = g_ptr_array_index (self->routes, 0);
  PstOptions *options = pst_service_get_accept_options (route->service);
  const char *verify = pst_options_get_verify_client (options);
  GTlsDatabase *trust = pst_runtime_get_trust (self->runtime);

  if (cert == NULL)
    {
      g_message ("client %s: no certificate in the keystore for “%s”; closing", self->peer,
                 self->sni ? self->sni : route->url->host);
      pst_connection_abort (self);
      return;
    }
  tls = g_tls_server_connection_new (G_IO_STREAM (self->socket_connection), cert, &error);
  if (tls == NULL)
    {
      g_warning ("client %s: %s", self->peer, error->message);
      pst_connection_abort (self);
      return;
    }
  self->tls = tls;
  if (g_strcmp0 (verify, "required") == 0)
    g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED, NULL);
  else if (g_strcmp0 (verify, "optional") == 0)
    g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUESTED, NULL);
  if (trust != NULL)
    g_tls_connection_set_database (G_TLS_CONNECTION (tls), trust);
  g_signal_connect_object (tls, "accept-certificate", G_CALLBACK (accept_client_certificate_cb), self, 0);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
                                    handshake_cb, g_object_ref (self));
  /* SoupServer and the pump hold the TLS stream from now on. */
  g_object_unref (tls);
}

static gboolean
peek_cb (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
schedule_peek (PstConnection *self, gboolean backoff);

static gboolean
peek_again_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  self->peek_id = 0;
  schedule_peek (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
schedule_peek (PstConnection *self, gboolean backoff)
{
  GSource *source;

  if (backoff)
    {
      /* Readable but nothing new: the socket stays readable while we only
       * peek, so wait a little instead of spinning. */
      self->peek_id = g_timeout_add (5, peek_again_cb, self);
      return;
    }
  source = g_socket_create_source (g_socket_connection_get_socket (self->socket_connection),
                                   G_IO_IN | G_IO_HUP | G_IO_ERR, self->cancellable);
  g_source_set_callback (source, (GSourceFunc) (void (*)(void)) peek_cb, self, NULL);
  self->peek_id = g_source_attach (source, NULL);
  g_source_unref (source);
}

static gboolean
peek_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PstConnection *self = user_data;
  guint8 buf[HELLO_MAX];
  g_autofree char *sni = NULL;
  gssize n;

  self->peek_id = 0;
  n = recv (g_socket_get_fd (socket), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        schedule_peek (self, FALSE);
      else
        pst_connection_abort (self);
      return G_SOURCE_REMOVE;
    }
  switch (pst_client_hello_parse (buf, n, &sni))
    {
    case PST_HELLO_NEED_MORE:
      if ((gsize) n >= sizeof buf)
        pst_connection_abort (self);
      else
        schedule_peek (self, (gsize) n == self->peeked);
      self->peeked = n;
      break;
    case PST_HELLO_NOT_TLS:
      g_message ("client %s: sent something that is not TLS to a secure port "
                 "(use wss:// or https://, or disable ssl.encryption behind a TLS offloader)", self->peer);
      pst_connection_abort (self);
      break;
    case PST_HELLO_OK:
      self->sni = g_steal_pointer (&sni);
      start_tls (self);
      break;
    }
  return G_SOURCE_REMOVE;
}

void
pst_connection_start (PstConnection *self)
{
  self->deadline_id = g_timeout_add (DEADLINE_MS, deadline_cb, self);
  if (self->use_tls)
    schedule_peek (self, FALSE);
  else
    hand_to_http (self, G_IO_STREAM (self->socket_connection));
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
