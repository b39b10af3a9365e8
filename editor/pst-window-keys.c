/* pst-window-keys.c: keyboard reach: the Problems panel (F8), help (F1), Run and Test
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-commit.h"
#include "pst-window-private.h"

void
pst_window_focus_problems (PstWindow *self)
{
  g_return_if_fail (PST_IS_WINDOW (self));

  g_object_set (self, "show-diagnostics", TRUE, NULL);
  /* into the first row (or the panel's first focusable widget) */
  if (!gtk_widget_child_focus (GTK_WIDGET (self->diagnostics_panel), GTK_DIR_TAB_FORWARD))
    gtk_widget_grab_focus (GTK_WIDGET (self->diagnostics_panel));
}

static void
focus_problems_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  pst_window_focus_problems (PST_WINDOW (widget));
}

/* Undo / Redo: a field being edited keeps its own text undo; otherwise
 * (and once the edit is committed) it is the document's. */
static void
history_step (PstWindow *self,
              gboolean   redo)
{
  g_autoptr(GError) error = NULL;
  GtkEditable *editing;
  gboolean ok;

  if (self->document == NULL)
    return;
  editing = pst_entry_commit_get_editing (GTK_WIDGET (self));
  if (editing != NULL)
    {
      pst_entry_commit_text_undo (editing, redo);
      return;
    }
  /* a field with a pending edit elsewhere: commit it so it can be undone */
  pst_entry_commit_flush_all (GTK_WIDGET (self));
  ok = redo ? pst_document_redo (self->document, &error) : pst_document_undo (self->document, &error);
  if (!ok && error != NULL)
    pst_window_show_error (self, redo ? _("Cannot Redo") : _("Cannot Undo"), error->message);
  else if (!ok)
    gtk_widget_error_bell (GTK_WIDGET (self));
}

static void
undo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  history_step (PST_WINDOW (widget), FALSE);
}

static void
redo_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  history_step (PST_WINDOW (widget), TRUE);
}

/* F1: the keyboard shortcuts and where the documentation is */
static void
help_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  gtk_widget_activate_action (widget, "win.show-help-overlay", NULL);
}

void
pst_window_class_add_key_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.undo", NULL, undo_action);
  gtk_widget_class_install_action (widget_class, "win.redo", NULL, redo_action);
  gtk_widget_class_install_action (widget_class, "win.help", NULL, help_action);
  gtk_widget_class_install_action (widget_class, "win.focus-problems", NULL, focus_problems_action);
}
