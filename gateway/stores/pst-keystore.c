/* pst-keystore.c: a key store or trust store file (PKCS#12, PEM, JKS, JCEKS)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <string.h>
#include <unistd.h>

#include "pst-certgen.h"
#include "pst-jks.h"
#include "pst-keystore.h"
#include "pst-trust-database.h"
#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-stores-private.h"

struct _PstKeystore
{
  GObject         parent_instance;

  char           *path;
  PstStoreFormat  format;
  GPtrArray      *entries;   /* PstStoreEntry */
};

G_DEFINE_FINAL_TYPE (PstKeystore, pst_keystore, G_TYPE_OBJECT)
G_DEFINE_QUARK (pst-store-error-quark, pst_store_error)

static void
pst_keystore_finalize (GObject *object)
{
  PstKeystore *self = PST_KEYSTORE (object);

  g_free (self->path);
  g_clear_pointer (&self->entries, g_ptr_array_unref);

  G_OBJECT_CLASS (pst_keystore_parent_class)->finalize (object);
}

static void
pst_keystore_class_init (PstKeystoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_keystore_finalize;
}

static void
pst_keystore_init (PstKeystore *self)
{
  self->entries = g_ptr_array_new_with_free_func (g_object_unref);
  self->format = PST_STORE_FORMAT_PKCS12;
}

const char *
pst_store_format_to_string (PstStoreFormat format)
{
  switch (format)
    {
    case PST_STORE_FORMAT_PKCS12: return "PKCS12";
    case PST_STORE_FORMAT_PEM: return "PEM";
    case PST_STORE_FORMAT_JKS: return "JKS";
    case PST_STORE_FORMAT_JCEKS: return "JCEKS";
    case PST_STORE_FORMAT_UNKNOWN:
    default: return "unknown";
    }
}

PstStoreFormat
pst_store_format_from_string (const char *text)
{
  if (text == NULL)
    return PST_STORE_FORMAT_UNKNOWN;
  if (g_ascii_strcasecmp (text, "PKCS12") == 0 || g_ascii_strcasecmp (text, "PKCS#12") == 0 ||
      g_ascii_strcasecmp (text, "P12") == 0 || g_ascii_strcasecmp (text, "PFX") == 0)
    return PST_STORE_FORMAT_PKCS12;
  if (g_ascii_strcasecmp (text, "PEM") == 0)
    return PST_STORE_FORMAT_PEM;
  if (g_ascii_strcasecmp (text, "JKS") == 0)
    return PST_STORE_FORMAT_JKS;
  if (g_ascii_strcasecmp (text, "JCEKS") == 0)
    return PST_STORE_FORMAT_JCEKS;
  return PST_STORE_FORMAT_UNKNOWN;
}

/* A DER SEQUENCE whose first element is INTEGER 3: a PFX (also BER with
 * indefinite length, as some old tools write). */
static gboolean
looks_like_pfx (const guint8 *d,
                gsize         len)
{
  gsize i = 2;

  if (len < 5 || d[0] != 0x30)
    return FALSE;
  if (d[1] > 0x80)
    i += d[1] & 0x7f;
  if (d[1] > 0x84)
    return FALSE;
  return len >= i + 3 && d[i] == 0x02 && d[i + 1] == 0x01 && d[i + 2] == 0x03;
}

PstStoreFormat
pst_store_format_detect (GBytes *data)
{
  gsize len;
  const guint8 *d;

  g_return_val_if_fail (data != NULL, PST_STORE_FORMAT_UNKNOWN);

  d = g_bytes_get_data (data, &len);
  if (len >= 4 && d[0] == 0xfe && d[1] == 0xed && d[2] == 0xfe && d[3] == 0xed)
    return PST_STORE_FORMAT_JKS;
  if (len >= 4 && d[0] == 0xce && d[1] == 0xce && d[2] == 0xce && d[3] == 0xce)
    return PST_STORE_FORMAT_JCEKS;
  if (looks_like_pfx (d, len))
    return PST_STORE_FORMAT_PKCS12;
  if (len > 0 && g_strstr_len ((const char *) d, MIN (len, 1 << 20), "-----BEGIN ") != NULL)
    return PST_STORE_FORMAT_PEM;
  return PST_STORE_FORMAT_UNKNOWN;
}

