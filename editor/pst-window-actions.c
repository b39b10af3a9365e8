/* pst-window-actions.c: the window's actions (documents, services, certificates)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-cert-dialog.h"
#include "pst-service-item.h"
#include "pst-store-view.h"
#include "pst-entry-commit.h"
#include "pst-window-private.h"

typedef PstWindowDone ConfirmDone;

static GtkFileFilter *
xml_filter (void)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Gateway configurations"));
  gtk_file_filter_add_pattern (filter, "*.xml");
  gtk_file_filter_add_mime_type (filter, "application/xml");
  return filter;
}

static GtkFileChooserNative *
new_chooser (PstWindow            *self,
             const char           *title,
             GtkFileChooserAction  action,
             const char           *accept)
{
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = xml_filter ();

  chooser = pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), title, action, accept);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  return chooser;
}

/* Open */

static void
open_response_cb (GtkNativeDialog *dialog,
                  int              response,
                  PstWindow       *self)
{
  g_autoptr(GFile) file = NULL;
  PstWindow *target = self;

  if (response != GTK_RESPONSE_ACCEPT)
    return;
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  if (file == NULL)
    return;

  /* One document per window: an edited one stays where it is. */
  if (self->document != NULL && !pst_document_is_pristine (self->document))
    {
      target = pst_window_new (gtk_window_get_application (GTK_WINDOW (self)));
      gtk_window_present (GTK_WINDOW (target));
    }
  pst_window_open_file (target, file);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  GtkFileChooserNative *chooser;

  chooser = new_chooser (self, _("Open Configuration"), GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"));
  g_signal_connect_object (chooser, "response", G_CALLBACK (open_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
new_document_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  pst_window_new_document (PST_WINDOW (widget));
}

/* Recent files */

#define MAX_RECENT 10

static int
compare_recent (gconstpointer a,
                gconstpointer b)
{
  GtkRecentInfo *ia = *(GtkRecentInfo **)a;
  GtkRecentInfo *ib = *(GtkRecentInfo **)b;
  g_autoptr(GDateTime) ma = g_date_time_ref (gtk_recent_info_get_modified (ia));
  g_autoptr(GDateTime) mb = g_date_time_ref (gtk_recent_info_get_modified (ib));

  return g_date_time_compare (mb, ma);
}

static void
update_recent (PstWindow *self)
{
  GtkRecentManager *manager = gtk_recent_manager_get_default ();
  GList *items = gtk_recent_manager_get_items (manager);
  g_autoptr(GPtrArray) ours = g_ptr_array_new ();
  const char *app = g_get_application_name ();

  g_menu_remove_all (self->recent_menu);
  for (GList *l = items; l != NULL; l = l->next)
    {
      GtkRecentInfo *info = l->data;

      /* The files this editor opened or saved that are still there. */
      if (app != NULL && gtk_recent_info_has_application (info, app) &&
          gtk_recent_info_is_local (info) && gtk_recent_info_exists (info))
        g_ptr_array_add (ours, info);
    }
  g_ptr_array_sort (ours, compare_recent);
  for (guint i = 0; i < ours->len && i < MAX_RECENT; i++)
    {
      GtkRecentInfo *info = g_ptr_array_index (ours, i);
      g_autoptr(GFile) file = g_file_new_for_uri (gtk_recent_info_get_uri (info));
      g_autoptr(GFile) parent = g_file_get_parent (file);
      g_autofree char *folder = parent != NULL ? g_file_get_parse_name (parent) : NULL;
      g_autofree char *label = NULL;
      g_autoptr(GMenuItem) item = NULL;

      /* Translators: a recent file in the menu: "gateway-config.xml (~/work/conf)" */
      label = g_strdup_printf (_("%s (%s)"), gtk_recent_info_get_display_name (info),
                               folder != NULL ? folder : "");
      item = g_menu_item_new (label, NULL);
      g_menu_item_set_action_and_target (item, "win.open-recent", "s", gtk_recent_info_get_uri (info));
      g_menu_append_item (self->recent_menu, item);
    }
  g_list_free_full (items, (GDestroyNotify)gtk_recent_info_unref);
}

void
pst_window_init_recent (PstWindow *self)
{
  g_signal_connect_object (gtk_recent_manager_get_default (), "changed",
                           G_CALLBACK (update_recent), self, G_CONNECT_SWAPPED);
  update_recent (self);
}

static void
open_recent_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  g_autoptr(GFile) file = g_file_new_for_uri (g_variant_get_string (param, NULL));
  PstWindow *target = self;

  if (self->document != NULL && !pst_document_is_pristine (self->document))
    {
      target = pst_window_new (gtk_window_get_application (GTK_WINDOW (self)));
      gtk_window_present (GTK_WINDOW (target));
    }
  pst_window_open_file (target, file);
}

/* Save */

static gboolean
save_to (PstWindow *self,
         GFile     *file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;

  if (!pst_document_save (self->document, file, &error))
    {
      pst_window_show_error (self, _("Cannot Save the Configuration"), error->message);
      return FALSE;
    }
  uri = g_file_get_uri (pst_document_get_file (self->document));
  gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  return TRUE;
}

typedef struct {
  PstWindow   *self;
  ConfirmDone  done;
} SaveAsData;

static void
save_as_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  SaveAsData *data = user_data;
  g_autoptr(PstWindow) self = data->self;
  ConfirmDone done = data->done;
  gboolean saved = FALSE;

  g_free (data);
  if (response == GTK_RESPONSE_ACCEPT && self->document != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      if (file != NULL)
        saved = save_to (self, file);
    }
  if (done != NULL)
    done (self, saved);
}

static void
save_as (PstWindow   *self,
         ConfirmDone  done)
{
  GtkFileChooserNative *chooser;
  SaveAsData *data;
  GFile *file = pst_document_get_file (self->document);

  chooser = new_chooser (self, _("Save Configuration As"), GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"));
  if (file != NULL)
    gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), file, NULL);
  else
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "gateway-config.xml");

  data = g_new0 (SaveAsData, 1);
  data->self = g_object_ref (self);
  data->done = done;
  g_signal_connect (chooser, "response", G_CALLBACK (save_as_response_cb), data);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
