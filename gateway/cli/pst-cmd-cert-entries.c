/* pst-cmd-cert-entries.c: "postern cert export/import/remove/convert"
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"
#include "pst-local-ca.h"
#include "pst-password.h"

static GOptionContext *
new_context (const char *parameters, const char *summary, const GOptionEntry *entries)
{
  GOptionContext *context = g_option_context_new (parameters);

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, summary);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  return context;
}

static gboolean
want_args (int argc, char **argv, int n, const char *what)
{
  if (argc == n + 1)
    return TRUE;
  if (argc <= n)
    pst_cli_error (_("missing %s; run “%s --help”"), what, argv[0]);
  else
    pst_cli_error (_("unexpected argument “%s”; run “%s --help”"), argv[n + 1], argv[0]);
  return FALSE;
}

static char *
aliases_of (PstKeystore *store)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < pst_keystore_get_n_entries (store); i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      g_string_append (out, "“");
      pst_cert_append_escaped (out, pst_store_entry_get_alias (pst_keystore_get_entry (store, i)), PST_ESCAPE_CONTROL);
      g_string_append (out, "”");
    }
  if (out->len == 0)
    g_string_append (out, _("none"));
  return g_string_free (out, FALSE);
}

static PstStoreEntry *
lookup_or_error (PstStoreFile *cs, const char *alias, GError **error)
{
  /* postern-dev-ca finds the CA of a store made before it had that alias */
  PstStoreEntry *entry = pst_local_ca_lookup (cs->store, alias);

  if (entry == NULL)
    {
      g_autofree char *aliases = aliases_of (cs->store);
      g_autofree char *shown = pst_cert_escape (alias);

      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NO_ENTRY,
                   _("%s has no entry “%s”; its entries are: %s"), cs->path, shown, aliases);
    }
  return entry;
}

/* export */

int
pst_cmd_cert_export (int argc, char **argv)
{
  g_autofree char *out = NULL, *format = NULL, *password_file = NULL, *store_password_file = NULL;
  gboolean password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("The file to write"), N_("FILE") },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, N_("pem, der or pkcs12 (a truststore for Java clients); default from FILE’s extension, else pem"), N_("FORMAT") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("pkcs12: the truststore’s password file (made when missing); default: keytool’s default password"), N_("FILE") },
    { "store-password-file", 0, 0, G_OPTION_ARG_FILENAME, &store_password_file, N_("STORE’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("STORE’s password is in the desktop keyring"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    new_context (N_("STORE ALIAS"), _("Writes the certificate of an entry, for browsers and client "
                                      "applications to trust."), entries);
  g_autoptr(GError) error = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  PstStoreEntry *entry;
  PstExportFormat export_format;

  if (!pst_cert_parse_options (context, &argc, &argv) || !want_args (argc, argv, 2, _("the store and the alias")))
    return 1;
  if (out == NULL)
    {
      pst_cli_error (_("no output file; add --out FILE"));
      return 1;
    }
  if (format == NULL)
    {
      if (g_str_has_suffix (out, ".der") || g_str_has_suffix (out, ".cer"))
        format = g_strdup ("der");
      else if (g_str_has_suffix (out, ".p12") || g_str_has_suffix (out, ".pfx"))
        format = g_strdup ("pkcs12");
      else
        format = g_strdup ("pem");
    }
  if (!pst_export_format_from_string (format, &export_format))
    {
      pst_cli_error (_("unknown format “%s”; use pem, der or pkcs12"), format);
      return 1;
    }
  if (!pst_cert_open_store (&cs, argv[1], store_password_file, PST_STORE_OPEN_READ | PST_CERT_KEYRING (password_keyring), &error) ||
      (entry = lookup_or_error (&cs, argv[2], &error)) == NULL)
    goto fail;

  if (export_format == PST_EXPORT_PKCS12)
    {
      char *password = NULL;
      gboolean created = FALSE, ok;

      if (password_file != NULL &&
          (password = pst_password_file_read_or_create (password_file, &created, &error)) == NULL)
        goto fail;
      ok = pst_cert_export (entry, out, export_format, password, &error);
      pst_password_free (password);
      if (created)
        printf (_("Created the password file %s (mode 0600)\n"), password_file);
      if (!ok)
        goto fail;
      printf (_("Wrote a PKCS#12 truststore with “%s” to %s (password %s); Java clients use it with "
                "-Djavax.net.ssl.trustStore=%s -Djavax.net.ssl.trustStoreType=PKCS12\n"),
              argv[2], out,
              password_file != NULL ? password_file : _("keytool’s default, “changeit”"), out);
      return 0;
    }
  if (!pst_cert_export (entry, out, export_format, NULL, &error))
    goto fail;
  printf (_("Wrote the certificate of “%s” to %s (%s)\n"), argv[2], out, format);
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}

/* import */

