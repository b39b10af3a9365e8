/* pst-url.c: accept and connect URLs (ws, wss, http, https, tcp, ssl)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-url.h"

G_DEFINE_QUARK (pst-url-error-quark, pst_url_error)

gboolean
pst_url_scheme_is_secure (const char *scheme)
{
  g_return_val_if_fail (scheme != NULL, FALSE);

  return g_ascii_strcasecmp (scheme, "wss") == 0 ||
         g_ascii_strcasecmp (scheme, "https") == 0 ||
         g_ascii_strcasecmp (scheme, "ssl") == 0;
}

static guint
default_port (const char *scheme)
{
  if (strcmp (scheme, "ws") == 0 || strcmp (scheme, "http") == 0)
    return 80;
  if (strcmp (scheme, "wss") == 0 || strcmp (scheme, "https") == 0)
    return 443;
  return 0;  /* tcp, ssl, udp: no default, the port is required */
}

static gboolean
scheme_is_valid (const char *scheme, gsize len)
{
  if (len == 0 || !g_ascii_isalpha (scheme[0]))
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if (!g_ascii_isalnum (scheme[i]) && scheme[i] != '+' && scheme[i] != '-' && scheme[i] != '.')
      return FALSE;
  return TRUE;
}

static gboolean
host_is_valid (const char *host)
{
  if (*host == '\0')
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-._~%", *p) == NULL)
      return FALSE;
  return TRUE;
}

/**
 * pst_url_parse:
 * @text: a URL such as `wss://localhost:9000/echo`
 * @error: return location for a #PST_URL_ERROR
 *
 * Parses an accept or connect URL.  The port defaults to the scheme's
 * (80 for ws/http, 443 for wss/https); tcp, ssl and udp need one.
 *
 * Returns: (transfer full) (nullable): the URL, or %NULL with @error set
 */
PstUrl *
pst_url_parse (const char  *text,
               GError     **error)
{
  g_autoptr(PstUrl) url = NULL;
  const char *sep, *authority, *auth_end, *host_start, *host_end, *port_text = NULL;
  g_autofree char *port_str = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sep = strstr (text, "://");
  if (sep == NULL || !scheme_is_valid (text, sep - text))
    {
      g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_SYNTAX,
                   _("“%s” is not a URL; write it as scheme://host:port/path, e.g. wss://localhost:9000/echo"),
                   text);
      return NULL;
    }

  url = g_new0 (PstUrl, 1);
  url->scheme = g_ascii_strdown (text, sep - text);
  url->secure = pst_url_scheme_is_secure (url->scheme);

  authority = sep + 3;
  auth_end = authority + strcspn (authority, "/?#");

  if (*authority == '[')
    {
      const char *close = memchr (authority, ']', auth_end - authority);
      if (close == NULL)
        {
          g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_SYNTAX,
                       _("“%s”: the IPv6 address has no closing “]”"), text);
          return NULL;
        }
      host_start = authority + 1;
      host_end = close;
      if (close + 1 < auth_end)
        {
          if (close[1] != ':')
            {
              g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_SYNTAX,
                           _("“%s”: expected “:port” after the IPv6 address"), text);
              return NULL;
            }
          port_text = close + 2;
        }
    }
  else
    {
      const char *colon = memchr (authority, ':', auth_end - authority);
      host_start = authority;
      host_end = colon != NULL ? colon : auth_end;
      if (colon != NULL)
        port_text = colon + 1;
    }

  url->host = g_strndup (host_start, host_end - host_start);
  if (memchr (authority, '@', auth_end - authority) != NULL ||
      (*authority == '['
         ? *url->host == '\0' || strspn (url->host, "0123456789abcdefABCDEF:.") != strlen (url->host)
         : !host_is_valid (url->host)))
    {
      g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_SYNTAX,
                   _("“%s” has no valid host name; write it as scheme://host:port/path"), text);
      return NULL;
    }

  if (port_text != NULL)
    {
      guint64 port = 0;

      port_str = g_strndup (port_text, auth_end - port_text);
      if (*port_str == '\0' || strspn (port_str, "0123456789") != strlen (port_str) ||
          strlen (port_str) > 5 ||
          !g_ascii_string_to_unsigned (port_str, 10, 0, G_MAXUINT64, &port, NULL) ||
          port == 0 || port > 65535)
        {
          g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_PORT,
                       _("“%s”: port “%s” is not valid; use a number from 1 to 65535"),
                       text, port_str);
          return NULL;
        }
      url->port = (guint16)port;
    }
  else
    {
      url->port = default_port (url->scheme);
      if (url->port == 0)
        {
          g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_PORT,
                       _("“%s” has no port; %s:// URLs need one, e.g. %s://%s:8080"),
                       text, url->scheme, url->scheme, url->host);
          return NULL;
        }
    }

  if (*auth_end == '/')
    url->path = g_strndup (auth_end, strcspn (auth_end, "?#"));
  else
    url->path = g_strdup ("/");

  for (const char *p = url->path; *p != '\0'; p++)
    if ((guchar)*p <= ' ' || *p == '\\')
      {
        g_set_error (error, PST_URL_ERROR, PST_URL_ERROR_SYNTAX,
                     _("“%s”: the path contains a space or control character; percent-encode it"),
                     text);
        return NULL;
      }

  return g_steal_pointer (&url);
}

PstUrl *
pst_url_copy (const PstUrl *url)
{
  PstUrl *copy;

  g_return_val_if_fail (url != NULL, NULL);

  copy = g_new0 (PstUrl, 1);
  copy->scheme = g_strdup (url->scheme);
  copy->host = g_strdup (url->host);
  copy->port = url->port;
  copy->path = g_strdup (url->path);
  copy->secure = url->secure;
  return copy;
}

void
pst_url_free (PstUrl *url)
{
  if (url == NULL)
    return;
  g_free (url->scheme);
  g_free (url->host);
  g_free (url->path);
  g_free (url);
}

char *
pst_url_dup_authority (const PstUrl *url)
{
  g_return_val_if_fail (url != NULL, NULL);

  if (strchr (url->host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", url->host, url->port);
  return g_strdup_printf ("%s:%u", url->host, url->port);
}

char *
pst_url_to_string (const PstUrl *url)
{
  g_autofree char *authority = NULL;

  g_return_val_if_fail (url != NULL, NULL);

  authority = pst_url_dup_authority (url);
  return g_strdup_printf ("%s://%s%s", url->scheme, authority, url->path);
}
