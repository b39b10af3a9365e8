/* pst-cmd-check.c: "postern check", validation without binding anything
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-config.h"

int
pst_cmd_check (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("Configuration to check (default: the gateway’s gateway-config.xml)"), N_("FILE") },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet,
      N_("Print only errors and warnings, not the summary line"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  guint errors = 0, warnings = 0;

  /* --help shows "postern check", not "postern" */
  g_set_prgname (argv[0]);
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                _("Validate a gateway configuration without binding anything: the XML, "
                                  "services, URLs, options, which accepts share a listener (host names "
                                  "are looked up as “postern run” would), and the key and trust stores.\n"
                                  "Exits with 0 when there are no errors, 1 otherwise."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      pst_cli_error ("%s; run “%s --help”", error->message, argv[0]);
      return 1;
    }
  if (argc > 1)
    {
      pst_cli_error (_("unexpected argument “%s”; pass the file with --config"), argv[1]);
      return 1;
    }

  if (config_path == NULL)
    config_path = pst_cli_default_config_path ();

  config = pst_config_new_from_file (config_path, &error);
  if (config == NULL)
    {
      /* The message already has the FILE:LINE:COL: error: form. */
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }

  /* Host names are looked up as `postern run` would bind them, so that
   * check groups accepts into listeners exactly as run does. */
  diagnostics = pst_config_validate_full (config, PST_VALIDATE_RESOLVE);
  for (guint i = 0; i < diagnostics->len; i++)
    {
      PstDiagnostic *diagnostic = g_ptr_array_index (diagnostics, i);
      g_autofree char *text = pst_diagnostic_to_string (diagnostic);

      fprintf (stderr, "%s\n", text);
      if (pst_diagnostic_get_severity (diagnostic) == PST_SEVERITY_ERROR)
        errors++;
      else
        warnings++;
    }

  if (!quiet)
    {
      g_autofree char *errors_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u error", "%u errors", errors), errors);
      g_autofree char *warnings_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u warning", "%u warnings", warnings), warnings);

      if (errors == 0 && warnings == 0)
        fprintf (stderr, _("%s: OK, no errors or warnings\n"), pst_config_get_display_path (config));
      else
        /* TRANSLATORS: "FILE: 2 errors, 1 warning" */
        fprintf (stderr, _("%s: %s, %s\n"), pst_config_get_display_path (config), errors_text, warnings_text);
    }
  return errors > 0 ? 1 : 0;
}
