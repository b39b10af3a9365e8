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
  GSocket      *dead;        /* bound, not listening: a back-end that refuses */
  guint16       dead_port;
  guint16       plain_port;
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

static GSocket *
refusing_socket (guint16 *port)
{
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (s, any, FALSE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return s;
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
  f->dead = refusing_socket (&f->dead_port);
  do
    f->port = free_port ();
  while (f->port == f->dead_port);
  do
    f->plain_port = free_port ();
  while (f->plain_port == f->dead_port || f->plain_port == f->port);
  xml = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>echo</name><accept>wss://localhost:%u/echo</accept><type>echo</type></service>\n"
      "  <service><name>web</name><accept>https://localhost:%u/</accept><type>directory</type>\n"
      "    <properties><directory>web</directory><welcome-file>index.html</welcome-file></properties></service>\n"
      "  <service><name>down</name><accept>wss://localhost:%u/down</accept><type>proxy</type>\n"
      "    <connect>tcp://127.0.0.1:%u</connect></service>\n"
      "  <service><name>down-plain</name><accept>ws://localhost:%u/down</accept><type>proxy</type>\n"
      "    <connect>tcp://127.0.0.1:%u</connect></service>\n"
      "  <service><name>later</name><accept>https://localhost:%u/later/</accept><type>directory</type>\n"
      "    <properties><directory>not-made-yet</directory></properties></service>\n"
      "  <security><keystore><type>PKCS12</type><file>keystore.db</file></keystore></security>\n"
      "</gateway-config>\n", f->port, f->port, f->port, f->dead_port, f->plain_port, f->dead_port, f->port);
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
  g_clear_object (&f->dead);
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
run_service_probe (Fixture *f, const char *path_scheme, const char *path, GTlsDatabase *trust,
                   gboolean echo, const char *backend, GError **error)
{
  g_autofree char *url = g_strdup_printf ("%s://localhost:%u%s", path_scheme,
                                          g_str_equal (path_scheme, "ws") ? f->plain_port : f->port, path);
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  Wait w = { NULL };
  char *text;

  pst_probe_service_async (url, trust, echo, backend, NULL, done_cb, &w);
  while (w.result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (w.result);
  text = pst_probe_finish (w.result, error);
  g_object_unref (w.result);
  return text;
}

static char *
run_probe (Fixture *f, const char *path_scheme, const char *path, GTlsDatabase *trust, GError **error)
{
  return run_service_probe (f, path_scheme, path, trust, TRUE, NULL, error);
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

/* The back-end is down: the upgrade is accepted, then the gateway closes
 * with 1011. That is a failure, naming the back-end (it was reported as
 * "upgrade accepted"); repeated, as the close can arrive with the 101. */
static void
test_proxy_backend_down (Fixture *f, gconstpointer data)
{
  g_autofree char *backend = g_strdup_printf ("tcp://127.0.0.1:%u", f->dead_port);

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = run_service_probe (f, i % 2 ? "wss" : "ws", "/down", f->ca_trust, FALSE,
                                                 backend, &error);

      g_assert_null (text);
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_assert_nonnull (strstr (error->message, backend));
      g_assert_nonnull (strstr (error->message, "1011"));
    }
}

/* A directory service whose folder is not made yet: 404, as `postern
 * check` promises ("requests will get 404 until it does"), not 500. */
static void
test_directory_not_made (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = run_probe (f, "https", "/later/", f->ca_trust, &error);

  g_assert_null (text);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "404"));
}

/* A server that answers the upgrade and closes (1011) in the same write,
 * as a gateway whose back-end refused at once does over a fast link: the
 * frame read along with the 101 must not be lost. */
static gboolean
upgrade_and_close_cb (GThreadedSocketService *service, GSocketConnection *connection,
                      GObject *source, gpointer user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autofree char *accept = NULL;
  const char *key;
  guint8 digest[20];
  gsize digest_len = sizeof digest;
  char buffer[1024];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), 10);
  while (strstr (request->str, "\r\n\r\n") == NULL &&
         (n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (request, buffer, n);
  key = strstr (request->str, "Sec-WebSocket-Key: ");
  g_assert_nonnull (key);
  key += strlen ("Sec-WebSocket-Key: ");
  g_checksum_update (sha1, (const guint8 *) key, strcspn (key, "\r"));
  g_checksum_update (sha1, (const guint8 *) "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  accept = g_base64_encode (digest, digest_len);
  g_string_append_printf (reply, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
  g_string_append_len (reply, "\x88\x16\x03\xf3" "back-end unavailable", 24);
  g_output_stream_write_all (out, reply->str, reply->len, NULL, NULL, NULL);
  /* wait for the client's close (bounded by the socket timeout) */
  while (g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL) > 0)
    ;
  return TRUE;
}

static void
test_close_with_upgrade (void)
{
  GSocketService *server = g_threaded_socket_service_new (2);
  g_autoptr(GError) error = NULL;
  guint16 port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (server), NULL, &error);
  g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u/relay", port);
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  Wait w = { NULL };
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_signal_connect (server, "run", G_CALLBACK (upgrade_and_close_cb), NULL);
  g_socket_service_start (server);
  pst_probe_service_async (url, NULL, FALSE, "tcp://127.0.0.1:1", NULL, done_cb, &w);
  while (w.result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (w.result);
  text = pst_probe_finish (w.result, &error);
  g_object_unref (w.result);
  g_assert_null (text);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_nonnull (strstr (error->message, "1011"));
  g_socket_service_stop (server);
  g_socket_listener_close (G_SOCKET_LISTENER (server));
  g_object_unref (server);
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
  g_test_add ("/probe/proxy-backend-down", Fixture, NULL, setup, test_proxy_backend_down, teardown);
  g_test_add_func ("/probe/close-with-upgrade", test_close_with_upgrade);
  g_test_add ("/probe/directory-not-made", Fixture, NULL, setup, test_directory_not_made, teardown);
  return g_test_run ();
}
