/* pst-pem.c: PEM stores (certificates, keys, bundles)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "pst-log-escape.h"
#include "pst-stores-private.h"

typedef struct {
  GBytes *der;      /* certificate DER or plain PKCS#8 */
  char   *alias;    /* from a "# alias:" or "friendlyName:" line before it */
  guint8  key_id[32];
  gsize   key_id_len;
} Block;

static void
block_free (Block *block)
{
  g_clear_pointer (&block->der, g_bytes_unref);
  g_free (block->alias);
  g_free (block);
}

static const char *
find_line_value (const char *start,
                 const char *end,
                 const char *prefix)
{
  const char *p = start;
  gsize plen = strlen (prefix);

  while (p < end)
    {
      const char *eol = memchr (p, '\n', end - p);
      const char *q = p;

      if (eol == NULL)
        eol = end;
      while (q < eol && (*q == ' ' || *q == '\t'))
        q++;
      if ((gsize) (eol - q) > plen && strncmp (q, prefix, plen) == 0)
        return q + plen;
      p = eol + 1;
    }
  return NULL;
}

/* A "# alias:" line is read back up to its line break: an alias with a
 * control character (a line break above all, which would end the comment
 * and let the rest pass for PEM lines) can be neither written nor read. */
static gboolean
fits_line (const char *text,
           gssize      len)
{
  const guchar *p = (const guchar *) text;
  const guchar *end = len < 0 ? p + strlen (text) : p + len;

  for (; p < end; p++)
    if (*p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* The last alias line between start and end, if any. */
static char *
alias_before (const char *start,
              const char *end)
{
  const char *prefixes[] = { "# alias: ", "friendlyName: " };
  char *alias = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (prefixes) && alias == NULL; i++)
    {
      const char *value = find_line_value (start, end, prefixes[i]);
      const char *eol;

      if (value == NULL)
        continue;
      eol = memchr (value, '\n', end - value);
      if (eol == NULL)
        eol = end;
      while (eol > value && g_ascii_isspace (eol[-1]))
        eol--;
      if (eol > value && g_utf8_validate (value, eol - value, NULL) && fits_line (value, eol - value))
        alias = g_strndup (value, eol - value);
    }
  return alias;
}

static gboolean
is_key_label (const char *label,
              gsize       len)
{
  static const char *labels[] = {
    "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY",
  };
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    if (strlen (labels[i]) == len && strncmp (labels[i], label, len) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_cert_label (const char *label,
               gsize       len)
{
  return (len == 11 && strncmp (label, "CERTIFICATE", 11) == 0) ||
         (len == 16 && strncmp (label, "X509 CERTIFICATE", 16) == 0) ||
         (len == 19 && strncmp (label, "TRUSTED CERTIFICATE", 19) == 0);
}

gboolean
pst_pem_parse (GBytes      *data,
               const char  *password,
               const char  *display_name,
               const char  *password_file,
               GPtrArray   *entries,
               GError     **error)
{
  g_autoptr(GPtrArray) certs = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) block_free);
  g_autoptr(GPtrArray) pool = g_ptr_array_new ();
  g_autofree gboolean *taken = NULL;
  g_autofree gboolean *in_chain = NULL;
  gsize size;
  const char *text = g_bytes_get_data (data, &size);
  const char *end, *p, *prev_end;

  /* an empty GBytes may hold NULL, and NULL + 0 is undefined behaviour */
  if (text == NULL)
    text = "";
  end = text + size;
  p = prev_end = text;

  while (p < end)
    {
      const char *begin = g_strstr_len (p, end - p, "-----BEGIN ");
      const char *label, *label_end, *block_end;
      g_autofree char *end_marker = NULL;
      gnutls_datum_t datum;
      gsize label_len;
      Block *block;
      int ret;

      if (begin == NULL)
        break;
      label = begin + 11;
      label_end = g_strstr_len (label, end - label, "-----");
      if (label_end == NULL || memchr (label, '\n', label_end - label) != NULL)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                       _("%s is damaged or truncated: a PEM “BEGIN” line is incomplete; restore the file or export it again"),
                       display_name);
          return FALSE;
        }
      label_len = label_end - label;
      end_marker = g_strdup_printf ("-----END %.*s-----", (int) label_len, label);
      block_end = g_strstr_len (label_end, end - label_end, end_marker);
      if (block_end == NULL)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                       _("%s is damaged or truncated: the PEM block “%.*s” has no END line; restore the file or export it again"),
                       display_name, (int) label_len, label);
          return FALSE;
        }
      block_end += strlen (end_marker);
      datum.data = (unsigned char *) begin;
      datum.size = block_end - begin;

      if (is_cert_label (label, label_len))
        {
          gnutls_x509_crt_t crt = NULL;
          gnutls_datum_t der = { NULL, 0 };

          gnutls_x509_crt_init (&crt);
          ret = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM);
          if (ret >= 0)
            ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der);
          if (ret < 0)
            {
              gnutls_x509_crt_deinit (crt);
              g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                           _("%s holds a certificate that cannot be decoded (%s); replace it with a good copy"),
                           display_name, gnutls_strerror (ret));
              return FALSE;
            }
          block = g_new0 (Block, 1);
          block->key_id_len = sizeof block->key_id;
          if (gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, block->key_id, &block->key_id_len) < 0)
            block->key_id_len = 0;
          gnutls_x509_crt_deinit (crt);
          block->der = pst_gnutls_datum_to_bytes (&der);
          block->alias = alias_before (prev_end, begin);
          g_ptr_array_add (certs, block);
        }
      else if (is_key_label (label, label_len))
        {
          gnutls_x509_privkey_t key = NULL;
          gnutls_datum_t der = { NULL, 0 };

          gnutls_x509_privkey_init (&key);
          ret = gnutls_x509_privkey_import2 (key, &datum, GNUTLS_X509_FMT_PEM, password, 0);
          if (ret >= 0)
            ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &der);
          block = g_new0 (Block, 1);
          block->key_id_len = sizeof block->key_id;
          if (ret >= 0 &&
              gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, block->key_id, &block->key_id_len) < 0)
            block->key_id_len = 0;
          gnutls_x509_privkey_deinit (key);
          if (ret < 0)
            {
              block_free (block);
              if (ret == GNUTLS_E_DECRYPTION_FAILED)
                pst_store_set_wrong_password (error, display_name, password, password_file);
              else
                g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                             _("%s holds a private key that cannot be read (%s); replace it with a good copy"),
                             display_name, gnutls_strerror (ret));
              return FALSE;
            }
          block->der = pst_gnutls_datum_to_bytes (&der);
          block->alias = alias_before (prev_end, begin);
          g_ptr_array_add (keys, block);
        }
      /* other blocks (PUBLIC KEY, parameters, CRLs) are not entries */
      p = prev_end = block_end;
    }

  if (certs->len == 0)
    {
      g_set_error (error, PST_STORE_ERROR, keys->len > 0 ? PST_STORE_ERROR_CORRUPT : PST_STORE_ERROR_UNKNOWN_FORMAT,
                   _("%s holds no certificate; a PEM store needs at least one “BEGIN CERTIFICATE” block"),
                   display_name);
      return FALSE;
    }

  for (guint i = 0; i < certs->len; i++)
    g_ptr_array_add (pool, ((Block *) g_ptr_array_index (certs, i))->der);
  taken = g_new0 (gboolean, certs->len);
  in_chain = g_new0 (gboolean, certs->len);

  for (guint k = 0; k < keys->len; k++)
    {
      Block *key = g_ptr_array_index (keys, k);
      Block *leaf = NULL;
      g_autoptr(GPtrArray) chain = NULL;
      g_autofree char *alias = NULL;
      PstStoreEntry *entry;

      for (guint i = 0; i < certs->len && leaf == NULL; i++)
        {
          Block *cert = g_ptr_array_index (certs, i);
          if (!taken[i] && cert->key_id_len > 0 && cert->key_id_len == key->key_id_len &&
              memcmp (cert->key_id, key->key_id, key->key_id_len) == 0)
            {
              taken[i] = TRUE;
              leaf = cert;
            }
        }
      if (leaf == NULL)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                       _("%s holds a private key without its certificate; add the certificate to the file"),
                       display_name);
          return FALSE;
        }
      chain = pst_chain_build (leaf->der, pool, in_chain);
      alias = key->alias != NULL ? g_strdup (key->alias)
            : leaf->alias != NULL ? g_strdup (leaf->alias)
            : pst_cert_default_alias (leaf->der);
      entry = pst_store_entry_new (alias, chain, key->der, error);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }

  for (guint i = 0; i < certs->len; i++)
    {
      Block *cert = g_ptr_array_index (certs, i);
      g_autoptr(GPtrArray) chain = NULL;
      g_autofree char *alias = NULL;
      PstStoreEntry *entry;

      /* chain members of a key entry are not entries of their own */
      if (taken[i] || (in_chain[i] && keys->len > 0 && cert->alias == NULL))
        continue;
      alias = cert->alias != NULL ? g_strdup (cert->alias) : pst_cert_default_alias (cert->der);
      chain = g_ptr_array_new ();
      g_ptr_array_add (chain, cert->der);
      entry = pst_store_entry_new (alias, chain, NULL, error);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }
  return TRUE;
}

