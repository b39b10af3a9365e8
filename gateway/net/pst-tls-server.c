/* pst-tls-server.c: the accept leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE 1   /* memfd_create, F_ADD_SEALS */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <gnutls/gnutls.h>
#include <glib/gi18n-lib.h>

#include "pst-stores-private.h"   /* pst_pem_append */
#include "pst-tls-server.h"
#include "pst-tls-session-private.h"

/* ---- credentials: once per certificate ---------------------------------- */

G_DEFINE_QUARK (pst-tls-server-credentials, creds)

static GMutex creds_lock;

static void
creds_free (gpointer creds)
{
  gnutls_certificate_free_credentials (creds);
}

/* The certificate's key as PEM: glib-networking gives it as PKCS#8. */
static char *
dup_key_pem (GTlsCertificate *cert)
{
  g_autoptr(GByteArray) der = NULL;
  GString *pem;
  char *key_pem = NULL;

  g_object_get (cert, "private-key-pem", &key_pem, NULL);
  if (key_pem != NULL)
    return key_pem;
  g_object_get (cert, "private-key", &der, NULL);
  if (der == NULL)
    return NULL;
  pem = g_string_new (NULL);
  {
    g_autoptr(GBytes) bytes = g_bytes_new_static (der->data, der->len);

    pst_pem_append (pem, "PRIVATE KEY", bytes);
  }
  explicit_bzero (der->data, der->len);
  return g_string_free (pem, FALSE);
}

static gnutls_certificate_credentials_t
make_creds (GTlsCertificate *cert, GError **error)
{
  gnutls_certificate_credentials_t creds = NULL;
  g_autoptr(GString) chain = g_string_new (NULL);
  g_autofree char *key_pem = dup_key_pem (cert);
  gnutls_datum_t cert_datum, key_datum;
  int ret;

  /* the leaf, then its issuers as the snapshot gave them */
  for (GTlsCertificate *c = cert; c != NULL && chain->len < 1024 * 1024; c = g_tls_certificate_get_issuer (c))
    {
      g_autofree char *pem = NULL;

      g_object_get (c, "certificate-pem", &pem, NULL);
      if (pem != NULL)
        g_string_append (chain, pem);
    }
  if (key_pem == NULL || chain->len == 0)
    {
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_MISC,
                           _("The certificate has no private key that can be used for TLS"));
      return NULL;
    }
  cert_datum.data = (unsigned char *) chain->str;
  cert_datum.size = chain->len;
  key_datum.data = (unsigned char *) key_pem;
  key_datum.size = strlen (key_pem);
  ret = gnutls_certificate_allocate_credentials (&creds);
  if (ret == 0)
    ret = gnutls_certificate_set_x509_key_mem2 (creds, &cert_datum, &key_datum, GNUTLS_X509_FMT_PEM, NULL, 0);
  explicit_bzero (key_pem, key_datum.size);
  if (ret < 0)
    {
      g_clear_pointer (&creds, gnutls_certificate_free_credentials);
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not use the certificate for TLS: %s"),
                   gnutls_strerror (ret));
      return NULL;
    }
  /* as glib-networking: DHE for the clients that ask for it */
  gnutls_certificate_set_known_dh_params (creds, GNUTLS_SEC_PARAM_MEDIUM);
  return creds;
}

/* Made on first use and kept with the certificate: a snapshot's
 * certificates live as long as the snapshot, and so do their credentials. */
static gnutls_certificate_credentials_t
creds_for (GTlsCertificate *cert, GError **error)
{
  gnutls_certificate_credentials_t creds;

  g_mutex_lock (&creds_lock);
  creds = g_object_get_qdata (G_OBJECT (cert), creds_quark ());
  if (creds == NULL)
    {
      creds = make_creds (cert, error);
      if (creds != NULL)
        g_object_set_qdata_full (G_OBJECT (cert), creds_quark (), creds, creds_free);
    }
  g_mutex_unlock (&creds_lock);
  return creds;
}

