/* pst-password-keyring-move.c: move a store's password from its file to the keyring and back
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "pst-keystore.h"
#include "pst-password.h"
#include "pst-password-keyring.h"

/**
 * pst_password_keyring_adopt:
 * @store_path: an existing store
 * @password_file: (nullable): its password file; %NULL for the default
 *   `.pw` beside it (keytool's "changeit" when that does not exist)
 * @error: return location for a #PstKeyringError, #PstStoreError or
 *   #GFileError
 *
 * Stores the password the store has now in the keyring, once the store
 * opens with it (a wrong password is never stored).  The password file
 * is left where it is.  Blocks (store decryption, D-Bus).
 *
 * Returns: %TRUE when the keyring holds the store's password
 */
gboolean
pst_password_keyring_adopt (const char  *store_path,
                            const char  *password_file,
                            GError     **error)
{
  g_autofree char *default_file = NULL;
  g_autoptr(PstKeystore) store = NULL;
  char *password = NULL;
  gboolean ok;

  g_return_val_if_fail (store_path != NULL, FALSE);

  if (password_file == NULL)
    {
      default_file = pst_password_default_path (store_path);
      if (g_file_test (default_file, G_FILE_TEST_EXISTS) && strcmp (default_file, store_path) != 0)
        password_file = default_file;
    }
  if (password_file != NULL && (password = pst_password_file_read (password_file, error)) == NULL)
    return FALSE;
  store = pst_keystore_load (store_path, password, password_file, error);
  if (store == NULL)
    {
      pst_password_free (password);
      return FALSE;
    }
  ok = pst_password_keyring_store (store_path,
                                   password != NULL ? password : PST_DEFAULT_STORE_PASSWORD, error);
  pst_password_free (password);
  return ok;
}

/**
 * pst_password_keyring_release:
 * @store_path: a store
 * @error: return location for a #PstKeyringError or #GFileError
 *
 * The way back from the keyring: makes sure the default `.pw` file beside
 * the store holds the keyring's password (written with mode 0600 when it
 * does not exist; an existing one must hold the same password).  The
 * keyring item stays.  Blocks on D-Bus.
 *
 * Returns: (transfer full) (nullable): the password file's path
 */
char *
pst_password_keyring_release (const char  *store_path,
                              GError     **error)
{
  g_autofree char *path = NULL;
  char *password;
  gboolean ok = TRUE;

  g_return_val_if_fail (store_path != NULL, NULL);

  if ((password = pst_password_keyring_lookup (store_path, error)) == NULL)
    return NULL;
  path = pst_password_default_path (store_path);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    {
      char *in_file = pst_password_file_read (path, error);

      ok = in_file != NULL;
      if (ok && strcmp (in_file, password) != 0)
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                       _("%s holds another password than the keyring’s for %s; remove it or put the "
                         "store’s password in it, then try again"), path, store_path);
          ok = FALSE;
        }
      pst_password_free (in_file);
    }
  else
    ok = pst_password_file_write (path, password, error);
  pst_password_free (password);
  return ok ? g_steal_pointer (&path) : NULL;
}

typedef struct {
  char     *store_path;
  char     *password_file;
  gboolean  adopt;
} MoveJob;

static void
move_job_free (MoveJob *job)
{
  g_free (job->store_path);
  g_free (job->password_file);
  g_free (job);
}

static void
move_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  MoveJob *job = task_data;
  GError *error = NULL;
  char *path = NULL;

  if (job->adopt)
    {
      if (pst_password_keyring_adopt (job->store_path, job->password_file, &error))
        path = g_strdup (job->store_path);
    }
  else
    path = pst_password_keyring_release (job->store_path, &error);
  if (path == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, path, g_free);
}

/**
 * pst_password_keyring_move_async:
 * @store_path: a store
 * @to_keyring: %TRUE for pst_password_keyring_adopt(), %FALSE for
 *   pst_password_keyring_release()
 * @password_file: (nullable): for adopt: the store's password file
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the caller's thread-default main context
 * @user_data: for @callback
 *
 * Either move in a worker thread.
 */
void
pst_password_keyring_move_async (const char          *store_path,
                                 gboolean             to_keyring,
                                 const char          *password_file,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  MoveJob *job;

  g_return_if_fail (store_path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_password_keyring_move_async);
  g_task_set_name (task, "pst_password_keyring_move_async");
  job = g_new0 (MoveJob, 1);
  job->store_path = g_strdup (store_path);
  job->password_file = g_strdup (password_file);
  job->adopt = to_keyring;
  g_task_set_task_data (task, job, (GDestroyNotify) move_job_free);
  g_task_run_in_thread (task, move_thread);
}

/**
 * pst_password_keyring_move_finish:
 * @result: the #GAsyncResult
 * @error: return location for the error of adopt or release
 *
 * Returns: (transfer full) (nullable): for release the password file
 *   written (or found); for adopt the store's path
 */
char *
pst_password_keyring_move_finish (GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
