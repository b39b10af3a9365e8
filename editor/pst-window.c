/* pst-window.c: the editor window: one gateway-config.xml
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-application.h"
#include "pst-service-item.h"
#include "pst-window-private.h"

G_DEFINE_FINAL_TYPE (PstWindow, pst_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_DOCUMENT,
  PROP_SHOW_DIAGNOSTICS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

PstWindow *
pst_window_new (GtkApplication *application)
{
  return g_object_new (PST_TYPE_WINDOW, "application", application, NULL);
}

PstDocument *
pst_window_get_document (PstWindow *self)
{
  g_return_val_if_fail (PST_IS_WINDOW (self), NULL);
  return self->document;
}

void
pst_window_add_toast (PstWindow  *self,
                      const char *message)
{
  g_return_if_fail (PST_IS_WINDOW (self));
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

/* File choosers (declared in pst-window.h for all of the editor's windows) */

void
pst_file_chooser_clear (GtkFileChooserNative **slot)
{
  g_return_if_fail (slot != NULL);

  if (*slot != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (*slot));
  g_clear_object (slot);
}

GtkFileChooserNative *
pst_file_chooser_replace (GtkFileChooserNative **slot,
                          GtkWidget             *owner,
                          const char            *title,
                          GtkFileChooserAction   action,
                          const char            *accept)
{
  GtkRoot *root;

  g_return_val_if_fail (slot != NULL, NULL);
  g_return_val_if_fail (GTK_IS_WIDGET (owner), NULL);

  pst_file_chooser_clear (slot);
  /* A window is its own root; a page is transient for the window it is in. */
  root = gtk_widget_get_root (owner);
  *slot = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                       action, accept, _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (*slot), TRUE);
  return *slot;
}

char *
pst_file_chooser_dup_path (GtkNativeDialog *dialog,
                           int              response)
{
  g_autoptr(GFile) file = NULL;

  if (response != GTK_RESPONSE_ACCEPT)
    return NULL;
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  return file != NULL ? g_file_get_path (file) : NULL;
}

void
pst_window_show_error (PstWindow  *self,
                       const char *heading,
                       const char *message)
{
  GtkWidget *dialog;

  dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
update_title (PstWindow *self)
{
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;
  g_autofree char *folder = NULL;
  GFile *file;

  if (self->document == NULL)
    {
      adw_window_title_set_title (self->window_title, _("Postern"));
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_window_set_title (GTK_WINDOW (self), _("Postern"));
      return;
    }

  name = pst_document_dup_display_name (self->document);
  /* The modified mark follows the name, as in the other GNOME editors. */
  if (pst_document_get_modified (self->document))
    title = g_strdup_printf (_("%s — modified"), name);
  else
    title = g_strdup (name);

  file = pst_document_get_file (self->document);
  if (file != NULL)
    {
      g_autoptr(GFile) parent = g_file_get_parent (file);
      if (parent != NULL)
        folder = g_file_get_parse_name (parent);
    }

  adw_window_title_set_title (self->window_title, title);
  adw_window_title_set_subtitle (self->window_title, folder);
  gtk_window_set_title (GTK_WINDOW (self), title);
}

static void
update_diagnostics_badge (PstWindow *self)
{
  guint n_errors = 0, n_warnings = 0;
  g_autofree char *count = NULL;
  g_autofree char *tooltip = NULL;
  GtkWidget *badge = GTK_WIDGET (self->diagnostics_badge);

  if (self->document != NULL)
    {
      n_errors = pst_document_get_n_errors (self->document);
      n_warnings = pst_document_get_n_warnings (self->document);
    }

  count = g_strdup_printf ("%u", n_errors + n_warnings);
  gtk_label_set_label (self->diagnostics_badge, count);
  gtk_widget_set_visible (badge, n_errors + n_warnings > 0);
  gtk_widget_remove_css_class (badge, "error");
  gtk_widget_remove_css_class (badge, "warning");
  if (n_errors > 0)
    gtk_widget_add_css_class (badge, "error");
  else if (n_warnings > 0)
    gtk_widget_add_css_class (badge, "warning");

  gtk_image_set_from_icon_name (self->diagnostics_icon,
                                n_errors > 0 ? "dialog-error-symbolic" :
                                n_warnings > 0 ? "dialog-warning-symbolic" :
                                "emblem-ok-symbolic");

  if (n_errors + n_warnings == 0)
    tooltip = g_strdup (_("No problems found"));
  else
    {
      g_autofree char *errors = g_strdup_printf (ngettext ("%u error", "%u errors", n_errors), n_errors);
      g_autofree char *warnings = g_strdup_printf (ngettext ("%u warning", "%u warnings", n_warnings), n_warnings);

      /* Translators: tooltip of the problems button, e.g. "2 errors, 1 warning" */
      tooltip = g_strdup_printf (_("%s, %s"), errors, warnings);
    }
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->diagnostics_button), tooltip);
}

