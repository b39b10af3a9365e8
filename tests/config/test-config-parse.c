/* test-config-parse.c: reading gateway-config.xml, substitution, URLs, option values
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "config-test-util.h"

static PstConfig *
load_fixture (const char *name)
{
  g_autofree char *path = ctu_fixture_path (name);
  g_autoptr(GError) error = NULL;
  PstConfig *config = pst_config_new_from_file (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (config);
  return config;
}

static void
test_services (void)
{
  g_autoptr(PstConfig) config = load_fixture ("valid.xml");
  PstService *echo, *files, *proxy;
  PstOptions *options;
  const char * const *origins;
  g_auto(GStrv) props = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *expected_dir = NULL;

  g_assert_cmpuint (pst_config_get_n_services (config), ==, 3);
  echo = pst_config_get_service (config, 0);
  g_assert_cmpstr (pst_service_get_name (echo), ==, "echo");
  g_assert_cmpstr (pst_service_get_description (echo), ==, "Echo & more");
  g_assert_cmpstr (pst_service_get_service_type (echo), ==, "echo");
  g_assert_cmpuint (pst_service_get_line (echo), ==, 23);
  g_assert_cmpuint (pst_service_get_index (echo), ==, 0);
  g_assert_cmpuint (pst_service_get_type_line (echo), ==, 28);
  g_assert_cmpuint (pst_service_get_n_accepts (echo), ==, 2);
  g_assert_cmpstr (pst_service_get_accept (echo, 0), ==, "ws://localhost:8000/echo");
  g_assert_cmpstr (pst_service_get_accept_raw (echo, 0), ==, "ws://${host}:8000/echo");
  g_assert_cmpuint (pst_service_get_accept_line (echo, 0), ==, 26);
  /* a property whose value uses another property */
  g_assert_cmpstr (pst_service_get_accept (echo, 1), ==, "wss://localhost:9000/echo");
  g_assert_cmpuint (pst_service_get_n_connects (echo), ==, 0);

  options = pst_service_get_accept_options (echo);
  g_assert_cmpstr (pst_options_get (options, "ssl.encryption"), ==, "enabled");
  g_assert_cmpstr (pst_options_get_verify_client (options), ==, "none");
  g_assert_cmpuint (pst_options_get_line (options, "ssl.encryption"), ==, 30);
  g_assert_true (pst_options_get_ssl_encryption (options));
  /* inherited from service-defaults */
  g_assert_cmpstr (pst_options_get (options, "ws.inactivity.timeout"), ==, "5 minutes");
  g_assert_cmpuint (pst_options_get_line (options, "ws.inactivity.timeout"), ==, 19);
  {
    guint64 ms, bytes;
    g_assert_true (pst_options_get_duration_ms (options, "ws.inactivity.timeout", 0, &ms));
    g_assert_cmpuint (ms, ==, 300000);
    g_assert_true (pst_options_get_size (options, "ws.maximum.message.size", 0, &bytes));
    g_assert_cmpuint (bytes, ==, 64 * 1024);
    g_assert_true (pst_options_get_duration_ms (options, "unset.option", 1234, &ms));
    g_assert_cmpuint (ms, ==, 1234);
  }
  {
    g_auto(GStrv) names = pst_options_dup_names (options);
    g_assert_cmpuint (g_strv_length (names), ==, 4);
    g_assert_cmpstr (names[0], ==, "ssl.encryption");
  }
  origins = pst_service_get_allow_origins (echo);
  g_assert_nonnull (origins);
  g_assert_cmpstr (origins[0], ==, "https://localhost:9000");
  g_assert_null (origins[1]);

  files = pst_config_find_service (config, "files");
  g_assert_nonnull (files);
  g_assert_null (pst_service_get_allow_origins (files));
  g_assert_cmpstr (pst_service_get_property (files, "welcome-file"), ==, "index.html");
  g_assert_cmpstr (pst_service_get_property (files, "options"), ==, "indexes");
  g_assert_cmpstr (pst_service_get_property (files, "location.1.patterns"), ==, "**/*");
  g_assert_cmpstr (pst_service_get_property (files, "location.1.cache-control"), ==, "max-age=60");
  g_assert_cmpuint (pst_service_get_property_line (files, "directory"), ==, 45);
  props = pst_service_dup_property_names (files);
  g_assert_cmpuint (g_strv_length (props), ==, 5);
  dir = pst_service_dup_resolved_path (files, "directory");
  expected_dir = g_strdup (pst_config_get_directory (config));
  g_assert_cmpstr (dir, ==, expected_dir);
  g_assert_null (pst_service_dup_resolved_path (files, "error-pages-directory"));

  proxy = pst_config_get_service (config, 2);
  g_assert_cmpstr (pst_service_get_connect (proxy, 0), ==, "ssl://localhost:61617");
  g_assert_cmpstr (pst_options_get_verify_client (pst_service_get_accept_options (proxy)), ==, "optional");
  g_assert_cmpstr (pst_options_get (pst_service_get_connect_options (proxy), "ssl.protocols"), ==, "TLSv1.2,TLSv1.3");
  /* connect options have no service-defaults parent */
  g_assert_null (pst_options_get (pst_service_get_connect_options (proxy), "ws.inactivity.timeout"));
  g_assert_null (pst_config_find_service (config, "nope"));
}

