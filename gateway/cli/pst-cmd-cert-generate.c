/* pst-cmd-cert-generate.c: "postern cert generate", key pairs from a local CA or self-signed
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"
#include "pst-certgen.h"
#include "pst-password.h"

/* The library opens or makes the CA; the command says what happened */
static PstStoreEntry *
open_or_create_ca (const char          *ca_path,
                   const char * const  *names,
                   PstKeyType           key_type,
                   gboolean             unconstrained,
                   GError             **error)
{
  g_autoptr(PstKeystore) store = NULL;
  PstStoreEntry *ca;
  gboolean created = FALSE;

  store = pst_local_ca_open_or_create_full (ca_path, NULL, key_type, unconstrained, names, &created, error);
  if (store == NULL)
    return NULL;
  ca = pst_local_ca_find (store);
  if (!created)
    {
      if (unconstrained)
        pst_cli_error (_("warning: --unconstrained only applies when the CA is created; %s already exists"),
                       ca_path);
      return g_object_ref (ca);
    }

  {
    g_autofree char *pw_path = pst_password_default_path (ca_path);

    printf (_("Made the local development CA “%s” in %s%s (password in %s, mode 0600)\n"),
            pst_store_entry_get_alias (ca), ca_path,
            unconstrained ? _(" (without name constraints)")
                          : _(" (constrained to local names and the names given)"),
            pw_path);
  }
  pst_cert_print_details (ca, "  ");
  printf (_("Make browsers trust it with: postern cert install-ca %s --nss\n"), ca_path);
  return g_object_ref (ca);
}

int
pst_cmd_cert_generate (int argc, char **argv)
{
  g_autofree char *keystore = NULL, *password_file = NULL, *ca_path = NULL, *key = NULL;
  g_auto(GStrv) names = NULL;
  gboolean client = FALSE, unconstrained = FALSE, password_keyring = FALSE;
  int days = 0;
  const GOptionEntry entries[] = {
    { "keystore", 0, 0, G_OPTION_ARG_FILENAME, &keystore, N_("The key store to add to (made when missing)"), N_("FILE") },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("The key store’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("The store’s password is in the desktop keyring (a new store gets a random one there, and no .pw file)"), NULL },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &ca_path, N_("Sign with the local CA in FILE (made when missing)"), N_("FILE") },
    { "client", 0, 0, G_OPTION_ARG_NONE, &client, N_("Allow client authentication too"), NULL },
    { "key", 0, 0, G_OPTION_ARG_STRING, &key, N_("Key type: ecdsa (default), rsa2048, rsa3072, rsa4096"), N_("TYPE") },
    { "days", 0, 0, G_OPTION_ARG_INT, &days, N_("Validity in days (default 825; 3650 for a new CA)"), N_("N") },
    { "unconstrained", 0, 0, G_OPTION_ARG_NONE, &unconstrained, N_("Make a new CA without name constraints"), NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &names, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (N_("NAME…"));
  g_autoptr(GError) error = NULL;
  g_autoptr(PstStoreEntry) ca = NULL;
  g_autoptr(PstStoreEntry) entry = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  PstKeyType key_type = PST_KEY_ECDSA_P256;
  gboolean replaced;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Makes a key pair and a certificate for the host names and IP addresses given "
      "(all in the subject alternative names; the first is the common name and the alias), "
      "self-signed, or signed by a local development CA with --ca."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pst_cert_parse_options (context, &argc, &argv))
    return 1;

  if (keystore == NULL)
    {
      pst_cli_error (_("no key store given; add --keystore FILE (for example --keystore keystore.db)"));
      return 1;
    }
  if (names == NULL || names[0] == NULL)
    {
      pst_cli_error (_("no host name given; add the names the certificate is for, e.g. “localhost 127.0.0.1”"));
      return 1;
    }
  if (key != NULL && !pst_key_type_from_string (key, &key_type))
    {
      pst_cli_error (_("unknown key type “%s”; use ecdsa, rsa2048, rsa3072 or rsa4096"), key);
      return 1;
    }
  if (days < 0 || days > 36500)
    {
      pst_cli_error (_("--days must be between 1 and 36500"));
      return 1;
    }

  /* Open the key store first so that a read-only or unreadable store does
   * not leave a new CA behind. */
  if (!pst_cert_open_store (&cs, keystore, password_file,
                            PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | PST_CERT_KEYRING (password_keyring), &error))
    goto fail;

  if (ca_path != NULL &&
      (ca = open_or_create_ca (ca_path, (const char * const *) names, key_type, unconstrained, &error)) == NULL)
    goto fail;

  {
    PstCertRequest request = {
      .names = (const char * const *) names,
      .key_type = key_type,
      .days = days,
      .client = client,
    };

    entry = pst_cert_generate (&request, ca, &error);
    if (entry == NULL)
      goto fail;
  }

  replaced = pst_keystore_lookup (cs.store, pst_store_entry_get_alias (entry)) != NULL;
  pst_keystore_add (cs.store, entry);
  if (!pst_cert_save_store (&cs, &error))
    goto fail;

  printf (replaced ? _("Replaced “%s” in %s:\n") : _("Added “%s” to %s:\n"),
          pst_store_entry_get_alias (entry), keystore);
  pst_cert_print_details (entry, "  ");
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}
