/* pst-diagnostics-panel.c: the problems panel (the library's validation findings)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-diagnostic-row.h"
#include "pst-diagnostics-panel.h"

struct _PstDiagnosticsPanel
{
  GtkWidget       parent_instance;

  GListModel     *model;

  GtkWidget      *box;
  GtkLabel       *summary_label;
  GtkStack       *stack;
  GtkListView    *list_view;
  GtkNoSelection *selection;
};

G_DEFINE_FINAL_TYPE (PstDiagnosticsPanel, pst_diagnostics_panel, GTK_TYPE_WIDGET)

enum {
  ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_summary (PstDiagnosticsPanel *self)
{
  guint n = self->model != NULL ? g_list_model_get_n_items (self->model) : 0;
  guint n_errors = 0;
  g_autofree char *errors = NULL;
  g_autofree char *warnings = NULL;
  g_autofree char *summary = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstDiagnostic) diag = g_list_model_get_item (self->model, i);
      if (pst_diagnostic_get_severity (diag) == PST_SEVERITY_ERROR)
        n_errors++;
    }
  errors = g_strdup_printf (ngettext ("%u error", "%u errors", n_errors), n_errors);
  warnings = g_strdup_printf (ngettext ("%u warning", "%u warnings", n - n_errors), n - n_errors);
  /* Translators: heading of the problems panel, e.g. "Problems: 2 errors, 1 warning" */
  summary = g_strdup_printf (_("Problems: %s, %s"), errors, warnings);
  gtk_label_set_label (self->summary_label, summary);
  gtk_stack_set_visible_child_name (self->stack, n > 0 ? "list" : "empty");
}

void
pst_diagnostics_panel_set_model (PstDiagnosticsPanel *self,
                                 GListModel          *model)
{
  g_return_if_fail (PST_IS_DIAGNOSTICS_PANEL (self));

  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  g_set_object (&self->model, model);
  if (model != NULL)
    g_signal_connect_object (model, "items-changed", G_CALLBACK (update_summary), self, G_CONNECT_SWAPPED);
  gtk_no_selection_set_model (self->selection, model);
  update_summary (self);
}

GListModel *
pst_diagnostics_panel_get_model (PstDiagnosticsPanel *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTICS_PANEL (self), NULL);
  return self->model;
}

void
pst_diagnostics_panel_activate (PstDiagnosticsPanel *self,
                                guint                position)
{
  g_autoptr(PstDiagnostic) diag = NULL;

  g_return_if_fail (PST_IS_DIAGNOSTICS_PANEL (self));

  if (self->model == NULL)
    return;
  diag = g_list_model_get_item (self->model, position);
  if (diag != NULL)
    g_signal_emit (self, signals[ACTIVATED], 0, diag);
}

static void
list_activate_cb (PstDiagnosticsPanel *self,
                  guint                position)
{
  pst_diagnostics_panel_activate (self, position);
}

static void
pst_diagnostics_panel_dispose (GObject *object)
{
  PstDiagnosticsPanel *self = PST_DIAGNOSTICS_PANEL (object);

  if (self->model != NULL)
    g_signal_handlers_disconnect_by_data (self->model, self);
  g_clear_object (&self->model);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_DIAGNOSTICS_PANEL);
  G_OBJECT_CLASS (pst_diagnostics_panel_parent_class)->dispose (object);
}

static void
pst_diagnostics_panel_class_init (PstDiagnosticsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_diagnostics_panel_dispose;

  /* A finding was activated: the window selects its service and field. */
  signals[ACTIVATED] =
    g_signal_new ("activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, PST_TYPE_DIAGNOSTIC);

  g_type_ensure (PST_TYPE_DIAGNOSTIC_ROW);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-diagnostics-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticsPanel, box);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticsPanel, summary_label);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticsPanel, stack);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticsPanel, list_view);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticsPanel, selection);
  gtk_widget_class_bind_template_callback (widget_class, list_activate_cb);
}

static void
pst_diagnostics_panel_init (PstDiagnosticsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update_summary (self);
}
