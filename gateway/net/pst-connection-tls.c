/* pst-connection-tls.c: the TLS accept: ClientHello peek, certificate by SNI, client certificates
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <gnutls/x509.h>
#include <glib/gi18n-lib.h>

#include "pst-client-hello.h"
#include "pst-connection-private.h"
#include "pst-listener.h"
#include "pst-log-escape.h"
#include "pst-log-writer.h"
#include "pst-tls-server.h"

/* A refused or failed handshake is a record of its own for machines
 * (event "tls-failure", with the cause); the text line is unchanged. */
#define TLS_FAILURE(conn, cause, ...) \
  G_STMT_START { \
    g_autofree char *tls_failure_line = g_strdup_printf (__VA_ARGS__); \
    pst_log_event (G_LOG_LEVEL_MESSAGE, "tls-failure", tls_failure_line, "CLIENT", (conn)->peer, \
                   "CAUSE", cause, "SNI", (conn)->sni, NULL); \
  } G_STMT_END

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

/* The handshake refused the client's certificate (pst-tls-server.c
 * checked it against the snapshot's peer trust): counted and said as
 * GIO's "accept-certificate" refusal was. */
static void
client_certificate_refused (PstConnection *self, PstTlsServer *tls)
{
  GTlsCertificateFlags errors = 0;
  GTlsCertificate *peer_cert = pst_tls_server_get_refused (tls, &errors);
  g_autofree char *subject = NULL;
  g_autofree char *raw = NULL;

  if (peer_cert == NULL)
    return;
  pst_metrics_tls_failure (pst_runtime_get_metrics (self->runtime), PST_TLS_LEG_CLIENT,
                           pst_tls_failure_from_flags (errors));
  raw = dup_cert_subject (peer_cert);
  subject = pst_log_escape (raw, -1);
  TLS_FAILURE (self, "untrusted-client-certificate", "client %s: client certificate “%s” refused: not issued by a certificate in the "
             "truststore (flags 0x%x); add it with “postern cert import”",
             self->peer, subject ? subject : "?", errors);
}

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(PstConnection) self = user_data;
  PstTlsSession *tls = PST_TLS_SESSION (source);
  g_autoptr(GError) error = NULL;

  if (!pst_tls_session_handshake_finish (tls, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
            client_certificate_refused (self, PST_TLS_SERVER (tls));
          /* A refused client certificate was counted with its cause already. */
          if (!g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
            pst_metrics_tls_failure (pst_runtime_get_metrics (self->runtime), PST_TLS_LEG_CLIENT,
                                     pst_tls_failure_from_error (error));
          if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
            TLS_FAILURE (self, "no-client-certificate", "client %s: TLS handshake refused: no client certificate "
                       "(ssl.verify-client is required)", self->peer);
          else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE))
            TLS_FAILURE (self, "untrusted-client-certificate", "client %s: TLS handshake refused: the client certificate is not trusted "
                       "by the truststore (import it with “postern cert import”)", self->peer);
          else if (self->sni != NULL && !pst_client_hello_sni_is_host_name (self->sni))
            {
              /* GnuTLS refuses such a name: nothing to do with trust, and
               * no URL to build from it ("a:b" is no IPv6 address). */
              PstRoute *route = g_ptr_array_index (self->routes, 0);
              g_autofree char *sni = pst_log_escape (self->sni, -1);
              gboolean v6 = strchr (route->url->host, ':') != NULL;

              TLS_FAILURE (self, "bad-server-name", "client %s: TLS handshake refused: the server name it asked for "
                           "(SNI “%s”) is not a host name (letters, digits, “-” and “.” only); connect to "
                           "%s://%s%s%s:%u/ or another name of this gateway's certificate",
                           self->peer, sni, route->url->scheme, v6 ? "[" : "", route->url->host, v6 ? "]" : "",
                           route->url->port);
            }
          else
            {
              /* After our certificate went out, a client that gives up is
               * almost always one that does not trust it.  (A host name
               * here: an SNI that is not one was refused above.) */
              PstRoute *route = g_ptr_array_index (self->routes, 0);
              g_autofree char *host = pst_log_escape (self->sni ? self->sni : route->url->host, -1);
              gboolean v6 = strchr (host, ':') != NULL;

              TLS_FAILURE (self, "handshake", "client %s: TLS handshake failed (%s): the client most likely does not trust "
                         "this gateway's certificate for “%s” — browsers: open https://%s%s%s:%u/ and accept "
                         "it, or import the CA from /postern-ca.pem; other clients: give them the CA "
                         "(postern cert export)",
                         self->peer, error->message, host, v6 ? "[" : "", host, v6 ? "]" : "", route->url->port);
            }
        }
      pst_connection_abort (self);
      return;
    }

  self->tls_info = pst_tls_session_dup_info (tls);
  /* Only a listener that asks for client certificates has one to show
   * (parsed for the log line, then dropped). */
  if (self->listener != NULL && pst_listener_get_client_auth (self->listener) != G_TLS_AUTHENTICATION_NONE)
    {
      g_autoptr(GTlsCertificate) peer_cert = pst_tls_session_dup_peer_chain (tls);

      if (peer_cert != NULL)
        self->client_subject = dup_cert_subject (peer_cert);
    }

  pst_connection_hand_to_http (self, G_IO_STREAM (tls));
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

