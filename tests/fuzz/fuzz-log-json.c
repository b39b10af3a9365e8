/* fuzz-log-json.c: JSON log lines from peer-chosen bytes (close reasons, SNI, subjects)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-target.h"
#include "pst-log-writer.h"

/* Checks one JSON string starting at *p (the opening quote) and decodes
 * it into out; returns FALSE if it is not valid JSON. */
static gboolean
json_string (const char **p, GString *out)
{
  const char *s = *p;

  if (*s++ != '"')
    return FALSE;
  for (;;)
    {
      guchar c = *s;

      if (c == '"')
        break;
      if (c < 0x20)
        return FALSE;   /* a raw control character (a newline) breaks the line */
      if (c != '\\')
        {
          g_string_append_c (out, c);
          s++;
          continue;
        }
      s++;
      switch (*s)
        {
        case '"': case '\\': case '/': g_string_append_c (out, *s); s++; break;
        case 'b': g_string_append_c (out, '\b'); s++; break;
        case 'f': g_string_append_c (out, '\f'); s++; break;
        case 'n': g_string_append_c (out, '\n'); s++; break;
        case 'r': g_string_append_c (out, '\r'); s++; break;
        case 't': g_string_append_c (out, '\t'); s++; break;
        case 'u':
          {
            gunichar u = 0;

            for (int i = 1; i <= 4; i++)
              {
                if (!g_ascii_isxdigit (s[i]))
                  return FALSE;
                u = u * 16 + g_ascii_xdigit_value (s[i]);
              }
            if (u >= 0xd800 && u <= 0xdfff)
              return FALSE;   /* we never write surrogates */
            g_string_append_unichar (out, u);
            s += 5;
            break;
          }
        default:
          return FALSE;
        }
    }
  *p = s + 1;
  return TRUE;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree guint8 *copy = fuzz_copy (data, size);
  gsize half = size / 2;
  g_autofree char *first = g_strndup ((const char *) copy, half);
  g_autofree char *second = g_strndup ((const char *) copy + half, size - half);
  GLogField fields[] = {
    { "MESSAGE", first, -1 },
    { "POSTERN_EVENT", "close", -1 },
    { "POSTERN_CLOSE_REASON", copy, (gssize) size },   /* NULs included */
    { "POSTERN_SNI", second, -1 },
    { "POSTERN_BYTES_IN", second, -1 },   /* a number only when it is one */
  };
  g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (1764748800);
  g_autofree char *line = pst_log_json_line (G_LOG_LEVEL_MESSAGE, fields, G_N_ELEMENTS (fields), when);
  g_autoptr(GString) reason = g_string_new (NULL);
  const char *p;
  int strings = 0;

  /* One line of valid UTF-8 without control characters … */
  FUZZ_CHECK (g_utf8_validate (line, -1, NULL));
  for (p = line; *p != '\0'; p++)
    FUZZ_CHECK ((guchar) *p >= 0x20);
  FUZZ_CHECK (line[0] == '{' && line[strlen (line) - 1] == '}');
  /* … whose strings are all well-formed, and the reason decodes to the
   * input when the input was valid UTF-8 without NULs. */
  for (p = line + 1; *p != '\0' && *p != '}';)
    {
      g_autoptr(GString) key = g_string_new (NULL);
      g_autoptr(GString) value = g_string_new (NULL);

      FUZZ_CHECK (json_string (&p, key));
      FUZZ_CHECK (*p == ':');
      p++;
      if (*p == '"')
        FUZZ_CHECK (json_string (&p, value));
      else
        {
          FUZZ_CHECK (g_ascii_isdigit (*p));
          while (g_ascii_isdigit (*p) || *p == '.')
            p++;
        }
      if (g_str_equal (key->str, "close_reason"))
        g_string_assign (reason, value->str);
      strings++;
      FUZZ_CHECK (*p == ',' || *p == '}');
      if (*p == ',')
        p++;
    }
  FUZZ_CHECK (*p == '}' && p[1] == '\0');
  FUZZ_CHECK (strings >= 5);
  if (g_utf8_validate ((const char *) copy, size, NULL) && memchr (copy, 0, size) == NULL)
    FUZZ_CHECK (g_str_equal (reason->str, (const char *) copy));
  return 0;
}
