/* pst-stream-pump-read.c: PstStreamPump's reader: chunks read until the stream would block, held writes
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-stream-pump-private.h"

/* FALSE when reading ended (EOF or error; the owner is told). */
static gboolean
got_bytes (PstStreamPump *self, guint8 *buf, gssize n, const GError *error)
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
    self->sink.data (self, buf, n, self->user_data);
  return TRUE;
}

/* A non-blocking read that fills buf (READ_SIZE) while a whole TLS
 * record still fits, or until the stream would block: what was read goes
 * on in one piece (one frame, whole records on the other side).  An end
 * (EOF or error) met after some bytes is kept for the next call, so the
 * bytes go out first and the end is not lost.  *drained: the stream said
 * WOULD_BLOCK after those bytes, or (a bare socket whose peer has not
 * closed) gave less than asked, so the next read would only say
 * WOULD_BLOCK (a recv() that returns EAGAIN): the caller waits instead. */
static gssize
read_chunk (PstStreamPump *self, GPollableInputStream *in, guint8 *buf, gboolean *drained, GError **error)
{
  gsize got = 0;

  *drained = FALSE;
  if (self->end_pending)
    {
      self->end_pending = FALSE;
      if (self->end_error == NULL)
        return 0;
      g_propagate_error (error, g_steal_pointer (&self->end_error));
      return -1;
    }
  while (READ_SIZE - got >= READ_ROOM)
    {
      GError *local = NULL;
      gsize want = READ_SIZE - got;
      gssize n = g_pollable_input_stream_read_nonblocking (in, buf + got, want, NULL, &local);

      if (n > 0)
        {
          got += n;
          if ((gsize) n < want && self->short_drains && self->watch != NULL &&
              !pst_poller_watch_peer_closed (self->watch))
            {
              *drained = TRUE;
              break;
            }
          continue;
        }
      if (got == 0)
        {
          if (local != NULL)
            g_propagate_error (error, local);
          return n;
        }
      if (n < 0 && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (local);
          *drained = TRUE;
        }
      else
        {
          self->end_pending = TRUE;
          self->end_error = local;
        }
      break;
    }
  return got;
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  g_autofree guint8 *buf = g_steal_pointer (&self->rbuf);

  self->reading = FALSE;
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped || self->closed)
    {
      pst_stream_pump_unref (self);
      return;
    }
  pst_pump_thread_hold (pst_pump_thread ());
  if (got_bytes (self, buf, n, error))
    pst_pump_read_more (self);
  pst_pump_thread_release (pst_pump_thread ());
  pst_stream_pump_unref (self);
}

gboolean
pst_pump_can_read (PstStreamPump *self)
{
  return !self->paused && !self->stopped && !self->closing && !self->closed && self->started;
}

void
pst_pump_stop_watching (PstStreamPump *self)
{
  if (self->read_source == NULL)
    return;
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
}

typedef enum {
  READ_WAIT,        /* the stream would block: wait for the socket */
  READ_AGAIN,       /* the budget is used up, the stream may hold more */
  READ_DONE,        /* paused, stopped or ended */
} ReadOutcome;

/* Reads until the stream would block, at most READS_PER_WAKE times;
 * what the sink writes on other pumps goes out once the reads are done.
 * *blocked_first: the very first read would block. */
static ReadOutcome
read_some (PstStreamPump *self, gboolean *blocked_first)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream));
  PumpThread *t = pst_pump_thread ();
  ReadOutcome outcome = READ_AGAIN;
  guint8 *buf;

  *blocked_first = FALSE;
  pst_stream_pump_ref (self);
  pst_pump_thread_hold (t);
  buf = pst_pump_borrow_read_buffer (t);
  for (int i = 0; i < READS_PER_WAKE && outcome == READ_AGAIN; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean drained;
      gssize n;

      if (!pst_pump_can_read (self))
        {
          outcome = READ_DONE;
          break;
        }
      n = read_chunk (self, in, buf, &drained, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          *blocked_first = i == 0;
          outcome = READ_WAIT;
        }
      else if (!got_bytes (self, buf, n, error))
        outcome = READ_DONE;
      else if (drained)
        outcome = READ_WAIT;
    }
  pst_pump_return_read_buffer (t, buf);
  pst_pump_thread_release (t);
  if (outcome != READ_DONE && !pst_pump_can_read (self))
    outcome = READ_DONE;
  pst_stream_pump_unref (self);
  return outcome;
}

