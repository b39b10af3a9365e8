/* pst-jks-private.h: helpers shared by the JKS and JCEKS reading files
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PST_JKS_DIGEST_LEN 20  /* SHA-1 */

/* A bounds-checked big-endian reader.  Every read fails (returns FALSE)
 * rather than running past the end; callers turn that into CORRUPT. */
typedef struct {
  const guint8 *data;
  gsize         len;
  gsize         pos;
} PstJksReader;

/* pst-jks-reader.c */
gboolean  pst_jks_reader_bytes             (PstJksReader *r, gsize n, const guint8 **out);
gboolean  pst_jks_reader_uint              (PstJksReader *r, guint width, guint64 *out);
gboolean  pst_jks_reader_u8                (PstJksReader *r, guint *out);
gboolean  pst_jks_reader_u16               (PstJksReader *r, guint *out);
gboolean  pst_jks_reader_u32               (PstJksReader *r, guint32 *out);
char     *pst_jks_reader_java_utf          (PstJksReader *r);
gboolean  pst_jks_der_read                 (PstJksReader *r, guint expected_tag, PstJksReader *contents);

/* pst-jceks-serial.c */
gboolean  pst_jceks_skip_serialized_object (PstJksReader *r);

/* pst-jks-keys.c */
gboolean  pst_jks_sha1                     (const guint8 *pw, gsize pw_len, const void *a, gsize a_len,
                                            const void *b, gsize b_len, guint8 out[PST_JKS_DIGEST_LEN]);
GBytes   *pst_jks_decrypt_key              (const guint8 *blob, gsize blob_len,
                                            const guint8 *pw, gsize pw_len, gboolean *wrong_key_password);
/* Key derivation work one JCEKS store may ask for, over all its keys
 * (keytool uses 200,000 iterations per key by default). */
#define PST_JCEKS_ITERATIONS_PER_STORE 5000000
/* *budget: iterations left for this store; a key asking for more fails
 * with *too_costly set. */
GBytes   *pst_jceks_decrypt_key            (PstJksReader *params, const guint8 *ct, gsize ct_len,
                                            const guint8 *pw16, gsize pw16_len, guint64 *budget,
                                            gboolean *too_costly, gboolean *wrong_key_password);

G_END_DECLS
