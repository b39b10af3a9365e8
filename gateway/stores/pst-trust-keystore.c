/* pst-trust-keystore.c: the trust doctor's keystore rows — accept hosts covered, expiry, chain, key
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <gnutls/x509.h>

#include "pst-cert-util.h"
#include "pst-stores-private.h"
#include "pst-trust-doctor-private.h"

#define EXPIRY_WARNING_DAYS 30

static gnutls_x509_crt_t
import_der (GBytes *der)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_datum_t datum;
  gsize size;

  datum.data = (unsigned char *) g_bytes_get_data (der, &size);
  datum.size = size;
  if (gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  if (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) < 0)
    {
      gnutls_x509_crt_deinit (crt);
      return NULL;
    }
  return crt;
}

/* cert names issuer and carries its signature (expiry and CA flags are other rows' business) */
static gboolean
issued_by (GBytes *cert,
           GBytes *issuer)
{
  gnutls_x509_crt_t c = import_der (cert), i = import_der (issuer);
  unsigned status = 0;
  gboolean ok = FALSE;

  if (c != NULL && i != NULL && gnutls_x509_crt_check_issuer (c, i) != 0)
    ok = gnutls_x509_crt_verify (c, &i, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS |
                                 GNUTLS_VERIFY_DISABLE_CA_SIGN, &status) >= 0 &&
         (status & GNUTLS_CERT_SIGNATURE_FAILURE) == 0;
  if (c != NULL)
    gnutls_x509_crt_deinit (c);
  if (i != NULL)
    gnutls_x509_crt_deinit (i);
  return ok;
}

static char *
issuer_name (GBytes *der)
{
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(PstStoreEntry) entry = NULL;

  g_ptr_array_add (one, der);
  entry = pst_store_entry_new ("x", one, NULL, NULL);
  return entry != NULL ? pst_store_entry_dup_issuer (entry) : g_strdup ("?");
}

/* The anchor, with a store and alias the fix commands can name: the
 * local CA (install-ca takes it), the truststore, or the keystore entry
 * when it is a self-signed leaf.  None for a CA found only in a chain
 * (`postern cert export` writes leaves). */
static void
add_anchor (PstTrustPlan  *plan,
            GBytes        *der,
            gboolean       is_ca,
            PstStoreEntry *local_ca,
            PstStoreEntry *entry)
{
  PstTrustAnchor *anchor;
  PstStoreEntry *trusted = plan->trust != NULL ? pst_keystore_lookup_certificate (plan->trust, der) : NULL;

  for (guint i = 0; i < plan->anchors->len; i++)
    if (g_bytes_equal (((PstTrustAnchor *) plan->anchors->pdata[i])->der, der))
      return;
  anchor = g_new0 (PstTrustAnchor, 1);
  anchor->der = g_bytes_ref (der);
  anchor->name = pst_cert_dup_common_name (der);
  anchor->is_ca = is_ca;
  if (local_ca != NULL && g_bytes_equal (pst_store_entry_get_certificate (local_ca), der))
    {
      anchor->store = pst_trust_display_path (plan->devca);
      anchor->alias = g_strdup (pst_store_entry_get_alias (local_ca));
      anchor->local_ca = TRUE;
    }
  else if (trusted != NULL)
    {
      anchor->store = pst_trust_display_path (plan->truststore);
      anchor->alias = g_strdup (pst_store_entry_get_alias (trusted));
      anchor->password_keyring = plan->truststore_password_keyring;
    }
  else if (g_bytes_equal (pst_store_entry_get_certificate (entry), der))
    {
      anchor->store = pst_trust_display_path (plan->keystore);
      anchor->alias = g_strdup (pst_store_entry_get_alias (entry));
      anchor->password_keyring = plan->keystore_password_keyring;
    }
  if (anchor->name == NULL)
    anchor->name = g_strdup (pst_store_entry_get_alias (entry));
  g_ptr_array_add (plan->anchors, anchor);
}

/* `postern cert generate` for names, signed by the local CA when there is one */
static char *
generate_command (PstTrustPlan *plan,
                  const char   *keystore,
                  GStrv         names)
{
  g_autofree char *ks = pst_trust_display_path (keystore);
  g_autofree char *ca = pst_trust_display_path (plan->devca);
  GString *cmd = g_string_new ("postern cert generate --keystore ");
  g_autofree char *q = pst_trust_quote (ks);

  g_string_append (cmd, q);
  if (plan->keystore_password_keyring && g_strcmp0 (keystore, plan->keystore) == 0)
    g_string_append (cmd, " --password-keyring");
  if (ca != NULL)
    {
      g_autofree char *qca = pst_trust_quote (ca);
      g_string_append_printf (cmd, " --ca %s", qca);
    }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const char *name = names[i];
      g_autofree char *qn = NULL;

      if (g_str_has_prefix (name, "DNS:") || g_str_has_prefix (name, "IP:"))
        name = strchr (name, ':') + 1;
      qn = pst_trust_quote (name);
      g_string_append_printf (cmd, " %s", qn);
    }
  return g_string_free (cmd, FALSE);
}

