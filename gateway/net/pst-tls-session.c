/* pst-tls-session.c: TLS straight on GnuTLS over a socket: reads, writes, handshake, close
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <gnutls/gnutls.h>
#include <glib/gi18n-lib.h>

#include "pst-poller.h"
#include "pst-stores-private.h"   /* pst_pem_append */
#include "pst-tls-session-private.h"

#define RECORD_MAX   16384   /* plaintext of one TLS record */
/* One recv () of this much serves the header and the body of a record
 * (and usually the next records): GnuTLS asks for them one at a time. */
#define AHEAD_SIZE   (64 * 1024)

/* ---- process-wide: the priority ------------------------------------------ */

static gnutls_priority_t shared_priority;   /* NULL: GnuTLS's default */

int
pst_tls_session_set_priority (gnutls_session_t session)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      /* As glib-networking: G_TLS_GNUTLS_PRIORITY (ssl.protocols and
       * ssl.ciphers, pst-tls-priority.c), else GnuTLS's default. */
      const char *priority = g_getenv ("G_TLS_GNUTLS_PRIORITY");

      if (priority != NULL && gnutls_priority_init2 (&shared_priority, priority, NULL, 0) < 0)
        {
          g_warning ("G_TLS_GNUTLS_PRIORITY “%s” is not a GnuTLS priority string; TLS connections use the default",
                     priority);
          shared_priority = NULL;
        }
      g_once_init_leave (&done, 1);
    }
  return shared_priority != NULL ? gnutls_priority_set (session, shared_priority)
                                 : gnutls_set_default_priority (session);
}

/* ---- the transport: the socket, read ahead -------------------------------- */

/* The thread's receive buffer: a recv () that brings more than GnuTLS
 * asked for hands it to the connection (which frees it once drained) and
 * the thread makes a new one; an idle connection holds none. */
static GPrivate scratch_key = G_PRIVATE_INIT (g_free);

static void
ahead_drop (PstTlsSession *self)
{
  g_clear_pointer (&self->ahead, g_free);
  self->ahead_pos = self->ahead_len = 0;
}

static ssize_t
pull_cb (gnutls_transport_ptr_t ptr, void *data, size_t size)
{
  PstTlsSession *self = ptr;
  guint8 *scratch;
  ssize_t n;

  if (self->ahead_len > 0)
    {
      gsize take = MIN (size, self->ahead_len);

      memcpy (data, self->ahead + self->ahead_pos, take);
      self->ahead_pos += take;
      self->ahead_len -= take;
      if (self->ahead_len == 0)
        ahead_drop (self);
      return take;
    }
  if (size >= AHEAD_SIZE)
    {
      n = recv (self->fd, data, size, 0);
      self->pull_blocked = n < 0;
      self->pull_short = n > 0 && (gsize) n < size;
      self->pull_in = pst_poller_current_dispatch ();
      return n;
    }
  scratch = g_private_get (&scratch_key);
  if (scratch == NULL)
    {
      scratch = g_malloc (AHEAD_SIZE);
      g_private_set (&scratch_key, scratch);
    }
  n = recv (self->fd, scratch, AHEAD_SIZE, 0);
  self->pull_blocked = n < 0;
  self->pull_short = n > 0 && n < AHEAD_SIZE;
  self->pull_in = pst_poller_current_dispatch ();
  if (n <= 0)
    return n;   /* errno as recv () left it */
  if ((gsize) n <= size)
    {
      memcpy (data, scratch, n);
      return n;
    }
  memcpy (data, scratch, size);
  /* the rest stays where it is: the buffer is the connection's now */
  g_private_set (&scratch_key, NULL);
  self->ahead = scratch;
  self->ahead_pos = size;
  self->ahead_len = n - size;
  return size;
}