save_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);

  if (self->document == NULL)
    return;
  if (pst_document_get_file (self->document) == NULL)
    save_as (self, NULL);
  else
    save_to (self, NULL);
}

void
pst_window_save (PstWindow     *self,
                 PstWindowDone  done)
{
  /* what is typed but not committed yet is part of what is saved */
  pst_entry_commit_flush_all (GTK_WIDGET (self));
  if (self->document == NULL)
    done (self, FALSE);
  else if (pst_document_get_file (self->document) == NULL)
    save_as (self, done);
  else
    done (self, save_to (self, NULL));
}

static void
save_as_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);

  if (self->document != NULL)
    save_as (self, NULL);
}

/* Unsaved changes */

typedef struct {
  PstWindow   *self;
  ConfirmDone  done;
} ConfirmData;

static void
confirm_response_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     gpointer          user_data)
{
  ConfirmData *data = user_data;
  g_autoptr(PstWindow) self = data->self;
  ConfirmDone done = data->done;

  g_free (data);
  if (g_strcmp0 (response, "discard") == 0)
    done (self, TRUE);
  else if (g_strcmp0 (response, "save") == 0)
    {
      if (pst_document_get_file (self->document) == NULL)
        save_as (self, done);
      else
        done (self, save_to (self, NULL));
    }
  else
    done (self, FALSE);
}

void
pst_window_confirm_discard (PstWindow   *self,
                            ConfirmDone  done)
{
  GtkWidget *dialog;
  g_autofree char *name = NULL;
  g_autofree char *body = NULL;
  ConfirmData *data;

  if (self->document == NULL || !pst_document_get_modified (self->document))
    {
      done (self, TRUE);
      return;
    }

  name = pst_document_dup_display_name (self->document);
  body = g_strdup_printf (_("“%s” has changes that are not saved. Closing discards them."), name);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Save Changes?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "discard", _("_Discard"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");

  data = g_new0 (ConfirmData, 1);
  data->self = g_object_ref (self);
  data->done = done;
  g_signal_connect (dialog, "response", G_CALLBACK (confirm_response_cb), data);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Services */

static int
selected_service (PstWindow *self)
{
  guint pos = gtk_single_selection_get_selected (self->services_selection);

  return pos == GTK_INVALID_LIST_POSITION ? -1 : (int)pos;
}

static void
report (PstWindow *self,
        GError    *error)
{
  if (error != NULL)
    pst_document_report_error (self->document, error);
}

static char *
unused_service_name (PstConfig *config)
{
  for (guint i = 1; ; i++)
    {
      g_autofree char *name = NULL;

      if (i == 1)
        name = g_strdup ("service");
      else
        name = g_strdup_printf ("service-%u", i);
      if (pst_config_find_service (config, name) == NULL)
        return g_steal_pointer (&name);
    }
}

static void
service_add_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  PstConfig *config;
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  guint index;

  if (self->document == NULL)
    return;
  config = pst_document_get_config (self->document);
  name = unused_service_name (config);
  if (!pst_config_add_service (config, name, "echo", &index, &error))
    {
      report (self, error);
      return;
    }
  pst_window_select_service (self, index);
  pst_service_page_focus_field (self->service_page, "name");
}

static void
service_duplicate_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  int selected = selected_service (self);
  guint index;

  if (self->document == NULL || selected < 0)
    return;
  if (!pst_config_duplicate_service (pst_document_get_config (self->document),
                                     selected, &index, &error))
    {
      report (self, error);
      return;
    }
  pst_window_select_service (self, index);
}

