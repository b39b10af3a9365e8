/* pst-store-file.c: a store file opened for a change: its password, created or not, saved or not
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pst-cert-util.h"
#include "pst-local-ca.h"
#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-store-file.h"

/* A new store is PEM when its name says so, PKCS#12 otherwise (also for
 * keytool's customary keystore.db). */
static PstStoreFormat
format_for_new_store (const char *path)
{
  if (g_str_has_suffix (path, ".pem") || g_str_has_suffix (path, ".crt"))
    return PST_STORE_FORMAT_PEM;
  return PST_STORE_FORMAT_PKCS12;
}

/**
 * pst_store_file_open:
 * @sf: (out caller-allocates): where to put the opened store
 * @path: the store file
 * @password_file: (nullable): its password file; %NULL for the default
 *   `.pw` path beside the store
 * @flags: #PstStoreOpenFlags
 * @error: return location for a #PstStoreError or #GFileError
 *
 * Opens @path with the password of its password file (keytool's default
 * when there is none).  With %PST_STORE_OPEN_CREATE a missing store becomes
 * a new empty one, and a missing password file is made with a random
 * password (mode 0600); nothing is written to @path before
 * pst_store_file_save().  With %PST_STORE_OPEN_WRITE a JKS or JCEKS store is
 * refused, since it could not be saved again.  With %PST_STORE_OPEN_KEYRING
 * the password is the desktop keyring's (#PstKeyringError when it is
 * unreachable or holds none), and a new store gets a random one stored
 * there instead of a password file.
 *
 * @sf is always initialised: clear it with pst_store_file_clear(), also
 * after a failure (and call pst_store_file_abandon() then).
 *
 * Returns: %TRUE when @sf->store is set
 */
gboolean
pst_store_file_open (PstStoreFile       *sf,
                     const char         *path,
                     const char         *password_file,
                     PstStoreOpenFlags   flags,
                     GError            **error)
{
  g_autofree char *default_file = NULL;
  const char *pw_file;
  gboolean created = FALSE;

  g_return_val_if_fail (sf != NULL, FALSE);
  memset (sf, 0, sizeof *sf);
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  default_file = pst_password_default_path (path);
  pw_file = password_file != NULL ? password_file : default_file;
  sf->path = g_strdup (path);
  sf->password_keyring = (flags & PST_STORE_OPEN_KEYRING) != 0;
  g_return_val_if_fail (!sf->password_keyring || password_file == NULL, FALSE);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      if (sf->password_keyring)
        {
          if ((sf->password = pst_password_keyring_lookup (path, error)) == NULL)
            return FALSE;
        }
      else if (strcmp (pw_file, path) != 0 && g_file_test (pw_file, G_FILE_TEST_EXISTS))
        {
          sf->password_file = g_strdup (pw_file);
          if ((sf->password = pst_password_file_read (pw_file, error)) == NULL)
            return FALSE;
        }
      else if (password_file != NULL)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT,
                       _("the password file %s does not exist; give the file that holds the password of %s"),
                       password_file, path);
          return FALSE;
        }

      sf->store = pst_keystore_load (path, sf->password,
                                     sf->password_keyring ? _("the keyring") : sf->password_file, error);
      if (sf->store == NULL)
        return FALSE;
      if ((flags & PST_STORE_OPEN_WRITE) && pst_keystore_is_read_only (sf->store))
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_READ_ONLY,
                       _("%s is a %s store written by keytool, which Postern reads but does not write; "
                         "convert it first: postern cert convert %s --out NEW.p12"),
                       path, pst_store_format_to_string (pst_keystore_get_format (sf->store)), path);
          g_clear_object (&sf->store);
          return FALSE;
        }
      return TRUE;
    }

  if (!(flags & PST_STORE_OPEN_CREATE))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND,
                   _("%s does not exist; check the path, or make a store with "
                     "“postern cert generate --keystore %s NAME”"), path, path);
      return FALSE;
    }

  if (sf->password_keyring)
    sf->password = pst_password_keyring_lookup_or_create (path, &created, error);
  else
    {
      sf->password_file = g_strdup (pw_file);
      sf->password = pst_password_file_read_or_create (pw_file, &created, error);
    }
  if (sf->password == NULL)
    return FALSE;
  sf->password_created = created;
  sf->store = pst_keystore_new ();
  sf->created = TRUE;
  return TRUE;
}