void
pst_store_set_wrong_password (GError    **error,
                              const char *display_name,
                              const char *password,
                              const char *password_file)
{
  if (password_file != NULL)
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                 _("wrong password for %s (read from %s)"), display_name, password_file);
  else if (password == NULL || strcmp (password, PST_DEFAULT_STORE_PASSWORD) == 0)
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                 _("wrong password for %s (keytool’s default password “changeit”)"), display_name);
  else
    g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD,
                 _("wrong password for %s (the password given)"), display_name);
}

PstKeystore *
pst_keystore_new (void)
{
  return g_object_new (PST_TYPE_KEYSTORE, NULL);
}

/* A lone DER certificate (what `keytool -exportcert` writes) is a store
 * with one trusted entry. */
static gboolean
parse_der_certificate (GBytes    *data,
                       GPtrArray *entries)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t datum;
  gsize size;
  gboolean ok;

  datum.data = (unsigned char *) g_bytes_get_data (data, &size);
  datum.size = size;
  if (size < 2 || datum.data[0] != 0x30)
    return FALSE;
  gnutls_x509_crt_init (&crt);
  ok = gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) >= 0;
  gnutls_x509_crt_deinit (crt);
  if (ok)
    {
      g_autoptr(GPtrArray) chain = g_ptr_array_new ();
      g_autofree char *alias = pst_cert_default_alias (data);
      PstStoreEntry *entry;

      g_ptr_array_add (chain, data);
      entry = pst_store_entry_new (alias, chain, NULL, NULL);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (entries, entry);
    }
  return ok;
}

/* Aliases are unique within a store: a second "x" becomes "x-2". */
static void
make_aliases_unique (GPtrArray *entries)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *base = g_strdup (pst_store_entry_get_alias (entry));
      char *key = g_ascii_strdown (base, -1);

      for (guint n = 2; g_hash_table_contains (seen, key) && n < G_MAXUINT; n++)
        {
          g_autofree char *alias = g_strdup_printf ("%s-%u", base, n);

          g_free (key);
          key = g_ascii_strdown (alias, -1);
          if (!g_hash_table_contains (seen, key))
            pst_store_entry_set_alias (entry, alias);
        }
      g_hash_table_add (seen, key);
    }
}

/**
 * pst_keystore_load_bytes:
 * @data: the store's content
 * @display_name: the file name to use in messages
 * @password: (nullable): the store password; %NULL = "changeit"
 * @password_file: (nullable): where the password came from, for messages
 * @error: return location for a #PST_STORE_ERROR
 *
 * Detects the format from the content, whatever the file is called.
 *
 * Returns: (transfer full) (nullable): the store
 */
PstKeystore *
pst_keystore_load_bytes (GBytes      *data,
                         const char  *display_name,
                         const char  *password,
                         const char  *password_file,
                         GError     **error)
{
  g_autoptr(PstKeystore) self = NULL;
  PstStoreFormat format;
  gboolean ok = FALSE;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (display_name != NULL, NULL);

  if (password == NULL)
    password = PST_DEFAULT_STORE_PASSWORD;

  self = pst_keystore_new ();
  format = pst_store_format_detect (data);
  switch (format)
    {
    case PST_STORE_FORMAT_PKCS12:
      ok = pst_pkcs12_parse (data, password, display_name, password_file, self->entries, error);
      break;
    case PST_STORE_FORMAT_PEM:
      ok = pst_pem_parse (data, password, display_name, password_file, self->entries, error);
      break;
    case PST_STORE_FORMAT_JKS:
    case PST_STORE_FORMAT_JCEKS:
      ok = pst_jks_parse (data, password, display_name, password_file, self->entries, error);
      break;
    case PST_STORE_FORMAT_UNKNOWN:
    default:
      if (parse_der_certificate (data, self->entries))
        {
          format = PST_STORE_FORMAT_PEM;
          ok = TRUE;
        }
      else if (g_bytes_get_size (data) == 0)
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT,
                     _("%s is empty; restore it from a backup or create it again"),
                     display_name);
      else
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT,
                     _("%s is not a key store or trust store: its content is neither PKCS#12, PEM, JKS nor JCEKS; check that the path names the right file"),
                     display_name);
      break;
    }
  if (!ok)
    return NULL;

  make_aliases_unique (self->entries);
  self->format = format;
  return g_steal_pointer (&self);
}

