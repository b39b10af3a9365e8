/* pst-log-writer.c: where "postern run" logs go: text lines, JSON lines, or the journal
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pst-log-writer.h"

static PstLogFormat log_format = PST_LOG_FORMAT_TEXT;
static gboolean to_journal;
static char worker_index[16];   /* "" in a single process or the master */
static char worker_pid[16];

/* Fields that are numbers in JSON (the rest are strings). */
static const char *const numeric_fields[] = {
  "POSTERN_BYTES_IN", "POSTERN_BYTES_OUT", "POSTERN_DURATION_S", "POSTERN_CLOSE_CODE",
  "POSTERN_CONNECTIONS", "POSTERN_DRAIN_TIMEOUT_S", "POSTERN_WORKER", "POSTERN_PID", "POSTERN_WORKERS", NULL
};

gboolean
pst_log_format_parse (const char *text, PstLogFormat *format)
{
  if (g_strcmp0 (text, "text") == 0)
    *format = PST_LOG_FORMAT_TEXT;
  else if (g_strcmp0 (text, "json") == 0)
    *format = PST_LOG_FORMAT_JSON;
  else
    return FALSE;
  return TRUE;
}

static const char *
level_label (GLogLevelFlags level)
{
  switch (level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:    return "error";
    case G_LOG_LEVEL_CRITICAL: return "critical";
    case G_LOG_LEVEL_WARNING:  return "warning";
    case G_LOG_LEVEL_DEBUG:    return "debug";
    default:                   return "info";
    }
}

/* A field's value as a C string (fields may carry a length). */
static char *
field_dup (const GLogField *field)
{
  if (field->value == NULL)
    return g_strdup ("");
  return field->length < 0 ? g_strdup (field->value) : g_strndup (field->value, field->length);
}

static gsize
field_len (const GLogField *field)
{
  if (field->value == NULL)
    return 0;
  return field->length < 0 ? strlen (field->value) : (gsize) field->length;
}

void
pst_json_append_string (GString *out, const char *text, gssize len)
{
  const char *p, *end;

  if (text == NULL)
    text = "";
  if (len < 0)
    len = strlen (text);
  p = text;
  end = text + len;
  g_string_append_c (out, '"');
  while (p < end)
    {
      guchar c = *p;

      if (c == '"' || c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, c);
          p++;
        }
      else if (c == '\n')
        g_string_append (out, "\\n"), p++;
      else if (c == '\r')
        g_string_append (out, "\\r"), p++;
      else if (c == '\t')
        g_string_append (out, "\\t"), p++;
      else if (c < 0x20 || c == 0x7f)
        g_string_append_printf (out, "\\u%04x", c), p++;
      else if (c < 0x80)
        g_string_append_c (out, c), p++;
      else
        {
          gunichar u = g_utf8_get_char_validated (p, end - p);

          if (u == (gunichar) -1 || u == (gunichar) -2)
            {
              g_string_append (out, "\\ufffd");   /* one per invalid byte */
              p++;
            }
          else
            {
              const char *next = g_utf8_next_char (p);

              /* Line and paragraph separators, and C1 controls, end
               * lines in some readers: keep them as escapes. */
              if (u == 0x2028 || u == 0x2029 || (u >= 0x80 && u <= 0x9f))
                g_string_append_printf (out, "\\u%04x", u);
              else
                g_string_append_len (out, p, next - p);
              p = next;
            }
        }
    }
  g_string_append_c (out, '"');
}

static gboolean
is_number (const char *text, gsize len)
{
  gsize i = 0, digits = 0;
  gboolean dot = FALSE;

  for (; i < len; i++)
    {
      if (g_ascii_isdigit (text[i]))
        digits++;
      else if (text[i] == '.' && !dot && digits > 0)
        dot = TRUE;
      else
        return FALSE;
    }
  return digits > 0 && text[len - 1] != '.';
}

char *
pst_log_json_line (GLogLevelFlags level, const GLogField *fields, gsize n_fields, GDateTime *when)
{
  GString *out = g_string_sized_new (256);
  g_autoptr(GDateTime) utc = g_date_time_to_utc (when);
  g_autofree char *stamp = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%S");
  const GLogField *message = NULL, *event = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = &fields[i];
      else if (g_strcmp0 (fields[i].key, "POSTERN_EVENT") == 0)
        event = &fields[i];
    }
  g_string_append_printf (out, "{\"timestamp\":\"%s.%03dZ\",\"level\":\"%s\",\"event\":", stamp,
                          g_date_time_get_microsecond (utc) / 1000, level_label (level));
  if (event != NULL)
    pst_json_append_string (out, event->value, field_len (event));
  else
    g_string_append (out, "\"message\"");
  g_string_append (out, ",\"message\":");
  pst_json_append_string (out, message ? message->value : "", message ? (gssize) field_len (message) : 0);
  for (gsize i = 0; i < n_fields; i++)
    {
      const char *key = fields[i].key;
      g_autofree char *name = NULL;
      gsize len = field_len (&fields[i]);

      if (key == NULL || !g_str_has_prefix (key, "POSTERN_") || &fields[i] == event)
        continue;
      name = g_ascii_strdown (key + strlen ("POSTERN_"), -1);
      g_string_append_c (out, ',');
      pst_json_append_string (out, name, -1);
      g_string_append_c (out, ':');
      if (g_strv_contains (numeric_fields, key) && is_number (fields[i].value, len))
        g_string_append_len (out, fields[i].value, len);
      else
        pst_json_append_string (out, fields[i].value, len);
    }
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/* g_date_time_new_now_local() looks the local zone up again each time
 * (two stats and a readlink of /etc/localtime per log line in GLib 2.74):
 * the zone is looked up at most every 10 s instead. */