static void
undo_toast_dismissed_cb (AdwToast  *toast,
                         PstWindow *self)
{
  if (self->undo_toast != toast)
    return;
  g_clear_object (&self->undo_toast);
  g_clear_pointer (&self->undo_xml, g_free);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.undo-remove", FALSE);
}

void
pst_window_forget_undo (PstWindow *self)
{
  if (self->undo_toast != NULL)
    {
      g_autoptr(AdwToast) toast = g_object_ref (self->undo_toast);

      adw_toast_dismiss (toast);
      undo_toast_dismissed_cb (toast, self);
    }
}

static void
service_remove_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_autofree char *message = NULL;
  g_autofree char *xml = NULL;
  gsize len = 0;
  gboolean modified;
  int selected = selected_service (self);
  PstConfig *config;
  AdwToast *toast;
  guint n;

  if (self->document == NULL || selected < 0)
    return;
  config = pst_document_get_config (self->document);
  name = g_strdup (pst_service_get_name (pst_config_get_service (config, selected)));
  xml = pst_config_to_xml (config, &len);
  modified = pst_document_get_modified (self->document);
  if (!pst_config_remove_service (config, selected, &error))
    {
      report (self, error);
      return;
    }

  pst_window_forget_undo (self);
  message = g_strdup_printf (_("Service “%s” removed"), name != NULL ? name : "");
  toast = adw_toast_new (message);
  adw_toast_set_button_label (toast, _("_Undo"));
  adw_toast_set_action_name (toast, "win.undo-remove");
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (undo_toast_dismissed_cb), self, 0);
  self->undo_toast = g_object_ref (toast);
  self->undo_xml = g_steal_pointer (&xml);
  self->undo_len = len;
  self->undo_index = selected;
  self->undo_modified = modified;
  gtk_widget_action_set_enabled (widget, "win.undo-remove", TRUE);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);

  n = pst_config_get_n_services (config);
  if (n > 0)
    pst_window_select_service (self, MIN ((guint)selected, n - 1));
}

static void
undo_remove_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  g_autofree char *xml = g_steal_pointer (&self->undo_xml);
  g_autoptr(GError) error = NULL;
  guint index = self->undo_index;

  pst_window_forget_undo (self);
  if (xml == NULL || self->document == NULL)
    return;
  /* The whole text before the removal comes back (comments above the
   * service included); the snapshot is dropped at the next edit, so no
   * later change can be lost this way. */
  if (!pst_document_restore (self->document, xml, self->undo_len, self->undo_modified, &error))
    {
      report (self, error);
      return;
    }
  pst_window_select_service (self, index);
}

static void
service_move_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  g_autoptr(GError) error = NULL;
  int selected = selected_service (self);
  int to;
  guint n;

  if (self->document == NULL || selected < 0)
    return;
  n = pst_config_get_n_services (pst_document_get_config (self->document));
  to = selected + g_variant_get_int32 (param);
  if (to < 0 || (guint)to >= n)
    return;
  if (!pst_config_move_service (pst_document_get_config (self->document), selected, to, &error))
    {
      report (self, error);
      return;
    }
  pst_window_select_service (self, to);
}

/* Certificates and stores */

static void
cert_generated_cb (PstWindow     *self,
                   PstStoreEntry *entry,
                   const char    *message)
{
  pst_window_add_toast (self, message);
  /* The keystore changed on disk: its diagnostics may have too. */
  if (self->document != NULL)
    pst_document_validate_async (self->document);
}

