/* pst-certgen.c: key pairs and X.509v3 certificates (self-signed or by a local CA)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gnutls/crypto.h>
#include <string.h>

#include "pst-certgen.h"
#include "pst-keystore.h"
#include "pst-local-ca.h"
#include "pst-stores-private.h"

/* Where a development CA may issue by default: names that cannot be public */
static const char * const constrained_dns[] = { "localhost", ".localhost", ".test", ".internal" };
static const struct { const char *net; guint prefix; } constrained_ip[] = {
  { "127.0.0.0", 8 }, { "::1", 128 }, { "10.0.0.0", 8 }, { "172.16.0.0", 12 },
  { "192.168.0.0", 16 }, { "fc00::", 7 },
};

#define BACKDATE_SECONDS (60 * 60)

gboolean
pst_key_type_from_string (const char *text,
                          PstKeyType *out)
{
  static const struct { const char *name; PstKeyType type; } names[] = {
    { "ecdsa", PST_KEY_ECDSA_P256 }, { "ec", PST_KEY_ECDSA_P256 }, { "ecdsa-p256", PST_KEY_ECDSA_P256 },
    { "p256", PST_KEY_ECDSA_P256 }, { "rsa", PST_KEY_RSA_2048 }, { "rsa2048", PST_KEY_RSA_2048 },
    { "rsa3072", PST_KEY_RSA_3072 }, { "rsa4096", PST_KEY_RSA_4096 },
  };

  g_return_val_if_fail (out != NULL, FALSE);
  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (text, names[i].name) == 0)
      {
        *out = names[i].type;
        return TRUE;
      }
  return FALSE;
}

static void
set_gnutls_error (GError    **error,
                  const char *what,
                  int         code)
{
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
               _("Cannot %s: %s"), what, gnutls_strerror (code));
}

/* A literal IP address as SAN bytes, else NULL (a DNS name). */
static GInetAddress *
parse_ip (const char *name)
{
  gsize len = strlen (name);

  if (len > 2 && name[0] == '[' && name[len - 1] == ']')
    {
      g_autofree char *inner = g_strndup (name + 1, len - 2);
      return g_inet_address_new_from_string (inner);
    }
  return g_inet_address_new_from_string (name);
}

static gboolean
validate_dns_name (const char  *name,
                   GError     **error)
{
  gsize len = strlen (name);
  const char *p = name;

  if (len == 0 || len > 253)
    goto bad;
  if (g_str_has_prefix (p, "*."))
    p += 2;
  for (; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      goto bad;
  if (name[len - 1] == '.' || strstr (name, "..") != NULL || name[0] == '.')
    goto bad;
  return TRUE;

bad:
  g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
               _("“%s” is neither a host name nor an IP address; give names like “localhost”, “app.test” or “127.0.0.1”"),
               name);
  return FALSE;
}

static gboolean
import_entry_key (PstStoreEntry          *entry,
                  gnutls_x509_privkey_t  *key,
                  gnutls_x509_crt_t      *crt)
{
  GBytes *pkcs8 = pst_store_entry_get_private_key (entry);
  GBytes *der = pst_store_entry_get_certificate (entry);
  gnutls_datum_t datum;
  gsize size;

  if (pkcs8 == NULL)
    return FALSE;
  gnutls_x509_privkey_init (key);
  gnutls_x509_crt_init (crt);
  datum.data = (unsigned char *) g_bytes_get_data (pkcs8, &size);
  datum.size = size;
  if (gnutls_x509_privkey_import_pkcs8 (*key, &datum, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN) >= 0)
    {
      datum.data = (unsigned char *) g_bytes_get_data (der, &size);
      datum.size = size;
      if (gnutls_x509_crt_import (*crt, &datum, GNUTLS_X509_FMT_DER) >= 0)
        return TRUE;
    }
  gnutls_x509_privkey_deinit (*key);
  gnutls_x509_crt_deinit (*crt);
  *key = NULL;
  *crt = NULL;
  return FALSE;
}

