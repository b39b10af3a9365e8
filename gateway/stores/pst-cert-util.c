/* pst-cert-util.c: certificate files, export formats, the local development CA
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "pst-cert-util.h"
#include "pst-password.h"
#include "pst-store-file.h"

/**
 * pst_cert_read_file:
 * @path: a PEM file (one certificate or a bundle) or a DER certificate
 * @error: return location for a #GFileError or #PstStoreError
 *
 * Returns: (transfer full) (element-type GBytes) (nullable): the DER
 *   certificates in file order; an error names @path
 */
GPtrArray *
pst_cert_read_file (const char  *path,
                    GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len;
  gnutls_datum_t d;
  gnutls_x509_crt_t *crts = NULL;
  unsigned int n = 0;
  int ret;
  GPtrArray *result;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  if (len == 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("%s is empty; give a PEM or DER certificate file"), path);
      return NULL;
    }
  d.data = (guint8 *) contents;
  d.size = len;
  if (g_strstr_len (contents, len, "-----BEGIN") != NULL)
    ret = gnutls_x509_crt_list_import2 (&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
  else
    ret = gnutls_x509_crt_list_import2 (&crts, &n, &d, GNUTLS_X509_FMT_DER, 0);
  if (ret < 0 || n == 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("%s holds no certificate Postern can read (%s); give a PEM or DER certificate file"),
                   path, ret < 0 ? gnutls_strerror (ret) : _("no CERTIFICATE block"));
      return NULL;
    }
  result = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (unsigned int i = 0; i < n; i++)
    {
      gnutls_datum_t der = { NULL, 0 };

      if (gnutls_x509_crt_export2 (crts[i], GNUTLS_X509_FMT_DER, &der) >= 0)
        {
          g_ptr_array_add (result, g_bytes_new (der.data, der.size));
          gnutls_free (der.data);
        }
      gnutls_x509_crt_deinit (crts[i]);
    }
  gnutls_free (crts);
  return result;
}

/**
 * pst_cert_der_to_pem:
 * @der: a DER certificate
 *
 * Returns: (transfer full): its PEM text, lines of 64 characters
 */
char *
pst_cert_der_to_pem (GBytes *der)
{
  g_autofree char *b64 = NULL;
  GString *out;
  gsize len;

  g_return_val_if_fail (der != NULL, NULL);

  b64 = g_base64_encode (g_bytes_get_data (der, NULL), g_bytes_get_size (der));
  out = g_string_new ("-----BEGIN CERTIFICATE-----\n");
  len = strlen (b64);
  for (gsize i = 0; i < len; i += 64)
    {
      g_string_append_len (out, b64 + i, MIN (64, len - i));
      g_string_append_c (out, '\n');
    }
  g_string_append (out, "-----END CERTIFICATE-----\n");
  return g_string_free (out, FALSE);
}

/**
 * pst_cert_dup_common_name:
 * @der: a DER certificate
 *
 * Returns: (transfer full) (nullable): the subject's first CN, if it is
 *   non-empty UTF-8
 */
char *
pst_cert_dup_common_name (GBytes *der)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t d;
  char buf[512];
  size_t size = sizeof buf - 1;
  char *result = NULL;
  gsize len;

  g_return_val_if_fail (der != NULL, NULL);

  d.data = (guint8 *) g_bytes_get_data (der, &len);
  d.size = len;
  if (gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  if (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER) == 0 &&
      gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) == 0)
    {
      buf[size] = '\0';
      if (g_utf8_validate (buf, -1, NULL) && buf[0] != '\0')
        result = g_strdup (buf);
    }
  gnutls_x509_crt_deinit (crt);
  return result;
}

/**
 * pst_cert_format_validity:
 * @not_after: the end of a certificate's validity
 *
 * Returns: (transfer full): "2026-03-01 12:00 UTC (expires in 92 days)" or
 *   "… (EXPIRED)"
 */
