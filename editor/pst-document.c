/* pst-document.c: an open gateway-config.xml: file, modified state, live diagnostics
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "pst-document.h"
#include "pst-service-item.h"

struct _PstDocument
{
  GObject     parent_instance;

  PstConfig  *config;
  GFile      *file;
  GListStore *services;     /* PstServiceItem */
  GListStore *diagnostics;  /* PstDiagnostic */
  guint       n_errors;
  guint       n_warnings;
  guint       validate_id;
  GCancellable *validate_cancellable;  /* a validation running in a worker thread */
  guint       modified : 1;
  guint       restoring : 1;

  /* Document undo: whole-text snapshots (the library's edits have no
   * inverse), each with whether it was the saved state. */
  GBytes     *snapshot;     /* the text of the current state */
  GPtrArray  *undo;         /* Snapshot, oldest first */
  GPtrArray  *redo;         /* Snapshot, the next redo last */
};

typedef struct {
  GBytes   *xml;
  gboolean  saved;
} Snapshot;

#define PST_DOCUMENT_MAX_UNDO 200

G_DEFINE_FINAL_TYPE (PstDocument, pst_document, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONFIG,
  PROP_FILE,
  PROP_TITLE,
  PROP_MODIFIED,
  PROP_N_ERRORS,
  PROP_N_WARNINGS,
  PROP_VALIDATION_PENDING,
  PROP_CAN_UNDO,
  PROP_CAN_REDO,
  N_PROPS
};

enum {
  CHANGED,
  EDIT_FAILED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void
set_modified (PstDocument *self,
              gboolean     modified)
{
  modified = !!modified;
  if (self->modified == modified)
    return;
  self->modified = modified;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
}

static void
sync_services (PstDocument *self)
{
  guint n = pst_config_get_n_services (self->config);
  guint have = g_list_model_get_n_items (G_LIST_MODEL (self->services));

  if (have > n)
    g_list_store_splice (self->services, n, have - n, NULL, 0);
  for (guint i = have; i < n; i++)
    {
      g_autoptr(PstServiceItem) item = pst_service_item_new (i);
      g_list_store_append (self->services, item);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstServiceItem) item = g_list_model_get_item (G_LIST_MODEL (self->services), i);
      pst_service_item_set_service (item, pst_config_get_service (self->config, i));
    }
}

static void
apply_diagnostics (PstDocument *self,
                   GPtrArray   *diagnostics)
{
  guint n_errors = 0, n_warnings = 0;
  guint n_services = g_list_model_get_n_items (G_LIST_MODEL (self->services));
  g_autofree guint *errors = g_new0 (guint, n_services + 1);
  g_autofree guint *warnings = g_new0 (guint, n_services + 1);

  for (guint i = 0; i < diagnostics->len; i++)
    {
      PstDiagnostic *diag = g_ptr_array_index (diagnostics, i);
      gboolean is_error = pst_diagnostic_get_severity (diag) == PST_SEVERITY_ERROR;
      const char *name = pst_diagnostic_get_service (diag);

      if (is_error)
        n_errors++;
      else
        n_warnings++;

      if (name == NULL)
        continue;
      for (guint s = 0; s < n_services; s++)
        {
          PstService *service = pst_config_get_service (self->config, s);

          if (service != NULL && g_strcmp0 (pst_service_get_name (service), name) == 0)
            {
              if (is_error)
                errors[s]++;
              else
                warnings[s]++;
              break;
            }
        }
    }

  g_list_store_splice (self->diagnostics, 0,
                       g_list_model_get_n_items (G_LIST_MODEL (self->diagnostics)),
                       diagnostics->pdata, diagnostics->len);

  for (guint s = 0; s < n_services; s++)
    {
      g_autoptr(PstServiceItem) item = g_list_model_get_item (G_LIST_MODEL (self->services), s);
      pst_service_item_set_counts (item, errors[s], warnings[s]);
    }

  if (self->n_errors != n_errors)
    {
      self->n_errors = n_errors;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ERRORS]);
    }
  if (self->n_warnings != n_warnings)
    {
      self->n_warnings = n_warnings;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_WARNINGS]);
    }
}

