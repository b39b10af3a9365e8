/* pst-cmd-cert-list.c: "postern cert list", as a table for people or TSV/JSON for scripts
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"

typedef enum {
  FORMAT_TEXT,
  FORMAT_TSV,
  FORMAT_JSON,
} ListFormat;

/* The machine-readable columns, in order: a contract (README.md, DESIGN.md) */
static const char * const tsv_columns[] = {
  "alias", "kind", "subject", "sans", "not_after", "days_left", "status", "sha256", NULL
};

/* One entry, with what every format needs */
typedef struct {
  const char *alias;
  const char *kind;        /* "key" / "trusted" */
  char       *subject;
  GStrv       sans;
  char       *not_after;   /* ISO 8601 UTC, "2026-03-01T12:00:00Z" */
  gint64      days_left;   /* whole days to not_after, negative once expired */
  const char *status;      /* "valid", "expired", "not-yet-valid" */
  char       *sha256;
  GDateTime  *not_after_time;
} Row;

static void
row_clear (Row *row)
{
  g_free (row->subject);
  g_strfreev (row->sans);
  g_free (row->not_after);
  g_free (row->sha256);
}

static void
row_init (Row *row, PstStoreEntry *e, GDateTime *now)
{
  GDateTime *not_before = pst_store_entry_get_not_before (e);
  GTimeSpan left;

  row->alias = pst_store_entry_get_alias (e);
  row->kind = pst_store_entry_get_kind (e) == PST_ENTRY_KEY ? "key" : "trusted";
  row->subject = pst_store_entry_dup_subject (e);
  row->sans = pst_store_entry_dup_sans (e);
  row->not_after_time = pst_store_entry_get_not_after (e);
  row->not_after = g_date_time_format (row->not_after_time, "%Y-%m-%dT%H:%M:%SZ");
  left = g_date_time_difference (row->not_after_time, now);
  /* floor: an hour past the end is day -1, an hour before it day 0 */
  row->days_left = left >= 0 ? left / G_TIME_SPAN_DAY : -((-left + G_TIME_SPAN_DAY - 1) / G_TIME_SPAN_DAY);
  if (left <= 0)
    row->status = "expired";
  else if (g_date_time_compare (not_before, now) > 0)
    row->status = "not-yet-valid";
  else
    row->status = "valid";
  row->sha256 = pst_store_entry_dup_fingerprint (e);
}

/* JSON string: valid UTF-8 is required, so bytes that are not UTF-8
 * become U+FFFD (the TSV keeps them as \xNN) */
static void
append_json_string (GString *out, const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
        }
    }
  g_string_append_c (out, '"');
}

static void
print_tsv (Row *rows, guint n)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint c = 0; tsv_columns[c] != NULL; c++)
    g_string_append_printf (out, "%s%s", c > 0 ? "\t" : "", tsv_columns[c]);
  g_string_append_c (out, '\n');
  for (guint i = 0; i < n; i++)
    {
      Row *r = &rows[i];

      pst_cert_append_escaped (out, r->alias, PST_ESCAPE_BACKSLASH);
      g_string_append_c (out, '\t');
      g_string_append (out, r->kind);
      g_string_append_c (out, '\t');
      pst_cert_append_escaped (out, r->subject, PST_ESCAPE_BACKSLASH);
      g_string_append_c (out, '\t');
      for (guint s = 0; r->sans != NULL && r->sans[s] != NULL; s++)
        {
          if (s > 0)
            g_string_append_c (out, ',');
          pst_cert_append_escaped (out, r->sans[s], PST_ESCAPE_BACKSLASH | PST_ESCAPE_COMMA);
        }
      g_string_append_printf (out, "\t%s\t%" G_GINT64_FORMAT "\t%s\t%s\n",
                              r->not_after, r->days_left, r->status, r->sha256);
    }
  fwrite (out->str, 1, out->len, stdout);
}

static void
print_json (Row *rows, guint n)
{
  g_autoptr(GString) out = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    {
      Row *r = &rows[i];

      g_string_append (out, i > 0 ? ",\n  {" : "\n  {");
      g_string_append (out, "\"alias\": ");
      append_json_string (out, r->alias);
      g_string_append_printf (out, ", \"kind\": \"%s\", \"subject\": ", r->kind);
      append_json_string (out, r->subject);
      g_string_append (out, ", \"sans\": [");
      for (guint s = 0; r->sans != NULL && r->sans[s] != NULL; s++)
        {
          if (s > 0)
            g_string_append (out, ", ");
          append_json_string (out, r->sans[s]);
        }
      g_string_append_printf (out, "], \"not_after\": \"%s\", \"days_left\": %" G_GINT64_FORMAT
                              ", \"status\": \"%s\", \"sha256\": \"%s\"}",
                              r->not_after, r->days_left, r->status, r->sha256);
    }
  g_string_append (out, n > 0 ? "\n]\n" : "]\n");
  fwrite (out->str, 1, out->len, stdout);
}

