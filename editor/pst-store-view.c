/* pst-store-view.c: the store inspector (keystore or truststore entries)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "pst-cert-util.h"
#include "pst-entry-cell.h"
#include "pst-export-dialog.h"
#include "pst-password.h"
#include "pst-store-edit.h"
#include "pst-store-file.h"
#include "pst-store-view.h"
#include "pst-trust-dialog.h"
#include "pst-window.h"

struct _PstStoreView
{
  AdwWindow           parent_instance;

  char               *path;
  char               *password_file;
  gboolean            password_keyring;
  PstKeystore        *keystore;
  GListStore         *entries;
  GtkFileChooserNative *chooser;
  GCancellable       *load_cancellable;  /* the store being opened in a worker thread */
  GCancellable       *cancellable;       /* writes in worker threads: cancelled on close */
  guint               missing : 1;  /* the file does not exist yet: adding makes it */

  AdwWindowTitle     *window_title;
  AdwToastOverlay    *toast_overlay;
  GtkRevealer        *read_only_revealer;
  GtkStack           *stack;
  GtkSpinner         *spinner;
  AdwStatusPage      *error_page;
  GtkColumnView      *column_view;
  GtkSingleSelection *selection;
  GtkLabel           *details_label;
};

/* where the store's password is, for pst_store_file_open() */
#define PASSWORD_FILE(self) ((self)->password_keyring ? NULL : (self)->password_file)
#define KEYRING(self)       ((self)->password_keyring ? PST_STORE_OPEN_KEYRING : 0)

G_DEFINE_FINAL_TYPE (PstStoreView, pst_store_view, ADW_TYPE_WINDOW)

enum {
  CHANGED,
  CONVERTED,
  LOADED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
toast (PstStoreView *self,
       const char   *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
update_actions (PstStoreView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  PstStoreEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  gboolean read_only = self->keystore != NULL && pst_keystore_is_read_only (self->keystore);
  gboolean writable = (self->keystore != NULL && !read_only) || self->missing;

  gtk_widget_action_set_enabled (widget, "store.remove", entry != NULL && writable);
  gtk_widget_action_set_enabled (widget, "store.export", entry != NULL);
  gtk_widget_action_set_enabled (widget, "store.import", writable);
  gtk_widget_action_set_enabled (widget, "store.trust-server", writable);
  gtk_widget_action_set_enabled (widget, "store.convert", read_only);
}

static void
selection_changed_cb (PstStoreView *self)
{
  PstStoreEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  static const struct {
    const char *column;
    const char *label;
  } rows[] = {
    { "alias", N_("Alias") },
    { "kind", N_("Kind") },
    { "subject", N_("Subject") },
    { "issuer", N_("Issuer") },
    { "sans", N_("Names (SAN)") },
    { "valid-until", N_("Valid until") },
    { "key-type", N_("Key") },
    { "fingerprint", N_("SHA-256") },
  };
  g_autoptr(GString) details = g_string_new (NULL);

  update_actions (self);
  if (entry == NULL)
    {
      gtk_label_set_label (self->details_label, "");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *value = pst_entry_cell_format (entry, rows[i].column);
      g_autofree char *escaped = g_markup_escape_text (value != NULL ? value : "", -1);

      g_string_append_printf (details, "%s<b>%s</b>  %s", i > 0 ? "\n" : "", _(rows[i].label), escaped);
    }
  gtk_label_set_markup (self->details_label, details->str);
}

/* Opening a store (PBKDF2 rounds, a keyring lookup) happens in a worker
 * thread; the result is applied here, on the main thread. */

typedef struct {
  char     *path;
  char     *password_file;
  gboolean  password_keyring;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->path);
  g_free (data->password_file);
  g_free (data);
}

static void
load_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  LoadData *data = task_data;
  GError *error = NULL;
  PstKeystore *keystore;

  keystore = pst_keystore_open_full (data->path, data->password_file, data->password_keyring, &error);
  if (keystore == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, keystore, g_object_unref);
}

