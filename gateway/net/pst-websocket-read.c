/* pst-websocket-read.c: the WebSocket reader: the frame parser's events, pongs and the peer's close
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-websocket-private.h"

/* Framing itself is pst-ws-parser.c (pure, tested for every split); this
 * file turns its events into what the owner sees and what we answer. */

static void
on_message_start (gpointer user_data, PstWsOpcode opcode)
{
  PstWebsocket *self = user_data;

  self->empty_fragments = 0;
  if (self->sink.message_start != NULL && !self->failed && !self->flooded)
    self->sink.message_start (self, opcode, self->user_data);
}

static void
on_message_data (gpointer user_data, const guint8 *data, gsize len, gboolean fin)
{
  PstWebsocket *self = user_data;

  if (self->sink.message_data != NULL && !self->failed && !self->flooded)
    self->sink.message_data (self, data, len, fin, self->user_data);
}

static void
on_control (gpointer user_data, PstWsOpcode opcode, const guint8 *payload, gsize len)
{
  PstWebsocket *self = user_data;

  if (opcode != PST_WS_OP_PING || self->failed || self->close_sent)
    return;
  /* Only the latest unanswered ping gets a pong (RFC 6455 §5.5.3): a
   * peer that pings without reading costs one slot, not a queue. */
  if (self->pong_pending)
    self->pongs_coalesced++;
  self->pong_pending = TRUE;
  memcpy (self->pong, payload, len);
  self->pong_len = len;
  pst_ws_flush_pong (self);
  if (self->pong_pending && self->pongs_coalesced >= PONGS_BEFORE_PAUSE)
    pst_ws_self_pause (self);
}

static void
on_close (gpointer user_data, guint code, const char *reason, gsize len)
{
  PstWebsocket *self = user_data;

  self->close_received = TRUE;
  pst_ws_set_close (self, code, reason);
  if (!self->close_sent)
    pst_ws_queue_close_frame (self, code == PST_WS_CLOSE_NO_STATUS ? PST_WS_CLOSE_NORMAL : code, reason);
  pst_ws_update_reading (self);
  pst_ws_finish_if_done (self);
}

static void
on_frame (gpointer user_data, PstWsOpcode opcode, gboolean fin, guint64 length)
{
  PstWebsocket *self = user_data;

  /* Empty fragments cost nothing to forward but CPU without end. */
  if (opcode < PST_WS_OP_CLOSE && length == 0 && !fin && ++self->empty_fragments > MAX_EMPTY_FRAGMENTS)
    self->flooded = TRUE;   /* failed once this read is parsed */
}

const PstWsParserSink pst_ws_parser_sink = {
  .message_start = on_message_start,
  .message_data = on_message_data,
  .control = on_control,
  .close = on_close,
  .frame = on_frame,
};

void
pst_ws_read (PstWebsocket *self, guint8 *data, gsize len)
{
  if (self->shutting_down)
    return;
  if (!pst_ws_parser_feed (&self->parser, data, len))
    {
      /* After the error the parser only skips, looking for the peer's
       * close frame: once it is seen (and ours is out) we hang up. */
      if (!self->failed)
        pst_ws_fail (self, self->parser.error_code, self->parser.error_reason);
      if (self->parser.peer_closed && !self->close_received)
        {
          self->close_received = TRUE;
          pst_ws_finish_if_done (self);
        }
      return;
    }
  if (self->flooded && !self->failed)
    pst_ws_fail (self, PST_WS_CLOSE_POLICY, "too many empty fragments");
}
