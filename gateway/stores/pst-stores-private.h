/* pst-stores-private.h: helpers shared by the store and certificate files
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "pst-keystore.h"

G_BEGIN_DECLS

typedef enum {
  PST_HOST_MATCH_NONE,
  PST_HOST_MATCH_WILDCARD,
  PST_HOST_MATCH_EXACT,
} PstHostMatch;

/* pst-host-match.c */
PstHostMatch      pst_host_match_crt            (gnutls_x509_crt_t crt, const char *host);
int               pst_crt_get_san               (gnutls_x509_crt_t crt, unsigned seq, gnutls_datum_t *out);

/* pst-store-entry.c */
gnutls_x509_crt_t pst_store_entry_peek_crt      (PstStoreEntry *self);
PstHostMatch      pst_store_entry_match_host    (PstStoreEntry *self, const char *host);
GPtrArray        *pst_chain_build               (GBytes *leaf, GPtrArray *pool, gboolean *used);
char             *pst_cert_default_alias        (GBytes *der);
GBytes           *pst_gnutls_datum_to_bytes     (const gnutls_datum_t *datum);  /* frees datum */
void              pst_pem_append                (GString *out, const char *label, GBytes *der);

/* pst-keystore.c */
void              pst_store_set_wrong_password  (GError **error, const char *display_name,
                                                 const char *password, const char *password_file);

/* pst-pkcs12-read.c */
gboolean          pst_pkcs12_parse              (GBytes *data, const char *password,
                                                 const char *display_name, const char *password_file,
                                                 GPtrArray *entries, GError **error);

/* pst-pkcs12-write.c */
GBytes           *pst_pkcs12_write              (GPtrArray *entries, const char *password,
                                                 GError **error);

/* pst-pkcs12-crypto.c */
#define PST_PKCS12_ITERATIONS 10000
GBytes           *pst_pkcs12_pbes2_decrypt      (const gnutls_datum_t *epki, const char *password);
GByteArray       *pst_pkcs12_pbes2_encrypt      (GByteArray *data, const char *password,
                                                 GError **error);
void              pst_pkcs12_mac_key            (const char *password, const guint8 *salt,
                                                 gsize salt_len, guint iterations, guint8 out[32]);

/* pst-pem.c */
gboolean          pst_pem_parse                 (GBytes *data, const char *password,
                                                 const char *display_name, const char *password_file,
                                                 GPtrArray *entries, GError **error);
GBytes           *pst_pem_write                 (GPtrArray *entries, GError **error);
GBytes           *pst_pem_write_full            (GPtrArray *entries, const char *password,
                                                 GError **error);

G_END_DECLS
