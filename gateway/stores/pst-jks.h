/* pst-jks.h: Java keytool's proprietary JKS and JCEKS stores (read-only)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-keystore.h"

G_BEGIN_DECLS

/* Parses a JKS (FE ED FE ED) or JCEKS (CE CE CE CE) store: checks the
 * integrity digest (mismatch → PST_STORE_ERROR_WRONG_PASSWORD, naming
 * display_name and password_file), decrypts private keys (the store
 * password protects them, as the Kaazing docs require), and appends new
 * PstStoreEntry objects to entries.  Truncated or malformed data →
 * PST_STORE_ERROR_CORRUPT.  Never reads out of bounds. */
gboolean pst_jks_parse (GBytes      *data,
                        const char  *password,
                        const char  *display_name,
                        const char  *password_file,
                        GPtrArray   *entries,
                        GError     **error);

/* keytool (JKS, JCEKS and PKCS#12 alike) writes EC private keys as PKCS#8
 * without the public point, which GnuTLS 3.7 cannot import.  Returns the
 * key unchanged (a new reference) when GnuTLS reads it, else a PKCS#8
 * rebuilt with the public point of certificate (the key's leaf); NULL if
 * neither works. */
GBytes  *pst_jks_complete_ec_key (GBytes *pkcs8,
                                  GBytes *certificate);

G_END_DECLS
