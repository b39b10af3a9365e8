/* pst-window-trusted.c: the window's "Make It Trusted" action (the dialog, on the window's document and runner)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-trusted-dialog.h"
#include "pst-window-private.h"

static void
trusted_closed_cb (PstWindow *self)
{
  /* what the dialog made shows on the Trust page at once */
  if (self->document != NULL)
    pst_trust_page_refresh (self->trust_page);
}

static void
make_trusted_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  PstTrustedDialog *dialog;

  if (self->document == NULL)
    return;
  dialog = pst_trusted_dialog_new (GTK_WINDOW (self), self->document, self->runner);
  g_signal_connect_object (dialog, "destroy", G_CALLBACK (trusted_closed_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

void
pst_window_class_add_trusted_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.make-trusted", NULL, make_trusted_action);
}
