/* pst-password-keyring.c: store passwords in the desktop keyring (Secret Service via libsecret)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <libsecret/secret.h>
#include <string.h>

#include "pst-password.h"
#include "pst-password-keyring.h"

G_DEFINE_QUARK (pst-keyring-error-quark, pst_keyring_error)

static const SecretSchema store_schema = {
  PST_KEYRING_SCHEMA, SECRET_SCHEMA_NONE,
  {
    { PST_KEYRING_ATTRIBUTE, SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  }
};

/**
 * pst_password_keyring_key:
 * @store_path: a store file
 *
 * Returns: (transfer full): the store's absolute, canonical path, the value
 *   of the keyring item's "store" attribute
 */
char *
pst_password_keyring_key (const char *store_path)
{
  g_return_val_if_fail (store_path != NULL, NULL);
  return g_canonicalize_filename (store_path, NULL);
}

/* No session bus (headless), or a bus without org.freedesktop.secrets:
 * the two cases a user fixes the same way. */
static gboolean
is_unreachable (const GError *error)
{
  return error->domain == G_IO_ERROR ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_SERVER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_DISCONNECTED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_FILE_NOT_FOUND);
}

static void
set_error (GError     **error,
           GError      *cause,
           const char  *store_path)
{
  g_autofree char *pw = pst_password_default_path (store_path);
  g_autofree char *cause_text = g_strdup (cause->message);

  g_strstrip (cause_text);
  if (is_unreachable (cause))
    g_set_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_UNREACHABLE,
                 _("cannot reach the keyring that keeps the password of %s (%s): there is no Secret Service "
                   "on a D-Bus session bus, as when running headless. "
                   "Run it in a desktop session with an unlocked keyring (or under dbus-run-session with "
                   "gnome-keyring-daemon --unlock), or keep the password in a file instead: write it to %s "
                   "(one line, chmod 600) and use <password-file> (--password-file) instead of the keyring"),
                 store_path, cause_text, pw);
  else
    g_set_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_FAILED,
                 _("the keyring did not give the password of %s (%s); unlock the keyring and try again, "
                   "or keep the password in a file instead: write it to %s (one line, chmod 600) and use "
                   "<password-file> (--password-file)"),
                 store_path, cause_text, pw);
}

/* After a lookup found nothing: is there an item, locked? (Searching
 * without SECRET_SEARCH_UNLOCK never prompts.) */
static gboolean
item_is_locked (const char *key)
{
  g_autoptr(GHashTable) attributes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GError) error = NULL;
  GList *items;
  gboolean locked = FALSE;

  g_hash_table_insert (attributes, (gpointer) PST_KEYRING_ATTRIBUTE, (gpointer) key);
  items = secret_service_search_sync (NULL, &store_schema, attributes, SECRET_SEARCH_ALL, NULL, &error);
  for (GList *l = items; l != NULL; l = l->next)
    locked = locked || secret_item_get_locked (l->data);
  g_list_free_full (items, g_object_unref);
  return locked;
}

/**
 * pst_password_keyring_lookup:
 * @store_path: a store file
 * @error: return location for a #PstKeyringError
 *
 * Blocks on D-Bus: call it when loading, never per connection.
 *
 * Returns: (transfer full) (nullable): the store's password; free with
 *   pst_password_free()
 */
char *
pst_password_keyring_lookup (const char  *store_path,
                             GError     **error)
{
  g_autofree char *key = NULL;
  g_autoptr(GError) local_error = NULL;
  char *secret;
  char *password;

  g_return_val_if_fail (store_path != NULL, NULL);

  key = pst_password_keyring_key (store_path);
  secret = secret_password_lookup_sync (&store_schema, NULL, &local_error,
                                        PST_KEYRING_ATTRIBUTE, key, NULL);
  if (local_error != NULL)
    {
      set_error (error, local_error, store_path);
      return NULL;
    }
  if (secret == NULL && item_is_locked (key))
    {
      g_autofree char *pw = pst_password_default_path (store_path);

      /* libsecret asked to unlock it and the prompt failed or was dismissed */
      g_set_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_LOCKED,
                   _("the keyring that keeps the password of %s is locked and could not be unlocked "
                     "here (no prompt, or it was dismissed); unlock it in the desktop session and try "
                     "again, or keep the password in a file instead: write it to %s (one line, "
                     "chmod 600) and use <password-file> (--password-file)"),
                   store_path, pw);
      return NULL;
    }
  if (secret == NULL)
    {
      g_autofree char *pw = pst_password_default_path (store_path);

      g_set_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_NOT_FOUND,
                   _("the keyring holds no password for %s; store it with “secret-tool store --label=%s "
                     "xdg:schema %s %s %s” (it reads the password on its standard input), or keep it in "
                     "a file instead: write it to %s (one line, chmod 600) and use <password-file> "
                     "(--password-file)"),
                   store_path, "'Postern store password'", PST_KEYRING_SCHEMA, PST_KEYRING_ATTRIBUTE,
                   key, pw);
      return NULL;
    }
  /* libsecret's copy is wiped by secret_password_free(); ours by
   * pst_password_free() */
  password = g_strdup (secret);
  secret_password_free (secret);
  return password;
}

