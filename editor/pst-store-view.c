/* pst-store-view.c: the store inspector (keystore or truststore entries)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-cell.h"
#include "pst-password.h"
#include "pst-store-view.h"

struct _PstStoreView
{
  AdwWindow           parent_instance;

  char               *path;
  char               *password_file;
  PstKeystore        *keystore;
  GListStore         *entries;

  AdwWindowTitle     *window_title;
  AdwToastOverlay    *toast_overlay;
  GtkRevealer        *read_only_revealer;
  GtkStack           *stack;
  AdwStatusPage      *error_page;
  GtkColumnView      *column_view;
  GtkSingleSelection *selection;
  GtkLabel           *details_label;
};

G_DEFINE_FINAL_TYPE (PstStoreView, pst_store_view, ADW_TYPE_WINDOW)

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

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "store.remove",
                                 entry != NULL && self->keystore != NULL &&
                                 !pst_keystore_is_read_only (self->keystore));
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

gboolean
pst_store_view_reload (PstStoreView *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *basename = NULL;

  g_return_val_if_fail (PST_IS_STORE_VIEW (self), FALSE);

  g_clear_object (&self->keystore);
  g_list_store_remove_all (self->entries);
  basename = g_path_get_basename (self->path);
  adw_window_title_set_title (self->window_title, basename);

  self->keystore = pst_keystore_open (self->path, self->password_file, &error);
  if (self->keystore == NULL)
    {
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      adw_window_title_set_subtitle (self->window_title, NULL);
      gtk_revealer_set_reveal_child (self->read_only_revealer, FALSE);
      return FALSE;
    }

  for (guint i = 0; i < pst_keystore_get_n_entries (self->keystore); i++)
    g_list_store_append (self->entries, pst_keystore_get_entry (self->keystore, i));
  adw_window_title_set_subtitle (self->window_title,
                                 pst_store_format_to_string (pst_keystore_get_format (self->keystore)));
  gtk_revealer_set_reveal_child (self->read_only_revealer, pst_keystore_is_read_only (self->keystore));
  gtk_stack_set_visible_child_name (self->stack, "entries");
  selection_changed_cb (self);
  return TRUE;
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
remove_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstStoreView *self = PST_STORE_VIEW (widget);
  PstStoreEntry *entry = gtk_single_selection_get_selected_item (self->selection);
  g_autofree char *alias = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  if (entry == NULL || self->keystore == NULL)
    return;
  alias = g_strdup (pst_store_entry_get_alias (entry));

  password_file = self->password_file != NULL ? g_strdup (self->password_file)
                                              : pst_password_default_path (self->path);
  if (g_file_test (password_file, G_FILE_TEST_EXISTS))
    password = pst_password_file_read (password_file, &error);
  else
    password = g_strdup (PST_DEFAULT_STORE_PASSWORD);

  if (password != NULL)
    {
      pst_keystore_remove (self->keystore, alias);
      if (pst_keystore_save (self->keystore, self->path, pst_keystore_get_format (self->keystore),
                             password, &error))
        message = g_strdup_printf (_("“%s” removed from the store"), alias);
      pst_password_free (password);
    }
  if (message == NULL)
    message = g_strdup (error->message);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
  pst_store_view_reload (self);
}

PstStoreView *
pst_store_view_new (GtkWindow  *parent,
                    const char *path,
                    const char *password_file)
{
  PstStoreView *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (PST_TYPE_STORE_VIEW, "transient-for", parent, NULL);
  self->path = g_strdup (path);
  self->password_file = g_strdup (password_file);
  pst_store_view_reload (self);
  return self;
}

static void
pst_store_view_dispose (GObject *object)
{
  PstStoreView *self = PST_STORE_VIEW (object);

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
pst_store_view_class_init (PstStoreViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_store_view_dispose;
  object_class->finalize = pst_store_view_finalize;

  g_type_ensure (PST_TYPE_ENTRY_CELL);
  g_type_ensure (PST_TYPE_STORE_ENTRY);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-store-view.ui");
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, window_title);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, read_only_revealer);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, stack);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, error_page);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, column_view);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, selection);
  gtk_widget_class_bind_template_child (widget_class, PstStoreView, details_label);
  gtk_widget_class_bind_template_callback (widget_class, selection_changed_cb);
  gtk_widget_class_install_action (widget_class, "store.reload", NULL, reload_action);
  gtk_widget_class_install_action (widget_class, "store.remove", NULL, remove_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_store_view_init (PstStoreView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->entries = g_list_store_new (PST_TYPE_STORE_ENTRY);
  gtk_single_selection_set_model (self->selection, G_LIST_MODEL (self->entries));
}
