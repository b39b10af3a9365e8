/* pst-cmd-cert-doctor.c: "postern cert doctor", the trust report as a table (✓/✗ and fixes) or JSON
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"
#include "pst-trust-doctor.h"

#define SUBJECT_WIDTH_MAX 52
#define CHECK_WIDTH_MAX   34

typedef struct {
  gboolean    done;
  GListModel *rows;
  GError     *error;
} Waiter;

static void
doctor_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Waiter *waiter = user_data;

  waiter->rows = pst_trust_doctor_run_finish (result, &waiter->error);
  waiter->done = TRUE;
}

/* Text from certificates and paths, made safe for a terminal */
static char *
printable (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);

  for (char *p = valid; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      *p = '?';
  return g_steal_pointer (&valid);
}

static void
print_padded (const char *text,
              guint       width)
{
  glong len = g_utf8_strlen (text, -1);

  fputs (text, stdout);
  for (glong i = len; i < (glong) width; i++)
    fputc (' ', stdout);
}

static const char * const section_titles[] = {
  N_("Programs on this machine that should trust the gateway’s certificate"),
  N_("The keystore against the accept hosts"),
  N_("Back-ends (ssl://, wss://) against the truststore"),
};

static void
print_table (GListModel *rows,
             const char *config)
{
  const char *charset = NULL;
  gboolean utf8 = g_get_charset (&charset);
  const char *marks[] = { utf8 ? "✓" : "ok", utf8 ? "✗" : "XX", utf8 ? "·" : "--" };
  guint n = g_list_model_get_n_items (rows);
  guint subject_width = 0, check_width = 0, needed_failed = 0, optional_failed = 0;
  int section = -1;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);
      g_autofree char *subject = printable (pst_trust_row_get_subject (row));

      subject_width = MAX (subject_width, (guint) g_utf8_strlen (subject, -1));
      check_width = MAX (check_width, (guint) g_utf8_strlen (pst_trust_row_get_check (row), -1));
    }
  subject_width = MIN (subject_width, SUBJECT_WIDTH_MAX);
  check_width = MIN (check_width, CHECK_WIDTH_MAX);

  {
    g_autofree char *title = g_strdup_printf (_("Who trusts what for %s"), config);
    puts (title);
  }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);
      g_autofree char *subject = printable (pst_trust_row_get_subject (row));
      g_autofree char *check = printable (pst_trust_row_get_check (row));
      g_autofree char *detail = printable (pst_trust_row_get_detail (row));
      PstTrustStatus status = pst_trust_row_get_status (row);

      if ((int) pst_trust_row_get_section (row) != section)
        {
          section = pst_trust_row_get_section (row);
          printf ("\n%s\n", _(section_titles[section]));
        }
      printf ("  %s  ", marks[status]);
      print_padded (subject, subject_width);
      fputs ("  ", stdout);
      print_padded (check, check_width);
      printf ("  %s%s\n", detail, status == PST_TRUST_STATUS_FAIL && !pst_trust_row_get_needed (row)
                                  ? _(" (optional)") : "");
      if (pst_trust_row_get_fix (row) != NULL)
        {
          g_autofree char *fix = printable (pst_trust_row_get_fix (row));
          printf ("      %s %s\n", _("fix:"), fix);
        }
      if (pst_trust_row_is_blocking (row))
        needed_failed++;
      else if (status == PST_TRUST_STATUS_FAIL)
        optional_failed++;
    }

  fputc ('\n', stdout);
  if (needed_failed == 0)
    printf (g_dngettext (GETTEXT_PACKAGE,
                         "Everything the configuration needs is trusted (%u optional check fails).\n",
                         "Everything the configuration needs is trusted (%u optional checks fail).\n",
                         optional_failed), optional_failed);
  else
    printf (g_dngettext (GETTEXT_PACKAGE,
                         "%u check the configuration needs fails; run the fix shown under it.\n",
                         "%u checks the configuration needs fail; run the fixes shown under them.\n",
                         needed_failed), needed_failed);
}

