/* test-probe.c: a real gateway (PstGateway on loopback) tested with pst_probe_async
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "pst-certgen.h"
#include "pst-gateway.h"
#include "pst-keystore.h"
#include "pst-probe.h"

typedef struct {
  char         *dir;
  guint16       port;
  PstGateway   *gateway;
  GTlsDatabase *ca_trust;
  GTlsDatabase *other_trust;
} Fixture;

static guint16
free_port (void)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (s, any, TRUE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static GTlsDatabase *
trust_of (PstStoreEntry *ca)
{
  g_autoptr(PstKeystore) store = pst_keystore_new ();
  g_autoptr(GError) error = NULL;
  GTlsDatabase *db;

  pst_keystore_add (store, ca);
  db = pst_keystore_create_tls_database (store, &error);
  g_assert_no_error (error);
  return db;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *ca_names[] = { "localhost", NULL };
  const char *names[] = { "localhost", "127.0.0.1", NULL };
  PstCertRequest ca_req = { .names = ca_names, .is_ca = TRUE };
  PstCertRequest leaf_req = { .names = names };
  g_autoptr(PstStoreEntry) ca = pst_cert_generate (&ca_req, NULL, &error);
  g_autoptr(PstStoreEntry) other_ca = NULL;
  g_autoptr(PstStoreEntry) leaf = NULL;
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(PstRuntime) runtime = NULL;
  g_autofree char *ks_path = NULL, *web = NULL, *config_path = NULL, *xml = NULL;

  g_assert_no_error (error);
  other_ca = pst_cert_generate (&ca_req, NULL, &error);
  g_assert_no_error (error);
  leaf = pst_cert_generate (&leaf_req, ca, &error);
  g_assert_no_error (error);

  f->dir = g_dir_make_tmp ("postern-probe-XXXXXX", &error);
  g_assert_no_error (error);
  ks_path = g_build_filename (f->dir, "keystore.db", NULL);
  pst_keystore_add (ks, leaf);
  g_assert_true (pst_keystore_save (ks, ks_path, PST_STORE_FORMAT_PKCS12, "changeit", &error));
  web = g_build_filename (f->dir, "web", NULL);
  g_mkdir (web, 0700);
  {
    g_autofree char *index = g_build_filename (web, "index.html", NULL);
    g_assert_true (g_file_set_contents (index, "<p>hi</p>", -1, NULL));
  }
  f->port = free_port ();
  xml = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>echo</name><accept>wss://localhost:%u/echo</accept><type>echo</type></service>\n"
      "  <service><name>web</name><accept>https://localhost:%u/</accept><type>directory</type>\n"
      "    <properties><directory>web</directory><welcome-file>index.html</welcome-file></properties></service>\n"
      "  <security><keystore><type>PKCS12</type><file>keystore.db</file></keystore></security>\n"
      "</gateway-config>\n", f->port, f->port);
  config_path = g_build_filename (f->dir, "gateway-config.xml", NULL);
  g_assert_true (g_file_set_contents (config_path, xml, -1, NULL));
  config = pst_config_new_from_file (config_path, &error);
  g_assert_no_error (error);
  runtime = pst_runtime_new (config, NULL, &error);
  g_assert_no_error (error);
  f->gateway = pst_gateway_new ();
  g_assert_true (pst_gateway_apply (f->gateway, runtime, &error));
  g_assert_no_error (error);
  f->ca_trust = trust_of (ca);
  f->other_trust = trust_of (other_ca);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  pst_gateway_stop (f->gateway);
  g_clear_object (&f->gateway);
  g_clear_object (&f->ca_trust);
  g_clear_object (&f->other_trust);
  /* the store files stay in the isolated tmp dir */
  g_free (f->dir);
}

typedef struct {
  GAsyncResult *result;
} Wait;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;
  w->result = g_object_ref (result);
}

static char *
run_probe (Fixture *f, const char *path_scheme, const char *path, GTlsDatabase *trust, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s://localhost:%u%s", path_scheme, f->port, path);
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  Wait w = { NULL };
  char *text;

  pst_probe_async (url, trust, TRUE, NULL, done_cb, &w);
  while (w.result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (w.result);
  text = pst_probe_finish (w.result, error);
  g_object_unref (w.result);
  return text;
}

static void
test_wss_echo (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = run_probe (f, "wss", "/echo", f->ca_trust, &error);

  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "certificate verified"));
  g_assert_nonnull (strstr (text, "echo round trip"));
}

static void
test_wss_untrusted (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = run_probe (f, "wss", "/echo", f->other_trust, &error);

  g_assert_null (text);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "not trusted"));
}

static void
test_https_page (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = run_probe (f, "https", "/", f->ca_trust, &error);

  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "200"));
}

static void
test_https_missing (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = run_probe (f, "https", "/no-such-page.html", f->ca_trust, &error);

  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "404"));
}

static void
test_refused (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = g_strdup_printf ("wss://127.0.0.1:%u/echo", free_port ());
  Wait w = { NULL };
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  pst_probe_async (url, f->ca_trust, TRUE, NULL, done_cb, &w);
  while (w.result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (w.result);
  text = pst_probe_finish (w.result, &error);
  g_object_unref (w.result);
  g_assert_null (text);
  g_assert_nonnull (strstr (error->message, "cannot connect"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/probe/wss-echo", Fixture, NULL, setup, test_wss_echo, teardown);
  g_test_add ("/probe/wss-untrusted", Fixture, NULL, setup, test_wss_untrusted, teardown);
  g_test_add ("/probe/https-page", Fixture, NULL, setup, test_https_page, teardown);
  g_test_add ("/probe/https-404", Fixture, NULL, setup, test_https_missing, teardown);
  g_test_add ("/probe/refused", Fixture, NULL, setup, test_refused, teardown);
  return g_test_run ();
}
