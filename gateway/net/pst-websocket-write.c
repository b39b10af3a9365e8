/* pst-websocket-write.c: the WebSocket writer: whole frames, masking, pongs
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/crypto.h>

#include "pst-websocket-private.h"

/* Every frame goes to the pump's queue whole, header then payload copied
 * into the same block (one copy, no allocation per frame), and is written
 * once whole: a control frame can always go next. */

static gsize
frame_header (guint8 *hdr, guint8 opcode, gboolean fin, guint64 length,
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
write_frame (PstWebsocket *self, guint8 opcode, gboolean fin, const guint8 *data, gsize len)
{
  guint8 key[4] = { 0, 0, 0, 0 };
  gboolean mask = !self->opt.server;
  guint8 hdr[14];

  if (mask)
    gnutls_rnd (GNUTLS_RND_NONCE, key, 4);
  pst_stream_pump_append (self->pump, hdr, frame_header (hdr, opcode, fin, len, mask, key));
  if (!mask)
    pst_stream_pump_append (self->pump, data, len);
  else
    {
      /* masked through a small buffer that stays in cache; its size is a
       * multiple of 4, so each piece starts at key[0] */
      guint8 piece[4096];

      for (gsize off = 0; off < len; off += sizeof piece)
        {
          gsize n = MIN (sizeof piece, len - off);

          pst_ws_mask (piece, data + off, n, key, 0);
          pst_stream_pump_append (self->pump, piece, n);
        }
    }
  pst_stream_pump_commit (self->pump);
}

void
pst_websocket_send_fragment (PstWebsocket *self, PstWsOpcode opcode, const guint8 *data, gsize len,
                             gboolean fin)
{
  if (self->discarding || self->shutting_down)
    return;
  if (len == 0 && !fin)
    return;
  write_frame (self, self->out_message_open ? PST_WS_OP_CONTINUATION : opcode, fin, data, len);
  self->out_message_open = !fin;
}

void
pst_websocket_send (PstWebsocket *self, PstWsOpcode opcode, const guint8 *data, gsize len)
{
  if (self->discarding || self->shutting_down)
    return;
  if (opcode >= PST_WS_OP_CLOSE)
    {
      g_return_if_fail (len <= 125);
      write_frame (self, opcode, TRUE, data, len);
      if (opcode == PST_WS_OP_CLOSE)
        self->discarding = TRUE;
      return;
    }
  g_return_if_fail (!self->out_message_open);
  write_frame (self, opcode, TRUE, data, len);
}

/* The pending pong goes out unless the peer already has a full queue of
 * ours to read: then it waits (replaced by newer pings) for "drained". */
void
pst_ws_flush_pong (PstWebsocket *self)
{
  if (!self->pong_pending || pst_stream_pump_is_congested (self->pump))
    return;
  self->pong_pending = FALSE;
  self->pongs_coalesced = 0;
  pst_websocket_send (self, PST_WS_OP_PONG, self->pong, self->pong_len);
}
