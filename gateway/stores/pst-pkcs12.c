/* pst-pkcs12.c: PKCS#12 stores as keytool 17 and openssl read and write them
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs12.h>
#include <string.h>

#include "pst-jks.h"
#include "pst-stores-private.h"

#define PBE_ITERATIONS 10000

typedef struct {
  GBytes *der;          /* certificate or PKCS#8 key */
  char   *friendly_name;
  GBytes *key_id;
  gboolean incomplete;  /* a key GnuTLS cannot import as it is */
} Item;

static void
item_free (Item *item)
{
  g_clear_pointer (&item->der, g_bytes_unref);
  g_free (item->friendly_name);
  g_clear_pointer (&item->key_id, g_bytes_unref);
  g_free (item);
}

static void
set_corrupt (GError    **error,
             const char *display_name,
             int         gnutls_code)
{
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
               _("%s is damaged or truncated: its PKCS#12 data cannot be decoded (%s); restore it from a backup or create it again"),
               display_name, gnutls_strerror (gnutls_code));
}

static gboolean
is_password_error (int code)
{
  return code == GNUTLS_E_DECRYPTION_FAILED || code == GNUTLS_E_MAC_VERIFY_FAILED;
}

/* ---- PBES2 decryption ---------------------------------------------------
 * gnutls_x509_privkey_import_pkcs8 decrypts and parses in one step, and
 * GnuTLS 3.7 cannot parse the EC keys keytool writes (no public point):
 * it then reports "Decryption has failed".  So PBES2 keys are decrypted
 * here and completed with the certificate's public point later. */

typedef struct {
  const guint8 *p;
  gsize         len;
} Der;

static gboolean
der_next (Der    *in,
          guint8  tag,
          Der    *out)
{
  gsize n, hl = 2;

  if (in->len < 2 || in->p[0] != tag)
    return FALSE;
  n = in->p[1];
  if (n & 0x80)
    {
      guint k = n & 0x7f;
      if (k == 0 || k > 4 || in->len < 2 + k)
        return FALSE;
      n = 0;
      for (guint i = 0; i < k; i++)
        n = (n << 8) | in->p[2 + i];
      hl += k;
    }
  if (n > in->len - hl)
    return FALSE;
  out->p = in->p + hl;
  out->len = n;
  in->p += hl + n;
  in->len -= hl + n;
  return TRUE;
}

static gboolean
der_oid_is (const Der    *oid,
            const guint8 *encoded)   /* with tag and length */
{
  return oid->len == encoded[1] && memcmp (oid->p, encoded + 2, oid->len) == 0;
}

static const guint8 OID_PBES2_[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d };
static const guint8 OID_PBKDF2_[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c };

