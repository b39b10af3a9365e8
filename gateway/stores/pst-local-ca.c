/* pst-local-ca.c: the local development CA's alias, and finding it in stores of any age
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

#include "pst-local-ca.h"
#include "pst-store-entry.h"

#define LOCAL_CA_ORGANIZATION "Postern development CA"
#define OLD_ALIAS_PREFIX      "postern development ca on "

/**
 * pst_cert_is_local_ca:
 * @der: a DER certificate
 *
 * Returns: %TRUE when @der is a CA certificate that Postern made as a
 *   local development CA (basic constraints CA:TRUE and the organization
 *   "Postern development CA" in its subject)
 */
gboolean
pst_cert_is_local_ca (GBytes *der)
{
  gnutls_x509_crt_t crt;
  gnutls_datum_t d;
  char buf[128];
  size_t size = sizeof buf - 1;
  unsigned critical = 0;
  gboolean result = FALSE;
  gsize len;

  g_return_val_if_fail (der != NULL, FALSE);

  d.data = (guint8 *) g_bytes_get_data (der, &len);
  d.size = len;
  if (gnutls_x509_crt_init (&crt) < 0)
    return FALSE;
  if (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER) == 0 &&
      gnutls_x509_crt_get_ca_status (crt, &critical) > 0 &&
      gnutls_x509_crt_get_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, 0, buf, &size) == 0)
    {
      buf[size] = '\0';
      result = strcmp (buf, LOCAL_CA_ORGANIZATION) == 0;
    }
  gnutls_x509_crt_deinit (crt);
  return result;
}

/**
 * pst_local_ca_is_old_alias:
 * @alias: an alias
 *
 * Returns: %TRUE when @alias is the alias versions before the plain
 *   token gave the CA: its lower-cased common name
 */
gboolean
pst_local_ca_is_old_alias (const char *alias)
{
  g_return_val_if_fail (alias != NULL, FALSE);

  return g_ascii_strncasecmp (alias, OLD_ALIAS_PREFIX, strlen (OLD_ALIAS_PREFIX)) == 0 &&
         alias[strlen (OLD_ALIAS_PREFIX)] != '\0';
}

/**
 * pst_local_ca_lookup:
 * @store: a store
 * @alias: the alias asked for
 *
 * Stores made before the CA's alias became %PST_LOCAL_CA_ALIAS hold it
 * (and truststores the imported CA) as "postern development ca on HOST";
 * scripts written since name it %PST_LOCAL_CA_ALIAS, older ones the other
 * way round.  Either name finds it, by its certificate.
 *
 * Returns: (transfer none) (nullable): the entry
 */
PstStoreEntry *
pst_local_ca_lookup (PstKeystore *store,
                     const char  *alias)
{
  PstStoreEntry *entry;

  g_return_val_if_fail (PST_IS_KEYSTORE (store), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  if ((entry = pst_keystore_lookup (store, alias)) != NULL)
    return entry;
  if (g_ascii_strcasecmp (alias, PST_LOCAL_CA_ALIAS) != 0 && !pst_local_ca_is_old_alias (alias))
    return NULL;

  /* a key entry (the CA that signs) before a trusted one */
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < pst_keystore_get_n_entries (store); i++)
      {
        PstStoreEntry *e = pst_keystore_get_entry (store, i);
        const char *found = pst_store_entry_get_alias (e);

        if ((pst_store_entry_get_kind (e) == PST_ENTRY_KEY) != (pass == 0))
          continue;
        if ((g_ascii_strcasecmp (found, PST_LOCAL_CA_ALIAS) == 0 || pst_local_ca_is_old_alias (found)) &&
            pst_cert_is_local_ca (pst_store_entry_get_certificate (e)))
          return e;
      }
  return NULL;
}

/**
 * pst_alias_to_token:
 * @alias: an alias, maybe with spaces or non-ASCII characters
 *
 * Returns: (transfer full): a token safe as a file name and a keytool
 *   alias
 */
char *
pst_alias_to_token (const char *alias)
{
  GString *out;

  g_return_val_if_fail (alias != NULL, NULL);

  out = g_string_new (NULL);
  for (const char *p = alias; *p != '\0'; p++)
    {
      char c = g_ascii_tolower (*p);

      if (g_ascii_isalnum (c) || c == '.' || c == '_' || c == '-')
        g_string_append_c (out, c);
      else if (out->len > 0 && out->str[out->len - 1] != '-')
        g_string_append_c (out, '-');
    }
  while (out->len > 0 && out->str[out->len - 1] == '-')
    g_string_truncate (out, out->len - 1);
  /* never "." or ".." or a hidden file */
  while (out->len > 0 && out->str[0] == '.')
    g_string_erase (out, 0, 1);
  if (out->len == 0)
    g_string_append (out, "ca");
  return g_string_free (out, FALSE);
}

/**
 * pst_shell_word:
 * @text: an alias or a file name for a command printed in a message
 *
 * Returns: (transfer full): @text as one shell word, quoted only when it
 *   has to be, so that a command in a message can be pasted as it is
 */
char *
pst_shell_word (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  if (text[0] != '\0' && text[0] != '~' && text[0] != '-' &&
      strspn (text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@%+=,-") == strlen (text))
    return g_strdup (text);
  return g_shell_quote (text);
}