/* The table for people, as before; control characters are escaped as in
 * the TSV so that a hostile subject cannot fake a row (a backslash, as in
 * RFC 4514's "O=Example\\, Inc.", stays as it is) */
static void
print_text (const char *store_path, PstKeystore *store, Row *rows, guint n)
{
  const char *headers[] = { N_("ALIAS"), N_("KIND"), N_("SUBJECT"), N_("NAMES"), N_("VALID UNTIL"), N_("SHA-256") };
  g_autoptr(GPtrArray) table = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  glong widths[6] = { 0 };

  printf (g_dngettext (GETTEXT_PACKAGE, "%s: %s store, %u entry\n", "%s: %s store, %u entries\n", n),
          store_path, pst_store_format_to_string (pst_keystore_get_format (store)), n);
  if (n == 0)
    return;

  {
    char **header = g_new0 (char *, 7);
    for (guint c = 0; c < 6; c++)
      header[c] = g_strdup (_(headers[c]));
    g_ptr_array_add (table, header);
  }
  for (guint i = 0; i < n; i++)
    {
      Row *r = &rows[i];
      char **cells = g_new0 (char *, 7);
      GString *s;

      s = g_string_new (NULL);
      pst_cert_append_escaped (s, r->alias, PST_ESCAPE_CONTROL);
      cells[0] = g_string_free (s, FALSE);
      cells[1] = g_strdup (g_str_equal (r->kind, "key") ? _("key") : _("trusted"));
      s = g_string_new (NULL);
      pst_cert_append_escaped (s, r->subject, PST_ESCAPE_CONTROL);
      cells[2] = g_string_free (s, FALSE);
      s = g_string_new (NULL);
      for (guint k = 0; r->sans != NULL && r->sans[k] != NULL; k++)
        {
          if (k > 0)
            g_string_append_c (s, ',');
          pst_cert_append_escaped (s, r->sans[k], PST_ESCAPE_COMMA);
        }
      if (s->len == 0)
        g_string_append_c (s, '-');
      cells[3] = g_string_free (s, FALSE);
      cells[4] = pst_cert_format_validity (r->not_after_time);
      cells[5] = g_strdup (r->sha256);
      g_ptr_array_add (table, cells);
    }
  for (guint r = 0; r < table->len; r++)
    for (guint c = 0; c < 6; c++)
      widths[c] = MAX (widths[c], g_utf8_strlen (((char **) table->pdata[r])[c], -1));
  for (guint r = 0; r < table->len; r++)
    {
      char **cells = table->pdata[r];

      for (guint c = 0; c < 6; c++)
        {
          if (c == 5)
            printf ("%s\n", cells[c]);
          else
            printf ("%s%*s  ", cells[c], (int) (widths[c] - g_utf8_strlen (cells[c], -1)), "");
        }
    }
}

int
pst_cmd_cert_list (int argc, char **argv)
{
  g_autofree char *password_file = NULL, *format = NULL;
  gboolean password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("The store’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("The store’s password is in the desktop keyring (a new store gets a random one there, and no .pw file)"), NULL },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("text (a table, the default), tsv or json: for scripts, columns alias, kind, subject, sans, not_after, days_left, status, sha256"), N_("FORMAT") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (N_("STORE"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_auto(PstStoreFile) cs = { 0 };
  ListFormat list_format = FORMAT_TEXT;
  Row *rows;
  guint n;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Lists a store’s entries: alias, kind (key or trusted), subject, "
                                           "names, end of validity and SHA-256 fingerprint."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pst_cert_parse_options (context, &argc, &argv))
    return 1;
  if (argc != 2)
    {
      if (argc < 2)
        pst_cli_error (_("missing %s; run “%s --help”"), _("the store"), argv[0]);
      else
        pst_cli_error (_("unexpected argument “%s”; run “%s --help”"), argv[2], argv[0]);
      return 1;
    }
  if (format == NULL || g_str_equal (format, "text"))
    list_format = FORMAT_TEXT;
  else if (g_str_equal (format, "tsv"))
    list_format = FORMAT_TSV;
  else if (g_str_equal (format, "json"))
    list_format = FORMAT_JSON;
  else
    {
      pst_cli_error (_("unknown format “%s”; use --format=text, --format=tsv or --format=json"), format);
      return 1;
    }
  if (!pst_cert_open_store (&cs, argv[1], password_file, PST_STORE_OPEN_READ | PST_CERT_KEYRING (password_keyring), &error))
    {
      pst_cert_print_error (error);
      return 1;
    }

  n = pst_keystore_get_n_entries (cs.store);
  rows = g_new0 (Row, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    row_init (&rows[i], pst_keystore_get_entry (cs.store, i), now);

  switch (list_format)
    {
    case FORMAT_TSV:
      print_tsv (rows, n);
      break;
    case FORMAT_JSON:
      print_json (rows, n);
      break;
    case FORMAT_TEXT:
    default:
      print_text (argv[1], cs.store, rows, n);
      break;
    }

  for (guint i = 0; i < n; i++)
    row_clear (&rows[i]);
  g_free (rows);
  return fflush (stdout) == 0 ? 0 : 1;
}