static void
test_properties_and_stores (void)
{
  g_autoptr(PstConfig) config = load_fixture ("valid.xml");
  g_auto(GStrv) names = pst_config_dup_property_names (config);
  const PstStoreRef *ks = pst_config_get_keystore (config);
  const PstStoreRef *ts = pst_config_get_truststore (config);
  g_autofree char *expected = g_build_filename (pst_config_get_directory (config), "keystore.p12", NULL);
  g_autofree char *expected_pw = g_build_filename (pst_config_get_directory (config), "keystore.pw", NULL);

  g_assert_cmpuint (g_strv_length (names), ==, 2);
  g_assert_cmpstr (names[0], ==, "host");
  g_assert_cmpstr (pst_config_get_property (config, "echo.url"), ==, "wss://localhost:9000/echo");
  g_assert_cmpstr (pst_config_get_property_raw (config, "echo.url"), ==, "wss://${host}:9000/echo");
  g_assert_null (pst_config_get_property (config, "nope"));

  g_assert_true (g_path_is_absolute (pst_config_get_path (config)));
  g_assert_cmpstr (ks->type, ==, "PKCS12");
  g_assert_cmpstr (ks->file, ==, expected);
  g_assert_cmpstr (ks->password_file, ==, expected_pw);
  g_assert_cmpuint (ks->line, ==, 70);
  g_assert_null (ts->type);
  g_assert_nonnull (ts->file);
  g_assert_true (g_path_is_absolute (ts->file));
  {
    g_autofree char *abs = pst_config_resolve_path (config, "/etc/x");
    g_autofree char *rel = pst_config_resolve_path (config, "a/../b");
    g_autofree char *want = g_build_filename (pst_config_get_directory (config), "b", NULL);
    g_assert_cmpstr (abs, ==, "/etc/x");
    g_assert_cmpstr (rel, ==, want);
  }
}

static void
test_no_store (void)
{
  const char *text = "<gateway-config><service><name>e</name><accept>ws://localhost:1/</accept>"
                     "<type>echo</type></service></gateway-config>";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "/tmp/x/g.xml", &error);

  g_assert_no_error (error);
  g_assert_null (pst_config_get_keystore (config)->file);
  g_assert_cmpuint (pst_config_get_keystore (config)->line, ==, 0);
  g_assert_null (pst_config_get_truststore (config)->file);
  g_assert_cmpstr (pst_config_get_directory (config), ==, "/tmp/x");
  g_assert_cmpstr (pst_config_get_display_path (config), ==, "/tmp/x/g.xml");
}

static void
test_namespaces (void)
{
  static const char * const roots[] = {
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">",
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2015/11/gateway\">",
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2014/09/gateway\">",
    "<gateway-config>",
    "<k:gateway-config xmlns:k=\"http://xmlns.kaazing.org/2016/06/gateway\">",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (roots); i++)
    {
      const char *p = roots[i][1] == 'k' ? "k:" : "";
      g_autofree char *text = g_strdup_printf ("%s\n<%sservice><%sname>e</%sname><%saccept>ws://localhost:8000/</%saccept>"
                                               "<%stype>echo</%stype></%sservice></%sgateway-config>\n",
                                               roots[i], p, p, p, p, p, p, p, p, p);
      g_autoptr(GError) error = NULL;
      g_autoptr(PstConfig) config = NULL;
      g_autoptr(GPtrArray) diagnostics = NULL;

      config = pst_config_new_from_data (text, strlen (text), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (pst_config_get_n_services (config), ==, 1);
      g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (config, 0), 0), ==, "ws://localhost:8000/");
      diagnostics = pst_config_validate (config);
      ctu_dump (diagnostics);
      g_assert_cmpuint (diagnostics->len, ==, 0);
    }
}

