/* pst-export-dialog.h: "Export Certificate" — a store entry's certificate for browsers and clients
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-cert-util.h"

G_BEGIN_DECLS

#define PST_TYPE_EXPORT_DIALOG (pst_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PstExportDialog, pst_export_dialog, PST, EXPORT_DIALOG, AdwWindow)

PstExportDialog *pst_export_dialog_new        (GtkWindow       *parent,
                                               PstStoreEntry   *entry);
void             pst_export_dialog_set_format (PstExportDialog *self,
                                               PstExportFormat  format);
/* What the Export button does once a file is chosen; emits ::exported. */
gboolean         pst_export_dialog_export_to  (PstExportDialog *self,
                                               const char      *path,
                                               GError         **error);

G_END_DECLS
