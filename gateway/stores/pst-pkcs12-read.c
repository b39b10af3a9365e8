/* pst-pkcs12-read.c: reads PKCS#12 stores as keytool 17 and openssl write them
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <gnutls/pkcs12.h>
#include <string.h>

#include "pst-jks.h"
#include "pst-stores-private.h"

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
                decrypted = pst_pkcs12_pbes2_decrypt (&data, password);
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
