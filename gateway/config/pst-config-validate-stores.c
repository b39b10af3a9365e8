/* pst-config-validate-stores.c: checks of the key and trust stores and of certificate expiry
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-config-validate-private.h"
#include "pst-keystore.h"
#include "pst-password.h"
#include "pst-password-keyring.h"

#define EXPIRY_WARNING_DAYS 30

/* ------------------------------------------------------------------ */
/* Stores                                                              */

static PstKeystore *
check_store (Check               *check,
             const PstStoreRef   *ref,
             const PstStoreLines *lines,
             const char          *what,      /* "keystore" / "truststore" */
             gboolean             needed)
{
  g_autofree char *password = NULL;
  g_autofree char *default_pw = NULL;
  const char *password_file = NULL;
  guint password_line;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  PstKeystore *store;

  if (ref->line == 0)
    return NULL;
  if (ref->file == NULL)
    {
      ERROR (ref->line, what, NULL, what,
             _("<%s> has no <file>; add the path of the store, relative to this file"), what);
      return NULL;
    }

  if (!g_file_test (ref->file, G_FILE_TEST_EXISTS))
    {
      if (strcmp (what, "keystore") == 0)
        ERROR (lines->file_line, "file", NULL, what,
               _("keystore %s does not exist; create it with “postern cert generate --keystore %s localhost” or fix <file>"),
               ref->file, ref->file);
      else
        ERROR (lines->file_line, "file", NULL, what,
               _("truststore %s does not exist; trust a server with “postern cert fetch %s HOST:PORT” or fix <file>"),
               ref->file, ref->file);
      return NULL;
    }
  if (!g_file_get_contents (ref->file, &contents, &len, &error))
    {
      ERROR (lines->file_line, "file", NULL, what,
             _("cannot read %s %s: %s; check its permissions"), what, ref->file, error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

  /* <type> is informational (the content decides), but a mismatch
   * usually means the wrong file. */
  if (ref->type != NULL && *ref->type != '\0')
    {
      PstStoreFormat declared = pst_store_format_from_string (ref->type);
      PstStoreFormat found = pst_store_format_detect (bytes);
      if (found != PST_STORE_FORMAT_UNKNOWN && declared != found)
        WARNING (lines->type_line, "type", NULL, what,
                 _("<type> says %s but %s holds %s data; it is read as %s, so set <type>%s</type> to match"),
                 ref->type, ref->file, pst_store_format_to_string (found),
                 pst_store_format_to_string (found), pst_store_format_to_string (found));
    }

  if (lines->password_keyring_invalid)
    {
      ERROR (lines->password_keyring_line, "password-keyring", NULL, what,
             _("<password-keyring> must be true or false; write <password-keyring>true</password-keyring> "
               "to read the %s’s password from the desktop keyring"), what);
      return NULL;
    }
  if (ref->password_keyring && ref->password_file != NULL)
    {
      ERROR (lines->password_keyring_line, "password-keyring", NULL, what,
             _("the %s has both <password-file> and <password-keyring>true</password-keyring>; "
               "keep one: the password is read from the file or from the keyring"), what);
      return NULL;
    }
  if (ref->password_keyring)
    {
      /* Blocks on D-Bus, as the gateway does once at load time */
      password_line = lines->password_keyring_line;
      password = pst_password_keyring_lookup (ref->file, &error);
      if (password == NULL)
        {
          ERROR (password_line, "password-keyring", NULL, what, "%s", error->message);
          return NULL;
        }
      store = pst_keystore_load_bytes (bytes, ref->file, password, _("the keyring"), &error);
      pst_password_free (g_steal_pointer (&password));
      if (store == NULL)
        {
          if (g_error_matches (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD))
            ERROR (password_line, "password-keyring", NULL, what,
                   _("%s; store the right one with “secret-tool store --label='Postern store password' "
                     "xdg:schema %s %s %s”"),
                   error->message, PST_KEYRING_SCHEMA, PST_KEYRING_ATTRIBUTE, ref->file);
          else
            ERROR (lines->file_line, "file", NULL, what, _("cannot open %s %s: %s"),
                   what, ref->file, error->message);
        }
      return store;
    }

  if (ref->password_file != NULL)
    {
      password_file = ref->password_file;
      password_line = lines->password_file_line;
      if (!g_file_test (password_file, G_FILE_TEST_EXISTS))
        {
          ERROR (password_line, "password-file", NULL, what,
                 _("password file %s does not exist; create it (one line, mode 0600) or fix <password-file>"),
                 password_file);
          return NULL;
        }
    }
  else
    {
      default_pw = pst_password_default_path (ref->file);
      password_line = lines->file_line;
      if (default_pw != NULL && g_file_test (default_pw, G_FILE_TEST_EXISTS))
        password_file = default_pw;
    }

  if (password_file != NULL)
    {
      password = pst_password_file_read (password_file, &error);
      if (password == NULL)
        {
          ERROR (password_line, ref->password_file != NULL ? "password-file" : "file", NULL, what,
                 _("cannot read password file %s: %s; check that it exists and is readable by the gateway’s user"),
                 password_file, error->message);
          return NULL;
        }
      if (pst_password_file_is_exposed (password_file))
        WARNING (password_line, ref->password_file != NULL ? "password-file" : "file", NULL, what,
                 _("password file %s can be read by other users; run “chmod 600 %s”"),
                 password_file, password_file);
    }

  store = pst_keystore_load_bytes (bytes, ref->file, password, password_file, &error);
  if (password != NULL)
    pst_password_free (g_steal_pointer (&password));
  if (store == NULL)
    {
      if (g_error_matches (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD))
        ERROR (password_file != NULL ? password_line : lines->file_line,
               password_file != NULL && ref->password_file != NULL ? "password-file" : "file", NULL, what,
               _("%s; put the store’s password in %s"),
               error->message,
               password_file != NULL ? password_file : _("a password file (<password-file>)"));
      else
        ERROR (lines->file_line, "file", NULL, what, _("cannot open %s %s: %s"),
               what, ref->file, error->message);
      return NULL;
    }
  /* A PEM file has no store password; the binary formats do, and
   * keytool's default one is known to everybody. */
  if (password_file == NULL && pst_store_format_detect (bytes) != PST_STORE_FORMAT_PEM)
    {
      g_autofree char *suggested = pst_password_default_path (ref->file);
      WARNING (lines->file_line, "file", NULL, what,
               _("%s %s has no password file, so it is opened with keytool’s default password “changeit”, which anyone can guess; give it a password (keytool -storepasswd -keystore %s) and put it in %s (one line, mode 0600) or in the file named by <password-file> (stores made by “postern cert generate” get one)"),
               what, ref->file, ref->file, suggested != NULL ? suggested : _("a password file"));
    }
  (void)needed;
  return store;
}

static void
check_expiry (Check         *check,
              PstStoreEntry *entry,
              const char    *host,
              const char    *service,
              guint          line)
{
  GDateTime *not_after = pst_store_entry_get_not_after (entry);
  GDateTime *not_before = pst_store_entry_get_not_before (entry);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *until = NULL;
  const char *alias = pst_store_entry_get_alias (entry);
  const char *store = check->config->keystore.file;

  if (not_after == NULL)
    return;
  until = g_date_time_format (not_after, "%Y-%m-%d");
  if (g_date_time_compare (not_after, now) < 0)
    ERROR (line, "accept", service, "accept",
           _("the certificate for %s (alias “%s” in %s) expired on %s; make a new one with “postern cert generate --keystore %s %s”"),
           host, alias, store, until, store, host);
  else if (not_before != NULL && g_date_time_compare (not_before, now) > 0)
    {
      g_autofree char *from = g_date_time_format (not_before, "%Y-%m-%d %H:%M");
      ERROR (line, "accept", service, "accept",
             _("the certificate for %s (alias “%s” in %s) is not valid before %s UTC; check the system clock or make a new certificate"),
             host, alias, store, from);
    }
  else
    {
      GTimeSpan left = g_date_time_difference (not_after, now);
      gint64 days = left / G_TIME_SPAN_DAY;
      if (days < EXPIRY_WARNING_DAYS)
        WARNING (line, "accept", service, "accept",
                 _("the certificate for %s (alias “%s” in %s) expires in %d days, on %s; renew it with “postern cert generate --keystore %s %s”"),
                 host, alias, store, (int) days, until, store, host);
    }
}

void
pst_check_stores (Check *check)
{
  PstConfig *config = check->config;
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(PstKeystore) truststore = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  keystore = check_store (check, &config->keystore, &config->keystore_lines, "keystore",
                          check->needs_keystore);
  truststore = check_store (check, &config->truststore, &config->truststore_lines, "truststore",
                            check->needs_truststore);

  if (keystore != NULL)
    for (guint i = 0; i < check->secure_hosts->len; i++)
      {
        Claim *claim = g_ptr_array_index (check->secure_hosts, i);
        PstStoreEntry *entry;
        g_autofree char *key = g_ascii_strdown (claim->value, -1);

        if (!g_hash_table_add (seen, g_steal_pointer (&key)))
          continue;
        entry = pst_keystore_find_for_host (keystore, claim->value);
        if (entry == NULL)
          {
            g_autofree char *names = pst_keystore_dup_host_names (keystore);
            ERROR (claim->line, "accept", claim->service, "accept",
                   _("keystore %s has no certificate for host “%s” (it has: %s); add one with “postern cert generate --keystore %s %s”"),
                   config->keystore.file, claim->value,
                   names != NULL && *names != '\0' ? names : _("no key entries"),
                   config->keystore.file, claim->value);
            continue;
          }
        check_expiry (check, entry, claim->value, claim->service, claim->line);
      }

  if (truststore != NULL && pst_keystore_get_n_entries (truststore) == 0)
    WARNING (config->truststore_lines.file_line, "file", NULL, "truststore",
             _("truststore %s holds no certificates, so nothing it checks can be trusted; import one with “postern cert import %s FILE”"),
             config->truststore.file, config->truststore.file);
}
