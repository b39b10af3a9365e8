/* pst-url-row.c: an editable URL (or origin) row showing its substituted value
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-commit.h"
#include "pst-url-row.h"

struct _PstUrlRow
{
  AdwPreferencesRow  parent_instance;

  GtkEntry          *entry;
  GtkLabel          *resolved_label;
  GtkButton         *remove_button;

  guint              position;
  guint              updating : 1;
};

G_DEFINE_FINAL_TYPE (PstUrlRow, pst_url_row, ADW_TYPE_PREFERENCES_ROW)

enum {
  CHANGED,
  REMOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The edit is finished (Enter, focus out, a pause): the owner edits the
 * model, and marks the row with pst_url_row_set_error() if refused. */
static gboolean
entry_commit_cb (GtkEditable *editable,
                 PstUrlRow   *self)
{
  if (!self->updating)
    g_signal_emit (self, signals[CHANGED], 0);
  return !gtk_widget_has_css_class (GTK_WIDGET (self->entry), "error");
}

static void
remove_clicked_cb (PstUrlRow *self)
{
  g_signal_emit (self, signals[REMOVE], 0);
}

static void
title_changed_cb (PstUrlRow *self)
{
  const char *title = adw_preferences_row_get_title (ADW_PREFERENCES_ROW (self));
  g_autofree char *remove = g_strdup_printf (_("Remove %s"), title);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self->entry),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->remove_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, remove, -1);
  gtk_entry_set_placeholder_text (self->entry, title);
}

static void
pst_url_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), PST_TYPE_URL_ROW);
  G_OBJECT_CLASS (pst_url_row_parent_class)->dispose (object);
}

static gboolean
pst_url_row_grab_focus (GtkWidget *widget)
{
  return gtk_widget_grab_focus (GTK_WIDGET (PST_URL_ROW (widget)->entry));
}

static void
pst_url_row_class_init (PstUrlRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_url_row_dispose;
  widget_class->grab_focus = pst_url_row_grab_focus;

  /* The user finished editing the text (not emitted by pst_url_row_set_text). */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[REMOVE] =
    g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-url-row.ui");
  gtk_widget_class_bind_template_child (widget_class, PstUrlRow, entry);
  gtk_widget_class_bind_template_child (widget_class, PstUrlRow, resolved_label);
  gtk_widget_class_bind_template_child (widget_class, PstUrlRow, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, remove_clicked_cb);
}

static void
pst_url_row_init (PstUrlRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  pst_entry_commit_watch (GTK_EDITABLE (self->entry), (PstEntryCommitFunc) entry_commit_cb, self);
  g_signal_connect (self, "notify::title", G_CALLBACK (title_changed_cb), NULL);
}

GtkWidget *
pst_url_row_new (const char *title)
{
  return g_object_new (PST_TYPE_URL_ROW, "title", title, NULL);
}

guint
pst_url_row_get_position (PstUrlRow *self)
{
  g_return_val_if_fail (PST_IS_URL_ROW (self), 0);
  return self->position;
}

void
pst_url_row_set_position (PstUrlRow *self,
                          guint      position)
{
  g_return_if_fail (PST_IS_URL_ROW (self));
  self->position = position;
}

const char *
pst_url_row_get_text (PstUrlRow *self)
{
  g_return_val_if_fail (PST_IS_URL_ROW (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->entry));
}

void
pst_url_row_set_text (PstUrlRow  *self,
                      const char *text)
{
  g_return_if_fail (PST_IS_URL_ROW (self));

  /* Never rewrites what is being typed: the cursor would jump. */
  self->updating = TRUE;
  pst_entry_commit_set_text (GTK_EDITABLE (self->entry), text);
  self->updating = FALSE;
}

void
pst_url_row_set_resolved (PstUrlRow  *self,
                          const char *resolved)
{
  gboolean show;

  g_return_if_fail (PST_IS_URL_ROW (self));

  show = resolved != NULL && *resolved != '\0' && g_strcmp0 (resolved, pst_url_row_get_text (self)) != 0;
  gtk_label_set_label (self->resolved_label, show ? resolved : "");
  gtk_widget_set_visible (GTK_WIDGET (self->resolved_label), show);
}

void
pst_url_row_set_error (PstUrlRow *self,
                       gboolean   error)
{
  g_return_if_fail (PST_IS_URL_ROW (self));

  if (error)
    gtk_widget_add_css_class (GTK_WIDGET (self->entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->entry), "error");
}

GtkEditable *
pst_url_row_get_editable (PstUrlRow *self)
{
  g_return_val_if_fail (PST_IS_URL_ROW (self), NULL);
  return GTK_EDITABLE (self->entry);
}
