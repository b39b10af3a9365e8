/* pst-jks.c: reads Java keytool's JKS and JCEKS stores (integrity check, key decryption)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include "pst-jks.h"

#define JKS_MAGIC   0xFEEDFEEDu
#define JCEKS_MAGIC 0xCECECECEu

#define TAG_PRIVATE_KEY 1
#define TAG_TRUSTED     2
#define TAG_SECRET_KEY  3

#define DIGEST_LEN 20  /* SHA-1 */

/* DER of the algorithm OIDs (contents only) */
static const guint8 oid_jks_key_protector[] =     /* 1.3.6.1.4.1.42.2.17.1.1 */
  { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01 };
static const guint8 oid_pbe_md5_triple_des[] =    /* 1.3.6.1.4.1.42.2.19.1 */
  { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x13, 0x01 };

/* A bounds-checked big-endian reader.  Every read fails (returns FALSE)
 * rather than running past the end; callers turn that into CORRUPT. */
typedef struct {
  const guint8 *data;
  gsize         len;
  gsize         pos;
} Reader;

static gboolean
reader_bytes (Reader *r, gsize n, const guint8 **out)
{
  if (n > r->len - r->pos)
    return FALSE;
  if (out != NULL)
    *out = r->data + r->pos;
  r->pos += n;
  return TRUE;
}

static gboolean
reader_uint (Reader *r, guint width, guint64 *out)
{
  const guint8 *p;
  guint64 v = 0;

  if (!reader_bytes (r, width, &p))
    return FALSE;
  for (guint i = 0; i < width; i++)
    v = (v << 8) | p[i];
  *out = v;
  return TRUE;
}