static void
set_loading (PstStoreView *self,
             gboolean      loading)
{
  gtk_spinner_set_spinning (self->spinner, loading);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  PstStoreView *self = PST_STORE_VIEW (source);
  g_autoptr(GError) error = NULL;
  PstKeystore *keystore;

  keystore = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the window closed, or a newer load replaced this one */
  g_clear_object (&self->load_cancellable);

  self->keystore = keystore;
  self->missing = keystore == NULL &&
                  g_error_matches (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND);
  if (keystore == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      adw_status_page_set_title (self->error_page,
                                 self->missing ? _("The Store Does Not Exist Yet")
                                               : _("Cannot Read the Store"));
      gtk_stack_set_visible_child_name (self->stack, "error");
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_revealer_set_reveal_child (self->read_only_revealer, FALSE);
      update_actions (self);
    }
  else
    {
      for (guint i = 0; i < pst_keystore_get_n_entries (keystore); i++)
        g_list_store_append (self->entries, pst_keystore_get_entry (keystore, i));
      adw_window_title_set_subtitle (self->window_title,
                                     pst_store_format_to_string (pst_keystore_get_format (keystore)));
      gtk_revealer_set_reveal_child (self->read_only_revealer, pst_keystore_is_read_only (keystore));
      gtk_stack_set_visible_child_name (self->stack, "entries");
      selection_changed_cb (self);
    }
  set_loading (self, FALSE);
  g_signal_emit (self, signals[LOADED], 0, keystore != NULL);
}

void
pst_store_view_reload (PstStoreView *self)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *basename = NULL;
  LoadData *data;

  g_return_if_fail (PST_IS_STORE_VIEW (self));

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();

  g_clear_object (&self->keystore);
  self->missing = FALSE;
  g_list_store_remove_all (self->entries);
  basename = g_path_get_basename (self->path);
  adw_window_title_set_title (self->window_title, basename);
  adw_window_title_set_subtitle (self->window_title, NULL);
  gtk_revealer_set_reveal_child (self->read_only_revealer, FALSE);
  gtk_stack_set_visible_child_name (self->stack, "loading");
  update_actions (self);

  data = g_new0 (LoadData, 1);
  data->path = g_strdup (self->path);
  data->password_file = g_strdup (self->password_file);
  data->password_keyring = self->password_keyring;
  task = g_task_new (self, self->load_cancellable, loaded_cb, NULL);
  g_task_set_source_tag (task, pst_store_view_reload);
  g_task_set_name (task, "[postern-editor] open store");
  g_task_set_task_data (task, data, (GDestroyNotify) load_data_free);
  g_task_run_in_thread (task, load_thread);
  set_loading (self, TRUE);
}

gboolean
pst_store_view_get_loading (PstStoreView *self)
{
  g_return_val_if_fail (PST_IS_STORE_VIEW (self), FALSE);
  return self->load_cancellable != NULL;
}

gboolean
pst_store_view_is_open (PstStoreView *self)
{
  g_return_val_if_fail (PST_IS_STORE_VIEW (self), FALSE);
  return self->keystore != NULL;
}

GListModel *
pst_store_view_get_entries (PstStoreView *self)
{
  g_return_val_if_fail (PST_IS_STORE_VIEW (self), NULL);
  return G_LIST_MODEL (self->entries);
}

static void
reload_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  pst_store_view_reload (PST_STORE_VIEW (widget));
}

static void
stored (PstStoreView *self,
        const char   *message)
{
  toast (self, message);
  pst_store_view_reload (self);
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Writing the store (open, change, save: PBKDF2 rounds, perhaps a keyring
 * lookup) happens in a worker thread too; the view reloads after. */

typedef struct {
  PstStoreView *self;
  char         *message;   /* the toast when it worked */
} Written;

static void
written_free (Written *written)
{
  g_object_unref (written->self);
  g_free (written->message);
  g_free (written);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Written, written_free)

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Written) written = user_data;
  g_autoptr(GError) error = NULL;

  if (!pst_store_edit_finish (result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          toast (written->self, error->message);
          pst_store_view_reload (written->self);
        }
      return;
    }
  stored (written->self, written->message);
}

