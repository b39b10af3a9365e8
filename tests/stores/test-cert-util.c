/* test-cert-util.c: certificate files, export, the local CA, store files and chain fetching
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <sys/stat.h>

#include "stores-test-util.h"
#include "pst-cert-fetch.h"
#include "pst-local-ca.h"
#include "pst-cert-util.h"
#include "pst-store-file.h"

#define FETCH_BOUND_SECONDS 10

typedef struct {
  char          *dir;
  PstStoreEntry *ca;
  PstStoreEntry *leaf;   /* signed by ca */
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  const char *ca_names[] = { "ca.test", NULL };
  const char *leaf_names[] = { "localhost", "127.0.0.1", NULL };

  f->dir = make_temp_dir ();
  f->ca = generate (ca_names, PST_KEY_ECDSA_P256, TRUE, NULL);
  f->leaf = generate (leaf_names, PST_KEY_ECDSA_P256, FALSE, f->ca);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
  g_clear_object (&f->ca);
  g_clear_object (&f->leaf);
}

static char *
path_in (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
write_file (const char *path, const void *data, gssize len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
}

static int
file_mode (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return st.st_mode & 0777;
}

static char *
fingerprint_of (GBytes *der)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new ();
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (chain, der);
  entry = pst_store_entry_new ("x", chain, NULL, &error);
  g_assert_no_error (error);
  return pst_store_entry_dup_fingerprint (entry);
}

/* "SHA256 Fingerprint=AB:…" → "AB:…" */
static char *
openssl_fingerprint (const char *path, const char *inform)
{
  g_autofree char *out = RUN_OK ("openssl", "x509", "-inform", inform, "-in", path,
                                 "-noout", "-fingerprint", "-sha256");
  const char *eq = strchr (out, '=');

  g_assert_nonnull (eq);
  return g_strstrip (g_ascii_strup (eq + 1, -1));
}

/* ---- small helpers ------------------------------------------------------- */

static void
test_helpers (Fixture *f, gconstpointer data)
{
  GBytes *der = pst_store_entry_get_certificate (f->leaf);
  g_autofree char *pem = pst_cert_der_to_pem (der);
  g_autofree char *cn = pst_cert_dup_common_name (der);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) later = g_date_time_add_days (now, 92);
  g_autoptr(GDateTime) earlier = g_date_time_add_days (now, -1);
  g_autofree char *future = pst_cert_format_validity (later);
  g_autofree char *past = pst_cert_format_validity (earlier);
  g_autoptr(GBytes) garbage = g_bytes_new_static ("nope", 4);
  PstExportFormat format;

  g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----\n"));
  g_assert_true (g_str_has_suffix (pem, "\n-----END CERTIFICATE-----\n"));
  g_assert_cmpstr (cn, ==, "localhost");
  g_assert_null (pst_cert_dup_common_name (garbage));
  g_assert_nonnull (strstr (future, "(expires in 91 days)"));
  g_assert_true (g_str_has_suffix (past, "(EXPIRED)"));

  g_assert_true (pst_export_format_from_string ("PEM", &format));
  g_assert_cmpint (format, ==, PST_EXPORT_PEM);
  g_assert_true (pst_export_format_from_string ("der", &format));
  g_assert_cmpint (format, ==, PST_EXPORT_DER);
  g_assert_true (pst_export_format_from_string ("pkcs12", &format));
  g_assert_cmpint (format, ==, PST_EXPORT_PKCS12);
  g_assert_false (pst_export_format_from_string ("jks", &format));
}

/* ---- pst_cert_read_file -------------------------------------------------- */

static void
test_read_pem_bundle (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "bundle.pem");
  g_autofree char *leaf_pem = pst_cert_der_to_pem (pst_store_entry_get_certificate (f->leaf));
  g_autofree char *ca_pem = pst_cert_der_to_pem (pst_store_entry_get_certificate (f->ca));
  /* text around and between the blocks, as in a CA bundle */
  g_autofree char *bundle = g_strconcat ("# server\n", leaf_pem, "\nsubject=CN = ca.test\n", ca_pem, NULL);
  g_autoptr(GPtrArray) certs = NULL;
  g_autoptr(GError) error = NULL;

  write_file (path, bundle, -1);
  certs = pst_cert_read_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (certs->len, ==, 2);
  g_assert_true (g_bytes_equal (certs->pdata[0], pst_store_entry_get_certificate (f->leaf)));
  g_assert_true (g_bytes_equal (certs->pdata[1], pst_store_entry_get_certificate (f->ca)));
}

