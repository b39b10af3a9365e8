/* pst-proxy.c: the proxy service: a client joined to its back-end, with backpressure both ways
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-backend.h"
#include "pst-echo.h"
#include "pst-poller.h"
#include "pst-proxy.h"
#include "pst-proxy-protocol.h"
#include "pst-stream-pump.h"
#include "pst-websocket.h"

/* Each side is a WebSocket (PstWebsocket) or a byte stream (PstStreamPump).
 * What one side reads is queued on the other; when that queue passes its
 * high-water mark the reading side pauses, and resumes when it drains.  So
 * a slow reader holds at most about 1 MiB per direction in the gateway. */

#define HIGH_WATER (1024 * 1024)
/* A byte session (tcp/ssl accept) with no traffic either way for this
 * long is closed, unless ws.inactivity.timeout says otherwise (0: never).
 * There is no ping to ask a byte peer for a sign of life. */
#define BYTES_IDLE_DEFAULT_MS (600 * 1000)

typedef struct {
  PstWebsocket  *ws;
  PstStreamPump *pump;
  gboolean       done;
  PstWsOpcode    opcode;   /* ws: of the message being read */
} Side;

typedef struct {
  gint           ref_count;
  PstConnection *conn;
  PstService    *service;
  PstUrl        *url;
  GCancellable  *cancellable;
  Side           client;
  Side           backend;
  gboolean       backend_ws;     /* back-end frames (ws/wss) rather than bytes */
  gushort        close_code;
  char          *close_reason;
  gboolean       draining;       /* the gateway stops: the back-end is no longer read */
  guint64        idle_ms;        /* byte sessions: 0 none */
  guint          idle_id;
  guint64        idle_seen;      /* bytes moved at the last tick */
  guint          idle_ticks;
} Proxy;

static const PstWebsocketSink client_ws_sink;
static const PstWebsocketSink backend_ws_sink;
static const PstStreamPumpSink client_pump_sink;
static const PstStreamPumpSink backend_pump_sink;

static Proxy *
proxy_ref (Proxy *proxy)
{
  proxy->ref_count++;
  return proxy;
}

static void
proxy_unref (Proxy *proxy)
{
  if (--proxy->ref_count > 0)
    return;
  pst_connection_set_session (proxy->conn, NULL, NULL);
  pst_connection_set_close (proxy->conn, proxy->close_code, proxy->close_reason,
                            proxy->client.ws ? pst_websocket_get_bytes_in (proxy->client.ws)
                                             : proxy->client.pump ? pst_stream_pump_get_bytes_in (proxy->client.pump) : 0,
                            proxy->client.ws ? pst_websocket_get_bytes_out (proxy->client.ws)
                                             : proxy->client.pump ? pst_stream_pump_get_bytes_out (proxy->client.pump) : 0);
  pst_connection_end (proxy->conn);
  g_clear_handle_id (&proxy->idle_id, pst_poller_timeout_remove);
  g_clear_pointer (&proxy->client.ws, pst_websocket_unref);
  g_clear_pointer (&proxy->client.pump, pst_stream_pump_unref);
  g_clear_pointer (&proxy->backend.ws, pst_websocket_unref);
  g_clear_pointer (&proxy->backend.pump, pst_stream_pump_unref);
  g_clear_object (&proxy->cancellable);
  g_clear_object (&proxy->service);
  g_clear_object (&proxy->conn);
  g_clear_pointer (&proxy->url, pst_url_free);
  g_free (proxy->close_reason);
  g_free (proxy);
}

static void
record_close (Proxy *proxy, gushort code, const char *reason)
{
  if (proxy->close_reason != NULL)
    return;
  proxy->close_code = code;
  proxy->close_reason = g_strdup (reason ? reason : "");
}

/* A close code we may put in a frame (1005/1006/1015 are reserved). */
static gushort
sendable (gushort code)
{
  if (code == PST_WS_CLOSE_NO_STATUS || code == PST_WS_CLOSE_ABNORMAL || code == 1015 || code < 1000)
    return code == PST_WS_CLOSE_NO_STATUS ? PST_WS_CLOSE_NORMAL : PST_WS_CLOSE_GOING_AWAY;
  return code;
}

