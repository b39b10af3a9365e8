/* pst-jks-reader.c: bounds-checked reading of keytool's stores (big-endian integers, Java strings, DER)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-jks-private.h"

gboolean
pst_jks_reader_bytes (PstJksReader *r, gsize n, const guint8 **out)
{
  if (n > r->len - r->pos)
    return FALSE;
  if (out != NULL)
    *out = r->data + r->pos;
  r->pos += n;
  return TRUE;
}

gboolean
pst_jks_reader_uint (PstJksReader *r, guint width, guint64 *out)
{
  const guint8 *p;
  guint64 v = 0;

  if (!pst_jks_reader_bytes (r, width, &p))
    return FALSE;
  for (guint i = 0; i < width; i++)
    v = (v << 8) | p[i];
  *out = v;
  return TRUE;
}

gboolean
pst_jks_reader_u8 (PstJksReader *r, guint *out)
{
  guint64 v;

  if (!pst_jks_reader_uint (r, 1, &v))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

gboolean
pst_jks_reader_u16 (PstJksReader *r, guint *out)
{
  guint64 v;

  if (!pst_jks_reader_uint (r, 2, &v))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

gboolean
pst_jks_reader_u32 (PstJksReader *r, guint32 *out)
{
  guint64 v;

  if (!pst_jks_reader_uint (r, 4, &v))
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

/* Java's DataOutput.writeUTF: a 2-byte length, then "modified UTF-8"
 * (NUL as C0 80, supplementary characters as two 3-byte surrogates). */
char *
pst_jks_reader_java_utf (PstJksReader *r)
{
  const guint8 *p;
  guint len;
  g_autofree gunichar2 *units = NULL;
  gsize n = 0;

  if (!pst_jks_reader_u16 (r, &len) || !pst_jks_reader_bytes (r, len, &p))
    return NULL;

  units = g_new (gunichar2, len + 1);
  for (gsize i = 0; i < len;)
    {
      guint c = p[i];

      if (c < 0x80)
        {
          units[n++] = c;
          i += 1;
        }
      else if ((c & 0xE0) == 0xC0 && i + 1 < len && (p[i + 1] & 0xC0) == 0x80)
        {
          units[n++] = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F);
          i += 2;
        }
      else if ((c & 0xF0) == 0xE0 && i + 2 < len &&
               (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80)
        {
          units[n++] = ((c & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
          i += 3;
        }
      else
        return NULL;
    }

  return g_utf16_to_utf8 (units, n, NULL, NULL, NULL);
}

/* A tiny DER reader for EncryptedPrivateKeyInfo (single-byte tags only) */
gboolean
pst_jks_der_read (PstJksReader *r, guint expected_tag, PstJksReader *contents)
{
  guint tag, first;
  gsize len = 0;
  const guint8 *p;

  if (!pst_jks_reader_u8 (r, &tag) || tag != expected_tag || !pst_jks_reader_u8 (r, &first))
    return FALSE;
  if (first < 0x80)
    len = first;
  else
    {
      guint n = first & 0x7F;
      guint64 v;

      if (n == 0 || n > 4 || !pst_jks_reader_uint (r, n, &v))
        return FALSE;
      len = v;
    }
  if (!pst_jks_reader_bytes (r, len, &p))
    return FALSE;
  contents->data = p;
  contents->len = len;
  contents->pos = 0;
  return TRUE;
}
