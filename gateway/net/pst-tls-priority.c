/* pst-tls-priority.c: ssl.protocols / ssl.ciphers → the process-wide GnuTLS priority
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>

#include "pst-tls-priority.h"

static const struct {
  const char *name;
  const char *gnutls;
} protocol_names[] = {
  { "tlsv1",   "VERS-TLS1.0" },
  { "tlsv1.0", "VERS-TLS1.0" },
  { "tlsv1.1", "VERS-TLS1.1" },
  { "tlsv1.2", "VERS-TLS1.2" },
  { "tlsv1.3", "VERS-TLS1.3" },
};

/* OpenSSL aliases that name what NORMAL already leaves out (or keeps). */
static const char * const harmless_tokens[] = {
  "high", "default", "all", "!anull", "!enull", "!export", "!des", "!3des", "!rc4", "!md5",
  "!low", "!adh", "!krb5", "!psk", "!srp", "!null", "!exp", "!dss", "!camellia", "!seed",
  "!idea", "!medium", "!sslv2", "!sslv3", "@strength",
};

/* Bulk ciphers, recognised in OpenSSL and GnuTLS spellings. */
static const struct {
  const char *needle;   /* substring of the upper-cased token */
  const char *gnutls;
} cipher_names[] = {
  { "AES128-GCM",        "AES-128-GCM" },
  { "AES_128_GCM",       "AES-128-GCM" },
  { "AES-128-GCM",       "AES-128-GCM" },
  { "AES256-GCM",        "AES-256-GCM" },
  { "AES_256_GCM",       "AES-256-GCM" },
  { "AES-256-GCM",       "AES-256-GCM" },
  { "CHACHA20",          "CHACHA20-POLY1305" },
  { "AES128-CCM",        "AES-128-CCM" },
  { "AES256-CCM",        "AES-256-CCM" },
  { "AES128-SHA",        "AES-128-CBC" },
  { "AES_128_CBC",       "AES-128-CBC" },
  { "AES-128-CBC",       "AES-128-CBC" },
  { "AES256-SHA",        "AES-256-CBC" },
  { "AES_256_CBC",       "AES-256-CBC" },
  { "AES-256-CBC",       "AES-256-CBC" },
};

char *
pst_tls_priority_from_options (const char *protocols, const char *ciphers, GError **error)
{
  g_autoptr(GString) prio = g_string_new ("NORMAL");
  g_autoptr(GPtrArray) bulk = g_ptr_array_new ();

  if (protocols == NULL || *protocols == '\0')
    g_string_append (prio, ":-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
  else
    {
      g_auto(GStrv) names = g_regex_split_simple ("[\\s,]+", protocols, 0, 0);
      gboolean any = FALSE;

      g_string_append (prio, ":-VERS-ALL");
      for (guint i = 0; names[i] != NULL; i++)
        {
          g_autofree char *low = g_ascii_strdown (names[i], -1);
          gboolean found = FALSE;

          if (*low == '\0')
            continue;
          for (gsize k = 0; k < G_N_ELEMENTS (protocol_names); k++)
            if (g_str_equal (low, protocol_names[k].name))
              {
                g_string_append_printf (prio, ":+%s", protocol_names[k].gnutls);
                found = any = TRUE;
              }
          if (!found)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("ssl.protocols: unknown or unsupported protocol “%s” (use TLSv1.2, TLSv1.3)"), names[i]);
              return NULL;
            }
        }
      if (!any)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       _("ssl.protocols names no protocol (use TLSv1.2, TLSv1.3)"));
          return NULL;
        }
    }

  if (ciphers != NULL && *ciphers != '\0')
    {
      g_auto(GStrv) names = g_regex_split_simple ("[\\s,:]+", ciphers, 0, 0);

      for (guint i = 0; names[i] != NULL; i++)
        {
          g_autofree char *low = g_ascii_strdown (names[i], -1);
          g_autofree char *up = g_ascii_strup (names[i], -1);
          gboolean found = FALSE;

          if (*low == '\0')
            continue;
          for (gsize k = 0; k < G_N_ELEMENTS (harmless_tokens) && !found; k++)
            found = g_str_equal (low, harmless_tokens[k]);
          for (gsize k = 0; k < G_N_ELEMENTS (cipher_names) && !found; k++)
            if (strstr (up, cipher_names[k].needle) != NULL)
              {
                found = TRUE;
                if (!g_ptr_array_find_with_equal_func (bulk, cipher_names[k].gnutls, g_str_equal, NULL))
                  g_ptr_array_add (bulk, (gpointer) cipher_names[k].gnutls);
              }
          if (!found)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           _("ssl.ciphers: unknown cipher “%s” (use names like ECDHE-RSA-AES128-GCM-SHA256, "
                             "AES-256-GCM, CHACHA20-POLY1305 or HIGH)"), names[i]);
              return NULL;
            }
        }
      if (bulk->len > 0)
        {
          g_string_append (prio, ":-CIPHER-ALL");
          for (guint i = 0; i < bulk->len; i++)
            g_string_append_printf (prio, ":+%s", (char *) bulk->pdata[i]);
        }
    }

  /* Let GnuTLS itself judge the result. */
  {
    gnutls_priority_t check;
    const char *err_pos = NULL;

    if (gnutls_priority_init (&check, prio->str, &err_pos) < 0)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     _("ssl.protocols/ssl.ciphers give an invalid TLS priority “%s”"), prio->str);
        return NULL;
      }
    gnutls_priority_deinit (check);
  }
  return g_string_free (g_steal_pointer (&prio), FALSE);
}

char *
pst_tls_priority_for_config (PstConfig *config, GError **error)
{
  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);
      PstOptions *options = pst_service_get_accept_options (service);
      const char *protocols = pst_options_get (options, "ssl.protocols");
      const char *ciphers = pst_options_get (options, "ssl.ciphers");

      if (protocols != NULL || ciphers != NULL)
        return pst_tls_priority_from_options (protocols, ciphers, error);
    }
  return g_strdup (PST_TLS_DEFAULT_PRIORITY);
}

void
pst_tls_priority_apply (const char *priority)
{
  g_setenv ("G_TLS_GNUTLS_PRIORITY", priority, TRUE);
}