static void
update_xml (PstWindow *self)
{
  g_autofree char *xml = NULL;
  gsize len = 0;
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->xml_view);

  self->xml_stale = FALSE;
  if (self->document == NULL)
    {
      gtk_text_buffer_set_text (buffer, "", 0);
      return;
    }
  xml = pst_config_to_xml (pst_document_get_config (self->document), &len);
  gtk_text_buffer_set_text (buffer, xml != NULL ? xml : "", xml != NULL ? (int)len : 0);
}

static void
document_changed_cb (PstWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (self->content_stack);

  pst_window_forget_undo (self);
  pst_window_run_document_changed (self);
  if (g_strcmp0 (page, "xml") == 0)
    update_xml (self);
  else
    self->xml_stale = TRUE;
  pst_window_update_actions (self);
}

static void
document_edit_failed_cb (PstWindow  *self,
                         const char *message)
{
  pst_window_add_toast (self, message);
}

void
pst_window_show_page (PstWindow  *self,
                      const char *name)
{
  g_return_if_fail (PST_IS_WINDOW (self));

  if (g_strcmp0 (name, "xml") == 0 && self->xml_stale)
    update_xml (self);
  gtk_stack_set_visible_child_name (self->content_stack, name);
  if (g_strcmp0 (name, "service") != 0 && g_strcmp0 (name, "none") != 0)
    gtk_single_selection_set_selected (self->services_selection, GTK_INVALID_LIST_POSITION);
}

static void
pages_row_selected_cb (GtkListBox    *list,
                       GtkListBoxRow *row,
                       PstWindow     *self)
{
  if (row == NULL)
    return;
  pst_window_show_page (self, gtk_widget_get_name (GTK_WIDGET (row)));
}

static void
services_selected_cb (PstWindow *self)
{
  PstServiceItem *item = gtk_single_selection_get_selected_item (self->services_selection);

  pst_service_page_set_item (self->service_page, item);
  if (item != NULL)
    {
      gtk_list_box_unselect_all (self->pages_list);
      gtk_stack_set_visible_child_name (self->content_stack, "service");
    }
  else if (g_strcmp0 (gtk_stack_get_visible_child_name (self->content_stack), "service") == 0)
    gtk_stack_set_visible_child_name (self->content_stack, "none");
  pst_window_update_actions (self);
}

void
pst_window_select_service (PstWindow *self,
                           guint      index)
{
  g_return_if_fail (PST_IS_WINDOW (self));

  gtk_single_selection_set_selected (self->services_selection, index);
}

static void
diagnostic_activated_cb (PstWindow     *self,
                         PstDiagnostic *diagnostic)
{
  const char *service = pst_diagnostic_get_service (diagnostic);
  const char *field = pst_diagnostic_get_field (diagnostic);
  GListModel *services;

  if (self->document == NULL)
    return;

  if (service == NULL)
    {
      if (g_strcmp0 (field, "keystore") == 0 || g_strcmp0 (field, "truststore") == 0)
        gtk_list_box_select_row (self->pages_list,
                                 gtk_list_box_get_row_at_index (self->pages_list, 1));
      else if (field != NULL && g_str_has_prefix (field, "property"))
        gtk_list_box_select_row (self->pages_list,
                                 gtk_list_box_get_row_at_index (self->pages_list, 0));
      return;
    }

  services = pst_document_get_services (self->document);
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr(PstServiceItem) item = g_list_model_get_item (services, i);

      if (g_strcmp0 (pst_service_item_get_name (item), service) == 0)
        {
          pst_window_select_service (self, i);
          pst_service_page_focus_field (self->service_page, field);
          return;
        }
    }
}

