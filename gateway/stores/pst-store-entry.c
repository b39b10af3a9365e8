/* pst-store-entry.c: one key store or trust store entry
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "pst-store-entry.h"
#include "pst-stores-private.h"

struct _PstStoreEntry
{
  GObject            parent_instance;

  char              *alias;
  GPtrArray         *chain;        /* GBytes, leaf first */
  GBytes            *private_key;  /* PKCS#8 DER or NULL */
  gnutls_x509_crt_t  crt;          /* the leaf, parsed */
  GDateTime         *not_before;
  GDateTime         *not_after;
};

G_DEFINE_FINAL_TYPE (PstStoreEntry, pst_store_entry, G_TYPE_OBJECT)

static void
pst_store_entry_finalize (GObject *object)
{
  PstStoreEntry *self = PST_STORE_ENTRY (object);

  g_free (self->alias);
  g_clear_pointer (&self->chain, g_ptr_array_unref);
  g_clear_pointer (&self->private_key, g_bytes_unref);
  if (self->crt != NULL)
    gnutls_x509_crt_deinit (self->crt);
  g_clear_pointer (&self->not_before, g_date_time_unref);
  g_clear_pointer (&self->not_after, g_date_time_unref);

  G_OBJECT_CLASS (pst_store_entry_parent_class)->finalize (object);
}

static void
pst_store_entry_class_init (PstStoreEntryClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_store_entry_finalize;
}

static void
pst_store_entry_init (PstStoreEntry *self)
{
}

GBytes *
pst_gnutls_datum_to_bytes (const gnutls_datum_t *datum)
{
  GBytes *bytes = g_bytes_new (datum->data, datum->size);

  gnutls_memset (datum->data, 0, datum->size);
  gnutls_free (datum->data);
  return bytes;
}

static gboolean
import_crt (GBytes            *der,
            gnutls_x509_crt_t *out)
{
  gnutls_datum_t datum;
  gsize size;

  datum.data = (unsigned char *) g_bytes_get_data (der, &size);
  datum.size = size;
  if (gnutls_x509_crt_init (out) < 0)
    return FALSE;
  if (gnutls_x509_crt_import (*out, &datum, GNUTLS_X509_FMT_DER) < 0)
    {
      gnutls_x509_crt_deinit (*out);
      *out = NULL;
      return FALSE;
    }
  return TRUE;
}

static gboolean
key_matches_crt (GBytes            *pkcs8,
                 gnutls_x509_crt_t  crt)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_datum_t datum;
  unsigned char key_id[64], crt_id[64];
  size_t key_id_size = sizeof key_id, crt_id_size = sizeof crt_id;
  gsize size;
  gboolean ok = FALSE;

  datum.data = (unsigned char *) g_bytes_get_data (pkcs8, &size);
  datum.size = size;
  if (gnutls_x509_privkey_init (&key) < 0)
    return FALSE;
  if (gnutls_x509_privkey_import_pkcs8 (key, &datum, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) >= 0 &&
      gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_id, &key_id_size) >= 0 &&
      gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_id_size) >= 0)
    ok = key_id_size == crt_id_size && memcmp (key_id, crt_id, key_id_size) == 0;
  gnutls_x509_privkey_deinit (key);
  return ok;
}

/**
 * pst_store_entry_new:
 * @alias: the entry's name
 * @chain: (element-type GBytes): DER certificates, leaf first (copied)
 * @private_key: (nullable): unencrypted PKCS#8 DER for a key entry
 * @error: return location for a #PST_STORE_ERROR
 *
 * Returns: (transfer full) (nullable): the entry, or %NULL when the leaf
 *   does not parse or the key does not belong to it
 */
