/* pst-pkcs12-write.c: writes PKCS#12 stores that keytool 17, Java and openssl read
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "pst-der-writer.h"
#include "pst-stores-private.h"

static const guint8 OID_DATA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01 };
static const guint8 OID_ENCRYPTED_DATA[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06 };
static const guint8 OID_SHROUDED_KEY_BAG[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02 };
static const guint8 OID_CERT_BAG[] = { 0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03 };
static const guint8 OID_X509_CERT[] = { 0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01 };
static const guint8 OID_FRIENDLY_NAME[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14 };
static const guint8 OID_LOCAL_KEY_ID[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15 };
/* Oracle's "trusted key usage": without it Java skips a certificate bag */
static const guint8 OID_JAVA_TRUSTED_KEY_USAGE[] = { 0x06, 0x0c, 0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01 };
static const guint8 OID_ANY_EKU[] = { 0x06, 0x04, 0x55, 0x1d, 0x25, 0x00 };
static const guint8 OID_SHA256[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };

static GByteArray *
attribute (GByteArray *oid,
           GByteArray *value)
{
  GPtrArray *values = g_ptr_array_new ();

  g_ptr_array_add (values, value);
  return DER_SEQ (oid, pst_der_set_of (values));
}

static GByteArray *
friendly_name_attribute (const char *alias)
{
  glong n = 0;
  g_autofree gunichar2 *utf16 = g_utf8_to_utf16 (alias, -1, NULL, &n, NULL);
  GByteArray *bmp = g_byte_array_new ();

  for (glong i = 0; utf16 != NULL && i < n; i++)
    {
      guint8 be[2] = { utf16[i] >> 8, utf16[i] & 0xff };
      g_byte_array_append (bmp, be, 2);
    }
  return attribute (DER_OID (OID_FRIENDLY_NAME), pst_der_tlv (0x1e, bmp));
}

static GByteArray *
safe_bag (const guint8 *bag_oid,
          gsize         bag_oid_len,
          GByteArray   *value,
          GPtrArray    *attributes)
{
  return DER_SEQ (pst_der_raw (bag_oid, bag_oid_len),
                  pst_der_tlv (0xa0, value),
                  pst_der_set_of (attributes));
}

static GByteArray *
cert_bag (GBytes     *der,
          const char *alias,
          GBytes     *key_id,
          gboolean    trusted)
{
  GPtrArray *attrs = g_ptr_array_new ();
  gsize size;
  const guint8 *data = g_bytes_get_data (der, &size);

  if (alias != NULL)
    g_ptr_array_add (attrs, friendly_name_attribute (alias));
  if (key_id != NULL)
    g_ptr_array_add (attrs, attribute (DER_OID (OID_LOCAL_KEY_ID),
                                       pst_der_octets (g_bytes_get_data (key_id, NULL), g_bytes_get_size (key_id))));
  if (trusted)
    g_ptr_array_add (attrs, attribute (DER_OID (OID_JAVA_TRUSTED_KEY_USAGE), DER_OID (OID_ANY_EKU)));

  return safe_bag (OID_CERT_BAG, sizeof OID_CERT_BAG,
                   DER_SEQ (DER_OID (OID_X509_CERT), pst_der_tlv (0xa0, pst_der_octets (data, size))),
                   attrs);
}

static GByteArray *
key_bag (GBytes      *pkcs8,
         const char  *alias,
         GBytes      *key_id,
         const char  *password,
         GError     **error)
{
  GByteArray *data = pst_der_raw (g_bytes_get_data (pkcs8, NULL), g_bytes_get_size (pkcs8));
  GByteArray *alg;
  GPtrArray *attrs;

  /* GnuTLS would encrypt with 600,000 PBKDF2 rounds: seconds per load */
  alg = pst_pkcs12_pbes2_encrypt (data, password, error);
  if (alg == NULL)
    {
      gnutls_memset (data->data, 0, data->len);
      g_byte_array_unref (data);
      return NULL;
    }
  attrs = g_ptr_array_new ();
  g_ptr_array_add (attrs, friendly_name_attribute (alias));
  g_ptr_array_add (attrs, attribute (DER_OID (OID_LOCAL_KEY_ID),
                                     pst_der_octets (g_bytes_get_data (key_id, NULL), g_bytes_get_size (key_id))));
  return safe_bag (OID_SHROUDED_KEY_BAG, sizeof OID_SHROUDED_KEY_BAG,
                   DER_SEQ (alg, pst_der_tlv (0x04, data)), attrs);
}

/* ContentInfo(encryptedData) holding safe_contents, as keytool 17
 * writes certificates. */
static GByteArray *
encrypted_content_info (GByteArray  *safe_contents,
                        const char  *password,
                        GError     **error)
{
  GByteArray *alg = pst_pkcs12_pbes2_encrypt (safe_contents, password, error);

  if (alg == NULL)
    {
      g_byte_array_unref (safe_contents);
      return NULL;
    }
  return DER_SEQ (DER_OID (OID_ENCRYPTED_DATA),
                  pst_der_tlv (0xa0, DER_SEQ (pst_der_uint (0),
                                          DER_SEQ (DER_OID (OID_DATA), alg,
                                                   pst_der_tlv (0x80, safe_contents)))));
}