static void
test_read_der (Fixture *f, gconstpointer data)
{
  g_autofree char *pem = path_in (f, "leaf.pem");
  g_autofree char *der = path_in (f, "leaf.der");
  g_autoptr(GPtrArray) certs = NULL;
  g_autoptr(GError) error = NULL;

  /* a DER file made by openssl, not by us */
  write_pem_cert (f->leaf, pem);
  g_free (RUN_OK ("openssl", "x509", "-in", pem, "-outform", "DER", "-out", der));
  certs = pst_cert_read_file (der, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (certs->len, ==, 1);
  g_assert_true (g_bytes_equal (certs->pdata[0], pst_store_entry_get_certificate (f->leaf)));
}

static void
assert_unreadable (const char *path, GQuark domain, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) certs = pst_cert_read_file (path, &error);
  g_autofree char *base = g_path_get_basename (path);

  g_assert_null (certs);
  g_assert_error (error, domain, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, base));
}

static void
test_read_garbage (Fixture *f, gconstpointer data)
{
  g_autofree char *random_file = path_in (f, "random.crt");
  g_autofree char *text_file = path_in (f, "hello.pem");
  g_autofree char *key_only = path_in (f, "key-only.pem");
  g_autofree char *empty = path_in (f, "empty.pem");
  g_autofree char *missing = path_in (f, "missing.pem");
  guint8 noise[3000];

  for (gsize i = 0; i < sizeof noise; i++)
    noise[i] = g_random_int_range (0, 256);
  noise[0] = 0x42;   /* not a DER SEQUENCE */
  write_file (random_file, noise, sizeof noise);
  write_file (text_file, "hello\n", -1);
  write_file (key_only, "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n", -1);
  write_file (empty, "", 0);

  assert_unreadable (random_file, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  assert_unreadable (text_file, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  assert_unreadable (key_only, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  assert_unreadable (empty, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  assert_unreadable (missing, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

/* ---- pst_cert_export ----------------------------------------------------- */

static void
test_export_pem_der (Fixture *f, gconstpointer data)
{
  g_autofree char *pem = path_in (f, "out.pem");
  g_autofree char *der = path_in (f, "out.der");
  g_autofree char *expected = pst_store_entry_dup_fingerprint (f->leaf);
  g_autofree char *pem_fp = NULL, *der_fp = NULL;
  g_autoptr(GPtrArray) back = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (pst_cert_export (f->leaf, pem, PST_EXPORT_PEM, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (pst_cert_export (f->leaf, der, PST_EXPORT_DER, NULL, &error));
  g_assert_no_error (error);

  pem_fp = openssl_fingerprint (pem, "PEM");
  der_fp = openssl_fingerprint (der, "DER");
  g_assert_cmpstr (pem_fp, ==, expected);
  g_assert_cmpstr (der_fp, ==, expected);
  back = pst_cert_read_file (der, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 1);
  g_assert_true (g_bytes_equal (back->pdata[0], pst_store_entry_get_certificate (f->leaf)));

  /* a certificate is public: readable by the clients that need it */
  g_assert_cmpint (file_mode (pem), ==, 0644);
  /* overwriting works (atomic replace) */
  g_assert_true (pst_cert_export (f->ca, pem, PST_EXPORT_PEM, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&back, g_ptr_array_unref);
  back = pst_cert_read_file (pem, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (back->pdata[0], pst_store_entry_get_certificate (f->ca)));
}

static void
test_export_pkcs12 (Fixture *f, gconstpointer data)
{
  g_autofree char *p12 = path_in (f, "trust.p12");
  g_autofree char *p12b = path_in (f, "trust-pw.p12");
  g_autofree char *keytool = g_find_program_in_path ("keytool");
  g_autoptr(PstKeystore) back = NULL;
  g_autoptr(PstKeystore) wrong = NULL;
  g_autoptr(GError) error = NULL;
  PstStoreEntry *entry;

  g_assert_true (pst_cert_export (f->leaf, p12, PST_EXPORT_PKCS12, NULL, &error));
  g_assert_no_error (error);

  /* read back by the library with keytool's default password */
  back = pst_keystore_load (p12, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (back), ==, 1);
  entry = pst_keystore_get_entry (back, 0);
  g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_TRUSTED);
  g_assert_null (pst_store_entry_get_private_key (entry));
  g_assert_cmpstr (pst_store_entry_get_alias (entry), ==, "localhost");
  g_assert_true (g_bytes_equal (pst_store_entry_get_certificate (entry),
                                pst_store_entry_get_certificate (f->leaf)));

  /* with a password of its own */
  g_assert_true (pst_cert_export (f->leaf, p12b, PST_EXPORT_PKCS12, "s3cret-Pw", &error));
  g_assert_no_error (error);
  g_clear_object (&back);
  back = pst_keystore_load (p12b, "s3cret-Pw", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (back), ==, 1);
  wrong = pst_keystore_load (p12b, NULL, NULL, &error);
  g_assert_null (wrong);
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);

  /* and by Java, as a trusted entry */
  /* make check installs a JRE: a missing keytool is a failure, not a skip */
  g_assert_nonnull (keytool);
  {
    g_autofree char *fp = pst_store_entry_dup_fingerprint (f->leaf);
    g_autofree char *out = RUN_OK (keytool, "-list", "-v", "-keystore", p12, "-storetype", "PKCS12",
                                   "-storepass", "changeit");

    g_test_message ("%s", out);
    g_assert_nonnull (strstr (out, "Your keystore contains 1 entry"));
    g_assert_nonnull (strstr (out, "Alias name: localhost"));
    g_assert_nonnull (strstr (out, "Entry type: trustedCertEntry"));
    g_assert_nonnull (strstr (out, fp));
  }
}

/* ---- the local development CA ------------------------------------------- */

static void
test_local_ca (Fixture *f, gconstpointer data)
{
  g_autofree char *ca_path = path_in (f, "devca.p12");
  g_autofree char *pw_path = path_in (f, "devca.pw");
  g_autofree char *fp1 = NULL, *fp2 = NULL;
  g_autoptr(PstKeystore) first = NULL;
  g_autoptr(PstKeystore) again = NULL;
  g_autoptr(GError) error = NULL;
  const char *extra[] = { "app.example", NULL };
  const char *names[] = { "www.app.example", NULL };
  gboolean created = FALSE;
  PstStoreEntry *ca;

  first = pst_local_ca_open_or_create (ca_path, NULL, FALSE, extra, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_true (g_file_test (pw_path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (file_mode (pw_path), ==, 0600);
  g_assert_cmpint (file_mode (ca_path), ==, 0600);
  ca = pst_local_ca_find (first);
  g_assert_nonnull (ca);
  g_assert_true (pst_store_entry_is_ca (ca));
  g_assert_nonnull (pst_store_entry_get_private_key (ca));
  fp1 = pst_store_entry_dup_fingerprint (ca);
  {
    /* the extra names are permitted by the name constraints */
    g_autoptr(PstStoreEntry) leaf = generate (names, PST_KEY_ECDSA_P256, FALSE, ca);
    g_assert_nonnull (leaf);
  }

  again = pst_local_ca_open_or_create (ca_path, NULL, FALSE, NULL, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  fp2 = pst_store_entry_dup_fingerprint (pst_local_ca_find (again));
  g_assert_cmpstr (fp1, ==, fp2);
  g_assert_cmpint (file_mode (pw_path), ==, 0600);

  /* a store without a CA key is refused, naming it */
  {
    g_autofree char *plain = path_in (f, "plain.p12");
    g_autoptr(PstKeystore) ks = pst_keystore_new ();
    g_autoptr(PstKeystore) refused = NULL;

    pst_keystore_add (ks, f->leaf);
    g_assert_true (pst_keystore_save (ks, plain, PST_STORE_FORMAT_PKCS12, NULL, &error));
    g_assert_no_error (error);
    g_assert_null (pst_local_ca_find (ks));
    refused = pst_local_ca_open_or_create (plain, NULL, FALSE, NULL, &created, &error);
    g_assert_null (refused);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NO_ENTRY);
    g_assert_nonnull (strstr (error->message, "plain.p12"));
  }
}

static void
test_local_ca_rsa (Fixture *f, gconstpointer data)
{
  g_autofree char *ca_path = path_in (f, "rsaca.p12");
  g_autoptr(PstKeystore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *key_type = NULL;

  store = pst_local_ca_open_or_create_full (ca_path, NULL, PST_KEY_RSA_2048, TRUE, NULL, NULL, &error);
  g_assert_no_error (error);
  key_type = pst_store_entry_dup_key_type (pst_local_ca_find (store));
  g_assert_cmpstr (key_type, ==, "RSA 3072");
}

/* ---- PstStoreFile -------------------------------------------------------- */

static void
test_store_file (Fixture *f, gconstpointer data)
{
  g_autofree char *path = path_in (f, "trust.db");
  g_autofree char *pw_path = path_in (f, "trust.pw");
  GBytes *der = pst_store_entry_get_certificate (f->ca);
  g_autoptr(GError) error = NULL;

  {
    g_auto(PstStoreFile) sf = { 0 };

    /* missing, not to be created */
    g_assert_false (pst_store_file_open (&sf, path, NULL, PST_STORE_OPEN_WRITE, &error));
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
  }
  {
    g_auto(PstStoreFile) sf = { 0 };

    /* created, then abandoned: nothing left behind */
    g_assert_true (pst_store_file_open (&sf, path, NULL, PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE, &error));
    g_assert_no_error (error);
    g_assert_true (sf.created && sf.password_created);
    g_assert_true (g_file_test (pw_path, G_FILE_TEST_EXISTS));
    pst_store_file_abandon (&sf);
    g_assert_false (g_file_test (pw_path, G_FILE_TEST_EXISTS));
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  }
  {
    g_auto(PstStoreFile) sf = { 0 };

    g_assert_true (pst_store_file_open (&sf, path, NULL, PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE, &error));
    g_assert_no_error (error);
    g_assert_true (pst_store_file_add_trusted (&sf, der, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (sf.saved);
    {
      /* alias NULL: the local development CA gets its plain alias (any
       * other certificate its CN in lower case: see the leaf below) */
      g_autofree char *cn = pst_cert_dup_common_name (der);
      g_autofree char *old_alias = g_utf8_strdown (cn, -1);

      g_assert_nonnull (pst_keystore_lookup (sf.store, PST_LOCAL_CA_ALIAS));
      g_assert_cmpstr (pst_store_entry_get_alias (pst_keystore_get_entry (sf.store, 0)), ==, PST_LOCAL_CA_ALIAS);
      /* the alias older versions gave it still finds it */
      g_assert_true (pst_local_ca_is_old_alias (old_alias));
      g_assert_true (pst_local_ca_lookup (sf.store, old_alias) == pst_keystore_get_entry (sf.store, 0));
      g_assert_null (pst_local_ca_lookup (sf.store, "postern development ca"));
    }
    g_assert_cmpint (file_mode (pw_path), ==, 0600);
    pst_store_file_abandon (&sf);   /* saved: keeps everything */
    g_assert_true (g_file_test (pw_path, G_FILE_TEST_EXISTS));
  }
  {
    g_auto(PstStoreFile) sf = { 0 };

    g_assert_true (pst_store_file_open (&sf, path, NULL, PST_STORE_OPEN_WRITE, &error));
    g_assert_no_error (error);
    g_assert_false (sf.created);
    g_assert_cmpstr (sf.password_file, ==, pw_path);
    g_assert_cmpint (pst_keystore_get_format (sf.store), ==, PST_STORE_FORMAT_PKCS12);
    g_assert_cmpuint (pst_keystore_get_n_entries (sf.store), ==, 1);
    g_assert_nonnull (pst_keystore_lookup_certificate (sf.store, der));
    /* there already: fine, unchanged */
    g_assert_true (pst_store_file_add_trusted (&sf, der, "other", &error));
    g_assert_no_error (error);
    g_assert_cmpuint (pst_keystore_get_n_entries (sf.store), ==, 1);
    /* a different certificate under a taken alias is refused */
    g_assert_false (pst_store_file_add_trusted (&sf, pst_store_entry_get_certificate (f->leaf),
                                                pst_store_entry_get_alias (pst_keystore_get_entry (sf.store, 0)),
                                                &error));
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
    g_clear_error (&error);
    g_assert_true (pst_store_file_add_trusted (&sf, pst_store_entry_get_certificate (f->leaf), "leaf", &error));
    g_assert_no_error (error);
    /* not a local CA: no fallback to it by the CA's alias */
    g_assert_false (pst_cert_is_local_ca (pst_store_entry_get_certificate (f->leaf)));
    g_assert_true (pst_local_ca_lookup (sf.store, "leaf") == pst_keystore_lookup (sf.store, "leaf"));
  }
  {
    g_autoptr(PstKeystore) ks = pst_keystore_open (path, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (pst_keystore_get_n_entries (ks), ==, 2);
  }
  {
    g_auto(PstStoreFile) sf = { 0 };
    g_autofree char *wrong = path_in (f, "missing.pw");

    /* an explicit password file that does not exist is named */
    g_assert_false (pst_store_file_open (&sf, path, wrong, PST_STORE_OPEN_READ, &error));
    g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_assert_nonnull (strstr (error->message, "missing.pw"));
    g_clear_error (&error);
  }
}

/* ---- pst_cert_fetch_chain_async ----------------------------------------- */

typedef struct {
  gboolean              done;
  GPtrArray            *chain;
  GTlsCertificateFlags  errors;
  GError               *error;
} Fetched;

static void
fetched_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fetched *fetched = user_data;

  fetched->chain = pst_cert_fetch_chain_finish_full (result, &fetched->errors, &fetched->error);
  fetched->done = TRUE;
}

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until the fetch is done, failing the
 * test past bound_seconds. */
static gint64
run_fetch (const char *host_and_port, GCancellable *cancellable, Fetched *fetched, guint bound_seconds)
{
  gint64 start = g_get_monotonic_time ();
  gboolean expired = FALSE;
  guint guard = g_timeout_add_seconds (bound_seconds, set_flag_cb, &expired);

  pst_cert_fetch_chain_async (host_and_port, cancellable, fetched_cb, fetched);
  while (!fetched->done && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (expired);
  g_source_remove (guard);
  return (g_get_monotonic_time () - start) / G_TIME_SPAN_MILLISECOND;
}

static void
fetched_clear (Fetched *fetched)
{
  g_clear_pointer (&fetched->chain, g_ptr_array_unref);
  g_clear_error (&fetched->error);
  fetched->done = FALSE;
  fetched->errors = 0;
}

typedef struct {
  GTlsCertificate *certificate;
  GPtrArray       *connections;   /* GTlsConnection */
  guint            handshakes;
} Server;

static void
server_handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Server *server = user_data;
  g_autoptr(GError) error = NULL;

  if (g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    server->handshakes++;
  else
    g_test_message ("server handshake: %s", error->message);
}

static gboolean
server_incoming_cb (GSocketService    *service,
                    GSocketConnection *connection,
                    GObject           *source,
                    gpointer           user_data)
{
  Server *server = user_data;
  g_autoptr(GError) error = NULL;
  GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection), server->certificate, &error);

  g_assert_no_error (error);
  g_ptr_array_add (server->connections, tls);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    server_handshake_cb, server);
  return TRUE;
}

static guint16
listen_loopback (GSocketListener *listener)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_listener_add_address (listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* The server runs in this thread's main context too: a fetch that blocked
 * the main thread could never complete its handshake. */
static void
test_fetch_server (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;
  g_autofree char *want_leaf = pst_store_entry_dup_fingerprint (f->leaf);
  g_autofree char *want_ca = pst_store_entry_dup_fingerprint (f->ca);
  g_autofree char *got_leaf = NULL, *got_ca = NULL;
  Server server = { 0 };
  Fetched fetched = { 0 };
  gint64 ms;

  server.certificate = pst_store_entry_to_tls_certificate (f->leaf, &error);
  g_assert_no_error (error);
  server.connections = g_ptr_array_new_with_free_func (g_object_unref);
  target = g_strdup_printf ("127.0.0.1:%u", listen_loopback (G_SOCKET_LISTENER (service)));
  g_signal_connect (service, "incoming", G_CALLBACK (server_incoming_cb), &server);
  g_socket_service_start (service);

  ms = run_fetch (target, NULL, &fetched, 30);
  g_assert_no_error (fetched.error);
  g_assert_nonnull (fetched.chain);
  g_test_message ("fetched %u certificates in %" G_GINT64_FORMAT " ms", fetched.chain->len, ms);
  g_assert_cmpuint (fetched.chain->len, ==, 2);
  got_leaf = fingerprint_of (fetched.chain->pdata[0]);
  got_ca = fingerprint_of (fetched.chain->pdata[1]);
  g_assert_cmpstr (got_leaf, ==, want_leaf);
  g_assert_cmpstr (got_ca, ==, want_ca);
  /* the system does not know our CA */
  g_assert_true (fetched.errors & G_TLS_CERTIFICATE_UNKNOWN_CA);
  /* The client is done once it has the server's flight; the server's own
   * handshake ends with the client's Finished, reported from GIO's pool
   * through this main context, possibly a little later (seen under ASan). */
  {
    gint64 until = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

    while (server.handshakes < 1 && g_get_monotonic_time () < until)
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
  }
  g_assert_cmpuint (server.handshakes, ==, 1);
  fetched_clear (&fetched);

  /* a caller's cancellation is CANCELLED, not a timeout */
  {
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    g_cancellable_cancel (cancellable);
    run_fetch (target, cancellable, &fetched, 30);
    g_assert_error (fetched.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_null (fetched.chain);
    fetched_clear (&fetched);
  }

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_ptr_array_unref (server.connections);
  g_object_unref (server.certificate);
}

static void
test_fetch_closed_port (Fixture *f, gconstpointer data)
{
  g_autofree char *target = NULL;
  Fetched fetched = { 0 };
  gint64 ms;

  {
    /* a port that was free a moment ago, closed again */
    g_autoptr(GSocketListener) listener = g_socket_listener_new ();
    target = g_strdup_printf ("127.0.0.1:%u", listen_loopback (listener));
    g_socket_listener_close (listener);
  }
  ms = run_fetch (target, NULL, &fetched, FETCH_BOUND_SECONDS + 5);
  g_assert_null (fetched.chain);
  g_assert_error (fetched.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  g_test_message ("%s (%" G_GINT64_FORMAT " ms)", fetched.error->message, ms);
  g_assert_nonnull (strstr (fetched.error->message, "cannot connect to"));
  g_assert_nonnull (strstr (fetched.error->message, target));
  g_assert_cmpint (ms, <, FETCH_BOUND_SECONDS * 1000);
  fetched_clear (&fetched);

  /* not HOST:PORT at all */
  run_fetch ("127.0.0.1:notaport", NULL, &fetched, 5);
  g_assert_error (fetched.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (fetched.error->message, "notaport"));
  fetched_clear (&fetched);
}

/* A listener that accepts TCP (the kernel does, from its backlog) but never
 * answers: the fetch gives up after its 10 s bound. */
static void
test_fetch_silent_server (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autofree char *target = NULL;
  Fetched fetched = { 0 };
  gint64 ms;

  target = g_strdup_printf ("127.0.0.1:%u", listen_loopback (listener));
  ms = run_fetch (target, NULL, &fetched, FETCH_BOUND_SECONDS + 10);
  g_assert_null (fetched.chain);
  g_assert_error (fetched.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_test_message ("%s (%" G_GINT64_FORMAT " ms)", fetched.error->message, ms);
  g_assert_nonnull (strstr (fetched.error->message, target));
  g_assert_nonnull (strstr (fetched.error->message, "within 10 seconds"));
  g_assert_cmpint (ms, >=, FETCH_BOUND_SECONDS * 1000 - 1000);
  g_assert_cmpint (ms, <, FETCH_BOUND_SECONDS * 1000 + 3000);
  fetched_clear (&fetched);
  g_socket_listener_close (listener);
}

int
main (int argc, char **argv)
{
  /* isolated dirs hold no GSettings schemas, which the GNOME proxy
   * resolver would need; loopback needs no proxy anyway */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/cert-util/helpers", test_helpers);
  ADD ("/cert-util/read-file/pem-bundle", test_read_pem_bundle);
  ADD ("/cert-util/read-file/der", test_read_der);
  ADD ("/cert-util/read-file/garbage", test_read_garbage);
  ADD ("/cert-util/export/pem-der", test_export_pem_der);
  ADD ("/cert-util/export/pkcs12", test_export_pkcs12);
  ADD ("/cert-util/local-ca/create-reopen", test_local_ca);
  ADD ("/cert-util/local-ca/rsa", test_local_ca_rsa);
  ADD ("/cert-util/store-file", test_store_file);
  ADD ("/cert-util/fetch/server", test_fetch_server);
  ADD ("/cert-util/fetch/closed-port", test_fetch_closed_port);
  ADD ("/cert-util/fetch/silent-server", test_fetch_silent_server);
#undef ADD

  return g_test_run ();
}
