/* pst-properties-page.c: the ${name} property table
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-commit.h"
#include "pst-properties-page.h"

struct _PstPropertiesPage
{
  AdwBin               parent_instance;

  PstDocument         *document;
  GPtrArray           *rows;      /* AdwEntryRow, one per property */
  GStrv                names;     /* the names the rows show */

  AdwPreferencesGroup *properties_group;
  AdwEntryRow         *new_row;

  /* The open rename or remove dialog (modal: one at a time) */
  AdwMessageDialog    *dialog;
  GtkEditable         *rename_entry;
  char                *dialog_name;   /* the property it is about */

  guint                updating : 1;
};

G_DEFINE_FINAL_TYPE (PstPropertiesPage, pst_properties_page, ADW_TYPE_BIN)

static PstConfig *
get_config (PstPropertiesPage *self)
{
  return self->document != NULL ? pst_document_get_config (self->document) : NULL;
}

static gboolean
value_commit_cb (GtkEditable       *editable,
                 PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  const char *name = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (editable));

  if (self->updating || get_config (self) == NULL)
    return TRUE;
  if (!pst_config_set_property (get_config (self), name, gtk_editable_get_text (editable), &error))
    {
      pst_document_report_error (self->document, error);
      return FALSE;
    }
  return TRUE;
}

/* "${name} is used in N places:" and one line per use (a long list is
 * cut short), or NULL when nothing refers to it. */
static char *
describe_uses (PstConfig  *config,
               const char *name)
{
  g_autoptr(GPtrArray) uses = pst_config_dup_property_uses (config, name);
  const guint max_shown = 8;
  GString *text;

  if (uses->len == 0)
    return NULL;
  text = g_string_new (NULL);
  g_string_append_printf (text, ngettext ("${%s} is used in %u place:",
                                          "${%s} is used in %u places:", uses->len),
                          name, uses->len);
  for (guint i = 0; i < uses->len && i < max_shown; i++)
    {
      g_autofree char *line = pst_property_use_to_string (g_ptr_array_index (uses, i));
      g_string_append_printf (text, "\n• %s", line);
    }
  if (uses->len > max_shown)
    {
      g_string_append_c (text, '\n');
      g_string_append_printf (text, ngettext ("and %u more", "and %u more", uses->len - max_shown),
                              uses->len - max_shown);
    }
  return g_string_free (text, FALSE);
}

static void
close_dialog (PstPropertiesPage *self)
{
  if (self->dialog != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->dialog, self);
      gtk_window_destroy (GTK_WINDOW (self->dialog));
    }
  self->dialog = NULL;
  self->rename_entry = NULL;
  g_clear_pointer (&self->dialog_name, g_free);
}

static AdwMessageDialog *
new_dialog (PstPropertiesPage *self,
            const char        *heading,
            const char        *body)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog;

  close_dialog (self);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);
  gtk_window_set_modal (GTK_WINDOW (dialog), TRUE);
  self->dialog = ADW_MESSAGE_DIALOG (dialog);
  return self->dialog;
}

static void
rename_entry_changed_cb (GtkEditable       *entry,
                         PstPropertiesPage *self)
{
  g_autofree char *new_name = g_strstrip (g_strdup (gtk_editable_get_text (entry)));
  gboolean ok = *new_name != '\0' && g_strcmp0 (new_name, self->dialog_name) != 0;

  for (const char *const *r = (const char *const[]) { "rename", "rename-only", "rename-update", NULL };
       *r != NULL; r++)
    if (adw_message_dialog_has_response (self->dialog, *r))
      adw_message_dialog_set_response_enabled (self->dialog, *r, ok);
}

static void
rename_response_cb (AdwMessageDialog  *dialog,
                    const char        *response,
                    PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strdup (self->dialog_name);
  g_autofree char *new_name = g_strstrip (g_strdup (gtk_editable_get_text (self->rename_entry)));
  PstConfig *config = get_config (self);
  gboolean ok = TRUE;

  /* the dialog closes itself after ::response */
  g_signal_handlers_disconnect_by_data (dialog, self);
  self->dialog = NULL;
  self->rename_entry = NULL;
  g_clear_pointer (&self->dialog_name, g_free);

  if (config == NULL || *new_name == '\0')
    return;
  if (g_strcmp0 (response, "rename-update") == 0)
    ok = pst_config_rename_property_and_references (config, name, new_name, &error);
  else if (g_strcmp0 (response, "rename") == 0 || g_strcmp0 (response, "rename-only") == 0)
    ok = pst_config_rename_property (config, name, new_name, &error);
  if (!ok)
    pst_document_report_error (self->document, error);
}