static gboolean
reader_u8 (Reader *r, guint *out)
{
  guint64 v;

  if (!reader_uint (r, 1, &v))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
reader_u16 (Reader *r, guint *out)
{
  guint64 v;

  if (!reader_uint (r, 2, &v))
    return FALSE;
  *out = (guint) v;
  return TRUE;
}

static gboolean
reader_u32 (Reader *r, guint32 *out)
{
  guint64 v;

  if (!reader_uint (r, 4, &v))
    return FALSE;
  *out = (guint32) v;
  return TRUE;
}

/* Java's DataOutput.writeUTF: a 2-byte length, then "modified UTF-8"
 * (NUL as C0 80, supplementary characters as two 3-byte surrogates). */
static char *
reader_java_utf (Reader *r)
{
  const guint8 *p;
  guint len;
  g_autofree gunichar2 *units = NULL;
  gsize n = 0;

  if (!reader_u16 (r, &len) || !reader_bytes (r, len, &p))
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

/* Skipping a JCEKS secret-key entry: keytool writes it as a Java-serialized
 * SealedObject with no length in front, so its end can only be found by
 * walking the serialization grammar.  This walker knows just enough of it
 * (class descriptors, objects, arrays, strings, references) and keeps a
 * handle table because later fields refer back to earlier descriptors. */
enum {
  TC_NULL = 0x70, TC_REFERENCE, TC_CLASSDESC, TC_OBJECT, TC_STRING, TC_ARRAY,
  TC_CLASS, TC_BLOCKDATA, TC_ENDBLOCKDATA, TC_RESET, TC_BLOCKDATALONG,
  TC_EXCEPTION, TC_LONGSTRING, TC_PROXYCLASSDESC, TC_ENUM,
};
#define SER_BASE_HANDLE 0x7E0000u
#define SER_MAX_DEPTH   32
#define SER_MAX_HANDLES 4096

typedef struct {
  gboolean  is_class;
  guint     flags;
  GString  *field_types;    /* one type code per field */
  char     *array_type;     /* the class name, for array descriptors ("[B") */
  gint      super;          /* handle index or -1 */
} SerHandle;

typedef struct {
  Reader    *r;
  GArray    *handles;       /* SerHandle */
} Ser;

static void
ser_handle_clear (gpointer data)
{
  SerHandle *h = data;

  if (h->field_types != NULL)
    g_string_free (h->field_types, TRUE);
  g_free (h->array_type);
}

static gint
ser_new_handle (Ser *s, gboolean is_class)
{
  SerHandle h = { is_class, 0, NULL, NULL, -1 };

  if (s->handles->len >= SER_MAX_HANDLES)
    return -1;
  g_array_append_val (s->handles, h);
  return s->handles->len - 1;
}

static gboolean ser_content (Ser *s, guint depth, gint *handle_out);

static gboolean
ser_utf (Ser *s, char **out)
{
  guint len;
  const guint8 *p;

  if (!reader_u16 (s->r, &len) || !reader_bytes (s->r, len, &p))
    return FALSE;
  if (out != NULL)
    *out = g_strndup ((const char *) p, len);
  return TRUE;
}

/* Reads TC_CLASSDESC / TC_NULL / TC_REFERENCE; *out = handle index or -1 */
static gboolean
ser_class_desc (Ser *s, guint depth, gint *out)
{
  guint tc;

  if (depth > SER_MAX_DEPTH || !reader_u8 (s->r, &tc))
    return FALSE;

  if (tc == TC_NULL)
    {
      *out = -1;
      return TRUE;
    }
  if (tc == TC_REFERENCE)
    {
      guint32 ref;

      if (!reader_u32 (s->r, &ref) || ref < SER_BASE_HANDLE ||
          ref - SER_BASE_HANDLE >= s->handles->len ||
          !g_array_index (s->handles, SerHandle, ref - SER_BASE_HANDLE).is_class)
        return FALSE;
      *out = ref - SER_BASE_HANDLE;
      return TRUE;
    }
  if (tc == TC_CLASSDESC)
    {
      g_autofree char *name = NULL;
      guint flags, n_fields;
      gint handle, super;
      g_autoptr(GString) types = g_string_new (NULL);

      if (!ser_utf (s, &name) || !reader_bytes (s->r, 8, NULL))
        return FALSE;
      if ((handle = ser_new_handle (s, TRUE)) < 0)
        return FALSE;
      if (!reader_u8 (s->r, &flags) || !reader_u16 (s->r, &n_fields))
        return FALSE;
      for (guint i = 0; i < n_fields; i++)
        {
          guint type;

          if (!reader_u8 (s->r, &type) || !ser_utf (s, NULL))
            return FALSE;
          if (type == '[' || type == 'L')
            {
              gint ignored;

              if (!ser_content (s, depth + 1, &ignored))   /* the field's class name */
                return FALSE;
            }
          else if (strchr ("BCDFIJSZ", type) == NULL || type == 0)
            return FALSE;
          g_string_append_c (types, (char) type);
        }
      /* class annotation: contents up to TC_ENDBLOCKDATA */
      for (;;)
        {
          guint next;
          gint ignored;

          if (s->r->pos >= s->r->len)
            return FALSE;
          next = s->r->data[s->r->pos];
          if (next == TC_ENDBLOCKDATA)
            {
              s->r->pos++;
              break;
            }
          if (!ser_content (s, depth + 1, &ignored))
            return FALSE;
        }
      if (!ser_class_desc (s, depth + 1, &super))
        return FALSE;

      {
        SerHandle *h = &g_array_index (s->handles, SerHandle, handle);

        h->flags = flags;
        h->field_types = g_steal_pointer (&types);
        h->super = super;
        if (name[0] == '[')
          h->array_type = g_steal_pointer (&name);
      }
      *out = handle;
      return TRUE;
    }
  return FALSE;
}

static gboolean
ser_value (Ser *s, guint type, guint depth)
{
  gint ignored;

  switch (type)
    {
    case 'B': case 'Z': return reader_bytes (s->r, 1, NULL);
    case 'C': case 'S': return reader_bytes (s->r, 2, NULL);
    case 'F': case 'I': return reader_bytes (s->r, 4, NULL);
    case 'D': case 'J': return reader_bytes (s->r, 8, NULL);
    case 'L': case '[': return ser_content (s, depth + 1, &ignored);
    default: return FALSE;
    }
}

static gboolean
ser_annotation (Ser *s, guint depth)
{
  for (;;)
    {
      gint ignored;

      if (s->r->pos >= s->r->len)
        return FALSE;
      if (s->r->data[s->r->pos] == TC_ENDBLOCKDATA)
        {
          s->r->pos++;
          return TRUE;
        }
      if (!ser_content (s, depth + 1, &ignored))
        return FALSE;
    }
}

static gboolean
ser_class_data (Ser *s, gint desc, guint depth)
{
  SerHandle h;

  if (desc < 0)
    return TRUE;
  if (depth > SER_MAX_DEPTH)
    return FALSE;
  h = g_array_index (s->handles, SerHandle, desc);
  /* superclass data comes first */
  if (!ser_class_data (s, h.super, depth + 1))
    return FALSE;
  h = g_array_index (s->handles, SerHandle, desc);   /* the array may have moved */

  if (h.flags & 0x04)                 /* SC_EXTERNALIZABLE */
    {
      if (!(h.flags & 0x08))          /* old protocol: length unknown */
        return FALSE;
      return ser_annotation (s, depth);
    }
  if (h.field_types != NULL)
    {
      g_autofree char *types = g_strdup (h.field_types->str);

      for (const char *t = types; *t != '\0'; t++)
        if (!ser_value (s, (guchar) *t, depth))
          return FALSE;
    }
  if (h.flags & 0x01)                 /* SC_WRITE_METHOD */
    return ser_annotation (s, depth);
  return TRUE;
}

static gboolean
ser_content (Ser *s, guint depth, gint *handle_out)
{
  guint tc;
  guint64 len;
  gint desc;

  *handle_out = -1;
  if (depth > SER_MAX_DEPTH || s->r->pos >= s->r->len)
    return FALSE;
  tc = s->r->data[s->r->pos];

  switch (tc)
    {
    case TC_REFERENCE:
      {
        guint32 ref;

        s->r->pos++;
        if (!reader_u32 (s->r, &ref) || ref < SER_BASE_HANDLE ||
            ref - SER_BASE_HANDLE >= s->handles->len)
          return FALSE;
        *handle_out = ref - SER_BASE_HANDLE;
        return TRUE;
      }
    case TC_NULL:
    case TC_CLASSDESC:
      return ser_class_desc (s, depth, handle_out);
    case TC_STRING:
    case TC_LONGSTRING:
      s->r->pos++;
      if (!reader_uint (s->r, tc == TC_STRING ? 2 : 8, &len) ||
          len > s->r->len || !reader_bytes (s->r, len, NULL))
        return FALSE;
      return (*handle_out = ser_new_handle (s, FALSE)) >= 0;
    case TC_BLOCKDATA:
    case TC_BLOCKDATALONG:
      s->r->pos++;
      return reader_uint (s->r, tc == TC_BLOCKDATA ? 1 : 4, &len) &&
             reader_bytes (s->r, len, NULL);
    case TC_CLASS:
      s->r->pos++;
      return ser_class_desc (s, depth + 1, &desc) &&
             (*handle_out = ser_new_handle (s, FALSE)) >= 0;
    case TC_OBJECT:
      s->r->pos++;
      if (!ser_class_desc (s, depth + 1, &desc) || desc < 0)
        return FALSE;
      if ((*handle_out = ser_new_handle (s, FALSE)) < 0)
        return FALSE;
      return ser_class_data (s, desc, depth + 1);
    case TC_ENUM:
      s->r->pos++;
      if (!ser_class_desc (s, depth + 1, &desc) ||
          (*handle_out = ser_new_handle (s, FALSE)) < 0)
        return FALSE;
      return ser_content (s, depth + 1, &desc);
    case TC_ARRAY:
      {
        guint32 size;
        const char *type;
        guint elem;

        s->r->pos++;
        if (!ser_class_desc (s, depth + 1, &desc) || desc < 0)
          return FALSE;
        type = g_array_index (s->handles, SerHandle, desc).array_type;
        if (type == NULL || type[1] == '\0')
          return FALSE;
        elem = (guchar) type[1];
        if ((*handle_out = ser_new_handle (s, FALSE)) < 0 || !reader_u32 (s->r, &size))
          return FALSE;
        switch (elem)
          {
          case 'B': case 'Z': return reader_bytes (s->r, size, NULL);
          case 'C': case 'S': return size <= G_MAXUINT32 / 2 && reader_bytes (s->r, (gsize) size * 2, NULL);
          case 'F': case 'I': return size <= G_MAXUINT32 / 4 && reader_bytes (s->r, (gsize) size * 4, NULL);
          case 'D': case 'J': return size <= G_MAXUINT32 / 8 && reader_bytes (s->r, (gsize) size * 8, NULL);
          default:
            /* each element is at least one byte: refuse absurd counts early */
            if (size > s->r->len - s->r->pos)
              return FALSE;
            for (guint32 i = 0; i < size; i++)
              if (!ser_value (s, elem, depth))
                return FALSE;
            return TRUE;
          }
      }
    default:
      return FALSE;
    }
}

/* One ObjectOutputStream as keytool writes it: magic, version, one object */
static gboolean
skip_serialized_object (Reader *r)
{
  const guint8 *magic;
  Ser s = { r, g_array_new (FALSE, TRUE, sizeof (SerHandle)) };
  gint handle;
  gboolean ok;

  g_array_set_clear_func (s.handles, ser_handle_clear);
  ok = reader_bytes (r, 4, &magic) &&
       magic[0] == 0xAC && magic[1] == 0xED && magic[2] == 0x00 && magic[3] == 0x05 &&
       ser_content (&s, 0, &handle);
  g_array_unref (s.handles);
  return ok;
}

/* A tiny DER reader for EncryptedPrivateKeyInfo (single-byte tags only) */
static gboolean
der_read (Reader *r, guint expected_tag, Reader *contents)
{
  guint tag, first;
  gsize len = 0;
  const guint8 *p;

  if (!reader_u8 (r, &tag) || tag != expected_tag || !reader_u8 (r, &first))
    return FALSE;
  if (first < 0x80)
    len = first;
  else
    {
      guint n = first & 0x7F;
      guint64 v;

      if (n == 0 || n > 4 || !reader_uint (r, n, &v))
        return FALSE;
      len = v;
    }
  if (!reader_bytes (r, len, &p))
    return FALSE;
  contents->data = p;
  contents->len = len;
  contents->pos = 0;
  return TRUE;
}

typedef struct {
  char      *alias;
  guint      tag;
  Reader     protected_key;   /* EncryptedPrivateKeyInfo, TAG_PRIVATE_KEY only */
  GPtrArray *chain;           /* GBytes */
} RawEntry;

static void
raw_entry_free (gpointer data)
{
  RawEntry *e = data;

  g_free (e->alias);
  g_clear_pointer (&e->chain, g_ptr_array_unref);
  g_free (e);
}

static gboolean
read_certificate (Reader *r, guint32 version, GPtrArray *chain)
{
  guint32 len;
  const guint8 *p;

  if (version == 2)
    {
      g_autofree char *type = reader_java_utf (r);

      if (type == NULL || strcmp (type, "X.509") != 0)
        return FALSE;
    }
  if (!reader_u32 (r, &len) || len == 0 || !reader_bytes (r, len, &p))
    return FALSE;
  g_ptr_array_add (chain, g_bytes_new (p, len));
  return TRUE;
}

/* The password as Java's chars: UTF-16BE for the digests and JKS keys */
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
  memset (units, 0, n * sizeof (gunichar2));
  *len_out = n * 2;
  return out;
}

static void
wipe_free (guint8 *p, gsize len)
{
  if (p != NULL)
    {
      memset (p, 0, len);
      g_free (p);
    }
}

static gboolean
sha1 (const guint8 *pw, gsize pw_len, const void *a, gsize a_len,
      const void *b, gsize b_len, guint8 out[DIGEST_LEN])
{
  gnutls_hash_hd_t hd;

  if (gnutls_hash_init (&hd, GNUTLS_DIG_SHA1) < 0)
    return FALSE;
  gnutls_hash (hd, pw, pw_len);
  if (a_len > 0)
    gnutls_hash (hd, a, a_len);
  if (b_len > 0)
    gnutls_hash (hd, b, b_len);
  gnutls_hash_deinit (hd, out);
  return TRUE;
}

/* Sun's JKS KeyProtector: salt ‖ XOR-with-SHA-1-keystream ‖ check */
static GBytes *
jks_decrypt_key (const guint8 *blob, gsize blob_len,
                 const guint8 *pw, gsize pw_len, gboolean *wrong_key_password)
{
  gsize plain_len;
  guint8 digest[DIGEST_LEN], check[DIGEST_LEN];
  g_autofree guint8 *plain = NULL;

  if (blob_len < 2 * DIGEST_LEN + 1)
    return NULL;
  plain_len = blob_len - 2 * DIGEST_LEN;
  plain = g_malloc (plain_len);

  memcpy (digest, blob, DIGEST_LEN);     /* d0 = salt */
  for (gsize off = 0; off < plain_len; off += DIGEST_LEN)
    {
      sha1 (pw, pw_len, digest, DIGEST_LEN, NULL, 0, digest);
      for (gsize i = 0; i < DIGEST_LEN && off + i < plain_len; i++)
        plain[off + i] = blob[DIGEST_LEN + off + i] ^ digest[i];
    }
  sha1 (pw, pw_len, plain, plain_len, NULL, 0, check);
  if (memcmp (check, blob + blob_len - DIGEST_LEN, DIGEST_LEN) != 0)
    {
      memset (plain, 0, plain_len);
      *wrong_key_password = TRUE;
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&plain), plain_len);
}

