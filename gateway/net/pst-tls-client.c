/* pst-tls-client.c: the back-end leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/gnutls.h>
#include <glib/gi18n-lib.h>

#include "pst-tls-client-private.h"

#define RECORD_MAX   16384   /* plaintext of one TLS record */
#define CACHE_MAX    1024    /* back-ends whose last session ticket is kept */

/* ---- process-wide: credentials, priority, one ticket per back-end ------ */

static gnutls_certificate_credentials_t shared_creds;
static gnutls_priority_t shared_priority;   /* NULL: GnuTLS's default */
static int shared_status;
static GMutex cache_lock;
static GHashTable *ticket_cache;            /* "name:port" → GBytes */

static gboolean
shared_init (GError **error)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      /* As glib-networking: G_TLS_GNUTLS_PRIORITY (ssl.protocols and
       * ssl.ciphers, pst-tls-priority.c), else GnuTLS's default. */
      const char *priority = g_getenv ("G_TLS_GNUTLS_PRIORITY");

      shared_status = gnutls_certificate_allocate_credentials (&shared_creds);
      if (shared_status == 0 && priority != NULL &&
          gnutls_priority_init2 (&shared_priority, priority, NULL, 0) < 0)
        {
          g_warning ("G_TLS_GNUTLS_PRIORITY “%s” is not a GnuTLS priority string; back-end connections use the default",
                     priority);
          shared_priority = NULL;
        }
      ticket_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
      g_once_init_leave (&done, 1);
    }
  if (shared_status < 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not create TLS connection: %s"),
                   gnutls_strerror (shared_status));
      return FALSE;
    }
  return TRUE;
}

static GBytes *
cache_lookup (const char *key)
{
  GBytes *data;

  g_mutex_lock (&cache_lock);
  data = g_hash_table_lookup (ticket_cache, key);
  if (data != NULL)
    g_bytes_ref (data);
  g_mutex_unlock (&cache_lock);
  return data;
}

static void
cache_store (const char *key, gnutls_session_t session)
{
  gnutls_datum_t datum = { NULL, 0 };

  if (gnutls_session_get_data2 (session, &datum) < 0)
    return;
  g_mutex_lock (&cache_lock);
  if (g_hash_table_size (ticket_cache) >= CACHE_MAX && !g_hash_table_contains (ticket_cache, key))
    g_hash_table_remove_all (ticket_cache);
  g_hash_table_insert (ticket_cache, g_strdup (key),
                       g_bytes_new_with_free_func (datum.data, datum.size, gnutls_free, datum.data));
  g_mutex_unlock (&cache_lock);
}

/* ---- the connection ------------------------------------------------------ */


enum { PROP_0, PROP_BASE_IO_STREAM, N_PROPS };
static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PstTlsClient, pst_tls_client, G_TYPE_IO_STREAM)

/* A failed read or write, as GIO callers expect it. */
static void
set_io_error (int ret, GError **error)
{
  if (pst_tls_would_block (ret))
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, _("Operation would block"));
  else if (ret == GNUTLS_E_PREMATURE_TERMINATION)
    g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_EOF, _("TLS connection closed unexpectedly"));
  else if (ret == GNUTLS_E_PUSH_ERROR || ret == GNUTLS_E_PULL_ERROR)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, gnutls_strerror (ret));
  else
    g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("TLS connection error: %s"), gnutls_strerror (ret));
}

static gboolean
check_open (PstTlsClient *self, GError **error)
{
  if (self == NULL || self->session == NULL || !self->handshaken ||
      g_io_stream_is_closed (G_IO_STREAM (self)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("Stream is already closed"));
      return FALSE;
    }
  return TRUE;
}

gssize
pst_tls_client_recv (PstTlsClient *self, void *buffer, gsize count, GError **error)
{
  gssize ret;

  if (!check_open (self, error))
    return -1;
  ret = gnutls_record_recv (self->session, buffer, count);
  if (ret >= 0)
    return ret;
  set_io_error (ret, error);
  return -1;
}

