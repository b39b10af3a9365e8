/* pst-websocket-write.c: the WebSocket writer: frames, masking, control frames at frame boundaries
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/crypto.h>

#include "pst-websocket-private.h"

/* Takes bytes: the pump writes them in order, bounded (see
 * pst_websocket_is_congested). */
static void
enqueue (PstWebsocket *self, GBytes *bytes)
{
  pst_stream_pump_write_bytes (self->pump, bytes);
  g_bytes_unref (bytes);
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
