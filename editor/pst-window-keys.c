/* pst-window-keys.c: keyboard reach: the Problems panel (F8), help (F1), Run and Test
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

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

void
pst_window_class_add_key_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.focus-problems", NULL, focus_problems_action);
}