/* On GNUTLS_E_AGAIN GnuTLS keeps the record it made of the data, and the
 * call must be repeated with the same data.  That is GIO's WOULD_BLOCK
 * contract too: nothing counts as written, and the caller (the pumps,
 * write_all_async) comes back with the same bytes first once the socket
 * is writable; GnuTLS then sends the record it kept and the call reports
 * those bytes written.  (Counting them as written at once would leave
 * the last record of a burst in GnuTLS until some later write.) */
gssize
pst_tls_client_send (PstTlsClient *self, const void *buffer, gsize count, GError **error)
{
  gssize ret;

  if (!check_open (self, error))
    return -1;
  if (self->pending_len > 0)
    {
      if (count < self->pending_len)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       "TLS write retried with %" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " pending",
                       count, self->pending_len);
          return -1;
        }
      count = self->pending_len;
    }
  else
    count = MIN (count, RECORD_MAX);
  if (count == 0)
    return 0;
  ret = gnutls_record_send (self->session, buffer, count);
  if (pst_tls_would_block (ret))
    self->pending_len = count;
  else
    self->pending_len = 0;
  if (ret < 0)
    {
      set_io_error (ret, error);
      return -1;
    }
  return ret;
}

/* ---- PstTlsClient -------------------------------------------------------- */

static void
streams_detach (PstTlsClient *self)
{
  if (self->input != NULL)
    pst_tls_client_input_detach (self->input);
  if (self->output != NULL)
    pst_tls_client_output_detach (self->output);
}

/* close_notify once, without waiting: a peer that does not read must not
 * hold the close (glib-networking 2.74 would block for ever). */
static gboolean
close_now (PstTlsClient *self, GCancellable *cancellable, GError **error)
{
  if (self->session != NULL && self->handshaken)
    gnutls_bye (self->session, GNUTLS_SHUT_WR);
  /* (an operation still pending on one of them makes this fail: it then
   * ends with G_IO_ERROR_CLOSED) */
  g_input_stream_close (self->input, NULL, NULL);
  g_output_stream_close (self->output, NULL, NULL);
  streams_detach (self);
  return self->base == NULL || g_io_stream_close (G_IO_STREAM (self->base), cancellable, error);
}

static gboolean
pst_tls_client_close_fn (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  return close_now (PST_TLS_CLIENT (stream), cancellable, error);
}

/* On the caller's thread (GIO's default runs close_fn in a thread, where
 * it would race the session's reads): nothing here blocks. */