/* Sun's PBEWithMD5AndTripleDES (com.sun.crypto.provider.PBES1Core) */
static GBytes *
jceks_decrypt_key (Reader *params, const guint8 *ct, gsize ct_len,
                   const guint8 *pw16, gsize pw16_len, gboolean *wrong_key_password)
{
  Reader salt_r, iter_r;
  guint8 salt[8], derived[32], pw[256];
  gsize pw_len = pw16_len / 2;
  guint64 iterations = 0;
  gnutls_cipher_hd_t cipher;
  gnutls_datum_t key = { derived, 24 }, iv = { derived + 24, 8 };
  g_autofree guint8 *plain = NULL;
  guint pad;

  if (!der_read (params, 0x04, &salt_r) || salt_r.len != 8 ||
      !der_read (params, 0x02, &iter_r) || iter_r.len == 0 || iter_r.len > 4 ||
      (iter_r.data[0] & 0x80))
    return NULL;
  for (gsize i = 0; i < iter_r.len; i++)
    iterations = (iterations << 8) | iter_r.data[i];
  if (iterations == 0 || iterations > 5000000 || ct_len == 0 || ct_len % 8 != 0)
    return NULL;
  /* PBEKey keeps the low byte of each char (keytool requires ASCII) */
  if (pw_len > sizeof pw)
    return NULL;
  for (gsize i = 0; i < pw_len; i++)
    pw[i] = pw16[2 * i + 1];

  memcpy (salt, salt_r.data, 8);
  if (memcmp (salt, salt + 4, 4) == 0)
    {
      /* Sun inverts the first half when both halves are equal */
      for (guint i = 0; i < 2; i++)
        {
          guint8 t = salt[i];
          salt[i] = salt[3 - i];
          salt[3 - i] = t;
        }
    }

  for (guint half = 0; half < 2; half++)
    {
      guint8 buf[16 + sizeof pw];
      gsize cur_len = 4;

      memcpy (buf, salt + 4 * half, 4);
      for (guint64 i = 0; i < iterations; i++)
        {
          memcpy (buf + cur_len, pw, pw_len);
          gnutls_hash_fast (GNUTLS_DIG_MD5, buf, cur_len + pw_len, buf);
          cur_len = 16;
        }
      memcpy (derived + 16 * half, buf, 16);
      memset (buf, 0, sizeof buf);
    }
  memset (pw, 0, sizeof pw);

  if (gnutls_cipher_init (&cipher, GNUTLS_CIPHER_3DES_CBC, &key, &iv) < 0)
    {
      memset (derived, 0, sizeof derived);
      return NULL;
    }
  plain = g_malloc (ct_len);
  gnutls_cipher_decrypt2 (cipher, ct, ct_len, plain, ct_len);
  gnutls_cipher_deinit (cipher);
  memset (derived, 0, sizeof derived);

  /* PKCS#5 padding; a wrong key almost never yields a valid one */
  pad = plain[ct_len - 1];
  if (pad == 0 || pad > 8)
    goto bad;
  for (guint i = 1; i <= pad; i++)
    if (plain[ct_len - i] != pad)
      goto bad;
  if (plain[0] != 0x30)
    goto bad;
  return g_bytes_new_take (g_steal_pointer (&plain), ct_len - pad);

bad:
  memset (plain, 0, ct_len);
  *wrong_key_password = TRUE;
  return NULL;
}

