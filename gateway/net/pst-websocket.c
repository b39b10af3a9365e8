/* pst-websocket.c: RFC 6455 framing over an upgraded stream: the object, closing, flow control
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-io-close.h"
#include "pst-poller.h"
#include "pst-websocket-private.h"

/* libsoup's SoupWebsocketConnection reads without bound and queues without
 * bound; this reader/writer pair keeps both bounded: one reused read
 * buffer, payload handed to the sink chunk by chunk as it arrives, and an
 * output queue whose size the owner watches to pause the other side.
 * The bytes move through a PstStreamPump (as the proxy's byte sides do);
 * frames are parsed in pst-websocket-read.c and built in
 * pst-websocket-write.c. */

PstWebsocket *
pst_websocket_ref (PstWebsocket *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pst_websocket_unref (PstWebsocket *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_handle_id (&self->close_timeout_id, pst_poller_timeout_remove);
  g_clear_handle_id (&self->inactivity_id, pst_poller_timeout_remove);
  g_clear_handle_id (&self->stall_id, pst_poller_timeout_remove);
  pst_stream_pump_stop (self->pump);
  g_clear_pointer (&self->pump, pst_stream_pump_unref);
  g_clear_object (&self->stream);
  g_free (self->close_reason);
  g_free (self);
}

static gboolean
inactivity_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;
  gint64 idle_ms = (g_get_monotonic_time () - self->last_rx) / 1000;

  if (idle_ms < self->opt.inactivity_ms)
    {
      self->ping_sent = FALSE;
      return G_SOURCE_CONTINUE;
    }
  if (!self->ping_sent)
    {
      /* Ask the peer for a sign of life before giving up on it. */
      self->ping_sent = TRUE;
      pst_websocket_send (self, PST_WS_OP_PING, (const guint8 *) "postern", 7);
      return G_SOURCE_CONTINUE;
    }
  self->inactivity_id = 0;
  pst_ws_fail (self, PST_WS_CLOSE_GOING_AWAY, "inactivity timeout");
  return G_SOURCE_REMOVE;
}

/* ---- the pump's callbacks --------------------------------------------- */

static void
pump_data (PstStreamPump *pump, guint8 *data, gsize len, gpointer user_data)
{
  PstWebsocket *self = user_data;

  self->last_rx = g_get_monotonic_time ();
  self->ping_sent = FALSE;
  pst_ws_read (self, data, len);
}

/* The stream ended, or a write failed, without a close handshake. */
static void
pump_ended (PstStreamPump *pump, const GError *error, gpointer user_data)
{
  PstWebsocket *self = user_data;

  pst_ws_set_close (self, self->close_received ? self->close_code : PST_WS_CLOSE_ABNORMAL,
                    error ? error->message : "connection closed without a close frame");
  pst_ws_shutdown_stream (self, FALSE);
}

static void
pump_drained (PstStreamPump *pump, gpointer user_data)
{
  PstWebsocket *self = user_data;

  /* The peer reads again: answer its latest ping, read it again. */
  g_clear_handle_id (&self->stall_id, pst_poller_timeout_remove);
  pst_ws_flush_pong (self);
  if (self->self_paused)
    {
      self->self_paused = FALSE;
      pst_ws_update_reading (self);
    }
  if (self->sink.drained != NULL && !self->finished)
    self->sink.drained (self, self->user_data);
}

static void
pump_empty (PstStreamPump *pump, gpointer user_data)
{
  PstWebsocket *self = user_data;

  /* After a protocol error, once our close frame is out, half-close: the
   * peer sees it then the end, and hangs up; we read (and drop) what it
   * still sends, so closing never resets the connection under our frame. */
  if (self->failed && self->close_sent && !self->write_shut && !self->shutting_down)
    {
      GSocket *socket = pst_io_find_socket (self->stream);

      self->write_shut = TRUE;
      if (socket != NULL)
        g_socket_shutdown (socket, FALSE, TRUE, NULL);
    }
  pst_ws_finish_if_done (self);
}

static const PstStreamPumpSink pump_sink = {
  .data = pump_data,
  .eof = pump_ended,
  .failed = pump_ended,
  .drained = pump_drained,
  .empty = pump_empty,
};

