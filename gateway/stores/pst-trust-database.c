/* pst-trust-database.c: trust anchors parsed once, shared by every TLS connection
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <glib/gi18n-lib.h>

#include "pst-keystore.h"
#include "pst-trust-database.h"

#define MAX_CHAIN 16   /* certificates of one peer chain we look at */
/* Chains that verified are remembered (the same back-end presents the same
 * chain on every connection): for at most this long, never past the
 * earliest expiry in the chain, and only for this database (a new
 * snapshot, a new truststore, starts empty).  Failures are not kept. */
#define VERIFIED_TTL_US   (60 * G_USEC_PER_SEC)
#define VERIFIED_MAX      256

struct _PstTrustDatabase
{
  GTlsDatabase             parent_instance;
  gnutls_x509_trust_list_t list;
  guint                    n_anchors;
  /* verify_chain runs on glib-networking's handshake threads; GnuTLS does
   * not document its trust lists as safe to share between threads. */
  GMutex                   lock;
  /* key (purpose, identity, chain DER) -> gint64 * real time it holds until */
  GHashTable              *verified;
  guint                    n_full;        /* chains verified by GnuTLS */
};

G_DEFINE_TYPE (PstTrustDatabase, pst_trust_database, G_TYPE_TLS_DATABASE)

static void
pst_trust_database_finalize (GObject *object)
{
  PstTrustDatabase *self = PST_TRUST_DATABASE (object);

  if (self->list != NULL)
    gnutls_x509_trust_list_deinit (self->list, 1);
  g_clear_pointer (&self->verified, g_hash_table_unref);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (pst_trust_database_parent_class)->finalize (object);
}

/* The peer's chain as GnuTLS certificates, leaf first. */
static guint
import_chain (GTlsCertificate *chain, gnutls_x509_crt_t *certs)
{
  guint n = 0;

  for (GTlsCertificate *c = chain; c != NULL && n < MAX_CHAIN; c = g_tls_certificate_get_issuer (c))
    {
      g_autoptr(GByteArray) der = NULL;
      gnutls_datum_t datum;

      g_object_get (c, "certificate", &der, NULL);
      if (der == NULL || gnutls_x509_crt_init (&certs[n]) < 0)
        break;
      datum.data = der->data;
      datum.size = der->len;
      if (gnutls_x509_crt_import (certs[n], &datum, GNUTLS_X509_FMT_DER) < 0)
        {
          gnutls_x509_crt_deinit (certs[n]);
          break;
        }
      n++;
    }
  return n;
}

/* What a verification depends on besides the anchors and the clock: the
 * purpose, the identity and every byte of the chain (DER, leaf first, as
 * the peer sent it), each length-prefixed.  NULL for a chain longer than
 * we look at: such a chain is never cached. */
static GBytes *
verified_key_der (const gnutls_datum_t *certs, guint n, const char *purpose, const char *name)
{
  const char *parts[2] = { purpose ? purpose : "", name ? name : "" };
  GByteArray *key;

  if (n == 0 || n > MAX_CHAIN)
    return NULL;
  key = g_byte_array_new ();
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      guint32 len = strlen (parts[i]);

      g_byte_array_append (key, (const guint8 *) &len, sizeof len);
      g_byte_array_append (key, (const guint8 *) parts[i], len);
    }
  for (guint i = 0; i < n; i++)
    {
      guint32 len = certs[i].size;

      g_byte_array_append (key, (const guint8 *) &len, sizeof len);
      g_byte_array_append (key, certs[i].data, len);
    }
  return g_byte_array_free_to_bytes (key);
}

/* The same key for a GTlsCertificate chain (its DER, leaf first). */
static GBytes *
verified_key (GTlsCertificate *chain, const char *purpose, const char *name)
{
  g_autoptr(GPtrArray) ders = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  gnutls_datum_t certs[MAX_CHAIN + 1];
  guint n = 0;

  for (GTlsCertificate *c = chain; c != NULL && n <= MAX_CHAIN; c = g_tls_certificate_get_issuer (c), n++)
    {
      GByteArray *der = NULL;

      g_object_get (c, "certificate", &der, NULL);
      if (der == NULL)
        return NULL;
      g_ptr_array_add (ders, der);
      certs[n].data = der->data;
      certs[n].size = der->len;
    }
  return verified_key_der (certs, n, purpose, name);
}

/* The earliest not-after of the chain GnuTLS verified, in real time µs. */
static gint64
chain_expiry_us (gnutls_x509_crt_t *certs, guint n)
{
  gint64 until = G_MAXINT64;

  for (guint i = 0; i < n; i++)
    {
      time_t t = gnutls_x509_crt_get_expiration_time (certs[i]);

      if (t == (time_t) -1)
        return 0;
      until = MIN (until, (gint64) t * G_USEC_PER_SEC);
    }
  return until;
}