static void
test_foreign_namespace (void)
{
  const char *text = "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\" xmlns:x=\"urn:x\">\n"
                     "<service><name>e</name><accept>ws://localhost:8000/</accept><type>echo</type>\n"
                     "  <x:accept>ws://localhost:8001/</x:accept></service></gateway-config>";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "f.xml", &error);
  g_autoptr(GPtrArray) diagnostics = NULL;

  g_assert_no_error (error);
  /* an element of another namespace is not ours, even with our name */
  g_assert_cmpuint (pst_service_get_n_accepts (pst_config_get_service (config, 0)), ==, 1);
  diagnostics = pst_config_validate (config);
  ctu_assert_diagnostic (diagnostics, PST_SEVERITY_WARNING, 3, "namespace “urn:x”");
  g_assert_cmpuint (pst_diagnostic_get_column (g_ptr_array_index (diagnostics, 0)), ==, 3);
}

static void
test_wrong_namespace_root (void)
{
  const char *text = "<gateway-config xmlns=\"urn:other\"/>";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "w.xml", &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_ROOT);
  g_assert_true (g_str_has_prefix (error->message, "w.xml:1:1: error: "));
  g_assert_nonnull (strstr (error->message, "urn:other"));
}

static void
test_malformed (void)
{
  g_autofree char *path = ctu_fixture_path ("malformed.xml");
  g_autofree char *prefix = g_strdup_printf ("%s:5:", path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message, ": error: "));
  g_assert_nonnull (strstr (error->message, "nam"));
}

static void
test_doctype_refused (void)
{
  g_autofree char *path = ctu_fixture_path ("doctype.xml");
  g_autofree char *prefix = g_strdup_printf ("%s:2:1: error: ", path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  g_assert_nonnull (strstr (error->message, "DOCTYPE"));
}

/* An external entity must never be fetched nor read from disk. */
static void
test_external_entity (void)
{
  const char *text = "<?xml version=\"1.0\"?>\n<!DOCTYPE gateway-config SYSTEM \"file:///etc/passwd\">\n"
                     "<gateway-config/>";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "x.xml", &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
}

static void
test_wrong_root (void)
{
  g_autofree char *path = ctu_fixture_path ("wrong-root.xml");
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_ROOT);
  g_assert_nonnull (strstr (error->message, "<gateway>"));
  g_assert_nonnull (strstr (error->message, ":2:1: error: "));
}

static void
test_too_large (void)
{
  gsize len = PST_CONFIG_MAX_SIZE + 1;
  g_autofree char *data = g_malloc (len);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autofree char *dir = g_dir_make_tmp ("postern-big-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "big.xml", NULL);

  memset (data, ' ', len);
  config = pst_config_new_from_data (data, len, "big.xml", &error);
  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_clear_error (&error);

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  config = pst_config_new_from_file (path, &error);
  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "larger than"));
  ctu_remove_tree (dir);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_file ("/nonexistent/gateway-config.xml", &error);

  g_assert_null (config);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, "/nonexistent/gateway-config.xml: error: "));
}

static void
test_default_text (void)
{
  const char *text = pst_config_get_default_text ();
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "conf", "gateway-config.xml", NULL);
  g_autofree char *shipped = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;

  g_file_get_contents (path, &shipped, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, shipped);
  config = pst_config_new_from_data (text, strlen (text), NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pst_service_get_accept (pst_config_find_service (config, "echo"), 0), ==,
                   "ws://localhost:8000/echo");
}

static void
test_substitution_everywhere (void)
{
  const char *text =
    "<gateway-config>\n"
    "  <properties><property><name>n</name><value>svc</value></property>\n"
    "  <property><name>t</name><value>echo</value></property>\n"
    "  <property><name>dir</name><value>ks</value></property></properties>\n"
    "  <service><name>${n}-1</name><description>about ${n}</description>\n"
    "    <accept>ws://localhost:8000/${n}</accept><type>${t}</type>\n"
    "    <accept-options><ws.maximum.message.size>${n}</ws.maximum.message.size></accept-options>\n"
    "  </service>\n"
    "  <security><keystore><file>${dir}/k.p12</file></keystore></security>\n"
    "</gateway-config>\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "/tmp/p/g.xml", &error);
  PstService *service;

  g_assert_no_error (error);
  service = pst_config_get_service (config, 0);
  g_assert_cmpstr (pst_service_get_name (service), ==, "svc-1");
  g_assert_cmpstr (pst_service_get_description (service), ==, "about svc");
  g_assert_cmpstr (pst_service_get_service_type (service), ==, "echo");
  g_assert_cmpstr (pst_service_get_accept (service, 0), ==, "ws://localhost:8000/svc");
  g_assert_cmpstr (pst_options_get (pst_service_get_accept_options (service), "ws.maximum.message.size"), ==, "svc");
  g_assert_cmpstr (pst_config_get_keystore (config)->file, ==, "/tmp/p/ks/k.p12");
}

