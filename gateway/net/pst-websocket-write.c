/* pst-websocket-write.c: the WebSocket writer: frames, masking, a bounded output queue
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/crypto.h>

#include "pst-websocket-private.h"

static void
enqueue (PstWebsocket *self, GBytes *bytes)
{
  self->queued += g_bytes_get_size (bytes);
  g_queue_push_tail (&self->out_q, bytes);
  if (self->queued >= self->opt.high_water)
    self->congested = TRUE;
  pst_ws_write_more (self);
}

static gsize
frame_header (guint8 *hdr, PstWsOpcode opcode, gboolean fin, guint64 length,
              gboolean mask, const guint8 *mask_key)
{
  gsize n = 0;

  hdr[n++] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  if (length < 126)
    hdr[n++] = (mask ? 0x80 : 0) | (guint8) length;
  else if (length <= 0xffff)
    {
      hdr[n++] = (mask ? 0x80 : 0) | 126;
      hdr[n++] = length >> 8;
      hdr[n++] = length & 0xff;
    }
  else
    {
      hdr[n++] = (mask ? 0x80 : 0) | 127;
      for (int i = 7; i >= 0; i--)
        hdr[n++] = (length >> (8 * i)) & 0xff;
    }
  if (mask)
    {
      memcpy (hdr + n, mask_key, 4);
      n += 4;
    }
  return n;
}

static void
write_failed (PstWebsocket *self, const GError *error)
{
  pst_ws_set_close (self, PST_WS_CLOSE_ABNORMAL, error->message);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  self->queued = 0;
  pst_ws_shutdown_stream (self);
}

/* Drop what was written (whole buffers in order, and part of the next). */
static void
consumed (PstWebsocket *self, gsize written)
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
      written -= len;
      self->queued -= len;
      g_bytes_unref (head);
    }
  if (self->congested && self->queued < self->opt.high_water / 2)
    {
      self->congested = FALSE;
      if (self->sink.drained != NULL && !self->finished)
        self->sink.drained (self, self->user_data);
    }
}

static void
writev_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    write_failed (self, error);
  else
    {
      consumed (self, written);
      pst_ws_write_more (self);
    }
  pst_websocket_unref (self);
}

static gboolean
writable_cb (GObject *stream, gpointer user_data)
{
  PstWebsocket *self = user_data;

  g_clear_pointer (&self->write_source, g_source_unref);
  pst_ws_write_more (self);
  return G_SOURCE_REMOVE;
}

static guint
gather (PstWebsocket *self)
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

/* Pollable streams are written at once, until they would block (then one
 * watch waits for room); others through writev_all_async. */
void
pst_ws_write_more (PstWebsocket *self)
{
  gboolean pollable = G_IS_POLLABLE_OUTPUT_STREAM (self->out) &&
                      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (self->out));

  if (self->writing || self->write_source != NULL || self->shutting_down || self->in_write)
    return;
  self->in_write = TRUE;
  while (pollable && !g_queue_is_empty (&self->out_q) && !self->shutting_down)
    {
      g_autoptr(GError) error = NULL;
      gsize written = 0;
      GPollableReturn ret = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (self->out),
                                                                          self->iov, gather (self),
                                                                          &written, NULL, &error);
      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          self->write_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (self->out), NULL);
          g_source_set_callback (self->write_source, (GSourceFunc) (void (*)(void)) writable_cb,
                                 pst_websocket_ref (self), (GDestroyNotify) pst_websocket_unref);
          g_source_attach (self->write_source, g_main_context_get_thread_default ());
          self->in_write = FALSE;
          return;
        }
      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          write_failed (self, error);
          self->in_write = FALSE;
          return;
        }
      consumed (self, written);   /* may queue more (drained → resume) */
    }
  self->in_write = FALSE;
  if (self->shutting_down)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      /* All written: a finished close handshake ends the transport. */
      if (self->close_sent && self->close_received)
        pst_ws_shutdown_stream (self);
      return;
    }
  self->writing = TRUE;
  g_output_stream_writev_all_async (self->out, self->iov, gather (self), G_PRIORITY_DEFAULT,
                                    self->cancellable, writev_cb, pst_websocket_ref (self));
}

static void
flush_control (PstWebsocket *self)
{
  GBytes *b;

  while ((b = g_queue_pop_head (&self->ctl_q)) != NULL)
    enqueue (self, b);
}

void
pst_websocket_begin_frame (PstWebsocket *self, PstWsOpcode opcode, gboolean fin, guint64 length)
{
  guint8 hdr[14];
  gsize n;

  g_return_if_fail (!self->out_frame_open);
  self->discarding = self->shutting_down || self->close_sent;
  if (self->discarding)
    return;
  if (!self->opt.server)
    gnutls_rnd (GNUTLS_RND_NONCE, self->out_mask, 4);
  n = frame_header (hdr, opcode, fin, length, !self->opt.server, self->out_mask);
  self->out_mask_off = 0;
  self->out_remaining = length;
  self->out_frame_open = length > 0;
  enqueue (self, g_bytes_new (hdr, n));
  if (!self->out_frame_open)
    flush_control (self);
}

static void
append_owned (PstWebsocket *self, guint8 *data, gsize len)
{
  if (!self->opt.server)
    for (gsize i = 0; i < len; i++)
      data[i] ^= self->out_mask[(self->out_mask_off + i) & 3];
  self->out_mask_off += len;
  self->out_remaining -= len;
  enqueue (self, g_bytes_new_take (data, len));
  if (self->out_remaining == 0)
    {
      self->out_frame_open = FALSE;
      flush_control (self);
    }
}

void
pst_websocket_append (PstWebsocket *self, const guint8 *data, gsize len)
{
  if (len == 0 || self->discarding || self->shutting_down)
    return;
  g_return_if_fail (len <= self->out_remaining);
  append_owned (self, g_memdup2 (data, len), len);
}

void
pst_websocket_append_bytes (PstWebsocket *self, GBytes *bytes)
{
  gsize len = g_bytes_get_size (bytes);

  if (len == 0 || self->discarding || self->shutting_down)
    return;
  g_return_if_fail (len <= self->out_remaining);
  if (self->opt.server)
    {
      /* No masking: queue the caller's buffer itself, no copy. */
      self->out_remaining -= len;
      enqueue (self, g_bytes_ref (bytes));
      if (self->out_remaining == 0)
        {
          self->out_frame_open = FALSE;
          flush_control (self);
        }
      return;
    }
  append_owned (self, g_bytes_unref_to_data (g_bytes_ref (bytes), &len), len);
}

void
pst_websocket_send (PstWebsocket *self, PstWsOpcode opcode, const guint8 *data, gsize len)
{
  if (self->shutting_down)
    return;
  if (opcode >= PST_WS_OP_CLOSE)
    {
      guint8 frame[14 + 125];
      guint8 key[4] = { 0, 0, 0, 0 };
      gsize n;

      g_return_if_fail (len <= 125);
      if (!self->opt.server)
        gnutls_rnd (GNUTLS_RND_NONCE, key, 4);
      n = frame_header (frame, opcode, TRUE, len, !self->opt.server, key);
      for (gsize i = 0; i < len; i++)
        frame[n + i] = data[i] ^ key[i & 3];
      if (self->out_frame_open)
        g_queue_push_tail (&self->ctl_q, g_bytes_new (frame, n + len));
      else
        enqueue (self, g_bytes_new (frame, n + len));
      return;
    }
  pst_websocket_begin_frame (self, opcode, TRUE, len);
  pst_websocket_append (self, data, len);
}