static GBytes *
pbes2_decrypt (const gnutls_datum_t *epki,
               const char           *password)
{
  static const struct { guint8 last; gnutls_mac_algorithm_t mac; } prfs[] = {
    { 0x07, GNUTLS_MAC_SHA1 }, { 0x08, GNUTLS_MAC_SHA224 }, { 0x09, GNUTLS_MAC_SHA256 },
    { 0x0a, GNUTLS_MAC_SHA384 }, { 0x0b, GNUTLS_MAC_SHA512 },
  };
  static const guint8 hmac_prefix[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02 };
  static const guint8 aes_prefix[] = { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01 };
  static const guint8 des3[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07 };
  Der in = { epki->data, epki->size }, seq, alg, oid, params, kdf, kdf_params, salt, iter, enc, enc_oid, iv, data;
  gnutls_mac_algorithm_t mac = GNUTLS_MAC_SHA1;
  gnutls_cipher_algorithm_t cipher_alg;
  gsize key_len, iterations = 0;
  guint8 key[32];
  gnutls_cipher_hd_t cipher = NULL;
  guint8 *plain;
  guint pad;

  if (!der_next (&in, 0x30, &seq) || !der_next (&seq, 0x30, &alg) || !der_next (&alg, 0x06, &oid) ||
      !der_oid_is (&oid, OID_PBES2_) || !der_next (&alg, 0x30, &params) ||
      !der_next (&params, 0x30, &kdf) || !der_next (&kdf, 0x06, &oid) || !der_oid_is (&oid, OID_PBKDF2_) ||
      !der_next (&kdf, 0x30, &kdf_params) || !der_next (&kdf_params, 0x04, &salt) ||
      !der_next (&kdf_params, 0x02, &iter) || iter.len == 0 || iter.len > 4 ||
      !der_next (&params, 0x30, &enc) || !der_next (&enc, 0x06, &enc_oid) || !der_next (&enc, 0x04, &iv) ||
      !der_next (&seq, 0x04, &data))
    return NULL;
  for (gsize i = 0; i < iter.len; i++)
    iterations = (iterations << 8) | iter.p[i];
  {
    Der opt;
    if (kdf_params.len > 0 && kdf_params.p[0] == 0x02)
      der_next (&kdf_params, 0x02, &opt);   /* keyLength: implied by the cipher */
    if (kdf_params.len > 0 && der_next (&kdf_params, 0x30, &opt) && der_next (&opt, 0x06, &oid))
      {
        gboolean known = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS (prfs); i++)
          if (oid.len == 8 && memcmp (oid.p, hmac_prefix, 7) == 0 && oid.p[7] == prfs[i].last)
            {
              mac = prfs[i].mac;
              known = TRUE;
            }
        if (!known)
          return NULL;
      }
  }
  if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x02)
    cipher_alg = GNUTLS_CIPHER_AES_128_CBC, key_len = 16;
  else if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x16)
    cipher_alg = GNUTLS_CIPHER_AES_192_CBC, key_len = 24;
  else if (enc_oid.len == 9 && memcmp (enc_oid.p, aes_prefix, 8) == 0 && enc_oid.p[8] == 0x2a)
    cipher_alg = GNUTLS_CIPHER_AES_256_CBC, key_len = 32;
  else if (enc_oid.len == 8 && memcmp (enc_oid.p, des3, 8) == 0)
    cipher_alg = GNUTLS_CIPHER_3DES_CBC, key_len = 24;
  else
    return NULL;
  if (iv.len != (gsize) gnutls_cipher_get_block_size (cipher_alg) || data.len == 0 ||
      data.len % iv.len != 0 || iterations == 0 || iterations > 10000000)
    return NULL;

  {
    gnutls_datum_t pw = { (unsigned char *) password, strlen (password) };
    gnutls_datum_t salt_d = { (unsigned char *) salt.p, salt.len };
    gnutls_datum_t key_d = { key, key_len };
    gnutls_datum_t iv_d = { (unsigned char *) iv.p, iv.len };

    if (gnutls_pbkdf2 (mac, &pw, &salt_d, iterations, key, key_len) < 0 ||
        gnutls_cipher_init (&cipher, cipher_alg, &key_d, &iv_d) < 0)
      {
        gnutls_memset (key, 0, sizeof key);
        return NULL;
      }
  }
  gnutls_memset (key, 0, sizeof key);
  plain = g_memdup2 (data.p, data.len);
  if (gnutls_cipher_decrypt (cipher, plain, data.len) < 0)
    pad = 0;
  else
    pad = plain[data.len - 1];
  gnutls_cipher_deinit (cipher);
  if (pad == 0 || pad > iv.len)
    {
      gnutls_memset (plain, 0, data.len);
      g_free (plain);
      return NULL;
    }
  for (guint i = 0; i < pad; i++)
    if (plain[data.len - 1 - i] != pad)
      {
        gnutls_memset (plain, 0, data.len);
        g_free (plain);
        return NULL;
      }
  return g_bytes_new_take (plain, data.len - pad);
}

