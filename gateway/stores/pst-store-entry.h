/* pst-store-entry.h: one keystore/truststore entry (key pair + chain, or a trusted certificate)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  PST_ENTRY_KEY,       /* private key + certificate chain */
  PST_ENTRY_TRUSTED,   /* a trusted certificate (anchor) */
} PstEntryKind;

#define PST_TYPE_STORE_ENTRY (pst_store_entry_get_type ())
G_DECLARE_FINAL_TYPE (PstStoreEntry, pst_store_entry, PST, STORE_ENTRY, GObject)

/* chain: GBytes of DER certificates, leaf first (copied);
 * private_key: unencrypted PKCS#8 DER, NULL for a trusted entry. */
PstStoreEntry *pst_store_entry_new             (const char *alias,
                                                GPtrArray  *chain,
                                                GBytes     *private_key,
                                                GError    **error);
const char    *pst_store_entry_get_alias       (PstStoreEntry *self);
void           pst_store_entry_set_alias       (PstStoreEntry *self, const char *alias);
PstEntryKind   pst_store_entry_get_kind        (PstStoreEntry *self);
GPtrArray     *pst_store_entry_get_chain       (PstStoreEntry *self);   /* GBytes DER, leaf first */
GBytes        *pst_store_entry_get_certificate (PstStoreEntry *self);   /* the leaf */
GBytes        *pst_store_entry_get_private_key (PstStoreEntry *self);   /* nullable */

char          *pst_store_entry_dup_subject     (PstStoreEntry *self);  /* RFC 4514 DN */
char          *pst_store_entry_dup_issuer      (PstStoreEntry *self);
GStrv          pst_store_entry_dup_sans        (PstStoreEntry *self);  /* "DNS:x", "IP:1.2.3.4" */
GDateTime     *pst_store_entry_get_not_before  (PstStoreEntry *self);
GDateTime     *pst_store_entry_get_not_after   (PstStoreEntry *self);
/* "AB:CD:…" upper-case hex of SHA-256 over the DER leaf */
char          *pst_store_entry_dup_fingerprint (PstStoreEntry *self);
/* "ECDSA P-256", "RSA 2048", … */
char          *pst_store_entry_dup_key_type    (PstStoreEntry *self);
gboolean       pst_store_entry_is_ca           (PstStoreEntry *self);

/* SAN DNS (wildcards: one left-most label), SAN IP, CN only when there is
 * no SAN; case-insensitive; IPv6 in any notation. */
gboolean       pst_store_entry_matches_host    (PstStoreEntry *self, const char *host);
gboolean       pst_cert_matches_host           (GBytes *der, const char *host);

/* A GTlsCertificate with the chain and the private key (KEY entries),
 * for GTlsServerConnection / client certificates. */
GTlsCertificate *pst_store_entry_to_tls_certificate (PstStoreEntry *self, GError **error);

G_END_DECLS