void
pst_ws_update_reading (PstWebsocket *self)
{
  gboolean want;

  /* After a failure we read on, dropping it, until the peer hangs up. */
  if (self->failed)
    want = TRUE;
  else
    want = !self->paused && !self->self_paused && !self->close_received;
  if (want && !self->shutting_down && self->started)
    pst_stream_pump_resume (self->pump);
  else
    pst_stream_pump_pause (self->pump);
}

void
pst_ws_finish_if_done (PstWebsocket *self)
{
  if (self->close_sent && self->close_received && pst_stream_pump_get_queued (self->pump) == 0)
    pst_ws_shutdown_stream (self, FALSE);
}

PstWebsocket *
pst_websocket_new (GIOStream                 *stream,
                   const PstWebsocketOptions *options,
                   const PstWebsocketSink    *sink,
                   gpointer                   user_data)
{
  PstWebsocket *self = g_new0 (PstWebsocket, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->opt = *options;
  if (self->opt.high_water == 0)
    self->opt.high_water = 1024 * 1024;
  self->pump = pst_stream_pump_new (stream, self->opt.high_water, &pump_sink, self);
  self->sink = *sink;
  self->user_data = user_data;
  self->last_rx = g_get_monotonic_time ();
  pst_ws_parser_init (&self->parser, self->opt.server, self->opt.max_message_size,
                      &pst_ws_parser_sink, self);
  return self;
}

void
pst_websocket_start (PstWebsocket *self)
{
  self->started = TRUE;
  if (self->opt.inactivity_ms > 0)
    self->inactivity_id = pst_poller_timeout_add (self->opt.inactivity_ms, inactivity_cb, self);
  pst_stream_pump_start (self->pump);
  pst_ws_update_reading (self);
}

/* ---- closing ---------------------------------------------------------- */

static void
emit_closed (PstWebsocket *self)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->close_timeout_id, pst_poller_timeout_remove);
  g_clear_handle_id (&self->inactivity_id, pst_poller_timeout_remove);
  g_clear_handle_id (&self->stall_id, pst_poller_timeout_remove);
  if (self->sink.closed != NULL)
    self->sink.closed (self, self->close_code ? self->close_code : PST_WS_CLOSE_ABNORMAL,
                       self->close_reason ? self->close_reason : "", self->user_data);
}

static void
stream_closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;

  pst_io_close_finish (G_IO_STREAM (source), result, NULL);
  emit_closed (self);
  pst_websocket_unref (self);
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;

  if (self->close_patient && !self->shutting_down &&
      pst_stream_pump_get_bytes_in (self->pump) != self->close_seen_in)
    {
      self->close_seen_in = pst_stream_pump_get_bytes_in (self->pump);
      return G_SOURCE_CONTINUE;
    }
  self->close_timeout_id = 0;
  pst_ws_shutdown_stream (self, TRUE);
  return G_SOURCE_REMOVE;
}

/* Close the transport.  A TLS close writes close_notify, which waits for
 * a peer that may never read: a hard close shuts the socket down first,
 * and any close ends within CLOSE_WAIT_MS (pst_io_close_async). */
void
pst_ws_shutdown_stream (PstWebsocket *self, gboolean hard)
{
  if (hard)
    {
      GSocket *socket = pst_io_find_socket (self->stream);
      if (socket != NULL)
        g_socket_shutdown (socket, TRUE, TRUE, NULL);
    }
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  pst_stream_pump_stop (self->pump);
  g_clear_handle_id (&self->close_timeout_id, pst_poller_timeout_remove);
  pst_io_close_async (self->stream, CLOSE_WAIT_MS, stream_closed_cb, pst_websocket_ref (self));
}

void
pst_websocket_abort (PstWebsocket *self)
{
  if (self->close_code == 0)
    self->close_code = PST_WS_CLOSE_ABNORMAL;
  pst_ws_shutdown_stream (self, TRUE);
}

void
pst_ws_set_close (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->close_code != 0)
    return;
  self->close_code = code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason);
}