/* ---- PstTlsServer -------------------------------------------------------- */

struct _PstTlsServer
{
  PstTlsSession         parent_instance;
  GTlsCertificate      *cert;      /* holds the credentials */
  GTlsAuthenticationMode mode;
  GTlsDatabase         *trust;     /* only when clients are asked for certificates */
  GTlsCertificate      *refused;
  GTlsCertificateFlags  refused_errors;
  gboolean              tickets;   /* resumption enabled: one TLS 1.3 ticket to send */
  /* the ticket's record, sent with the next one (pst_tls_server_flush) */
  GByteArray           *held;
  gboolean              holding;
};

G_DEFINE_FINAL_TYPE (PstTlsServer, pst_tls_server, PST_TYPE_TLS_SESSION)

static void
pst_tls_server_finalize (GObject *object)
{
  PstTlsServer *self = PST_TLS_SERVER (object);

  /* the session goes first: it points at the credentials */
  g_clear_pointer (&((PstTlsSession *) self)->session, gnutls_deinit);
  g_clear_object (&self->cert);
  g_clear_object (&self->trust);
  g_clear_object (&self->refused);
  g_clear_pointer (&self->held, g_byte_array_unref);
  G_OBJECT_CLASS (pst_tls_server_parent_class)->finalize (object);
}

static GTlsCertificateFlags verify_chain (PstTlsServer *self, GTlsCertificate *chain);

/* GnuTLS sends two TLS 1.3 tickets at the end of every handshake by
 * default; a client resumes with one (browsers, OpenSSL, Python keep the
 * last), and each costs an encryption and a record.  Auto-sending is off
 * (GNUTLS_NO_AUTO_SEND_TICKET) and one is made here instead, where GnuTLS
 * made its two.  Its record is held back and goes out with the next one
 * the server sends -- the 101 of an upgrade answered without SoupServer
 * (pst-connection-upgrade.c): one sendmsg () for both -- or when the
 * connection is handed on (pst_tls_server_flush ()). */
static ssize_t
server_vec_push (gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
  PstTlsServer *self = ptr;
  int fd = PST_TLS_SESSION (self)->fd;
  struct msghdr msg = { 0 };
  struct iovec *v;
  gsize held_len = self->held != NULL ? self->held->len : 0;
  ssize_t n;

  if (self->holding)
    {
      gsize total = 0;

      if (self->held == NULL)
        self->held = g_byte_array_new ();
      for (int i = 0; i < iovcnt; i++)
        {
          g_byte_array_append (self->held, iov[i].iov_base, iov[i].iov_len);
          total += iov[i].iov_len;
        }
      return total;
    }
  if (held_len == 0)
    {
      msg.msg_iov = (struct iovec *) iov;
      msg.msg_iovlen = iovcnt;
      do
        n = sendmsg (fd, &msg, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
      return n;
    }
  v = g_newa (struct iovec, iovcnt + 1);
  v[0].iov_base = self->held->data;
  v[0].iov_len = held_len;
  memcpy (v + 1, iov, iovcnt * sizeof *iov);
  msg.msg_iov = v;
  msg.msg_iovlen = iovcnt + 1;
  do
    n = sendmsg (fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return n;
  if ((gsize) n < held_len)
    {
      g_byte_array_remove_range (self->held, 0, n);
      errno = EAGAIN;
      return -1;
    }
  g_clear_pointer (&self->held, g_byte_array_unref);
  if ((gsize) n == held_len)
    {
      errno = EAGAIN;   /* none of this call's bytes: GnuTLS repeats it */
      return -1;
    }
  return n - held_len;
}

static gboolean
make_one_ticket (PstTlsSession *session, GError **error)
{
  PstTlsServer *self = PST_TLS_SERVER (session);
  int ret;

  self->holding = TRUE;
  ret = gnutls_session_ticket_send (session->session, 1, 0);
  self->holding = FALSE;
  if (ret == 0)
    return TRUE;
  g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("TLS connection error: %s"), gnutls_strerror (ret));
  return FALSE;
}

void
pst_tls_server_flush (PstTlsServer *self)
{
  ssize_t n;

  g_return_if_fail (PST_IS_TLS_SERVER (self));
  if (self->held == NULL)
    return;
  do
    n = send (PST_TLS_SESSION (self)->fd, self->held->data, self->held->len, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  /* a fresh socket takes it at once; what it did not take goes first
   * with the next record */
  if (n > 0 && (gsize) n < self->held->len)
    g_byte_array_remove_range (self->held, 0, n);
  else if (n > 0 || (n < 0 && errno != EAGAIN))
    g_clear_pointer (&self->held, g_byte_array_unref);
}

/* A resumed session skips the certificate messages: its client
 * certificate (from the ticket) is checked again against today's trust,
 * and a listener that requires one gets no session made without one (the
 * ticket key is shared by every listener of the snapshot). */
static gboolean
check_resumed_client (PstTlsSession *session, GError **error)
{
  PstTlsServer *self = PST_TLS_SERVER (session);
  g_autoptr(GTlsCertificate) chain = NULL;
  GTlsCertificateFlags errors;

  if (self->mode == G_TLS_AUTHENTICATION_NONE || !gnutls_session_is_resumed (session->session))
    return TRUE;
  chain = pst_tls_session_dup_peer_chain (session);
  if (chain == NULL)
    {
      if (self->mode != G_TLS_AUTHENTICATION_REQUIRED)
        return TRUE;
      g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                           _("TLS connection peer did not send a certificate"));
      return FALSE;
    }
  errors = verify_chain (self, chain);
  if (errors == 0)
    return TRUE;
  self->refused_errors = errors;
  g_set_object (&self->refused, chain);
  g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, _("Unacceptable TLS certificate"));
  return FALSE;
}