static gboolean
read_bag (gnutls_pkcs12_bag_t  bag,
          const char          *password,
          const char          *display_name,
          const char          *password_file,
          GPtrArray           *certs,
          GPtrArray           *keys,
          GError             **error)
{
  int n = gnutls_pkcs12_bag_get_count (bag);

  if (n < 0)
    {
      set_corrupt (error, display_name, n);
      return FALSE;
    }

  for (int i = 0; i < n; i++)
    {
      gnutls_pkcs12_bag_type_t type = gnutls_pkcs12_bag_get_type (bag, i);
      gnutls_datum_t data = { NULL, 0 };
      gnutls_datum_t id = { NULL, 0 };
      char *name = NULL;
      Item *item;
      int ret;

      if (type != GNUTLS_BAG_CERTIFICATE && type != GNUTLS_BAG_PKCS8_KEY &&
          type != GNUTLS_BAG_PKCS8_ENCRYPTED_KEY)
        continue;   /* CRLs, secrets: not ours to use */

      ret = gnutls_pkcs12_bag_get_data (bag, i, &data);
      if (ret < 0)
        {
          set_corrupt (error, display_name, ret);
          return FALSE;
        }

      item = g_new0 (Item, 1);
      if (gnutls_pkcs12_bag_get_friendly_name (bag, i, &name) >= 0 && name != NULL && *name != '\0')
        item->friendly_name = g_strdup (name);
      if (gnutls_pkcs12_bag_get_key_id (bag, i, &id) >= 0 && id.size > 0)
        item->key_id = g_bytes_new (id.data, id.size);

      if (type == GNUTLS_BAG_CERTIFICATE)
        {
          gnutls_x509_crt_t crt = NULL;
          gnutls_datum_t der = { NULL, 0 };

          /* the bag holds the certificate DER (GnuTLS unwraps CertBag) */
          gnutls_x509_crt_init (&crt);
          ret = gnutls_x509_crt_import (crt, &data, GNUTLS_X509_FMT_DER);
          if (ret >= 0)
            ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der);
          gnutls_x509_crt_deinit (crt);
          if (ret < 0)
            {
              item_free (item);
              set_corrupt (error, display_name, ret);
              return FALSE;
            }
          item->der = pst_gnutls_datum_to_bytes (&der);
          g_ptr_array_add (certs, item);
        }
      else
        {
          gnutls_x509_privkey_t key = NULL;
          gnutls_datum_t plain = { NULL, 0 };

          gnutls_x509_privkey_init (&key);
          if (type == GNUTLS_BAG_PKCS8_ENCRYPTED_KEY)
            ret = gnutls_x509_privkey_import_pkcs8 (key, &data, GNUTLS_X509_FMT_DER, password, 0);
          else
            ret = gnutls_x509_privkey_import_pkcs8 (key, &data, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN);
          if (ret >= 0)
            ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &plain);
          gnutls_x509_privkey_deinit (key);
          if (ret < 0)
            {
              /* keytool's EC keys: decrypt here, complete them once paired */
              GBytes *decrypted = NULL;

              if (type == GNUTLS_BAG_PKCS8_ENCRYPTED_KEY)
                decrypted = pbes2_decrypt (&data, password);
              else
                decrypted = g_bytes_new (data.data, data.size);
              if (decrypted != NULL)
                {
                  item->der = decrypted;
                  item->incomplete = TRUE;
                  g_ptr_array_add (keys, item);
                  continue;
                }
            }
          if (ret < 0)
            {
              item_free (item);
              if (is_password_error (ret))
                pst_store_set_wrong_password (error, display_name, password, password_file);
              else
                g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                             _("A private key in %s cannot be read (%s); export it again with keytool or openssl"),
                             display_name, gnutls_strerror (ret));
              return FALSE;
            }
          item->der = pst_gnutls_datum_to_bytes (&plain);
          g_ptr_array_add (keys, item);
        }
    }
  return TRUE;
}