static void
side_close (Proxy *proxy, Side *side, gushort code, const char *reason)
{
  if (side->ws != NULL)
    pst_websocket_close (side->ws, sendable (code), reason);   /* closed() follows */
  else if (side->pump != NULL && !side->done)
    {
      /* A pump we close reports nothing more: this side is done now. */
      side->done = TRUE;
      pst_stream_pump_close (side->pump);
      proxy_unref (proxy);
    }
}

static void
side_pause (Side *side)
{
  if (side->ws != NULL)
    pst_websocket_pause (side->ws);
  else if (side->pump != NULL)
    pst_stream_pump_pause (side->pump);
}

static void
side_resume (Side *side)
{
  if (side->ws != NULL)
    pst_websocket_resume (side->ws);
  else if (side->pump != NULL)
    pst_stream_pump_resume (side->pump);
}

static gboolean
side_congested (Side *side)
{
  if (side->ws != NULL)
    return pst_websocket_is_congested (side->ws);
  if (side->pump != NULL)
    return pst_stream_pump_is_congested (side->pump);
  return FALSE;
}

static Side *
other_of_ws (Proxy *proxy, PstWebsocket *ws)
{
  return proxy->client.ws == ws ? &proxy->backend : &proxy->client;
}

static Side *
other_of_pump (Proxy *proxy, PstStreamPump *pump)
{
  return proxy->client.pump == pump ? &proxy->backend : &proxy->client;
}

static Side *
side_of_ws (Proxy *proxy, PstWebsocket *ws)
{
  return proxy->client.ws == ws ? &proxy->client : &proxy->backend;
}

static Side *
side_of_pump (Proxy *proxy, PstStreamPump *pump)
{
  return proxy->client.pump == pump ? &proxy->client : &proxy->backend;
}

/* Bytes read on one side go to the other: as bytes, or as one binary frame. */
static void
deliver_bytes (Side *to, Side *from, const guint8 *data, gsize len)
{
  if (to->ws != NULL)
    pst_websocket_send (to->ws, PST_WS_OP_BINARY, data, len);
  else if (to->pump != NULL)
    pst_stream_pump_write (to->pump, data, len);
  if (side_congested (to))
    side_pause (from);
}

/* ---- WebSocket sides ---------------------------------------------------- */

static void
ws_message_start (PstWebsocket *ws, PstWsOpcode op, gpointer user_data)
{
  side_of_ws (user_data, ws)->opcode = op;
}

/* WebSocket to WebSocket: messages keep their type and payload; each
 * chunk read is one fragment (RFC 6455 §5.4 lets a gateway re-fragment). */
static void
ws_message_data (PstWebsocket *ws, const guint8 *data, gsize len, gboolean fin, gpointer user_data)
{
  Proxy *proxy = user_data;
  Side *to = other_of_ws (proxy, ws);

  if (to->ws != NULL)
    {
      pst_websocket_send_fragment (to->ws, side_of_ws (proxy, ws)->opcode, data, len, fin);
      if (pst_websocket_is_congested (to->ws))
        pst_websocket_pause (ws);
    }
  else if (to->pump != NULL)
    {
      pst_stream_pump_write (to->pump, data, len);
      if (pst_stream_pump_is_congested (to->pump))
        pst_websocket_pause (ws);
    }
}

static void
ws_drained (PstWebsocket *ws, gpointer user_data)
{
  Proxy *proxy = user_data;
  Side *other = other_of_ws (proxy, ws);

  if (!(proxy->draining && other == &proxy->backend))
    side_resume (other);
}

static void
ws_closed (PstWebsocket *ws, gushort code, const char *reason, gpointer user_data)
{
  Proxy *proxy = user_data;
  Side *side = side_of_ws (proxy, ws);
  Side *other = other_of_ws (proxy, ws);

  side->done = TRUE;
  record_close (proxy, code, reason);
  if (!other->done)
    side_close (proxy, other, code, reason);
  if (other->ws == NULL && other->pump == NULL)
    g_cancellable_cancel (proxy->cancellable);   /* still dialling */
  proxy_unref (proxy);
}

static const PstWebsocketSink client_ws_sink = {
  .message_start = ws_message_start,
  .message_data = ws_message_data,
  .drained = ws_drained,
  .closed = ws_closed,
};
static const PstWebsocketSink backend_ws_sink = {
  .message_start = ws_message_start,
  .message_data = ws_message_data,
  .drained = ws_drained,
  .closed = ws_closed,
};