G_LOCK_DEFINE_STATIC (local_zone);

static GDateTime *
now_local (void)
{
  static GTimeZone *zone;
  static gint64 zone_until;
  gint64 mono = g_get_monotonic_time ();
  GDateTime *now;

  G_LOCK (local_zone);
  if (zone == NULL || mono >= zone_until)
    {
      g_clear_pointer (&zone, g_time_zone_unref);
      zone = g_time_zone_new_local ();
      zone_until = mono + 10 * G_USEC_PER_SEC;
    }
  now = g_date_time_new_now (zone);
  G_UNLOCK (local_zone);
  return now;
}

static void
write_text (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  g_autofree char *message = NULL;
  g_autoptr(GDateTime) now = now_local ();
  char stamp[64];

  /* as g_date_time_format (now, "%Y-%m-%dT%H:%M:%S"), without its format parser */
  g_snprintf (stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d",
              g_date_time_get_year (now), g_date_time_get_month (now), g_date_time_get_day_of_month (now),
              g_date_time_get_hour (now), g_date_time_get_minute (now), g_date_time_get_second (now));

  for (gsize i = 0; i < n_fields && message == NULL; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = field_dup (&fields[i]);
  fprintf (stderr, "%s.%03d %s: %s\n", stamp, g_date_time_get_microsecond (now) / 1000,
           level_label (level), message ? message : "");
  fflush (stderr);
}

static GLogWriterOutput write_record (GLogLevelFlags level, const GLogField *fields, gsize n_fields);

static GLogWriterOutput
writer_func (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  GLogField *all;

  if (g_log_writer_default_would_drop (level, "postern"))
    return G_LOG_WRITER_HANDLED;
  if (worker_index[0] == '\0')
    return write_record (level, fields, n_fields);
  /* A worker's records say which worker wrote them. */
  all = g_newa (GLogField, n_fields + 2);
  memcpy (all, fields, n_fields * sizeof *fields);
  all[n_fields] = (GLogField) { "POSTERN_WORKER", worker_index, -1 };
  all[n_fields + 1] = (GLogField) { "POSTERN_PID", worker_pid, -1 };
  return write_record (level, all, n_fields + 2);
}

static GLogWriterOutput
write_record (GLogLevelFlags level, const GLogField *fields, gsize n_fields)
{
  if (log_format == PST_LOG_FORMAT_JSON)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autofree char *line = pst_log_json_line (level, fields, n_fields, now);

      fprintf (stderr, "%s\n", line);
      fflush (stderr);
      return G_LOG_WRITER_HANDLED;
    }
  if (to_journal)
    {
      g_autofree GLogField *all = g_new (GLogField, n_fields + 1);

      memcpy (all, fields, n_fields * sizeof *fields);
      all[n_fields] = (GLogField) { "SYSLOG_IDENTIFIER", "postern", -1 };
      if (g_log_writer_journald (level, all, n_fields + 1, NULL) == G_LOG_WRITER_HANDLED)
        return G_LOG_WRITER_HANDLED;
    }
  write_text (level, fields, n_fields);
  return G_LOG_WRITER_HANDLED;
}

void
pst_log_writer_install (PstLogFormat format)
{
  log_format = format;
  to_journal = format == PST_LOG_FORMAT_TEXT && g_log_writer_is_journald (fileno (stderr));
  g_log_set_writer_func (writer_func, NULL, NULL);
}

void
pst_log_writer_set_worker (guint index)
{
  if (index == 0)
    {
      worker_index[0] = worker_pid[0] = '\0';
      return;
    }
  g_snprintf (worker_index, sizeof worker_index, "%u", index);
  g_snprintf (worker_pid, sizeof worker_pid, "%d", (int) getpid ());
}

gboolean
pst_log_writer_is_text (void)
{
  return log_format == PST_LOG_FORMAT_TEXT && !to_journal;
}

/* GLib's levels as syslog priorities, as g_log_structured() sets them. */
static const char *
priority_of (GLogLevelFlags level)
{
  switch (level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:    return "3";
    case G_LOG_LEVEL_CRITICAL: return "4";
    case G_LOG_LEVEL_WARNING:  return "4";
    case G_LOG_LEVEL_MESSAGE:  return "5";
    case G_LOG_LEVEL_INFO:     return "6";
    default:                   return "7";
    }
}

#define MAX_EVENT_FIELDS 24

void
pst_log_event (GLogLevelFlags level, const char *event, const char *message, ...)
{
  GLogField fields[MAX_EVENT_FIELDS + 4];
  /* "POSTERN_" + the key, on the stack: two records per connection */
  char keys[MAX_EVENT_FIELDS][40];
  gsize n = 0, n_keys = 0;
  va_list args;
  const char *key;

  fields[n++] = (GLogField) { "MESSAGE", message, -1 };
  fields[n++] = (GLogField) { "PRIORITY", priority_of (level), -1 };
  fields[n++] = (GLogField) { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 };
  fields[n++] = (GLogField) { "POSTERN_EVENT", event, -1 };
  va_start (args, message);
  while ((key = va_arg (args, const char *)) != NULL && n_keys < MAX_EVENT_FIELDS)
    {
      const char *value = va_arg (args, const char *);

      if (value == NULL)
        continue;   /* a field this record does not have */
      g_snprintf (keys[n_keys], sizeof keys[n_keys], "POSTERN_%s", key);   /* our keys are short */
      fields[n++] = (GLogField) { keys[n_keys], value, -1 };
      n_keys++;
    }
  va_end (args);
  g_log_structured_array (level, fields, n);
}
