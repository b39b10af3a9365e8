/* pst-io-close.c: find the socket under a stack of streams; close a
 * stream in bounded time
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pst-io-close.h"
#include "pst-linger.h"
#include "pst-tls-session.h"

GIOStream *
pst_io_base_stream (GIOStream *stream)
{
  static const char *const base_props[] = { "base-io-stream", "base-iostream" };
  GIOStream *base = g_object_get_data (G_OBJECT (stream), "pst-base-stream");

  for (guint i = 0; base == NULL && i < G_N_ELEMENTS (base_props); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (stream), base_props[i]);

      if (pspec == NULL || !g_type_is_a (pspec->value_type, G_TYPE_IO_STREAM))
        continue;
      g_object_get (stream, base_props[i], &base, NULL);
      if (base != NULL)
        g_object_unref (base);   /* still owned by the stream above it */
    }
  return base;
}

GSocket *
pst_io_find_socket (GIOStream *stream)
{
  for (int depth = 0; stream != NULL && depth < 8; depth++)
    {
      if (G_IS_SOCKET_CONNECTION (stream))
        return g_socket_connection_get_socket (G_SOCKET_CONNECTION (stream));
      stream = pst_io_base_stream (stream);
    }
  return NULL;
}

/* What to close: the TLS connection under libsoup's stream and our
 * wrappers, when there is one (a GTlsConnection, or our PstTlsSession,
 * whose close neither blocks nor takes a thread), else the plain socket
 * connection under them (its close takes no thread either).  Closing a
 * wrapper would close its input and its output stream one after the
 * other, each in a thread of GIO's pool (a filter stream has no
 * asynchronous close of its own): two thread hand-offs per connection.
 * The wrappers above (ours hold no output of their own) close,
 * synchronously and with nothing left to do, when they are finalized. */
static GIOStream *
close_target (GIOStream *stream)
{
  GIOStream *s = stream;

  for (int depth = 0; s != NULL && depth < 8; depth++)
    {
      if (G_IS_TLS_CONNECTION (s) || PST_IS_TLS_SESSION (s) || G_IS_SOCKET_CONNECTION (s))
        return s;
      s = pst_io_base_stream (s);
    }
  return stream;
}

/* Bytes the peer sent that nobody will read (a TLS 1.3 back-end's session
 * tickets that came after its pump was paused, a client's last frames):
 * close () with them still in the receive queue makes the kernel reset
 * the connection and throw away what it had not sent yet (the last
 * hundreds of KB a draining gateway had written to a slow back-end, seen
 * in ops-drain).  Read and dropped first, bounded, without blocking.
 * Tells whether the peer has ended, is quiet (nothing was waiting) or
 * is sending yet: when it may still send, only a lingering close
 * (pst-linger.c) keeps the close from resetting. */
typedef enum {
  PEER_ENDED,
  PEER_QUIET,
  PEER_SENDING,
} PeerState;

static PeerState
discard_unread (GSocket *socket)
{
  guint8 buf[16 * 1024];
  int fd = g_socket_get_fd (socket);
  PeerState state = PEER_QUIET;

  /* recv () itself, not g_socket_receive (): its WOULD_BLOCK, the usual
   * answer, would cost a translated, formatted GError per close */
  for (int i = 0; i < 64; i++)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n == 0)
        return PEER_ENDED;   /* its end: nothing more can come */
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? state : PEER_ENDED;
      state = PEER_SENDING;
    }
  return PEER_SENDING;
}

/* TRUE when every byte we wrote on fd has reached the peer (acknowledged):
 * a reset can then lose nothing of ours -- the peer's kernel holds it all
 * -- so a plain close () is enough and no linger is needed. */
static gboolean
all_acknowledged (int fd)
{
  int unacked = 0;

  return ioctl (fd, SIOCOUTQ, &unacked) == 0 && unacked == 0;
}

/* A descriptor of the socket's own, for pst_linger_take once the stream is
 * closed (its close closes the stream's descriptor; the connection lives
 * on in ours), or -1 when there is nothing to linger for: no TCP socket,
 * closed or shut down already, or the peer has ended. */
static int
linger_fd (GIOStream *stream, gboolean *sending)
{
  GSocket *socket = pst_io_find_socket (stream);
  GSocketFamily family;
  PeerState peer;

  if (socket == NULL || g_socket_is_closed (socket))
    return -1;
  family = g_socket_get_family (socket);
  if (g_socket_get_protocol (socket) != G_SOCKET_PROTOCOL_TCP ||
      (family != G_SOCKET_FAMILY_IPV4 && family != G_SOCKET_FAMILY_IPV6))
    {
      discard_unread (socket);
      return -1;
    }
  peer = discard_unread (socket);
  if (peer == PEER_ENDED || pst_linger_get_max () == 0)
    return -1;
  /* A quiet peer that has every byte of ours (the common back-end close,
   * after the client's end) loses nothing if it sends later and meets a
   * reset: a plain close () then, and the linger's six system calls are
   * saved.  A plain socket's close writes nothing more; a TLS close
   * writes close_notify yet, so that one is judged after it. */
  *sending = peer == PEER_SENDING;
  if (!*sending && G_IS_SOCKET_CONNECTION (close_target (stream)) &&
      all_acknowledged (g_socket_get_fd (socket)))
    return -1;
  return fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
}

typedef struct {
  GIOStream *stream;
  guint      deadline_id;
  int        linger_fd;    /* -1: none */
  gboolean   cut;          /* the deadline shut the socket down */
  gboolean   sending;      /* the peer was sending when we closed */
} CloseOp;

static void
close_op_free (CloseOp *op)
{
  g_clear_handle_id (&op->deadline_id, g_source_remove);
  if (op->linger_fd >= 0)
    close (op->linger_fd);
  g_object_unref (op->stream);
  g_free (op);
}

static gboolean
deadline_cb (gpointer user_data)
{
  GTask *task = user_data;
  CloseOp *op = g_task_get_task_data (task);
  GSocket *socket = pst_io_find_socket (op->stream);

  op->deadline_id = 0;
  op->cut = TRUE;
  if (socket != NULL)
    g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  CloseOp *op = g_task_get_task_data (task);
  GError *error = NULL;

  g_clear_handle_id (&op->deadline_id, g_source_remove);
  if (g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    {
      /* Our last bytes (close_notify included) are queued: the FIN goes
       * behind them, and the peer is read until its end. */
      if (op->linger_fd >= 0 && !op->cut &&
          (op->sending || !all_acknowledged (op->linger_fd)))
        {
          pst_linger_take (op->linger_fd);
          op->linger_fd = -1;
        }
      g_task_return_boolean (task, TRUE);
    }
  else
    g_task_return_error (task, error);
}

void
pst_io_close_async (GIOStream           *stream,
                    guint                deadline_ms,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  GTask *task = g_task_new (stream, NULL, callback, user_data);
  CloseOp *op = g_new0 (CloseOp, 1);

  g_task_set_source_tag (task, pst_io_close_async);
  op->stream = g_object_ref (stream);
  op->linger_fd = linger_fd (stream, &op->sending);
  g_task_set_task_data (task, op, (GDestroyNotify) close_op_free);
  /* The deadline holds no reference: closed_cb removes it first. */
  op->deadline_id = g_timeout_add (deadline_ms, deadline_cb, task);
  g_io_stream_close_async (close_target (stream), G_PRIORITY_DEFAULT, NULL, closed_cb, task);
}

gboolean
pst_io_close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
