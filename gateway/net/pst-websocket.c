/* pst-websocket.c: RFC 6455 framing over an upgraded stream: the object, closing, flow control
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-websocket-private.h"

/* libsoup's SoupWebsocketConnection reads without bound and queues without
 * bound; this reader/writer pair keeps both bounded: one reused read
 * buffer, payload handed to the sink chunk by chunk as it arrives, and an
 * output queue whose size the owner watches to pause the other side.
 * The reader is in pst-websocket-read.c, the writer in pst-websocket-write.c. */

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
  g_clear_handle_id (&self->close_timeout_id, g_source_remove);
  g_clear_handle_id (&self->inactivity_id, g_source_remove);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&self->ctl_q, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_free (self->close_reason);
  g_free (self->rbuf);
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

PstWebsocket *
pst_websocket_new (GIOStream                 *stream,
                   const PstWebsocketOptions *options,
                   const PstWebsocketSink    *sink,
                   gpointer                   user_data)
{
  PstWebsocket *self = g_new0 (PstWebsocket, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->in = g_io_stream_get_input_stream (stream);
  self->out = g_io_stream_get_output_stream (stream);
  self->cancellable = g_cancellable_new ();
  self->opt = *options;
  if (self->opt.high_water == 0)
    self->opt.high_water = 1024 * 1024;
  self->sink = *sink;
  self->user_data = user_data;
  self->rbuf = g_malloc (READ_BUFFER_SIZE);
  self->last_rx = g_get_monotonic_time ();
  g_queue_init (&self->out_q);
  g_queue_init (&self->ctl_q);
  return self;
}

void
pst_websocket_start (PstWebsocket *self)
{
  self->started = TRUE;
  if (self->opt.inactivity_ms > 0)
    self->inactivity_id = g_timeout_add (self->opt.inactivity_ms, inactivity_cb, self);
  pst_ws_read_more (self);
}

/* ---- closing ---------------------------------------------------------- */

static void
emit_closed (PstWebsocket *self)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->close_timeout_id, g_source_remove);
  g_clear_handle_id (&self->inactivity_id, g_source_remove);
  if (self->sink.closed != NULL)
    self->sink.closed (self, self->close_code ? self->close_code : PST_WS_CLOSE_ABNORMAL,
                       self->close_reason ? self->close_reason : "", self->user_data);
}

static void
stream_closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  emit_closed (self);
  pst_websocket_unref (self);
}

/* Close the transport once everything queued has been written. */
void
pst_ws_shutdown_stream (PstWebsocket *self)
{
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  pst_ws_stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL,
                           stream_closed_cb, pst_websocket_ref (self));
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;

  self->close_timeout_id = 0;
  pst_ws_shutdown_stream (self);
  return G_SOURCE_REMOVE;
}

void
pst_websocket_abort (PstWebsocket *self)
{
  if (self->close_code == 0)
    self->close_code = PST_WS_CLOSE_ABNORMAL;
  pst_ws_shutdown_stream (self);
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
  /* Stop reading data; wait (bounded) for the peer's close frame. */
  self->close_timeout_id = g_timeout_add (CLOSE_WAIT_MS, close_timeout_cb, self);
}

/* A protocol violation or a limit: tell the peer, then wait (bounded)
 * for its close frame before hanging up.  Closing the socket at once
 * while the peer still sends would reset the connection, and the peer
 * would lose our close frame with the reason. */
void
pst_ws_fail (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->draining || self->shutting_down)
    {
      pst_ws_shutdown_stream (self);
      return;
    }
  pst_ws_set_close (self, code, reason);
  self->draining = TRUE;
  self->paused = FALSE;
  if (!self->close_sent)
    pst_ws_queue_close_frame (self, code, reason);
  if (self->close_timeout_id == 0)
    self->close_timeout_id = g_timeout_add (CLOSE_WAIT_MS, close_timeout_cb, self);
  pst_ws_read_more (self);
}

gsize
pst_websocket_get_queued (PstWebsocket *self)
{
  return self->queued;
}

gboolean
pst_websocket_is_congested (PstWebsocket *self)
{
  return self->congested;
}

void
pst_websocket_pause (PstWebsocket *self)
{
  self->paused = TRUE;
}

void
pst_websocket_resume (PstWebsocket *self)
{
  if (self->close_sent || self->close_received)
    return;
  self->paused = FALSE;
  pst_ws_read_more (self);
}

guint64
pst_websocket_get_bytes_in (PstWebsocket *self)
{
  return self->bytes_in;
}

guint64
pst_websocket_get_bytes_out (PstWebsocket *self)
{
  return self->bytes_out;
}