static int
pull_timeout_cb (gnutls_transport_ptr_t ptr, unsigned int ms)
{
  PstTlsSession *self = ptr;
  struct pollfd pfd = { self->fd, POLLIN, 0 };

  if (self->ahead_len > 0)
    return 1;
  return poll (&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int) ms);
}

gboolean
pst_tls_session_has_pending (PstTlsSession *self)
{
  return self->session != NULL && (self->ahead_len > 0 || gnutls_record_check_pending (self->session) > 0);
}

/* ---- reads and writes ----------------------------------------------------- */

G_DEFINE_ABSTRACT_TYPE (PstTlsSession, pst_tls_session, G_TYPE_IO_STREAM)

enum { PROP_0, PROP_BASE_IO_STREAM, N_PROPS };
static GParamSpec *properties[N_PROPS];

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
check_open (PstTlsSession *self, GError **error)
{
  if (self == NULL || self->session == NULL || !self->handshaken ||
      g_io_stream_is_closed (G_IO_STREAM (self)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("Stream is already closed"));
      return FALSE;
    }
  return TRUE;
}

/* GnuTLS says E_AGAIN after a post-handshake message (a TLS 1.3 ticket,
 * a key update) too, without having asked for more bytes: with bytes
 * still read ahead, the socket may never be readable again for them.
 * WOULD_BLOCK is said only once the socket itself said so. */
static gboolean
blocked_for_real (PstTlsSession *self, int ret)
{
  return !pst_tls_would_block (ret) || self->pull_blocked || self->ahead_len == 0 ||
         gnutls_record_get_direction (self->session) != 0;
}