static void
add_ip_constraint (gnutls_x509_name_constraints_t nc,
                   GInetAddress                  *addr,
                   guint                          prefix)
{
  guint8 buf[32] = { 0 };
  gsize n = g_inet_address_get_native_size (addr);
  gnutls_datum_t datum = { buf, n * 2 };

  memcpy (buf, g_inet_address_to_bytes (addr), n);
  for (guint bit = 0; bit < prefix && bit < n * 8; bit++)
    buf[n + bit / 8] |= 0x80 >> (bit % 8);
  for (gsize i = 0; i < n; i++)
    buf[i] &= buf[n + i];
  gnutls_x509_name_constraints_add_permitted (nc, GNUTLS_SAN_IPADDRESS, &datum);
}

static int
set_ca_constraints (gnutls_x509_crt_t    crt,
                    const char * const  *names)
{
  gnutls_x509_name_constraints_t nc = NULL;
  int ret;

  gnutls_x509_name_constraints_init (&nc);
  for (guint i = 0; i < G_N_ELEMENTS (constrained_dns); i++)
    {
      gnutls_datum_t d = { (unsigned char *) constrained_dns[i], strlen (constrained_dns[i]) };
      gnutls_x509_name_constraints_add_permitted (nc, GNUTLS_SAN_DNSNAME, &d);
    }
  for (guint i = 0; i < G_N_ELEMENTS (constrained_ip); i++)
    {
      g_autoptr(GInetAddress) addr = g_inet_address_new_from_string (constrained_ip[i].net);
      add_ip_constraint (nc, addr, constrained_ip[i].prefix);
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) addr = parse_ip (names[i]);
      if (addr != NULL)
        add_ip_constraint (nc, addr, g_inet_address_get_native_size (addr) * 8);
      else
        {
          const char *name = g_str_has_prefix (names[i], "*.") ? names[i] + 2 : names[i];
          g_autofree char *lower = g_ascii_strdown (name, -1);
          gnutls_datum_t d = { (unsigned char *) lower, strlen (lower) };
          gnutls_x509_name_constraints_add_permitted (nc, GNUTLS_SAN_DNSNAME, &d);
        }
    }
  ret = gnutls_x509_crt_set_name_constraints (crt, nc, 1);
  gnutls_x509_name_constraints_deinit (nc);
  return ret;
}

/* Refuses names the CA's name constraints exclude, before signing: a
 * client would reject the certificate anyway, with a vaguer message. */
static gboolean
check_ca_constraints (gnutls_x509_crt_t    ca_crt,
                      const char * const  *names,
                      const char          *ca_alias,
                      GError             **error)
{
  gnutls_x509_name_constraints_t nc = NULL;
  unsigned critical = 0;
  gboolean ok = TRUE;

  gnutls_x509_name_constraints_init (&nc);
  if (gnutls_x509_crt_get_name_constraints (ca_crt, nc, 0, &critical) < 0)
    {
      gnutls_x509_name_constraints_deinit (nc);
      return TRUE;   /* an unconstrained CA */
    }
  for (guint i = 0; ok && names[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) addr = parse_ip (names[i]);
      unsigned permitted;

      if (addr != NULL)
        {
          gnutls_datum_t d = { (unsigned char *) g_inet_address_to_bytes (addr),
                               g_inet_address_get_native_size (addr) };
          permitted = gnutls_x509_name_constraints_check (nc, GNUTLS_SAN_IPADDRESS, &d);
        }
      else
        {
          g_autofree char *lower = g_ascii_strdown (names[i], -1);
          gnutls_datum_t d = { (unsigned char *) lower, strlen (lower) };
          permitted = gnutls_x509_name_constraints_check (nc, GNUTLS_SAN_DNSNAME, &d);
        }
      if (!permitted)
        {
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                       _("The CA “%s” may not certify “%s”: its name constraints permit only local names "
                         "(localhost, *.localhost, *.test, *.internal, private addresses and the names it was made for); "
                         "use such a name, or create a CA for it with --unconstrained"),
                       ca_alias, names[i]);
          ok = FALSE;
        }
    }
  gnutls_x509_name_constraints_deinit (nc);
  return ok;
}

