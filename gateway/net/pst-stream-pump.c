/* pst-stream-pump.c: bounded reading and writing of raw bytes on a stream: the object, its watch, closing
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-io-close.h"
#include "pst-stream-pump-private.h"

/* The byte side of a proxy (tcp:// and ssl:// back-ends, tcp/ssl accepts):
 * a 64 KiB read buffer shared by every pump of the thread, a write queue
 * its owner watches to pause the other side, and reading that stops when
 * told to.
 *
 * Memory per idle connection: a pump holds no buffer while nothing is in
 * flight.  Reads are non-blocking and the sink consumes every byte (parses
 * it, or copies it into the other side's queue) before it returns, so one
 * buffer per thread serves every pump; the rare stream that cannot poll
 * gets a buffer of its own only while its async read is pending.
 *
 * Waiting: a stream over a socket (plain, TLS, the stream SoupServer
 * hands over after an upgrade) waits on its thread's PstPoller, one
 * epoll-backed GSource for every connection, so an idle connection costs
 * the main loop nothing.  Bytes may sit above the socket (GnuTLS records
 * already decrypted, a wrapper's buffer): reads go on until the stream
 * says WOULD_BLOCK before waiting on the socket again, and a read started
 * or resumed tries at once.  A stream with no socket (a test's memory
 * stream) waits with GIO's pollable sources: one pump, two ways of
 * waiting. */

/* Pumps whose owner has let go of them (pst_stream_pump_close) but whose
 * last bytes are still being written: a draining gateway waits for them
 * before it exits.  Process-wide, as the process exit is. */
static gint n_flushing;

static void
flushing_done (PstStreamPump *self)
{
  if (!self->flushing)
    return;
  self->flushing = FALSE;
  g_atomic_int_add (&n_flushing, -1);
}

guint
pst_stream_pump_get_n_flushing (void)
{
  return (guint) g_atomic_int_get (&n_flushing);
}


PstStreamPump *
pst_stream_pump_new (GIOStream *stream, gsize high_water, const PstStreamPumpSink *sink, gpointer user_data)
{
  PstStreamPump *self = g_new0 (PstStreamPump, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->cancellable = g_cancellable_new ();
  self->sink = *sink;
  self->user_data = user_data;
  self->high_water = high_water ? high_water : 1024 * 1024;
  g_queue_init (&self->out_q);
  return self;
}

PstStreamPump *
pst_stream_pump_ref (PstStreamPump *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pst_stream_pump_unref (PstStreamPump *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  flushing_done (self);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  pst_pump_drop_tail (self);
  g_clear_error (&self->end_error);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_free (self->iov);
  g_free (self->rbuf);
  g_free (self);
}


static void
pump_thread_free (gpointer data)
{
  PumpThread *t = data;

  g_ptr_array_unref (t->pumps);
  for (guint i = 0; i < t->n_blocks; i++)
    g_free (t->blocks[i]);
  g_free (t->rbuf);
  g_free (t);
}

static GPrivate pump_thread_key = G_PRIVATE_INIT (pump_thread_free);

PumpThread *
pst_pump_thread (void)
{
  PumpThread *t = g_private_get (&pump_thread_key);

  if (G_UNLIKELY (t == NULL))
    {
      t = g_new0 (PumpThread, 1);
      t->pumps = g_ptr_array_new ();
      g_private_set (&pump_thread_key, t);
    }
  return t;
}

/* The thread's read buffer, or one of our own if it is in use further up
 * the stack (a sink that made another pump read at once: no path does
 * today, so this costs nothing in practice). */
guint8 *
pst_pump_borrow_read_buffer (PumpThread *t)
{
  if (t->rbuf_busy)
    return g_malloc (READ_SIZE);
  if (t->rbuf == NULL)
    t->rbuf = g_malloc (READ_SIZE);
  t->rbuf_busy = TRUE;
  return t->rbuf;
}

void
pst_pump_return_read_buffer (PumpThread *t, guint8 *buf)
{
  if (buf == t->rbuf)
    t->rbuf_busy = FALSE;
  else
    g_free (buf);
}

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;

  pst_io_close_finish (G_IO_STREAM (source), result, NULL);
  flushing_done (self);
  pst_stream_pump_unref (self);
}

/* ---- the poller's watch ------------------------------------------------- */

/* Process-wide: waits handed to GIO's sources because the stream said
 * WOULD_BLOCK while its socket was ready (glib-networking does while
 * another operation holds the TLS connection). */
static gint n_gio_waits;

void
pst_pump_count_gio_wait (void)
{
  g_atomic_int_inc (&n_gio_waits);
}

guint
pst_stream_pump_get_n_gio_waits (void)
{
  return (guint) g_atomic_int_get (&n_gio_waits);
}

static gboolean watch_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data);