/* ---- byte sides ---------------------------------------------------------- */

static void
pump_data (PstStreamPump *pump, guint8 *data, gsize len, gpointer user_data)
{
  Proxy *proxy = user_data;

  deliver_bytes (other_of_pump (proxy, pump), side_of_pump (proxy, pump), data, len);
}

static void
pump_drained (PstStreamPump *pump, gpointer user_data)
{
  Proxy *proxy = user_data;
  Side *other = other_of_pump (proxy, pump);

  if (!(proxy->draining && other == &proxy->backend))
    side_resume (other);
}

static void
pump_finished (Proxy *proxy, PstStreamPump *pump, const GError *error)
{
  Side *side = side_of_pump (proxy, pump);
  Side *other = other_of_pump (proxy, pump);
  gboolean is_backend = side == &proxy->backend;

  if (side->done)
    return;
  side->done = TRUE;
  /* A TLS client that just closes its socket without close_notify (many
   * do) has still ended the stream: not an error.  A TLS back-end that does
   * so is one that was killed or crashed mid-session (a killed process's
   * socket ends with a FIN, or a RST only when bytes were left unread):
   * its client must learn the session broke (1011), not that it ended. */
  if (is_backend && g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
    {
      g_autofree char *where = pst_url_to_string (proxy->url);
      g_message ("service %s: back-end %s: the connection ended without a TLS close_notify: "
                 "the back-end stopped in the middle of the session (crashed, killed, or it "
                 "closes its socket without ending TLS)",
                 pst_service_get_name (proxy->service), where);
      record_close (proxy, PST_WS_CLOSE_SERVER_ERROR, "back-end connection lost");
    }
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           !g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_EOF))
    {
      g_autofree char *where = pst_url_to_string (proxy->url);
      g_message ("service %s: %s %s: %s", pst_service_get_name (proxy->service),
                 is_backend ? "back-end" : "client", is_backend ? where : pst_connection_get_peer (proxy->conn),
                 error->message);
      record_close (proxy, PST_WS_CLOSE_SERVER_ERROR, is_backend ? "back-end connection failed" : error->message);
    }
  else
    record_close (proxy, PST_WS_CLOSE_NORMAL, is_backend ? "back-end closed the connection" : "client closed");
  if (!other->done)
    side_close (proxy, other, proxy->close_code, proxy->close_reason);
  pst_stream_pump_close (pump);
  proxy_unref (proxy);
}

static void
pump_eof (PstStreamPump *pump, const GError *error, gpointer user_data)
{
  pump_finished (user_data, pump, error);
}

static void
pump_failed (PstStreamPump *pump, const GError *error, gpointer user_data)
{
  pump_finished (user_data, pump, error);
}

static const PstStreamPumpSink client_pump_sink = {
  .data = pump_data, .eof = pump_eof, .drained = pump_drained, .failed = pump_failed,
};
static const PstStreamPumpSink backend_pump_sink = {
  .data = pump_data, .eof = pump_eof, .drained = pump_drained, .failed = pump_failed,
};

/* ---- idle byte sessions --------------------------------------------------- */

static guint64
bytes_moved (Proxy *proxy)
{
  guint64 n = 0;
  Side *sides[] = { &proxy->client, &proxy->backend };

  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      if (sides[i]->pump != NULL)
        n += pst_stream_pump_get_bytes_in (sides[i]->pump) + pst_stream_pump_get_bytes_out (sides[i]->pump);
      else if (sides[i]->ws != NULL)
        n += pst_websocket_get_bytes_in (sides[i]->ws) + pst_websocket_get_bytes_out (sides[i]->ws);
    }
  return n;
}

/* Ticks at half the timeout: two quiet ticks in a row close the session,
 * so it ends between 1× and 1.5× the timeout after its last byte. */