static gboolean
is_pending (PstDocument *self)
{
  return self->validate_id != 0 || self->validate_cancellable != NULL;
}

void
pst_document_validate_now (PstDocument *self)
{
  g_autoptr(GPtrArray) diagnostics = NULL;
  gboolean was_pending;

  g_return_if_fail (PST_IS_DOCUMENT (self));

  was_pending = is_pending (self);
  g_clear_handle_id (&self->validate_id, g_source_remove);
  if (self->validate_cancellable != NULL)
    {
      g_cancellable_cancel (self->validate_cancellable);
      g_clear_object (&self->validate_cancellable);
    }

  /* On the caller's thread: for a save or a run that needs the answer now. */
  diagnostics = pst_config_validate (self->config);
  if (diagnostics == NULL)
    diagnostics = g_ptr_array_new_with_free_func (g_object_unref);
  apply_diagnostics (self, diagnostics);

  if (was_pending)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALIDATION_PENDING]);
}

gboolean
pst_document_get_validation_pending (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return is_pending (self);
}

static void
validated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstDocument) self = user_data;
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autoptr(GError) error = NULL;

  diagnostics = pst_config_validate_finish (PST_CONFIG (source), result, &error);
  /* cancelled: a newer validation (or a config swap) took over */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      PST_CONFIG (source) != self->config)
    return;
  g_clear_object (&self->validate_cancellable);
  if (diagnostics == NULL)
    {
      /* the copy did not parse (it cannot: it is the document's own text) */
      g_warning ("validation in the background failed: %s", error->message);
      diagnostics = pst_config_validate (self->config);
    }
  apply_diagnostics (self, diagnostics);
  if (!is_pending (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALIDATION_PENDING]);
}

/* Validation opens the stores (a PBKDF2 derivation each): in a worker
 * thread, so that the window keeps drawing while it runs. */
static void
validate_in_background (PstDocument *self)
{
  gboolean was_pending = is_pending (self);

  g_clear_handle_id (&self->validate_id, g_source_remove);
  if (self->validate_cancellable != NULL)
    g_cancellable_cancel (self->validate_cancellable);
  g_set_object (&self->validate_cancellable, NULL);
  self->validate_cancellable = g_cancellable_new ();
  pst_config_validate_async (self->config, PST_VALIDATE_DEFAULT, self->validate_cancellable,
                             validated_cb, g_object_ref (self));
  if (!was_pending)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALIDATION_PENDING]);
}

/**
 * pst_document_validate_async:
 * @self: a document
 *
 * Validates again now, in a worker thread (a store changed on disk):
 * validation-pending is %TRUE until the diagnostics are replaced.
 */
void
pst_document_validate_async (PstDocument *self)
{
  g_return_if_fail (PST_IS_DOCUMENT (self));
  validate_in_background (self);
}

static gboolean
validate_timeout_cb (gpointer user_data)
{
  PstDocument *self = user_data;

  self->validate_id = 0;
  validate_in_background (self);
  return G_SOURCE_REMOVE;
}

static void
queue_validate (PstDocument *self)
{
  gboolean was_pending = is_pending (self);

  g_clear_handle_id (&self->validate_id, g_source_remove);
  /* what runs now would be stale when it ends */
  if (self->validate_cancellable != NULL)
    {
      g_cancellable_cancel (self->validate_cancellable);
      g_clear_object (&self->validate_cancellable);
    }
  self->validate_id = g_timeout_add (PST_DOCUMENT_VALIDATE_DELAY_MS, validate_timeout_cb, self);
  g_source_set_name_by_id (self->validate_id, "[postern-editor] validate");
  if (!was_pending)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALIDATION_PENDING]);
}

static void
snapshot_free (Snapshot *snapshot)
{
  g_bytes_unref (snapshot->xml);
  g_free (snapshot);
}

static GBytes *
take_snapshot (PstDocument *self)
{
  gsize len = 0;
  char *xml = pst_config_to_xml (self->config, &len);

  return xml != NULL ? g_bytes_new_take (xml, len) : NULL;
}

static void
notify_history (PstDocument *self,
                gboolean     could_undo,
                gboolean     could_redo)
{
  if (could_undo != (self->undo->len > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_UNDO]);
  if (could_redo != (self->redo->len > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CAN_REDO]);
}