int
pst_cmd_cert_import (int argc, char **argv)
{
  g_autofree char *alias = NULL, *password_file = NULL;
  gboolean password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "alias", 0, 0, G_OPTION_ARG_STRING, &alias, N_("The entry’s name (default: the certificate’s common name)"), N_("ALIAS") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("The store’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("The store’s password is in the desktop keyring (a new store gets a random one there, and no .pw file)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    new_context (N_("STORE FILE"), _("Adds the certificates of a PEM or DER file to a trust store "
                                     "(made when missing) as trusted entries."), entries);
  g_autoptr(GError) error = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  g_autoptr(GPtrArray) certs = NULL;

  if (!pst_cert_parse_options (context, &argc, &argv) || !want_args (argc, argv, 2, _("the store and the certificate file")))
    return 1;
  if ((certs = pst_cert_read_file (argv[2], &error)) == NULL)
    goto fail;
  if (alias != NULL && certs->len > 1)
    {
      pst_cli_error (_("%s holds %u certificates but --alias names one; split the file, or leave out --alias"),
                     argv[2], certs->len);
      return 1;
    }
  if (!pst_cert_open_store (&cs, argv[1], password_file,
                            PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | PST_CERT_KEYRING (password_keyring), &error))
    goto fail;
  for (guint i = 0; i < certs->len; i++)
    {
      GBytes *der = g_ptr_array_index (certs, i);
      g_autofree char *name = alias != NULL ? g_strdup (alias)
                              : pst_cert_is_local_ca (der) ? g_strdup (PST_LOCAL_CA_ALIAS)
                              : pst_cert_dup_common_name (der);

      if (name == NULL)
        {
          g_autofree char *base = g_path_get_basename (argv[2]);
          name = g_strdup (base);
        }
      {
        g_autofree char *lower = g_utf8_strdown (name, -1);
        if (!pst_cert_trust (&cs, der, lower, &error))
          goto fail;
      }
    }
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}

/* remove */

int
pst_cmd_cert_remove (int argc, char **argv)
{
  g_autofree char *password_file = NULL;
  gboolean password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("The store’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("The store’s password is in the desktop keyring (a new store gets a random one there, and no .pw file)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = new_context (N_("STORE ALIAS"), _("Removes an entry from a store."), entries);
  g_autoptr(GError) error = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  g_autofree char *found = NULL;
  PstStoreEntry *entry;

  if (!pst_cert_parse_options (context, &argc, &argv) || !want_args (argc, argv, 2, _("the store and the alias")))
    return 1;
  if (!pst_cert_open_store (&cs, argv[1], password_file, PST_STORE_OPEN_WRITE | PST_CERT_KEYRING (password_keyring), &error) ||
      (entry = lookup_or_error (&cs, argv[2], &error)) == NULL)
    goto fail;
  found = g_strdup (pst_store_entry_get_alias (entry));
  pst_keystore_remove (cs.store, found);
  if (!pst_cert_save_store (&cs, &error))
    goto fail;
  {
    g_autofree char *shown = pst_cert_escape (found);
    printf (_("Removed “%s” from %s\n"), shown, argv[1]);
  }
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}

/* convert */

int
pst_cmd_cert_convert (int argc, char **argv)
{
  g_autofree char *out = NULL, *password_file = NULL, *out_password_file = NULL;
  gboolean password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("The PKCS#12 store to write (must not exist)"), N_("FILE") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("STORE’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("STORE’s password is in the desktop keyring"), NULL },
    { "out-password-file", 0, 0, G_OPTION_ARG_FILENAME, &out_password_file, N_("The new store’s password file, made when missing (default: its name with .pw)"), N_("FILE") },
    { NULL }
  };
  g_autoptr(GOptionContext) context =
    new_context (N_("STORE"), _("Writes every entry of a store (PKCS#12, PEM, or JKS/JCEKS from keytool) "
                                "to a new PKCS#12 store that Postern, keytool and openssl can all change."), entries);
  g_autoptr(GError) error = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  char *password = NULL;
  gboolean created = FALSE, ok;

  if (!pst_cert_parse_options (context, &argc, &argv) || !want_args (argc, argv, 1, _("the store")))
    return 1;
  if (out == NULL)
    {
      pst_cli_error (_("no output file; add --out FILE (for example --out keystore.p12)"));
      return 1;
    }
  if (g_file_test (out, G_FILE_TEST_EXISTS))
    {
      pst_cli_error (_("%s already exists; choose a new file name for --out"), out);
      return 1;
    }
  if (!pst_cert_open_store (&cs, argv[1], password_file, PST_STORE_OPEN_READ | PST_CERT_KEYRING (password_keyring), &error))
    goto fail;

  if (out_password_file == NULL)
    out_password_file = pst_password_default_path (out);
  if ((password = pst_password_file_read_or_create (out_password_file, &created, &error)) == NULL)
    goto fail;
  ok = pst_keystore_save (cs.store, out, PST_STORE_FORMAT_PKCS12, password, &error);
  pst_password_free (password);
  if (!ok)
    goto fail;
  if (created)
    printf (_("Created the password file %s (mode 0600)\n"), out_password_file);
  printf (g_dngettext (GETTEXT_PACKAGE, "Wrote %u entry of %s (%s) to %s (PKCS#12, password in %s)\n",
                       "Wrote %u entries of %s (%s) to %s (PKCS#12, password in %s)\n",
                       pst_keystore_get_n_entries (cs.store)),
          pst_keystore_get_n_entries (cs.store), argv[1],
          pst_store_format_to_string (pst_keystore_get_format (cs.store)), out, out_password_file);
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}