/* keytool writes EC keys as PKCS#8 whose inner ECPrivateKey has neither the
 * curve nor the public point; GnuTLS 3.7 refuses such keys (ASN1 element
 * not found).  Rebuild them with the public point from the certificate. */
GBytes *
pst_jks_complete_ec_key (GBytes *pkcs8, GBytes *certificate)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t d, x = { NULL, 0 }, y = { NULL, 0 }, k, out = { NULL, 0 };
  gnutls_ecc_curve_t curve;
  Reader r, info, alg, oid, octets, ec, priv;
  gsize len;
  GBytes *result = NULL;
  int ret;

  g_return_val_if_fail (pkcs8 != NULL, NULL);

  d.data = (guint8 *) g_bytes_get_data (pkcs8, &len);
  d.size = len;
  if (gnutls_x509_privkey_init (&key) < 0)
    return NULL;
  if (gnutls_x509_privkey_import_pkcs8 (key, &d, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) == 0)
    {
      result = g_bytes_ref (pkcs8);
      goto out;
    }
  gnutls_x509_privkey_deinit (key);
  key = NULL;

  /* PrivateKeyInfo { version, AlgorithmIdentifier, OCTET STRING { ECPrivateKey } } */
  r.data = d.data;
  r.len = d.size;
  r.pos = 0;
  if (!der_read (&r, 0x30, &info) || !reader_bytes (&info, 3, NULL) ||
      !der_read (&info, 0x30, &alg) || !der_read (&alg, 0x06, &oid) ||
      oid.len != 7 || memcmp (oid.data, "\x2a\x86\x48\xce\x3d\x02\x01", 7) != 0 ||
      !der_read (&info, 0x04, &octets) || !der_read (&octets, 0x30, &ec) ||
      !reader_bytes (&ec, 3, NULL) || !der_read (&ec, 0x04, &priv) || priv.len == 0)
    goto out;
  if (certificate == NULL || gnutls_x509_crt_init (&crt) < 0)
    goto out;
  d.data = (guint8 *) g_bytes_get_data (certificate, &len);
  d.size = len;
  if (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER) < 0 ||
      gnutls_x509_crt_get_pk_ecc_raw (crt, &curve, &x, &y) < 0)
    goto out;

  k.data = (guint8 *) priv.data;
  k.size = priv.len;
  if (gnutls_x509_privkey_init (&key) < 0)
    goto out;
  ret = gnutls_x509_privkey_import_ecc_raw (key, curve, &x, &y, &k);
  if (ret < 0 || gnutls_x509_privkey_verify_params (key) < 0 ||
      gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &out) < 0)
    goto out;
  result = g_bytes_new (out.data, out.size);

