/* pst-cmd-cert.c: "postern cert", its sub-command table and shared helpers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

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
                          "default password is used."));
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

char *
pst_cert_password_read_or_create (const char *password_file,
                                  gboolean   *created,
                                  GError    **error)
{
  *created = FALSE;
  if (g_file_test (password_file, G_FILE_TEST_EXISTS))
    return pst_password_file_read (password_file, error);
  *created = TRUE;
  return pst_password_file_create (password_file, error);
}

static PstStoreFormat
format_for_new_store (const char *path)
{
  if (g_str_has_suffix (path, ".pem") || g_str_has_suffix (path, ".crt"))
    return PST_STORE_FORMAT_PEM;
  return PST_STORE_FORMAT_PKCS12;
}

gboolean
pst_cert_store_open (PstCertStore     *cs,
                     const char       *path,
                     const char       *password_file,
                     PstCertOpenFlags  flags,
                     GError          **error)
{
  g_autofree char *default_file = pst_password_default_path (path);
  const char *pw_file = password_file != NULL ? password_file : default_file;
  gboolean pw_exists = g_file_test (pw_file, G_FILE_TEST_EXISTS);

  memset (cs, 0, sizeof *cs);
  cs->path = g_strdup (path);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (pw_exists && strcmp (pw_file, path) != 0)
        {
          cs->password_file = g_strdup (pw_file);
          if ((cs->password = pst_password_file_read (pw_file, error)) == NULL)
            return FALSE;
        }
      else if (password_file != NULL)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                       _("the password file %s does not exist; give the file that holds the password of %s"),
                       password_file, path);
          return FALSE;
        }
      if (cs->password_file != NULL && pst_password_file_is_exposed (cs->password_file))
        pst_cli_error (_("warning: %s can be read by other users; protect it with “chmod 600 %s”"),
                       cs->password_file, cs->password_file);

      cs->store = pst_keystore_load (path, cs->password, cs->password_file, error);
      if (cs->store == NULL)
        return FALSE;
      if ((flags & PST_CERT_OPEN_WRITE) && pst_keystore_is_read_only (cs->store))
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_READ_ONLY,
                       _("%s is a %s store written by keytool, which Postern reads but does not write; "
                         "convert it first: postern cert convert %s --out NEW.p12"),
                       path, pst_store_format_to_string (pst_keystore_get_format (cs->store)), path);
          return FALSE;
        }
      return TRUE;
    }

  if (!(flags & PST_CERT_OPEN_CREATE))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND,
                   _("%s does not exist; check the path, or make a store with "
                     "“postern cert generate --keystore %s NAME”"), path, path);
      return FALSE;
    }

  {
    gboolean created = FALSE;

    cs->password_file = g_strdup (pw_file);
    cs->password = pst_cert_password_read_or_create (pw_file, &created, error);
    if (cs->password == NULL)
      return FALSE;
    cs->password_created = created;
    if (created)
      printf (_("Created the password file %s (mode 0600) for %s\n"), pw_file, path);
  }
  cs->store = pst_keystore_new ();
  cs->created = TRUE;
  return TRUE;
}

gboolean
pst_cert_store_save (PstCertStore *cs,
                     GError      **error)
{
  PstStoreFormat format;

  if (cs->created)
    format = format_for_new_store (cs->path);
  else
    format = pst_keystore_get_format (cs->store);
  if (!pst_keystore_save (cs->store, cs->path, format,
                          cs->password != NULL ? cs->password : PST_DEFAULT_STORE_PASSWORD, error))
    return FALSE;
  cs->saved = TRUE;
  if (cs->created)
    printf (_("Created %s (%s)\n"), cs->path, pst_store_format_to_string (format));
  return TRUE;
}

void
pst_cert_store_abandon (PstCertStore *cs)
{
  if (cs->created && cs->password_created && !cs->saved && cs->password_file != NULL &&
      g_unlink (cs->password_file) == 0)
    printf (_("Removed the password file %s again\n"), cs->password_file);
}

void
pst_cert_store_clear (PstCertStore *cs)
{
  g_clear_pointer (&cs->path, g_free);
  g_clear_pointer (&cs->password_file, g_free);
  g_clear_pointer (&cs->password, pst_password_free);
  g_clear_object (&cs->store);
}

char *
pst_cert_format_validity (GDateTime *not_after)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = g_date_time_format (not_after, "%Y-%m-%d %H:%M UTC");
  GTimeSpan left = g_date_time_difference (not_after, now);
  gint64 days;

  if (left <= 0)
    return g_strdup_printf ("%s (%s)", date, _("EXPIRED"));
  days = left / G_TIME_SPAN_DAY;
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s (expires in %" G_GINT64_FORMAT " day)",
                                       "%s (expires in %" G_GINT64_FORMAT " days)", days),
                          date, days);
}

char *
pst_cert_der_to_pem (GBytes *der)
{
  g_autofree char *b64 = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  GString *out = g_string_new ("-----BEGIN CERTIFICATE-----\n");
  gsize len = strlen (b64);

  for (gsize i = 0; i < len; i += 64)
    {
      g_string_append_len (out, b64 + i, MIN (64, len - i));
      g_string_append_c (out, '\n');
    }
  g_string_append (out, "-----END CERTIFICATE-----\n");
  return g_string_free (out, FALSE);
}

char *
pst_cert_dup_common_name (GBytes *der)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t d;
  char buf[512];
  size_t size = sizeof buf - 1;
  char *result = NULL;
  gsize len;

  d.data = (guint8 *) g_bytes_get_data (der, &len);
  d.size = len;
  if (gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  if (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER) == 0 &&
      gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) == 0)
    {
      buf[size] = '\0';
      if (g_utf8_validate (buf, -1, NULL) && buf[0] != '\0')
        result = g_strdup (buf);
    }
  gnutls_x509_crt_deinit (crt);
  return result;
}

void
pst_cert_print_details (PstStoreEntry *entry,
                        const char    *indent)
{
  g_autofree char *subject = pst_store_entry_dup_subject (entry);
  g_autofree char *issuer = pst_store_entry_dup_issuer (entry);
  g_auto(GStrv) sans = pst_store_entry_dup_sans (entry);
  g_autofree char *sans_text = sans != NULL && sans[0] != NULL ? g_strjoinv (", ", sans) : g_strdup ("-");
  g_autofree char *from = g_date_time_format (pst_store_entry_get_not_before (entry), "%Y-%m-%d %H:%M UTC");
  g_autofree char *until = pst_cert_format_validity (pst_store_entry_get_not_after (entry));
  g_autofree char *fingerprint = pst_store_entry_dup_fingerprint (entry);
  g_autofree char *key_type = pst_store_entry_dup_key_type (entry);

  printf ("%s%-12s %s\n", indent, _("Subject:"), subject);
  printf ("%s%-12s %s\n", indent, _("Issuer:"), issuer);
  printf ("%s%-12s %s\n", indent, _("Names:"), sans_text);
  printf ("%s%-12s %s%s\n", indent, _("Key:"), key_type,
          pst_store_entry_is_ca (entry) ? _(", certificate authority") : "");
  printf ("%s%-12s %s\n", indent, _("Valid from:"), from);
  printf ("%s%-12s %s\n", indent, _("Valid until:"), until);
  printf ("%s%-12s %s\n", indent, _("SHA-256:"), fingerprint);
}