/* An edit: the state before it becomes an undo step; redo is forgotten. */
static void
record_edit (PstDocument *self)
{
  gboolean could_undo = self->undo->len > 0, could_redo = self->redo->len > 0;
  g_autoptr(GBytes) now = take_snapshot (self);
  Snapshot *before;

  if (self->restoring || now == NULL)
    return;
  if (self->snapshot != NULL && g_bytes_equal (self->snapshot, now))
    return;
  if (self->snapshot != NULL)
    {
      before = g_new0 (Snapshot, 1);
      before->xml = g_steal_pointer (&self->snapshot);
      before->saved = FALSE;
      g_ptr_array_add (self->undo, before);
      if (self->undo->len > PST_DOCUMENT_MAX_UNDO)
        g_ptr_array_remove_index (self->undo, 0);
    }
  g_clear_pointer (&self->snapshot, g_bytes_unref);
  self->snapshot = g_steal_pointer (&now);
  g_ptr_array_set_size (self->redo, 0);
  notify_history (self, could_undo, could_redo);
}

static void
config_changed_cb (PstDocument *self)
{
  /* the state before this edit was saved if the document was not modified */
  if (!self->restoring && self->undo != NULL)
    {
      gboolean was_saved = !self->modified;
      guint before = self->undo->len;

      record_edit (self);
      if (self->undo->len > before)
        ((Snapshot *) g_ptr_array_index (self->undo, self->undo->len - 1))->saved = was_saved;
    }
  sync_services (self);
  set_modified (self, TRUE);
  queue_validate (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
set_config (PstDocument *self,
            PstConfig   *config)
{
  if (self->config != NULL)
    g_signal_handlers_disconnect_by_data (self->config, self);
  g_set_object (&self->config, config);
  /* PstConfig emits ::changed after every edit (pst-config.h). */
  g_signal_connect_object (config, "changed", G_CALLBACK (config_changed_cb),
                           self, G_CONNECT_SWAPPED);
  sync_services (self);
  if (!self->restoring)
    {
      g_clear_pointer (&self->snapshot, g_bytes_unref);
      self->snapshot = take_snapshot (self);
    }
  validate_in_background (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONFIG]);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
pst_document_dispose (GObject *object)
{
  PstDocument *self = PST_DOCUMENT (object);

  g_clear_handle_id (&self->validate_id, g_source_remove);
  if (self->validate_cancellable != NULL)
    g_cancellable_cancel (self->validate_cancellable);
  g_clear_object (&self->validate_cancellable);
  if (self->config != NULL)
    g_signal_handlers_disconnect_by_data (self->config, self);
  g_clear_object (&self->config);
  g_clear_object (&self->file);
  g_clear_object (&self->services);
  g_clear_object (&self->diagnostics);
  g_clear_pointer (&self->snapshot, g_bytes_unref);
  g_clear_pointer (&self->undo, g_ptr_array_unref);
  g_clear_pointer (&self->redo, g_ptr_array_unref);
  G_OBJECT_CLASS (pst_document_parent_class)->dispose (object);
}

static void
pst_document_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PstDocument *self = PST_DOCUMENT (object);

  switch (prop_id)
    {
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_FILE:
      g_value_set_object (value, self->file);
      break;
    case PROP_TITLE:
      g_value_take_string (value, pst_document_dup_display_name (self));
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, self->modified);
      break;
    case PROP_N_ERRORS:
      g_value_set_uint (value, self->n_errors);
      break;
    case PROP_N_WARNINGS:
      g_value_set_uint (value, self->n_warnings);
      break;
    case PROP_VALIDATION_PENDING:
      g_value_set_boolean (value, is_pending (self));
      break;
    case PROP_CAN_UNDO:
      g_value_set_boolean (value, self->undo->len > 0);
      break;
    case PROP_CAN_REDO:
      g_value_set_boolean (value, self->redo->len > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_document_class_init (PstDocumentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_document_dispose;
  object_class->get_property = pst_document_get_property;

  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, PST_TYPE_CONFIG,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FILE] =
    g_param_spec_object ("file", NULL, NULL, G_TYPE_FILE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] =
    g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ERRORS] =
    g_param_spec_uint ("n-errors", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_WARNINGS] =
    g_param_spec_uint ("n-warnings", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_VALIDATION_PENDING] =
    g_param_spec_boolean ("validation-pending", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_UNDO] =
    g_param_spec_boolean ("can-undo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CAN_REDO] =
    g_param_spec_boolean ("can-redo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* After the model changed (an edit, or a new config after Save As). */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* An edit the library refused; the message is for the user. */
  signals[EDIT_FAILED] =
    g_signal_new ("edit-failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
pst_document_init (PstDocument *self)
{
  self->services = g_list_store_new (PST_TYPE_SERVICE_ITEM);
  self->diagnostics = g_list_store_new (PST_TYPE_DIAGNOSTIC);
  self->undo = g_ptr_array_new_with_free_func ((GDestroyNotify) snapshot_free);
  self->redo = g_ptr_array_new_with_free_func ((GDestroyNotify) snapshot_free);
}

static PstDocument *
document_new (PstConfig *config,
              GFile     *file)
{
  PstDocument *self = g_object_new (PST_TYPE_DOCUMENT, NULL);

  self->file = file != NULL ? g_object_ref (file) : NULL;
  set_config (self, config);
  return self;
}

PstDocument *
pst_document_new_default (GError **error)
{
  const char *text = pst_config_get_default_text ();
  g_autoptr(PstConfig) config = NULL;

  config = pst_config_new_from_data (text, strlen (text), NULL, error);
  if (config == NULL)
    return NULL;
  return document_new (config, NULL);
}

PstDocument *
pst_document_new_for_file (GFile   *file,
                           GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr(PstConfig) config = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("Cannot open “%s”: only local files are supported"), uri);
      return NULL;
    }
  config = pst_config_new_from_file (path, error);
  if (config == NULL)
    return NULL;
  return document_new (config, file);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GFile *file = task_data;
  g_autofree char *path = g_file_get_path (file);
  GError *error = NULL;
  PstConfig *config;

  if (path == NULL)
    {
      g_autofree char *uri = g_file_get_uri (file);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("Cannot open “%s”: only local files are supported"), uri);
      return;
    }
  config = pst_config_new_from_file (path, &error);
  if (config == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, config, g_object_unref);
}

void
pst_document_load_async (GFile               *file,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (G_IS_FILE (file));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_document_load_async);
  g_task_set_name (task, "[postern-editor] load");
  g_task_set_task_data (task, g_object_ref (file), g_object_unref);
  g_task_run_in_thread (task, load_thread);
}

PstDocument *
pst_document_load_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_autoptr(PstConfig) config = NULL;
  GFile *file;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);

  config = g_task_propagate_pointer (G_TASK (result), error);
  if (config == NULL)
    return NULL;
  file = g_task_get_task_data (G_TASK (result));
  return document_new (config, file);
}