void
pst_window_set_document (PstWindow   *self,
                         PstDocument *document)
{
  g_return_if_fail (PST_IS_WINDOW (self));
  g_return_if_fail (document == NULL || PST_IS_DOCUMENT (document));

  if (self->document == document)
    return;

  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  pst_window_forget_undo (self);
  g_set_object (&self->document, document);

  if (document != NULL)
    {
      g_signal_connect_object (document, "notify::modified",
                               G_CALLBACK (update_title), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (document, "notify::title",
                               G_CALLBACK (update_title), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (document, "notify::n-errors",
                               G_CALLBACK (update_diagnostics_badge), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (document, "notify::n-warnings",
                               G_CALLBACK (update_diagnostics_badge), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (document, "changed",
                               G_CALLBACK (document_changed_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (document, "edit-failed",
                               G_CALLBACK (document_edit_failed_cb), self, G_CONNECT_SWAPPED);
    }

  gtk_single_selection_set_model (self->services_selection,
                                  document != NULL ? pst_document_get_services (document) : NULL);
  pst_service_page_set_document (self->service_page, document);
  pst_properties_page_set_document (self->properties_page, document);
  pst_security_page_set_document (self->security_page, document);
  pst_trust_page_set_document (self->trust_page, document);
  pst_diagnostics_panel_set_model (self->diagnostics_panel,
                                   document != NULL ? pst_document_get_diagnostics (document) : NULL);

  gtk_stack_set_visible_child_name (self->main_stack, document != NULL ? "document" : "empty");
  if (document != NULL)
    {
      if (pst_config_get_n_services (pst_document_get_config (document)) > 0)
        pst_window_select_service (self, 0);
      else
        gtk_list_box_select_row (self->pages_list,
                                 gtk_list_box_get_row_at_index (self->pages_list, 0));
    }

  update_title (self);
  update_diagnostics_badge (self);
  update_xml (self);
  pst_window_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DOCUMENT]);
}

void
pst_window_new_document (PstWindow *self)
{
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PST_IS_WINDOW (self));

  document = pst_document_new_default (&error);
  if (document == NULL)
    {
      pst_window_show_error (self, _("Cannot Create a Configuration"), error->message);
      return;
    }
  pst_window_set_document (self, document);
}

static void
open_file_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstWindow) self = user_data;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GError) error = NULL;

  document = pst_document_load_finish (result, &error);
  if (document == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      g_free (self->load_error);
      self->load_error = g_strdup (error->message);
      if (self->document == NULL)
        adw_status_page_set_description (self->empty_page, error->message);
      pst_window_show_error (self, _("Cannot Open the Configuration"), error->message);
      return;
    }

  pst_window_set_document (self, document);
  {
    g_autofree char *uri = g_file_get_uri (pst_document_get_file (document));
    gtk_recent_manager_add_item (gtk_recent_manager_get_default (), uri);
  }
}