char *
pst_cert_format_validity (GDateTime *not_after)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *date = NULL;
  GTimeSpan left;
  gint64 days;

  g_return_val_if_fail (not_after != NULL, NULL);

  date = g_date_time_format (not_after, "%Y-%m-%d %H:%M UTC");
  left = g_date_time_difference (not_after, now);
  if (left <= 0)
    return g_strdup_printf ("%s (%s)", date, _("EXPIRED"));
  days = left / G_TIME_SPAN_DAY;
  /* (plain %d: xgettext cuts a msgid at a G_GINT64_FORMAT macro) */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s (expires in %d day)",
                                       "%s (expires in %d days)", (gulong) MIN (days, G_MAXINT)),
                          date, (int) MIN (days, G_MAXINT));
}

/**
 * pst_export_format_from_string:
 * @text: "pem", "der" or "pkcs12" (any case; "p12" too)
 * @out: (out): the format
 *
 * Returns: %FALSE for any other text
 */
gboolean
pst_export_format_from_string (const char      *text,
                               PstExportFormat *out)
{
  g_return_val_if_fail (text != NULL && out != NULL, FALSE);

  if (g_ascii_strcasecmp (text, "pem") == 0)
    *out = PST_EXPORT_PEM;
  else if (g_ascii_strcasecmp (text, "der") == 0)
    *out = PST_EXPORT_DER;
  else if (g_ascii_strcasecmp (text, "pkcs12") == 0 || g_ascii_strcasecmp (text, "p12") == 0)
    *out = PST_EXPORT_PKCS12;
  else
    return FALSE;
  return TRUE;
}

/**
 * pst_cert_export:
 * @entry: a store entry
 * @out_path: the file to write (replaced atomically)
 * @format: #PstExportFormat
 * @password: (nullable): PKCS#12 only: its password; %NULL for keytool's
 *   default "changeit"
 * @error: return location for a #GFileError or #PstStoreError
 *
 * Writes the certificate of @entry (its leaf, never a private key): as
 * PEM, as DER, or as a PKCS#12 truststore holding it as a trusted entry
 * under the entry's alias, which Java loads as a trustedCertEntry.
 *
 * Returns: %TRUE when written
 */
gboolean
pst_cert_export (PstStoreEntry    *entry,
                 const char       *out_path,
                 PstExportFormat   format,
                 const char       *password,
                 GError          **error)
{
  GBytes *der;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (entry), FALSE);
  g_return_val_if_fail (out_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  der = pst_store_entry_get_certificate (entry);
  switch (format)
    {
    case PST_EXPORT_PKCS12:
      {
        g_autoptr(PstKeystore) trust = pst_keystore_new ();
        g_autoptr(GPtrArray) chain = g_ptr_array_new ();
        g_autoptr(PstStoreEntry) trusted = NULL;

        g_ptr_array_add (chain, der);
        trusted = pst_store_entry_new (pst_store_entry_get_alias (entry), chain, NULL, error);
        if (trusted == NULL)
          return FALSE;
        pst_keystore_add (trust, trusted);
        return pst_keystore_save (trust, out_path, PST_STORE_FORMAT_PKCS12,
                                  password != NULL ? password : PST_DEFAULT_STORE_PASSWORD, error);
      }

    case PST_EXPORT_PEM:
    case PST_EXPORT_DER:
      {
        g_autofree char *pem = NULL;
        const char *data;
        gsize len;

        if (format == PST_EXPORT_PEM)
          {
            pem = pst_cert_der_to_pem (der);
            data = pem;
            len = strlen (pem);
          }
        else
          data = g_bytes_get_data (der, &len);
        if (!g_file_set_contents_full (out_path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                       &local_error))
          {
            g_set_error (error, G_FILE_ERROR, local_error->code,
                         _("cannot write %s (%s); check that its folder exists and is writable"),
                         out_path, local_error->message);
            return FALSE;
          }
        return TRUE;
      }

    default:
      g_return_val_if_reached (FALSE);
    }
}