/* Keys are written as PKCS#8; encrypted (PBES2, AES-256) when a password
 * is given, in the clear otherwise (for servers that cannot ask). */
static gboolean
append_key (GString     *out,
            GBytes      *pkcs8,
            const char  *password,
            const char  *alias,
            GError     **error)
{
  gnutls_x509_privkey_t key = NULL;
  gnutls_datum_t datum, pem = { NULL, 0 };
  gsize size;
  int ret;

  if (password == NULL)
    {
      pst_pem_append (out, "PRIVATE KEY", pkcs8);
      return TRUE;
    }
  datum.data = (unsigned char *) g_bytes_get_data (pkcs8, &size);
  datum.size = size;
  gnutls_x509_privkey_init (&key);
  ret = gnutls_x509_privkey_import_pkcs8 (key, &datum, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN);
  if (ret >= 0)
    ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, password, GNUTLS_PKCS_PBES2_AES_256, &pem);
  gnutls_x509_privkey_deinit (key);
  if (ret < 0)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("Cannot encrypt the private key of “%s” (%s)"), alias, gnutls_strerror (ret));
      return FALSE;
    }
  g_string_append_len (out, (const char *) pem.data, pem.size);
  if (pem.size > 0 && pem.data[pem.size - 1] != '\n')
    g_string_append_c (out, '\n');
  gnutls_free (pem.data);
  return TRUE;
}

