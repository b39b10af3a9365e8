/* pst-store-view.h: the store inspector (keystore or truststore entries)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-keystore.h"
#include "pst-trust-dialog.h"

G_BEGIN_DECLS

#define PST_TYPE_STORE_VIEW (pst_store_view_get_type ())
G_DECLARE_FINAL_TYPE (PstStoreView, pst_store_view, PST, STORE_VIEW, AdwWindow)

/* password_file NULL: the default .pw beside the store, or "changeit" */
PstStoreView *pst_store_view_new          (GtkWindow    *parent,
                                           const char   *path,
                                           const char   *password_file);
/* The same for a store whose password is in the desktop keyring */
PstStoreView *pst_store_view_new_full     (GtkWindow    *parent,
                                           const char   *path,
                                           const char   *password_file,
                                           gboolean      password_keyring);
/* Opens the store again in a worker thread, a spinner shown meanwhile;
 * ::loaded (TRUE: entries shown, FALSE: the error shown) follows on the
 * main thread.  Closing the window cancels it. */
void          pst_store_view_reload       (PstStoreView *self);
/* TRUE while a load runs (property "loading") */
gboolean      pst_store_view_get_loading  (PstStoreView *self);
/* TRUE when the last load opened the store */
gboolean      pst_store_view_is_open      (PstStoreView *self);
GListModel   *pst_store_view_get_entries  (PstStoreView *self);
const char   *pst_store_view_get_path     (PstStoreView *self);
/* Every certificate of a PEM or DER file, added as trusted (the store is
 * made when missing) in a worker thread; FALSE when the file cannot be
 * read; ::changed follows the write (a failed write is shown as a toast). */
gboolean      pst_store_view_import_file  (PstStoreView *self,
                                           const char   *path,
                                           GError      **error);
/* Shows "Trust a Server" for this store; ::changed follows a trust. */
PstTrustDialog *pst_store_view_trust_server (PstStoreView *self);
/* A JKS/JCEKS store saved as PKCS#12 at path (its password file made by
 * the .pw rule); the view then shows the new store; emits ::converted. */
gboolean      pst_store_view_convert_to   (PstStoreView *self,
                                           const char   *path,
                                           GError      **error);

G_END_DECLS
