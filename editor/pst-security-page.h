/* pst-security-page.h: the keystore and truststore of the configuration
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_SECURITY_PAGE (pst_security_page_get_type ())
G_DECLARE_FINAL_TYPE (PstSecurityPage, pst_security_page, PST, SECURITY_PAGE, AdwBin)

void     pst_security_page_set_document (PstSecurityPage  *self,
                                         PstDocument      *document);
/* What "Create…" does once a file is chosen: a new empty PKCS#12 store
 * with a random 0600 password file (an existing store is kept), and the
 * configuration's file, type and password-file pointing at them. */
gboolean pst_security_page_create_store (PstSecurityPage  *self,
                                         PstStoreKind      kind,
                                         const char       *path,
                                         GError          **error);
/* The same with the store opened or made in a worker thread (PBKDF2
 * rounds, a keyring call); _finish applies it to the configuration. */
void     pst_security_page_create_store_async  (PstSecurityPage     *self,
                                                PstStoreKind         kind,
                                                const char          *path,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
gboolean pst_security_page_create_store_finish (PstSecurityPage     *self,
                                                GAsyncResult        *result,
                                                GError             **error);

G_END_DECLS
