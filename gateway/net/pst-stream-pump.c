/* pst-stream-pump.c: bounded reading and writing of raw bytes on a stream
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-io-close.h"
#include "pst-stream-pump.h"

/* The byte side of a proxy (tcp:// and ssl:// back-ends, tcp/ssl accepts):
 * one reused 64 KiB read buffer, a write queue its owner watches to pause
 * the other side, and reading that stops when told to. */

#define READ_SIZE (64 * 1024)
#define MAX_IOV   32
/* What a queued chunk costs besides its bytes: the GBytes, the queue
 * link and two malloc headers.  Limits count this, so a flood of tiny
 * writes (pongs, empty frames) is bounded like a few large ones. */
#define CHUNK_OVERHEAD 96
/* Small writes (frames of a few bytes: pongs, empty messages) made while
 * the socket is busy are gathered into one buffer, so their number does
 * not multiply the overhead. */
#define COALESCE_MAX   512
#define TAIL_SIZE      (16 * 1024)
/* A TLS close sends close_notify to a peer that may not read: bounded. */
#define CLOSE_DEADLINE_MS 3000

struct _PstStreamPump
{
  gint               ref_count;
  GIOStream         *stream;
  GCancellable      *cancellable;
  PstStreamPumpSink  sink;
  gpointer           user_data;
  gsize              high_water;
  guint8            *rbuf;
  gboolean           reading, paused, started, stopped, closing, closed;
  GSource           *read_source;   /* pollable streams: watching for input */
  GSource           *write_source;  /* pollable streams: waiting to write */
  gboolean           in_write;      /* write_more is on the stack */
  GQueue             out_q;
  GByteArray        *tail;          /* small writes not yet in out_q (always last) */
  gsize              queued;        /* bytes, and CHUNK_OVERHEAD per chunk */
  gboolean           writing, congested;
  GOutputVector      iov[MAX_IOV];
  guint64            bytes_in, bytes_out;
  gboolean           flushing;      /* closed by its owner, queue not yet out */
};

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

static void read_more (PstStreamPump *self);
static void stop_watching (PstStreamPump *self);
static void write_more (PstStreamPump *self);

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
  self->rbuf = g_malloc (READ_SIZE);
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
  g_clear_pointer (&self->tail, g_byte_array_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_free (self->rbuf);
  g_free (self);
}

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;

  pst_io_close_finish (G_IO_STREAM (source), result, NULL);
  flushing_done (self);
  pst_stream_pump_unref (self);
}

static void
finish_close (PstStreamPump *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  g_cancellable_cancel (self->cancellable);
  pst_io_close_async (self->stream, CLOSE_DEADLINE_MS, closed_cb, pst_stream_pump_ref (self));
}

/* FALSE when reading ended (EOF or error; the owner is told). */
static gboolean
got_bytes (PstStreamPump *self, gssize n, const GError *error)
{
  if (n <= 0)
    {
      self->stopped = TRUE;
      if (self->sink.eof != NULL)
        self->sink.eof (self, error, self->user_data);
      return FALSE;
    }
  self->bytes_in += n;
  if (self->sink.data != NULL)
    self->sink.data (self, self->rbuf, n, self->user_data);
  return TRUE;
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  self->reading = FALSE;
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped || self->closed)
    {
      pst_stream_pump_unref (self);
      return;
    }
  if (got_bytes (self, n, error))
    read_more (self);
  pst_stream_pump_unref (self);
}

static gboolean
can_read (PstStreamPump *self)
{
  return !self->paused && !self->stopped && !self->closing && !self->closed && self->started;
}

static void
stop_watching (PstStreamPump *self)
{
  if (self->read_source == NULL)
    return;
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
}

/* As in PstWebsocket: on pollable streams, one watch while reading and
 * reads until the stream would block, not one async read per chunk. */
static gboolean
readable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream));

  for (int i = 0; i < 8; i++)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      if (!can_read (self))
        break;
      n = g_pollable_input_stream_read_nonblocking (in, self->rbuf, READ_SIZE, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      if (!got_bytes (self, n, error))
        break;
    }
  if (can_read (self) && self->read_source != NULL)
    return G_SOURCE_CONTINUE;
  stop_watching (self);
  return G_SOURCE_REMOVE;
}

static void
read_more (PstStreamPump *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->stream);

  if (self->reading || self->read_source != NULL || !can_read (self))
    return;
  if (G_IS_POLLABLE_INPUT_STREAM (in) && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in)))
    {
      self->read_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
      g_source_set_callback (self->read_source, (GSourceFunc) (void (*)(void)) readable_cb,
                             pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
      g_source_attach (self->read_source, g_main_context_get_thread_default ());
      return;
    }
  self->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->rbuf, READ_SIZE,
                             G_PRIORITY_DEFAULT, self->cancellable, read_cb, pst_stream_pump_ref (self));
}

void
pst_stream_pump_start (PstStreamPump *self)
{
  self->started = TRUE;
  read_more (self);
}

void
pst_stream_pump_pause (PstStreamPump *self)
{
  self->paused = TRUE;
}

void
pst_stream_pump_resume (PstStreamPump *self)
{
  self->paused = FALSE;
  read_more (self);
}

static void
flush_tail (PstStreamPump *self)
{
  if (self->tail == NULL)
    return;
  g_queue_push_tail (&self->out_q, g_byte_array_free_to_bytes (g_steal_pointer (&self->tail)));
}

