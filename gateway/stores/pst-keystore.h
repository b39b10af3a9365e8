/* pst-keystore.h: a key store or trust store file (PKCS#12, PEM, JKS, JCEKS)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-store-entry.h"

G_BEGIN_DECLS

#define PST_STORE_ERROR (pst_store_error_quark ())
typedef enum {
  PST_STORE_ERROR_NOT_FOUND,       /* file missing */
  PST_STORE_ERROR_IO,
  PST_STORE_ERROR_WRONG_PASSWORD,  /* "wrong password for STORE (read from PWFILE)" */
  PST_STORE_ERROR_CORRUPT,         /* truncated / damaged */
  PST_STORE_ERROR_UNKNOWN_FORMAT,  /* not a store at all */
  PST_STORE_ERROR_NO_ENTRY,        /* alias or host not present */
  PST_STORE_ERROR_READ_ONLY,       /* cannot write that format */
  PST_STORE_ERROR_CERTIFICATE,     /* bad certificate/key data, generation failure */
} PstStoreError;
GQuark pst_store_error_quark (void);

typedef enum {
  PST_STORE_FORMAT_UNKNOWN,
  PST_STORE_FORMAT_PKCS12,
  PST_STORE_FORMAT_PEM,
  PST_STORE_FORMAT_JKS,
  PST_STORE_FORMAT_JCEKS,
} PstStoreFormat;

const char     *pst_store_format_to_string   (PstStoreFormat format);   /* "PKCS12", "PEM", "JKS", "JCEKS" */
PstStoreFormat  pst_store_format_from_string (const char *text);         /* case-insensitive; UNKNOWN */
PstStoreFormat  pst_store_format_detect      (GBytes *data);             /* from the content */

#define PST_DEFAULT_STORE_PASSWORD "changeit"

#define PST_TYPE_KEYSTORE (pst_keystore_get_type ())
G_DECLARE_FINAL_TYPE (PstKeystore, pst_keystore, PST, KEYSTORE, GObject)

PstKeystore    *pst_keystore_new             (void);
/* password NULL = PST_DEFAULT_STORE_PASSWORD; password_file only names the
 * source of the password in error messages (may be NULL). */
PstKeystore    *pst_keystore_load            (const char *path,
                                              const char *password,
                                              const char *password_file,
                                              GError    **error);
PstKeystore    *pst_keystore_load_bytes      (GBytes     *data,
                                              const char *display_name,
                                              const char *password,
                                              const char *password_file,
                                              GError    **error);
/* Convenience: password read from password_file (or the default .pw path
 * beside the store, or "changeit" when neither exists). */
PstKeystore    *pst_keystore_open            (const char *path,
                                              const char *password_file,
                                              GError    **error);
/* The same, or with keyring TRUE the desktop keyring's password for the
 * store (blocks on D-Bus: load time only). */
PstKeystore    *pst_keystore_open_full       (const char *path,
                                              const char *password_file,
                                              gboolean    keyring,
                                              GError    **error);

const char     *pst_keystore_get_path        (PstKeystore *self);
PstStoreFormat  pst_keystore_get_format      (PstKeystore *self);
gboolean        pst_keystore_is_read_only    (PstKeystore *self);   /* JKS, JCEKS */

guint           pst_keystore_get_n_entries   (PstKeystore *self);
PstStoreEntry  *pst_keystore_get_entry       (PstKeystore *self, guint i);
PstStoreEntry  *pst_keystore_lookup          (PstKeystore *self, const char *alias);
PstStoreEntry  *pst_keystore_lookup_certificate (PstKeystore *self, GBytes *der);  /* leaf equal to der */
/* KEY entry whose certificate matches host (exact names before wildcards) */
PstStoreEntry  *pst_keystore_find_for_host   (PstKeystore *self, const char *host);
/* comma-separated names the KEY entries cover, for error messages */
char           *pst_keystore_dup_host_names  (PstKeystore *self);
void            pst_keystore_add             (PstKeystore *self, PstStoreEntry *entry);  /* replaces same alias */
gboolean        pst_keystore_remove          (PstKeystore *self, const char *alias);

/* PKCS#12 (PBES2 AES-256-CBC, HMAC-SHA256 MAC, readable by keytool 17 and
 * openssl; trusted entries carry Java's trusted-key-usage attribute) or PEM.
 * Written atomically with mode 0600. */
gboolean        pst_keystore_save            (PstKeystore    *self,
                                              const char     *path,
                                              PstStoreFormat  format,
                                              const char     *password,
                                              GError        **error);

/* Anchors of every entry (TRUSTED certs and KEY leaves) as a GTlsDatabase
 * for verifying back-ends and client certificates. */
GTlsDatabase   *pst_keystore_create_tls_database (PstKeystore *self, GError **error);

G_END_DECLS