void
pst_ws_queue_close_frame (PstWebsocket *self, gushort code, const char *reason)
{
  guint8 payload[125];
  gsize len = 0;

  if (self->close_sent)
    return;
  self->close_sent = TRUE;
  if (code != PST_WS_CLOSE_NO_STATUS && code != PST_WS_CLOSE_ABNORMAL)
    {
      gsize rlen = reason ? strlen (reason) : 0;
      payload[0] = code >> 8;
      payload[1] = code & 0xff;
      rlen = MIN (rlen, sizeof payload - 2);
      if (rlen > 0)
        memcpy (payload + 2, reason, rlen);
      len = 2 + rlen;
    }
  pst_websocket_send (self, PST_WS_OP_CLOSE, payload, len);
}

void
pst_websocket_close (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->close_sent || self->shutting_down)
    return;
  pst_ws_set_close (self, code, reason);
  pst_ws_queue_close_frame (self, code, reason);
  /* Read on for the peer's close frame, for a bounded time. */
  self->paused = FALSE;
  pst_ws_update_reading (self);
  if (self->close_timeout_id == 0)
    self->close_timeout_id = pst_poller_timeout_add (CLOSE_WAIT_MS, close_timeout_cb, self);
}

void
pst_websocket_close_patiently (PstWebsocket *self, gushort code, const char *reason)
{
  self->close_patient = TRUE;
  self->close_seen_in = pst_stream_pump_get_bytes_in (self->pump);
  pst_websocket_close (self, code, reason);
}

/* A protocol violation or a limit: our close frame with the code, then
 * hang up once the peer has it (see pump_empty), or at the deadline. */
void
pst_ws_fail (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->failed || self->shutting_down)
    {
      pst_ws_shutdown_stream (self, TRUE);
      return;
    }
  pst_ws_set_close (self, code, reason);
  self->failed = TRUE;
  self->close_patient = FALSE;
  g_clear_handle_id (&self->stall_id, pst_poller_timeout_remove);
  g_clear_handle_id (&self->close_timeout_id, pst_poller_timeout_remove);
  self->close_timeout_id = pst_poller_timeout_add (FAIL_LINGER_MS, close_timeout_cb, self);
  if (!self->close_sent)
    pst_ws_queue_close_frame (self, code, reason);
  pst_ws_update_reading (self);
  if (self->close_received)
    pst_ws_finish_if_done (self);
  else if (pst_stream_pump_get_queued (self->pump) == 0)
    pump_empty (self->pump, self);
}

static gboolean
stall_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;

  self->stall_id = 0;
  /* It does not read: our close frame could not reach it either. */
  pst_ws_set_close (self, PST_WS_CLOSE_POLICY, "the peer sends pings but does not read");
  pst_ws_shutdown_stream (self, TRUE);
  return G_SOURCE_REMOVE;
}

void
pst_ws_self_pause (PstWebsocket *self)
{
  if (self->self_paused)
    return;
  self->self_paused = TRUE;
  if (self->stall_id == 0)
    self->stall_id = pst_poller_timeout_add (STALL_MS, stall_cb, self);
  pst_ws_update_reading (self);
}

gsize
pst_websocket_get_queued (PstWebsocket *self)
{
  return pst_stream_pump_get_queued (self->pump);
}

gboolean
pst_websocket_is_congested (PstWebsocket *self)
{
  return pst_stream_pump_is_congested (self->pump);
}

void
pst_websocket_pause (PstWebsocket *self)
{
  self->paused = TRUE;
  pst_ws_update_reading (self);
}

void
pst_websocket_resume (PstWebsocket *self)
{
  /* After our close frame the peer's data still counts until its own
   * close frame (a gateway that drains forwards it): read on. */
  if (self->close_received)
    return;
  self->paused = FALSE;
  pst_ws_update_reading (self);
}

guint64
pst_websocket_get_bytes_in (PstWebsocket *self)
{
  return pst_stream_pump_get_bytes_in (self->pump);
}

guint64
pst_websocket_get_bytes_out (PstWebsocket *self)
{
  return pst_stream_pump_get_bytes_out (self->pump);
}
