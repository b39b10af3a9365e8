/* test-certgen.c: generated certificates, the local CA, and serving TLS with them
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "stores-test-util.h"
#include "pst-local-ca.h"

static void
test_sans_and_eku (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "App.Test", "www.app.test", "127.0.0.1", "::1", NULL };
  g_autoptr(GError) error = NULL;
  PstCertRequest request = { .names = names, .key_type = PST_KEY_RSA_2048, .client = TRUE, .days = 30 };
  g_autoptr(PstStoreEntry) entry = pst_cert_generate (&request, NULL, &error);
  g_autofree char *pem = stores_path_in (f, "leaf.pem");
  g_autofree char *text = NULL, *serial = NULL;
  g_autofree char *subject = NULL, *key_type = NULL;
  GTimeSpan validity;

  g_assert_no_error (error);
  g_assert_cmpstr (pst_store_entry_get_alias (entry), ==, "app.test");
  subject = pst_store_entry_dup_subject (entry);
  g_assert_cmpstr (subject, ==, "CN=App.Test");
  key_type = pst_store_entry_dup_key_type (entry);
  g_assert_cmpstr (key_type, ==, "RSA 2048");
  /* self-signed: CA-capable so that browsers import it as an authority */
  g_assert_true (pst_store_entry_is_ca (entry));
  validity = g_date_time_difference (pst_store_entry_get_not_after (entry), pst_store_entry_get_not_before (entry));
  g_assert_cmpint (validity / G_TIME_SPAN_DAY, ==, 30);   /* 30 days + the hour backdated */
  g_assert_cmpint (g_date_time_to_unix (pst_store_entry_get_not_before (entry)), <, time (NULL) - 60);

  write_pem_cert (entry, pem);
  text = RUN_OK ("openssl", "x509", "-in", pem, "-noout", "-text");
  g_assert_nonnull (strstr (text, "DNS:app.test, DNS:www.app.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"));
  g_assert_nonnull (strstr (text, "TLS Web Server Authentication, TLS Web Client Authentication"));
  g_assert_nonnull (strstr (text, "Digital Signature, Key Encipherment, Certificate Sign"));
  g_assert_nonnull (strstr (text, "CA:TRUE, pathlen:0"));
  g_assert_nonnull (strstr (text, "Permitted:"));
  g_assert_nonnull (strstr (text, "X509v3 Subject Key Identifier"));
  g_assert_nonnull (strstr (text, "X509v3 Authority Key Identifier"));
  g_assert_nonnull (strstr (text, "Version: 3 (0x2)"));
  /* 16 random bytes, positive */
  serial = RUN_OK ("openssl", "x509", "-in", pem, "-noout", "-serial");
  g_assert_cmpuint (strlen (g_strstrip (serial)), ==, strlen ("serial=") + 32);

  /* ECDSA default, serverAuth only */
  {
    const char *n2[] = { "ec.test", NULL };
    g_autoptr(PstStoreEntry) ec = generate (n2, PST_KEY_ECDSA_P256, FALSE, NULL);
    g_autofree char *ec_pem = stores_path_in (f, "ec.pem");
    g_autofree char *ec_text = NULL, *kt = pst_store_entry_dup_key_type (ec);

    g_assert_cmpstr (kt, ==, "ECDSA P-256");
    write_pem_cert (ec, ec_pem);
    ec_text = RUN_OK ("openssl", "x509", "-in", ec_pem, "-noout", "-text");
    g_assert_nonnull (strstr (ec_text, "TLS Web Server Authentication\n"));
    g_assert_null (strstr (ec_text, "Client Authentication"));
    g_assert_nonnull (strstr (ec_text, "prime256v1"));
    g_assert_nonnull (strstr (ec_text, "DNS:ec.test"));
  }

  /* bad names are refused */
  {
    const char *bad[] = { "not a host", NULL };
    PstCertRequest r = { .names = bad };
    g_autoptr(PstStoreEntry) none = pst_cert_generate (&r, NULL, &error);
    g_assert_null (none);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  }
}

static void
test_key_types (void)
{
  PstKeyType t;

  g_assert_true (pst_key_type_from_string ("ecdsa", &t) && t == PST_KEY_ECDSA_P256);
  g_assert_true (pst_key_type_from_string ("rsa2048", &t) && t == PST_KEY_RSA_2048);
  g_assert_true (pst_key_type_from_string ("RSA3072", &t) && t == PST_KEY_RSA_3072);
  g_assert_true (pst_key_type_from_string ("rsa4096", &t) && t == PST_KEY_RSA_4096);
  g_assert_false (pst_key_type_from_string ("dsa", &t));
  g_assert_false (pst_key_type_from_string (NULL, &t));
}

