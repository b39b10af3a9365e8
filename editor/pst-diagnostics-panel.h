/* pst-diagnostics-panel.h: the problems panel (the library's validation findings)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gtk/gtk.h>

#include "pst-diagnostic.h"

G_BEGIN_DECLS

#define PST_TYPE_DIAGNOSTICS_PANEL (pst_diagnostics_panel_get_type ())
G_DECLARE_FINAL_TYPE (PstDiagnosticsPanel, pst_diagnostics_panel, PST, DIAGNOSTICS_PANEL, GtkWidget)

/* model of PstDiagnostic */
void        pst_diagnostics_panel_set_model (PstDiagnosticsPanel *self,
                                             GListModel          *model);
GListModel *pst_diagnostics_panel_get_model (PstDiagnosticsPanel *self);
/* as ::activated would for the row at position (keyboard, tests) */
void        pst_diagnostics_panel_activate  (PstDiagnosticsPanel *self,
                                             guint                position);

G_END_DECLS
