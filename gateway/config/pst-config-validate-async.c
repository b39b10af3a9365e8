/* pst-config-validate-async.c: validation in a worker thread, on a snapshot of the configuration
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-config.h"

typedef struct {
  char             *xml;
  gsize             len;
  char             *path;
  PstValidateFlags  flags;
} Snapshot;

static void
snapshot_free (Snapshot *snapshot)
{
  g_free (snapshot->xml);
  g_free (snapshot->path);
  g_free (snapshot);
}

static void
validate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  Snapshot *snapshot = task_data;
  g_autoptr(PstConfig) copy = NULL;
  g_autoptr(GError) error = NULL;

  copy = pst_config_new_from_data (snapshot->xml, snapshot->len, snapshot->path, &error);
  if (copy == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, pst_config_validate_full (copy, snapshot->flags),
                         (GDestroyNotify) g_ptr_array_unref);
}

/**
 * pst_config_validate_async:
 * @self: a config
 * @flags: as for pst_config_validate_full()
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the findings
 * @user_data: data for @callback
 *
 * pst_config_validate_full() without blocking the caller: the document is
 * serialised now (cheap), then parsed again and validated — stores opened,
 * their key derivations run — in a worker thread, so that later edits of
 * @self do not race with it.  Line numbers are those of the serialised
 * text, which is what saving writes.
 */
void
pst_config_validate_async (PstConfig           *self,
                           PstValidateFlags     flags,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  Snapshot *snapshot;
  const char *path;

  g_return_if_fail (PST_IS_CONFIG (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_config_validate_async);
  g_task_set_name (task, "pst_config_validate_async");
  snapshot = g_new0 (Snapshot, 1);
  snapshot->xml = pst_config_to_xml (self, &snapshot->len);
  path = pst_config_get_display_path (self);
  snapshot->path = g_strdup (path != NULL ? path : pst_config_get_path (self));
  snapshot->flags = flags;
  g_task_set_task_data (task, snapshot, (GDestroyNotify) snapshot_free);
  if (snapshot->xml == NULL)
    {
      /* nothing to copy: validate the original here, it is quick without a document */
      g_task_return_pointer (task, pst_config_validate_full (self, flags), (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  g_task_run_in_thread (task, validate_thread);
}

/**
 * pst_config_validate_finish:
 * @self: a config
 * @result: the result given to the callback
 * @error: return location for a #GError (cancelled)
 *
 * Returns: (transfer container) (element-type PstDiagnostic): as
 *   pst_config_validate_full()
 */
GPtrArray *
pst_config_validate_finish (PstConfig     *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pst_config_validate_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