static void
pst_tls_client_close_async (GIOStream           *stream,
                            int                  io_priority,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, pst_tls_client_close_async);
  if (close_now (PST_TLS_CLIENT (stream), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
pst_tls_client_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static GInputStream *
pst_tls_client_get_input_stream (GIOStream *stream)
{
  return PST_TLS_CLIENT (stream)->input;
}

static GOutputStream *
pst_tls_client_get_output_stream (GIOStream *stream)
{
  return PST_TLS_CLIENT (stream)->output;
}

static void
pst_tls_client_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PstTlsClient *self = PST_TLS_CLIENT (object);

  switch (prop_id)
    {
    case PROP_BASE_IO_STREAM:
      g_value_set_object (value, self->base);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_tls_client_finalize (GObject *object)
{
  PstTlsClient *self = PST_TLS_CLIENT (object);

  streams_detach (self);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_pointer (&self->session, gnutls_deinit);
  g_clear_object (&self->base);
  g_free (self->cache_key);
  G_OBJECT_CLASS (pst_tls_client_parent_class)->finalize (object);
}

static void
pst_tls_client_class_init (PstTlsClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = pst_tls_client_finalize;
  object_class->get_property = pst_tls_client_get_property;
  stream_class->get_input_stream = pst_tls_client_get_input_stream;
  stream_class->get_output_stream = pst_tls_client_get_output_stream;
  stream_class->close_fn = pst_tls_client_close_fn;
  stream_class->close_async = pst_tls_client_close_async;
  stream_class->close_finish = pst_tls_client_close_finish;

  /* as GTlsConnection's, so pst_io_find_socket () finds the socket */
  properties[PROP_BASE_IO_STREAM] =
    g_param_spec_object ("base-io-stream", NULL, NULL, G_TYPE_IO_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pst_tls_client_init (PstTlsClient *self)
{
}

/* TLS 1.3 tickets come after the handshake, with the first reads. */
static int
ticket_cb (gnutls_session_t session, unsigned int htype, unsigned when, unsigned int incoming,
           const gnutls_datum_t *msg)
{
  PstTlsClient *self = gnutls_session_get_ptr (session);

  /* (a TLS 1.2 ticket, within the handshake, is stored when it ends) */
  if (self != NULL && self->handshaken && self->cache_key != NULL)
    cache_store (self->cache_key, session);
  return 0;
}

PstTlsClient *
pst_tls_client_new (GSocketConnection *base, const char *server_name, guint16 port, GError **error)
{
  g_autoptr(PstTlsClient) self = NULL;
  g_autoptr(GBytes) ticket = NULL;
  int ret;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);
  if (!shared_init (error))
    return NULL;

  self = g_object_new (PST_TYPE_TLS_CLIENT, NULL);
  self->base = g_object_ref (base);
  self->socket = g_socket_connection_get_socket (base);
  ret = gnutls_init (&self->session, GNUTLS_CLIENT | GNUTLS_NONBLOCK);
  if (ret == 0)
    ret = shared_priority != NULL ? gnutls_priority_set (self->session, shared_priority)
                                  : gnutls_set_default_priority (self->session);
  if (ret == 0)
    ret = gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE, shared_creds);
  if (ret == 0 && server_name != NULL && !g_hostname_is_ip_address (server_name))
    ret = gnutls_server_name_set (self->session, GNUTLS_NAME_DNS, server_name, strlen (server_name));
  if (ret < 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not create TLS connection: %s"),
                   gnutls_strerror (ret));
      return NULL;
    }
  gnutls_session_set_ptr (self->session, self);
  /* GnuTLS's own recv and sendmsg on the fd (sendmsg without
   * MSG_NOSIGNAL: GSocket's class has set SIGPIPE to be ignored) */
  gnutls_transport_set_int (self->session, g_socket_get_fd (self->socket));
  /* our own deadline (pst_tls_client_handshake_async), not GnuTLS's */
  gnutls_handshake_set_timeout (self->session, 0);
  if (server_name != NULL)
    {
      self->cache_key = g_strdup_printf ("%s:%u", server_name, port);
      ticket = cache_lookup (self->cache_key);
      if (ticket != NULL)
        gnutls_session_set_data (self->session, g_bytes_get_data (ticket, NULL), g_bytes_get_size (ticket));
      gnutls_handshake_set_hook_function (self->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                          GNUTLS_HOOK_POST, ticket_cb);
    }
  self->input = pst_tls_client_input_new (self);
  self->output = pst_tls_client_output_new (self);
  return g_steal_pointer (&self);
}

/* ---- the handshake, on the caller's main context ------------------------- */

typedef struct {
  GSource *wait;
  guint    deadline_id;
  guint    timeout_s;
} Handshake;

static void
handshake_free (Handshake *hs)
{
  if (hs->wait != NULL)
    {
      g_source_destroy (hs->wait);
      g_source_unref (hs->wait);
    }
  g_clear_handle_id (&hs->deadline_id, g_source_remove);
  g_free (hs);
}

/* As glib-networking words them, which pst_tls_failure_from_error reads. */
static void
return_handshake_error (GTask *task, PstTlsClient *self, int ret)
{
  if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Peer sent fatal TLS alert: %s"),
                             gnutls_alert_get_name (gnutls_alert_get (self->session)));
  else if (ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH || ret == GNUTLS_E_UNSUPPORTED_VERSION_PACKET ||
           ret == GNUTLS_E_DECRYPTION_FAILED || ret == GNUTLS_E_PREMATURE_TERMINATION ||
           ret == GNUTLS_E_PULL_ERROR || ret == GNUTLS_E_PUSH_ERROR)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS, _("Peer failed to perform TLS handshake: %s"),
                             gnutls_strerror (ret));
  else if (ret == GNUTLS_E_INAPPROPRIATE_FALLBACK)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_INAPPROPRIATE_FALLBACK,
                             _("Protocol version downgrade attack detected"));
  else
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Error performing TLS handshake: %s"),
                             gnutls_strerror (ret));
}

static void handshake_step (GTask *task);

static gboolean
handshake_ready_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  g_clear_pointer (&hs->wait, g_source_unref);
  handshake_step (g_object_ref (task));
  return G_SOURCE_REMOVE;
}

