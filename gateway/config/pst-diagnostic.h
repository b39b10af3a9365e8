/* pst-diagnostic.h: one validation finding, FILE:LINE:COL: error|warning: message
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  PST_SEVERITY_WARNING,
  PST_SEVERITY_ERROR,
} PstSeverity;

#define PST_TYPE_DIAGNOSTIC (pst_diagnostic_get_type ())
G_DECLARE_FINAL_TYPE (PstDiagnostic, pst_diagnostic, PST, DIAGNOSTIC, GObject)

PstDiagnostic *pst_diagnostic_new          (PstSeverity  severity,
                                            const char  *file,
                                            guint        line,
                                            guint        column,
                                            const char  *message);
PstSeverity    pst_diagnostic_get_severity (PstDiagnostic *self);
const char    *pst_diagnostic_get_file     (PstDiagnostic *self);
guint          pst_diagnostic_get_line     (PstDiagnostic *self);
guint          pst_diagnostic_get_column   (PstDiagnostic *self);
const char    *pst_diagnostic_get_message  (PstDiagnostic *self);
/* The service the finding is about (NULL for global ones) and the
 * field name ("accept", "connect", "ssl.verify-client", "keystore", …),
 * so that the editor can select the service and focus the field. */
const char    *pst_diagnostic_get_service  (PstDiagnostic *self);
const char    *pst_diagnostic_get_field    (PstDiagnostic *self);
void           pst_diagnostic_set_context  (PstDiagnostic *self,
                                            const char    *service,
                                            const char    *field);
/* "FILE:LINE:COL: error: message" */
char          *pst_diagnostic_to_string    (PstDiagnostic *self);

G_END_DECLS
