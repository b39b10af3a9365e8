/* pst-stream-pump-write.c: PstStreamPump's writer: the queue, 64 KiB blocks, non-blocking writes
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-stream-pump-private.h"

static guint8 *
block_take (void)
{
  PumpThread *t = pst_pump_thread ();

  if (t->n_blocks > 0)
    return t->blocks[--t->n_blocks];
  return g_malloc (BLOCK_SIZE);
}

/* A written block (GBytes' free function): kept if there is room. */
static void
block_release (gpointer block)
{
  PumpThread *t = pst_pump_thread ();

  if (t->n_blocks < BLOCKS_KEPT)
    t->blocks[t->n_blocks++] = block;
  else
    g_free (block);
}

void
pst_pump_drop_tail (PstStreamPump *self)
{
  if (self->tail == NULL)
    return;
  if (self->tail_cap == BLOCK_SIZE)
    block_release (g_steal_pointer (&self->tail));
  else
    g_clear_pointer (&self->tail, g_free);
  self->tail_len = self->tail_cap = 0;
}

static void
flush_tail (PstStreamPump *self)
{
  GBytes *bytes;

  if (self->tail == NULL)
    return;
  bytes = g_bytes_new_with_free_func (self->tail, self->tail_len,
                                      self->tail_cap == BLOCK_SIZE ? block_release : g_free, self->tail);
  g_queue_push_tail (&self->out_q, bytes);
  self->tail = NULL;
  self->tail_len = self->tail_cap = 0;
}

static void
write_failed (PstStreamPump *self, const GError *error)
{
  /* After pst_stream_pump_close nobody hears of a failure: say what it
   * cost here, so that bytes never go missing without a word. */
  if (self->closing && !self->closed && error != NULL && self->queued > 0)
    g_message ("a closing stream's write failed with %" G_GSIZE_FORMAT " bytes still queued: %s",
               self->queued, error->message);
  pst_pump_drop_tail (self);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  self->head_off = 0;
  self->queued = 0;
  if (!self->closed && error != NULL && self->sink.failed != NULL)
    self->sink.failed (self, error, self->user_data);
  pst_pump_finish_close (self);
}

/* Drop what was written (whole buffers in order, and part of the next:
 * a TLS stream takes 16 KiB per write, so that is the usual case). */
static void
consumed (PstStreamPump *self, gsize written)
{
  self->bytes_out += written;
  while (written > 0)
    {
      GBytes *head = g_queue_peek_head (&self->out_q);
      gsize len = g_bytes_get_size (head) - self->head_off;

      if (len > written)
        {
          self->head_off += written;
          self->queued -= written;
          break;
        }
      g_queue_pop_head (&self->out_q);
      g_bytes_unref (head);
      self->head_off = 0;
      self->queued -= len + CHUNK_OVERHEAD;   /* the chunk is gone */
      written -= len;
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
  g_clear_pointer (&self->iov, g_free);
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error) ||
      self->closed)
    write_failed (self, error);
  else
    {
      consumed (self, written);
      pst_pump_write_more (self);
    }
  pst_stream_pump_unref (self);
}

static gboolean
writable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;

  g_clear_pointer (&self->write_source, g_source_unref);
  pst_pump_write_more (self);   /* a watch, if any, takes the next wait */
  return G_SOURCE_REMOVE;
}

void
pst_pump_start_gio_write (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);

  if (self->write_source != NULL)
    return;
  self->write_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out), NULL);
  g_source_set_callback (self->write_source, (GSourceFunc) (void (*)(void)) writable_cb,
                         pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
  g_source_attach (self->write_source, g_main_context_get_thread_default ());
}

static guint
gather (PstStreamPump *self, GOutputVector *iov)
{
  guint n = 0;

  for (GList *l = self->out_q.head; l != NULL && n < MAX_IOV; l = l->next, n++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (l->data, &len);
      gsize skip = n == 0 ? self->head_off : 0;

      iov[n].buffer = data + skip;
      iov[n].size = len - skip;
    }
  return n;
}

/* Pollable outputs are written at once until they would block, then the
 * watch (or GIO's source) waits for room; OUT interest lasts only while
 * something waits to be written. */