gboolean
pst_document_save (PstDocument  *self,
                   GFile        *file,
                   GError      **error)
{
  g_autofree char *path = NULL;
  gboolean new_place;

  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);

  if (file == NULL)
    file = self->file;
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  path = g_file_get_path (file);
  if (path == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   _("Only local files can be saved"));
      return FALSE;
    }

  if (!pst_config_save (self->config, path, error))
    return FALSE;

  new_place = self->file == NULL || !g_file_equal (file, self->file);
  if (new_place)
    {
      g_autoptr(PstConfig) config = NULL;

      /* Relative store paths now resolve against the new folder: reload the
       * model from what was written rather than guess. */
      config = pst_config_new_from_file (path, error);
      if (config == NULL)
        return FALSE;
      g_set_object (&self->file, file);
      set_config (self, config);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILE]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
    }

  set_modified (self, FALSE);
  /* only the current state is the saved one now */
  for (guint i = 0; i < self->undo->len; i++)
    ((Snapshot *) g_ptr_array_index (self->undo, i))->saved = FALSE;
  for (guint i = 0; i < self->redo->len; i++)
    ((Snapshot *) g_ptr_array_index (self->redo, i))->saved = FALSE;
  return TRUE;
}

PstConfig *
pst_document_get_config (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  return self->config;
}