static void
json_string (GString    *out,
             const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text != NULL ? text : "", -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p++)
    {
      guchar c = *p;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

static void
print_json (GListModel *rows,
            const char *config)
{
  g_autoptr(GString) out = g_string_new ("{\"config\": ");
  guint n = g_list_model_get_n_items (rows);

  json_string (out, config);
  g_string_append_printf (out, ", \"trusted\": %s, \"rows\": [",
                          pst_trust_report_is_trusted (rows) ? "true" : "false");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);

      g_string_append (out, i > 0 ? ",\n  {" : "\n  {");
      g_string_append (out, "\"section\": ");
      json_string (out, pst_trust_section_to_string (pst_trust_row_get_section (row)));
      g_string_append (out, ", \"key\": ");
      json_string (out, pst_trust_row_get_key (row));
      g_string_append (out, ", \"subject\": ");
      json_string (out, pst_trust_row_get_subject (row));
      g_string_append (out, ", \"check\": ");
      json_string (out, pst_trust_row_get_check (row));
      g_string_append (out, ", \"status\": ");
      json_string (out, pst_trust_status_to_string (pst_trust_row_get_status (row)));
      g_string_append_printf (out, ", \"needed\": %s, \"detail\": ",
                              pst_trust_row_get_needed (row) ? "true" : "false");
      json_string (out, pst_trust_row_get_detail (row));
      g_string_append (out, ", \"fix\": ");
      if (pst_trust_row_get_fix (row) != NULL)
        json_string (out, pst_trust_row_get_fix (row));
      else
        g_string_append (out, "null");
      g_string_append_c (out, '}');
    }
  g_string_append (out, "\n]}\n");
  fputs (out->str, stdout);
}

int
pst_cmd_cert_doctor (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *format = NULL;
  int timeout = 0;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, N_("The configuration (default: the gateway’s)"), N_("FILE") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("text (default) or json"), N_("FORMAT") },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout, N_("Seconds each back-end probe may take (default 5)"), N_("SECONDS") },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  Waiter waiter = { 0 };
  gboolean json;
  int status;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Shows who trusts what for a configuration, changing nothing: the programs on this machine "
      "(NSS databases of Chromium and Firefox, the system store, each JDK’s cacerts, Node, Python, "
      "curl) against the certificate the gateway’s chain ends in (its CA, or itself when "
      "self-signed); each keystore entry against the secure accept hosts (names, expiry, chain, key); "
      "each ssl:// and wss:// back-end with a TLS probe against the truststore (reachable, trusted, "
      "host name). Each ✗ comes with the command that fixes it."));
  g_option_context_set_description (context,
    _("Exit status 0 when everything the configuration needs is trusted: every secure accept host "
      "has a keystore entry, the entries they use are unexpired with complete chains, every "
      "back-end is reachable, trusted and has the right name, and — when there are wss:// or "
      "https:// accepts — at least one store browsers read (an NSS database for Chromium and Firefox, or the "
      "system store for GNOME Web) trusts the gateway’s certificate. Java, Node, Python, curl and the single NSS databases "
      "are shown but optional. Exit status 1 otherwise."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pst_cert_parse_options (context, &argc, &argv))
    return 1;
  if (argc != 1)
    {
      pst_cli_error (_("usage: %s [--config FILE] [--format text|json]; run “%s --help”"), argv[0], argv[0]);
      return 1;
    }
  if (format != NULL && !g_str_equal (format, "text") && !g_str_equal (format, "json"))
    {
      pst_cli_error (_("unknown format “%s”; use --format text or --format json"), format);
      return 1;
    }
  if (timeout < 0 || timeout > 600)
    {
      pst_cli_error (_("--timeout takes 1 to 600 seconds (default 5)"));
      return 1;
    }
  json = format != NULL && g_str_equal (format, "json");
  if (config_path == NULL)
    config_path = pst_cli_default_config_path ();

  config = pst_config_new_from_file (config_path, &error);
  if (config == NULL)
    {
      pst_cli_error (_("%s; fix it, then run “postern check --config %s”"), error->message, config_path);
      return 1;
    }

  pst_trust_doctor_run_async (config, (guint) timeout, NULL, doctor_cb, &waiter);
  while (!waiter.done)
    g_main_context_iteration (NULL, TRUE);
  if (waiter.rows == NULL)
    {
      pst_cert_print_error (waiter.error);
      g_clear_error (&waiter.error);
      return 1;
    }

  {
    g_autofree char *here = g_get_current_dir ();
    g_autoptr(GFile) cwd = g_file_new_for_path (here);
    g_autoptr(GFile) file = g_file_new_for_path (pst_config_get_path (config));
    g_autofree char *relative = g_file_get_relative_path (cwd, file);
    const char *shown = relative != NULL ? relative : pst_config_get_path (config);

    if (json)
      print_json (waiter.rows, shown);
    else
      print_table (waiter.rows, shown);
  }
  status = pst_trust_report_is_trusted (waiter.rows) ? 0 : 1;
  g_object_unref (waiter.rows);
  return status;
}