static gboolean
handshake_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  hs->deadline_id = 0;
  if (hs->wait != NULL)
    {
      GSource *wait = g_steal_pointer (&hs->wait);

      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("Socket I/O timed out"));
      /* drops the wait's reference to the task, maybe the last */
      g_source_destroy (wait);
      g_source_unref (wait);
    }
  return G_SOURCE_REMOVE;
}

/* Takes a reference to the task. */
static void
handshake_step (GTask *task)
{
  g_autoptr(GTask) owned = task;
  PstTlsClient *self = g_task_get_source_object (task);
  Handshake *hs = g_task_get_task_data (task);
  int ret;

  if (g_task_return_error_if_cancelled (task))
    return;
  do
    ret = gnutls_handshake (self->session);
  while (ret < 0 && !pst_tls_would_block (ret) && !gnutls_error_is_fatal (ret));
  if (ret == 0)
    {
      self->handshaken = TRUE;
      /* TLS 1.2: the session is resumable now; TLS 1.3 tickets come later. */
      if (self->cache_key != NULL && !gnutls_session_is_resumed (self->session) &&
          gnutls_protocol_get_version (self->session) != GNUTLS_TLS1_3)
        cache_store (self->cache_key, self->session);
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (!pst_tls_would_block (ret))
    {
      return_handshake_error (task, self, ret);
      return;
    }
  hs->wait = g_socket_create_source (self->socket,
                                     gnutls_record_get_direction (self->session) ? G_IO_OUT : G_IO_IN,
                                     g_task_get_cancellable (task));
  g_source_set_callback (hs->wait, (GSourceFunc) (void (*)(void)) handshake_ready_cb,
                         g_steal_pointer (&owned), g_object_unref);
  g_source_attach (hs->wait, g_task_get_context (task));
}

void
pst_tls_client_handshake_async (PstTlsClient        *self,
                                guint                timeout_s,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  GTask *task;
  Handshake *hs = g_new0 (Handshake, 1);

  g_return_if_fail (PST_IS_TLS_CLIENT (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_tls_client_handshake_async);
  g_task_set_name (task, "[postern] back-end TLS handshake");
  g_task_set_task_data (task, hs, (GDestroyNotify) handshake_free);
  hs->timeout_s = timeout_s;
  if (timeout_s > 0)
    {
      /* no reference: the task's data owns the timer */
      GSource *deadline = g_timeout_source_new_seconds (timeout_s);

      g_source_set_callback (deadline, handshake_deadline_cb, task, NULL);
      hs->deadline_id = g_source_attach (deadline, g_task_get_context (task));
      g_source_unref (deadline);
    }
  handshake_step (task);
}

gboolean
pst_tls_client_handshake_finish (PstTlsClient *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

gboolean
pst_tls_client_is_resumed (PstTlsClient *self)
{
  g_return_val_if_fail (PST_IS_TLS_CLIENT (self), FALSE);
  return self->session != NULL && self->handshaken && gnutls_session_is_resumed (self->session);
}

GTlsCertificate *
pst_tls_client_dup_peer_chain (PstTlsClient *self)
{
  g_autoptr(GString) pem = NULL;
  const gnutls_datum_t *certs;
  unsigned int n = 0;

  g_return_val_if_fail (PST_IS_TLS_CLIENT (self), NULL);
  if (self->session == NULL)
    return NULL;
  certs = gnutls_certificate_get_peers (self->session, &n);
  if (certs == NULL || n == 0)
    return NULL;
  pem = g_string_new (NULL);
  for (unsigned int i = 0; i < n; i++)
    {
      g_autofree char *b64 = g_base64_encode (certs[i].data, certs[i].size);
      gsize len = strlen (b64);

      g_string_append (pem, "-----BEGIN CERTIFICATE-----\n");
      for (gsize off = 0; off < len; off += 64)
        {
          g_string_append_len (pem, b64 + off, MIN (64, len - off));
          g_string_append_c (pem, '\n');
        }
      g_string_append (pem, "-----END CERTIFICATE-----\n");
    }
  return g_tls_certificate_new_from_pem (pem->str, pem->len, NULL);
}
