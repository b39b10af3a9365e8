/* pst-probe.c: test an accept URL the way a client would (the editor's "Test" action)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-backend.h"
#include "pst-probe.h"
#include "pst-url.h"
#include "pst-websocket.h"

#define PROBE_TIMEOUT_MS 10000
#define PROBE_QUIET_MS   3000
#define PROBE_TEXT       "postern probe"

typedef struct {
  PstUrl         *url;
  char           *where;
  char           *backend;   /* a proxy's connect URL, or NULL */
  guint           quiet_id;
  gboolean        echo;
  gint64          sent_us;
  GString        *echoed;
  PstWebsocket   *ws;
  GDataInputStream *lines;
  GIOStream      *stream;
  char           *request;
  char           *result;
  guint           timeout_id;
} Probe;

static void
probe_free (Probe *probe)
{
  g_clear_handle_id (&probe->timeout_id, g_source_remove);
  g_clear_handle_id (&probe->quiet_id, g_source_remove);
  g_clear_pointer (&probe->url, pst_url_free);
  g_clear_pointer (&probe->ws, pst_websocket_unref);
  g_clear_object (&probe->lines);
  g_clear_object (&probe->stream);
  if (probe->echoed != NULL)
    g_string_free (probe->echoed, TRUE);
  g_free (probe->where);
  g_free (probe->backend);
  g_free (probe->request);
  g_free (probe->result);
  g_free (probe);
}

static gboolean
timeout_cb (gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);

  probe->timeout_id = 0;
  g_cancellable_cancel (g_task_get_cancellable (task));
  if (probe->ws != NULL)
    pst_websocket_abort (probe->ws);
  return G_SOURCE_REMOVE;
}

/* ---- ws / wss ------------------------------------------------------------- */

static const char *
security_words (Probe *probe)
{
  return probe->url->secure ? _("certificate verified") : _("plain connection");
}

static void
ws_message_data (PstWebsocket *ws, const guint8 *data, gsize len, gboolean fin, gpointer user_data)
{
  Probe *probe = g_task_get_task_data (user_data);
  gint64 rtt_us = g_get_monotonic_time () - probe->sent_us;

  if (probe->echoed->len + len <= 4096)
    g_string_append_len (probe->echoed, (const char *) data, len);
  if (!fin || probe->result != NULL)
    return;
  g_clear_handle_id (&probe->quiet_id, g_source_remove);

  if (probe->backend != NULL)
    probe->result = g_strdup_printf (_("%s: %s, WebSocket upgrade accepted, the back-end %s answered "
                                       "through the proxy in %.1f ms"),
                                     probe->where, security_words (probe), probe->backend,
                                     rtt_us / 1000.0);
  else if (g_str_equal (probe->echoed->str, PROBE_TEXT))
    probe->result = g_strdup_printf (_("%s: %s, WebSocket upgrade accepted, echo round trip in %.1f ms"),
                                     probe->where, security_words (probe), rtt_us / 1000.0);
  else
    probe->result = g_strdup_printf (_("%s: %s, WebSocket upgrade accepted (the reply was not an echo: "
                                       "this service is not an echo service)"),
                                     probe->where, security_words (probe));
  /* A normal close: the gateway logs the probe as 1000, not as a fault. */
  pst_websocket_close (ws, PST_WS_CLOSE_NORMAL, "probe done");
}

static void
ws_closed (PstWebsocket *ws, gushort code, const char *reason, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  const char *sep = reason != NULL && *reason != '\0' ? ", " : "";

  g_clear_handle_id (&probe->quiet_id, g_source_remove);
  if (reason == NULL)
    reason = "";
  if (probe->result != NULL)
    g_task_return_pointer (task, g_steal_pointer (&probe->result), g_free);
  else if (g_cancellable_is_cancelled (g_task_get_cancellable (task)))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             _("%s: no answer within %d s"), probe->where, PROBE_TIMEOUT_MS / 1000);
  else if (probe->backend != NULL)
    /* The client leg worked: what failed is behind the gateway. */
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                             _("%s: the WebSocket upgrade was accepted, but the gateway could not "
                               "forward to the back-end %s and closed the connection (code %u%s%s). "
                               "Check that the back-end is running and trusted; the Run log says why."),
                             probe->where, probe->backend, code, sep, reason);
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                             _("%s: the service closed the WebSocket (code %u%s%s)"),
                             probe->where, code, sep, reason);
}

static const PstWebsocketSink probe_sink = {
  .message_data = ws_message_data,
  .closed = ws_closed,
};

/* A back-end that does not answer the probe message is not an error: the
 * gateway kept the connection open, so it reached it. */
static gboolean
quiet_cb (gpointer user_data)
{
  Probe *probe = g_task_get_task_data (user_data);

  probe->quiet_id = 0;
  if (probe->result == NULL)
    {
      probe->result = g_strdup_printf (_("%s: %s, WebSocket upgrade accepted, the gateway keeps the "
                                         "connection to the back-end %s open (it did not answer the "
                                         "probe message within %d s)"),
                                       probe->where, security_words (probe), probe->backend,
                                       PROBE_QUIET_MS / 1000);
      pst_websocket_close (probe->ws, PST_WS_CLOSE_NORMAL, "probe done");
    }
  return G_SOURCE_REMOVE;
}

