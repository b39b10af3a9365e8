/* pst-jks-edit.c: adding and removing trusted certificates of a JKS store in place
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-jks-edit.h"
#include "pst-jks-private.h"
#include "pst-keystore.h"

#define JKS_MAGIC       0xFEEDFEEDu
#define TAG_PRIVATE_KEY 1
#define TAG_TRUSTED     2
#define HEADER_LEN      12   /* magic, version, count */
#define WHITENER        "Mighty Aphrodite"

/* Where one entry lies in the file */
typedef struct {
  gsize         start, end;
  guint         tag;
  char         *alias;
  const guint8 *cert;       /* TAG_TRUSTED: the DER certificate */
  gsize         cert_len;
} Span;

static void
span_clear (gpointer data)
{
  g_free (((Span *) data)->alias);
}

typedef struct {
  const guint8 *data;
  gsize         len;
  GArray       *spans;       /* Span, in file order */
} Layout;

static void
layout_clear (Layout *layout)
{
  g_clear_pointer (&layout->spans, g_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Layout, layout_clear)

static guint8 *
password_utf16be (const char *password, gsize *len_out)
{
  glong n = 0;
  g_autofree gunichar2 *units = g_utf8_to_utf16 (password, -1, NULL, &n, NULL);
  guint8 *out;

  if (units == NULL)
    return NULL;
  out = g_malloc (n * 2 + 1);
  for (glong i = 0; i < n; i++)
    {
      out[2 * i] = units[i] >> 8;
      out[2 * i + 1] = units[i] & 0xFF;
    }
  *len_out = n * 2;
  return out;
}

/* The keyed SHA-1 that ends a JKS file, over its first len bytes */
static gboolean
digest (const char *password, const guint8 *data, gsize len, guint8 out[PST_JKS_DIGEST_LEN])
{
  gsize pw_len = 0;
  guint8 *pw = password_utf16be (password, &pw_len);
  gboolean ok;

  if (pw == NULL)
    return FALSE;
  ok = pst_jks_sha1 (pw, pw_len, WHITENER, strlen (WHITENER), data, len, out);
  memset (pw, 0, pw_len);
  g_free (pw);
  return ok;
}

static gboolean
corrupt (GError **error, const char *what)
{
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
               _("the JKS store is damaged or truncated (%s); restore it from a backup"), what);
  return FALSE;
}

static gboolean
skip_certificate (PstJksReader *r, const guint8 **der, gsize *der_len)
{
  g_autofree char *type = pst_jks_reader_java_utf (r);
  guint32 len;
  const guint8 *p;

  if (type == NULL || strcmp (type, "X.509") != 0)
    return FALSE;
  if (!pst_jks_reader_u32 (r, &len) || len == 0 || !pst_jks_reader_bytes (r, len, &p))
    return FALSE;
  if (der != NULL)
    {
      *der = p;
      *der_len = len;
    }
  return TRUE;
}