/* Renaming asks for the new name in a dialog that also says where the
 * property is used, so that references are never left behind unseen. */
static void
rename_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PstPropertiesPage *self = PST_PROPERTIES_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autofree char *uses = NULL;
  g_autofree char *heading = NULL;
  AdwMessageDialog *dialog;
  GtkWidget *entry;

  if (get_config (self) == NULL || pst_config_get_property_raw (get_config (self), name) == NULL)
    return;
  uses = describe_uses (get_config (self), name);
  heading = g_strdup_printf (_("Rename ${%s}"), name);
  dialog = new_dialog (self, heading, uses);
  self->dialog_name = g_strdup (name);

  entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (entry), name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("New Name"), -1);
  adw_message_dialog_set_extra_child (dialog, entry);
  self->rename_entry = GTK_EDITABLE (entry);

  adw_message_dialog_add_response (dialog, "cancel", _("_Cancel"));
  if (uses != NULL)
    {
      adw_message_dialog_add_responses (dialog,
                                        "rename-only", _("Rename _Only"),
                                        "rename-update", _("Rename and _Update References"),
                                        NULL);
      adw_message_dialog_set_response_appearance (dialog, "rename-update", ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (dialog, "rename-update");
    }
  else
    {
      adw_message_dialog_add_response (dialog, "rename", _("_Rename"));
      adw_message_dialog_set_response_appearance (dialog, "rename", ADW_RESPONSE_SUGGESTED);
      adw_message_dialog_set_default_response (dialog, "rename");
    }
  adw_message_dialog_set_close_response (dialog, "cancel");
  rename_entry_changed_cb (GTK_EDITABLE (entry), self);

  g_signal_connect_object (entry, "changed", G_CALLBACK (rename_entry_changed_cb), self, 0);
  g_signal_connect_object (dialog, "response", G_CALLBACK (rename_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static void
remove_response_cb (AdwMessageDialog  *dialog,
                    const char        *response,
                    PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_steal_pointer (&self->dialog_name);

  g_signal_handlers_disconnect_by_data (dialog, self);
  self->dialog = NULL;
  if (g_strcmp0 (response, "remove") == 0 && get_config (self) != NULL &&
      !pst_config_remove_property (get_config (self), name, &error))
    pst_document_report_error (self->document, error);
}

/* An unused property goes at once; a used one only after a warning. */
static void
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  PstPropertiesPage *self = PST_PROPERTIES_PAGE (widget);
  const char *name = g_variant_get_string (parameter, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *uses = NULL;
  g_autofree char *heading = NULL;
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  if (get_config (self) == NULL)
    return;
  uses = describe_uses (get_config (self), name);
  if (uses == NULL)
    {
      if (!pst_config_remove_property (get_config (self), name, &error))
        pst_document_report_error (self->document, error);
      return;
    }

  heading = g_strdup_printf (_("Remove ${%s}?"), name);
  body = g_strdup_printf ("%s\n\n%s", uses,
                          _("These places will refer to a property that is not defined."));
  dialog = new_dialog (self, heading, body);
  self->dialog_name = g_strdup (name);
  adw_message_dialog_add_responses (dialog,
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (remove_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
rebuild (PstPropertiesPage *self)
{
  PstConfig *config = get_config (self);
  g_auto(GStrv) names = config != NULL ? pst_config_dup_property_names (config) : NULL;

  self->updating = TRUE;

  /* Rows are rebuilt only when the set of names changed, so that a value
   * being typed keeps its cursor. */
  if (names == NULL || self->names == NULL || !g_strv_equal ((const char * const *)names,
                                                             (const char * const *)self->names))
    {
      for (guint i = 0; i < self->rows->len; i++)
        adw_preferences_group_remove (self->properties_group, g_ptr_array_index (self->rows, i));
      g_ptr_array_set_size (self->rows, 0);

      for (guint i = 0; names != NULL && names[i] != NULL; i++)
        {
          GtkWidget *row = adw_entry_row_new ();
          GtkWidget *rename = gtk_button_new_from_icon_name ("document-edit-symbolic");
          GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
          g_autofree char *rename_label = g_strdup_printf (_("Rename %s"), names[i]);
          g_autofree char *remove_label = g_strdup_printf (_("Remove %s"), names[i]);

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), names[i]);
          adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), FALSE);
          gtk_widget_set_valign (rename, GTK_ALIGN_CENTER);
          gtk_widget_add_css_class (rename, "flat");
          gtk_widget_set_tooltip_text (rename, rename_label);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (rename), "properties.rename");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (rename), "s", names[i]);
          adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), rename);
          gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
          gtk_widget_add_css_class (remove, "flat");
          gtk_widget_set_tooltip_text (remove, remove_label);
          gtk_actionable_set_action_name (GTK_ACTIONABLE (remove), "properties.remove");
          gtk_actionable_set_action_target (GTK_ACTIONABLE (remove), "s", names[i]);
          adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), remove);
          pst_entry_commit_watch (GTK_EDITABLE (row), (PstEntryCommitFunc) value_commit_cb, self);
          adw_preferences_group_add (self->properties_group, row);
          g_ptr_array_add (self->rows, row);
        }
      g_strfreev (self->names);
      self->names = g_strdupv (names);
    }

  for (guint i = 0; i < self->rows->len; i++)
    {
      GtkEditable *editable = g_ptr_array_index (self->rows, i);
      const char *value = pst_config_get_property_raw (config, names[i]);

      if (value == NULL)
        value = "";
      pst_entry_commit_set_text (editable, value);
    }

  self->updating = FALSE;
}

