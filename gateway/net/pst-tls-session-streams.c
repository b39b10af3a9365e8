/* pst-tls-session-streams.c: PstTlsSession's pollable input and output streams
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-tls-session-private.h"

/* ---- a source that is also ready while GnuTLS holds decrypted bytes ----- */

typedef struct {
  GSource   source;
  GObject  *stream;
  gboolean  input;
} TlsSource;

static PstTlsSession *input_get_conn (GObject *stream);

/* Through the stream: its connection may be gone (then NULL). */
static gboolean
tls_source_pending (TlsSource *ts)
{
  PstTlsSession *conn = ts->input ? input_get_conn (ts->stream) : NULL;

  return conn != NULL && pst_tls_session_has_pending (conn);
}

static gboolean
tls_source_prepare (GSource *source, gint *timeout)
{
  gboolean ready = tls_source_pending ((TlsSource *) source);

  *timeout = ready ? 0 : -1;
  return ready;
}

static gboolean
tls_source_check (GSource *source)
{
  return tls_source_pending ((TlsSource *) source);
}

static gboolean
tls_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  GPollableSourceFunc func = (GPollableSourceFunc) (void (*)(void)) callback;

  return func != NULL ? func (((TlsSource *) source)->stream, user_data) : G_SOURCE_REMOVE;
}

static void
tls_source_finalize (GSource *source)
{
  g_object_unref (((TlsSource *) source)->stream);
}

/* As GIO's pollable sources: g_pollable_source_new_full () (a wrapper
 * stream's source, libsoup's) sets a dummy closure on its child. */
static gboolean
tls_source_closure_callback (GObject *stream, gpointer data)
{
  GClosure *closure = data;
  GValue param = G_VALUE_INIT;
  GValue result_value = G_VALUE_INIT;
  gboolean result;

  g_value_init (&result_value, G_TYPE_BOOLEAN);
  g_value_init (&param, G_TYPE_OBJECT);
  g_value_set_object (&param, stream);
  g_closure_invoke (closure, &result_value, 1, &param, NULL);
  result = g_value_get_boolean (&result_value);
  g_value_unset (&result_value);
  g_value_unset (&param);
  return result;
}

static GSourceFuncs tls_source_funcs = {
  tls_source_prepare, tls_source_check, tls_source_dispatch, tls_source_finalize,
  (GSourceFunc) (void (*)(void)) tls_source_closure_callback, NULL
};

static GSource *
tls_source_new (GObject *stream, PstTlsSession *conn, gboolean input, GCancellable *cancellable)
{
  GSource *source = g_source_new (&tls_source_funcs, sizeof (TlsSource));
  TlsSource *ts = (TlsSource *) source;

  g_source_set_name (source, "[postern] TLS stream");
  ts->stream = g_object_ref (stream);
  ts->input = input;
  if (conn != NULL && conn->socket != NULL)
    {
      GSource *child = g_socket_create_source (conn->socket, input ? G_IO_IN : G_IO_OUT, NULL);

      g_source_set_dummy_callback (child);
      g_source_add_child_source (source, child);
      g_source_unref (child);
    }
  else
    g_source_set_ready_time (source, 0);   /* closed: the read or write says so at once */
  if (cancellable != NULL)
    {
      GSource *child = g_cancellable_source_new (cancellable);

      g_source_set_dummy_callback (child);
      g_source_add_child_source (source, child);
      g_source_unref (child);
    }
  return source;
}

/* ---- input and output streams ------------------------------------------- */

#define PST_TYPE_TLS_SESSION_INPUT (pst_tls_session_input_get_type ())
G_DECLARE_FINAL_TYPE (PstTlsSessionInput, pst_tls_session_input, PST, TLS_SESSION_INPUT, GInputStream)
struct _PstTlsSessionInput { GInputStream parent_instance; PstTlsSession *conn; };
static void input_pollable_init (GPollableInputStreamInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (PstTlsSessionInput, pst_tls_session_input, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, input_pollable_init))

static PstTlsSession *
input_get_conn (GObject *stream)
{
  return PST_TLS_SESSION_INPUT (stream)->conn;
}

#define PST_TYPE_TLS_SESSION_OUTPUT (pst_tls_session_output_get_type ())
G_DECLARE_FINAL_TYPE (PstTlsSessionOutput, pst_tls_session_output, PST, TLS_SESSION_OUTPUT, GOutputStream)
struct _PstTlsSessionOutput { GOutputStream parent_instance; PstTlsSession *conn; };
static void output_pollable_init (GPollableOutputStreamInterface *iface);
G_DEFINE_FINAL_TYPE_WITH_CODE (PstTlsSessionOutput, pst_tls_session_output, G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM, output_pollable_init))