static void
test_urls (void)
{
  static const struct { const char *text; const char *scheme, *host; guint port; const char *path; gboolean secure; } good[] = {
    { "ws://localhost:8000/echo", "ws", "localhost", 8000, "/echo", FALSE },
    { "WSS://Example.org/x?y#z", "wss", "Example.org", 443, "/x", TRUE },
    { "http://127.0.0.1", "http", "127.0.0.1", 80, "/", FALSE },
    { "https://[::1]:9000/a/b", "https", "::1", 9000, "/a/b", TRUE },
    { "tcp://localhost:65535", "tcp", "localhost", 65535, "/", FALSE },
    { "ssl://backend:1", "ssl", "backend", 1, "/", TRUE },
  };
  static const struct { const char *text; int code; } bad[] = {
    { "localhost:8000", PST_URL_ERROR_SYNTAX },
    { "ws://", PST_URL_ERROR_SYNTAX },
    { "ws://a b:80/", PST_URL_ERROR_SYNTAX },
    { "ws://user@host/", PST_URL_ERROR_SYNTAX },
    { "ws://[::1/", PST_URL_ERROR_SYNTAX },
    { "ws://h/a b", PST_URL_ERROR_SYNTAX },
    { "ws://h:0/", PST_URL_ERROR_PORT },
    { "ws://h:65536/", PST_URL_ERROR_PORT },
    { "ws://h:-1/", PST_URL_ERROR_PORT },
    { "ws://h:/", PST_URL_ERROR_PORT },
    { "ws://h:99999999999999999999/", PST_URL_ERROR_PORT },
    { "tcp://h", PST_URL_ERROR_PORT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PstUrl) url = pst_url_parse (good[i].text, &error);
      g_autoptr(PstUrl) copy = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (url->scheme, ==, good[i].scheme);
      g_assert_cmpstr (url->host, ==, good[i].host);
      g_assert_cmpuint (url->port, ==, good[i].port);
      g_assert_cmpstr (url->path, ==, good[i].path);
      g_assert_cmpint (url->secure, ==, good[i].secure);
      copy = pst_url_copy (url);
      g_assert_cmpstr (copy->host, ==, url->host);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PstUrl) url = pst_url_parse (bad[i].text, &error);

      g_assert_null (url);
      g_assert_error (error, PST_URL_ERROR, bad[i].code);
      g_assert_nonnull (strstr (error->message, bad[i].text));
    }
  {
    g_autoptr(PstUrl) url = pst_url_parse ("wss://[::1]:9000/echo", NULL);
    g_autofree char *s = pst_url_to_string (url);
    g_autofree char *a = pst_url_dup_authority (url);
    g_assert_cmpstr (s, ==, "wss://[::1]:9000/echo");
    g_assert_cmpstr (a, ==, "[::1]:9000");
  }
  g_assert_true (pst_url_scheme_is_secure ("SSL"));
  g_assert_false (pst_url_scheme_is_secure ("tcp"));
}

