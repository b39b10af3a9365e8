/* pst-password.c: store password files (read, create, wipe)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pst-password.h"

/**
 * pst_password_default_path:
 * @store_path: a store file
 *
 * keystore.db → keystore.pw, devca.p12 → devca.pw, store → store.pw
 *
 * Returns: (transfer full): the password file that goes with the store
 */
char *
pst_password_default_path (const char *store_path)
{
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  const char *dot;

  g_return_val_if_fail (store_path != NULL, NULL);

  dir = g_path_get_dirname (store_path);
  base = g_path_get_basename (store_path);
  dot = strrchr (base, '.');
  if (dot != NULL && dot != base && strcmp (dot, ".pw") != 0)
    base[dot - base] = '\0';

  if (strchr (store_path, G_DIR_SEPARATOR) == NULL)
    return g_strconcat (base, ".pw", NULL);
  return g_strconcat (dir, G_DIR_SEPARATOR_S, base, ".pw", NULL);
}

/**
 * pst_password_file_read:
 * @path: a password file
 * @error: return location for a #GFileError
 *
 * Returns: (transfer full) (nullable): the first line without its line
 *   ending; free with pst_password_free()
 */
char *
pst_password_file_read (const char  *path,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *contents = NULL;
  gsize length = 0;
  gsize line_len;
  char *password;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      g_set_error (error, G_FILE_ERROR, local_error->code,
                   _("Cannot read the password file %s (%s); create it with the store’s password on its first line, or give another with --password-file"),
                   path, local_error->message);
      return NULL;
    }

  line_len = strcspn (contents, "\r\n");
  if (line_len == 0)
    {
      gnutls_memset (contents, 0, length);
      g_free (contents);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   _("The password file %s is empty; write the store’s password on its first line"),
                   path);
      return NULL;
    }

  password = g_strndup (contents, line_len);
  gnutls_memset (contents, 0, length);
  g_free (contents);
  return password;
}

/**
 * pst_password_generate:
 * @error: return location for a #GFileError
 *
 * Returns: (transfer full) (nullable): a random password, 24 URL-safe
 *   characters (144 bits); free with pst_password_free()
 */
char *
pst_password_generate (GError **error)
{
  guint8 random[18];
  char *password;
  gsize len;

  if (gnutls_rnd (GNUTLS_RND_KEY, random, sizeof random) < 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   _("Cannot make a random password: the random number generator failed"));
      return NULL;
    }
  password = g_base64_encode (random, sizeof random);   /* 18 bytes → 24 chars, no padding */
  gnutls_memset (random, 0, sizeof random);
  len = strlen (password);
  for (gsize i = 0; i < len; i++)
    {
      if (password[i] == '+')
        password[i] = '-';
      else if (password[i] == '/')
        password[i] = '_';
    }
  return password;
}

/**
 * pst_password_file_write:
 * @path: where to write it; must not exist
 * @password: the password (one line)
 * @error: return location for a #GFileError
 *
 * Writes @password and a newline with mode 0600.  The file appears
 * complete or not at all, and an existing file is never replaced.
 *
 * Returns: %TRUE when written
 */
gboolean
pst_password_file_write (const char  *path,
                         const char  *password,
                         GError     **error)
{
  g_autofree char *tmp = NULL;
  int fd;
  int saved_errno = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (password != NULL && *password != '\0', FALSE);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   _("The password file %s already exists; remove it or use it with --password-file"),
                   path);
      return FALSE;
    }

  tmp = g_strdup_printf ("%s.XXXXXX", path);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Cannot create the password file %s (%s); check that its folder exists and is writable"),
                   path, g_strerror (saved_errno));
      return FALSE;
    }

  {
    g_autofree char *line = g_strconcat (password, "\n", NULL);
    gsize done = 0, total = strlen (line);

    while (ok && done < total)
      {
        gssize n = write (fd, line + done, total - done);
        if (n < 0 && errno == EINTR)
          continue;
        if (n <= 0)
          {
            saved_errno = errno;
            ok = FALSE;
          }
        else
          done += n;
      }
    gnutls_memset (line, 0, total);
  }
  if (ok && fsync (fd) != 0)
    {
      saved_errno = errno;
      ok = FALSE;
    }
  close (fd);

  /* link() fails with EEXIST instead of replacing: no overwrite race */
  if (ok && link (tmp, path) != 0)
    {
      saved_errno = errno;
      ok = FALSE;
    }
  g_unlink (tmp);

  if (!ok)
    {
      if (saved_errno == EEXIST)
        g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                     _("The password file %s already exists; remove it or use it with --password-file"),
                     path);
      else
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                     _("Cannot write the password file %s (%s); check that its folder is writable"),
                     path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * pst_password_file_create:
 * @path: where to write it; must not exist
 * @error: return location for a #GFileError
 *
 * Writes a random password (24 URL-safe characters) with mode 0600.  The
 * file appears complete or not at all, and an existing file is never
 * replaced.
 *
 * Returns: (transfer full) (nullable): the password; free with
 *   pst_password_free()
 */
char *
pst_password_file_create (const char  *path,
                          GError     **error)
{
  char *password;

  g_return_val_if_fail (path != NULL, NULL);

  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                   _("The password file %s already exists; remove it or use it with --password-file"),
                   path);
      return NULL;
    }
  if ((password = pst_password_generate (error)) == NULL)
    return NULL;
  if (!pst_password_file_write (path, password, error))
    {
      pst_password_free (password);
      return NULL;
    }
  return password;
}

/**
 * pst_password_file_read_or_create:
 * @path: a password file
 * @created: (out) (optional): set to %TRUE when this call made the file
 * @error: return location for a #GFileError
 *
 * Reads @path, or makes it with a random password (mode 0600) when it does
 * not exist yet, as commands that create a store do.
 *
 * Returns: (transfer full) (nullable): the password; free with
 *   pst_password_free()
 */
char *
pst_password_file_read_or_create (const char  *path,
                                  gboolean    *created,
                                  GError     **error)
{
  gboolean exists;
  char *password;

  g_return_val_if_fail (path != NULL, NULL);

  exists = g_file_test (path, G_FILE_TEST_EXISTS);
  password = exists ? pst_password_file_read (path, error) : pst_password_file_create (path, error);
  if (created != NULL)
    *created = password != NULL && !exists;
  return password;
}

/**
 * pst_password_file_is_exposed:
 * @path: a password file
 *
 * Returns: %TRUE if group or others may read it
 */
gboolean
pst_password_file_is_exposed (const char *path)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);

  if (g_stat (path, &st) != 0)
    return FALSE;
  return (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
}

/**
 * pst_password_free:
 * @password: (nullable): a password
 *
 * Overwrites the password, then frees it.
 */
void
pst_password_free (char *password)
{
  if (password == NULL)
    return;
  gnutls_memset (password, 0, strlen (password));
  g_free (password);
}