static Item *
find_cert_for_key (GPtrArray *certs,
                   Item      *key,
                   gboolean  *taken)
{
  gnutls_x509_privkey_t pk = NULL;
  gnutls_datum_t datum;
  unsigned char key_id[64];
  size_t key_id_size = sizeof key_id;
  gsize size;
  Item *found = NULL;

  if (key->key_id != NULL)
    for (guint i = 0; i < certs->len; i++)
      {
        Item *cert = g_ptr_array_index (certs, i);
        if (!taken[i] && cert->key_id != NULL && g_bytes_equal (cert->key_id, key->key_id))
          {
            taken[i] = TRUE;
            return cert;
          }
      }

  /* no localKeyId pairing: fall back to comparing public keys */
  datum.data = (unsigned char *) g_bytes_get_data (key->der, &size);
  datum.size = size;
  gnutls_x509_privkey_init (&pk);
  if (gnutls_x509_privkey_import_pkcs8 (pk, &datum, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) >= 0 &&
      gnutls_x509_privkey_get_key_id (pk, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_size) >= 0)
    {
      for (guint i = 0; i < certs->len && found == NULL; i++)
        {
          Item *cert = g_ptr_array_index (certs, i);
          gnutls_x509_crt_t crt = NULL;
          unsigned char crt_id[64];
          size_t crt_id_size = sizeof crt_id;

          if (taken[i])
            continue;
          datum.data = (unsigned char *) g_bytes_get_data (cert->der, &size);
          datum.size = size;
          gnutls_x509_crt_init (&crt);
          if (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) >= 0 &&
              gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_id_size) >= 0 &&
              crt_id_size == key_id_size && memcmp (crt_id, key_id, key_id_size) == 0)
            {
              taken[i] = TRUE;
              found = cert;
            }
          gnutls_x509_crt_deinit (crt);
        }
    }
  gnutls_x509_privkey_deinit (pk);
  return found;
}

/* Parses every bag of a PKCS#12 store (not only the first key, as
 * gnutls_pkcs12_simple_parse would) into entries. */
gboolean
pst_pkcs12_parse (GBytes      *data,
                  const char  *password,
                  const char  *display_name,
                  const char  *password_file,
                  GPtrArray   *entries,
                  GError     **error)
{
  gnutls_pkcs12_t p12 = NULL;
  gnutls_datum_t datum;
  g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autoptr(GPtrArray) pool = g_ptr_array_new ();
  g_autofree gboolean *taken = NULL;
  g_autofree gboolean *in_chain = NULL;
  gsize size;
  int ret;

  datum.data = (unsigned char *) g_bytes_get_data (data, &size);
  datum.size = size;

  gnutls_pkcs12_init (&p12);
  ret = gnutls_pkcs12_import (p12, &datum, GNUTLS_X509_FMT_DER, 0);
  if (ret < 0)
    {
      gnutls_pkcs12_deinit (p12);
      set_corrupt (error, display_name, ret);
      return FALSE;
    }

  ret = gnutls_pkcs12_verify_mac (p12, password);
  if (ret == GNUTLS_E_MAC_VERIFY_FAILED)
    {
      gnutls_pkcs12_deinit (p12);
      pst_store_set_wrong_password (error, display_name, password, password_file);
      return FALSE;
    }
  /* other failures (no MAC at all, an unknown MAC algorithm): the
   * decryption below still tells a wrong password apart */

  for (int i = 0; i < 4096; i++)
    {
      gnutls_pkcs12_bag_t bag = NULL;
      gboolean ok;

      gnutls_pkcs12_bag_init (&bag);
      ret = gnutls_pkcs12_get_bag (p12, i, bag);
      if (ret == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        {
          gnutls_pkcs12_bag_deinit (bag);
          break;
        }
      if (ret >= 0 && gnutls_pkcs12_bag_get_type (bag, 0) == GNUTLS_BAG_ENCRYPTED)
        {
          ret = gnutls_pkcs12_bag_decrypt (bag, password);
          if (ret < 0 && is_password_error (ret))
            {
              gnutls_pkcs12_bag_deinit (bag);
              gnutls_pkcs12_deinit (p12);
              pst_store_set_wrong_password (error, display_name, password, password_file);
              return FALSE;
            }
        }
      if (ret < 0)
        {
          gnutls_pkcs12_bag_deinit (bag);
          gnutls_pkcs12_deinit (p12);
          set_corrupt (error, display_name, ret);
          return FALSE;
        }
      ok = read_bag (bag, password, display_name, password_file, certs, keys, error);
      gnutls_pkcs12_bag_deinit (bag);
      if (!ok)
        {
          gnutls_pkcs12_deinit (p12);
          return FALSE;
        }
    }
  gnutls_pkcs12_deinit (p12);

  for (guint i = 0; i < certs->len; i++)
    g_ptr_array_add (pool, ((Item *) g_ptr_array_index (certs, i))->der);
  taken = g_new0 (gboolean, certs->len + 1);
  in_chain = g_new0 (gboolean, certs->len + 1);

  for (guint k = 0; k < keys->len; k++)
    {
      Item *key = g_ptr_array_index (keys, k);
      Item *leaf = find_cert_for_key (certs, key, taken);
      g_autoptr(GPtrArray) chain = NULL;
      g_autofree char *alias = NULL;
      PstStoreEntry *entry;

      if (leaf == NULL)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                       _("A private key in %s has no certificate; export the store again with its certificate chain"),
                       display_name);
          return FALSE;
        }
      if (key->incomplete)
        {
          GBytes *complete = pst_jks_complete_ec_key (key->der, leaf->der);

          if (complete == NULL)
            {
              g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                           _("A private key in %s cannot be read; export it again with keytool or openssl"),
                           display_name);
              return FALSE;
            }
          g_bytes_unref (key->der);
          key->der = complete;
        }
      chain = pst_chain_build (leaf->der, pool, in_chain);
      if (key->friendly_name != NULL)
        alias = g_strdup (key->friendly_name);
      else if (leaf->friendly_name != NULL)
        alias = g_strdup (leaf->friendly_name);
      else
        alias = pst_cert_default_alias (leaf->der);
      entry = pst_store_entry_new (alias, chain, key->der, error);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }

  /* The rest are trusted entries: Java's (friendlyName, no localKeyId),
   * openssl -nokeys exports, and anything no chain uses. */
  for (guint i = 0; i < certs->len; i++)
    {
      Item *cert = g_ptr_array_index (certs, i);
      g_autoptr(GPtrArray) chain = NULL;
      g_autofree char *alias = NULL;
      PstStoreEntry *entry;

      if (taken[i])
        continue;
      if (in_chain[i] && (cert->friendly_name == NULL || cert->key_id != NULL))
        continue;
      alias = cert->friendly_name != NULL ? g_strdup (cert->friendly_name)
                                          : pst_cert_default_alias (cert->der);
      chain = g_ptr_array_new ();
      g_ptr_array_add (chain, cert->der);
      entry = pst_store_entry_new (alias, chain, NULL, error);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }
  return TRUE;
}

