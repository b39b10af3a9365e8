/* pst-config-validate-options.c: checks of option values and of process-wide TLS settings
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-config-validate-private.h"
#include "pst-tls-priority.h"

/* ------------------------------------------------------------------ */
/* Options                                                             */

gboolean
pst_check_bind_is_valid (const char *value)
{
  const char *colon = strrchr (value, ':');
  const char *port = colon != NULL ? colon + 1 : value;
  guint64 number;

  if (colon != NULL && colon == value)
    return FALSE;
  if (*port == '\0' || strspn (port, "0123456789") != strlen (port) || strlen (port) > 5)
    return FALSE;
  if (!g_ascii_string_to_unsigned (port, 10, 1, 65535, &number, NULL))
    return FALSE;
  return TRUE;
}

static gboolean
protocols_are_valid (const char *value, char **bad)
{
  static const char * const known[] = { "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL };
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] == '\0')
        continue;
      if (!g_strv_contains (known, parts[i]))
        {
          *bad = g_strdup (parts[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* Checks the values of the options set in @options itself. */
void
pst_check_option_values (Check      *check,
                         PstOptions *options,
                         const char *service)
{
  g_auto(GStrv) names = pst_options_dup_names (options);

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *name = names[i];
      const char *value = pst_options_get (options, name);
      guint line = pst_options_get_line (options, name);
      guint64 number;

      if (strstr (value, "${") != NULL)
        continue;  /* undefined property, reported already */

      if (strcmp (name, "ssl.encryption") == 0)
        {
          if (g_ascii_strcasecmp (value, "enabled") != 0 && g_ascii_strcasecmp (value, "disabled") != 0)
            ERROR (line, name, service, name,
                   _("ssl.encryption is “%s”; use “enabled” or “disabled”"), value);
        }
      else if (strcmp (name, "ssl.verify-client") == 0)
        {
          if (g_ascii_strcasecmp (value, "required") != 0 && g_ascii_strcasecmp (value, "optional") != 0 &&
              g_ascii_strcasecmp (value, "none") != 0)
            ERROR (line, name, service, name,
                   _("ssl.verify-client is “%s”; use “required”, “optional” or “none”"), value);
        }
      else if (strcmp (name, "ws.inactivity.timeout") == 0 || strcmp (name, "http.keepalive.timeout") == 0)
        {
          if (!pst_parse_duration_ms (value, &number))
            ERROR (line, name, service, name,
                   _("%s is “%s”, not a duration; write e.g. “30”, “30s”, “5 minutes” or “1500ms”"),
                   name, value);
        }
      else if (strcmp (name, "ws.maximum.message.size") == 0)
        {
          if (!pst_parse_size (value, &number) || number == 0)
            ERROR (line, name, service, name,
                   _("%s is “%s”, not a size; write a positive number of bytes, optionally with k or m, e.g. “128k”"),
                   name, value);
        }
      else if (strcmp (name, "tcp.maximum.connections.per.address") == 0)
        {
          if (!g_ascii_string_to_unsigned (value, 10, 1, G_MAXUINT, &number, NULL))
            ERROR (line, name, service, name,
                   _("%s is “%s”; write a whole number of connections of at least 1, e.g. “1000”"),
                   name, value);
        }
      else if (strcmp (name, "tcp.proxy-protocol") == 0)
        {
          if (g_ascii_strcasecmp (value, "true") != 0 && g_ascii_strcasecmp (value, "false") != 0)
            ERROR (line, name, service, name,
                   _("tcp.proxy-protocol is “%s”; use “true” (a load balancer in front sends a PROXY header) or “false”"),
                   value);
        }
      else if (g_str_has_suffix (name, ".bind"))
        {
          if (!pst_check_bind_is_valid (value))
            ERROR (line, name, service, name,
                   _("%s is “%s”; write a port (1-65535) or host:port, e.g. “0.0.0.0:8000”"),
                   name, value);
        }
      else if (strcmp (name, "ssl.protocols") == 0)
        {
          g_autofree char *bad = NULL;
          if (!protocols_are_valid (value, &bad))
            ERROR (line, name, service, name,
                   _("ssl.protocols names “%s”, which is unknown or no longer safe; use TLSv1.2 and/or TLSv1.3"),
                   bad);
        }
      else if (strcmp (name, "ssl.ciphers") == 0)
        {
          /* The same reading as `postern run`, which refuses to start on a
           * name it does not know: check must say so first, with the line. */
          g_autoptr(GError) error = NULL;
          g_autofree char *priority = pst_tls_priority_from_options (NULL, value, &error);
          if (priority == NULL)
            ERROR (line, name, service, name, "%s", error->message);
        }
    }
}

/* GIO's TLS backend reads its priority string once per process, so two
 * services cannot have different protocol or cipher settings. */
void
pst_check_tls_setting (Check      *check,
                       PstOptions *options,
                       const char *name,
                       const char *service)
{
  const char *value = pst_options_get (options, name);
  Claim *first;
  g_autofree char *normal = NULL;

  if (value == NULL)
    return;
  normal = g_strdup (value);
  g_strdelimit (normal, " \t\n", ' ');
  {
    g_auto(GStrv) parts = g_strsplit (normal, " ", -1);
    g_free (normal);
    normal = g_strjoinv ("", parts);
  }

  first = g_hash_table_lookup (check->tls_values, name);
  if (first == NULL)
    {
      g_hash_table_insert (check->tls_values, g_strdup (name),
                           pst_check_claim_new (service, normal,
                                                pst_options_get_line (options, name)));
      return;
    }
  if (strcmp (first->value, normal) != 0)
    ERROR (pst_options_get_line (options, name), name, service, name,
           _("%s is “%s” here but “%s” in service “%s” (line %u); TLS protocol and cipher settings apply to the whole gateway process (GIO reads them once), so give every service the same value or set it in one place only"),
           name, value, first->value, first->service != NULL ? first->service : "service-defaults",
           first->line);
}