static PstStoreEntry *
make_ca (gboolean unconstrained, const char * const *names)
{
  g_autoptr(GError) error = NULL;
  PstCertRequest request = { .names = names, .is_ca = TRUE, .unconstrained = unconstrained };
  PstStoreEntry *ca = pst_cert_generate (&request, NULL, &error);

  g_assert_no_error (error);
  g_assert_true (pst_store_entry_is_ca (ca));
  /* a plain token: no quoting in a shell, one TSV/awk column */
  g_assert_cmpstr (pst_store_entry_get_alias (ca), ==, PST_LOCAL_CA_ALIAS);
  g_assert_cmpstr (PST_LOCAL_CA_ALIAS, ==, "postern-dev-ca");
  g_assert_true (pst_cert_is_local_ca (pst_store_entry_get_certificate (ca)));
  return ca;
}

static void
test_ca_signs_leaf (StoresDirFixture *f, gconstpointer data)
{
  const char *ca_names[] = { "corp.example", NULL };
  g_autoptr(PstStoreEntry) ca = make_ca (FALSE, ca_names);
  const char *names[] = { "app.test", "api.corp.example", "192.168.1.20", "localhost", NULL };
  g_autoptr(PstStoreEntry) leaf = generate (names, PST_KEY_ECDSA_P256, FALSE, ca);
  g_autofree char *ca_pem = stores_path_in (f, "ca.pem"), *leaf_pem = stores_path_in (f, "leaf.pem");
  g_autofree char *ca_text = NULL, *verify = NULL, *issuer = NULL, *ca_subject = NULL;
  g_autofree char *expected_cn = g_strdup_printf ("Postern development CA on %s", g_get_host_name ());

  ca_subject = pst_store_entry_dup_subject (ca);
  g_assert_nonnull (strstr (ca_subject, expected_cn));
  issuer = pst_store_entry_dup_issuer (leaf);
  g_assert_cmpstr (issuer, ==, ca_subject);
  g_assert_cmpuint (pst_store_entry_get_chain (leaf)->len, ==, 2);

  write_pem_cert (ca, ca_pem);
  write_pem_cert (leaf, leaf_pem);
  ca_text = RUN_OK ("openssl", "x509", "-in", ca_pem, "-noout", "-text");
  g_assert_nonnull (strstr (ca_text, "CA:TRUE, pathlen:0"));
  g_assert_nonnull (strstr (ca_text, "Certificate Sign, CRL Sign"));
  g_assert_nonnull (strstr (ca_text, "X509v3 Name Constraints: critical"));
  g_assert_nonnull (strstr (ca_text, "DNS:.test"));
  g_assert_nonnull (strstr (ca_text, "DNS:corp.example"));
  g_assert_nonnull (strstr (ca_text, "IP:127.0.0.0/255.0.0.0"));
  g_assert_nonnull (strstr (ca_text, "IP:172.16.0.0/255.240.0.0"));
  g_assert_nonnull (strstr (ca_text, "IP:FC00:0:0:0:0:0:0:0/FE00:0:0:0:0:0:0:0"));

  verify = RUN_OK ("openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", ca_pem, leaf_pem);
  g_assert_nonnull (strstr (verify, ": OK"));

  /* the TLS database built from the CA verifies chain and host name */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PstKeystore) ts = pst_keystore_new ();
    g_autoptr(PstStoreEntry) anchor = pst_store_entry_new ("ca", pst_store_entry_get_chain (ca), NULL, &error);
    g_autoptr(GTlsDatabase) db = NULL;
    g_autoptr(GTlsCertificate) chain = NULL;
    g_autoptr(GSocketConnectable) good = g_network_address_new ("api.corp.example", 443);
    g_autoptr(GSocketConnectable) bad = g_network_address_new ("other.test", 443);
    GTlsCertificateFlags flags;

    pst_keystore_add (ts, anchor);
    db = pst_keystore_create_tls_database (ts, &error);
    g_assert_no_error (error);
    chain = pst_store_entry_to_tls_certificate (leaf, &error);
    g_assert_no_error (error);
    flags = g_tls_database_verify_chain (db, chain, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, good,
                                         NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (flags, ==, 0);
    flags = g_tls_database_verify_chain (db, chain, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, bad,
                                         NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (flags & G_TLS_CERTIFICATE_BAD_IDENTITY, !=, 0);

    /* an empty store verifies nothing */
    {
      g_autoptr(PstKeystore) empty = pst_keystore_new ();
      g_autoptr(GTlsDatabase) db2 = pst_keystore_create_tls_database (empty, &error);
      g_assert_no_error (error);
      flags = g_tls_database_verify_chain (db2, chain, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, good,
                                           NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (flags & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
    }
  }
}

static void
test_ca_constraints (StoresDirFixture *f, gconstpointer data)
{
  g_autoptr(PstStoreEntry) ca = make_ca (FALSE, NULL);
  g_autoptr(PstStoreEntry) free_ca = make_ca (TRUE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *ca_pem = stores_path_in (f, "ca.pem"), *ca_key = stores_path_in (f, "ca.key");
  g_autofree char *key = stores_path_in (f, "evil.key"), *csr = stores_path_in (f, "evil.csr"), *crt = stores_path_in (f, "evil.pem");
  g_autofree char *ext = stores_path_in (f, "ext.cnf");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *verify = NULL, *free_text = NULL;
  int status = 0;

  /* refused at generation, DNS and IP alike */
  for (guint i = 0; i < 3; i++)
    {
      const char *outside[][3] = { { "localhost", "www.example.com", NULL },
                                   { "8.8.8.8", NULL, NULL },
                                   { "test", NULL, NULL } };
      PstCertRequest request = { .names = outside[i] };
      g_autoptr(PstStoreEntry) leaf = pst_cert_generate (&request, ca, &error);

      g_assert_null (leaf);
      g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
      g_assert_nonnull (strstr (error->message, "name constraints"));
      g_assert_nonnull (strstr (error->message, "--unconstrained"));
      g_clear_error (&error);
    }
  {
    /* an unconstrained CA may */
    const char *names[] = { "www.example.com", NULL };
    g_autoptr(PstStoreEntry) leaf = generate (names, PST_KEY_ECDSA_P256, FALSE, free_ca);
    g_autofree char *free_pem = stores_path_in (f, "free.pem");
    write_pem_cert (free_ca, free_pem);
    free_text = RUN_OK ("openssl", "x509", "-in", free_pem, "-noout", "-text");
    g_assert_null (strstr (free_text, "Name Constraints"));
  }

  /* made by other means, a leaf outside fails verification */
  write_pem_store (ca, ca_pem);   /* key + certificate */
  {
    g_autoptr(GFile) from = g_file_new_for_path (ca_pem);
    g_autoptr(GFile) to = g_file_new_for_path (ca_key);
    g_assert_true (g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error));
  }
  g_assert_true (g_file_set_contents (ext, "subjectAltName=DNS:www.example.com\n", -1, NULL));
  o1 = RUN_OK ("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", key, "-out", csr, "-subj", "/CN=www.example.com");
  o2 = RUN_OK ("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
               "-out", crt, "-days", "2", "-extfile", ext);
  verify = RUN (&status, "openssl", "verify", "-CAfile", ca_pem, crt);
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (strstr (verify, "permitted subtree violation"));

  /* and one inside passes */
  {
    g_autofree char *ok_crt = stores_path_in (f, "ok.pem"), *ok_verify = NULL;
    g_assert_true (g_file_set_contents (ext, "subjectAltName=DNS:svc.internal,IP:10.2.3.4\n", -1, NULL));
    o3 = RUN_OK ("openssl", "x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", ok_crt, "-days", "2", "-extfile", ext);
    g_free (g_steal_pointer (&o3));
    ok_verify = RUN_OK ("openssl", "verify", "-CAfile", ca_pem, ok_crt);
    g_assert_nonnull (strstr (ok_verify, ": OK"));
  }
}

/* ---- serving TLS ---------------------------------------------------------- */

typedef struct {
  GMainLoop       *loop;
  GTlsCertificate *certificate;
  gboolean         served;
  GError          *error;
} ServeData;

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServeData *sd = user_data;
  GTlsConnection *tls = G_TLS_CONNECTION (source);

  if (g_tls_connection_handshake_finish (tls, result, &sd->error))
    {
      gsize written = 0;
      sd->served = g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (tls)),
                                              "hello from postern\n", 19, &written, NULL, &sd->error);
      g_io_stream_close (G_IO_STREAM (tls), NULL, NULL);
    }
  g_object_unref (tls);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  ServeData *sd = user_data;
  GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection), sd->certificate, &sd->error);

  if (tls == NULL)
    return FALSE;
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL, handshake_cb, sd);
  return TRUE;
}

