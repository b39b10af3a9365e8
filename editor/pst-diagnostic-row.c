/* pst-diagnostic-row.c: one validation finding in the problems panel
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-diagnostic-row.h"

struct _PstDiagnosticRow
{
  GtkWidget      parent_instance;

  PstDiagnostic *diagnostic;

  GtkWidget     *box;
  GtkImage      *icon;
  GtkLabel      *location_label;
  GtkLabel      *message_label;
  GtkLabel      *service_label;
  GtkButton     *fix_button;
};

G_DEFINE_FINAL_TYPE (PstDiagnosticRow, pst_diagnostic_row, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DIAGNOSTIC,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update (PstDiagnosticRow *self)
{
  PstDiagnostic *diag = self->diagnostic;
  g_autofree char *location = NULL;
  gboolean is_error;

  gtk_widget_set_visible (GTK_WIDGET (self->fix_button), pst_diagnostic_row_has_fix (self));
  if (diag == NULL)
    {
      gtk_label_set_label (self->message_label, "");
      gtk_label_set_label (self->location_label, "");
      gtk_label_set_label (self->service_label, "");
      return;
    }

  is_error = pst_diagnostic_get_severity (diag) == PST_SEVERITY_ERROR;
  gtk_image_set_from_icon_name (self->icon, is_error ? "dialog-error-symbolic" : "dialog-warning-symbolic");
  gtk_widget_remove_css_class (GTK_WIDGET (self->icon), is_error ? "warning" : "error");
  gtk_widget_add_css_class (GTK_WIDGET (self->icon), is_error ? "error" : "warning");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  is_error ? _("Error") : _("Warning"), -1);

  if (pst_diagnostic_get_line (diag) > 0)
    /* Translators: position in the file, "line:column" */
    location = g_strdup_printf (_("%u:%u"), pst_diagnostic_get_line (diag),
                                pst_diagnostic_get_column (diag));
  gtk_label_set_label (self->location_label, location != NULL ? location : "");
  gtk_label_set_label (self->message_label, pst_diagnostic_get_message (diag));
  gtk_label_set_label (self->service_label,
                       pst_diagnostic_get_service (diag) != NULL ? pst_diagnostic_get_service (diag) : "");
}

/* A TLS connect with no truststore: its fix is "Trust a Server…" for
 * that service (the library marks it with the field "truststore"). */
gboolean
pst_diagnostic_row_has_fix (PstDiagnosticRow *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC_ROW (self), FALSE);
  return self->diagnostic != NULL && pst_diagnostic_get_service (self->diagnostic) != NULL &&
         g_strcmp0 (pst_diagnostic_get_field (self->diagnostic), "truststore") == 0;
}

static void
fix_clicked_cb (PstDiagnosticRow *self)
{
  if (!pst_diagnostic_row_has_fix (self))
    return;
  gtk_widget_activate_action (GTK_WIDGET (self), "win.trust-server-for", "s",
                              pst_diagnostic_get_service (self->diagnostic));
}

PstDiagnostic *
pst_diagnostic_row_get_diagnostic (PstDiagnosticRow *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC_ROW (self), NULL);
  return self->diagnostic;
}

void
pst_diagnostic_row_set_diagnostic (PstDiagnosticRow *self,
                                   PstDiagnostic    *diagnostic)
{
  g_return_if_fail (PST_IS_DIAGNOSTIC_ROW (self));

  if (g_set_object (&self->diagnostic, diagnostic))
    {
      update (self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIAGNOSTIC]);
    }
}

static void
pst_diagnostic_row_dispose (GObject *object)
{
  PstDiagnosticRow *self = PST_DIAGNOSTIC_ROW (object);

  g_clear_object (&self->diagnostic);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_DIAGNOSTIC_ROW);
  G_OBJECT_CLASS (pst_diagnostic_row_parent_class)->dispose (object);
}

static void
pst_diagnostic_row_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  PstDiagnosticRow *self = PST_DIAGNOSTIC_ROW (object);

  switch (prop_id)
    {
    case PROP_DIAGNOSTIC:
      g_value_set_object (value, self->diagnostic);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_diagnostic_row_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  PstDiagnosticRow *self = PST_DIAGNOSTIC_ROW (object);

  switch (prop_id)
    {
    case PROP_DIAGNOSTIC:
      pst_diagnostic_row_set_diagnostic (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_diagnostic_row_class_init (PstDiagnosticRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_diagnostic_row_dispose;
  object_class->get_property = pst_diagnostic_row_get_property;
  object_class->set_property = pst_diagnostic_row_set_property;

  properties[PROP_DIAGNOSTIC] =
    g_param_spec_object ("diagnostic", NULL, NULL, PST_TYPE_DIAGNOSTIC,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-diagnostic-row.ui");
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, box);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, icon);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, location_label);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, message_label);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, service_label);
  gtk_widget_class_bind_template_child (widget_class, PstDiagnosticRow, fix_button);
  gtk_widget_class_bind_template_callback (widget_class, fix_clicked_cb);
}

static void
pst_diagnostic_row_init (PstDiagnosticRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