GFile *
pst_document_get_file (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  return self->file;
}

char *
pst_document_dup_display_name (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);

  if (self->file == NULL)
    return g_strdup (_("Unsaved configuration"));
  return g_file_get_basename (self->file);
}

gboolean
pst_document_get_modified (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return self->modified;
}

gboolean
pst_document_is_pristine (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return self->file == NULL && !self->modified;
}

GListModel *
pst_document_get_services (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  return G_LIST_MODEL (self->services);
}

GListModel *
pst_document_get_diagnostics (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  return G_LIST_MODEL (self->diagnostics);
}

guint
pst_document_get_n_errors (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), 0);
  return self->n_errors;
}

guint
pst_document_get_n_warnings (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), 0);
  return self->n_warnings;
}

char *
pst_document_relative_path (PstDocument *self,
                            const char  *path)
{
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GFile) file = NULL;
  char *relative;

  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  g_return_val_if_fail (path != NULL, NULL);

  /* An unsaved configuration has no folder yet: a relative path would be
   * resolved against wherever it is saved later. */
  if (self->file == NULL || !g_path_is_absolute (path))
    return g_strdup (path);
  folder = g_file_new_for_path (pst_config_get_directory (self->config));
  file = g_file_new_for_path (path);
  relative = g_file_get_relative_path (folder, file);
  return relative != NULL ? relative : g_strdup (path);
}

char *
pst_document_dup_local_ca_path (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), NULL);
  return pst_config_resolve_path (self->config, "devca.p12");
}

gboolean
pst_document_restore (PstDocument  *self,
                      const char   *xml,
                      gsize         len,
                      gboolean      modified,
                      GError      **error)
{
  g_autoptr(PstConfig) config = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  g_return_val_if_fail (xml != NULL, FALSE);

  if (self->file != NULL)
    path = g_file_get_path (self->file);
  config = pst_config_new_from_data (xml, len, path, error);
  if (config == NULL)
    return FALSE;
  set_config (self, config);
  set_modified (self, modified);
  return TRUE;
}

void
pst_document_report_error (PstDocument  *self,
                           const GError *error)
{
  g_return_if_fail (PST_IS_DOCUMENT (self));
  g_return_if_fail (error != NULL);

  g_signal_emit (self, signals[EDIT_FAILED], 0, error->message);
}

gboolean
pst_document_get_can_undo (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return self->undo->len > 0;
}

gboolean
pst_document_get_can_redo (PstDocument *self)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return self->redo->len > 0;
}

/* Moves one step from `from` to `to`: the current state goes onto `to`. */
static gboolean
step (PstDocument  *self,
      GPtrArray    *from,
      GPtrArray    *to,
      GError      **error)
{
  gboolean could_undo = self->undo->len > 0, could_redo = self->redo->len > 0;
  Snapshot *target;
  Snapshot *current;
  gsize len;
  const char *xml;
  gboolean ok;

  if (from->len == 0)
    return FALSE;
  target = g_ptr_array_steal_index (from, from->len - 1);
  current = g_new0 (Snapshot, 1);
  current->xml = self->snapshot != NULL ? g_bytes_ref (self->snapshot) : take_snapshot (self);
  current->saved = !self->modified;

  xml = g_bytes_get_data (target->xml, &len);
  self->restoring = TRUE;
  ok = pst_document_restore (self, xml, len, !target->saved, error);
  self->restoring = FALSE;
  if (!ok)
    {
      g_ptr_array_add (from, target);
      snapshot_free (current);
      return FALSE;
    }
  g_ptr_array_add (to, current);
  g_clear_pointer (&self->snapshot, g_bytes_unref);
  self->snapshot = g_bytes_ref (target->xml);
  snapshot_free (target);
  notify_history (self, could_undo, could_redo);
  return TRUE;
}

gboolean
pst_document_undo (PstDocument  *self,
                   GError      **error)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return step (self, self->undo, self->redo, error);
}

gboolean
pst_document_redo (PstDocument  *self,
                   GError      **error)
{
  g_return_val_if_fail (PST_IS_DOCUMENT (self), FALSE);
  return step (self, self->redo, self->undo, error);
}