static void
new_certificate_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  PstCertDialog *dialog;
  PstServiceItem *item;

  if (self->document == NULL)
    return;
  item = gtk_single_selection_get_selected_item (self->services_selection);
  dialog = pst_cert_dialog_new (GTK_WINDOW (self), self->document,
                                item != NULL ? pst_service_item_get_service (item) : NULL);
  g_signal_connect_object (dialog, "generated", G_CALLBACK (cert_generated_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
store_changed_cb (PstWindow *self)
{
  /* A store file changed on disk: its diagnostics may have too. */
  if (self->document != NULL)
    pst_document_validate_async (self->document);
}

static void
store_converted (PstWindow    *self,
                 PstStoreKind  kind,
                 const char   *path,
                 const char   *password_file)
{
  g_autofree char *file = NULL;
  g_autofree char *pw = NULL;
  g_autoptr(GError) error = NULL;
  PstConfig *config;

  if (self->document == NULL)
    return;
  config = pst_document_get_config (self->document);
  file = pst_document_relative_path (self->document, path);
  pw = pst_document_relative_path (self->document, password_file);
  if (!pst_config_set_store_field (config, kind, "file", file, &error) ||
      !pst_config_set_store_field (config, kind, "type", "PKCS12", &error) ||
      !pst_config_set_store_field (config, kind, "password-file", pw, &error) ||
      !pst_config_set_store_field (config, kind, "password-keyring", NULL, &error))
    report (self, error);
}

static void
keystore_converted_cb (PstWindow  *self,
                       const char *path,
                       const char *password_file)
{
  store_converted (self, PST_STORE_KIND_KEYSTORE, path, password_file);
}

static void
truststore_converted_cb (PstWindow  *self,
                         const char *path,
                         const char *password_file)
{
  store_converted (self, PST_STORE_KIND_TRUSTSTORE, path, password_file);
}

PstStoreView *
pst_window_open_store_view (PstWindow    *self,
                 PstStoreKind  kind)
{
  PstConfig *config = pst_document_get_config (self->document);
  const PstStoreRef *ref = kind == PST_STORE_KIND_TRUSTSTORE ? pst_config_get_truststore (config)
                                                             : pst_config_get_keystore (config);
  PstStoreView *view = pst_store_view_new_full (GTK_WINDOW (self), ref->file, ref->password_file,
                                                ref->password_keyring);

  g_signal_connect_object (view, "changed", G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (view, "converted",
                           kind == PST_STORE_KIND_TRUSTSTORE ? G_CALLBACK (truststore_converted_cb)
                                                             : G_CALLBACK (keystore_converted_cb),
                           self, G_CONNECT_SWAPPED);
  return view;
}

static void
inspect_store_action (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  gboolean trust = g_strcmp0 (g_variant_get_string (param, NULL), "truststore") == 0;
  PstConfig *config;
  const PstStoreRef *ref;
  PstStoreView *view;

  if (self->document == NULL)
    return;
  config = pst_document_get_config (self->document);
  ref = trust ? pst_config_get_truststore (config) : pst_config_get_keystore (config);
  if (ref->file == NULL)
    {
      pst_window_add_toast (self, trust ? _("No truststore is configured; set one on the Security page")
                                        : _("No keystore is configured; set one on the Security page"));
      return;
    }
  view = pst_window_open_store_view (self, trust ? PST_STORE_KIND_TRUSTSTORE : PST_STORE_KIND_KEYSTORE);
  gtk_window_present (GTK_WINDOW (view));
}

static void
trust_server_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  pst_window_trust_server (PST_WINDOW (widget), NULL);
}

void
pst_window_update_actions (PstWindow *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  gboolean have_doc = self->document != NULL;
  int selected = have_doc ? selected_service (self) : -1;
  guint n = have_doc ? pst_config_get_n_services (pst_document_get_config (self->document)) : 0;

  gtk_widget_action_set_enabled (widget, "win.save", have_doc);
  gtk_widget_action_set_enabled (widget, "win.save-as", have_doc);
  gtk_widget_action_set_enabled (widget, "win.service-add", have_doc);
  gtk_widget_action_set_enabled (widget, "win.service-duplicate", selected >= 0);
  gtk_widget_action_set_enabled (widget, "win.service-remove", selected >= 0);
  gtk_widget_action_set_enabled (widget, "win.service-move", selected >= 0 && n > 1);
  gtk_widget_action_set_enabled (widget, "win.new-certificate", have_doc);
  gtk_widget_action_set_enabled (widget, "win.inspect-store", have_doc);
  gtk_widget_action_set_enabled (widget, "win.trust-server", have_doc);
  gtk_widget_action_set_enabled (widget, "win.service-test", selected >= 0);
  gtk_widget_action_set_enabled (widget, "win.undo-remove", have_doc && self->undo_xml != NULL);
  if (self->runner != NULL)
    pst_window_update_run (self);
}

void
pst_window_class_add_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.new-document", NULL, new_document_action);
  gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
  gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);
  gtk_widget_class_install_property_action (widget_class, "win.show-diagnostics", "show-diagnostics");
  gtk_widget_class_install_action (widget_class, "win.service-add", NULL, service_add_action);
  gtk_widget_class_install_action (widget_class, "win.service-duplicate", NULL, service_duplicate_action);
  gtk_widget_class_install_action (widget_class, "win.service-remove", NULL, service_remove_action);
  gtk_widget_class_install_action (widget_class, "win.service-move", "i", service_move_action);
  gtk_widget_class_install_action (widget_class, "win.new-certificate", NULL, new_certificate_action);
  gtk_widget_class_install_action (widget_class, "win.inspect-store", "s", inspect_store_action);
  gtk_widget_class_install_action (widget_class, "win.trust-server", NULL, trust_server_action);
  gtk_widget_class_install_action (widget_class, "win.undo-remove", NULL, undo_remove_action);
  gtk_widget_class_install_action (widget_class, "win.open-recent", "s", open_recent_action);
  pst_window_class_add_run_actions (widget_class);
}
