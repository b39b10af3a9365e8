/* pst-cmd-cert.c: "postern cert", its sub-command table and shared helpers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"
#include "pst-password.h"

static const struct {
  const char *name;
  int (*func) (int argc, char **argv);
  const char *summary;
} subcommands[] = {
  { "generate",     pst_cmd_cert_generate,     N_("Make a key pair and certificate (self-signed or from a local CA)") },
  { "list",         pst_cmd_cert_list,         N_("List the entries of a store") },
  { "export",       pst_cmd_cert_export,       N_("Write an entry’s certificate as PEM, DER or a PKCS#12 truststore") },
  { "import",       pst_cmd_cert_import,       N_("Trust a certificate file (PEM or DER)") },
  { "fetch",        pst_cmd_cert_fetch,        N_("Show a TLS server’s certificates and trust them") },
  { "remove",       pst_cmd_cert_remove,       N_("Remove an entry") },
  { "convert",      pst_cmd_cert_convert,      N_("Convert any store (JKS, JCEKS, PEM, PKCS#12) to PKCS#12") },
  { "install-ca",   pst_cmd_cert_install_ca,   N_("Make browsers, the system or Java trust a local CA") },
  { "uninstall-ca", pst_cmd_cert_uninstall_ca, N_("Undo install-ca") },
  { "doctor",       pst_cmd_cert_doctor,       N_("Show who trusts what for a configuration, with the fixes") },
};

static void
usage (FILE *out)
{
  fprintf (out, "%s\n\n%s\n", _("Usage: postern cert COMMAND [OPTION…]"), _("Commands:"));
  for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
    fprintf (out, "  %-13s %s\n", subcommands[i].name, _(subcommands[i].summary));
  fprintf (out, "\n%s\n", _("Run “postern cert COMMAND --help” for a command’s options."));
  fprintf (out, "%s\n", _("A store’s password is read from the file beside it with the extension .pw "
                          "(keystore.db → keystore.pw), or --password-file; without one, keytool’s "
                          "default password is used. With --password-keyring the password is in the desktop "
                          "keyring instead (Secret Service), and a new store gets no .pw file."));
}

int
pst_cmd_cert (int argc, char **argv)
{
  if (argc < 2)
    {
      usage (stderr);
      return 1;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (subcommands); i++)
    if (strcmp (argv[1], subcommands[i].name) == 0)
      {
        g_autofree char *name = g_strdup_printf ("postern cert %s", subcommands[i].name);
        char *saved = argv[1];
        int status;

        argv[1] = name;
        status = subcommands[i].func (argc - 1, argv + 1);
        argv[1] = saved;
        return status;
      }

  pst_cli_error (_("unknown command “cert %s”; run “postern cert --help” for the list"), argv[1]);
  return 1;
}

gboolean
pst_cert_parse_options (GOptionContext *context,
                        int            *argc,
                        char         ***argv)
{
  g_autoptr(GError) error = NULL;

  /* so that --help shows "Usage: postern cert generate …" */
  g_set_prgname ((*argv)[0]);
  if (!g_option_context_parse (context, argc, argv, &error))
    {
      pst_cli_error (_("%s; run “%s --help”"), error->message, (*argv)[0]);
      return FALSE;
    }
  return TRUE;
}

void
pst_cert_print_error (GError *error)
{
  pst_cli_error ("%s", error->message);
}

gboolean
pst_cert_open_store (PstStoreFile       *sf,
                     const char         *path,
                     const char         *password_file,
                     PstStoreOpenFlags   flags,
                     GError            **error)
{
  gboolean ok;

  if ((flags & PST_STORE_OPEN_KEYRING) && password_file != NULL)
    {
      memset (sf, 0, sizeof *sf);
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("--password-file and --password-keyring both say where the password of %s is; give one"),
                   path);
      return FALSE;
    }
  ok = pst_store_file_open (sf, path, password_file, flags, error);
  /* no password file: the password may be in the keyring */
  if (!ok && !(flags & PST_STORE_OPEN_KEYRING) && sf->password_file == NULL && error != NULL &&
      g_error_matches (*error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD))
    {
      GError *hinted = g_error_new (PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                                    _("%s; if its password is in the desktop keyring, add --password-keyring"),
                                    (*error)->message);

      g_clear_error (error);
      g_propagate_error (error, hinted);
    }
  if (ok && sf->password_keyring && sf->password_created)
    printf (_("Stored a new random password for %s in the keyring (no password file)\n"), path);
  if (sf->password_file != NULL && !sf->password_created && pst_password_file_is_exposed (sf->password_file))
    pst_cli_error (_("warning: %s can be read by other users; protect it with “chmod 600 %s”"),
                   sf->password_file, sf->password_file);
  else if (ok && sf->password_created)
    printf (_("Created the password file %s (mode 0600) for %s\n"), sf->password_file, path);
  return ok;
}