PstStoreEntry *
pst_store_entry_new (const char  *alias,
                     GPtrArray   *chain,
                     GBytes      *private_key,
                     GError     **error)
{
  g_autoptr(PstStoreEntry) self = NULL;
  gnutls_x509_crt_t crt = NULL;
  time_t t;

  g_return_val_if_fail (alias != NULL, NULL);
  g_return_val_if_fail (chain != NULL && chain->len > 0, NULL);

  if (!import_crt (g_ptr_array_index (chain, 0), &crt))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("The certificate of entry “%s” is not a valid X.509 certificate; replace it with a new one"),
                   alias);
      return NULL;
    }
  if (private_key != NULL && !key_matches_crt (private_key, crt))
    {
      gnutls_x509_crt_deinit (crt);
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("The private key of entry “%s” is unreadable or does not belong to its certificate; generate the entry again"),
                   alias);
      return NULL;
    }

  self = g_object_new (PST_TYPE_STORE_ENTRY, NULL);
  self->alias = g_strdup (alias);
  self->crt = crt;
  self->chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < chain->len; i++)
    g_ptr_array_add (self->chain, g_bytes_ref (g_ptr_array_index (chain, i)));
  if (private_key != NULL)
    self->private_key = g_bytes_ref (private_key);

  t = gnutls_x509_crt_get_activation_time (crt);
  self->not_before = g_date_time_new_from_unix_utc (t == (time_t) -1 ? 0 : t);
  t = gnutls_x509_crt_get_expiration_time (crt);
  self->not_after = g_date_time_new_from_unix_utc (t == (time_t) -1 ? 0 : t);
  if (self->not_after == NULL)   /* beyond year 9999 */
    self->not_after = g_date_time_new_utc (9999, 12, 31, 23, 59, 59);
  if (self->not_before == NULL)
    self->not_before = g_date_time_new_from_unix_utc (0);

  return g_steal_pointer (&self);
}

const char *
pst_store_entry_get_alias (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return self->alias;
}

void
pst_store_entry_set_alias (PstStoreEntry *self,
                           const char    *alias)
{
  g_return_if_fail (PST_IS_STORE_ENTRY (self));
  g_return_if_fail (alias != NULL);
  if (g_strcmp0 (self->alias, alias) == 0)
    return;
  g_free (self->alias);
  self->alias = g_strdup (alias);
}

PstEntryKind
pst_store_entry_get_kind (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), PST_ENTRY_TRUSTED);
  return self->private_key != NULL ? PST_ENTRY_KEY : PST_ENTRY_TRUSTED;
}

/**
 * pst_store_entry_get_chain:
 *
 * Returns: (transfer none) (element-type GBytes): DER certificates, leaf first
 */
GPtrArray *
pst_store_entry_get_chain (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return self->chain;
}

/**
 * pst_store_entry_get_certificate:
 *
 * Returns: (transfer none): the leaf certificate, DER
 */
GBytes *
pst_store_entry_get_certificate (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return g_ptr_array_index (self->chain, 0);
}

/**
 * pst_store_entry_get_private_key:
 *
 * Returns: (transfer none) (nullable): unencrypted PKCS#8 DER
 */
GBytes *
pst_store_entry_get_private_key (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return self->private_key;
}

gnutls_x509_crt_t
pst_store_entry_peek_crt (PstStoreEntry *self)
{
  return self->crt;
}

static char *
dn_to_string (int (*get) (gnutls_x509_crt_t, gnutls_datum_t *, unsigned),
              gnutls_x509_crt_t crt)
{
  gnutls_datum_t dn = { NULL, 0 };
  char *ret;

  if (get (crt, &dn, 0) < 0)
    return g_strdup ("");
  ret = g_strndup ((const char *) dn.data, dn.size);
  gnutls_free (dn.data);
  return ret;
}

char *
pst_store_entry_dup_subject (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return dn_to_string (gnutls_x509_crt_get_dn3, self->crt);
}

char *
pst_store_entry_dup_issuer (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return dn_to_string (gnutls_x509_crt_get_issuer_dn3, self->crt);
}

/**
 * pst_store_entry_dup_sans:
 *
 * Returns: (transfer full): "DNS:name" and "IP:address" strings (other
 *   kinds as "email:", "URI:")
 */
