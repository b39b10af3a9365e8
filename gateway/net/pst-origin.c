/* pst-origin.c: cross-site-constraint checks for browser WebSocket upgrades
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-origin.h"

static char *
origin_string (const char *scheme, const char *host, int port)
{
  gboolean is_default = (g_str_equal (scheme, "http") && port == 80) ||
                        (g_str_equal (scheme, "https") && port == 443) || port <= 0;
  gboolean v6 = strchr (host, ':') != NULL;
  g_autofree char *lhost = g_ascii_strdown (host, -1);

  if (is_default)
    return g_strdup_printf ("%s://%s%s%s", scheme, v6 ? "[" : "", lhost, v6 ? "]" : "");
  return g_strdup_printf ("%s://%s%s%s:%d", scheme, v6 ? "[" : "", lhost, v6 ? "]" : "", port);
}

char *
pst_origin_normalize (const char *origin)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *scheme = NULL;
  const char *host;
  int port;

  if (origin == NULL)
    return NULL;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  scheme = g_ascii_strdown (g_uri_get_scheme (uri), -1);
  host = g_uri_get_host (uri);
  port = g_uri_get_port (uri);
  if (port < 0)
    port = g_str_equal (scheme, "https") ? 443 : 80;
  return origin_string (scheme, host, port);
}

gboolean
pst_origin_allowed (PstService *service, const PstUrl *accept, const char *origin)
{
  const char * const *allowed = pst_service_get_allow_origins (service);
  g_autofree char *want = NULL;

  if (origin == NULL)
    return TRUE;   /* not a browser: cross-site rules do not apply */
  want = pst_origin_normalize (origin);
  if (want == NULL)
    return FALSE;
  if (allowed == NULL)
    {
      const char *scheme = (g_str_equal (accept->scheme, "wss") || g_str_equal (accept->scheme, "https"))
                           ? "https" : "http";
      g_autofree char *own = origin_string (scheme, accept->host, accept->port);
      return g_str_equal (own, want);
    }
  for (gsize i = 0; allowed[i] != NULL; i++)
    {
      g_autofree char *norm = NULL;

      if (g_str_equal (allowed[i], "*"))
        return TRUE;
      norm = pst_origin_normalize (allowed[i]);
      if (norm != NULL && g_str_equal (norm, want))
        return TRUE;
    }
  return FALSE;
}