static gboolean
idle_tick_cb (gpointer user_data)
{
  Proxy *proxy = user_data;
  guint64 moved = bytes_moved (proxy);

  if (moved != proxy->idle_seen)
    {
      proxy->idle_seen = moved;
      proxy->idle_ticks = 0;
      return G_SOURCE_CONTINUE;
    }
  if (++proxy->idle_ticks < 2)
    return G_SOURCE_CONTINUE;
  proxy->idle_id = 0;
  g_message ("service %s: client %s: no traffic for %" G_GUINT64_FORMAT " s; closing the session",
             pst_service_get_name (proxy->service), pst_connection_get_peer (proxy->conn),
             proxy->idle_ms / 1000);
  proxy_ref (proxy);
  record_close (proxy, PST_WS_CLOSE_GOING_AWAY, "inactivity timeout");
  if (!proxy->client.done)
    side_close (proxy, &proxy->client, PST_WS_CLOSE_GOING_AWAY, "inactivity timeout");
  if (!proxy->backend.done)
    side_close (proxy, &proxy->backend, PST_WS_CLOSE_GOING_AWAY, "inactivity timeout");
  proxy_unref (proxy);
  return G_SOURCE_REMOVE;
}

static void
start_idle_timer (Proxy *proxy)
{
  if (proxy->idle_ms == 0 || proxy->idle_id != 0)
    return;
  proxy->idle_seen = bytes_moved (proxy);
  proxy->idle_id = pst_poller_timeout_add (MAX (proxy->idle_ms / 2, 1), idle_tick_cb, proxy);
}

/* ---- start ---------------------------------------------------------------- */

/* The gateway stops: the back-end is no longer read (what was read is
 * queued before our close frame); the client gets 1001 and what it sends
 * until its close frame answers ours still goes to the back-end, which is
 * closed after that (ws_closed). */
static void
proxy_drain (Proxy *proxy)
{
  record_close (proxy, PST_WS_CLOSE_GOING_AWAY, "gateway shutting down");
  if (!proxy->backend.done)
    side_pause (&proxy->backend);
  pst_websocket_close_patiently (proxy->client.ws, PST_WS_CLOSE_GOING_AWAY, "gateway shutting down");
}