void
pst_pump_write_more (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);
  gboolean pollable = G_IS_POLLABLE_OUTPUT_STREAM (out) &&
                      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));

  gboolean first = TRUE;

  if (self->writing || self->write_source != NULL || self->want_out || self->closed || self->in_write)
    return;
  flush_tail (self);
  self->in_write = TRUE;
  while (pollable && !g_queue_is_empty (&self->out_q) && !self->closed)
    {
      g_autoptr(GError) error = NULL;
      GOutputVector iov[MAX_IOV];
      gsize written = 0;
      GPollableReturn ret = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (out),
                                                                          iov, gather (self, iov),
                                                                          &written, NULL, &error);
      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          /* Woken for a writable socket, nothing written, and the socket
           * still writable: the TLS connection is busy with another
           * operation; the poller would not report it again (edge-
           * triggered), GIO's source knows when that ends. */
          gboolean busy = self->out_woken && first &&
                          g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out));

          self->in_write = FALSE;
          if (!busy && pst_pump_has_watch (self))
            {
              /* what the poller saw writable before this is stale */
              pst_poller_watch_would_block (self->watch, G_IO_OUT);
              self->want_out = TRUE;
              pst_pump_sync_watch (self);   /* (or GIO's source, if epoll refuses) */
              return;
            }
          if (busy)
            {
              pst_pump_count_gio_wait ();
              g_debug ("pump %p: the stream would block on a writable socket; this wait goes to GIO",
                       (void *) self);
            }
          pst_pump_start_gio_write (self);
          return;
        }
      first = FALSE;
      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          self->in_write = FALSE;
          write_failed (self, error);
          return;
        }
      consumed (self, written);   /* may queue more (drained → the other side writes) */
      flush_tail (self);          /* …and what it queued comes after */
    }
  self->in_write = FALSE;
  if (self->closed)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      if (self->closing)
        pst_pump_finish_close (self);
      return;
    }
  /* The vector must outlive this call: it is ours only while the write
   * is in flight (an idle pump holds none). */
  self->writing = TRUE;
  self->iov = g_new (GOutputVector, MAX_IOV);
  g_output_stream_writev_all_async (out, self->iov, gather (self, self->iov), G_PRIORITY_DEFAULT,
                                    self->cancellable, writev_cb, pst_stream_pump_ref (self));
}

static void
queued_more (PstStreamPump *self)
{
  if (self->queued >= self->high_water)
    self->congested = TRUE;
  if (!self->deferred)
    {
      PumpThread *t = pst_pump_thread ();

      if (t->depth > 0)
        {
          self->deferred = TRUE;
          g_ptr_array_add (t->pumps, pst_stream_pump_ref (self));
          return;
        }
    }
  else
    return;
  pst_pump_write_more (self);
}

void
pst_stream_pump_append (PstStreamPump *self, const guint8 *data, gsize len)
{
  if (self->closing || self->closed)
    return;
  while (len > 0)
    {
      gsize n;

      if (self->tail == NULL)
        {
          /* sized for this write: a pong stays small, bulk gets a block */
          self->tail_cap = len <= COALESCE_MAX ? TAIL_START : len >= BLOCK_SIZE / 4 ? BLOCK_SIZE : len;
          self->tail = self->tail_cap == BLOCK_SIZE ? block_take () : g_malloc (self->tail_cap);
          self->queued += CHUNK_OVERHEAD;
        }
      n = MIN (len, BLOCK_SIZE - self->tail_len);
      if (self->tail_len + n > self->tail_cap)
        {
          gsize cap = MIN (BLOCK_SIZE, MAX (self->tail_cap * 2, self->tail_len + n));

          if (cap == BLOCK_SIZE)
            {
              guint8 *block = block_take ();

              memcpy (block, self->tail, self->tail_len);
              g_free (self->tail);
              self->tail = block;
            }
          else
            self->tail = g_realloc (self->tail, cap);
          self->tail_cap = cap;
        }
      memcpy (self->tail + self->tail_len, data, n);
      self->tail_len += n;
      self->queued += n;
      data += n;
      len -= n;
      if (self->tail_len >= BLOCK_SIZE)
        flush_tail (self);
    }
}

void
pst_stream_pump_commit (PstStreamPump *self)
{
  if (self->closing || self->closed)
    return;
  queued_more (self);
}

void
pst_stream_pump_write (PstStreamPump *self, const guint8 *data, gsize len)
{
  if (len == 0 || self->closing || self->closed)
    return;
  pst_stream_pump_append (self, data, len);
  queued_more (self);
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
