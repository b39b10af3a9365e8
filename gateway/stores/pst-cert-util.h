/* pst-cert-util.h: certificate files, export formats, the local development CA
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-certgen.h"
#include "pst-keystore.h"

G_BEGIN_DECLS

/* Certificates of a PEM (one or a bundle) or DER file, as DER GBytes. */
GPtrArray     *pst_cert_read_file        (const char *path, GError **error);
char          *pst_cert_der_to_pem       (GBytes *der);
char          *pst_cert_dup_common_name  (GBytes *der);
/* "2026-03-01 (expires in 92 days)" / "2020-01-01 (EXPIRED)" */
char          *pst_cert_format_validity  (GDateTime *not_after);

typedef enum {
  PST_EXPORT_PEM,
  PST_EXPORT_DER,
  PST_EXPORT_PKCS12,   /* a truststore Java reads (trusted-key-usage attribute) */
} PstExportFormat;

gboolean       pst_export_format_from_string (const char *text, PstExportFormat *out);
/* The entry's certificate (leaf) to out_path; pkcs12 protected with
 * password (NULL = "changeit").  Written atomically. */
gboolean       pst_cert_export           (PstStoreEntry   *entry,
                                          const char      *out_path,
                                          PstExportFormat  format,
                                          const char      *password,
                                          GError         **error);

/* The local development CA of a store (the KEY entry that is a CA). */
PstStoreEntry *pst_local_ca_find         (PstKeystore *store);
/* Opens ca_path, or creates it (name-constrained unless unconstrained,
 * extra_names added to the permitted names) with a random 0600 password
 * file by the .pw rule; *created says which. */
PstKeystore   *pst_local_ca_open_or_create (const char          *ca_path,
                                            const char          *password_file,
                                            gboolean             unconstrained,
                                            const char * const  *extra_names,
                                            gboolean            *created,
                                            GError             **error);
/* The same with the key type of a new CA (ECDSA P-256 above; RSA keys
 * below 3072 bits are raised to 3072 for a CA). */
PstKeystore   *pst_local_ca_open_or_create_full (const char          *ca_path,
                                                 const char          *password_file,
                                                 PstKeyType           key_type,
                                                 gboolean             unconstrained,
                                                 const char * const  *extra_names,
                                                 gboolean            *created,
                                                 GError             **error);

G_END_DECLS