static gboolean
pst_tls_server_handshaken (PstTlsSession *session, GError **error)
{
  if (!check_resumed_client (session, error))
    return FALSE;
  if (PST_TLS_SERVER (session)->tickets && gnutls_protocol_get_version (session->session) == GNUTLS_TLS1_3)
    return make_one_ticket (session, error);
  return TRUE;
}

static void
pst_tls_server_class_init (PstTlsServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_tls_server_finalize;
  ((PstTlsSessionClass *) klass)->handshaken = pst_tls_server_handshaken;
  ((PstTlsSessionClass *) klass)->handshake_name = "[postern] client TLS handshake";
}

static void
pst_tls_server_init (PstTlsServer *self)
{
}

static GTlsCertificateFlags
verify_chain (PstTlsServer *self, GTlsCertificate *chain)
{
  if (self->trust == NULL)
    return G_TLS_CERTIFICATE_UNKNOWN_CA;
  return g_tls_database_verify_chain (self->trust, chain, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT, NULL,
                                      NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
}

/* Within the handshake, when the client has sent its certificate: a
 * refused one ends the handshake with an alert, as GIO's did. */
static int
verify_client_cb (gnutls_session_t session)
{
  PstTlsServer *self = gnutls_session_get_ptr (session);
  g_autoptr(GTlsCertificate) chain = NULL;
  GTlsCertificateFlags errors;

  if (self == NULL)
    return 0;
  chain = pst_tls_session_dup_peer_chain (PST_TLS_SESSION (self));
  if (chain == NULL)
    return 0;   /* none sent: GnuTLS refuses that itself when one is required */
  errors = verify_chain (self, chain);
  if (errors == 0)
    return 0;
  self->refused_errors = errors;
  g_set_object (&self->refused, chain);
  return -1;
}

PstTlsServer *
pst_tls_server_new (GSocketConnection      *base,
                    GTlsCertificate        *cert,
                    GBytes                 *ticket_key,
                    GTlsAuthenticationMode  mode,
                    GTlsDatabase           *trust,
                    GError                **error)
{
  g_autoptr(PstTlsServer) self = NULL;
  gnutls_certificate_credentials_t creds;
  gnutls_session_t session = NULL;
  int ret;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);
  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (cert), NULL);
  creds = creds_for (cert, error);
  if (creds == NULL)
    return NULL;
  ret = gnutls_init (&session, GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_AUTO_SEND_TICKET);
  if (ret == 0)
    ret = pst_tls_session_set_priority (session);
  if (ret == 0)
    ret = gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, creds);
  if (ret == 0 && ticket_key != NULL)
    {
      gnutls_datum_t key;

      key.data = (unsigned char *) g_bytes_get_data (ticket_key, NULL);
      key.size = g_bytes_get_size (ticket_key);
      ret = gnutls_session_ticket_enable_server (session, &key);
    }
  if (ret < 0)
    {
      g_clear_pointer (&session, gnutls_deinit);
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not create TLS connection: %s"),
                   gnutls_strerror (ret));
      return NULL;
    }
  self = g_object_new (PST_TYPE_TLS_SERVER, NULL);
  self->cert = g_object_ref (cert);
  self->tickets = ticket_key != NULL;
  gnutls_session_set_ptr (session, self);
  self->mode = mode;
  if (mode != G_TLS_AUTHENTICATION_NONE)
    {
      gnutls_certificate_server_set_request (session, mode == G_TLS_AUTHENTICATION_REQUIRED ? GNUTLS_CERT_REQUIRE
                                                                                           : GNUTLS_CERT_REQUEST);
      if (trust != NULL)
        self->trust = g_object_ref (trust);
      gnutls_session_set_verify_function (session, verify_client_cb);
    }
  pst_tls_session_attach (PST_TLS_SESSION (self), base, session);
  /* writes through server_vec_push (reads stay the session's) */
  gnutls_transport_set_ptr2 (session, self, self);
  gnutls_transport_set_vec_push_function (session, server_vec_push);
  return g_steal_pointer (&self);
}