/* Checks magic, version 2 and the digest, then finds every entry */
static gboolean
read_layout (GBytes *bytes, const char *password, Layout *layout, GError **error)
{
  PstJksReader r = { 0 };
  guint8 expected[PST_JKS_DIGEST_LEN];
  guint32 magic, version, count;

  layout->data = g_bytes_get_data (bytes, &layout->len);
  layout->spans = g_array_new (FALSE, TRUE, sizeof (Span));
  g_array_set_clear_func (layout->spans, span_clear);

  if (layout->len < HEADER_LEN + PST_JKS_DIGEST_LEN)
    return corrupt (error, _("shorter than a header and a digest"));
  r.data = layout->data;
  r.len = layout->len - PST_JKS_DIGEST_LEN;
  if (!pst_jks_reader_u32 (&r, &magic) || magic != JKS_MAGIC)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT, _("not a JKS store"));
      return FALSE;
    }
  if (!pst_jks_reader_u32 (&r, &version) || !pst_jks_reader_u32 (&r, &count))
    return corrupt (error, _("no header"));
  if (version != 2)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_READ_ONLY,
                   _("JKS version %u is not written by Postern; use keytool"), version);
      return FALSE;
    }
  if (!digest (password, layout->data, r.len, expected))
    return corrupt (error, _("the password is not UTF-8"));
  if (memcmp (expected, layout->data + r.len, PST_JKS_DIGEST_LEN) != 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                   _("wrong password for the JKS store, or the store is damaged"));
      return FALSE;
    }
  /* an entry takes at least 14 bytes */
  if (count > (r.len - r.pos) / 14)
    return corrupt (error, _("entry count larger than the file"));

  for (guint32 i = 0; i < count; i++)
    {
      Span span = { .start = r.pos };
      guint32 tag, n;
      const guint8 *p;

      if (!pst_jks_reader_u32 (&r, &tag) || (span.alias = pst_jks_reader_java_utf (&r)) == NULL ||
          !pst_jks_reader_bytes (&r, 8, &p))
        {
          g_free (span.alias);
          return corrupt (error, _("entry header"));
        }
      span.tag = tag;
      g_array_append_val (layout->spans, span);   /* freed with the array from here on */
      if (tag == TAG_TRUSTED)
        {
          Span *s = &g_array_index (layout->spans, Span, layout->spans->len - 1);
          if (!skip_certificate (&r, &s->cert, &s->cert_len))
            return corrupt (error, _("trusted certificate"));
        }
      else if (tag == TAG_PRIVATE_KEY)
        {
          if (!pst_jks_reader_u32 (&r, &n) || !pst_jks_reader_bytes (&r, n, &p) ||
              !pst_jks_reader_u32 (&r, &n) || n > (r.len - r.pos) / 8)
            return corrupt (error, _("private key entry"));
          for (guint32 c = 0; c < n; c++)
            if (!skip_certificate (&r, NULL, NULL))
              return corrupt (error, _("certificate chain"));
        }
      else
        return corrupt (error, _("unknown entry type"));
      g_array_index (layout->spans, Span, layout->spans->len - 1).end = r.pos;
    }
  if (r.pos != r.len)
    return corrupt (error, _("bytes after the last entry"));
  return TRUE;
}

static Span *
find (Layout *layout, const char *alias)
{
  for (guint i = 0; i < layout->spans->len; i++)
    {
      Span *s = &g_array_index (layout->spans, Span, i);
      if (g_ascii_strcasecmp (s->alias, alias) == 0)
        return s;
    }
  return NULL;
}

static void
put_u32 (GByteArray *out, gsize offset, guint32 v)
{
  out->data[offset] = v >> 24;
  out->data[offset + 1] = (v >> 16) & 0xff;
  out->data[offset + 2] = (v >> 8) & 0xff;
  out->data[offset + 3] = v & 0xff;
}

static void
append_u32 (GByteArray *out, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };
  g_byte_array_append (out, b, 4);
}

/* count and digest of a new file in out (everything but the digest) */
static GBytes *
finish (GByteArray *out, guint32 count, const char *password)
{
  guint8 d[PST_JKS_DIGEST_LEN];

  put_u32 (out, 8, count);
  digest (password, out->data, out->len, d);
  g_byte_array_append (out, d, sizeof d);
  return g_byte_array_free_to_bytes (out);
}

/**
 * pst_jks_is_jks:
 * @data: a file's contents
 *
 * Returns: %TRUE when @data starts with JKS's magic number
 */
gboolean
pst_jks_is_jks (GBytes *data)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);

  return len >= 4 && p[0] == 0xFE && p[1] == 0xED && p[2] == 0xFE && p[3] == 0xED;
}

/**
 * pst_jks_find_trusted:
 * @data: a JKS store
 * @password: its password
 * @alias: the alias to look for
 * @der_out: (out) (transfer full) (nullable): the trusted certificate
 * @is_key: (out) (optional): %TRUE when @alias is a private-key entry
 * @error: return location for a #PstStoreError
 *
 * Returns: %FALSE on a damaged store or a wrong password
 */
gboolean
pst_jks_find_trusted (GBytes      *data,
                      const char  *password,
                      const char  *alias,
                      GBytes     **der_out,
                      gboolean    *is_key,
                      GError     **error)
{
  g_auto(Layout) layout = { 0 };
  Span *s;

  g_return_val_if_fail (data != NULL && password != NULL && alias != NULL && der_out != NULL, FALSE);

  *der_out = NULL;
  if (is_key != NULL)
    *is_key = FALSE;
  if (!read_layout (data, password, &layout, error))
    return FALSE;
  if ((s = find (&layout, alias)) != NULL)
    {
      if (s->tag == TAG_TRUSTED)
        *der_out = g_bytes_new (s->cert, s->cert_len);
      else if (is_key != NULL)
        *is_key = TRUE;
    }
  return TRUE;
}

