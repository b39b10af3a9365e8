/* pst-store-view.h: the store inspector (keystore or truststore entries)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-keystore.h"

G_BEGIN_DECLS

#define PST_TYPE_STORE_VIEW (pst_store_view_get_type ())
G_DECLARE_FINAL_TYPE (PstStoreView, pst_store_view, PST, STORE_VIEW, AdwWindow)

/* password_file NULL: the default .pw beside the store, or "changeit" */
PstStoreView *pst_store_view_new          (GtkWindow    *parent,
                                           const char   *path,
                                           const char   *password_file);
/* reads the store again (the library does the I/O); FALSE with the error shown */
gboolean      pst_store_view_reload       (PstStoreView *self);
GListModel   *pst_store_view_get_entries  (PstStoreView *self);

G_END_DECLS