static void
client_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ServeData *sd = user_data;
  g_main_loop_quit (sd->loop);
}

static gboolean
timeout_cb (gpointer user_data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static void
serve_with (StoresDirFixture *f, PstKeyType key_type, gboolean through_pkcs12)
{
  const char *names[] = { "localhost", "127.0.0.1", NULL };
  g_autoptr(PstStoreEntry) generated = generate (names, key_type, FALSE, NULL);
  PstStoreEntry *entry = generated;
  g_autoptr(PstKeystore) reloaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSubprocess) client = NULL;
  g_autofree char *ca = stores_path_in (f, "anchor.pem");
  g_autofree char *connect = NULL, *out = NULL;
  ServeData sd = { 0 };
  guint timeout;

  if (through_pkcs12)
    {
      /* the store round trip the gateway does: save, load, serve */
      g_autoptr(PstKeystore) ks = pst_keystore_new ();
      g_autofree char *store = stores_path_in (f, "serve.db");
      pst_keystore_add (ks, generated);
      g_assert_true (pst_keystore_save (ks, store, PST_STORE_FORMAT_PKCS12, "serve-pw", &error));
      reloaded = pst_keystore_load (store, "serve-pw", NULL, &error);
      g_assert_no_error (error);
      entry = pst_keystore_find_for_host (reloaded, "localhost");
      g_assert_nonnull (entry);
    }
  write_pem_cert (entry, ca);
  sd.certificate = pst_store_entry_to_tls_certificate (entry, &error);
  g_assert_no_error (error);
  sd.loop = g_main_loop_new (NULL, FALSE);

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), &sd);
  g_socket_service_start (service);

  connect = g_strdup_printf ("127.0.0.1:%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  client = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                             G_SUBPROCESS_FLAGS_STDERR_MERGE, &error,
                             "openssl", "s_client", "-connect", connect, "-servername", "localhost",
                             "-verify_return_error", "-verify_hostname", "localhost",
                             "-CAfile", ca, "-brief", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (client, NULL, NULL, client_done_cb, &sd);
  timeout = g_timeout_add_seconds (60, timeout_cb, NULL);
  g_main_loop_run (sd.loop);
  g_source_remove (timeout);

  g_assert_true (g_subprocess_get_if_exited (client));
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_assert_no_error (sd.error);
  g_assert_cmpint (g_subprocess_get_exit_status (client), ==, 0);
  g_assert_true (sd.served);

  g_clear_object (&sd.certificate);
  g_main_loop_unref (sd.loop);
}

