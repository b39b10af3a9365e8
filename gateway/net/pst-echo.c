/* pst-echo.c: the echo service: every WebSocket frame goes back as it came
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-echo.h"
#include "pst-websocket.h"

/* Frames are echoed as they stream in (same opcode, same fragmentation),
 * so a message is never held whole in memory; when the client reads more
 * slowly than it writes, reading stops until the queue drains. */

typedef struct {
  PstConnection *conn;
} Echo;

static void
echo_frame_start (PstWebsocket *ws, PstWsOpcode opcode, gboolean fin, guint64 length, gpointer user_data)
{
  pst_websocket_begin_frame (ws, opcode, fin, length);
}

static void
echo_frame_data (PstWebsocket *ws, const guint8 *data, gsize len, gpointer user_data)
{
  pst_websocket_append (ws, data, len);
  if (pst_websocket_is_congested (ws))
    pst_websocket_pause (ws);
}

static void
echo_drained (PstWebsocket *ws, gpointer user_data)
{
  pst_websocket_resume (ws);
}

static void
echo_closed (PstWebsocket *ws, gushort code, const char *reason, gpointer user_data)
{
  Echo *echo = user_data;

  pst_connection_set_session (echo->conn, NULL, NULL);
  pst_connection_set_close (echo->conn, code, reason,
                            pst_websocket_get_bytes_in (ws), pst_websocket_get_bytes_out (ws));
  pst_connection_end (echo->conn);
  g_object_unref (echo->conn);
  g_free (echo);
  pst_websocket_unref (ws);
}

static void
echo_shutdown (gpointer session)
{
  pst_websocket_close (session, PST_WS_CLOSE_GOING_AWAY, "gateway shutting down");
}

static const PstWebsocketSink echo_sink = {
  .frame_start = echo_frame_start,
  .frame_data = echo_frame_data,
  .drained = echo_drained,
  .closed = echo_closed,
};

void
pst_echo_start (PstConnection *conn, PstRoute *route, GIOStream *stream)
{
  PstWebsocketOptions options = { 0 };
  Echo *echo = g_new0 (Echo, 1);
  PstWebsocket *ws;

  echo->conn = g_object_ref (conn);
  pst_route_websocket_options (route, TRUE, &options);
  ws = pst_websocket_new (stream, &options, &echo_sink, echo);
  pst_connection_set_session (conn, echo_shutdown, ws);
  pst_websocket_start (ws);
}
