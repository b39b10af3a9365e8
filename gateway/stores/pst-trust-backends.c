/* pst-trust-backends.c: the trust doctor's back-end rows — a bounded TLS probe of each ssl:// / wss:// connect
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-cert-fetch.h"
#include "pst-cert-util.h"
#include "pst-trust-doctor-private.h"

/* At most this many probes in flight: a config with hundreds of back-ends
 * must not run out of descriptors; the total stays bounded by
 * ceil (n / MAX_IN_FLIGHT) timeouts. */
#define MAX_IN_FLIGHT 32

typedef struct _Probes Probes;

typedef struct {
  PstTrustBackend *backend;
  GCancellable    *cancellable;
  GPtrArray       *chain;
  GError          *error;
  Probes          *all;
} Probe;

struct _Probes {
  Probe        *probe;
  guint         n;
  guint         next;          /* first probe not started */
  guint         in_flight;
  guint         timeout_seconds;
  GCancellable *cancellable;   /* the caller's */
};

static void start_next (Probes *all);

static void
probe_clear (Probe *probe)
{
  g_clear_object (&probe->cancellable);
  g_clear_pointer (&probe->chain, g_ptr_array_unref);
  g_clear_error (&probe->error);
}

static void
probe_done_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Probe *probe = user_data;

  probe->chain = pst_cert_fetch_chain_finish (result, &probe->error);
  if (probe->chain == NULL && probe->error == NULL)
    g_set_error_literal (&probe->error, G_IO_ERROR, G_IO_ERROR_FAILED, _("no certificate"));
  probe->all->in_flight--;
  start_next (probe->all);
}

static void
start_next (Probes *all)
{
  while (all->next < all->n && all->in_flight < MAX_IN_FLIGHT)
    {
      Probe *probe = &all->probe[all->next++];

      probe->all = all;
      probe->cancellable = g_cancellable_new ();
      if (all->cancellable != NULL)
        g_signal_connect_object (all->cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                                 probe->cancellable, G_CONNECT_SWAPPED);
      if (g_cancellable_is_cancelled (all->cancellable))
        g_cancellable_cancel (probe->cancellable);
      all->in_flight++;
      pst_cert_fetch_chain_with_timeout_async (probe->backend->authority, all->timeout_seconds,
                                               probe->cancellable, probe_done_cb, probe);
    }
}

static char *
fetch_command (PstTrustPlan    *plan,
               PstTrustBackend *backend)
{
  g_autofree char *store = NULL;
  g_autofree char *qstore = NULL;
  g_autofree char *qauth = pst_trust_quote (backend->authority);

  if (plan->truststore != NULL)
    store = pst_trust_display_path (plan->truststore);
  else
    {
      g_autofree char *dir = g_path_get_dirname (plan->config);
      store = g_build_filename (dir, "truststore.db", NULL);
    }
  qstore = pst_trust_quote (store);
  return g_strdup_printf ("postern cert fetch %s %s", qstore, qauth);
}

static GTlsCertificate *
chain_to_tls (GPtrArray *chain)
{
  g_autoptr(GString) pem = g_string_new (NULL);

  for (guint i = 0; i < chain->len; i++)
    {
      g_autofree char *one = pst_cert_der_to_pem (chain->pdata[i]);
      g_string_append (pem, one);
    }
  return g_tls_certificate_new_from_pem (pem->str, pem->len, NULL);
}