static void
test_serve_tls_ecdsa (StoresDirFixture *f, gconstpointer data)
{
  serve_with (f, PST_KEY_ECDSA_P256, FALSE);
}

static void
test_serve_tls_rsa (StoresDirFixture *f, gconstpointer data)
{
  serve_with (f, PST_KEY_RSA_2048, TRUE);
}

static void
generated_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStoreEntry **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = pst_cert_generate_finish (result, &error);
  g_assert_no_error (error);
}

static void
test_generate_async (void)
{
  char *names[] = { g_strdup ("async.test"), NULL };
  PstCertRequest request = { .names = (const char * const *) names, .key_type = PST_KEY_RSA_3072 };
  PstStoreEntry *entry = NULL;
  g_autofree char *kt = NULL;
  guint rounds = 0;

  pst_cert_generate_async (&request, NULL, NULL, generated_cb, &entry);
  g_free (names[0]);   /* inputs are copied */
  names[0] = NULL;
  while (entry == NULL && rounds++ < 100000)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (entry);
  g_assert_cmpstr (pst_store_entry_get_alias (entry), ==, "async.test");
  kt = pst_store_entry_dup_key_type (entry);
  g_assert_cmpstr (kt, ==, "RSA 3072");
  g_object_unref (entry);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/certgen/sans-eku", StoresDirFixture, NULL, stores_dir_setup, test_sans_and_eku, stores_dir_teardown);
  g_test_add_func ("/certgen/key-types", test_key_types);
  g_test_add ("/certgen/ca/signs-leaf", StoresDirFixture, NULL, stores_dir_setup, test_ca_signs_leaf, stores_dir_teardown);
  g_test_add ("/certgen/ca/name-constraints", StoresDirFixture, NULL, stores_dir_setup, test_ca_constraints, stores_dir_teardown);
  g_test_add ("/certgen/tls/ecdsa", StoresDirFixture, NULL, stores_dir_setup, test_serve_tls_ecdsa, stores_dir_teardown);
  g_test_add ("/certgen/tls/rsa-pkcs12", StoresDirFixture, NULL, stores_dir_setup, test_serve_tls_rsa, stores_dir_teardown);
  g_test_add_func ("/certgen/async", test_generate_async);

  return g_test_run ();
}