/**
 * pst_local_ca_find:
 * @store: a store
 *
 * Returns: (transfer none) (nullable): the first KEY entry whose
 *   certificate is a CA: the local development CA that can sign
 */
PstStoreEntry *
pst_local_ca_find (PstKeystore *store)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (store), NULL);

  for (guint i = 0; i < pst_keystore_get_n_entries (store); i++)
    {
      PstStoreEntry *e = pst_keystore_get_entry (store, i);

      if (pst_store_entry_get_kind (e) == PST_ENTRY_KEY && pst_store_entry_is_ca (e))
        return e;
    }
  return NULL;
}

/**
 * pst_local_ca_open_or_create_full:
 * @ca_path: the CA store (PKCS#12 when made)
 * @password_file: (nullable): its password file; %NULL for the `.pw` rule
 * @key_type: the key of a new CA; RSA keys are at least 3072 bits for a CA
 * @unconstrained: a new CA without name constraints
 * @extra_names: (nullable) (array zero-terminated=1): names a new,
 *   constrained CA may also certify, besides local ones
 * @created: (out) (optional): %TRUE when this call made the CA
 * @error: return location for a #PstStoreError or #GFileError
 *
 * Opens the local development CA in @ca_path, or makes it (with its random
 * 0600 password file) when @ca_path does not exist.  A failed creation
 * leaves neither file behind.
 *
 * Returns: (transfer full) (nullable): the CA store; its CA entry is
 *   pst_local_ca_find()
 */
PstKeystore *
pst_local_ca_open_or_create_full (const char          *ca_path,
                                  const char          *password_file,
                                  PstKeyType           key_type,
                                  gboolean             unconstrained,
                                  const char * const  *extra_names,
                                  gboolean            *created,
                                  GError             **error)
{
  g_auto(PstStoreFile) sf = { 0 };
  g_autoptr(PstStoreEntry) ca = NULL;
  PstCertRequest request = { 0 };

  g_return_val_if_fail (ca_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (created != NULL)
    *created = FALSE;
  if (!pst_store_file_open (&sf, ca_path, password_file, PST_STORE_OPEN_READ | PST_STORE_OPEN_CREATE, error))
    {
      pst_store_file_abandon (&sf);
      return NULL;
    }

  if (!sf.created)
    {
      if (pst_local_ca_find (sf.store) == NULL)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NO_ENTRY,
                       _("%s holds no certificate authority with its private key; give a CA store "
                         "made by “postern cert generate --ca FILE”, or a new file name to make one"),
                       ca_path);
          return NULL;
        }
      return g_steal_pointer (&sf.store);
    }

  request.names = extra_names;
  request.key_type = key_type == PST_KEY_ECDSA_P256 || key_type == PST_KEY_RSA_4096
                     ? key_type : PST_KEY_RSA_3072;
  request.is_ca = TRUE;
  request.unconstrained = unconstrained;
  ca = pst_cert_generate (&request, NULL, error);
  if (ca == NULL)
    {
      pst_store_file_abandon (&sf);
      return NULL;
    }
  pst_keystore_add (sf.store, ca);
  if (!pst_store_file_save (&sf, error))
    {
      pst_store_file_abandon (&sf);
      return NULL;
    }
  if (created != NULL)
    *created = TRUE;
  return g_steal_pointer (&sf.store);
}

/**
 * pst_local_ca_open_or_create:
 *
 * pst_local_ca_open_or_create_full() with an ECDSA P-256 key.
 *
 * Returns: (transfer full) (nullable): the CA store
 */
PstKeystore *
pst_local_ca_open_or_create (const char          *ca_path,
                             const char          *password_file,
                             gboolean             unconstrained,
                             const char * const  *extra_names,
                             gboolean            *created,
                             GError             **error)
{
  return pst_local_ca_open_or_create_full (ca_path, password_file, PST_KEY_ECDSA_P256, unconstrained,
                                           extra_names, created, error);
}
