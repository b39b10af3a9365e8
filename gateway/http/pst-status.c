/* pst-status.c: the status service: GET /health for load balancers, GET /metrics for Prometheus
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-status.h"

#define METRICS_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE    "text/plain; charset=utf-8"

static void
respond (SoupServerMessage *msg, guint status, const char *type, char *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  /* A probe must see the state now, never a cached answer. */
  soup_message_headers_replace (headers, "Cache-Control", "no-store");
  soup_server_message_set_status (msg, status, NULL);
  /* SoupServer sends the Content-Length of a HEAD's body and no body. */
  soup_server_message_set_response (msg, type, SOUP_MEMORY_TAKE, body, strlen (body));
}

static void
serve_health (PstMetrics *metrics, SoupServerMessage *msg)
{
  g_autofree char *why = NULL;
  g_autofree char *workers = NULL;
  guint up = 0, wanted = 0;

  if (metrics == NULL)
    {
      respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, TEXT_TYPE,
               g_strdup (_("not running in a gateway\n")));
      return;
    }
  /* A master's gateway: how many of its workers accept, always in a
   * header (for scripts, not translated), and in the body when some are
   * missing (a body of "ok" alone is what load balancers' checks match). */
  if (pst_metrics_get_workers (metrics, &up, &wanted))
    {
      g_autofree char *header = g_strdup_printf ("%u of %u up", up, wanted);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Postern-Workers", header);
      if (up < wanted)
        workers = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u of %u worker up", "%u of %u workers up",
                                                wanted), up, wanted);
    }
  if (pst_metrics_check_health (metrics, &why))
    respond (msg, SOUP_STATUS_OK, TEXT_TYPE,
             workers != NULL ? g_strdup_printf ("ok: %s\n", workers) : g_strdup ("ok\n"));
  else if (workers != NULL)
    respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, TEXT_TYPE, g_strdup_printf ("%s\n%s\n", why, workers));
  else
    respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, TEXT_TYPE, g_strdup_printf ("%s\n", why));
}

static void
serve_metrics (PstMetrics *metrics, PstRuntime *runtime, SoupServerMessage *msg)
{
  if (metrics == NULL)
    {
      respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, TEXT_TYPE,
               g_strdup (_("not running in a gateway\n")));
      return;
    }
  respond (msg, SOUP_STATUS_OK, METRICS_TYPE, pst_metrics_render (metrics, runtime));
}

void
pst_status_serve (PstMetrics        *metrics,
                  PstRuntime        *runtime,
                  SoupServerMessage *msg,
                  const char        *rel_path)
{
  const char *method = soup_server_message_get_method (msg);
  gboolean health = g_strcmp0 (rel_path, "/health") == 0;
  gboolean figures = g_strcmp0 (rel_path, "/metrics") == 0;

  /* A stopping gateway waits for its connections: probes must not linger. */
  if (pst_metrics_get_draining (metrics))
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection", "close");

  if (!health && !figures)
    {
      respond (msg, SOUP_STATUS_NOT_FOUND, TEXT_TYPE,
               g_strdup (_("not found: a status service answers /health and /metrics\n")));
      return;
    }
  if (g_strcmp0 (method, SOUP_METHOD_GET) != 0 && g_strcmp0 (method, SOUP_METHOD_HEAD) != 0)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", "GET, HEAD");
      respond (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, TEXT_TYPE,
               g_strdup (_("method not allowed: use GET or HEAD\n")));
      return;
    }
  if (health)
    serve_health (metrics, msg);
  else
    serve_metrics (metrics, runtime, msg);
}