static void
start_websocket (GTask *task, GIOStream *stream)
{
  Probe *probe = g_task_get_task_data (task);
  PstWebsocketOptions options = { .server = FALSE, .max_message_size = 1024 * 1024 };

  probe->echoed = g_string_new (NULL);
  /* The WebSocket's reference on the task is dropped by ws_closed. */
  probe->ws = pst_websocket_new (stream, &options, &probe_sink, g_object_ref (task));
  pst_websocket_start (probe->ws);
  if (!probe->echo && probe->backend == NULL)
    {
      /* Nothing to send: finish with a close handshake (1000), never a bare close. */
      probe->result = g_strdup_printf (_("%s: %s, WebSocket upgrade accepted"), probe->where,
                                       security_words (probe));
      pst_websocket_close (probe->ws, PST_WS_CLOSE_NORMAL, "probe done");
      return;
    }
  probe->sent_us = g_get_monotonic_time ();
  pst_websocket_send (probe->ws, PST_WS_OP_TEXT, (const guint8 *) PROBE_TEXT, strlen (PROBE_TEXT));
  if (probe->backend != NULL)
    probe->quiet_id = g_timeout_add (PROBE_QUIET_MS, quiet_cb, task);
}

/* ---- http / https ---------------------------------------------------------- */

static void
status_line_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, &error);
  g_autofree char *code = NULL;
  guint64 status = 0;

  g_io_stream_close_async (probe->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  if (line != NULL && g_str_has_prefix (line, "HTTP/1.") && strlen (line) >= 12)
    code = g_strndup (line + 9, 3);
  if (code == NULL || !g_ascii_string_to_unsigned (code, 10, 100, 599, &status, NULL))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s: no HTTP answer%s%s"),
                               probe->where, error ? ": " : "", error ? error->message : "");
      return;
    }
  g_strchomp (line);
  if (status >= 400)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s: the server answered “%s”"),
                             probe->where, line + 9);
  else
    g_task_return_pointer (task, g_strdup_printf (_("%s: %s, the server answered “%s”"), probe->where,
                                                  probe->url->secure ? _("certificate verified")
                                                                     : _("plain connection"),
                                                  line + 9),
                           g_free);
}

static void
request_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", probe->where, error->message);
      return;
    }
  probe->lines = g_data_input_stream_new (g_io_stream_get_input_stream (probe->stream));
  g_data_input_stream_read_line_async (probe->lines, G_PRIORITY_DEFAULT, cancellable,
                                       status_line_cb, g_steal_pointer (&task));
}

static void
start_http (GTask *task, GIOStream *stream)
{
  Probe *probe = g_task_get_task_data (task);
  g_autofree char *authority = pst_url_dup_authority (probe->url);
  GCancellable *cancellable = g_task_get_cancellable (task);

  probe->stream = g_object_ref (stream);
  probe->request = g_strdup_printf ("HEAD %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Postern-probe\r\n"
                                    "Connection: close\r\n\r\n", probe->url->path, authority);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), probe->request,
                                   strlen (probe->request), G_PRIORITY_DEFAULT, cancellable,
                                   request_written_cb, task);
}

static void
connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GIOStream) stream = pst_backend_connect_finish (result, &error);

  if (stream == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                                 _("%s: no answer within %d s"), probe->where, PROBE_TIMEOUT_MS / 1000);
      else
        g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_str_equal (probe->url->scheme, "ws") || g_str_equal (probe->url->scheme, "wss"))
    start_websocket (task, stream);
  else
    start_http (g_steal_pointer (&task), stream);
}

void
pst_probe_async (const char          *url,
                 GTlsDatabase        *trust,
                 gboolean             echo,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  pst_probe_service_async (url, trust, echo, NULL, cancellable, callback, user_data);
}

void
pst_probe_service_async (const char          *url,
                         GTlsDatabase        *trust,
                         gboolean             echo,
                         const char          *backend,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GCancellable) own = cancellable ? g_object_ref (cancellable) : g_cancellable_new ();
  g_autoptr(GTask) task = g_task_new (NULL, own, callback, user_data);
  g_autoptr(GError) error = NULL;
  Probe *probe;

  g_task_set_source_tag (task, pst_probe_async);
  g_task_set_name (task, "[postern] probe");
  probe = g_new0 (Probe, 1);
  g_task_set_task_data (task, probe, (GDestroyNotify) probe_free);
  probe->echo = echo;
  probe->backend = g_strdup (backend);
  probe->url = pst_url_parse (url, &error);
  if (probe->url == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  probe->where = pst_url_to_string (probe->url);
  if (!g_str_equal (probe->url->scheme, "ws") && !g_str_equal (probe->url->scheme, "wss") &&
      !g_str_equal (probe->url->scheme, "http") && !g_str_equal (probe->url->scheme, "https"))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("%s: only ws, wss, http and https URLs can be tested"), probe->where);
      return;
    }
  probe->timeout_id = g_timeout_add (PROBE_TIMEOUT_MS, timeout_cb, task);
  pst_backend_connect_async (probe->url, probe->url->secure, NULL, trust, NULL, own, connected_cb,
                             g_steal_pointer (&task));
}

char *
pst_probe_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