static void
write_store (PstStoreView     *self,
             PstStoreEditFunc  edit,
             gpointer          data,
             GDestroyNotify    data_free,
             PstStoreOpenFlags flags,
             char             *message)
{
  Written *written = g_new0 (Written, 1);

  written->self = g_object_ref (self);
  written->message = message;
  /* nothing else may change the store meanwhile */
  g_clear_object (&self->keystore);
  self->missing = FALSE;
  update_actions (self);
  pst_store_edit_async (self->path, PASSWORD_FILE (self), flags | KEYRING (self),
                        edit, data, data_free, self->cancellable, written_cb, written);
}

static gboolean
remove_entry (PstStoreFile  *sf,
              gpointer       data,
              GError       **error)
{
  if (!pst_keystore_remove (sf->store, data))
    {
      g_set_error_literal (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND,
                           _("The entry is no longer in the store"));
      return FALSE;
    }
  return TRUE;
}

static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstStoreView *self = PST_STORE_VIEW (widget);
  PstStoreEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  const char *alias;

  if (entry == NULL || self->keystore == NULL)
    return;
  alias = pst_store_entry_get_alias (entry);
  write_store (self, remove_entry, g_strdup (alias), g_free, PST_STORE_OPEN_WRITE,
               g_strdup_printf (_("“%s” removed from the store"), alias));
}

/* Import */

static gboolean
add_certificates (PstStoreFile  *sf,
                  gpointer       data,
                  GError       **error)
{
  GPtrArray *certificates = data;

  for (guint i = 0; i < certificates->len; i++)
    if (!pst_store_file_add_trusted (sf, g_ptr_array_index (certificates, i), NULL, error))
      return FALSE;
  sf->saved = TRUE;   /* each one saved, or there already */
  return TRUE;
}

gboolean
pst_store_view_import_file (PstStoreView  *self,
                            const char    *path,
                            GError       **error)
{
  g_autoptr(GPtrArray) certificates = NULL;
  char *message;

  g_return_val_if_fail (PST_IS_STORE_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  certificates = pst_cert_read_file (path, error);
  if (certificates == NULL)
    return FALSE;
  message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "%u certificate added as trusted",
                                          "%u certificates added as trusted",
                                          certificates->len),
                             certificates->len);
  write_store (self, add_certificates, g_steal_pointer (&certificates), (GDestroyNotify) g_ptr_array_unref,
               PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE, message);
  return TRUE;
}

static void
import_response_cb (GtkNativeDialog *dialog,
                    int              response,
                    PstStoreView    *self)
{
  g_autofree char *path = pst_file_chooser_dup_path (dialog, response);
  g_autoptr(GError) error = NULL;

  if (path != NULL && !pst_store_view_import_file (self, path, &error))
    toast (self, error->message);
}