static void
check_entry (PstTrustPlan  *plan,
             PstStoreEntry *entry,
             PstStoreEntry *local_ca,
             GPtrArray     *rows)
{
  const char *alias = pst_store_entry_get_alias (entry);
  g_autofree char *ks = pst_trust_display_path (plan->keystore);
  g_autofree char *subject = g_strdup_printf (_("“%s” in %s"), alias, ks);
  g_autoptr(GString) covers = g_string_new (NULL);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_auto(GStrv) sans = pst_store_entry_dup_sans (entry);
  g_autofree char *fix = generate_command (plan, plan->keystore, sans);
  g_autofree char *key = NULL;
  g_autofree char *detail = NULL;
  GPtrArray *chain = pst_store_entry_get_chain (entry);
  GBytes *top = g_ptr_array_index (chain, chain->len - 1);
  GTimeSpan left = g_date_time_difference (pst_store_entry_get_not_after (entry), now);
  gboolean used;
  guint missing_link = 0;

  for (guint i = 0; i < plan->accept_hosts->len; i++)
    if (pst_store_entry_matches_host (entry, plan->accept_hosts->pdata[i]))
      g_string_append_printf (covers, "%s%s", covers->len > 0 ? ", " : "", (char *) plan->accept_hosts->pdata[i]);
  used = covers->len > 0;

  key = g_strdup_printf ("entry:%s:covers", alias);
  pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("covers accept hosts"),
                 PST_TRUST_STATUS_INFO, FALSE,
                 used ? covers->str : _("none of the configuration’s secure accept hosts"), NULL);

  g_free (key);
  key = g_strdup_printf ("entry:%s:expiry", alias);
  detail = pst_cert_format_validity (pst_store_entry_get_not_after (entry));
  pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("not expired"),
                 left <= 0 ? PST_TRUST_STATUS_FAIL : PST_TRUST_STATUS_OK, used, detail, fix);

  /* Each certificate signed by the next; the last one self-signed, or
   * issued by the local CA that clients are told to trust. */
  for (guint i = 0; i + 1 < chain->len && missing_link == 0; i++)
    if (!issued_by (g_ptr_array_index (chain, i), g_ptr_array_index (chain, i + 1)))
      missing_link = i + 1;
  g_free (key);
  g_free (detail);
  key = g_strdup_printf ("entry:%s:chain", alias);
  if (missing_link != 0)
    {
      detail = g_strdup_printf (_("certificate %u of the chain did not sign certificate %u; "
                                  "import the entry again with its chain in order"), missing_link, missing_link - 1);
      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("chain complete"),
                     PST_TRUST_STATUS_FAIL, used, detail, fix);
    }
  else if (issued_by (top, top))
    {
      detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u certificate, ends at the self-signed “%s”",
                                             "%u certificates, end at the self-signed “%s”", chain->len),
                                chain->len, alias);
      if (chain->len > 1)
        {
          g_autofree char *cn = pst_cert_dup_common_name (top);
          g_free (detail);
          detail = g_strdup_printf (_("%u certificates, end at the CA “%s”"), chain->len, cn != NULL ? cn : "?");
        }
      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("chain complete"),
                     PST_TRUST_STATUS_OK, used, detail, NULL);
      add_anchor (plan, top, chain->len > 1, local_ca, entry);
    }
  else if (local_ca != NULL && issued_by (top, pst_store_entry_get_certificate (local_ca)))
    {
      g_autofree char *cn = pst_cert_dup_common_name (pst_store_entry_get_certificate (local_ca));
      g_autofree char *ca = pst_trust_display_path (plan->devca);

      detail = g_strdup_printf (_("issued by the local CA “%s” (%s), which clients must trust"), cn, ca);
      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("chain complete"),
                     PST_TRUST_STATUS_OK, used, detail, NULL);
      add_anchor (plan, pst_store_entry_get_certificate (local_ca), TRUE, local_ca, entry);
    }
  else
    {
      g_autofree char *issuer = issuer_name (top);

      detail = g_strdup_printf (_("the issuer “%s” is not in the chain; clients that do not have it "
                                  "cannot verify the gateway: import the entry again with its whole chain"),
                                issuer);
      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("chain complete"),
                     PST_TRUST_STATUS_FAIL, used, detail, NULL);
    }

  /* pst_store_entry_new() refuses a key that is not the certificate's */
  g_free (key);
  key = g_strdup_printf ("entry:%s:key", alias);
  pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("private key matches"),
                 PST_TRUST_STATUS_OK, used, _("the key’s public half is the certificate’s"), NULL);
}

