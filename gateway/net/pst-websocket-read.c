/* pst-websocket-read.c: the WebSocket reader: frame parsing, unmasking, control frames
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-websocket-private.h"

static void
handle_control (PstWebsocket *self)
{
  switch (self->op)
    {
    case PST_WS_OP_PING:
      pst_websocket_send (self, PST_WS_OP_PONG, self->ctl, self->ctl_len);
      break;
    case PST_WS_OP_PONG:
      break;
    case PST_WS_OP_CLOSE:
      {
        gushort code = PST_WS_CLOSE_NO_STATUS;
        g_autofree char *reason = NULL;

        if (self->ctl_len == 1)
          {
            pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad close frame");
            return;
          }
        if (self->ctl_len >= 2)
          {
            code = (self->ctl[0] << 8) | self->ctl[1];
            reason = g_strndup ((const char *) self->ctl + 2, self->ctl_len - 2);
          }
        self->close_received = TRUE;
        pst_ws_set_close (self, code, reason);
        if (!self->close_sent)
          pst_ws_queue_close_frame (self, code == PST_WS_CLOSE_NO_STATUS ? PST_WS_CLOSE_NORMAL : code, reason);
        pst_ws_update_reading (self);
        pst_ws_finish_if_done (self);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Returns FALSE when the connection failed and parsing must stop. */
static gboolean
parse_header (PstWebsocket *self)
{
  guint8 b0 = self->hdr[0], b1 = self->hdr[1];
  gsize need = 2;
  guint64 len = b1 & 0x7f;

  self->fin = (b0 & 0x80) != 0;
  self->op = b0 & 0x0f;
  self->masked = (b1 & 0x80) != 0;
  if (len == 126)
    need += 2;
  else if (len == 127)
    need += 8;
  if (self->masked)
    need += 4;
  if (self->hdr_len < need)
    return TRUE;   /* wait for more */

  if (b0 & 0x70)
    return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)"), FALSE;
  if (self->masked != self->opt.server)
    return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR,
                 self->opt.server ? "client frames must be masked" : "server frames must not be masked"), FALSE;
  if (len == 126)
    len = (self->hdr[2] << 8) | self->hdr[3];
  else if (len == 127)
    {
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | self->hdr[2 + i];
      if (len >> 63)
        return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad frame length"), FALSE;
    }
  if (self->masked)
    memcpy (self->mask, self->hdr + need - 4, 4);
  self->mask_off = 0;
  self->remaining = len;
  self->hdr_len = 0;
  self->state = PARSE_PAYLOAD;

  if (self->op >= PST_WS_OP_CLOSE)
    {
      if (self->op > PST_WS_OP_PONG || !self->fin || len > 125)
        return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad control frame"), FALSE;
      self->ctl_len = 0;
    }
  else
    {
      if (self->op != PST_WS_OP_CONTINUATION && self->op != PST_WS_OP_TEXT && self->op != PST_WS_OP_BINARY)
        return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode"), FALSE;
      if ((self->op == PST_WS_OP_CONTINUATION) != self->in_message)
        return pst_ws_fail (self, PST_WS_CLOSE_PROTOCOL_ERROR,
                     self->in_message ? "expected a continuation frame" : "continuation without a message"), FALSE;
      if (!self->in_message)
        self->message_size = 0;
      self->message_size += len;
      /* (once failed, later fragments are skipped, not failed again) */
      if (!self->draining && self->opt.max_message_size > 0 && self->message_size > self->opt.max_message_size)
        pst_ws_fail (self, PST_WS_CLOSE_TOO_BIG, "message too big");   /* framing still valid: skip it */
      self->in_message = !self->fin;
      if (self->sink.frame_start != NULL && !self->draining)
        self->sink.frame_start (self, self->op, self->fin, len, self->user_data);
    }
  return TRUE;
}

static void
end_frame (PstWebsocket *self)
{
  self->state = PARSE_HEADER;
  if (self->op >= PST_WS_OP_CLOSE)
    handle_control (self);
  else if (self->sink.frame_end != NULL && !self->draining)
    self->sink.frame_end (self, self->user_data);
}

void
pst_ws_parse (PstWebsocket *self, guint8 *data, gsize len)
{
  while (len > 0 && !self->shutting_down && !self->close_received)
    {
      if (self->state == PARSE_HEADER)
        {
          gsize want = MIN (len, sizeof self->hdr - self->hdr_len);
          gsize before = self->hdr_len;
          gsize used;

          /* Copy what may be header; parse_header says how much it was. */
          memcpy (self->hdr + self->hdr_len, data, want);
          self->hdr_len += want;
          if (self->hdr_len < 2)
            return;
          {
            guint64 l7 = self->hdr[1] & 0x7f;
            gsize need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((self->hdr[1] & 0x80) ? 4 : 0);
            if (self->hdr_len < need)
              return;
            used = need - before;
            self->hdr_len = need;
          }
          data += used;
          len -= used;
          if (!parse_header (self))
            return;
          if (self->remaining == 0)
            end_frame (self);
          continue;
        }

      {
        gsize n = (gsize) MIN ((guint64) len, self->remaining);

        if (self->masked)
          for (gsize i = 0; i < n; i++)
            data[i] ^= self->mask[(self->mask_off + i) & 3];
        self->mask_off += n;
        self->remaining -= n;
        if (self->op >= PST_WS_OP_CLOSE)
          {
            memcpy (self->ctl + self->ctl_len, data, n);
            self->ctl_len += n;
          }
        else if (self->sink.frame_data != NULL && !self->draining)
          self->sink.frame_data (self, data, n, self->user_data);
        data += n;
        len -= n;
        if (self->remaining == 0)
          end_frame (self);
      }
    }
}