GTlsCertificate *
pst_tls_server_get_refused (PstTlsServer *self, GTlsCertificateFlags *errors)
{
  g_return_val_if_fail (PST_IS_TLS_SERVER (self), NULL);
  if (errors != NULL)
    *errors = self->refused_errors;
  return self->refused;
}

/* ---- one ticket key for a master's workers ------------------------------ */

#define TICKET_KEY_SIZE 64   /* gnutls_session_ticket_key_generate ()'s */

static GBytes *shared_ticket_key;

int
pst_tls_server_ticket_key_fd_new (GError **error)
{
  gnutls_datum_t key = { NULL, 0 };
  int fd = memfd_create ("postern-ticket-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  int ret;
  gboolean ok;

  if (fd < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Could not make the session ticket key: %s"), g_strerror (errno));
      return -1;
    }
  ret = gnutls_session_ticket_key_generate (&key);
  ok = ret == 0 && key.size == TICKET_KEY_SIZE && write (fd, key.data, key.size) == (ssize_t) key.size &&
       fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == 0;
  if (key.data != NULL)
    {
      gnutls_memset (key.data, 0, key.size);
      gnutls_free (key.data);
    }
  if (!ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not make the session ticket key: %s"),
                   ret < 0 ? gnutls_strerror (ret) : g_strerror (errno));
      close (fd);
      return -1;
    }
  return fd;
}

gboolean
pst_tls_server_adopt_ticket_key (int fd, GError **error)
{
  guint8 *key = g_malloc (TICKET_KEY_SIZE);
  ssize_t n = pread (fd, key, TICKET_KEY_SIZE, 0);

  close (fd);
  if (n != TICKET_KEY_SIZE)
    {
      g_free (key);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("The master's session ticket key could not be read (%d bytes): is this worker started by “postern run”?"),
                   (int) n);
      return FALSE;
    }
  g_clear_pointer (&shared_ticket_key, g_bytes_unref);
  shared_ticket_key = g_bytes_new_take (key, TICKET_KEY_SIZE);
  return TRUE;
}

GBytes *
pst_tls_server_get_shared_ticket_key (void)
{
  return shared_ticket_key;
}