/**
 * pst_keystore_load:
 * @path: the store file
 * @password: (nullable): the store password; %NULL = "changeit"
 * @password_file: (nullable): where the password came from, for messages
 * @error: return location for a #PST_STORE_ERROR
 *
 * Returns: (transfer full) (nullable): the store
 */
PstKeystore *
pst_keystore_load (const char  *path,
                   const char  *password,
                   const char  *password_file,
                   GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) data = NULL;
  PstKeystore *self;
  char *contents = NULL;
  gsize length = 0;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND,
                     _("The store %s does not exist; check the path, or create it with “postern cert generate --keystore %s NAME”"),
                     path, path);
      else
        g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_IO,
                     _("Cannot read the store %s (%s); check its permissions"),
                     path, local_error->message);
      return NULL;
    }
  data = g_bytes_new_take (contents, length);
  self = pst_keystore_load_bytes (data, path, password, password_file, error);
  if (self != NULL)
    self->path = g_strdup (path);
  return self;
}

/**
 * pst_keystore_open_full:
 * @path: the store file
 * @password_file: (nullable): the password file; %NULL = the default one
 *   beside the store if it exists, else keytool's "changeit"
 * @keyring: the password is in the desktop keyring (@password_file is
 *   then ignored); blocks on D-Bus
 * @error: return location for a #PST_STORE_ERROR, #PstKeyringError or
 *   #GFileError
 *
 * Returns: (transfer full) (nullable): the store
 */
PstKeystore *
pst_keystore_open_full (const char  *path,
                        const char  *password_file,
                        gboolean     keyring,
                        GError     **error)
{
  char *password;
  PstKeystore *self;

  g_return_val_if_fail (path != NULL, NULL);

  if (!keyring)
    return pst_keystore_open (path, password_file, error);
  if ((password = pst_password_keyring_lookup (path, error)) == NULL)
    return NULL;
  self = pst_keystore_load (path, password, _("the keyring"), error);
  pst_password_free (password);
  return self;
}

/**
 * pst_keystore_open:
 * @path: the store file
 * @password_file: (nullable): the password file; %NULL = the default one
 *   beside the store if it exists, else keytool's "changeit"
 * @error: return location for a #PST_STORE_ERROR or #GFileError
 *
 * Returns: (transfer full) (nullable): the store
 */
PstKeystore *
pst_keystore_open (const char  *path,
                   const char  *password_file,
                   GError     **error)
{
  g_autofree char *default_file = NULL;
  char *password = NULL;
  PstKeystore *self;

  g_return_val_if_fail (path != NULL, NULL);

  if (password_file == NULL)
    {
      default_file = pst_password_default_path (path);
      if (g_file_test (default_file, G_FILE_TEST_EXISTS) && strcmp (default_file, path) != 0)
        password_file = default_file;
    }
  if (password_file != NULL)
    {
      password = pst_password_file_read (password_file, error);
      if (password == NULL)
        return NULL;
    }
  self = pst_keystore_load (path, password, password_file, error);
  pst_password_free (password);
  return self;
}

const char *
pst_keystore_get_path (PstKeystore *self)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);
  return self->path;
}

PstStoreFormat
pst_keystore_get_format (PstKeystore *self)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), PST_STORE_FORMAT_UNKNOWN);
  return self->format;
}

gboolean
pst_keystore_is_read_only (PstKeystore *self)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), TRUE);
  return self->format == PST_STORE_FORMAT_JKS || self->format == PST_STORE_FORMAT_JCEKS;
}

guint
pst_keystore_get_n_entries (PstKeystore *self)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), 0);
  return self->entries->len;
}

/**
 * pst_keystore_get_entry:
 *
 * Returns: (transfer none): the entry at i
 */
