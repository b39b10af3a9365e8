/* fuzz-metrics-label.c: names from configs and stores in the Prometheus exposition
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-metrics.h"

/* Service names come from the config and certificate aliases from key
 * stores, both written by someone else: whatever their bytes, every line
 * of /metrics must stay one line of the format, and the label value must
 * read back as the name.  The same bytes, as a TLS error message, must
 * map to one of the known causes. */

/* Reads the label value starting after `key="` at p; returns the unescaped
 * value, or NULL when an escape is invalid or the quote never closes. */
static char *
unescape_label (const char *p, const char **end)
{
  GString *out = g_string_new (NULL);

  for (; *p != '\0' && *p != '"'; p++)
    {
      if (*p == '\n')
        break;
      if (*p != '\\')
        {
          g_string_append_c (out, *p);
          continue;
        }
      p++;
      if (*p == '\\' || *p == '"')
        g_string_append_c (out, *p);
      else if (*p == 'n')
        g_string_append_c (out, '\n');
      else
        {
          g_string_free (out, TRUE);
          return NULL;
        }
    }
  if (*p != '"')
    {
      g_string_free (out, TRUE);
      return NULL;
    }
  *end = p + 1;
  return g_string_free (out, FALSE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *name = (char *) fuzz_copy (data, size);   /* up to the first NUL */
  g_autoptr(GError) error = g_error_new_literal (G_TLS_ERROR, G_TLS_ERROR_MISC, name);
  PstMetricsData metrics;
  GString *out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;
  guint seen = 0;

  FUZZ_CHECK (pst_tls_failure_from_error (error) < PST_TLS_N_FAILURES);

  pst_metrics_data_init (&metrics);
  pst_metrics_data_service (&metrics, name)->opened = 1;
  pst_metrics_render_data (out, &metrics, FALSE, NULL);
  pst_metrics_data_clear (&metrics);

  FUZZ_CHECK (out->len > 0 && out->str[out->len - 1] == '\n');
  lines = g_strsplit (out->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      const char *line = lines[i];
      const char *label = strstr (line, "{service=\"");

      FUZZ_CHECK (*line != '\0');
      if (line[0] == '#')
        {
          FUZZ_CHECK (g_str_has_prefix (line, "# HELP postern_") || g_str_has_prefix (line, "# TYPE postern_"));
          continue;
        }
      FUZZ_CHECK (g_str_has_prefix (line, "postern_"));
      if (label != NULL)
        {
          const char *end = NULL;
          g_autofree char *value = unescape_label (label + strlen ("{service=\""), &end);

          FUZZ_CHECK (value != NULL);
          FUZZ_CHECK (strcmp (value, name) == 0);
          FUZZ_CHECK (*end == '}' || *end == ',');
          seen++;
        }
    }
  /* open, total, bytes in and out */
  FUZZ_CHECK (seen >= 4);
  g_string_free (out, TRUE);
  return 0;
}