void
pst_trust_check_keystore (PstTrustPlan *plan,
                          GPtrArray    *rows)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) store = NULL;
  g_autoptr(PstKeystore) devca = NULL;
  g_autofree char *ks = pst_trust_display_path (plan->keystore);
  g_autofree char *config = pst_trust_quote (plan->config);
  g_auto(GStrv) hosts = NULL;
  PstStoreEntry *local_ca = NULL;

  g_ptr_array_add (plan->accept_hosts, NULL);
  hosts = g_strdupv ((GStrv) plan->accept_hosts->pdata);
  g_ptr_array_remove_index (plan->accept_hosts, plan->accept_hosts->len - 1);

  if (plan->devca != NULL)
    {
      devca = pst_keystore_open (plan->devca, NULL, NULL);
      local_ca = devca != NULL ? pst_local_ca_find (devca) : NULL;
    }

  if (plan->truststore != NULL)
    {
      g_autoptr(GError) trust_error = NULL;

      plan->trust = pst_keystore_open_full (plan->truststore, plan->truststore_password_file,
                                            plan->truststore_password_keyring, &trust_error);
      if (plan->trust == NULL)
        plan->trust_error = g_strdup (trust_error->message);
    }

  if (plan->keystore == NULL)
    {
      if (plan->accept_hosts->len > 0)
        {
          g_autofree char *fix = generate_command (plan, "keystore.db", hosts);

          pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, "keystore", plan->config, _("has a keystore"),
                         PST_TRUST_STATUS_FAIL, TRUE,
                         _("secure accepts need a keystore: make one, then add "
                           "<keystore><file>keystore.db</file></keystore> to <security>"), fix);
        }
      return;
    }
  if (!g_file_test (plan->keystore, G_FILE_TEST_EXISTS))
    {
      g_autofree char *fix = generate_command (plan, plan->keystore, hosts);
      g_autofree char *detail = g_strdup_printf (_("%s does not exist yet (`postern run` makes it for the "
                                                   "default configuration)"), ks);

      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, "keystore", ks, _("readable"),
                     PST_TRUST_STATUS_FAIL, TRUE, detail, fix);
      return;
    }
  store = pst_keystore_open_full (plan->keystore, plan->keystore_password_file,
                                  plan->keystore_password_keyring, &error);
  if (store == NULL)
    {
      g_autofree char *fix = g_error_matches (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND)
                             ? generate_command (plan, plan->keystore, hosts)
                             : g_strdup_printf ("postern check --config %s", config);

      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, "keystore", ks, _("readable"),
                     PST_TRUST_STATUS_FAIL, TRUE, error->message, fix);
      return;
    }
  pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, "keystore", ks, _("readable"),
                 PST_TRUST_STATUS_OK, TRUE, pst_store_format_to_string (pst_keystore_get_format (store)), NULL);

  for (guint i = 0; i < pst_keystore_get_n_entries (store); i++)
    {
      PstStoreEntry *entry = pst_keystore_get_entry (store, i);

      if (pst_store_entry_get_kind (entry) == PST_ENTRY_KEY)
        check_entry (plan, entry, local_ca, rows);
    }

  for (guint i = 0; i < plan->accept_hosts->len; i++)
    {
      const char *host = plan->accept_hosts->pdata[i];
      PstStoreEntry *entry = pst_keystore_find_for_host (store, host);
      g_autofree char *key = g_strdup_printf ("host:%s", host);
      g_autofree char *subject = g_strdup_printf (_("accept host %s"), host);
      g_autofree char *detail = NULL;
      g_autofree char *fix = NULL;

      if (entry != NULL)
        detail = g_strdup_printf (_("served with “%s”"), pst_store_entry_get_alias (entry));
      else
        {
          const char *one[] = { host, NULL };

          detail = g_strdup_printf (_("no entry of %s has this name; clients will refuse the connection"), ks);
          fix = generate_command (plan, plan->keystore, (GStrv) one);
        }
      pst_trust_add (rows, PST_TRUST_SECTION_KEYSTORE, key, subject, _("has a certificate"),
                     entry != NULL ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, TRUE, detail, fix);
    }
}
