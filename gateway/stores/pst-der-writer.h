/* pst-der-writer.h: a tiny DER writer for the PKCS#12 stores Postern writes
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each helper takes ownership of its content arrays. */
GByteArray *pst_der_raw    (const void *data,
                            gsize       len);
GByteArray *pst_der_tlv    (guint8      tag,
                            GByteArray *content);
/* Concatenates a NULL-terminated list of arrays, consuming them. */
GByteArray *pst_der_cat    (GByteArray *first, ...);
GByteArray *pst_der_octets (const void *data,
                            gsize       len);
GByteArray *pst_der_uint   (guint32     value);
/* SET OF in DER order, consuming the elements */
GByteArray *pst_der_set_of (GPtrArray  *elements);

#define DER_SEQ(...) pst_der_tlv (0x30, pst_der_cat (__VA_ARGS__, NULL))
#define DER_OID(oid) pst_der_raw (oid, sizeof oid)

G_END_DECLS