static void
test_durations_and_sizes (void)
{
  static const struct { const char *text; guint64 ms; } durations[] = {
    { "30", 30000 }, { "30s", 30000 }, { "1800sec", 1800000 }, { "1800 secs", 1800000 },
    { "1800 seconds", 1800000 }, { "1800seconds", 1800000 }, { "3m", 180000 }, { "3min", 180000 },
    { "3 minutes", 180000 }, { "1500ms", 1500 }, { "2 hours", 7200000 }, { " 5 ", 5000 },
  };
  static const char * const bad_durations[] = { "", "s", "soon", "-1", "1.5s", "3 fortnights", "10 s s" };
  static const struct { const char *text; guint64 bytes; } sizes[] = {
    { "2048", 2048 }, { "128k", 131072 }, { "128K", 131072 }, { "64KB", 65536 },
    { "1m", 1048576 }, { "128M", 134217728 }, { "1 MB", 1048576 },
  };
  static const char * const bad_sizes[] = { "", "k", "big", "-1", "1.5m", "12q" };
  guint64 value;

  for (gsize i = 0; i < G_N_ELEMENTS (durations); i++)
    {
      g_assert_true (pst_parse_duration_ms (durations[i].text, &value));
      g_assert_cmpuint (value, ==, durations[i].ms);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_durations); i++)
    g_assert_false (pst_parse_duration_ms (bad_durations[i], &value));
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_assert_true (pst_parse_size (sizes[i].text, &value));
      g_assert_cmpuint (value, ==, sizes[i].bytes);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_sizes); i++)
    g_assert_false (pst_parse_size (bad_sizes[i], &value));
}

static void
test_options_defaults (void)
{
  g_autoptr(PstOptions) parent = pst_options_new (NULL);
  g_autoptr(PstOptions) options = pst_options_new (parent);

  g_assert_true (pst_options_get_ssl_encryption (options));
  g_assert_cmpstr (pst_options_get_verify_client (options), ==, "none");
  pst_options_set (parent, "ssl.encryption", "disabled", 3);
  g_assert_false (pst_options_get_ssl_encryption (options));
  g_assert_cmpuint (pst_options_get_line (options, "ssl.encryption"), ==, 3);
  pst_options_set (options, "ssl.encryption", "enabled", 9);
  g_assert_true (pst_options_get_ssl_encryption (options));
  g_assert_cmpuint (pst_options_get_line (options, "ssl.encryption"), ==, 9);
  /* a typo never turns TLS off, nor client verification */
  pst_options_set (options, "ssl.encryption", "disable", 9);
  g_assert_true (pst_options_get_ssl_encryption (options));
  pst_options_set (options, "ssl.verify-client", "requierd", 10);
  g_assert_cmpstr (pst_options_get_verify_client (options), ==, "required");
  pst_options_set (options, "ssl.encryption", NULL, 0);
  g_assert_false (pst_options_get_ssl_encryption (options));
  {
    g_auto(GStrv) names = pst_options_dup_names (options);
    g_assert_cmpuint (g_strv_length (names), ==, 1);
    g_assert_cmpstr (names[0], ==, "ssl.verify-client");
  }
}

static void
test_diagnostic (void)
{
  g_autoptr(PstDiagnostic) d = pst_diagnostic_new (PST_SEVERITY_WARNING, "c.xml", 4, 0, "hm");
  g_autofree char *text = pst_diagnostic_to_string (d);

  g_assert_cmpstr (text, ==, "c.xml:4:1: warning: hm");
  g_assert_null (pst_diagnostic_get_service (d));
  pst_diagnostic_set_context (d, "echo", "accept");
  g_assert_cmpstr (pst_diagnostic_get_service (d), ==, "echo");
  g_assert_cmpstr (pst_diagnostic_get_field (d), ==, "accept");
  g_assert_false (pst_diagnostics_have_errors (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/config/parse/services", test_services);
  g_test_add_func ("/config/parse/properties-and-stores", test_properties_and_stores);
  g_test_add_func ("/config/parse/no-store", test_no_store);
  g_test_add_func ("/config/parse/namespaces", test_namespaces);
  g_test_add_func ("/config/parse/foreign-namespace", test_foreign_namespace);
  g_test_add_func ("/config/parse/wrong-namespace-root", test_wrong_namespace_root);
  g_test_add_func ("/config/parse/malformed", test_malformed);
  g_test_add_func ("/config/parse/doctype-refused", test_doctype_refused);
  g_test_add_func ("/config/parse/external-entity", test_external_entity);
  g_test_add_func ("/config/parse/wrong-root", test_wrong_root);
  g_test_add_func ("/config/parse/too-large", test_too_large);
  g_test_add_func ("/config/parse/missing-file", test_missing_file);
  g_test_add_func ("/config/parse/default-text", test_default_text);
  g_test_add_func ("/config/parse/substitution-everywhere", test_substitution_everywhere);
  g_test_add_func ("/config/parse/urls", test_urls);
  g_test_add_func ("/config/parse/durations-and-sizes", test_durations_and_sizes);
  g_test_add_func ("/config/parse/options-defaults", test_options_defaults);
  g_test_add_func ("/config/parse/diagnostic", test_diagnostic);

  return g_test_run ();
}