/* The name the peer's certificate must carry, as glib-networking takes it. */
static char *
identity_name (GSocketConnectable *identity)
{
  if (G_IS_NETWORK_ADDRESS (identity))
    return g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (identity)));
  if (G_IS_NETWORK_SERVICE (identity))
    return g_strdup (g_network_service_get_domain (G_NETWORK_SERVICE (identity)));
  if (G_IS_INET_SOCKET_ADDRESS (identity))
    return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (identity)));
  return NULL;
}

static GTlsCertificateFlags
convert_status (unsigned int status)
{
  GTlsCertificateFlags flags = 0;

  if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
    flags |= G_TLS_CERTIFICATE_UNKNOWN_CA;
  if (status & GNUTLS_CERT_NOT_ACTIVATED)
    flags |= G_TLS_CERTIFICATE_NOT_ACTIVATED;
  if (status & GNUTLS_CERT_EXPIRED)
    flags |= G_TLS_CERTIFICATE_EXPIRED;
  if (status & GNUTLS_CERT_REVOKED)
    flags |= G_TLS_CERTIFICATE_REVOKED;
  if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
    flags |= G_TLS_CERTIFICATE_INSECURE;
  if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
    flags |= G_TLS_CERTIFICATE_BAD_IDENTITY;
  if (flags == 0 && status != 0)
    flags = G_TLS_CERTIFICATE_GENERIC_ERROR;
  return flags;
}

/* TRUE if the key is in the cache and has not expired. */
static gboolean
lookup_verified (PstTrustDatabase *self, GBytes *key)
{
  gint64 *until;
  gboolean hit;

  if (key == NULL)
    return FALSE;
  g_mutex_lock (&self->lock);
  until = g_hash_table_lookup (self->verified, key);
  hit = until != NULL && g_get_real_time () < *until;
  g_mutex_unlock (&self->lock);
  return hit;
}

gboolean
pst_trust_database_lookup_verified_der (PstTrustDatabase     *self,
                                        const gnutls_datum_t *certs,
                                        guint                 n,
                                        const char           *purpose,
                                        const char           *name)
{
  g_autoptr(GBytes) key = NULL;

  g_return_val_if_fail (PST_IS_TRUST_DATABASE (self), FALSE);
  if (certs == NULL)
    return FALSE;
  key = verified_key_der (certs, n, purpose, name);
  return lookup_verified (self, key);
}

static GTlsCertificateFlags
pst_trust_database_verify_chain (GTlsDatabase             *database,
                                 GTlsCertificate          *chain,
                                 const gchar              *purpose,
                                 GSocketConnectable       *identity,
                                 GTlsInteraction          *interaction,
                                 GTlsDatabaseVerifyFlags   flags,
                                 GCancellable             *cancellable,
                                 GError                  **error)
{
  PstTrustDatabase *self = PST_TRUST_DATABASE (database);
  gnutls_x509_crt_t certs[MAX_CHAIN];
  gnutls_typed_vdata_st vdata[2];
  g_autofree char *name = NULL;
  unsigned int status = 0;
  guint n, n_vdata = 0;
  int ret;
  g_autoptr(GBytes) key = NULL;
  gint64 now = g_get_real_time ();

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return G_TLS_CERTIFICATE_GENERIC_ERROR;
  if (identity != NULL)
    name = identity_name (identity);
  /* An identity that is none of the kinds identity_name knows cannot be
   * checked: never a success, so never cached. */
  if (identity == NULL || name != NULL)
    {
      key = verified_key (chain, purpose, name);
      if (lookup_verified (self, key))
        return 0;
    }
  n = import_chain (chain, certs);
  if (n == 0)
    return G_TLS_CERTIFICATE_GENERIC_ERROR;

  /* GIO's purposes are the extended-key-usage OIDs GnuTLS checks. */
  if (purpose != NULL)
    {
      vdata[n_vdata].type = GNUTLS_DT_KEY_PURPOSE_OID;
      vdata[n_vdata].data = (unsigned char *) purpose;
      vdata[n_vdata].size = 0;
      n_vdata++;
    }
  if (name != NULL)
    {
      vdata[n_vdata].type = GNUTLS_DT_DNS_HOSTNAME;
      vdata[n_vdata].data = (unsigned char *) name;
      vdata[n_vdata].size = 0;
      n_vdata++;
    }

  g_mutex_lock (&self->lock);
  ret = gnutls_x509_trust_list_verify_crt2 (self->list, certs, n, vdata, n_vdata, 0, &status, NULL);
  self->n_full++;
  if (ret >= 0 && status == 0 && key != NULL)
    {
      gint64 *value = g_new (gint64, 1);

      *value = MIN (now + VERIFIED_TTL_US, chain_expiry_us (certs, n));
      if (g_hash_table_size (self->verified) >= VERIFIED_MAX)
        g_hash_table_remove_all (self->verified);
      g_hash_table_replace (self->verified, g_bytes_ref (key), value);
    }
  g_mutex_unlock (&self->lock);
  for (guint i = 0; i < n; i++)
    gnutls_x509_crt_deinit (certs[i]);
  if (ret < 0)
    return G_TLS_CERTIFICATE_GENERIC_ERROR;
  if (identity != NULL && name == NULL)
    status |= GNUTLS_CERT_UNEXPECTED_OWNER;
  return convert_status (status);
}

