/* pst-properties-page.c: the ${name} property table
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-properties-page.h"

struct _PstPropertiesPage
{
  AdwBin               parent_instance;

  PstDocument         *document;
  GPtrArray           *rows;      /* AdwEntryRow, one per property */
  GStrv                names;     /* the names the rows show */

  AdwPreferencesGroup *properties_group;
  AdwEntryRow         *new_row;

  guint                updating : 1;
};

G_DEFINE_FINAL_TYPE (PstPropertiesPage, pst_properties_page, ADW_TYPE_BIN)

static PstConfig *
get_config (PstPropertiesPage *self)
{
  return self->document != NULL ? pst_document_get_config (self->document) : NULL;
}

static void
value_changed_cb (AdwEntryRow       *row,
                  PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  const char *name = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row));

  if (self->updating || get_config (self) == NULL)
    return;
  if (!pst_config_set_property (get_config (self), name,
                                gtk_editable_get_text (GTK_EDITABLE (row)), &error))
    pst_document_report_error (self->document, error);
}

static void
remove_clicked_cb (GtkButton         *button,
                   PstPropertiesPage *self)
{
  g_autoptr(GError) error = NULL;
  AdwPreferencesRow *row;

  row = ADW_PREFERENCES_ROW (gtk_widget_get_ancestor (GTK_WIDGET (button), ADW_TYPE_ENTRY_ROW));
  if (row == NULL || get_config (self) == NULL)
    return;
  if (!pst_config_remove_property (get_config (self), adw_preferences_row_get_title (row), &error))
    pst_document_report_error (self->document, error);
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
          GtkWidget *remove = gtk_button_new_from_icon_name ("user-trash-symbolic");
          g_autofree char *remove_label = g_strdup_printf (_("Remove %s"), names[i]);

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), names[i]);
          adw_preferences_row_set_use_underline (ADW_PREFERENCES_ROW (row), FALSE);
          gtk_widget_set_valign (remove, GTK_ALIGN_CENTER);
          gtk_widget_add_css_class (remove, "flat");
          gtk_widget_set_tooltip_text (remove, remove_label);
          g_signal_connect_object (remove, "clicked", G_CALLBACK (remove_clicked_cb), self, 0);
          adw_entry_row_add_suffix (ADW_ENTRY_ROW (row), remove);
          g_signal_connect_object (row, "changed", G_CALLBACK (value_changed_cb), self, 0);
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
      if (g_strcmp0 (gtk_editable_get_text (editable), value) != 0)
        gtk_editable_set_text (editable, value);
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
}

static void
pst_properties_page_init (PstPropertiesPage *self)
{
  self->rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
}