GStrv
pst_store_entry_dup_sans (PstStoreEntry *self)
{
  GPtrArray *builder = g_ptr_array_new ();

  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);

  for (unsigned seq = 0; seq < 1024; seq++)
    {
      gnutls_datum_t san = { NULL, 0 };
      int type = pst_crt_get_san (self->crt, seq, &san);

      if (type < 0)
        break;
      switch (type)
        {
        case GNUTLS_SAN_DNSNAME:
          g_ptr_array_add (builder, g_strdup_printf ("DNS:%.*s", (int) san.size, san.data));
          break;
        case GNUTLS_SAN_IPADDRESS:
          if (san.size == 4 || san.size == 16)
            {
              g_autoptr(GInetAddress) addr =
                g_inet_address_new_from_bytes (san.data, san.size == 4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
              g_autofree char *text = g_inet_address_to_string (addr);
              g_ptr_array_add (builder, g_strdup_printf ("IP:%s", text));
            }
          break;
        case GNUTLS_SAN_RFC822NAME:
          g_ptr_array_add (builder, g_strdup_printf ("email:%.*s", (int) san.size, san.data));
          break;
        case GNUTLS_SAN_URI:
          g_ptr_array_add (builder, g_strdup_printf ("URI:%.*s", (int) san.size, san.data));
          break;
        default:
          break;
        }
      g_free (san.data);
    }
  g_ptr_array_add (builder, NULL);
  return (GStrv) g_ptr_array_free (builder, FALSE);
}

/**
 * pst_store_entry_get_not_before:
 *
 * Returns: (transfer none): start of validity, UTC
 */
GDateTime *
pst_store_entry_get_not_before (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return self->not_before;
}

/**
 * pst_store_entry_get_not_after:
 *
 * Returns: (transfer none): end of validity, UTC
 */
GDateTime *
pst_store_entry_get_not_after (PstStoreEntry *self)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);
  return self->not_after;
}

char *
pst_store_entry_dup_fingerprint (PstStoreEntry *self)
{
  guint8 digest[32];
  GString *out = g_string_sized_new (96);
  gsize size;
  const void *der;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);

  der = g_bytes_get_data (pst_store_entry_get_certificate (self), &size);
  gnutls_hash_fast (GNUTLS_DIG_SHA256, der, size, digest);
  for (guint i = 0; i < sizeof digest; i++)
    g_string_append_printf (out, i == 0 ? "%02X" : ":%02X", digest[i]);
  return g_string_free (out, FALSE);
}

char *
pst_store_entry_dup_key_type (PstStoreEntry *self)
{
  unsigned bits = 0;
  int pk;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);

  pk = gnutls_x509_crt_get_pk_algorithm (self->crt, &bits);
  switch (pk)
    {
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS:
      return g_strdup_printf ("RSA %u", bits);
    case GNUTLS_PK_DSA:
      return g_strdup_printf ("DSA %u", bits);
    case GNUTLS_PK_ECDSA:
      {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        gnutls_x509_crt_get_pk_ecc_raw (self->crt, &curve, NULL, NULL);
        switch (curve)
          {
          case GNUTLS_ECC_CURVE_SECP256R1: return g_strdup ("ECDSA P-256");
          case GNUTLS_ECC_CURVE_SECP384R1: return g_strdup ("ECDSA P-384");
          case GNUTLS_ECC_CURVE_SECP521R1: return g_strdup ("ECDSA P-521");
          default: return g_strdup ("ECDSA");
          }
      }
    case GNUTLS_PK_EDDSA_ED25519:
      return g_strdup ("Ed25519");
    case GNUTLS_PK_EDDSA_ED448:
      return g_strdup ("Ed448");
    default:
      return g_strdup (gnutls_pk_get_name (pk) != NULL ? gnutls_pk_get_name (pk) : "unknown");
    }
}

gboolean
pst_store_entry_is_ca (PstStoreEntry *self)
{
  unsigned critical = 0;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), FALSE);
  return gnutls_x509_crt_get_ca_status (self->crt, &critical) > 0;
}

PstHostMatch
pst_store_entry_match_host (PstStoreEntry *self,
                            const char    *host)
{
  return pst_host_match_crt (self->crt, host);
}

gboolean
pst_store_entry_matches_host (PstStoreEntry *self,
                              const char    *host)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), FALSE);
  g_return_val_if_fail (host != NULL, FALSE);
  return pst_host_match_crt (self->crt, host) != PST_HOST_MATCH_NONE;
}