/* Nothing is looked up by handle or issuer here: the peer sends its chain. */
static GTlsCertificate *
lookup_certificate_issuer (GTlsDatabase            *database,
                           GTlsCertificate         *certificate,
                           GTlsInteraction         *interaction,
                           GTlsDatabaseLookupFlags  flags,
                           GCancellable            *cancellable,
                           GError                 **error)
{
  g_cancellable_set_error_if_cancelled (cancellable, error);
  return NULL;
}

static GList *
lookup_certificates_issued_by (GTlsDatabase            *database,
                               GByteArray              *issuer_raw_dn,
                               GTlsInteraction         *interaction,
                               GTlsDatabaseLookupFlags  flags,
                               GCancellable            *cancellable,
                               GError                 **error)
{
  g_cancellable_set_error_if_cancelled (cancellable, error);
  return NULL;
}

static gchar *
create_certificate_handle (GTlsDatabase    *database,
                           GTlsCertificate *certificate)
{
  return NULL;
}

static GTlsCertificate *
lookup_certificate_for_handle (GTlsDatabase            *database,
                               const gchar             *handle,
                               GTlsInteraction         *interaction,
                               GTlsDatabaseLookupFlags  flags,
                               GCancellable            *cancellable,
                               GError                 **error)
{
  g_cancellable_set_error_if_cancelled (cancellable, error);
  return NULL;
}

static void
pst_trust_database_class_init (PstTrustDatabaseClass *klass)
{
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = pst_trust_database_finalize;
  database_class->verify_chain = pst_trust_database_verify_chain;
  database_class->lookup_certificate_issuer = lookup_certificate_issuer;
  database_class->lookup_certificates_issued_by = lookup_certificates_issued_by;
  database_class->create_certificate_handle = create_certificate_handle;
  database_class->lookup_certificate_for_handle = lookup_certificate_for_handle;
}

static void
pst_trust_database_init (PstTrustDatabase *self)
{
  g_mutex_init (&self->lock);
  self->verified = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, g_free);
}

static PstTrustDatabase *
new_empty (GError **error)
{
  g_autoptr(PstTrustDatabase) self = g_object_new (PST_TYPE_TRUST_DATABASE, NULL);
  int ret = gnutls_x509_trust_list_init (&self->list, 0);

  if (ret < 0)
    {
      self->list = NULL;
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("Cannot prepare a trust list (%s)"), gnutls_strerror (ret));
      return NULL;
    }
  return g_steal_pointer (&self);
}

GTlsDatabase *
pst_trust_database_new (GPtrArray *anchors, const char *what, GError **error)
{
  g_autoptr(PstTrustDatabase) self = new_empty (error);

  if (self == NULL)
    return NULL;
  for (guint i = 0; anchors != NULL && i < anchors->len; i++)
    {
      gsize size;
      const guint8 *der = g_bytes_get_data (anchors->pdata[i], &size);
      gnutls_datum_t datum = { (unsigned char *) der, (unsigned int) size };
      int ret = gnutls_x509_trust_list_add_trust_mem (self->list, &datum, NULL, GNUTLS_X509_FMT_DER, 0, 0);

      if (ret < 0)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                       _("The certificates of %s cannot be used as trust anchors (certificate %u: %s)"),
                       what != NULL ? what : "store", i + 1, gnutls_strerror (ret));
          return NULL;
        }
      self->n_anchors += ret;
    }
  return G_TLS_DATABASE (g_steal_pointer (&self));
}

GTlsDatabase *
pst_trust_database_new_system (GError **error)
{
  g_autoptr(PstTrustDatabase) self = new_empty (error);
  int ret;

  if (self == NULL)
    return NULL;
  ret = gnutls_x509_trust_list_add_system_trust (self->list, 0, 0);
  if (ret < 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("Cannot load the system's CA certificates (%s); install ca-certificates "
                     "or give the config a <truststore>"), gnutls_strerror (ret));
      return NULL;
    }
  self->n_anchors = ret;
  return G_TLS_DATABASE (g_steal_pointer (&self));
}

guint
pst_trust_database_get_n_full_verifications (PstTrustDatabase *self)
{
  guint n;

  g_return_val_if_fail (PST_IS_TRUST_DATABASE (self), 0);
  g_mutex_lock (&self->lock);
  n = self->n_full;
  g_mutex_unlock (&self->lock);
  return n;
}

guint
pst_trust_database_get_n_anchors (PstTrustDatabase *self)
{
  g_return_val_if_fail (PST_IS_TRUST_DATABASE (self), 0);
  return self->n_anchors;
}