gssize
pst_tls_session_recv (PstTlsSession *self, void *buffer, gsize count, GError **error)
{
  gssize ret;
  int tries = 0;

  if (!check_open (self, error))
    return -1;
  /* The last read emptied what a short recv () brought: another recv ()
   * would only say EAGAIN (a system call per wake-up).  Said once, and in
   * the same dispatch only: the caller waits for the socket, and epoll's
   * edge reports what comes after.  A later call (a paused reader
   * resumed, a new edge already taken) must look for real: with
   * edge-triggered registrations no other event would come. */
  if (self->drained)
    {
      self->drained = FALSE;
      if (self->pull_in == pst_poller_current_dispatch ())
        {
          set_io_error (GNUTLS_E_AGAIN, error);
          return -1;
        }
    }
  do
    {
      self->pull_blocked = FALSE;
      ret = gnutls_record_recv (self->session, buffer, count);
    }
  while (ret < 0 && !blocked_for_real (self, ret) && ++tries < 64);
  if (ret > 0)
    {
      /* (the short recv () of this dispatch: one of an earlier one says
       * nothing of bytes whose edge a call since has taken) */
      self->drained = self->pull_short && self->pull_in == pst_poller_current_dispatch () &&
                      self->ahead_len == 0 && gnutls_record_check_pending (self->session) == 0;
    }
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
pst_tls_session_send (PstTlsSession *self, const void *buffer, gsize count, GError **error)
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

/* ---- the GIOStream ------------------------------------------------------ */

static void
streams_detach (PstTlsSession *self)
{
  if (self->input != NULL)
    pst_tls_session_input_detach (self->input);
  if (self->output != NULL)
    pst_tls_session_output_detach (self->output);
}

/* close_notify once, without waiting: a peer that does not read must not
 * hold the close (glib-networking 2.74 would block for ever). */
static gboolean
close_now (PstTlsSession *self, GCancellable *cancellable, GError **error)
{
  if (self->session != NULL && self->handshaken)
    gnutls_bye (self->session, GNUTLS_SHUT_WR);
  ahead_drop (self);
  /* (an operation still pending on one of them makes this fail: it then
   * ends with G_IO_ERROR_CLOSED) */
  if (self->input != NULL)
    g_input_stream_close (self->input, NULL, NULL);
  if (self->output != NULL)
    g_output_stream_close (self->output, NULL, NULL);
  streams_detach (self);
  return self->base == NULL || g_io_stream_close (G_IO_STREAM (self->base), cancellable, error);
}

static gboolean
pst_tls_session_close_fn (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  return close_now (PST_TLS_SESSION (stream), cancellable, error);
}

/* On the caller's thread (GIO's default runs close_fn in a thread, where
 * it would race the session's reads): nothing here blocks. */
static void
pst_tls_session_close_async (GIOStream           *stream,
                             int                  io_priority,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);
  GError *error = NULL;

  g_task_set_source_tag (task, pst_tls_session_close_async);
  if (close_now (PST_TLS_SESSION (stream), cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
pst_tls_session_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static GInputStream *
pst_tls_session_get_input_stream (GIOStream *stream)
{
  return PST_TLS_SESSION (stream)->input;
}

static GOutputStream *
pst_tls_session_get_output_stream (GIOStream *stream)
{
  return PST_TLS_SESSION (stream)->output;
}

static void
pst_tls_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  PstTlsSession *self = PST_TLS_SESSION (object);

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
pst_tls_session_finalize (GObject *object)
{
  PstTlsSession *self = PST_TLS_SESSION (object);

  streams_detach (self);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_pointer (&self->session, gnutls_deinit);
  ahead_drop (self);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (pst_tls_session_parent_class)->finalize (object);
}

static void
pst_tls_session_class_init (PstTlsSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->finalize = pst_tls_session_finalize;
  object_class->get_property = pst_tls_session_get_property;
  stream_class->get_input_stream = pst_tls_session_get_input_stream;
  stream_class->get_output_stream = pst_tls_session_get_output_stream;
  stream_class->close_fn = pst_tls_session_close_fn;
  stream_class->close_async = pst_tls_session_close_async;
  stream_class->close_finish = pst_tls_session_close_finish;
  klass->handshake_name = "[postern] TLS handshake";

  /* as GTlsConnection's, so pst_io_find_socket () finds the socket */
  properties[PROP_BASE_IO_STREAM] =
    g_param_spec_object ("base-io-stream", NULL, NULL, G_TYPE_IO_STREAM,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pst_tls_session_init (PstTlsSession *self)
{
  self->fd = -1;
}

void
pst_tls_session_attach (PstTlsSession *self, GSocketConnection *base, gnutls_session_t session)
{
  self->base = g_object_ref (base);
  self->socket = g_socket_connection_get_socket (base);
  self->fd = g_socket_get_fd (self->socket);
  self->session = session;
  /* reads through the read-ahead; writes are GnuTLS's own sendmsg on the
   * fd (the back-end leg: with MSG_NOSIGNAL, GNUTLS_NO_SIGNAL at init, so
   * a close_notify after the peer's end raises no SIGPIPE -- ignored, but
   * the kernel still makes it) or the accept leg's own push */
  gnutls_transport_set_ptr2 (session, self, GINT_TO_POINTER (self->fd));
  gnutls_transport_set_pull_function (session, pull_cb);
  gnutls_transport_set_pull_timeout_function (session, pull_timeout_cb);
  /* our own deadlines (the handshake's, the connection's), not GnuTLS's */
  gnutls_handshake_set_timeout (session, 0);
  self->input = pst_tls_session_input_new (self);
  self->output = pst_tls_session_output_new (self);
}

/* ---- the handshake, on the caller's main context ------------------------- */

typedef struct {
  PstPollerWatch *watch;
  GTask          *waiting;       /* the reference held while the watch waits */
  GCancellable   *cancellable;
  gulong          cancel_id;
  guint           deadline_id;
} Handshake;

static void
handshake_free (Handshake *hs)
{
  g_clear_pointer (&hs->watch, pst_poller_watch_free);
  if (hs->cancel_id != 0)
    g_cancellable_disconnect (hs->cancellable, hs->cancel_id);
  g_clear_object (&hs->cancellable);
  g_clear_handle_id (&hs->deadline_id, g_source_remove);
  g_free (hs);
}

/* As glib-networking words them, which pst_tls_failure_from_error reads. */
static void
return_handshake_error (GTask *task, PstTlsSession *self, int ret)
{
  if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Peer sent fatal TLS alert: %s"),
                             gnutls_alert_get_name (gnutls_alert_get (self->session)));
  else if (ret == GNUTLS_E_CERTIFICATE_ERROR || ret == GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE, _("Unacceptable TLS certificate"));
  else if (ret == GNUTLS_E_NO_CERTIFICATE_FOUND || ret == GNUTLS_E_CERTIFICATE_REQUIRED)
    g_task_return_new_error (task, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED,
                             _("TLS connection peer did not send a certificate"));
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
handshake_ready_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Handshake *hs = user_data;
  GTask *task = g_steal_pointer (&hs->waiting);

  pst_poller_watch_set_mask (watch, 0);
  if (task != NULL)
    handshake_step (task);   /* may free hs and the watch */
  return FALSE;
}

/* On the task's thread, as everything of a connection in Postern: it only
 * asks the poller for a call, where the step sees the cancellation. */
static void
handshake_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Handshake *hs = user_data;

  if (hs->watch != NULL && hs->waiting != NULL)
    pst_poller_watch_schedule (hs->watch);
}

static gboolean
handshake_deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  hs->deadline_id = 0;
  if (hs->waiting != NULL)
    {
      GTask *held = g_steal_pointer (&hs->waiting);

      pst_poller_watch_set_mask (hs->watch, 0);
      g_task_return_new_error (held, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("Socket I/O timed out"));
      g_object_unref (held);   /* maybe the last reference */
    }
  return G_SOURCE_REMOVE;
}

/* Takes a reference to the task. */
static void
handshake_step (GTask *task)
{
  g_autoptr(GTask) owned = task;
  PstTlsSession *self = g_task_get_source_object (task);
  Handshake *hs = g_task_get_task_data (task);
  int tries = 0;
  int ret;

  if (g_task_return_error_if_cancelled (task))
    return;
  do
    {
      self->pull_blocked = FALSE;
      ret = gnutls_handshake (self->session);
    }
  while (ret < 0 && ((!pst_tls_would_block (ret) && !gnutls_error_is_fatal (ret)) ||
                     (!blocked_for_real (self, ret) && ++tries < 64)));
  if (ret == 0)
    {
      PstTlsSessionClass *klass = PST_TLS_SESSION_GET_CLASS (self);
      GError *error = NULL;

      /* the registration goes on with the socket, to the pump (bytes may
       * be left in the socket, past what GnuTLS read) */
      if (hs->watch != NULL && self->socket != NULL)
        pst_poller_watch_park (g_steal_pointer (&hs->watch), self->socket, FALSE);
      self->handshaken = TRUE;
      if (klass->handshaken != NULL && !klass->handshaken (self, &error))
        g_task_return_error (task, error);
      else
        g_task_return_boolean (task, TRUE);
      return;
    }
  if (!pst_tls_would_block (ret))
    {
      return_handshake_error (task, self, ret);
      return;
    }
  if (hs->watch == NULL && self->socket != NULL)
    hs->watch = pst_poller_watch_adopt (pst_poller_get_for_context (g_task_get_context (task)), self->socket,
                                        handshake_ready_cb, hs);
  if (hs->watch == NULL)
    hs->watch = pst_poller_watch_new (pst_poller_get_for_context (g_task_get_context (task)), self->fd,
                                      handshake_ready_cb, hs);
  /* The socket said EAGAIN just now: what the watch was told before
   * (by the socket's last owner, say) is stale. */
  if (gnutls_record_get_direction (self->session) != 0)
    pst_poller_watch_would_block (hs->watch, G_IO_OUT);
  else if (self->pull_blocked)
    pst_poller_watch_would_block (hs->watch, G_IO_IN);
  if (!pst_poller_watch_set_mask (hs->watch, gnutls_record_get_direction (self->session) ? G_IO_OUT : G_IO_IN))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not wait on the socket"));
      return;
    }
  hs->waiting = g_steal_pointer (&owned);
}

void
pst_tls_session_handshake_async (PstTlsSession       *self,
                                 guint                timeout_s,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  GTask *task;
  Handshake *hs = g_new0 (Handshake, 1);

  g_return_if_fail (PST_IS_TLS_SESSION (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_tls_session_handshake_async);
  g_task_set_name (task, PST_TLS_SESSION_GET_CLASS (self)->handshake_name);
  g_task_set_task_data (task, hs, (GDestroyNotify) handshake_free);
  if (timeout_s > 0)
    {
      /* no reference: the task's data owns the timer */
      GSource *deadline = g_timeout_source_new_seconds (timeout_s);

      g_source_set_callback (deadline, handshake_deadline_cb, task, NULL);
      hs->deadline_id = g_source_attach (deadline, g_task_get_context (task));
      g_source_unref (deadline);
    }
  if (cancellable != NULL)
    {
      hs->cancellable = g_object_ref (cancellable);
      hs->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (handshake_cancelled_cb), hs, NULL);
    }
  handshake_step (task);
}

gboolean
pst_tls_session_handshake_finish (PstTlsSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- after the handshake -------------------------------------------------- */

gboolean
pst_tls_session_is_resumed (PstTlsSession *self)
{
  g_return_val_if_fail (PST_IS_TLS_SESSION (self), FALSE);
  return self->session != NULL && self->handshaken && gnutls_session_is_resumed (self->session);
}

char *
pst_tls_session_dup_info (PstTlsSession *self)
{
  const char *version;
  const char *suite;

  g_return_val_if_fail (PST_IS_TLS_SESSION (self), NULL);
  if (self->session == NULL || !self->handshaken)
    return NULL;
  switch (gnutls_protocol_get_version (self->session))
    {
    case GNUTLS_TLS1_3: version = "TLSv1.3"; break;
    case GNUTLS_TLS1_2: version = "TLSv1.2"; break;
    case GNUTLS_TLS1_1: version = "TLSv1.1"; break;
    case GNUTLS_TLS1_0: version = "TLSv1.0"; break;
    default: version = "TLS"; break;
    }
  suite = gnutls_ciphersuite_get (self->session);
  return g_strdup_printf ("%s/%s", version, suite != NULL ? suite : "?");
}

const gnutls_datum_t *
pst_tls_session_get_peer_der (PstTlsSession *self, guint *n)
{
  const gnutls_datum_t *certs;
  unsigned int count = 0;

  g_return_val_if_fail (PST_IS_TLS_SESSION (self), NULL);
  g_return_val_if_fail (n != NULL, NULL);
  *n = 0;
  if (self->session == NULL)
    return NULL;
  certs = gnutls_certificate_get_peers (self->session, &count);
  if (certs == NULL || count == 0)
    return NULL;
  *n = count;
  return certs;
}

GTlsCertificate *
pst_tls_session_dup_peer_chain (PstTlsSession *self)
{
  g_autoptr(GString) pem = NULL;
  const gnutls_datum_t *certs;
  unsigned int n = 0;

  g_return_val_if_fail (PST_IS_TLS_SESSION (self), NULL);
  if (self->session == NULL)
    return NULL;
  certs = gnutls_certificate_get_peers (self->session, &n);
  if (certs == NULL || n == 0)
    return NULL;
  pem = g_string_new (NULL);
  for (unsigned int i = 0; i < n; i++)
    {
      g_autoptr(GBytes) der = g_bytes_new_static (certs[i].data, certs[i].size);

      pst_pem_append (pem, "CERTIFICATE", der);
    }
  return g_tls_certificate_new_from_pem (pem->str, pem->len, NULL);
}
