/* pst-cert-dialog.h: "New Certificate" — a key pair and certificate into the keystore
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_CERT_DIALOG (pst_cert_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PstCertDialog, pst_cert_dialog, PST, CERT_DIALOG, AdwWindow)

/* service (nullable): its accept hosts prefill the names */
PstCertDialog *pst_cert_dialog_new       (GtkWindow     *parent,
                                          PstDocument   *document,
                                          PstService    *service);
/* comma- or space-separated names as shown */
void           pst_cert_dialog_set_names (PstCertDialog *self,
                                          const char    *names);
const char    *pst_cert_dialog_get_names (PstCertDialog *self);

G_END_DECLS