static void
write_failed (PstStreamPump *self, const GError *error)
{
  g_clear_pointer (&self->tail, g_byte_array_unref);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  self->queued = 0;
  if (!self->closed && error != NULL && self->sink.failed != NULL)
    self->sink.failed (self, error, self->user_data);
  finish_close (self);
}

/* Drop what was written (whole buffers in order, and part of the next). */
static void
consumed (PstStreamPump *self, gsize written)
{
  self->bytes_out += written;
  while (written > 0)
    {
      GBytes *head = g_queue_pop_head (&self->out_q);
      gsize len = g_bytes_get_size (head);

      if (len > written)
        {
          g_queue_push_head (&self->out_q, g_bytes_new_from_bytes (head, written, len - written));
          len = written;
        }
      else
        self->queued -= CHUNK_OVERHEAD;   /* the chunk is gone */
      written -= len;
      self->queued -= len;
      g_bytes_unref (head);
    }
  if (self->congested && self->queued < self->high_water / 2)
    {
      self->congested = FALSE;
      if (self->sink.drained != NULL && !self->closed)
        self->sink.drained (self, self->user_data);
    }
  if (self->queued == 0 && self->sink.empty != NULL && !self->closed)
    self->sink.empty (self, self->user_data);
}

static void
writev_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error) ||
      self->closed)
    write_failed (self, error);
  else
    {
      consumed (self, written);
      write_more (self);
    }
  pst_stream_pump_unref (self);
}

static gboolean
writable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;

  g_clear_pointer (&self->write_source, g_source_unref);
  write_more (self);
  return G_SOURCE_REMOVE;
}

static guint
gather (PstStreamPump *self)
{
  guint n = 0;

  for (GList *l = self->out_q.head; l != NULL && n < MAX_IOV; l = l->next, n++)
    {
      gsize len;
      self->iov[n].buffer = g_bytes_get_data (l->data, &len);
      self->iov[n].size = len;
    }
  return n;
}

/* As in PstWebsocket: pollable outputs are written at once until they
 * would block, then one watch waits for room. */
static void
write_more (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);
  gboolean pollable = G_IS_POLLABLE_OUTPUT_STREAM (out) &&
                      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));

  if (self->writing || self->write_source != NULL || self->closed || self->in_write)
    return;
  flush_tail (self);
  self->in_write = TRUE;
  while (pollable && !g_queue_is_empty (&self->out_q) && !self->closed)
    {
      g_autoptr(GError) error = NULL;
      gsize written = 0;
      GPollableReturn ret = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (out),
                                                                          self->iov, gather (self),
                                                                          &written, NULL, &error);
      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          self->write_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out), NULL);
          g_source_set_callback (self->write_source, (GSourceFunc) (void (*)(void)) writable_cb,
                                 pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
          g_source_attach (self->write_source, g_main_context_get_thread_default ());
          self->in_write = FALSE;
          return;
        }
      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          self->in_write = FALSE;
          write_failed (self, error);
          return;
        }
      consumed (self, written);   /* may queue more (drained → the other side writes) */
    }
  self->in_write = FALSE;
  if (self->closed)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      if (self->closing)
        finish_close (self);
      return;
    }
  self->writing = TRUE;
  g_output_stream_writev_all_async (out, self->iov, gather (self), G_PRIORITY_DEFAULT,
                                    self->cancellable, writev_cb, pst_stream_pump_ref (self));
}

static void
queued_more (PstStreamPump *self)
{
  if (self->queued >= self->high_water)
    self->congested = TRUE;
  write_more (self);
}

void
pst_stream_pump_write (PstStreamPump *self, const guint8 *data, gsize len)
{
  if (len == 0 || self->closing || self->closed)
    return;
  if (len <= COALESCE_MAX)
    {
      if (self->tail == NULL)
        {
          self->tail = g_byte_array_sized_new (TAIL_SIZE);
          self->queued += CHUNK_OVERHEAD;
        }
      g_byte_array_append (self->tail, data, len);
      self->queued += len;
      if (self->tail->len > TAIL_SIZE - COALESCE_MAX)
        flush_tail (self);
      queued_more (self);
      return;
    }
  {
    g_autoptr(GBytes) bytes = g_bytes_new (data, len);
    pst_stream_pump_write_bytes (self, bytes);
  }
}

/* Takes a reference: the caller's buffer is queued as it is. */
void
pst_stream_pump_write_bytes (PstStreamPump *self, GBytes *bytes)
{
  gsize len = g_bytes_get_size (bytes);

  if (len == 0 || self->closing || self->closed)
    return;
  flush_tail (self);   /* keeps the order of writes */
  g_queue_push_tail (&self->out_q, g_bytes_ref (bytes));
  self->queued += len + CHUNK_OVERHEAD;
  queued_more (self);
}

gsize
pst_stream_pump_get_queued (PstStreamPump *self)
{
  return self->queued;
}

void
pst_stream_pump_stop (PstStreamPump *self)
{
  flushing_done (self);
  memset (&self->sink, 0, sizeof self->sink);
  self->closed = self->stopped = TRUE;
  stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  /* An async write in flight still points into the queue: it is dropped
   * when that write returns. */
  g_clear_pointer (&self->tail, g_byte_array_unref);
  if (!self->writing)
    {
      g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
      self->queued = 0;
    }
  g_cancellable_cancel (self->cancellable);
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
  write_more (self);
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