out:
  if (out.data != NULL)
    {
      memset (out.data, 0, out.size);
      gnutls_free (out.data);
    }
  gnutls_free (x.data);
  gnutls_free (y.data);
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  return result;
}

static gboolean
set_corrupt (GError **error, const char *display_name, const char *format_name, const char *what)
{
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
               _("%s is damaged or truncated (%s store: %s); restore it from a backup or make it again with keytool"),
               display_name, format_name, what);
  return FALSE;
}

static gboolean
parse_structure (Reader *r, guint32 magic, GPtrArray *raw, const char *display_name,
                 const char *format_name, GError **error)
{
  guint32 version, count;

  if (!reader_u32 (r, &version) || (version != 1 && version != 2))
    return set_corrupt (error, display_name, format_name, _("unsupported version"));
  if (!reader_u32 (r, &count))
    return set_corrupt (error, display_name, format_name, _("no entry count"));
  /* an entry takes at least 14 bytes: refuse counts the file cannot hold */
  if (count > (r->len - r->pos) / 14)
    return set_corrupt (error, display_name, format_name, _("entry count larger than the file"));

  for (guint32 i = 0; i < count; i++)
    {
      g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_autofree char *alias = NULL;
      guint32 tag;
      RawEntry *e;

      if (!reader_u32 (r, &tag))
        return set_corrupt (error, display_name, format_name, _("entry cut short"));
      if ((alias = reader_java_utf (r)) == NULL)
        return set_corrupt (error, display_name, format_name, _("unreadable alias"));
      if (!reader_bytes (r, 8, NULL))    /* creation date */
        return set_corrupt (error, display_name, format_name, _("entry cut short"));

      if (tag == TAG_PRIVATE_KEY)
        {
          guint32 key_len, n_certs;
          const guint8 *key;

          if (!reader_u32 (r, &key_len) || !reader_bytes (r, key_len, &key) ||
              !reader_u32 (r, &n_certs))
            return set_corrupt (error, display_name, format_name, _("private key entry cut short"));
          if (n_certs > (r->len - r->pos) / 5)
            return set_corrupt (error, display_name, format_name, _("certificate count larger than the file"));
          for (guint32 j = 0; j < n_certs; j++)
            if (!read_certificate (r, version, chain))
              return set_corrupt (error, display_name, format_name, _("certificate cut short"));
          e = g_new0 (RawEntry, 1);
          e->protected_key.data = key;
          e->protected_key.len = key_len;
        }
      else if (tag == TAG_TRUSTED)
        {
          if (!read_certificate (r, version, chain))
            return set_corrupt (error, display_name, format_name, _("certificate cut short"));
          e = g_new0 (RawEntry, 1);
        }
      else if (tag == TAG_SECRET_KEY && magic == JCEKS_MAGIC)
        {
          if (!skip_serialized_object (r))
            return set_corrupt (error, display_name, format_name, _("unreadable secret key entry"));
          g_debug ("%s: skipping secret key entry “%s” (not usable for TLS)", display_name, alias);
          continue;
        }
      else
        return set_corrupt (error, display_name, format_name, _("unknown entry type"));

      e->tag = tag;
      e->alias = g_steal_pointer (&alias);
      e->chain = g_steal_pointer (&chain);
      g_ptr_array_add (raw, e);
    }
  return TRUE;
}

