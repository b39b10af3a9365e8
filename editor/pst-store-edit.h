/* pst-store-edit.h: a change to a store file, made in a worker thread
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-store-file.h"

G_BEGIN_DECLS

/* Changes sf->store (called in the worker thread, so it must not touch
 * widgets); FALSE with error set leaves the file as it was.  An edit that
 * saved the store itself (pst_store_file_add_trusted) or found nothing to
 * change sets sf->saved. */
typedef gboolean (*PstStoreEditFunc) (PstStoreFile  *sf,
                                      gpointer       data,
                                      GError       **error);

/* Opens path (PBKDF2 rounds, perhaps a keyring lookup) with flags, calls
 * edit, saves, all in a worker thread; callback runs on the caller's main
 * context.  A failed open, edit or save abandons a password file the open
 * made.  data is freed with data_free once the task is done. */
void     pst_store_edit_async  (const char          *path,
                                const char          *password_file,
                                PstStoreOpenFlags    flags,
                                PstStoreEditFunc     edit,
                                gpointer             data,
                                GDestroyNotify       data_free,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data);
gboolean pst_store_edit_finish (GAsyncResult        *result,
                                GError             **error);

G_END_DECLS
