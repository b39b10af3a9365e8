/* pst-diagnostic-row.h: one validation finding in the problems panel
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gtk/gtk.h>

#include "pst-diagnostic.h"

G_BEGIN_DECLS

#define PST_TYPE_DIAGNOSTIC_ROW (pst_diagnostic_row_get_type ())
G_DECLARE_FINAL_TYPE (PstDiagnosticRow, pst_diagnostic_row, PST, DIAGNOSTIC_ROW, GtkWidget)

PstDiagnostic *pst_diagnostic_row_get_diagnostic (PstDiagnosticRow *self);
void           pst_diagnostic_row_set_diagnostic (PstDiagnosticRow *self,
                                                  PstDiagnostic    *diagnostic);

/* The finding has a fix the row offers as a button (clicked: the
 * window's "win.trust-server-for" action for its service). */
gboolean       pst_diagnostic_row_has_fix        (PstDiagnosticRow *self);

G_END_DECLS
