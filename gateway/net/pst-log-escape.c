/* pst-log-escape.c: make text from the network safe to put in a log line
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-log-escape.h"

/* SNI, close reasons, certificate subjects and Origin headers come from
 * peers: a newline or a quote in them could forge a log line or a field,
 * and a long one could flood the log. */
char *
pst_log_escape (const char *text, gssize len)
{
  GString *out;
  const char *p, *end;

  if (text == NULL)
    return g_strdup ("-");
  if (len < 0)
    len = strlen (text);
  out = g_string_sized_new (MIN ((gsize) len, PST_LOG_FIELD_MAX) + 8);
  p = text;
  end = text + len;
  while (p < end)
    {
      guchar c = *p;
      gsize before = out->len;

      if (c == '\\' || c == '"')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, c);
          p++;
        }
      else if (c < 0x20 || c == 0x7f)
        {
          g_string_append_printf (out, "\\x%02X", c);
          p++;
        }
      else if (c < 0x80)
        {
          g_string_append_c (out, c);
          p++;
        }
      else
        {
          gunichar u = g_utf8_get_char_validated (p, end - p);

          /* C1 controls (U+0080..U+009F) and U+2028/2029 break lines in
           * some log viewers: escape them like invalid bytes. */
          if (u == (gunichar) -1 || u == (gunichar) -2 || (u >= 0x80 && u <= 0x9f) ||
              u == 0x2028 || u == 0x2029)
            {
              g_string_append_printf (out, "\\x%02X", c);
              p++;
            }
          else
            {
              const char *next = g_utf8_next_char (p);
              g_string_append_len (out, p, next - p);
              p = next;
            }
        }
      if (out->len > PST_LOG_FIELD_MAX)
        {
          /* Never cut inside an escape or a character. */
          g_string_truncate (out, before);
          g_string_append (out, "…");
          break;
        }
    }
  return g_string_free (out, FALSE);
}
