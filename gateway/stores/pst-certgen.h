/* pst-certgen.h: key pairs and certificates (self-signed, or signed by a local CA)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-store-entry.h"

G_BEGIN_DECLS

typedef enum {
  PST_KEY_ECDSA_P256,
  PST_KEY_RSA_2048,
  PST_KEY_RSA_3072,
  PST_KEY_RSA_4096,
} PstKeyType;

gboolean pst_key_type_from_string (const char *text, PstKeyType *out);  /* ecdsa, rsa2048, … */

typedef struct {
  const char * const *names;   /* DNS names / IP addresses; first = CN and alias */
  PstKeyType          key_type;
  guint               days;    /* validity; 0 = 825 for leaves, 3650 for CAs */
  gboolean            client;  /* clientAuth EKU too */
  gboolean            is_ca;   /* a local development CA */
  gboolean            unconstrained; /* CA without name constraints */
  const char         *ca_name;  /* CA only: subject CN; NULL = "Postern development CA on HOST" */
} PstCertRequest;

/* Signs with ca (a KEY entry that is a CA) when non-NULL, else self-signed.
 * Runs synchronously (RSA 4096 can take a second); see the _async variant. */
PstStoreEntry *pst_cert_generate        (const PstCertRequest *request,
                                         PstStoreEntry        *ca,
                                         GError              **error);
void           pst_cert_generate_async  (const PstCertRequest *request,
                                         PstStoreEntry        *ca,
                                         GCancellable         *cancellable,
                                         GAsyncReadyCallback   callback,
                                         gpointer              user_data);
PstStoreEntry *pst_cert_generate_finish (GAsyncResult *result, GError **error);

G_END_DECLS