static void
backend_ready_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Proxy *proxy = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = pst_backend_connect_finish (result, &error);

  pst_backend_connect_record (result, error, pst_runtime_get_metrics (pst_connection_get_runtime (proxy->conn)),
                              pst_service_get_name (proxy->service));
  if (stream == NULL || proxy->client.done)
    {
      if (stream == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("service %s: %s", pst_service_get_name (proxy->service), error->message);
      record_close (proxy, PST_WS_CLOSE_SERVER_ERROR, pst_backend_short_reason (error));
      proxy->backend.done = TRUE;
      if (stream != NULL)
        g_io_stream_close_async (stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
      if (proxy->client.ws != NULL && !proxy->client.done)
        {
          /* The client gets 1011 with a short reason; the log has the long one. */
          pst_websocket_start (proxy->client.ws);
          pst_websocket_close (proxy->client.ws, PST_WS_CLOSE_SERVER_ERROR, pst_backend_short_reason (error));
        }
      else if (proxy->client.pump != NULL && !proxy->client.done)
        {
          proxy->client.done = TRUE;
          pst_stream_pump_close (proxy->client.pump);
          proxy_unref (proxy);
        }
      proxy_unref (proxy);
      return;
    }

  /* Each side's reference is dropped by its closed/eof callback. */
  if (proxy->backend_ws)
    {
      PstWebsocketOptions options = { .server = FALSE, .high_water = HIGH_WATER };
      proxy->backend.ws = pst_websocket_new (stream, &options, &backend_ws_sink, proxy);
      pst_websocket_start (proxy->backend.ws);
    }
  else
    {
      proxy->backend.pump = pst_stream_pump_new (stream, HIGH_WATER, &backend_pump_sink, proxy);
      pst_stream_pump_start (proxy->backend.pump);
    }
  if (proxy->client.ws != NULL)
    {
      pst_websocket_start (proxy->client.ws);
      if (proxy->draining)
        proxy_drain (proxy);   /* the gateway began stopping while we dialled */
    }
  else
    {
      pst_stream_pump_start (proxy->client.pump);
      start_idle_timer (proxy);
    }
  /* the dial's reference becomes the back-end side's */
}

static Proxy *
proxy_new (PstConnection *conn, PstRoute *route, GError **error)
{
  Proxy *proxy;
  g_autoptr(PstUrl) url = NULL;

  if (pst_service_get_n_connects (route->service) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no connect URL");
      return NULL;
    }
  url = pst_url_parse (pst_service_get_connect (route->service, 0), error);
  if (url == NULL)
    return NULL;
  proxy = g_new0 (Proxy, 1);
  proxy->ref_count = 1;
  proxy->conn = g_object_ref (conn);
  proxy->service = g_object_ref (route->service);
  proxy->url = g_steal_pointer (&url);
  proxy->cancellable = g_cancellable_new ();
  proxy->backend_ws = g_str_equal (proxy->url->scheme, "ws") || g_str_equal (proxy->url->scheme, "wss");
  {
    g_autofree char *where = pst_url_to_string (proxy->url);
    pst_connection_set_backend (conn, where);
  }
  return proxy;
}

static void
proxy_shutdown (gpointer session)
{
  Proxy *proxy = proxy_ref (session);
  gboolean joined = proxy->backend.ws != NULL || proxy->backend.pump != NULL;

  /* A byte session (tcp/ssl accept) has no close handshake to ask its
   * client to stop: it runs to its end, within the drain deadline. */
  if (proxy->client.pump != NULL)
    {
      proxy_unref (proxy);
      return;
    }
  /* A WebSocket client: what it sent must reach the back-end, so one
   * still dialling is joined first (backend_ready_cb drains it then). */
  if (proxy->client.ws != NULL && !proxy->client.done)
    {
      proxy->draining = TRUE;
      if (joined)
        proxy_drain (proxy);
      proxy_unref (proxy);
      return;
    }
  g_cancellable_cancel (proxy->cancellable);
  if (!proxy->client.done)
    side_close (proxy, &proxy->client, PST_WS_CLOSE_GOING_AWAY, "gateway shutting down");
  if (!proxy->backend.done)
    side_close (proxy, &proxy->backend, PST_WS_CLOSE_GOING_AWAY, "gateway shutting down");
  proxy_unref (proxy);
}

static void
dial (Proxy *proxy)
{
  PstRuntime *runtime = pst_connection_get_runtime (proxy->conn);
  gboolean tls = proxy->url->secure &&
                 pst_options_get_ssl_encryption (pst_service_get_connect_options (proxy->service));
  g_autoptr(GBytes) preamble = NULL;

  /* tcp.proxy-protocol: tell the back-end who the client is. */
  if (pst_options_get_proxy_protocol (pst_service_get_connect_options (proxy->service)))
    {
      GInetSocketAddress *client = pst_connection_get_client_address (proxy->conn);
      GInetSocketAddress *local = pst_connection_get_local_address (proxy->conn);
      guint8 header[PST_PROXY_V2_MAX_BUILT];

      if (client != NULL && local != NULL)
        preamble = g_bytes_new (header, pst_proxy_protocol_build_v2 (client, local, header));
    }
  pst_connection_set_session (proxy->conn, proxy_shutdown, proxy);
  /* Two references: the client side's, and the dial's (later the back-end's). */
  proxy_ref (proxy);
  pst_backend_connect_async (proxy->url, tls, preamble, pst_runtime_get_peer_trust (runtime),
                             pst_runtime_get_truststore_path (runtime),
                             proxy->cancellable, backend_ready_cb, proxy);
}

void
pst_proxy_start_websocket (PstConnection *conn, PstRoute *route, GIOStream *stream)
{
  g_autoptr(GError) error = NULL;
  Proxy *proxy = proxy_new (conn, route, &error);
  PstWebsocketOptions options = { 0 };

  pst_route_websocket_options (route, TRUE, &options);
  options.high_water = HIGH_WATER;
  if (proxy == NULL)
    {
      g_warning ("service %s: %s", pst_service_get_name (route->service), error->message);
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  proxy->client.ws = pst_websocket_new (stream, &options, &client_ws_sink, proxy);
  dial (proxy);
}

void
pst_proxy_start_bytes (PstConnection *conn, PstRoute *route, GIOStream *stream)
{
  g_autoptr(GError) error = NULL;
  Proxy *proxy = proxy_new (conn, route, &error);

  if (proxy == NULL)
    {
      g_warning ("service %s: %s", pst_service_get_name (route->service), error->message);
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  proxy->client.pump = pst_stream_pump_new (stream, HIGH_WATER, &client_pump_sink, proxy);
  proxy->idle_ms = BYTES_IDLE_DEFAULT_MS;
  pst_options_get_duration_ms (pst_service_get_accept_options (route->service), "ws.inactivity.timeout",
                               BYTES_IDLE_DEFAULT_MS, &proxy->idle_ms);
  dial (proxy);
}
