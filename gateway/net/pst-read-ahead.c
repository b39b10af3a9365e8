/* pst-read-ahead.c: a socket's input read in large pieces, for the TLS layer on top of it
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-read-ahead.h"

/* strace -c of a wss -> ssl bulk transfer: GnuTLS reads every record
 * with two recv() calls, 5 bytes then the rest, through glib-networking's
 * pull function: 2.3 recv() per 16 KiB record, the largest syscall count
 * of the gateway.  Read ahead in 64 KiB pieces instead (the bytes are
 * copied once more, which costs less than the calls).
 *
 * glib-networking polls its base stream's GSource for input and caches
 * that source: ours must therefore be ready whenever bytes are in hand,
 * not only when the socket is readable (prepare/check below). */

#define AHEAD_SIZE (64 * 1024)
/* A read this large with nothing in hand goes to the socket directly:
 * a record's body, no copy. */
#define DIRECT_MIN (4 * 1024)

struct _PstReadAhead
{
  GInputStream  parent_instance;
  GIOStream    *base;
  GInputStream *base_in;
  guint8       *buf;      /* only while bytes are in hand */
  gsize         off, len;
};

static void pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_TYPE_WITH_CODE (PstReadAhead, pst_read_ahead, G_TYPE_INPUT_STREAM,
                         G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM, pollable_iface_init))

/* One spare buffer per thread: a busy connection takes and gives back a
 * buffer every few records, and a malloc/free of 64 KiB each time makes
 * glibc grow and trim its heap (brk) over and over. */
static GPrivate spare_buf = G_PRIVATE_INIT (g_free);

static guint8 *
buf_get (void)
{
  guint8 *buf = g_private_get (&spare_buf);

  if (buf == NULL)
    return g_malloc (AHEAD_SIZE);
  g_private_set (&spare_buf, NULL);
  return buf;
}

static void
buf_put (guint8 *buf)
{
  if (buf == NULL)
    return;
  if (g_private_get (&spare_buf) == NULL)
    g_private_set (&spare_buf, buf);
  else
    g_free (buf);
}

static void
drop_buffer (PstReadAhead *self)
{
  buf_put (g_steal_pointer (&self->buf));
  self->off = self->len = 0;
}

static gsize
in_hand (PstReadAhead *self)
{
  return self->len - self->off;
}

static gssize
take (PstReadAhead *self, void *buffer, gsize count)
{
  gsize n = MIN (count, in_hand (self));

  memcpy (buffer, self->buf + self->off, n);
  self->off += n;
  if (self->off == self->len)
    drop_buffer (self);
  return n;
}

/* Blocking reads come from GnuTLS's handshake (in GIO's thread pool),
 * a few small messages: no read-ahead there. */
static gssize
read_fn (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);

  if (in_hand (self) > 0 && count > 0)
    return take (self, buffer, count);
  return g_input_stream_read (self->base_in, buffer, count, cancellable, error);
}

static gboolean
close_fn (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);

  drop_buffer (self);
  return g_io_stream_close (self->base, cancellable, error);
}

static gboolean
can_poll (GPollableInputStream *stream)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);

  return G_IS_POLLABLE_INPUT_STREAM (self->base_in) &&
         g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->base_in));
}

static gboolean
is_readable (GPollableInputStream *stream)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);

  return in_hand (self) > 0 || g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->base_in));
}

static gssize
read_nonblocking (GPollableInputStream *stream, void *buffer, gsize count, GError **error)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);
  GPollableInputStream *base = G_POLLABLE_INPUT_STREAM (self->base_in);
  gssize n;

  if (count == 0)
    return 0;
  if (in_hand (self) > 0)
    return take (self, buffer, count);
  if (count >= DIRECT_MIN)
    return g_pollable_input_stream_read_nonblocking (base, buffer, count, NULL, error);
  self->buf = buf_get ();
  n = g_pollable_input_stream_read_nonblocking (base, self->buf, AHEAD_SIZE, NULL, error);
  if (n <= 0)
    {
      drop_buffer (self);
      return n;
    }
  self->off = 0;
  self->len = n;
  return take (self, buffer, count);
}

/* ---- the source: ready while bytes are in hand, else when the socket is */

typedef struct {
  GSource       source;
  PstReadAhead *stream;
} AheadSource;

static gboolean
ahead_prepare (GSource *source, gint *timeout)
{
  *timeout = -1;
  return in_hand (((AheadSource *) source)->stream) > 0;
}

static gboolean
ahead_check (GSource *source)
{
  return in_hand (((AheadSource *) source)->stream) > 0;
}

static gboolean
ahead_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  GPollableSourceFunc func = (GPollableSourceFunc) (void (*)(void)) callback;

  if (func == NULL)
    return G_SOURCE_CONTINUE;
  return func (G_OBJECT (((AheadSource *) source)->stream), user_data);
}

static void
ahead_finalize (GSource *source)
{
  g_clear_object (&((AheadSource *) source)->stream);
}

static GSourceFuncs ahead_source_funcs = {
  .prepare = ahead_prepare,
  .check = ahead_check,
  .dispatch = ahead_dispatch,
  .finalize = ahead_finalize,
};

static gboolean
dummy_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static GSource *
create_source (GPollableInputStream *stream, GCancellable *cancellable)
{
  PstReadAhead *self = PST_READ_AHEAD (stream);
  GSource *source = g_source_new (&ahead_source_funcs, sizeof (AheadSource));
  g_autoptr(GSource) child = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->base_in),
                                                                    NULL);

  g_source_set_name (source, "PstReadAhead");
  ((AheadSource *) source)->stream = g_object_ref (self);
  g_source_set_callback (child, dummy_cb, NULL, NULL);
  g_source_add_child_source (source, child);
  if (cancellable != NULL)
    {
      g_autoptr(GSource) cancel = g_cancellable_source_new (cancellable);

      g_source_set_callback (cancel, dummy_cb, NULL, NULL);
      g_source_add_child_source (source, cancel);
    }
  return source;
}

static void
pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_readable = is_readable;
  iface->create_source = create_source;
  iface->read_nonblocking = read_nonblocking;
}

static void
pst_read_ahead_finalize (GObject *object)
{
  PstReadAhead *self = PST_READ_AHEAD (object);

  g_free (self->buf);
  g_clear_object (&self->base_in);
  g_clear_object (&self->base);
  G_OBJECT_CLASS (pst_read_ahead_parent_class)->finalize (object);
}

static void
pst_read_ahead_class_init (PstReadAheadClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_read_ahead_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = read_fn;
  G_INPUT_STREAM_CLASS (klass)->close_fn = close_fn;
}

static void
pst_read_ahead_init (PstReadAhead *self)
{
}

GIOStream *
pst_read_ahead_wrap (GIOStream *base)
{
  g_autoptr(PstReadAhead) in = NULL;
  GIOStream *joined;

  g_return_val_if_fail (G_IS_IO_STREAM (base), NULL);

  in = g_object_new (PST_TYPE_READ_AHEAD, NULL);
  in->base = g_object_ref (base);
  in->base_in = g_object_ref (g_io_stream_get_input_stream (base));
  joined = g_simple_io_stream_new (G_INPUT_STREAM (in), g_io_stream_get_output_stream (base));
  /* pst_io_find_socket looks through it */
  g_object_set_data_full (G_OBJECT (joined), "pst-base-stream", g_object_ref (base), g_object_unref);
  return joined;
}