static GBytes *
decrypt_entry_key (RawEntry *e, const guint8 *pw16, gsize pw16_len,
                   const char *display_name, const char *format_name, GError **error)
{
  Reader epki = e->protected_key, info, alg, oid, params, ct;
  gboolean wrong = FALSE;
  GBytes *key = NULL;

  if (!der_read (&epki, 0x30, &info) || !der_read (&info, 0x30, &alg) ||
      !der_read (&alg, 0x06, &oid) || !der_read (&info, 0x04, &ct))
    {
      set_corrupt (error, display_name, format_name, _("unreadable private key"));
      return NULL;
    }

  if (oid.len == sizeof oid_jks_key_protector &&
      memcmp (oid.data, oid_jks_key_protector, oid.len) == 0)
    key = jks_decrypt_key (ct.data, ct.len, pw16, pw16_len, &wrong);
  else if (oid.len == sizeof oid_pbe_md5_triple_des &&
           memcmp (oid.data, oid_pbe_md5_triple_des, oid.len) == 0 &&
           der_read (&alg, 0x30, &params))
    key = jceks_decrypt_key (&params, ct.data, ct.len, pw16, pw16_len, &wrong);
  else
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("the private key “%s” in %s is protected by an algorithm Postern does not know; "
                     "convert the store to PKCS#12 with keytool -importkeystore"),
                   e->alias, display_name);
      return NULL;
    }

  if (key == NULL && wrong)
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                 _("the private key “%s” in %s has a password different from the store’s; "
                   "give it the store password with keytool -keypasswd -alias %s"),
                 e->alias, display_name, e->alias);
  else if (key == NULL)
    set_corrupt (error, display_name, format_name, _("unreadable private key"));
  return key;
}

