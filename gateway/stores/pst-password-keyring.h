/* pst-password-keyring.h: store passwords in the desktop keyring (Secret Service)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PST_KEYRING_ERROR (pst_keyring_error_quark ())
typedef enum {
  PST_KEYRING_ERROR_UNREACHABLE,  /* no session bus, or no Secret Service on it */
  PST_KEYRING_ERROR_NOT_FOUND,    /* the keyring holds no password for the store */
  PST_KEYRING_ERROR_FAILED,       /* the Secret Service refused */
  PST_KEYRING_ERROR_LOCKED,       /* the item is there, in a collection that stays locked */
} PstKeyringError;
GQuark pst_keyring_error_quark (void);

/* The Secret Service schema; its one attribute, "store", is the store's
 * absolute path. */
#define PST_KEYRING_SCHEMA    "org.postern.StorePassword"
#define PST_KEYRING_ATTRIBUTE "store"

/* The "store" attribute for a store path: absolute, canonical */
char     *pst_password_keyring_key    (const char *store_path);
/* These block on D-Bus: call them at load time or in a thread, never per
 * connection on the gateway's main loop.  Errors name the store and say
 * what to do (the .pw alternative included). */
char     *pst_password_keyring_lookup (const char *store_path, GError **error);
gboolean  pst_password_keyring_store  (const char *store_path, const char *password, GError **error);
/* TRUE also when there was nothing to remove */
gboolean  pst_password_keyring_clear  (const char *store_path, GError **error);
/* Looks it up, or stores a new random one when there is none; *created
 * (nullable) says which. */
char     *pst_password_keyring_lookup_or_create (const char *store_path, gboolean *created, GError **error);

/* File → keyring: stores the password the store opens with now (its
 * password file, else the default .pw, else "changeit"); the file stays. */
gboolean  pst_password_keyring_adopt   (const char *store_path, const char *password_file, GError **error);
/* Keyring → file: the default .pw holds the keyring's password afterwards
 * (written 0600 when missing); returns its path.  The item stays. */
char     *pst_password_keyring_release (const char *store_path, GError **error);
void      pst_password_keyring_move_async  (const char *store_path, gboolean to_keyring,
                                            const char *password_file, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
char     *pst_password_keyring_move_finish (GAsyncResult *result, GError **error);

/* The same in a worker thread (the editor's main loop never blocks) */
void      pst_password_keyring_lookup_async  (const char *store_path, GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
char     *pst_password_keyring_lookup_finish (GAsyncResult *result, GError **error);
void      pst_password_keyring_store_async   (const char *store_path, const char *password,
                                              GCancellable *cancellable,
                                              GAsyncReadyCallback callback, gpointer user_data);
gboolean  pst_password_keyring_store_finish  (GAsyncResult *result, GError **error);

G_END_DECLS