static char *
dup_ca_common_name (const PstCertRequest *request)
{
  if (request->ca_name != NULL)
    return g_strdup (request->ca_name);
  return g_strdup_printf ("Postern development CA on %s", g_get_host_name ());
}

/**
 * pst_cert_generate:
 * @request: what to make
 * @ca: (nullable): a KEY entry holding a CA to sign with; %NULL =
 *   self-signed
 * @error: return location for a #PST_STORE_ERROR
 *
 * Returns: (transfer full) (nullable): a KEY entry whose alias is the
 *   first name (a CA: %PST_LOCAL_CA_ALIAS, or a token made of its
 *   @ca_name)
 */
PstStoreEntry *
pst_cert_generate (const PstCertRequest  *request,
                   PstStoreEntry         *ca,
                   GError               **error)
{
  gnutls_x509_privkey_t key = NULL, ca_key = NULL;
  gnutls_x509_crt_t crt = NULL, ca_crt = NULL;
  gnutls_datum_t der = { NULL, 0 }, pkcs8 = { NULL, 0 };
  g_autofree char *cn = NULL;
  g_autoptr(GPtrArray) chain = NULL;
  g_autoptr(GBytes) key_bytes = NULL;
  PstStoreEntry *entry = NULL;
  guint8 serial[16];
  guint8 key_id[64];
  size_t key_id_size = sizeof key_id;
  time_t now = time (NULL), not_after;
  guint days;
  unsigned usage;
  int ret;

  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (ca == NULL || PST_IS_STORE_ENTRY (ca), NULL);

  if (!request->is_ca && (request->names == NULL || request->names[0] == NULL))
    {
      g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                   _("A certificate needs at least one host name or IP address"));
      return NULL;
    }
  for (guint i = 0; request->names != NULL && request->names[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) addr = parse_ip (request->names[i]);
      if (addr == NULL && !validate_dns_name (request->names[i], error))
        return NULL;
    }

  if (ca != NULL)
    {
      unsigned critical = 0;

      if (!import_entry_key (ca, &ca_key, &ca_crt) || gnutls_x509_crt_get_ca_status (ca_crt, &critical) <= 0)
        {
          if (ca_crt != NULL)
            gnutls_x509_crt_deinit (ca_crt);
          if (ca_key != NULL)
            gnutls_x509_privkey_deinit (ca_key);
          g_set_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE,
                       _("The entry “%s” is not a certificate authority with its private key; give a CA store made with “postern cert generate --ca”"),
                       pst_store_entry_get_alias (ca));
          return NULL;
        }
      if (!request->is_ca &&
          !check_ca_constraints (ca_crt, request->names, pst_store_entry_get_alias (ca), error))
        goto out;
    }

  gnutls_x509_privkey_init (&key);
  switch (request->key_type)
    {
    case PST_KEY_RSA_2048:
      ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, 2048, 0);
      break;
    case PST_KEY_RSA_3072:
      ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, 3072, 0);
      break;
    case PST_KEY_RSA_4096:
      ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_RSA, 4096, 0);
      break;
    case PST_KEY_ECDSA_P256:
    default:
      ret = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                          GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
      break;
    }
  if (ret < 0)
    {
      set_gnutls_error (error, _("generate the key pair"), ret);
      goto out;
    }

  gnutls_x509_crt_init (&crt);
  ret = gnutls_x509_crt_set_version (crt, 3);

  /* 16 random bytes, positive and without a leading zero byte */
  if (ret >= 0)
    ret = gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
  serial[0] = (serial[0] & 0x7f) | 0x40;
  if (ret >= 0)
    ret = gnutls_x509_crt_set_serial (crt, serial, sizeof serial);

  days = request->days != 0 ? request->days : (request->is_ca ? 3650 : 825);
  not_after = now + (time_t) days * 24 * 60 * 60;
  if (ca_crt != NULL)
    {
      time_t ca_end = gnutls_x509_crt_get_expiration_time (ca_crt);
      if (ca_end != (time_t) -1 && ca_end < not_after)
        not_after = ca_end;   /* a leaf outliving its CA would fail anyway */
    }
  if (ret >= 0)
    ret = gnutls_x509_crt_set_activation_time (crt, now - BACKDATE_SECONDS);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_expiration_time (crt, not_after);

  cn = request->is_ca ? dup_ca_common_name (request) : g_strdup (request->names[0]);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn));
  if (ret >= 0 && request->is_ca)
    ret = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                         "Postern development CA", strlen ("Postern development CA"));
  if (ret >= 0)
    ret = gnutls_x509_crt_set_key (crt, key);

  /* SANs: a leaf always has them (browsers ignore the CN) */
  for (guint i = 0; ret >= 0 && !request->is_ca && request->names[i] != NULL; i++)
    {
      g_autoptr(GInetAddress) addr = parse_ip (request->names[i]);

      if (addr != NULL)
        ret = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS,
                                                    g_inet_address_to_bytes (addr),
                                                    g_inet_address_get_native_size (addr),
                                                    GNUTLS_FSAN_APPEND);
      else
        {
          g_autofree char *lower = g_ascii_strdown (request->names[i], -1);
          ret = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, lower, strlen (lower),
                                                      GNUTLS_FSAN_APPEND);
        }
    }

  if (request->is_ca)
    {
      if (ret >= 0)
        ret = gnutls_x509_crt_set_basic_constraints (crt, 1, 0);
      usage = GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN | GNUTLS_KEY_DIGITAL_SIGNATURE;
      if (ret >= 0 && !request->unconstrained)
        ret = set_ca_constraints (crt, request->names);
    }
  else if (ca_crt == NULL)
    {
      /* Self-signed: browsers import a certificate into their authorities
       * only when it says CA:TRUE (Firefox refuses, Chromium then reports
       * ERR_CERT_INVALID), and the documentation's self-signed set-up is
       * "import the gateway's certificate into the browser".  It can sign
       * nothing but leaves (pathlen 0) for its own and local names (name
       * constraints), like the local development CA. */
      if (ret >= 0)
        ret = gnutls_x509_crt_set_basic_constraints (crt, 1, 0);
      usage = GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN;
      if (request->key_type != PST_KEY_ECDSA_P256)
        usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
      if (ret >= 0 && !request->unconstrained)
        ret = set_ca_constraints (crt, request->names);
      if (ret >= 0)
        ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
      if (ret >= 0 && request->client)
        ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
    }
  else
    {
      if (ret >= 0)
        ret = gnutls_x509_crt_set_basic_constraints (crt, 0, -1);
      usage = GNUTLS_KEY_DIGITAL_SIGNATURE;
      if (request->key_type != PST_KEY_ECDSA_P256)
        usage |= GNUTLS_KEY_KEY_ENCIPHERMENT;
      if (ret >= 0)
        ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
      if (ret >= 0 && request->client)
        ret = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0);
    }
  if (ret >= 0)
    ret = gnutls_x509_crt_set_key_usage (crt, usage);

  if (ret >= 0)
    ret = gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA1, key_id, &key_id_size);
  if (ret >= 0)
    ret = gnutls_x509_crt_set_subject_key_id (crt, key_id, key_id_size);
  if (ret >= 0)
    {
      if (ca_crt != NULL)
        {
          guint8 ca_id[64];
          size_t ca_id_size = sizeof ca_id;
          unsigned critical = 0;

          if (gnutls_x509_crt_get_subject_key_id (ca_crt, ca_id, &ca_id_size, &critical) < 0)
            {
              ca_id_size = sizeof ca_id;
              ret = gnutls_x509_crt_get_key_id (ca_crt, GNUTLS_KEYID_USE_SHA1, ca_id, &ca_id_size);
            }
          if (ret >= 0)
            ret = gnutls_x509_crt_set_authority_key_id (crt, ca_id, ca_id_size);
        }
      else
        ret = gnutls_x509_crt_set_authority_key_id (crt, key_id, key_id_size);
    }
  if (ret < 0)
    {
      set_gnutls_error (error, _("build the certificate"), ret);
      goto out;
    }

  if (ca_crt != NULL)
    ret = gnutls_x509_crt_sign2 (crt, ca_crt, ca_key, GNUTLS_DIG_SHA256, 0);
  else
    ret = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
  if (ret >= 0)
    ret = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_DER, &der);
  if (ret >= 0)
    ret = gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_DER, NULL, GNUTLS_PKCS_PLAIN, &pkcs8);
  if (ret < 0)
    {
      set_gnutls_error (error, _("sign the certificate"), ret);
      goto out;
    }

  chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (chain, pst_gnutls_datum_to_bytes (&der));
  if (ca != NULL)
    {
      GPtrArray *ca_chain = pst_store_entry_get_chain (ca);
      for (guint i = 0; i < ca_chain->len; i++)
        g_ptr_array_add (chain, g_bytes_ref (g_ptr_array_index (ca_chain, i)));
    }
  key_bytes = pst_gnutls_datum_to_bytes (&pkcs8);
  {
    /* a CA's alias is a plain token, its subject the descriptive name */
    g_autofree char *alias = !request->is_ca ? g_ascii_strdown (cn, -1)
                             : request->ca_name != NULL ? pst_alias_to_token (request->ca_name)
                             : g_strdup (PST_LOCAL_CA_ALIAS);
    entry = pst_store_entry_new (alias, chain, key_bytes, error);
  }