/**
 * pst_password_keyring_store:
 * @store_path: a store file
 * @password: its password
 * @error: return location for a #PstKeyringError
 *
 * Stores (or replaces) the password of @store_path in the default
 * collection.  Blocks on D-Bus.
 *
 * Returns: %TRUE when stored
 */
gboolean
pst_password_keyring_store (const char  *store_path,
                            const char  *password,
                            GError     **error)
{
  g_autofree char *key = NULL;
  g_autofree char *label = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (store_path != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);

  key = pst_password_keyring_key (store_path);
  label = g_strdup_printf (_("Postern store password for %s"), key);
  if (!secret_password_store_sync (&store_schema, SECRET_COLLECTION_DEFAULT, label, password,
                                   NULL, &local_error, PST_KEYRING_ATTRIBUTE, key, NULL))
    {
      set_error (error, local_error, store_path);
      return FALSE;
    }
  return TRUE;
}

/**
 * pst_password_keyring_clear:
 * @store_path: a store file
 * @error: return location for a #PstKeyringError
 *
 * Removes the password of @store_path from the keyring.  Blocks on D-Bus.
 *
 * Returns: %TRUE when the keyring holds no password for it any more
 */
gboolean
pst_password_keyring_clear (const char  *store_path,
                            GError     **error)
{
  g_autofree char *key = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (store_path != NULL, FALSE);

  key = pst_password_keyring_key (store_path);
  secret_password_clear_sync (&store_schema, NULL, &local_error, PST_KEYRING_ATTRIBUTE, key, NULL);
  if (local_error != NULL)
    {
      set_error (error, local_error, store_path);
      return FALSE;
    }
  return TRUE;
}

/**
 * pst_password_keyring_lookup_or_create:
 * @store_path: a store file
 * @created: (out) (optional): set to %TRUE when this call stored a new one
 * @error: return location for a #PstKeyringError
 *
 * The keyring's password for @store_path, or a new random one stored
 * there, as commands that create a store do.
 *
 * Returns: (transfer full) (nullable): the password; free with
 *   pst_password_free()
 */
char *
pst_password_keyring_lookup_or_create (const char  *store_path,
                                       gboolean    *created,
                                       GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *password;

  g_return_val_if_fail (store_path != NULL, NULL);

  if (created != NULL)
    *created = FALSE;
  password = pst_password_keyring_lookup (store_path, &local_error);
  if (password != NULL)
    return password;
  if (!g_error_matches (local_error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  if ((password = pst_password_generate (error)) == NULL)
    return NULL;
  if (!pst_password_keyring_store (store_path, password, error))
    {
      pst_password_free (password);
      return NULL;
    }
  if (created != NULL)
    *created = TRUE;
  return password;
}

/* ------------------------------------------------------------------ */
/* The same off the caller's thread, for the editor                    */

typedef struct {
  char *store_path;
  char *password;   /* wiped */
} KeyringJob;

static void
keyring_job_free (KeyringJob *job)
{
  g_free (job->store_path);
  pst_password_free (job->password);
  g_free (job);
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  KeyringJob *job = task_data;
  GError *error = NULL;
  char *password = pst_password_keyring_lookup (job->store_path, &error);

  if (password == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, password, (GDestroyNotify) pst_password_free);
}

/**
 * pst_password_keyring_lookup_async:
 * @store_path: a store file
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the caller's thread-default main context
 * @user_data: for @callback
 *
 * pst_password_keyring_lookup() in a worker thread.
 */
void
pst_password_keyring_lookup_async (const char          *store_path,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  KeyringJob *job;

  g_return_if_fail (store_path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_password_keyring_lookup_async);
  g_task_set_name (task, "pst_password_keyring_lookup_async");
  job = g_new0 (KeyringJob, 1);
  job->store_path = g_strdup (store_path);
  g_task_set_task_data (task, job, (GDestroyNotify) keyring_job_free);
  g_task_run_in_thread (task, lookup_thread);
}

/**
 * pst_password_keyring_lookup_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #PstKeyringError
 *
 * Returns: (transfer full) (nullable): the password; free with
 *   pst_password_free()
 */
char *
pst_password_keyring_lookup_finish (GAsyncResult  *result,
                                    GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
store_thread (GTask        *task,
              gpointer      source_object,
              gpointer      task_data,
              GCancellable *cancellable)
{
  KeyringJob *job = task_data;
  GError *error = NULL;

  if (pst_password_keyring_store (job->store_path, job->password, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * pst_password_keyring_store_async:
 * @store_path: a store file
 * @password: its password (copied)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the caller's thread-default main context
 * @user_data: for @callback
 *
 * pst_password_keyring_store() in a worker thread.
 */
void
pst_password_keyring_store_async (const char          *store_path,
                                  const char          *password,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  KeyringJob *job;

  g_return_if_fail (store_path != NULL);
  g_return_if_fail (password != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_password_keyring_store_async);
  g_task_set_name (task, "pst_password_keyring_store_async");
  job = g_new0 (KeyringJob, 1);
  job->store_path = g_strdup (store_path);
  job->password = g_strdup (password);
  g_task_set_task_data (task, job, (GDestroyNotify) keyring_job_free);
  g_task_run_in_thread (task, store_thread);
}

/**
 * pst_password_keyring_store_finish:
 * @result: the #GAsyncResult
 * @error: return location for a #PstKeyringError
 *
 * Returns: %TRUE when stored
 */
gboolean
pst_password_keyring_store_finish (GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