/* Blocking forms (GIO's fallbacks): wait on the socket, its timeout applies. */
static gboolean
wait_socket (PstTlsSession *self, GIOCondition condition, GCancellable *cancellable, GError **error)
{
  if (self == NULL || self->socket == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, _("Stream is already closed"));
      return FALSE;
    }
  return g_socket_condition_wait (self->socket, condition, cancellable, error);
}

static gssize
input_read (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  PstTlsSession *conn = PST_TLS_SESSION_INPUT (stream)->conn;

  for (;;)
    {
      GError *local = NULL;
      gssize n = pst_tls_session_recv (conn, buffer, count, &local);

      if (n >= 0 || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local != NULL)
            g_propagate_error (error, local);
          return n;
        }
      g_error_free (local);
      if (!wait_socket (conn, G_IO_IN, cancellable, error))
        return -1;
    }
}

static gboolean
input_is_readable (GPollableInputStream *stream)
{
  PstTlsSession *conn = PST_TLS_SESSION_INPUT (stream)->conn;

  if (conn == NULL || conn->session == NULL)
    return TRUE;   /* a read reports the close */
  return pst_tls_session_has_pending (conn) || g_socket_condition_check (conn->socket, G_IO_IN) != 0;
}

static GSource *
input_create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  return tls_source_new (G_OBJECT (stream), PST_TLS_SESSION_INPUT (stream)->conn, TRUE, cancellable);
}

static gssize
input_read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  return pst_tls_session_recv (PST_TLS_SESSION_INPUT (stream)->conn, buffer, count, error);
}

static gboolean
input_can_poll (GPollableInputStream *stream)
{
  return TRUE;
}

static void
input_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = input_can_poll;
  iface->is_readable = input_is_readable;
  iface->create_source = input_create_source;
  iface->read_nonblocking = input_read_nonblocking;
}

static void
pst_tls_session_input_class_init (PstTlsSessionInputClass *klass)
{
  G_INPUT_STREAM_CLASS (klass)->read_fn = input_read;
}

static void
pst_tls_session_input_init (PstTlsSessionInput *self)
{
}

static gssize
output_write (GOutputStream *stream, const void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  PstTlsSession *conn = PST_TLS_SESSION_OUTPUT (stream)->conn;

  for (;;)
    {
      GError *local = NULL;
      gssize n = pst_tls_session_send (conn, buffer, count, &local);

      if (n >= 0 || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local != NULL)
            g_propagate_error (error, local);
          return n;
        }
      g_error_free (local);
      if (!wait_socket (conn, G_IO_OUT, cancellable, error))
        return -1;
    }
}

static gboolean
output_is_writable (GPollableOutputStream *stream)
{
  PstTlsSession *conn = PST_TLS_SESSION_OUTPUT (stream)->conn;

  if (conn == NULL || conn->socket == NULL)
    return TRUE;
  return g_socket_condition_check (conn->socket, G_IO_OUT) != 0;
}

static GSource *
output_create_source (GPollableOutputStream *stream, GCancellable *cancellable)
{
  return tls_source_new (G_OBJECT (stream), PST_TLS_SESSION_OUTPUT (stream)->conn, FALSE, cancellable);
}

static gssize
output_write_nonblocking (GPollableOutputStream *stream, const void *buffer, gsize count, GError **error)
{
  return pst_tls_session_send (PST_TLS_SESSION_OUTPUT (stream)->conn, buffer, count, error);
}

static gboolean
output_can_poll (GPollableOutputStream *stream)
{
  return TRUE;
}

static void
output_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = output_can_poll;
  iface->is_writable = output_is_writable;
  iface->create_source = output_create_source;
  iface->write_nonblocking = output_write_nonblocking;
}

static void
pst_tls_session_output_class_init (PstTlsSessionOutputClass *klass)
{
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = output_write;
}

static void
pst_tls_session_output_init (PstTlsSessionOutput *self)
{
}

GInputStream *
pst_tls_session_input_new (PstTlsSession *conn)
{
  PstTlsSessionInput *self = g_object_new (PST_TYPE_TLS_SESSION_INPUT, NULL);

  self->conn = conn;
  return G_INPUT_STREAM (self);
}

GOutputStream *
pst_tls_session_output_new (PstTlsSession *conn)
{
  PstTlsSessionOutput *self = g_object_new (PST_TYPE_TLS_SESSION_OUTPUT, NULL);

  self->conn = conn;
  return G_OUTPUT_STREAM (self);
}

void
pst_tls_session_input_detach (GInputStream *stream)
{
  PST_TLS_SESSION_INPUT (stream)->conn = NULL;
}

void
pst_tls_session_output_detach (GOutputStream *stream)
{
  PST_TLS_SESSION_OUTPUT (stream)->conn = NULL;
}