GBytes *
pst_pem_write_full (GPtrArray   *entries,
                    const char  *password,
                    GError     **error)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (entries, i);
      GPtrArray *chain = pst_store_entry_get_chain (entry);
      GBytes *key = pst_store_entry_get_private_key (entry);
      const char *alias = pst_store_entry_get_alias (entry);
      g_autofree char *subject = pst_store_entry_dup_subject (entry);
      /* (a comment only, never read back; a certificate's subject can hold
       * anything) */
      g_autofree char *safe_subject = fits_line (subject, -1) ? g_strdup (subject) : pst_log_escape (subject, -1);

      if (!fits_line (alias, -1))
        {
          g_autofree char *safe = pst_log_escape (alias, -1);

          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                       _("Cannot write the entry “%s” to a PEM file: its alias holds a line break or another "
                         "control character, which would break the file; give the entry another alias, or save "
                         "the store as PKCS#12"), safe);
          gnutls_memset (out->str, 0, out->len);
          g_string_free (out, TRUE);
          return NULL;
        }
      g_string_append_printf (out, "%s# alias: %s\n# subject: %s\n",
                              i > 0 ? "\n" : "", alias, safe_subject);
      if (key != NULL && !append_key (out, key, password, pst_store_entry_get_alias (entry), error))
        {
          gnutls_memset (out->str, 0, out->len);
          g_string_free (out, TRUE);
          return NULL;
        }
      for (guint c = 0; c < (key != NULL ? chain->len : 1); c++)
        pst_pem_append (out, "CERTIFICATE", g_ptr_array_index (chain, c));
    }
  return g_string_free_to_bytes (out);
}

GBytes *
pst_pem_write (GPtrArray  *entries,
               GError    **error)
{
  return pst_pem_write_full (entries, NULL, error);
}
