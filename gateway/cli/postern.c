/* postern.c: entry point of the postern command, dispatching to sub-commands
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pst-cli.h"

static const struct {
  const char *name;
  int (*func) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "run",   pst_cmd_run,   N_("Run the gateway in the foreground") },
  { "check", pst_cmd_check, N_("Validate a configuration without binding anything") },
  { "cert",  pst_cmd_cert,  N_("Make, list, export, import and trust certificates") },
};

static void
usage (FILE *out)
{
  fprintf (out, "%s\n", _("Usage: postern COMMAND [OPTION…]"));
  fprintf (out, "\n%s\n", _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-8s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run “postern COMMAND --help” for a command’s options."));
}

void
pst_cli_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  fprintf (stderr, "postern: %s\n", message);
}

char *
pst_cli_default_config_path (void)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *source_conf = g_build_filename (PST_SOURCE_DIR, "conf", "gateway-config.xml", NULL);

  /* Running from the build tree: use the source tree's conf/. */
  if (exe != NULL && g_str_has_prefix (exe, PST_SOURCE_DIR "/") &&
      g_file_test (source_conf, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&source_conf);
  return g_build_filename (PST_SYSCONFDIR, "gateway-config.xml", NULL);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("postern");

  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("postern %s\n", PACKAGE_VERSION);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        g_autofree char *name = g_strdup_printf ("postern %s", commands[i].name);
        argv[1] = name;
        return commands[i].func (argc - 1, argv + 1);
      }

  pst_cli_error (_("unknown command “%s”; run “postern --help” for the list"), argv[1]);
  return 2;
}
