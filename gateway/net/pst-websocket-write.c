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
writev_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      pst_ws_set_close (self, PST_WS_CLOSE_ABNORMAL, error->message);
      g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
      self->queued = 0;
      pst_ws_shutdown_stream (self);
      pst_websocket_unref (self);
      return;
    }
  self->bytes_out += written;
  /* Drop what was written: whole buffers, in order. */
  while (written > 0)
    {
      GBytes *head = g_queue_pop_head (&self->out_q);
      gsize len = g_bytes_get_size (head);
      g_assert (len <= written);
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
  pst_ws_write_more (self);
  pst_websocket_unref (self);
}

void
pst_ws_write_more (PstWebsocket *self)
{
  GOutputVector *iov = self->iov;
  guint n = 0;

  if (self->writing || self->shutting_down)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      /* All written: a finished close handshake ends the transport. */
      if (self->close_sent && self->close_received)
        pst_ws_shutdown_stream (self);
      return;
    }
  for (GList *l = self->out_q.head; l != NULL && n < MAX_IOV; l = l->next)
    {
      gsize len;
      iov[n].buffer = g_bytes_get_data (l->data, &len);
      iov[n].size = len;
      n++;
    }
  self->writing = TRUE;
  g_output_stream_writev_all_async (self->out, iov, n, G_PRIORITY_DEFAULT,
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