static char *
describe_flags (GTlsCertificateFlags flags)
{
  g_autoptr(GString) text = g_string_new (NULL);
  const struct { GTlsCertificateFlags flag; const char *what; } names[] = {
    { G_TLS_CERTIFICATE_UNKNOWN_CA,    N_("its issuer is not trusted") },
    { G_TLS_CERTIFICATE_BAD_IDENTITY,  N_("wrong host name") },
    { G_TLS_CERTIFICATE_NOT_ACTIVATED, N_("not valid yet") },
    { G_TLS_CERTIFICATE_EXPIRED,       N_("expired") },
    { G_TLS_CERTIFICATE_REVOKED,       N_("revoked") },
    { G_TLS_CERTIFICATE_INSECURE,      N_("insecure algorithm") },
    { G_TLS_CERTIFICATE_GENERIC_ERROR, N_("does not verify") },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (flags & names[i].flag)
      g_string_append_printf (text, "%s%s", text->len > 0 ? ", " : "", _(names[i].what));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
report (PstTrustPlan *plan,
        Probe        *probe,
        GTlsDatabase *database,
        GPtrArray    *rows)
{
  PstTrustBackend *backend = probe->backend;
  g_autofree char *subject = g_strdup_printf (_("back-end %s (service “%s”, line %u)"), backend->url,
                                              backend->service != NULL ? backend->service : "?", backend->line);
  g_autofree char *key = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *fix = fetch_command (plan, backend);
  g_autoptr(GTlsCertificate) tls = NULL;
  g_autoptr(GError) error = NULL;
  GTlsCertificateFlags flags;
  GBytes *leaf;

  key = g_strdup_printf ("backend:%s:reachable", backend->authority);
  if (probe->chain == NULL)
    {
      pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("reachable over TLS"),
                     PST_TRUST_STATUS_FAIL, TRUE, probe->error->message, NULL);
      return;
    }
  pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("reachable over TLS"),
                 PST_TRUST_STATUS_OK, TRUE, _("TLS handshake completed"), NULL);

  leaf = probe->chain->pdata[0];
  {
    g_autofree char *leaf_cn = pst_cert_dup_common_name (leaf);
    g_autofree char *top_cn = pst_cert_dup_common_name (probe->chain->pdata[probe->chain->len - 1]);

    g_free (key);
    key = g_strdup_printf ("backend:%s:chain", backend->authority);
    detail = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u certificate: “%s”",
                                           "%u certificates: “%s” … “%s”", probe->chain->len),
                              probe->chain->len, leaf_cn != NULL ? leaf_cn : "?", top_cn != NULL ? top_cn : "?");
    pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("certificate chain"),
                   PST_TRUST_STATUS_INFO, FALSE, detail, NULL);
  }

  g_free (key);
  g_clear_pointer (&detail, g_free);
  key = g_strdup_printf ("backend:%s:trusted", backend->authority);
  tls = chain_to_tls (probe->chain);
  if (database == NULL || tls == NULL)
    flags = G_TLS_CERTIFICATE_GENERIC_ERROR;
  else
    flags = g_tls_database_verify_chain (database, tls, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                         NULL, NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
  if (error != NULL)
    flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
  {
    g_autofree char *what = describe_flags (flags);
    g_autofree char *store = plan->truststore != NULL ? pst_trust_display_path (plan->truststore) : NULL;

    if (plan->truststore != NULL && plan->trust == NULL)
      detail = g_strdup_printf (_("the truststore cannot be read: %s"), plan->trust_error);
    else if (flags == 0)
      detail = g_strdup_printf (_("verified against %s"), store != NULL ? store : _("the system store (no truststore configured)"));
    else if (store != NULL)
      detail = g_strdup_printf (_("not verified against %s: %s"), store, what);
    else
      detail = g_strdup_printf (_("not verified against the system store (no truststore configured): %s; "
                                  "the fix makes a truststore, then add it to <security> in %s"), what, plan->config);
  }
  pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("trusted by the truststore"),
                 flags == 0 ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, TRUE, detail,
                 flags & (G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_GENERIC_ERROR) ? fix : NULL);

  g_free (key);
  g_clear_pointer (&detail, g_free);
  g_clear_pointer (&fix, g_free);
  key = g_strdup_printf ("backend:%s:host", backend->authority);
  if (pst_cert_matches_host (leaf, backend->host))
    pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("host name matches"),
                   PST_TRUST_STATUS_OK, TRUE, backend->host, NULL);
  else
    {
      g_autoptr(GPtrArray) one = g_ptr_array_new ();
      g_autoptr(PstStoreEntry) entry = NULL;
      g_auto(GStrv) sans = NULL;
      g_autofree char *names = NULL;
      g_autofree char *qhost = pst_trust_quote (backend->host);
      g_autofree char *qca = plan->devca != NULL ? pst_trust_display_path (plan->devca) : NULL;

      g_ptr_array_add (one, leaf);
      entry = pst_store_entry_new ("peer", one, NULL, NULL);
      sans = entry != NULL ? pst_store_entry_dup_sans (entry) : NULL;
      names = sans != NULL && sans[0] != NULL ? g_strjoinv (", ", sans)
                                              : (entry != NULL ? pst_store_entry_dup_subject (entry) : g_strdup ("?"));
      detail = g_strdup_printf (_("the certificate is for %s, not %s: connect with one of its names, "
                                  "or give the back-end a certificate for %s"), names, backend->host, backend->host);
      fix = g_strdup_printf ("postern cert generate --keystore backend-keystore.db%s%s %s",
                             qca != NULL ? " --ca " : "", qca != NULL ? qca : "", qhost);
      pst_trust_add (rows, PST_TRUST_SECTION_BACKENDS, key, subject, _("host name matches"),
                     PST_TRUST_STATUS_FAIL, TRUE, detail, fix);
    }
}

void
pst_trust_check_backends (PstTrustPlan *plan,
                          GPtrArray    *rows,
                          GCancellable *cancellable)
{
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  Probes all = { 0 };

  if (plan->backends->len == 0)
    return;

  if (plan->trust != NULL)
    database = pst_keystore_create_tls_database (plan->trust, NULL);
  else if (plan->truststore == NULL)
    database = g_tls_backend_get_default_database (g_tls_backend_get_default ());

  /* probes at once, each bounded: up to MAX_IN_FLIGHT back-ends take one timeout */
  context = g_main_context_new ();
  g_main_context_push_thread_default (context);
  all.n = plan->backends->len;
  all.probe = g_new0 (Probe, all.n);
  all.timeout_seconds = plan->probe_timeout_seconds;
  all.cancellable = cancellable;
  for (guint i = 0; i < all.n; i++)
    all.probe[i].backend = plan->backends->pdata[i];
  start_next (&all);
  while (all.in_flight > 0)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  for (guint i = 0; i < all.n; i++)
    {
      report (plan, &all.probe[i], database, rows);
      probe_clear (&all.probe[i]);
    }
  g_free (all.probe);
}
