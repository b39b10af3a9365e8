/* pst-ca-install.h: putting a CA where browsers look (NSS), shared by `cert install-ca` and the editor
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-keystore.h"

G_BEGIN_DECLS

/* One line of what was done (failed = FALSE) or what went wrong. */
typedef void (*PstCaInstallReport) (gboolean    failed,
                                    const char *message,
                                    gpointer    user_data);

/* The local CA of store, or else any CA certificate it holds (a CA
 * exported from elsewhere can be installed too, it just cannot sign). */
PstStoreEntry *pst_ca_install_find_ca  (PstKeystore *store);
/* The NSS nickname for a CA: its common name, as browsers show it. */
char          *pst_ca_install_nickname (PstStoreEntry *ca);

/* Adds (install) or removes the CA der under nickname in the user's NSS
 * database (~/.pki/nssdb, made when missing on install) and each Firefox
 * profile, with certutil.  Blocking: call it from a worker thread in a
 * GUI.  Each database gets one report line; *changes (nullable) counts
 * the databases changed.  FALSE with error when certutil is missing or
 * any database failed. */
gboolean       pst_ca_install_nss      (GBytes              *der,
                                        const char          *nickname,
                                        gboolean             install,
                                        PstCaInstallReport   report,
                                        gpointer             user_data,
                                        guint               *changes,
                                        GError             **error);

/* Opens the store at path (password_file NULL: the default .pw), finds its
 * CA and installs it in the NSS databases, in a worker thread. */
void           pst_ca_install_nss_async  (const char          *store_path,
                                          const char          *password_file,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data);
gboolean       pst_ca_install_nss_finish (GAsyncResult  *result,
                                          GError       **error);

G_END_DECLS
