/* pst-echo.c: the echo service: every WebSocket frame goes back as it came
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-echo.h"
#include "pst-websocket.h"

/* Messages are echoed as they stream in (same opcode and payload; the
 * fragments follow the reads), so a message is never held whole in
 * memory; when the client reads more slowly than it writes, reading
 * stops until the queue drains. */

typedef struct {
  PstConnection *conn;
  PstWsOpcode    opcode;   /* of the message being echoed */
} Echo;

static void
echo_message_start (PstWebsocket *ws, PstWsOpcode opcode, gpointer user_data)
{
  Echo *echo = user_data;

  echo->opcode = opcode;
}

/* Each chunk read goes back as one fragment: the message is never held
 * whole, and an error found later (bad UTF-8) can still be answered with
 * a close frame at a frame boundary. */
static void
echo_message_data (PstWebsocket *ws, const guint8 *data, gsize len, gboolean fin, gpointer user_data)
{
  Echo *echo = user_data;

  pst_websocket_send_fragment (ws, echo->opcode, data, len, fin);
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
  .message_start = echo_message_start,
  .message_data = echo_message_data,
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