void
pst_window_open_file (PstWindow *self,
                      GFile     *file)
{
  g_return_if_fail (PST_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  pst_document_load_async (file, self->cancellable, open_file_cb, g_object_ref (self));
}

static void
close_confirmed_cb (PstWindow *self,
                    gboolean   proceed)
{
  if (!proceed)
    return;
  self->close_confirmed = TRUE;
  gtk_window_close (GTK_WINDOW (self));
}

static gboolean
pst_window_close_request (GtkWindow *window)
{
  PstWindow *self = PST_WINDOW (window);

  if (self->settings != NULL)
    {
      int width, height;

      gtk_window_get_default_size (window, &width, &height);
      g_settings_set (self->settings, "window-size", "(ii)", width, height);
      g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
    }

  if (!self->close_confirmed && self->document != NULL &&
      pst_document_get_modified (self->document))
    {
      pst_window_confirm_discard (self, close_confirmed_cb);
      return TRUE;
    }

  return GTK_WINDOW_CLASS (pst_window_parent_class)->close_request (window);
}

static void
pst_window_dispose (GObject *object)
{
  PstWindow *self = PST_WINDOW (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  if (self->test_cancellable != NULL)
    g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
  if (self->runner != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->runner, self);
      pst_runner_shutdown (self->runner);
    }
  g_clear_object (&self->runner);
  pst_window_clear_restart (self);
  g_clear_pointer (&self->store_monitors, g_ptr_array_unref);
  pst_window_forget_undo (self);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  g_clear_object (&self->settings);
  pst_file_chooser_clear (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_WINDOW);
  G_OBJECT_CLASS (pst_window_parent_class)->dispose (object);
}

static void
pst_window_finalize (GObject *object)
{
  PstWindow *self = PST_WINDOW (object);

  g_free (self->load_error);
  g_free (self->undo_xml);
  G_OBJECT_CLASS (pst_window_parent_class)->finalize (object);
}

static void
pst_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PstWindow *self = PST_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      g_value_set_object (value, self->document);
      break;
    case PROP_SHOW_DIAGNOSTICS:
      g_value_set_boolean (value, self->show_diagnostics);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_window_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PstWindow *self = PST_WINDOW (object);

  switch (prop_id)
    {
    case PROP_DOCUMENT:
      pst_window_set_document (self, g_value_get_object (value));
      break;
    case PROP_SHOW_DIAGNOSTICS:
      if (self->show_diagnostics != g_value_get_boolean (value))
        {
          self->show_diagnostics = g_value_get_boolean (value);
          gtk_revealer_set_reveal_child (self->diagnostics_revealer, self->show_diagnostics);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_window_class_init (PstWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = pst_window_dispose;
  object_class->finalize = pst_window_finalize;
  object_class->get_property = pst_window_get_property;
  object_class->set_property = pst_window_set_property;
  window_class->close_request = pst_window_close_request;

  properties[PROP_DOCUMENT] =
    g_param_spec_object ("document", NULL, NULL, PST_TYPE_DOCUMENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_DIAGNOSTICS] =
    g_param_spec_boolean ("show-diagnostics", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (PST_TYPE_SERVICE_ITEM);
  g_type_ensure (PST_TYPE_SERVICE_PAGE);
  g_type_ensure (PST_TYPE_PROPERTIES_PAGE);
  g_type_ensure (PST_TYPE_SECURITY_PAGE);
  g_type_ensure (PST_TYPE_TRUST_PAGE);
  g_type_ensure (PST_TYPE_DIAGNOSTICS_PANEL);
  g_type_ensure (PST_TYPE_RUN_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PstWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, empty_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, pages_list);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, services_view);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, services_selection);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, content_stack);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, service_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, properties_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, security_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, trust_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, xml_view);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, run_page);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, run_button);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, recent_menu);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, diagnostics_revealer);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, diagnostics_panel);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, diagnostics_button);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, diagnostics_icon);
  gtk_widget_class_bind_template_child (widget_class, PstWindow, diagnostics_badge);
  gtk_widget_class_bind_template_callback (widget_class, pages_row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, services_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, diagnostic_activated_cb);

  pst_window_class_add_actions (widget_class);
  pst_window_class_add_trusted_actions (widget_class);
  pst_window_class_add_key_actions (widget_class);
  pst_window_class_add_tls_actions (widget_class);
}

static void
load_css (void)
{
  static gboolean done;
  g_autoptr(GtkCssProvider) provider = NULL;

  if (done)
    return;
  done = TRUE;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/org/postern/Editor/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
pst_window_init (PstWindow *self)
{
  g_autoptr(GSettingsSchema) schema = NULL;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();

  gtk_widget_init_template (GTK_WIDGET (self));
  load_css ();

  self->cancellable = g_cancellable_new ();
  self->xml_stale = TRUE;
  pst_window_init_run (self);
  pst_window_init_recent (self);

  /* Running from the build tree, the schema may not be installed. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, PST_APPLICATION_ID, TRUE);
  if (schema != NULL)
    {
      int width, height;

      self->settings = g_settings_new (PST_APPLICATION_ID);
      g_settings_get (self->settings, "window-size", "(ii)", &width, &height);
      gtk_window_set_default_size (GTK_WINDOW (self), width, height);
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      g_settings_bind (self->settings, "show-diagnostics", self, "show-diagnostics",
                       G_SETTINGS_BIND_DEFAULT);
    }

  update_title (self);
  update_diagnostics_badge (self);
  pst_window_update_actions (self);
}
