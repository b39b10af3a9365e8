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

static gboolean
accept_client_certificate_cb (GTlsConnection       *conn,
                              GTlsCertificate      *peer_cert,
                              GTlsCertificateFlags  errors,
                              gpointer              user_data)
{
  PstConnection *self = user_data;
  g_autofree char *subject = NULL;
  g_autofree char *raw = NULL;

  /* GIO asks even for a certificate that verified (errors 0). */
  if (errors == 0)
    return TRUE;
  pst_metrics_tls_failure (pst_runtime_get_metrics (self->runtime), PST_TLS_LEG_CLIENT,
                           pst_tls_failure_from_flags (errors));
  raw = dup_cert_subject (peer_cert);
  subject = pst_log_escape (raw, -1);
  TLS_FAILURE (self, "untrusted-client-certificate", "client %s: client certificate “%s” refused: not issued by a certificate in the "
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
  GTlsAuthenticationMode mode = self->listener != NULL ? pst_listener_get_client_auth (self->listener)
                                                       : G_TLS_AUTHENTICATION_NONE;
  /* Only a connection that verifies clients gets a database, and it is
   * the snapshot's, parsed once.  Given at construction: GIO's default
   * (the system CAs, which glib-networking 2.74 re-reads for each
   * connection) is then never looked at. */
  GTlsDatabase *trust = mode != G_TLS_AUTHENTICATION_NONE ? pst_runtime_get_peer_trust (self->runtime) : NULL;

  if (cert == NULL)
    {
      g_autofree char *host = pst_log_escape (self->sni ? self->sni : route->url->host, -1);

      TLS_FAILURE (self, "no-certificate-for-host", "client %s: no certificate in the keystore for “%s”; closing",
                   self->peer, host);
      pst_connection_abort (self);
      return;
    }
  tls = g_initable_new (g_tls_backend_get_server_connection_type (g_tls_backend_get_default ()),
                        NULL, &error,
                        "base-io-stream", self->socket_connection,
                        "certificate", cert,
                        "authentication-mode", mode,
                        "database", trust,
                        NULL);
  if (tls == NULL)
    {
      g_warning ("client %s: %s", self->peer, error->message);
      pst_connection_abort (self);
      return;
    }
  self->tls = tls;
  g_signal_connect_object (tls, "accept-certificate", G_CALLBACK (accept_client_certificate_cb), self, 0);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, self->cancellable,
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
