/* pst-jks-parse.c: reads Java keytool's JKS and JCEKS stores (entries, integrity check)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-jks.h"
#include "pst-jks-private.h"

#define JKS_MAGIC   0xFEEDFEEDu
#define JCEKS_MAGIC 0xCECECECEu

#define TAG_PRIVATE_KEY 1
#define TAG_TRUSTED     2
#define TAG_SECRET_KEY  3

/* DER of the algorithm OIDs (contents only) */
static const guint8 oid_jks_key_protector[] =     /* 1.3.6.1.4.1.42.2.17.1.1 */
  { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x11, 0x01, 0x01 };
static const guint8 oid_pbe_md5_triple_des[] =    /* 1.3.6.1.4.1.42.2.19.1 */
  { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x2a, 0x02, 0x13, 0x01 };

typedef struct {
  char        *alias;
  guint        tag;
  PstJksReader protected_key;   /* EncryptedPrivateKeyInfo, TAG_PRIVATE_KEY only */
  GPtrArray   *chain;           /* GBytes */
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
read_certificate (PstJksReader *r, guint32 version, GPtrArray *chain)
{
  guint32 len;
  const guint8 *p;

  if (version == 2)
    {
      g_autofree char *type = pst_jks_reader_java_utf (r);

      if (type == NULL || strcmp (type, "X.509") != 0)
        return FALSE;
    }
  if (!pst_jks_reader_u32 (r, &len) || len == 0 || !pst_jks_reader_bytes (r, len, &p))
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
set_corrupt (GError **error, const char *display_name, const char *format_name, const char *what)
{
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
               _("%s is damaged or truncated (%s store: %s); restore it from a backup or make it again with keytool"),
               display_name, format_name, what);
  return FALSE;
}

static gboolean
parse_structure (PstJksReader *r, guint32 magic, GPtrArray *raw, const char *display_name,
                 const char *format_name, GError **error)
{
  guint32 version, count;

  if (!pst_jks_reader_u32 (r, &version) || (version != 1 && version != 2))
    return set_corrupt (error, display_name, format_name, _("unsupported version"));
  if (!pst_jks_reader_u32 (r, &count))
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

      if (!pst_jks_reader_u32 (r, &tag))
        return set_corrupt (error, display_name, format_name, _("entry cut short"));
      if ((alias = pst_jks_reader_java_utf (r)) == NULL)
        return set_corrupt (error, display_name, format_name, _("unreadable alias"));
      if (!pst_jks_reader_bytes (r, 8, NULL))    /* creation date */
        return set_corrupt (error, display_name, format_name, _("entry cut short"));

      if (tag == TAG_PRIVATE_KEY)
        {
          guint32 key_len, n_certs;
          const guint8 *key;

          if (!pst_jks_reader_u32 (r, &key_len) || !pst_jks_reader_bytes (r, key_len, &key) ||
              !pst_jks_reader_u32 (r, &n_certs))
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
          if (!pst_jceks_skip_serialized_object (r))
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
decrypt_entry_key (RawEntry *e, const guint8 *pw16, gsize pw16_len, guint64 *budget,
                   const char *display_name, const char *format_name, GError **error)
{
  PstJksReader epki = e->protected_key, info, alg, oid, params, ct;
  gboolean wrong = FALSE, too_costly = FALSE;
  GBytes *key = NULL;

  if (!pst_jks_der_read (&epki, 0x30, &info) || !pst_jks_der_read (&info, 0x30, &alg) ||
      !pst_jks_der_read (&alg, 0x06, &oid) || !pst_jks_der_read (&info, 0x04, &ct))
    {
      set_corrupt (error, display_name, format_name, _("unreadable private key"));
      return NULL;
    }

  if (oid.len == sizeof oid_jks_key_protector &&
      memcmp (oid.data, oid_jks_key_protector, oid.len) == 0)
    key = pst_jks_decrypt_key (ct.data, ct.len, pw16, pw16_len, &wrong);
  else if (oid.len == sizeof oid_pbe_md5_triple_des &&
           memcmp (oid.data, oid_pbe_md5_triple_des, oid.len) == 0 &&
           pst_jks_der_read (&alg, 0x30, &params))
    key = pst_jceks_decrypt_key (&params, ct.data, ct.len, pw16, pw16_len, budget, &too_costly, &wrong);
  else
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("the private key “%s” in %s is protected by an algorithm Postern does not know; "
                     "convert the store to PKCS#12 with keytool -importkeystore"),
                   e->alias, display_name);
      return NULL;
    }

  if (key == NULL && too_costly)
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                 _("the private key “%s” in %s asks for more key-derivation rounds than Postern "
                   "allows for one store (%d in all); convert the store to PKCS#12 with "
                   "keytool -importkeystore"),
                 e->alias, display_name, PST_JCEKS_ITERATIONS_PER_STORE);
  else if (key == NULL && wrong)
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
  PstJksReader r;
  guint32 magic;
  const char *format_name;
  g_autoptr(GPtrArray) raw = g_ptr_array_new_with_free_func (raw_entry_free);
  g_autoptr(GPtrArray) built = g_ptr_array_new_with_free_func (g_object_unref);
  guint8 *pw16;
  gsize pw16_len = 0, content_len;
  guint8 digest[PST_JKS_DIGEST_LEN];
  static const char whitener[] = "Mighty Aphrodite";
  gboolean ok = FALSE;
  guint64 budget = PST_JCEKS_ITERATIONS_PER_STORE;

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

  if (!pst_jks_reader_u32 (&r, &magic) || (magic != JKS_MAGIC && magic != JCEKS_MAGIC))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT,
                   _("%s is not a JKS or JCEKS store"), display_name);
      return FALSE;
    }
  format_name = magic == JKS_MAGIC ? "JKS" : "JCEKS";

  if (!parse_structure (&r, magic, raw, display_name, format_name, error))
    return FALSE;
  if (r.len - r.pos != PST_JKS_DIGEST_LEN)
    return set_corrupt (error, display_name, format_name,
                        r.len - r.pos < PST_JKS_DIGEST_LEN ? _("integrity digest cut short")
                                                   : _("unexpected data after the entries"));
  content_len = r.pos;

  if ((pw16 = password_utf16be (password, &pw16_len)) == NULL)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                   _("the password for %s is not valid UTF-8 (read from %s)"),
                   display_name, password_file != NULL ? password_file : _("the default"));
      return FALSE;
    }

  pst_jks_sha1 (pw16, pw16_len, whitener, strlen (whitener), r.data, content_len, digest);
  if (memcmp (digest, r.data + content_len, PST_JKS_DIGEST_LEN) != 0)
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

          raw_key = decrypt_entry_key (e, pw16, pw16_len, &budget, display_name, format_name, error);
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