gboolean
pst_jks_parse (GBytes      *data,
               const char  *password,
               const char  *display_name,
               const char  *password_file,
               GPtrArray   *entries,
               GError     **error)
{
  Reader r;
  guint32 magic;
  const char *format_name;
  g_autoptr(GPtrArray) raw = g_ptr_array_new_with_free_func (raw_entry_free);
  g_autoptr(GPtrArray) built = g_ptr_array_new_with_free_func (g_object_unref);
  guint8 *pw16;
  gsize pw16_len = 0, content_len;
  guint8 digest[DIGEST_LEN];
  static const char whitener[] = "Mighty Aphrodite";
  gboolean ok = FALSE;

  g_return_val_if_fail (data != NULL, FALSE);
  g_return_val_if_fail (entries != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (password == NULL)
    password = PST_DEFAULT_STORE_PASSWORD;
  if (display_name == NULL)
    display_name = _("the store");

  r.data = g_bytes_get_data (data, &r.len);
  r.pos = 0;
  if (r.data == NULL)
    r.len = 0;

  if (!reader_u32 (&r, &magic) || (magic != JKS_MAGIC && magic != JCEKS_MAGIC))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT,
                   _("%s is not a JKS or JCEKS store"), display_name);
      return FALSE;
    }
  format_name = magic == JKS_MAGIC ? "JKS" : "JCEKS";

  if (!parse_structure (&r, magic, raw, display_name, format_name, error))
    return FALSE;
  if (r.len - r.pos != DIGEST_LEN)
    return set_corrupt (error, display_name, format_name,
                        r.len - r.pos < DIGEST_LEN ? _("integrity digest cut short")
                                                   : _("unexpected data after the entries"));
  content_len = r.pos;

  if ((pw16 = password_utf16be (password, &pw16_len)) == NULL)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                   _("the password for %s is not valid UTF-8 (read from %s)"),
                   display_name, password_file != NULL ? password_file : _("the default"));
      return FALSE;
    }

  sha1 (pw16, pw16_len, whitener, strlen (whitener), r.data, content_len, digest);
  if (memcmp (digest, r.data + content_len, DIGEST_LEN) != 0)
    {
      if (password_file != NULL)
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                     _("wrong password for %s (read from %s); put the store’s password in that file, "
                       "or check that the store is not damaged"),
                     display_name, password_file);
      else
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                     _("wrong password for %s (no password file, keytool’s default password was tried); "
                       "give the store’s password file with --password-file or a .pw file beside it"),
                     display_name);
      goto out;
    }

  for (guint i = 0; i < raw->len; i++)
    {
      RawEntry *e = g_ptr_array_index (raw, i);
      g_autoptr(GBytes) key = NULL;
      PstStoreEntry *entry;

      if (e->tag == TAG_PRIVATE_KEY)
        {
          if (e->chain->len == 0)
            {
              set_corrupt (error, display_name, format_name, _("private key without a certificate"));
              goto out;
            }
          g_autoptr(GBytes) raw_key = NULL;

          raw_key = decrypt_entry_key (e, pw16, pw16_len, display_name, format_name, error);
          if (raw_key == NULL)
            goto out;
          key = pst_jks_complete_ec_key (raw_key, g_ptr_array_index (e->chain, 0));
          if (key == NULL)
            {
              g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                           _("the private key “%s” in %s is not a key Postern can use, or does not "
                             "belong to its certificate; convert the store with keytool -importkeystore"),
                           e->alias, display_name);
              goto out;
            }
        }
      entry = pst_store_entry_new (e->alias, e->chain, key, error);
      if (entry == NULL)
        {
          if (error != NULL && *error != NULL)
            g_prefix_error (error, _("entry “%s” of %s: "), e->alias, display_name);
          goto out;
        }
      g_ptr_array_add (built, entry);
    }

  for (guint i = 0; i < built->len; i++)
    g_ptr_array_add (entries, g_object_ref (g_ptr_array_index (built, i)));
  ok = TRUE;

out:
  wipe_free (pw16, pw16_len);
  return ok;
}