/* GIO's way (no socket, or one wait handed over): one watch while
 * reading, reads until the stream would block. */
static gboolean
readable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;
  gboolean blocked_first;
  ReadOutcome outcome = read_some (self, &blocked_first);

  if (outcome != READ_DONE && self->read_source != NULL && self->watch == NULL)
    return G_SOURCE_CONTINUE;
  pst_pump_stop_watching (self);
  if (outcome != READ_DONE && self->watch != NULL)
    {
      /* the handed-over wait is over: back to the poller */
      if (outcome == READ_WAIT)
        pst_poller_watch_would_block (self->watch, G_IO_IN);
      self->want_in = TRUE;
      pst_pump_sync_watch (self);
      if (outcome == READ_AGAIN && self->watch != NULL)
        pst_poller_watch_schedule (self->watch);
    }
  return G_SOURCE_REMOVE;
}

void
pst_pump_start_gio_read (PstStreamPump *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->stream);

  if (self->read_source != NULL)
    return;
  self->read_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
  g_source_set_callback (self->read_source, (GSourceFunc) (void (*)(void)) readable_cb,
                         pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

/* A readable wake-up (or a scheduled call).  TRUE: call again at the
 * next dispatch. */
gboolean
pst_pump_watch_read (PstStreamPump *self, GIOCondition ready)
{
  gboolean blocked_first;
  ReadOutcome outcome = read_some (self, &blocked_first);

  if (outcome == READ_DONE)
    {
      self->want_in = FALSE;
      return FALSE;
    }
  if (outcome == READ_AGAIN)
    return TRUE;
  /* Woken for a readable socket, yet the stream would block from the
   * start, and its socket is still readable: not bytes in flight but the
   * TLS connection busy with another operation.  The poller would not
   * report it again (edge-triggered); GIO's source knows when that ends. */
  if (blocked_first && (ready & G_IO_IN) &&
      g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream))))
    {
      pst_pump_count_gio_wait ();
      g_debug ("pump %p: the stream would block on a readable socket; this wait goes to GIO", (void *) self);
      self->want_in = FALSE;
      pst_pump_start_gio_read (self);
    }
  return FALSE;
}

void
pst_pump_read_more (PstStreamPump *self)
{
  if (self->reading || self->read_source != NULL || self->want_in || !pst_pump_can_read (self))
    return;
  if (pst_pump_has_watch (self))
    {
      gboolean first = !self->waited;

      /* Bytes may already wait above the socket: try at once (at the next
       * dispatch, not on this stack).  Not on a bare socket the watch has
       * just registered: the kernel reported then whether it is readable
       * (after a pause, though, bytes a read left there have no report). */
      self->waited = TRUE;
      self->want_in = TRUE;
      pst_pump_sync_watch (self);
      if (self->watch != NULL &&
          !(first && self->short_drains && pst_poller_watch_knows_ready (self->watch)))
        pst_poller_watch_schedule (self->watch);
      return;
    }
  if (pst_pump_input_can_poll (self))
    {
      pst_pump_start_gio_read (self);
      return;
    }
  self->reading = TRUE;
  if (self->rbuf == NULL)
    self->rbuf = g_malloc (READ_SIZE);
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->rbuf, READ_SIZE,
                             G_PRIORITY_DEFAULT, self->cancellable, read_cb, pst_stream_pump_ref (self));
}