out:
  if (crt != NULL)
    gnutls_x509_crt_deinit (crt);
  if (key != NULL)
    gnutls_x509_privkey_deinit (key);
  if (ca_crt != NULL)
    gnutls_x509_crt_deinit (ca_crt);
  if (ca_key != NULL)
    gnutls_x509_privkey_deinit (ca_key);
  return entry;
}

typedef struct {
  PstCertRequest  request;
  GStrv           names;
  char           *ca_name;
  PstStoreEntry  *ca;
} GenerateData;

static void
generate_data_free (GenerateData *data)
{
  g_strfreev (data->names);
  g_free (data->ca_name);
  g_clear_object (&data->ca);
  g_free (data);
}

static void
generate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GenerateData *data = task_data;
  GError *error = NULL;
  PstStoreEntry *entry;

  entry = pst_cert_generate (&data->request, data->ca, &error);
  if (entry == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, entry, g_object_unref);
}

/**
 * pst_cert_generate_async:
 * @request: what to make (copied)
 * @ca: (nullable): the signing CA entry
 *
 * Generates in a worker thread: RSA 4096 can take seconds.
 */
void
pst_cert_generate_async (const PstCertRequest *request,
                         PstStoreEntry        *ca,
                         GCancellable         *cancellable,
                         GAsyncReadyCallback   callback,
                         gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;
  GenerateData *data;

  g_return_if_fail (request != NULL);
  g_return_if_fail (ca == NULL || PST_IS_STORE_ENTRY (ca));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_cert_generate_async);
  g_task_set_name (task, "[postern] pst_cert_generate_async");

  data = g_new0 (GenerateData, 1);
  data->request = *request;
  data->names = g_strdupv ((char **) request->names);
  data->ca_name = g_strdup (request->ca_name);
  data->request.names = (const char * const *) data->names;
  data->request.ca_name = data->ca_name;
  data->ca = ca != NULL ? g_object_ref (ca) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) generate_data_free);
  g_task_set_return_on_cancel (task, TRUE);
  g_task_run_in_thread (task, generate_thread);
}

/**
 * pst_cert_generate_finish:
 *
 * Returns: (transfer full) (nullable): the new KEY entry
 */
PstStoreEntry *
pst_cert_generate_finish (GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