gboolean
pst_cert_matches_host (GBytes     *der,
                       const char *host)
{
  gnutls_x509_crt_t crt = NULL;
  gboolean ret;

  g_return_val_if_fail (der != NULL, FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  if (!import_crt (der, &crt))
    return FALSE;
  ret = pst_host_match_crt (crt, host) != PST_HOST_MATCH_NONE;
  gnutls_x509_crt_deinit (crt);
  return ret;
}

void
pst_pem_append (GString    *out,
                const char *label,
                GBytes     *der)
{
  gsize size;
  const guchar *data = g_bytes_get_data (der, &size);
  g_autofree char *b64 = g_base64_encode (data, size);
  gsize len = strlen (b64);

  g_string_append_printf (out, "-----BEGIN %s-----\n", label);
  for (gsize i = 0; i < len; i += 64)
    {
      g_string_append_len (out, b64 + i, MIN (64, len - i));
      g_string_append_c (out, '\n');
    }
  g_string_append_printf (out, "-----END %s-----\n", label);
  memset (b64, 0, len);
}

/**
 * pst_store_entry_to_tls_certificate:
 *
 * Builds the PEM of the chain and the key in memory: GLib's file loader
 * refuses PKCS#12 data unless the file is named .p12/.pfx.
 *
 * Returns: (transfer full) (nullable): the certificate (with its issuers
 *   and, for a key entry, the private key)
 */
GTlsCertificate *
pst_store_entry_to_tls_certificate (PstStoreEntry  *self,
                                    GError        **error)
{
  GString *pem;
  GTlsCertificate *cert;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (self), NULL);

  pem = g_string_new (NULL);
  for (guint i = 0; i < self->chain->len; i++)
    pst_pem_append (pem, "CERTIFICATE", g_ptr_array_index (self->chain, i));
  if (self->private_key != NULL)
    pst_pem_append (pem, "PRIVATE KEY", self->private_key);

  cert = g_tls_certificate_new_from_pem (pem->str, pem->len, &local_error);
  memset (pem->str, 0, pem->len);
  g_string_free (pem, TRUE);

  if (cert == NULL)
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                 _("Entry “%s” cannot be used for TLS (%s); generate it again"),
                 self->alias, local_error->message);
  return cert;
}

/* Completes leaf into a chain from pool (GBytes DER), marking what is used. */
GPtrArray *
pst_chain_build (GBytes    *leaf,
                 GPtrArray *pool,
                 gboolean  *used)
{
  GPtrArray *chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  gnutls_x509_crt_t current = NULL;

  g_ptr_array_add (chain, g_bytes_ref (leaf));
  if (!import_crt (leaf, &current))
    return chain;

  /* bounded: each pool certificate joins at most once */
  for (guint depth = 0; depth < pool->len; depth++)
    {
      gboolean found = FALSE;

      if (gnutls_x509_crt_check_issuer (current, current))
        break;   /* self-signed: the chain ends here */
      for (guint i = 0; i < pool->len && !found; i++)
        {
          gnutls_x509_crt_t candidate = NULL;
          GBytes *der = g_ptr_array_index (pool, i);

          if (g_bytes_equal (der, leaf) || !import_crt (der, &candidate))
            continue;
          if (!g_ptr_array_find_with_equal_func (chain, der, (GEqualFunc) g_bytes_equal, NULL) &&
              gnutls_x509_crt_check_issuer (current, candidate))
            {
              g_ptr_array_add (chain, g_bytes_ref (der));
              if (used != NULL)
                used[i] = TRUE;
              gnutls_x509_crt_deinit (current);
              current = candidate;
              found = TRUE;
            }
          else
            gnutls_x509_crt_deinit (candidate);
        }
      if (!found)
        break;
    }
  gnutls_x509_crt_deinit (current);
  return chain;
}

/* The first DNS SAN, else the CN, else the fingerprint's start: lower-case. */
char *
pst_cert_default_alias (GBytes *der)
{
  gnutls_x509_crt_t crt = NULL;
  char *alias = NULL;
  char buf[256];
  size_t size = sizeof buf;

  if (!import_crt (der, &crt))
    return g_strdup ("certificate");

  for (unsigned seq = 0; alias == NULL && seq < 64; seq++)
    {
      unsigned type;
      size = sizeof buf - 1;
      int ret = gnutls_x509_crt_get_subject_alt_name (crt, seq, buf, &size, NULL);
      if (ret < 0)
        break;
      type = ret;
      if (type == GNUTLS_SAN_DNSNAME)
        alias = g_ascii_strdown (buf, size);
    }
  size = sizeof buf - 1;
  if (alias == NULL &&
      gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) >= 0 &&
      size > 0)
    alias = g_ascii_strdown (buf, size);
  gnutls_x509_crt_deinit (crt);

  if (alias == NULL)
    alias = g_strdup ("certificate");
  return alias;
}