PstStoreEntry *
pst_keystore_get_entry (PstKeystore *self,
                        guint        i)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);
  g_return_val_if_fail (i < self->entries->len, NULL);
  return g_ptr_array_index (self->entries, i);
}

/**
 * pst_keystore_lookup:
 *
 * Aliases compare case-insensitively, as keytool's do.
 *
 * Returns: (transfer none) (nullable): the entry called alias
 */
PstStoreEntry *
pst_keystore_lookup (PstKeystore *self,
                     const char  *alias)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);
  g_return_val_if_fail (alias != NULL, NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (self->entries, i);
      if (g_ascii_strcasecmp (pst_store_entry_get_alias (entry), alias) == 0)
        return entry;
    }
  return NULL;
}

/**
 * pst_keystore_lookup_certificate:
 * @der: a DER certificate
 *
 * Returns: (transfer none) (nullable): the first entry whose certificate
 *   (leaf) is @der
 */
PstStoreEntry *
pst_keystore_lookup_certificate (PstKeystore *self,
                                 GBytes      *der)
{
  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);
  g_return_val_if_fail (der != NULL, NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (self->entries, i);
      if (g_bytes_equal (pst_store_entry_get_certificate (entry), der))
        return entry;
    }
  return NULL;
}

/**
 * pst_keystore_find_for_host:
 *
 * Returns: (transfer none) (nullable): the KEY entry whose certificate
 *   names host; an exact name wins over a wildcard
 */
PstStoreEntry *
pst_keystore_find_for_host (PstKeystore *self,
                            const char  *host)
{
  PstStoreEntry *wildcard = NULL;

  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (self->entries, i);

      if (pst_store_entry_get_kind (entry) != PST_ENTRY_KEY)
        continue;
      switch (pst_store_entry_match_host (entry, host))
        {
        case PST_HOST_MATCH_EXACT:
          return entry;
        case PST_HOST_MATCH_WILDCARD:
          if (wildcard == NULL)
            wildcard = entry;
          break;
        case PST_HOST_MATCH_NONE:
        default:
          break;
        }
    }
  return wildcard;
}

/**
 * pst_keystore_dup_host_names:
 *
 * Returns: (transfer full): "a.example, *.b.example, 127.0.0.1": the
 *   names the KEY entries cover, for messages
 */
char *
pst_keystore_dup_host_names (PstKeystore *self)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (self->entries, i);
      g_auto(GStrv) sans = NULL;
      guint n = 0;

      if (pst_store_entry_get_kind (entry) != PST_ENTRY_KEY)
        continue;
      sans = pst_store_entry_dup_sans (entry);
      for (guint s = 0; sans[s] != NULL; s++)
        {
          const char *colon = strchr (sans[s], ':');
          if (!g_str_has_prefix (sans[s], "DNS:") && !g_str_has_prefix (sans[s], "IP:"))
            continue;
          g_string_append_printf (out, "%s%s", out->len > 0 ? ", " : "", colon + 1);
          n++;
        }
      if (n == 0)
        {
          /* no SAN: the CN is the name */
          g_autofree char *cn = pst_cert_default_alias (pst_store_entry_get_certificate (entry));
          g_string_append_printf (out, "%s%s", out->len > 0 ? ", " : "", cn);
        }
    }
  return g_string_free (out, FALSE);
}

/**
 * pst_keystore_add:
 * @entry: (transfer none): the entry; one with the same alias is replaced
 */
void
pst_keystore_add (PstKeystore   *self,
                  PstStoreEntry *entry)
{
  g_return_if_fail (PST_IS_KEYSTORE (self));
  g_return_if_fail (PST_IS_STORE_ENTRY (entry));

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *old = g_ptr_array_index (self->entries, i);
      if (old == entry)
        return;
      if (g_ascii_strcasecmp (pst_store_entry_get_alias (old), pst_store_entry_get_alias (entry)) == 0)
        {
          g_ptr_array_index (self->entries, i) = g_object_ref (entry);
          g_object_unref (old);
          return;
        }
    }
  g_ptr_array_add (self->entries, g_object_ref (entry));
}

