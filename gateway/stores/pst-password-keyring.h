/* pst-password-keyring.h: store passwords in the desktop keyring (Secret Service)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PST_KEYRING_ERROR (pst_keyring_error_quark ())
typedef enum {
  PST_KEYRING_ERROR_UNREACHABLE,  /* no session bus, or no Secret Service on it */
  PST_KEYRING_ERROR_NOT_FOUND,    /* the keyring holds no password for the store */
  PST_KEYRING_ERROR_FAILED,       /* the Secret Service refused (locked, dismissed…) */
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

G_END_DECLS
