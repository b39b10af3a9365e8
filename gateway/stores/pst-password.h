/* pst-password.h: store password files
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* keystore.db → keystore.pw, devca.p12 → devca.pw, store → store.pw */
char     *pst_password_default_path (const char *store_path);
/* First line, trailing CR/LF trimmed.  Errors name the file. */
char     *pst_password_file_read    (const char *path, GError **error);
/* A random password: 24 URL-safe characters */
char     *pst_password_generate     (GError **error);
/* A random password (24 chars, URL-safe), written with mode 0600 (atomic,
 * refuses to overwrite an existing file). */
char     *pst_password_file_create  (const char *path, GError **error);
/* The given password, the same way */
gboolean  pst_password_file_write   (const char *path, const char *password, GError **error);
/* Reads path, or creates it as above when it does not exist; *created
 * (nullable) says which. */
char     *pst_password_file_read_or_create (const char *path, gboolean *created, GError **error);
/* TRUE if group/others can read it */
gboolean  pst_password_file_is_exposed (const char *path);
/* Wipe and free */
void      pst_password_free         (char *password);

G_END_DECLS
