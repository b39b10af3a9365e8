/* pst-store-edit.c: a change to a store file, made in a worker thread
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-store-edit.h"

typedef struct {
  char              *path;
  char              *password_file;
  PstStoreOpenFlags  flags;
  PstStoreEditFunc   edit;
  gpointer           data;
  GDestroyNotify     data_free;
} EditData;

static void
edit_data_free (EditData *edit)
{
  if (edit->data_free != NULL && edit->data != NULL)
    edit->data_free (edit->data);
  g_free (edit->path);
  g_free (edit->password_file);
  g_free (edit);
}

static void
edit_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  EditData *edit = task_data;
  g_auto(PstStoreFile) sf = { 0 };
  GError *error = NULL;

  /* Once started, the change is made even if the caller went away: a
   * half-made change would be worse than a late one. */
  if (!pst_store_file_open (&sf, edit->path, edit->password_file, edit->flags, &error) ||
      !edit->edit (&sf, edit->data, &error) ||
      (!sf.saved && !pst_store_file_save (&sf, &error)))
    {
      pst_store_file_abandon (&sf);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

void
pst_store_edit_async (const char          *path,
                      const char          *password_file,
                      PstStoreOpenFlags    flags,
                      PstStoreEditFunc     edit,
                      gpointer             data,
                      GDestroyNotify       data_free,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  EditData *task_data;

  g_return_if_fail (path != NULL);
  g_return_if_fail (edit != NULL);

  task_data = g_new0 (EditData, 1);
  task_data->path = g_strdup (path);
  task_data->password_file = g_strdup (password_file);
  task_data->flags = flags;
  task_data->edit = edit;
  task_data->data = data;
  task_data->data_free = data_free;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_store_edit_async);
  g_task_set_name (task, "[postern-editor] store edit");
  g_task_set_task_data (task, task_data, (GDestroyNotify) edit_data_free);
  g_task_run_in_thread (task, edit_thread);
}

gboolean
pst_store_edit_finish (GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