/**
 * pst_store_file_save:
 * @sf: an opened store
 * @error: return location for a #PstStoreError
 *
 * Writes the store back in its own format (a new one as PEM when its name
 * ends in `.pem` or `.crt`, else PKCS#12), atomically, mode 0600.
 *
 * Returns: %TRUE when written
 */
gboolean
pst_store_file_save (PstStoreFile  *sf,
                     GError       **error)
{
  PstStoreFormat format;

  g_return_val_if_fail (sf != NULL && PST_IS_KEYSTORE (sf->store), FALSE);

  if (sf->created && !sf->saved)
    format = format_for_new_store (sf->path);
  else
    format = pst_keystore_get_format (sf->store);
  if (!pst_keystore_save (sf->store, sf->path, format,
                          sf->password != NULL ? sf->password : PST_DEFAULT_STORE_PASSWORD, error))
    return FALSE;
  sf->saved = TRUE;
  return TRUE;
}

/**
 * pst_store_file_abandon:
 * @sf: a store opened by pst_store_file_open()
 *
 * After a failure: removes the password file (or keyring item) this open
 * made for a store that was never written, so that a refused change
 * leaves nothing behind.
 */
void
pst_store_file_abandon (PstStoreFile *sf)
{
  g_return_if_fail (sf != NULL);

  if (!sf->created || !sf->password_created || sf->saved)
    return;
  if (sf->password_keyring)
    {
      if (pst_password_keyring_clear (sf->path, NULL))
        sf->password_created = FALSE;
    }
  else if (sf->password_file != NULL && g_unlink (sf->password_file) == 0)
    sf->password_created = FALSE;
}

/**
 * pst_store_file_clear:
 * @sf: a #PstStoreFile, opened or zero-filled
 *
 * Frees what @sf holds (the password is wiped first).
 */
void
pst_store_file_clear (PstStoreFile *sf)
{
  g_return_if_fail (sf != NULL);

  g_clear_pointer (&sf->path, g_free);
  g_clear_pointer (&sf->password_file, g_free);
  g_clear_pointer (&sf->password, pst_password_free);
  g_clear_object (&sf->store);
}

/**
 * pst_store_file_add_trusted:
 * @sf: an opened store
 * @der: a DER certificate
 * @alias: (nullable): the entry's name; %NULL for %PST_LOCAL_CA_ALIAS when
 *   @der is a local development CA, else the certificate's common name in
 *   lower case (else "trusted")
 * @error: return location for a #PstStoreError
 *
 * Adds @der as a trusted entry and saves the store.  When the store holds
 * the certificate already nothing is written and %TRUE is returned (look
 * with pst_keystore_lookup_certificate() beforehand to tell the cases
 * apart); a different entry called @alias is never replaced.
 *
 * Returns: %TRUE when the store trusts @der
 */
gboolean
pst_store_file_add_trusted (PstStoreFile  *sf,
                            GBytes        *der,
                            const char    *alias,
                            GError       **error)
{
  g_autoptr(GPtrArray) chain = NULL;
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autofree char *name = NULL;

  g_return_val_if_fail (sf != NULL && PST_IS_KEYSTORE (sf->store), FALSE);
  g_return_val_if_fail (der != NULL, FALSE);

  if (pst_keystore_lookup_certificate (sf->store, der) != NULL)
    return TRUE;

  if (alias != NULL)
    name = g_strdup (alias);
  else if (pst_cert_is_local_ca (der))
    name = g_strdup (PST_LOCAL_CA_ALIAS);
  else
    {
      g_autofree char *cn = pst_cert_dup_common_name (der);

      name = cn != NULL ? g_utf8_strdown (cn, -1) : g_strdup ("trusted");
    }
  if (pst_keystore_lookup (sf->store, name) != NULL)
    {
      g_autofree char *quoted_path = pst_shell_word (sf->path);
      g_autofree char *quoted_name = pst_shell_word (name);

      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("%s already has a different entry “%s”; choose another name with --alias, "
                     "or remove it first with “postern cert remove %s %s”"),
                   sf->path, name, quoted_path, quoted_name);
      return FALSE;
    }

  chain = g_ptr_array_new ();
  g_ptr_array_add (chain, der);
  if ((entry = pst_store_entry_new (name, chain, NULL, error)) == NULL)
    return FALSE;
  pst_keystore_add (sf->store, entry);
  if (!pst_store_file_save (sf, error))
    {
      pst_keystore_remove (sf->store, name);
      return FALSE;
    }
  return TRUE;
}