/* ---- writing ---------------------------------------------------------- */

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
static const guint8 OID_PBES2[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d };
static const guint8 OID_PBKDF2[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c };
static const guint8 OID_HMAC_SHA256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09 };
static const guint8 OID_SHA256[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 };
static const guint8 OID_AES256_CBC[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a };

/* A tiny DER writer: each helper takes ownership of its content arrays. */
static GByteArray *
der_raw (const void *data,
         gsize       len)
{
  GByteArray *out = g_byte_array_sized_new (len);
  g_byte_array_append (out, data, len);
  return out;
}

static GByteArray *
der_tlv (guint8      tag,
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
static GByteArray *
der_cat (GByteArray *first, ...)
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

#define DER_SEQ(...) der_tlv (0x30, der_cat (__VA_ARGS__, NULL))
#define DER_OID(oid) der_raw (oid, sizeof oid)

static GByteArray *
der_octets (const void *data,
            gsize       len)
{
  return der_tlv (0x04, der_raw (data, len));
}

static GByteArray *
der_uint (guint32 value)
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
  return der_tlv (0x02, der_raw (buf, n));
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
static GByteArray *
der_set_of (GPtrArray *elements)
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
  return der_tlv (0x31, content);
}

static GByteArray *
attribute (GByteArray *oid,
           GByteArray *value)
{
  GPtrArray *values = g_ptr_array_new ();

  g_ptr_array_add (values, value);
  return DER_SEQ (oid, der_set_of (values));
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
  return attribute (DER_OID (OID_FRIENDLY_NAME), der_tlv (0x1e, bmp));
}

