/* pst-trust-dialog.h: "Trust a Server" — fetch what a TLS server presents, confirm, trust it
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PST_TYPE_TRUST_DIALOG (pst_trust_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PstTrustDialog, pst_trust_dialog, PST, TRUST_DIALOG, AdwWindow)

/* The store gets the chosen certificate (made when missing, with its
 * password file); password_file NULL = the default .pw beside it. */
PstTrustDialog *pst_trust_dialog_new                (GtkWindow      *parent,
                                                     const char     *store_path,
                                                     const char     *password_file);
/* The store's password is in the desktop keyring (a new store's goes there) */
void            pst_trust_dialog_set_password_keyring (PstTrustDialog *self,
                                                       gboolean        password_keyring);
/* "host:port" as typed in the entry */
void            pst_trust_dialog_set_address        (PstTrustDialog *self,
                                                     const char     *host_and_port);
/* certificates of the last fetch (0 before, or after a failure) */
guint           pst_trust_dialog_get_n_certificates (PstTrustDialog *self);
/* index in the chain (0 = the server's own) of the one to trust */
void            pst_trust_dialog_select             (PstTrustDialog *self,
                                                     guint           index);

G_END_DECLS