/**
 * pst_jks_add_trusted:
 * @data: a JKS store
 * @password: its password
 * @alias: the new entry's alias: printable ASCII, stored in lower case
 * @der: the certificate
 * @time_ms: the entry's date, milliseconds since 1970
 * @error: return location for a #PstStoreError
 *
 * Returns: (transfer full) (nullable): the new store: @data's bytes, the
 *   entry appended, the count and the digest updated
 */
GBytes *
pst_jks_add_trusted (GBytes      *data,
                     const char  *password,
                     const char  *alias,
                     GBytes      *der,
                     gint64       time_ms,
                     GError     **error)
{
  g_auto(Layout) layout = { 0 };
  g_autofree char *lower = NULL;
  GByteArray *out;
  gsize alias_len, der_len;
  const guint8 *der_data;
  guint8 b[8];

  g_return_val_if_fail (data != NULL && password != NULL && alias != NULL && der != NULL, NULL);

  alias_len = strlen (alias);
  for (gsize i = 0; i < alias_len; i++)
    if (alias[i] < 0x20 || alias[i] > 0x7e)
      {
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                     _("the alias “%s” is not printable ASCII"), alias);
        return NULL;
      }
  if (alias_len == 0 || alias_len > 0xffff)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE, _("an alias needs 1 to 65535 characters"));
      return NULL;
    }
  if (!read_layout (data, password, &layout, error))
    return NULL;
  if (find (&layout, alias) != NULL)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("the JKS store has an entry “%s” already"), alias);
      return NULL;
    }
  if (layout.spans->len >= G_MAXINT32)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE, _("the JKS store is full"));
      return NULL;
    }
  der_data = g_bytes_get_data (der, &der_len);

  lower = g_ascii_strdown (alias, -1);
  out = g_byte_array_sized_new (layout.len + alias_len + der_len + 32);
  g_byte_array_append (out, layout.data, layout.len - PST_JKS_DIGEST_LEN);
  append_u32 (out, TAG_TRUSTED);
  b[0] = alias_len >> 8;
  b[1] = alias_len & 0xff;
  g_byte_array_append (out, b, 2);
  g_byte_array_append (out, (const guint8 *) lower, alias_len);
  for (int i = 0; i < 8; i++)
    b[i] = ((guint64) time_ms >> (56 - 8 * i)) & 0xff;
  g_byte_array_append (out, b, 8);
  b[0] = 0;
  b[1] = 5;
  g_byte_array_append (out, b, 2);
  g_byte_array_append (out, (const guint8 *) "X.509", 5);
  append_u32 (out, der_len);
  g_byte_array_append (out, der_data, der_len);
  return finish (out, layout.spans->len + 1, password);
}

/**
 * pst_jks_remove_entry:
 * @data: a JKS store
 * @password: its password
 * @alias: the entry to remove
 * @error: return location for a #PstStoreError
 *
 * Returns: (transfer full) (nullable): the new store: @data's bytes
 *   without the entry's, the count and the digest updated
 */
GBytes *
pst_jks_remove_entry (GBytes      *data,
                      const char  *password,
                      const char  *alias,
                      GError     **error)
{
  g_auto(Layout) layout = { 0 };
  GByteArray *out;
  Span *s;

  g_return_val_if_fail (data != NULL && password != NULL && alias != NULL, NULL);

  if (!read_layout (data, password, &layout, error))
    return NULL;
  if ((s = find (&layout, alias)) == NULL)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NO_ENTRY,
                   _("the JKS store has no entry “%s”"), alias);
      return NULL;
    }
  out = g_byte_array_sized_new (layout.len);
  g_byte_array_append (out, layout.data, s->start);
  g_byte_array_append (out, layout.data + s->end, layout.len - PST_JKS_DIGEST_LEN - s->end);
  return finish (out, layout.spans->len - 1, password);
}