gboolean
pst_pump_input_can_poll (PstStreamPump *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->stream);

  return G_IS_POLLABLE_INPUT_STREAM (in) && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in));
}

static gboolean
output_can_poll (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);

  return G_IS_POLLABLE_OUTPUT_STREAM (out) && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));
}

/* Whether a read shorter than asked proves that the socket is empty, so
 * the pump may wait for the next report without a last read that would
 * only say WOULD_BLOCK (one syscall per wake-up).  Only of a bare socket:
 * a wrapper (our prefix and head-limit streams, libsoup's filter stream)
 * hands out what it buffered without reading on, and TLS may hold whole
 * records; the poller reports edges, so what is left there would wait
 * for the peer's next bytes. */
static gboolean
short_read_drains (GIOStream *stream)
{
  return G_IS_SOCKET_CONNECTION (stream);
}

/* The watch, made on first use when a socket lies under the stream. */
gboolean
pst_pump_has_watch (PstStreamPump *self)
{
  GSocket *socket;

  if (self->watch != NULL)
    return TRUE;
  if (self->no_watch || self->closed)
    return FALSE;
  socket = pst_io_find_socket (self->stream);
  if (socket == NULL || g_socket_get_fd (socket) < 0 || !pst_pump_input_can_poll (self) || !output_can_poll (self))
    {
      self->no_watch = TRUE;
      return FALSE;
    }
  /* the socket's last owner (its connect, TLS handshake, peek) may have
   * left its registration with it */
  self->watch = pst_poller_watch_adopt (pst_poller_get_default (), socket, watch_cb, self);
  if (self->watch == NULL)
    self->watch = pst_poller_watch_new (pst_poller_get_default (), g_socket_get_fd (socket), watch_cb, self);
  pst_stream_pump_ref (self);   /* the watch's */
  self->short_drains = short_read_drains (self->stream);
  return TRUE;
}

static void
drop_watch (PstStreamPump *self)
{
  if (self->watch == NULL)
    return;
  g_clear_pointer (&self->watch, pst_poller_watch_free);
  self->want_in = self->want_out = FALSE;
  pst_stream_pump_unref (self);   /* the watch's; callers hold their own */
}


/* The mask follows want_in and want_out.  If epoll refuses the socket
 * the pump waits GIO's way from then on. */
void
pst_pump_sync_watch (PstStreamPump *self)
{
  gboolean in = self->want_in, out = self->want_out;

  if (self->watch == NULL)
    return;
  if (pst_poller_watch_set_mask (self->watch, (in ? G_IO_IN : 0) | (out ? G_IO_OUT : 0)))
    return;
  g_debug ("pump %p: the poller refused its socket; waiting with GIO's sources", (void *) self);
  pst_stream_pump_ref (self);
  drop_watch (self);
  self->no_watch = TRUE;
  if (in)
    pst_pump_start_gio_read (self);
  if (out)
    pst_pump_start_gio_write (self);
  pst_stream_pump_unref (self);
}


void
pst_pump_finish_close (PstStreamPump *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  pst_stream_pump_ref (self);
  /* the watch goes before the descriptor is closed */
  drop_watch (self);
  pst_pump_stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  g_cancellable_cancel (self->cancellable);
  pst_io_close_async (self->stream, CLOSE_DEADLINE_MS, closed_cb, pst_stream_pump_ref (self));
  pst_stream_pump_unref (self);
}

