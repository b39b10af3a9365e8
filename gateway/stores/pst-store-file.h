/* pst-store-file.h: a store file opened for a change: its password, created or not, saved or not
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-keystore.h"

G_BEGIN_DECLS

/* What `postern cert`, `postern run` and the editor share when they open
 * (or create) a store to change it and save it again. */
typedef struct {
  char        *path;
  char        *password_file;    /* where the password came from; NULL = keytool's default or the keyring */
  char        *password;         /* never printed or logged */
  PstKeystore *store;
  gboolean     created;          /* the store file did not exist yet */
  gboolean     password_created; /* this open made password_file (or the keyring item) */
  gboolean     password_keyring; /* the password is in the desktop keyring, not in a file */
  gboolean     saved;
} PstStoreFile;

typedef enum {
  PST_STORE_OPEN_READ   = 0,
  PST_STORE_OPEN_WRITE  = 1 << 0,  /* refuse JKS/JCEKS (read-only): suggest converting */
  PST_STORE_OPEN_CREATE = 1 << 1,  /* a missing store is made, with a random 0600 password file */
  PST_STORE_OPEN_KEYRING = 1 << 2, /* the password is in the keyring (a new one goes there) */
} PstStoreOpenFlags;

/* password_file NULL = the default .pw path beside the store (DESIGN.md);
 * with PST_STORE_OPEN_KEYRING it must be NULL.  The keyring blocks on
 * D-Bus (see pst-password-keyring.h). */
gboolean pst_store_file_open        (PstStoreFile      *sf,
                                     const char        *path,
                                     const char        *password_file,
                                     PstStoreOpenFlags  flags,
                                     GError           **error);
gboolean pst_store_file_save        (PstStoreFile *sf, GError **error);
void     pst_store_file_clear       (PstStoreFile *sf);
/* After a failure: removes a password file this open made for a store
 * that was never written. */
void     pst_store_file_abandon     (PstStoreFile *sf);
/* Adds der as a trusted entry (alias NULL = the subject's CN) and saves;
 * fine when it is there already; refuses to replace a different one. */
gboolean pst_store_file_add_trusted (PstStoreFile *sf, GBytes *der, const char *alias, GError **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PstStoreFile, pst_store_file_clear)

G_END_DECLS