static GByteArray *
safe_bag (const guint8 *bag_oid,
          gsize         bag_oid_len,
          GByteArray   *value,
          GPtrArray    *attributes)
{
  return DER_SEQ (der_raw (bag_oid, bag_oid_len),
                  der_tlv (0xa0, value),
                  der_set_of (attributes));
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
                                       der_octets (g_bytes_get_data (key_id, NULL), g_bytes_get_size (key_id))));
  if (trusted)
    g_ptr_array_add (attrs, attribute (DER_OID (OID_JAVA_TRUSTED_KEY_USAGE), DER_OID (OID_ANY_EKU)));

  return safe_bag (OID_CERT_BAG, sizeof OID_CERT_BAG,
                   DER_SEQ (DER_OID (OID_X509_CERT), der_tlv (0xa0, der_octets (data, size))),
                   attrs);
}

/* PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) as keytool 17 writes it.
 * Returns the AlgorithmIdentifier; data is padded and encrypted in place. */
static GByteArray *
pbes2_encrypt (GByteArray  *data,
               const char  *password,
               GError     **error)
{
  guint8 salt[16], iv[16], key[32];
  gnutls_datum_t pw = { (unsigned char *) password, strlen (password) };
  gnutls_datum_t salt_d = { salt, sizeof salt };
  gnutls_datum_t key_d = { key, sizeof key };
  gnutls_datum_t iv_d = { iv, sizeof iv };
  gnutls_cipher_hd_t cipher = NULL;
  guint8 pad = 16 - data->len % 16;
  int ret;

  for (guint i = 0; i < pad; i++)
    g_byte_array_append (data, &pad, 1);

  ret = gnutls_rnd (GNUTLS_RND_NONCE, salt, sizeof salt);
  if (ret >= 0)
    ret = gnutls_rnd (GNUTLS_RND_NONCE, iv, sizeof iv);
  if (ret >= 0)
    ret = gnutls_pbkdf2 (GNUTLS_MAC_SHA256, &pw, &salt_d, PBE_ITERATIONS, key, sizeof key);
  if (ret >= 0)
    ret = gnutls_cipher_init (&cipher, GNUTLS_CIPHER_AES_256_CBC, &key_d, &iv_d);
  if (ret >= 0)
    {
      ret = gnutls_cipher_encrypt (cipher, data->data, data->len);
      gnutls_cipher_deinit (cipher);
    }
  gnutls_memset (key, 0, sizeof key);
  if (ret < 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("Cannot encrypt the store (%s)"), gnutls_strerror (ret));
      return NULL;
    }

  return DER_SEQ (DER_OID (OID_PBES2),
                  DER_SEQ (DER_SEQ (DER_OID (OID_PBKDF2),
                                    DER_SEQ (der_octets (salt, sizeof salt),
                                             der_uint (PBE_ITERATIONS),
                                             DER_SEQ (DER_OID (OID_HMAC_SHA256), der_raw ("\x05\x00", 2)))),
                           DER_SEQ (DER_OID (OID_AES256_CBC), der_octets (iv, sizeof iv))));
}

static GByteArray *
key_bag (GBytes      *pkcs8,
         const char  *alias,
         GBytes      *key_id,
         const char  *password,
         GError     **error)
{
  GByteArray *data = der_raw (g_bytes_get_data (pkcs8, NULL), g_bytes_get_size (pkcs8));
  GByteArray *alg;
  GPtrArray *attrs;

  /* GnuTLS would encrypt with 600,000 PBKDF2 rounds: seconds per load */
  alg = pbes2_encrypt (data, password, error);
  if (alg == NULL)
    {
      gnutls_memset (data->data, 0, data->len);
      g_byte_array_unref (data);
      return NULL;
    }
  attrs = g_ptr_array_new ();
  g_ptr_array_add (attrs, friendly_name_attribute (alias));
  g_ptr_array_add (attrs, attribute (DER_OID (OID_LOCAL_KEY_ID),
                                     der_octets (g_bytes_get_data (key_id, NULL), g_bytes_get_size (key_id))));
  return safe_bag (OID_SHROUDED_KEY_BAG, sizeof OID_SHROUDED_KEY_BAG,
                   DER_SEQ (alg, der_tlv (0x04, data)), attrs);
}

