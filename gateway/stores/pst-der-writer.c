/* pst-der-writer.c: a tiny DER writer for the PKCS#12 stores Postern writes
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-der-writer.h"

GByteArray *
pst_der_raw (const void *data,
             gsize       len)
{
  GByteArray *out = g_byte_array_sized_new (len);
  g_byte_array_append (out, data, len);
  return out;
}

GByteArray *
pst_der_tlv (guint8      tag,
             GByteArray *content)
{
  GByteArray *out = g_byte_array_sized_new (content->len + 6);
  guint8 header[6];
  gsize n = 0;
  gsize len = content->len;

  header[n++] = tag;
  if (len < 0x80)
    header[n++] = len;
  else if (len < 0x100)
    {
      header[n++] = 0x81;
      header[n++] = len;
    }
  else if (len < 0x10000)
    {
      header[n++] = 0x82;
      header[n++] = len >> 8;
      header[n++] = len;
    }
  else
    {
      header[n++] = 0x83;
      header[n++] = len >> 16;
      header[n++] = len >> 8;
      header[n++] = len;
    }
  g_byte_array_append (out, header, n);
  g_byte_array_append (out, content->data, content->len);
  g_byte_array_unref (content);
  return out;
}

/* Concatenates a NULL-terminated list of arrays, consuming them. */
GByteArray *
pst_der_cat (GByteArray *first, ...)
{
  GByteArray *out = g_byte_array_new ();
  va_list ap;

  va_start (ap, first);
  for (GByteArray *part = first; part != NULL; part = va_arg (ap, GByteArray *))
    {
      g_byte_array_append (out, part->data, part->len);
      g_byte_array_unref (part);
    }
  va_end (ap);
  return out;
}

GByteArray *
pst_der_octets (const void *data,
                gsize       len)
{
  return pst_der_tlv (0x04, pst_der_raw (data, len));
}

GByteArray *
pst_der_uint (guint32 value)
{
  guint8 buf[5];
  gsize n = 0;
  gboolean started = FALSE;

  for (int shift = 24; shift >= 0; shift -= 8)
    {
      guint8 b = value >> shift;
      if (!started && b == 0 && shift > 0)
        continue;
      if (!started && (b & 0x80))
        buf[n++] = 0;
      started = TRUE;
      buf[n++] = b;
    }
  return pst_der_tlv (0x02, pst_der_raw (buf, n));
}

static gint
compare_der (gconstpointer a,
             gconstpointer b)
{
  const GByteArray *x = *(GByteArray * const *) a;
  const GByteArray *y = *(GByteArray * const *) b;
  int c = memcmp (x->data, y->data, MIN (x->len, y->len));

  return c != 0 ? c : (gint) x->len - (gint) y->len;
}

/* SET OF in DER order, consuming the elements */
GByteArray *
pst_der_set_of (GPtrArray *elements)
{
  GByteArray *content = g_byte_array_new ();

  g_ptr_array_sort (elements, compare_der);
  for (guint i = 0; i < elements->len; i++)
    {
      GByteArray *e = g_ptr_array_index (elements, i);
      g_byte_array_append (content, e->data, e->len);
      g_byte_array_unref (e);
    }
  g_ptr_array_unref (elements);
  return pst_der_tlv (0x31, content);
}