static void
add_property_cb (PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;

  if (get_config (self) == NULL)
    return;
  name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->new_row))));
  if (*name == '\0')
    return;
  if (!pst_config_set_property (get_config (self), name, "", &error))
    {
      pst_document_report_error (self->document, error);
      return;
    }
  gtk_editable_set_text (GTK_EDITABLE (self->new_row), "");
  for (guint i = 0; i < self->rows->len; i++)
    if (g_strcmp0 (self->names[i], name) == 0)
      gtk_widget_grab_focus (g_ptr_array_index (self->rows, i));
}

void
pst_properties_page_set_document (PstPropertiesPage *self,
                                  PstDocument       *document)
{
  g_return_if_fail (PST_IS_PROPERTIES_PAGE (self));

  close_dialog (self);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  if (document != NULL)
    g_signal_connect_object (document, "changed", G_CALLBACK (rebuild), self, G_CONNECT_SWAPPED);
  g_clear_pointer (&self->names, g_strfreev);
  rebuild (self);
}

static void
pst_properties_page_dispose (GObject *object)
{
  PstPropertiesPage *self = PST_PROPERTIES_PAGE (object);

  close_dialog (self);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_PROPERTIES_PAGE);
  G_OBJECT_CLASS (pst_properties_page_parent_class)->dispose (object);
}

static void
pst_properties_page_finalize (GObject *object)
{
  PstPropertiesPage *self = PST_PROPERTIES_PAGE (object);

  g_ptr_array_unref (self->rows);
  g_strfreev (self->names);
  g_free (self->dialog_name);
  G_OBJECT_CLASS (pst_properties_page_parent_class)->finalize (object);
}

static void
pst_properties_page_class_init (PstPropertiesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_properties_page_dispose;
  object_class->finalize = pst_properties_page_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-properties-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PstPropertiesPage, properties_group);
  gtk_widget_class_bind_template_child (widget_class, PstPropertiesPage, new_row);
  gtk_widget_class_bind_template_callback (widget_class, add_property_cb);
  gtk_widget_class_install_action (widget_class, "properties.rename", "s", rename_action);
  gtk_widget_class_install_action (widget_class, "properties.remove", "s", remove_action);
}

static void
pst_properties_page_init (PstPropertiesPage *self)
{
  self->rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}