static GBytes *
key_id_for (GBytes *leaf)
{
  guint8 digest[20];
  gsize size;
  const void *data = g_bytes_get_data (leaf, &size);

  gnutls_hash_fast (GNUTLS_DIG_SHA1, data, size, digest);
  return g_bytes_new (digest, sizeof digest);
}

/* Writes the PFX ourselves: GnuTLS sets only friendlyName and localKeyId
 * on bags, and Java needs its trusted-key-usage attribute. */
GBytes *
pst_pkcs12_write (GPtrArray   *entries,
                  const char  *password,
                  GError     **error)
{
  GByteArray *key_bags = g_byte_array_new ();
  GByteArray *cert_bags = g_byte_array_new ();
  GByteArray *auth_safe = g_byte_array_new ();
  GByteArray *pfx;
  gboolean have_keys = FALSE;
  int ret;

  g_return_val_if_fail (password != NULL, NULL);

  for (guint i = 0; i < entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (entries, i);
      const char *alias = pst_store_entry_get_alias (entry);
      GPtrArray *chain = pst_store_entry_get_chain (entry);
      GBytes *pkcs8 = pst_store_entry_get_private_key (entry);
      GByteArray *part;

      if (pkcs8 != NULL)
        {
          g_autoptr(GBytes) key_id = key_id_for (g_ptr_array_index (chain, 0));

          part = key_bag (pkcs8, alias, key_id, password, error);
          if (part == NULL)
            goto fail;
          g_byte_array_append (key_bags, part->data, part->len);
          g_byte_array_unref (part);
          have_keys = TRUE;

          part = cert_bag (g_ptr_array_index (chain, 0), alias, key_id, FALSE);
          g_byte_array_append (cert_bags, part->data, part->len);
          g_byte_array_unref (part);
          for (guint c = 1; c < chain->len; c++)
            {
              part = cert_bag (g_ptr_array_index (chain, c), NULL, NULL, FALSE);
              g_byte_array_append (cert_bags, part->data, part->len);
              g_byte_array_unref (part);
            }
        }
      else
        {
          part = cert_bag (g_ptr_array_index (chain, 0), alias, NULL, TRUE);
          g_byte_array_append (cert_bags, part->data, part->len);
          g_byte_array_unref (part);
        }
    }

  if (have_keys)
    {
      GByteArray *ci = DER_SEQ (DER_OID (OID_DATA),
                                pst_der_tlv (0xa0, pst_der_tlv (0x04, pst_der_tlv (0x30, key_bags))));
      key_bags = NULL;
      g_byte_array_append (auth_safe, ci->data, ci->len);
      g_byte_array_unref (ci);
    }
  else
    g_clear_pointer (&key_bags, g_byte_array_unref);   /* a truststore: no key bags */
  {
    GByteArray *ci = encrypted_content_info (pst_der_tlv (0x30, cert_bags), password, error);
    cert_bags = NULL;
    if (ci == NULL)
      goto fail;
    g_byte_array_append (auth_safe, ci->data, ci->len);
    g_byte_array_unref (ci);
  }

  /* The MAC: HMAC-SHA256 keyed by the PKCS#12 KDF over the
   * AuthenticatedSafe.  Computed here because GnuTLS 3.7 cannot add a MAC
   * to a PFX that has none, and would use 600,000 rounds. */
  {
    guint8 salt[20], mac_key[32], mac[32];
    GByteArray *content = pst_der_tlv (0x30, auth_safe);

    auth_safe = NULL;
    ret = gnutls_rnd (GNUTLS_RND_NONCE, salt, sizeof salt);
    if (ret >= 0)
      {
        pst_pkcs12_mac_key (password, salt, sizeof salt, PST_PKCS12_ITERATIONS, mac_key);
        ret = gnutls_hmac_fast (GNUTLS_MAC_SHA256, mac_key, sizeof mac_key, content->data, content->len, mac);
        gnutls_memset (mac_key, 0, sizeof mac_key);
      }
    if (ret < 0)
      {
        g_byte_array_unref (content);
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                     _("Cannot protect the store with a MAC (%s)"), gnutls_strerror (ret));
        return NULL;
      }
    pfx = DER_SEQ (pst_der_uint (3),
                   DER_SEQ (DER_OID (OID_DATA), pst_der_tlv (0xa0, pst_der_tlv (0x04, content))),
                   DER_SEQ (DER_SEQ (DER_SEQ (DER_OID (OID_SHA256), pst_der_raw ("\x05\x00", 2)),
                                     pst_der_octets (mac, sizeof mac)),
                            pst_der_octets (salt, sizeof salt),
                            pst_der_uint (PST_PKCS12_ITERATIONS)));
  }
  {
    GBytes *ret_bytes = g_bytes_new (pfx->data, pfx->len);
    g_byte_array_unref (pfx);
    return ret_bytes;
  }

fail:
  if (key_bags != NULL)
    {
      gnutls_memset (key_bags->data, 0, key_bags->len);
      g_byte_array_unref (key_bags);
    }
  if (cert_bags != NULL)
    g_byte_array_unref (cert_bags);
  if (auth_safe != NULL)
    g_byte_array_unref (auth_safe);
  return NULL;
}
