/* pst-cmd-cert-fetch.c: "postern cert fetch", trust what a TLS server presents after confirmation
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "pst-cert-fetch.h"
#include "pst-cli.h"
#include "pst-cmd-cert-private.h"

typedef struct {
  gboolean              done;
  GPtrArray            *chain;
  GTlsCertificateFlags  errors;
  GError               *error;
} Fetched;

static void
fetched_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Fetched *fetched = user_data;

  fetched->chain = pst_cert_fetch_chain_finish_full (result, &fetched->errors, &fetched->error);
  fetched->done = TRUE;
}

/* The library fetches asynchronously (bounded by its own timeout); a
 * command has nothing else to do meanwhile. */
static GPtrArray *
fetch_chain (const char            *host_and_port,
             GTlsCertificateFlags  *errors,
             GError               **error)
{
  Fetched fetched = { 0 };

  pst_cert_fetch_chain_async (host_and_port, NULL, fetched_cb, &fetched);
  while (!fetched.done)
    g_main_context_iteration (NULL, TRUE);
  *errors = fetched.errors;
  if (fetched.error != NULL)
    g_propagate_error (error, fetched.error);
  return fetched.chain;
}

static gboolean
ask_yes_no (const char *question)
{
  char answer[64];

  printf ("%s [y/N] ", question);
  fflush (stdout);
  if (fgets (answer, sizeof answer, stdin) == NULL)
    return FALSE;
  g_strstrip (answer);
  return g_ascii_strcasecmp (answer, "y") == 0 || g_ascii_strcasecmp (answer, "yes") == 0;
}

int
pst_cmd_cert_fetch (int argc, char **argv)
{
  g_autofree char *alias = NULL, *password_file = NULL;
  gboolean yes = FALSE, password_keyring = FALSE;
  const GOptionEntry entries[] = {
    { "alias", 0, 0, G_OPTION_ARG_STRING, &alias, N_("The entry’s name (default: the host name)"), N_("ALIAS") },
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, N_("Trust without asking (for scripts)"), NULL },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("The store’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { "password-keyring", 0, 0, G_OPTION_ARG_NONE, &password_keyring, N_("The store’s password is in the desktop keyring (a new store gets a random one there, and no .pw file)"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (N_("STORE HOST:PORT"));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) chain = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  g_autofree char *host = NULL;
  g_autofree char *question = NULL;
  GTlsCertificateFlags errors = 0;
  GBytes *chosen;
  guint16 port = 0;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context,
    _("Connects to a TLS server without verifying it, shows the certificates it presents "
      "(subject, issuer, validity, SHA-256) and, once you confirm, adds the top one of the "
      "chain to STORE as a trusted entry (made when missing). Compare the fingerprint with "
      "one obtained another way before you answer yes."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pst_cert_parse_options (context, &argc, &argv))
    return 1;
  if (argc != 3)
    {
      pst_cli_error (_("usage: %s STORE HOST:PORT; run “%s --help”"), argv[0], argv[0]);
      return 1;
    }
  {
    g_autoptr(GSocketConnectable) a = g_network_address_parse (argv[2], 443, &error);
    if (a == NULL)
      {
        pst_cli_error (_("“%s” is not HOST:PORT (%s)"), argv[2], error->message);
        return 1;
      }
    host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (a)));
    port = g_network_address_get_port (G_NETWORK_ADDRESS (a));
  }

  /* An existing store is opened before connecting, so that a store we
   * cannot write is reported first; a new one is made only once the user
   * said yes. */
  if (g_file_test (argv[1], G_FILE_TEST_EXISTS) &&
      !pst_cert_open_store (&cs, argv[1], password_file, PST_STORE_OPEN_WRITE | PST_CERT_KEYRING (password_keyring), &error))
    goto fail;

  if ((chain = fetch_chain (argv[2], &errors, &error)) == NULL)
    goto fail;

  printf (g_dngettext (GETTEXT_PACKAGE, "%s:%u presented %u certificate:\n",
                       "%s:%u presented %u certificates:\n", chain->len), host, port, chain->len);
  for (guint i = 0; i < chain->len; i++)
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      g_autoptr(PstStoreEntry) entry = NULL;

      g_ptr_array_add (one, g_ptr_array_index (chain, i));
      entry = pst_store_entry_new ("peer", one, NULL, &error);
      if (entry == NULL)
        goto fail;
      printf (_("[%u]%s\n"), i, i == 0 ? _(" server certificate") : _(" issuer"));
      pst_cert_print_details (entry, "  ");
    }
  if (errors == 0)
    printf (_("The system already trusts this server.\n"));

  chosen = g_ptr_array_index (chain, chain->len - 1);
  if (alias == NULL)
    alias = g_ascii_strdown (host, -1);

  question = g_strdup_printf (_("Trust certificate [%u] as “%s” in %s?"), chain->len - 1, alias, argv[1]);
  if (!yes)
    {
      if (!isatty (STDIN_FILENO))
        {
          pst_cli_error (_("not trusting anything: there is no terminal to ask on; "
                           "check the fingerprint above and rerun with --yes"));
          return 1;
        }
      if (!ask_yes_no (question))
        {
          printf (_("Nothing changed.\n"));
          return 1;
        }
    }

  if (cs.store == NULL &&
      !pst_cert_open_store (&cs, argv[1], password_file,
                           PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | PST_CERT_KEYRING (password_keyring), &error))
    goto fail;
  if (!pst_cert_trust (&cs, chosen, alias, &error))
    goto fail;
  return 0;

fail:
  pst_cert_print_error (error);
  pst_cert_abandon_store (&cs);
  return 1;
}