/* ContentInfo(encryptedData) holding safe_contents, as keytool 17
 * writes certificates. */
static GByteArray *
encrypted_content_info (GByteArray  *safe_contents,
                        const char  *password,
                        GError     **error)
{
  GByteArray *alg = pbes2_encrypt (safe_contents, password, error);

  if (alg == NULL)
    {
      g_byte_array_unref (safe_contents);
      return NULL;
    }
  return DER_SEQ (DER_OID (OID_ENCRYPTED_DATA),
                  der_tlv (0xa0, DER_SEQ (der_uint (0),
                                          DER_SEQ (DER_OID (OID_DATA), alg,
                                                   der_tlv (0x80, safe_contents)))));
}

/* RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64), ID 3 (MAC key),
 * for a 32-byte key: one block A1 = H^iterations(D || S || P). */
static void
pkcs12_mac_key (const char   *password,
                const guint8 *salt,
                gsize         salt_len,
                guint         iterations,
                guint8        out[32])
{
  glong n = 0;
  g_autofree gunichar2 *utf16 = g_utf8_to_utf16 (password, -1, NULL, &n, NULL);
  gsize p_len = (n + 1) * 2;   /* BMPString with its two zero bytes */
  gsize s_fill = 64 * ((salt_len + 63) / 64);
  gsize p_fill = 64 * ((p_len + 63) / 64);
  g_autofree guint8 *bmp = g_malloc0 (p_len);
  g_autofree guint8 *input = g_malloc (64 + s_fill + p_fill);
  gnutls_hash_hd_t hash = NULL;

  for (glong i = 0; i < n; i++)
    {
      bmp[2 * i] = utf16[i] >> 8;
      bmp[2 * i + 1] = utf16[i] & 0xff;
    }
  memset (input, 3, 64);
  for (gsize i = 0; i < s_fill; i++)
    input[64 + i] = salt[i % salt_len];
  for (gsize i = 0; i < p_fill; i++)
    input[64 + s_fill + i] = bmp[i % p_len];

  gnutls_hash_fast (GNUTLS_DIG_SHA256, input, 64 + s_fill + p_fill, out);
  gnutls_hash_init (&hash, GNUTLS_DIG_SHA256);
  for (guint i = 1; i < iterations; i++)
    {
      gnutls_hash (hash, out, 32);
      gnutls_hash_output (hash, out);
    }
  gnutls_hash_deinit (hash, NULL);

  gnutls_memset (bmp, 0, p_len);
  gnutls_memset (input, 0, 64 + s_fill + p_fill);
  if (utf16 != NULL)
    gnutls_memset (utf16, 0, n * sizeof *utf16);
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
                                der_tlv (0xa0, der_tlv (0x04, der_tlv (0x30, key_bags))));
      key_bags = NULL;
      g_byte_array_append (auth_safe, ci->data, ci->len);
      g_byte_array_unref (ci);
    }
  {
    GByteArray *ci = encrypted_content_info (der_tlv (0x30, cert_bags), password, error);
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
    GByteArray *content = der_tlv (0x30, auth_safe);

    auth_safe = NULL;
    ret = gnutls_rnd (GNUTLS_RND_NONCE, salt, sizeof salt);
    if (ret >= 0)
      {
        pkcs12_mac_key (password, salt, sizeof salt, PBE_ITERATIONS, mac_key);
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
    pfx = DER_SEQ (der_uint (3),
                   DER_SEQ (DER_OID (OID_DATA), der_tlv (0xa0, der_tlv (0x04, content))),
                   DER_SEQ (DER_SEQ (DER_SEQ (DER_OID (OID_SHA256), der_raw ("\x05\x00", 2)),
                                     der_octets (mac, sizeof mac)),
                            der_octets (salt, sizeof salt),
                            der_uint (PBE_ITERATIONS)));
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