gboolean
pst_cert_save_store (PstStoreFile *sf,
                     GError      **error)
{
  gboolean first = sf->created && !sf->saved;

  if (!pst_store_file_save (sf, error))
    return FALSE;
  if (first)
    printf (_("Created %s (%s)\n"), sf->path, pst_store_format_to_string (pst_keystore_get_format (sf->store)));
  return TRUE;
}

void
pst_cert_abandon_store (PstStoreFile *sf)
{
  gboolean had_password_file = sf->password_created;

  pst_store_file_abandon (sf);
  if (had_password_file && !sf->password_created)
    {
      if (sf->password_keyring)
        printf (_("Removed its password from the keyring again\n"));
      else
        printf (_("Removed the password file %s again\n"), sf->password_file);
    }
}

gboolean
pst_cert_trust (PstStoreFile *sf,
                GBytes       *der,
                const char   *alias,
                GError      **error)
{
  PstStoreEntry *existing = pst_keystore_lookup_certificate (sf->store, der);
  gboolean first = sf->created && !sf->saved;
  PstStoreEntry *entry;

  if (existing != NULL)
    {
      g_autofree char *shown = pst_cert_escape (pst_store_entry_get_alias (existing));

      printf (_("%s already trusts this certificate as “%s”\n"), sf->path, shown);
      return TRUE;
    }
  if (!pst_store_file_add_trusted (sf, der, alias, error))
    return FALSE;
  if (first)
    printf (_("Created %s (%s)\n"), sf->path, pst_store_format_to_string (pst_keystore_get_format (sf->store)));
  entry = pst_keystore_lookup_certificate (sf->store, der);
  {
    g_autofree char *shown = pst_cert_escape (pst_store_entry_get_alias (entry));
    printf (_("%s now trusts “%s”:\n"), sf->path, shown);
  }
  pst_cert_print_details (entry, "  ");
  return TRUE;
}

/* TSV and text: control characters and bytes that are not UTF-8 as
 * C-like escapes, so that no value can end a cell or a row (flags: see
 * pst-cmd-cert-private.h). */
void
pst_cert_append_escaped (GString        *out,
                         const char     *text,
                         PstEscapeFlags  flags)
{
  const char *end = text + strlen (text);

  for (const char *p = text; p < end;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);

      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", (guchar) *p);
          p++;
          continue;
        }
      switch (c)
        {
        case '\\':
          g_string_append (out, (flags & PST_ESCAPE_BACKSLASH) ? "\\\\" : "\\");
          break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        default:
          if (c < 0x20 || c == 0x7f || ((flags & PST_ESCAPE_COMMA) && c == ',') ||
              (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029)
            g_string_append_printf (out, c < 0x100 ? "\\x%02x" : "\\u%04x", c);
          else
            g_string_append_len (out, p, g_utf8_next_char (p) - p);
        }
      p = g_utf8_next_char (p);
    }
}

char *
pst_cert_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  pst_cert_append_escaped (out, text, PST_ESCAPE_CONTROL);
  return g_string_free (out, FALSE);
}

void
pst_cert_print_details (PstStoreEntry *entry,
                        const char    *indent)
{
  g_autofree char *raw_subject = pst_store_entry_dup_subject (entry);
  g_autofree char *raw_issuer = pst_store_entry_dup_issuer (entry);
  g_autofree char *subject = pst_cert_escape (raw_subject);
  g_autofree char *issuer = pst_cert_escape (raw_issuer);
  g_auto(GStrv) sans = pst_store_entry_dup_sans (entry);
  g_autoptr(GString) sans_text = g_string_new (NULL);
  g_autofree char *from = g_date_time_format (pst_store_entry_get_not_before (entry), "%Y-%m-%d %H:%M UTC");
  g_autofree char *until = pst_cert_format_validity (pst_store_entry_get_not_after (entry));
  g_autofree char *fingerprint = pst_store_entry_dup_fingerprint (entry);
  g_autofree char *key_type = pst_store_entry_dup_key_type (entry);

  printf ("%s%-12s %s\n", indent, _("Subject:"), subject);
  printf ("%s%-12s %s\n", indent, _("Issuer:"), issuer);
  for (guint i = 0; sans != NULL && sans[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (sans_text, ", ");
      pst_cert_append_escaped (sans_text, sans[i], PST_ESCAPE_CONTROL);
    }
  printf ("%s%-12s %s\n", indent, _("Names:"), sans_text->len > 0 ? sans_text->str : "-");
  printf ("%s%-12s %s%s\n", indent, _("Key:"), key_type,
          pst_store_entry_is_ca (entry) ? _(", certificate authority") : "");
  printf ("%s%-12s %s\n", indent, _("Valid from:"), from);
  printf ("%s%-12s %s\n", indent, _("Valid until:"), until);
  printf ("%s%-12s %s\n", indent, _("SHA-256:"), fingerprint);
}