/* While a pump's wake-up reads (up to READS_PER_WAKE chunks), the
 * writes that causes on other pumps (a frame's pieces, the payloads of
 * several frames parsed from one read, the chunks of several reads) are
 * held and written once the reading is over: one write of everything,
 * not one per piece.  A TLS stream writes one record per write call, so
 * every held write also saves a short record (and its send()) at the
 * end of each piece.  Per thread, as the pumps are. */
void
pst_pump_thread_hold (PumpThread *t)
{
  t->depth++;
}

void
pst_pump_thread_release (PumpThread *t)
{
  if (--t->depth > 0)
    return;
  /* A write may cause more (drained → the other side reads): those go
   * out at once, the depth being 0 now. */
  while (t->pumps->len > 0)
    {
      g_autoptr(GPtrArray) pumps = g_steal_pointer (&t->pumps);

      t->pumps = g_ptr_array_new ();
      for (guint i = 0; i < pumps->len; i++)
        {
          PstStreamPump *pump = pumps->pdata[i];

          pump->deferred = FALSE;
          pst_pump_write_more (pump);
          pst_stream_pump_unref (pump);
        }
    }
}

static gboolean
watch_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  PstStreamPump *self = user_data;
  gboolean again = FALSE;

  pst_stream_pump_ref (self);
  if (self->want_out && (ready & (G_IO_OUT | G_IO_HUP | G_IO_ERR)))
    {
      self->want_out = FALSE;
      self->out_woken = TRUE;
      pst_pump_write_more (self);
      self->out_woken = FALSE;
    }
  if (self->watch == watch && self->want_in)
    again = pst_pump_watch_read (self, ready);
  if (self->watch == watch)
    pst_pump_sync_watch (self);
  else
    again = FALSE;
  pst_stream_pump_unref (self);
  return again;
}

void
pst_stream_pump_start (PstStreamPump *self)
{
  self->started = TRUE;
  pst_pump_read_more (self);
}

void
pst_stream_pump_pause (PstStreamPump *self)
{
  self->paused = TRUE;
  if (self->want_in)
    {
      self->want_in = FALSE;
      pst_pump_sync_watch (self);
    }
}

void
pst_stream_pump_resume (PstStreamPump *self)
{
  self->paused = FALSE;
  pst_pump_read_more (self);
}


void
pst_stream_pump_stop (PstStreamPump *self)
{
  flushing_done (self);
  memset (&self->sink, 0, sizeof self->sink);
  self->closed = self->stopped = TRUE;
  pst_stream_pump_ref (self);
  drop_watch (self);
  pst_pump_stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  /* An async write in flight still points into the queue: it is dropped
   * when that write returns. */
  pst_pump_drop_tail (self);
  if (!self->writing)
    {
      g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
      self->head_off = 0;
      self->queued = 0;
    }
  g_cancellable_cancel (self->cancellable);
  pst_stream_pump_unref (self);
}

gboolean
pst_stream_pump_is_congested (PstStreamPump *self)
{
  return self->congested;
}

void
pst_stream_pump_close (PstStreamPump *self)
{
  if (self->closing)
    return;
  /* The owner is done with us (it may be gone before the queue is
   * flushed): no more callbacks. */
  memset (&self->sink, 0, sizeof self->sink);
  self->closing = TRUE;
  if (!self->closed)
    {
      self->flushing = TRUE;
      g_atomic_int_inc (&n_flushing);
    }
  self->stopped = TRUE;
  pst_pump_write_more (self);
}

GIOStream *
pst_stream_pump_get_stream (PstStreamPump *self)
{
  return self->stream;
}

guint64
pst_stream_pump_get_bytes_in (PstStreamPump *self)
{
  return self->bytes_in;
}

guint64
pst_stream_pump_get_bytes_out (PstStreamPump *self)
{
  return self->bytes_out;
}