static void
start_tls (PstConnection *self)
{
  g_autoptr(GError) error = NULL;
  GTlsCertificate *cert = choose_certificate (self);
  PstTlsServer *tls;
  PstRoute *route = g_ptr_array_index (self->routes, 0);
  GTlsAuthenticationMode mode = self->listener != NULL ? pst_listener_get_client_auth (self->listener)
                                                       : G_TLS_AUTHENTICATION_NONE;
  /* Only a connection that verifies clients looks at trust, and it is
   * the snapshot's, parsed once. */
  GTlsDatabase *trust = mode != G_TLS_AUTHENTICATION_NONE ? pst_runtime_get_peer_trust (self->runtime) : NULL;

  if (cert == NULL)
    {
      g_autofree char *host = pst_log_escape (self->sni ? self->sni : route->url->host, -1);

      TLS_FAILURE (self, "no-certificate-for-host", "client %s: no certificate in the keystore for “%s”; closing",
                   self->peer, host);
      pst_connection_abort (self);
      return;
    }
  /* Our own GnuTLS server (pst-tls-server.c): the certificate's
   * credentials are made once per snapshot, the handshake runs on this
   * thread's poller, and sessions resume with the snapshot's ticket key. */
  tls = pst_tls_server_new (self->socket_connection, cert, pst_runtime_get_ticket_key (self->runtime),
                            mode, trust, &error);
  if (tls == NULL)
    {
      g_warning ("client %s: %s", self->peer, error->message);
      pst_connection_abort (self);
      return;
    }
  self->tls = G_IO_STREAM (tls);
  /* The connection's deadline (DEADLINE_MS, from accept) bounds the
   * handshake: it cancels and shuts the socket down. */
  pst_tls_session_handshake_async (PST_TLS_SESSION (tls), 0, self->cancellable,
                                   handshake_cb, g_object_ref (self));
  /* SoupServer and the pump hold the TLS stream from now on. */
  g_object_unref (tls);
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
      if (n < 0 && (errno == EAGAIN || errno == EINTR) && pst_connection_wait_readable (self, self->peeked, peek_cb))
        return G_SOURCE_REMOVE;
      pst_connection_abort (self);
      return G_SOURCE_REMOVE;
    }
  switch (pst_client_hello_parse (buf, n, &sni))
    {
    case PST_HELLO_NEED_MORE:
      self->peeked = n;
      if ((gsize) n >= sizeof buf)
        pst_connection_abort (self);
      /* until more than n bytes are there */
      else if (!pst_connection_wait_readable (self, n, peek_cb))
        {
          g_debug ("client %s: closed in the middle of its ClientHello", self->peer);
          pst_connection_abort (self);
        }
      break;
    case PST_HELLO_NOT_TLS:
      pst_metrics_tls_failure (pst_runtime_get_metrics (self->runtime), PST_TLS_LEG_CLIENT, PST_TLS_FAILURE_PROTOCOL);
      TLS_FAILURE (self, "not-tls", "client %s: sent something that is not TLS to a secure port "
                 "(use wss:// or https://, or disable ssl.encryption behind a TLS offloader)", self->peer);
      pst_connection_abort (self);
      break;
    case PST_HELLO_OK:
      pst_connection_peek_done (self);
      self->sni = g_steal_pointer (&sni);
      start_tls (self);
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Peek at the ClientHello, choose the certificate by SNI, handshake, then
 * hand the TLS stream on (pst_connection_hand_to_http). */
void
pst_connection_start_tls (PstConnection *self)
{
  pst_connection_wait_readable (self, 0, peek_cb);
}
