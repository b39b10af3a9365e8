/* pst-run-page.c: the Run page: start/stop the gateway, its log
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-run-page.h"

struct _PstRunPage
{
  AdwBin       parent_instance;

  PstRunner   *runner;

  GtkLabel    *status_label;
  GtkButton   *run_button;
  GtkTextView *log_view;
};

G_DEFINE_FINAL_TYPE (PstRunPage, pst_run_page, ADW_TYPE_BIN)

static void
update_status (PstRunPage *self)
{
  gboolean running = self->runner != NULL && pst_runner_get_running (self->runner);

  if (running)
    {
      /* "Running" once it listens: a refused configuration never gets there */
      g_autofree char *text =
        pst_runner_get_listening (self->runner)
          ? g_strdup_printf (_("Running “postern run --config %s”. Use Test on a service page to try it."),
                             pst_runner_get_config_path (self->runner))
          : g_strdup_printf (_("Starting “postern run --config %s”…"),
                             pst_runner_get_config_path (self->runner));
      gtk_label_set_label (self->status_label, text);
      gtk_button_set_label (self->run_button, _("_Stop"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->run_button), "win.stop");
      gtk_widget_remove_css_class (GTK_WIDGET (self->run_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->run_button), "destructive-action");
    }
  else
    {
      gtk_label_set_label (self->status_label,
                           _("The gateway is not running. Run saves the configuration and starts "
                             "“postern run” on it; its output appears below."));
      gtk_button_set_label (self->run_button, _("_Run"));
      gtk_actionable_set_action_name (GTK_ACTIONABLE (self->run_button), "win.run");
      gtk_widget_remove_css_class (GTK_WIDGET (self->run_button), "destructive-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->run_button), "suggested-action");
    }
}

void
pst_run_page_append (PstRunPage *self,
                     const char *line)
{
  GtkTextBuffer *buffer;
  GtkTextIter end;
  int extra;

  g_return_if_fail (PST_IS_RUN_PAGE (self));

  buffer = gtk_text_view_get_buffer (self->log_view);
  gtk_text_buffer_get_end_iter (buffer, &end);
  gtk_text_buffer_insert (buffer, &end, line, -1);
  gtk_text_buffer_insert (buffer, &end, "\n", 1);

  /* Bounded: a chatty gateway must not grow the editor without end. */
  extra = gtk_text_buffer_get_line_count (buffer) - 1 - PST_RUN_PAGE_MAX_LINES;
  if (extra > 0)
    {
      GtkTextIter start, cut;

      gtk_text_buffer_get_start_iter (buffer, &start);
      gtk_text_buffer_get_iter_at_line (buffer, &cut, extra);
      gtk_text_buffer_delete (buffer, &start, &cut);
    }

  gtk_text_view_scroll_to_mark (self->log_view, gtk_text_buffer_get_insert (buffer), 0, FALSE, 0, 0);
}

GtkTextBuffer *
pst_run_page_get_buffer (PstRunPage *self)
{
  g_return_val_if_fail (PST_IS_RUN_PAGE (self), NULL);
  return gtk_text_view_get_buffer (self->log_view);
}

static void
exited_cb (PstRunPage *self,
           const char *message)
{
  g_autofree char *line = g_strdup_printf ("— %s —", message);

  pst_run_page_append (self, line);
}

void
pst_run_page_set_runner (PstRunPage *self,
                         PstRunner  *runner)
{
  g_return_if_fail (PST_IS_RUN_PAGE (self));
  g_return_if_fail (runner == NULL || PST_IS_RUNNER (runner));

  if (self->runner != NULL)
    g_signal_handlers_disconnect_by_data (self->runner, self);
  g_set_object (&self->runner, runner);
  if (runner != NULL)
    {
      g_signal_connect_object (runner, "line", G_CALLBACK (pst_run_page_append), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (runner, "exited", G_CALLBACK (exited_cb), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (runner, "notify::running", G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
      g_signal_connect_object (runner, "notify::listening", G_CALLBACK (update_status), self, G_CONNECT_SWAPPED);
    }
  update_status (self);
}

static void
clear_log_cb (PstRunPage *self)
{
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->log_view), "", 0);
}

static void
pst_run_page_dispose (GObject *object)
{
  PstRunPage *self = PST_RUN_PAGE (object);

  if (self->runner != NULL)
    g_signal_handlers_disconnect_by_data (self->runner, self);
  g_clear_object (&self->runner);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_RUN_PAGE);
  G_OBJECT_CLASS (pst_run_page_parent_class)->dispose (object);
}

static void
pst_run_page_class_init (PstRunPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_run_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-run-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PstRunPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PstRunPage, run_button);
  gtk_widget_class_bind_template_child (widget_class, PstRunPage, log_view);
  gtk_widget_class_bind_template_callback (widget_class, clear_log_cb);
}

static void
pst_run_page_init (PstRunPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update_status (self);
}