gboolean
pst_keystore_remove (PstKeystore *self,
                     const char  *alias)
{
  PstStoreEntry *entry;

  g_return_val_if_fail (PST_IS_KEYSTORE (self), FALSE);
  g_return_val_if_fail (alias != NULL, FALSE);

  entry = pst_keystore_lookup (self, alias);
  if (entry == NULL)
    return FALSE;
  return g_ptr_array_remove (self->entries, entry);
}

/**
 * pst_keystore_save:
 * @path: (nullable): where to write; %NULL = the path it was loaded from
 * @format: PKCS12 or PEM (UNKNOWN = PKCS12)
 * @password: (nullable): PKCS#12: the store password (%NULL = "changeit");
 *   PEM: encrypts private keys when non-%NULL
 *
 * Writes atomically (a temporary file renamed over the old one) with
 * mode 0600.
 */
gboolean
pst_keystore_save (PstKeystore     *self,
                   const char      *path,
                   PstStoreFormat   format,
                   const char      *password,
                   GError         **error)
{
  g_autoptr(GBytes) data = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize size;
  const char *bytes;
  gboolean ok;

  g_return_val_if_fail (PST_IS_KEYSTORE (self), FALSE);

  if (path == NULL)
    path = self->path;
  g_return_val_if_fail (path != NULL, FALSE);

  switch (format)
    {
    case PST_STORE_FORMAT_UNKNOWN:
    case PST_STORE_FORMAT_PKCS12:
      data = pst_pkcs12_write (self->entries, password != NULL ? password : PST_DEFAULT_STORE_PASSWORD, error);
      break;
    case PST_STORE_FORMAT_PEM:
      data = pst_pem_write_full (self->entries, password, error);
      if (data == NULL)
        g_prefix_error (error, "%s: ", path);
      break;
    case PST_STORE_FORMAT_JKS:
    case PST_STORE_FORMAT_JCEKS:
    default:
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_READ_ONLY,
                   _("Cannot write %s as %s: Postern reads JKS and JCEKS but writes only PKCS#12 and PEM; save it as PKCS#12"),
                   path, pst_store_format_to_string (format));
      return FALSE;
    }
  if (data == NULL)
    return FALSE;

  bytes = g_bytes_get_data (data, &size);
  ok = g_file_set_contents_full (path, bytes, size, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error);
  if (format == PST_STORE_FORMAT_PEM && password == NULL)
    gnutls_memset ((void *) bytes, 0, size);
  if (!ok)
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_IO,
                   _("Cannot write the store %s (%s); check that its folder exists and is writable"),
                   path, local_error->message);
      return FALSE;
    }
  if (g_strcmp0 (self->path, path) != 0)
    {
      g_free (self->path);
      self->path = g_strdup (path);
    }
  self->format = format == PST_STORE_FORMAT_UNKNOWN ? PST_STORE_FORMAT_PKCS12 : format;
  return TRUE;
}

/**
 * pst_keystore_create_tls_database:
 *
 * Every entry's certificate (TRUSTED certificates, KEY leaves and their
 * chains' roots) becomes an anchor, parsed once into a PstTrustDatabase
 * that every connection shares (no file is read per connection).  An empty
 * store verifies nothing.
 *
 * Returns: (transfer full) (nullable): a database that verifies chains
 *   and host names against these anchors
 */
GTlsDatabase *
pst_keystore_create_tls_database (PstKeystore  *self,
                                  GError      **error)
{
  g_autoptr(GPtrArray) anchors = g_ptr_array_new ();

  g_return_val_if_fail (PST_IS_KEYSTORE (self), NULL);

  for (guint i = 0; i < self->entries->len; i++)
    {
      PstStoreEntry *entry = g_ptr_array_index (self->entries, i);
      GPtrArray *chain = pst_store_entry_get_chain (entry);

      g_ptr_array_add (anchors, g_ptr_array_index (chain, 0));
      if (chain->len > 1)
        g_ptr_array_add (anchors, g_ptr_array_index (chain, chain->len - 1));
    }
  return pst_trust_database_new (anchors, self->path, error);
}