static void
import_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstStoreView *self = PST_STORE_VIEW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  chooser = pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), _("Import a Certificate"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Import"));
  gtk_file_filter_set_name (filter, _("Certificates (PEM or DER)"));
  for (const char * const *p = (const char * const[]){ "*.pem", "*.crt", "*.cer", "*.der", NULL }; *p != NULL; p++)
    gtk_file_filter_add_pattern (filter, *p);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  g_signal_connect_object (chooser, "response", G_CALLBACK (import_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* Trust a server */

static void
trusted_cb (PstStoreView *self,
            const char   *message)
{
  stored (self, message);
}

PstTrustDialog *
pst_store_view_trust_server (PstStoreView *self)
{
  PstTrustDialog *dialog;

  g_return_val_if_fail (PST_IS_STORE_VIEW (self), NULL);

  dialog = pst_trust_dialog_new (GTK_WINDOW (self), self->path, self->password_file);
  pst_trust_dialog_set_password_keyring (dialog, self->password_keyring);
  g_signal_connect_object (dialog, "trusted", G_CALLBACK (trusted_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
  return dialog;
}

static void
trust_server_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  pst_store_view_trust_server (PST_STORE_VIEW (widget));
}

/* Export */

static void
exported_cb (PstStoreView *self,
             const char   *path,
             const char   *message)
{
  toast (self, message);
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstStoreView *self = PST_STORE_VIEW (widget);
  PstStoreEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  PstExportDialog *dialog;

  if (entry == NULL)
    return;
  dialog = pst_export_dialog_new (GTK_WINDOW (self), entry);
  g_signal_connect_object (dialog, "exported", G_CALLBACK (exported_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Convert a keytool store */

/* Converting in two halves: reading the keytool store and writing the
 * PKCS#12 one (PBKDF2 rounds) can run in a worker thread; showing the new
 * store is main-thread work. */

typedef struct {
  char     *source;          /* the keytool store */
  char     *source_password_file;
  gboolean  source_keyring;
  char     *path;            /* the new PKCS#12 store */
  char     *password_file;   /* its password file, by the .pw rule */
} Convert;

static void
convert_free (Convert *convert)
{
  g_free (convert->source);
  g_free (convert->source_password_file);
  g_free (convert->path);
  g_free (convert->password_file);
  g_free (convert);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Convert, convert_free)

static Convert *
convert_new (PstStoreView  *self,
             const char    *path,
             GError       **error)
{
  Convert *convert;

  if (g_strcmp0 (path, self->path) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _("Choose a new file for the PKCS#12 store; the keytool store stays as it is"));
      return NULL;
    }
  convert = g_new0 (Convert, 1);
  convert->source = g_strdup (self->path);
  convert->source_password_file = g_strdup (PASSWORD_FILE (self));
  convert->source_keyring = self->password_keyring;
  convert->path = g_strdup (path);
  return convert;
}

/* Any thread */
static gboolean
convert_write (Convert  *convert,
               GError  **error)
{
  g_auto(PstStoreFile) source = { 0 };
  gboolean created = FALSE;
  char *password;
  gboolean ok;

  if (!pst_store_file_open (&source, convert->source, convert->source_password_file,
                            PST_STORE_OPEN_READ | (convert->source_keyring ? PST_STORE_OPEN_KEYRING : 0), error))
    return FALSE;

  /* The new store gets its own password file by the .pw rule, so that the
   * configuration can name it like any store Postern made. */
  convert->password_file = pst_password_default_path (convert->path);
  password = pst_password_file_read_or_create (convert->password_file, &created, error);
  if (password == NULL)
    return FALSE;
  ok = pst_keystore_save (source.store, convert->path, PST_STORE_FORMAT_PKCS12, password, error);
  pst_password_free (password);
  if (!ok && created)
    g_unlink (convert->password_file);
  return ok;
}

/* The main thread: the view shows the new store */
static void
convert_apply (PstStoreView *self,
               Convert      *convert)
{
  g_autofree char *message = NULL;
  g_autofree char *basename = NULL;

  g_free (self->path);
  self->path = g_strdup (convert->path);
  g_free (self->password_file);
  self->password_file = g_strdup (convert->password_file);
  self->password_keyring = FALSE;
  pst_store_view_reload (self);

  basename = g_path_get_basename (convert->path);
  message = g_strdup_printf (_("Converted to “%s” (PKCS#12)"), basename);
  toast (self, message);
  g_signal_emit (self, signals[CONVERTED], 0, convert->path, convert->password_file);
}

gboolean
pst_store_view_convert_to (PstStoreView  *self,
                           const char    *path,
                           GError       **error)
{
  g_autoptr(Convert) convert = NULL;

  g_return_val_if_fail (PST_IS_STORE_VIEW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  convert = convert_new (self, path, error);
  if (convert == NULL || !convert_write (convert, error))
    return FALSE;
  convert_apply (self, convert);
  return TRUE;
}

static void
convert_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;

  if (convert_write (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
converted_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PstStoreView *self = PST_STORE_VIEW (source);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          toast (self, error->message);
          update_actions (self);
        }
      return;
    }
  convert_apply (self, g_task_get_task_data (G_TASK (result)));
}

static void
convert_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     PstStoreView    *self)
{
  g_autofree char *path = pst_file_chooser_dup_path (dialog, response);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  Convert *convert;

  if (path == NULL)
    return;
  convert = convert_new (self, path, &error);
  if (convert == NULL)
    {
      toast (self, error->message);
      return;
    }
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "store.convert", FALSE);
  task = g_task_new (self, self->cancellable, converted_cb, NULL);
  g_task_set_source_tag (task, convert_response_cb);
  g_task_set_name (task, "[postern-editor] convert store");
  g_task_set_task_data (task, convert, (GDestroyNotify) convert_free);
  g_task_run_in_thread (task, convert_thread);
}

static void
convert_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  PstStoreView *self = PST_STORE_VIEW (widget);
  GtkFileChooserNative *chooser;
  g_autofree char *basename = g_path_get_basename (self->path);
  g_autofree char *folder = g_path_get_dirname (self->path);
  g_autoptr(GFile) folder_file = g_file_new_for_path (folder);
  g_autofree char *name = NULL;
  char *dot;

  chooser = pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), _("Convert to PKCS#12"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Convert"));
  if ((dot = strrchr (basename, '.')) != NULL)
    *dot = '\0';
  name = g_strconcat (basename, ".p12", NULL);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder_file, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect_object (chooser, "response", G_CALLBACK (convert_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

const char *
pst_store_view_get_path (PstStoreView *self)
{
  g_return_val_if_fail (PST_IS_STORE_VIEW (self), NULL);
  return self->path;
}

PstStoreView *
pst_store_view_new (GtkWindow  *parent,
                    const char *path,
                    const char *password_file)
{
  return pst_store_view_new_full (parent, path, password_file, FALSE);
}

PstStoreView *
pst_store_view_new_full (GtkWindow  *parent,
                         const char *path,
                         const char *password_file,
                         gboolean    password_keyring)
{
  PstStoreView *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (PST_TYPE_STORE_VIEW, "transient-for", parent, NULL);
  self->path = g_strdup (path);
  self->password_file = g_strdup (password_file);
  self->password_keyring = password_keyring;
  pst_store_view_reload (self);
  return self;
}

static void
pst_store_view_dispose (GObject *object)
{
  PstStoreView *self = PST_STORE_VIEW (object);

  pst_file_chooser_clear (&self->chooser);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->keystore);
  g_clear_object (&self->entries);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_STORE_VIEW);
  G_OBJECT_CLASS (pst_store_view_parent_class)->dispose (object);
}

static void
pst_store_view_finalize (GObject *object)
{
  PstStoreView *self = PST_STORE_VIEW (object);

  g_free (self->path);
  g_free (self->password_file);
  G_OBJECT_CLASS (pst_store_view_parent_class)->finalize (object);
}

static void
pst_store_view_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PstStoreView *self = PST_STORE_VIEW (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, pst_store_view_get_loading (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_store_view_class_init (PstStoreViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_store_view_dispose;
  object_class->finalize = pst_store_view_finalize;
  object_class->get_property = pst_store_view_get_property;

  /* TRUE while the store is being opened in a worker thread */
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A load finished: TRUE when the entries are shown, FALSE with the error shown. */
  signals[LOADED] =
    g_signal_new ("loaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);

  /* The store file was written (an entry added or removed). */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A keytool store was converted: the new PKCS#12 path and its password
   * file, for the configuration to point at. */
  signals[CONVERTED] =
    g_signal_new ("converted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  g_type_ensure (PST_TYPE_ENTRY_CELL);
  g_type_ensure (PST_TYPE_STORE_ENTRY);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-store-view.ui");
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, window_title);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, read_only_revealer);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, stack);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, spinner);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, error_page);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, column_view);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, selection);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, details_label);
  gtk_widget_class_bind_template_callback (widget_class, selection_changed_cb);
  gtk_widget_class_install_action (widget_class, "store.reload", NULL, reload_action);
  gtk_widget_class_install_action (widget_class, "store.remove", NULL, remove_action);
  gtk_widget_class_install_action (widget_class, "store.import", NULL, import_action);
  gtk_widget_class_install_action (widget_class, "store.trust-server", NULL, trust_server_action);
  gtk_widget_class_install_action (widget_class, "store.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "store.convert", NULL, convert_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_store_view_init (PstStoreView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->entries = g_list_store_new (PST_TYPE_STORE_ENTRY);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->entries));
}
