/* test-config-edit.c: faithful saves and in-place edits of the kept document
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"

static const char small[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<!-- top -->\n"
  "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
  "\n"
  "  <!-- the echo service -->\n"
  "  <service>\n"
  "    <name>echo</name>\n"
  "    <accept>ws://localhost:8000/echo</accept>\n"
  "    <type>echo</type>\n"
  "  </service>\n"
  "\n"
  "  <service>\n"
  "    <name>web</name>\n"
  "    <accept>http://localhost:8000/</accept>\n"
  "    <type>directory</type>\n"
  "  </service>\n"
  "\n"
  "</gateway-config>\n";

typedef struct {
  PstConfig *config;
  guint      changed;
} Fixture;

static void
changed_cb (PstConfig *config, Fixture *fixture)
{
  fixture->changed++;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->config = pst_config_new_from_data (small, strlen (small), "/tmp/edit/gateway-config.xml", &error);
  g_assert_no_error (error);
  g_signal_connect (fixture->config, "changed", G_CALLBACK (changed_cb), fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->config);
}

/* small with the lines [from, from + n_remove) replaced by @insert (1-based) */
static char *
small_with (guint from, guint n_remove, const char *insert)
{
  g_auto(GStrv) lines = g_strsplit (small, "\n", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (i + 1 == from)
        g_string_append (out, insert);
      if (i + 1 >= from && i + 1 < from + n_remove)
        continue;
      g_string_append (out, lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

static void
assert_xml (Fixture *fixture, const char *expected)
{
  g_autofree char *xml = pst_config_to_xml (fixture->config, NULL);

  if (strcmp (xml, expected) != 0)
    g_test_message ("got:\n%s\nexpected:\n%s", xml, expected);
  g_assert_cmpstr (xml, ==, expected);
}

/* ------------------------------------------------------------------ */

static void
assert_round_trip (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autofree char *xml = NULL;
  gsize xml_len;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  config = pst_config_new_from_data (data, len, path, &error);
  g_assert_no_error (error);
  xml = pst_config_to_xml (config, &xml_len);
  g_test_message ("%s", path);
  g_assert_cmpstr (xml, ==, data);
  g_assert_cmpuint (xml_len, ==, len);
}

static void
test_round_trip_shipped (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "conf", "gateway-config.xml", NULL);

  assert_round_trip (path);
}

static void
test_round_trip_fixtures (void)
{
  g_autofree char *dir_path = ctu_fixture_path ("");
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);

      if (!g_str_has_suffix (name, ".xml") || strcmp (name, "malformed.xml") == 0 ||
          strcmp (name, "doctype.xml") == 0 || strcmp (name, "wrong-root.xml") == 0)
        continue;
      assert_round_trip (path);
      n++;
    }
  g_assert_cmpuint (n, >, 30);
}

static void
test_round_trip_odd_layouts (void)
{
  static const char * const texts[] = {
    /* no declaration, no final newline */
    "<gateway-config><service><name>e</name></service></gateway-config>",
    /* declaration without encoding, single quotes, CDATA, non-ASCII */
    "<?xml version='1.0'?>\n<gateway-config>\n  <service><name><![CDATA[a<b]]> é ☃</name></service>\n</gateway-config>\n",
    /* tabs, comments after the root, a processing instruction */
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<?editor x?>\n<gateway-config>\n\t<!-- c -->\n</gateway-config>\n<!-- after -->\n",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PstConfig) config = pst_config_new_from_data (texts[i], strlen (texts[i]), NULL, &error);
      g_autofree char *xml = NULL;

      g_assert_no_error (error);
      xml = pst_config_to_xml (config, NULL);
      g_assert_cmpstr (xml, ==, texts[i]);
    }
}

/* Editing one accept of the shipped file changes that line only. */
static void
test_edit_one_accept_shipped (void)
{
  const char *text = pst_config_get_default_text ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), NULL, &error);
  g_autofree char *xml = NULL;
  g_auto(GStrv) before = g_strsplit (text, "\n", -1);
  g_auto(GStrv) after = NULL;
  guint line = pst_service_get_accept_line (pst_config_find_service (config, "echo"), 1);
  guint differing = 0;

  g_assert_no_error (error);
  g_assert_true (pst_config_set_accept (config, 0, 1, "wss://${gateway.hostname}:9443/echo", &error));
  g_assert_no_error (error);
  xml = pst_config_to_xml (config, NULL);
  after = g_strsplit (xml, "\n", -1);
  g_assert_cmpuint (g_strv_length (after), ==, g_strv_length (before));
  for (guint i = 0; before[i] != NULL; i++)
    if (strcmp (before[i], after[i]) != 0)
      {
        differing++;
        g_assert_cmpuint (i + 1, ==, line);
        g_assert_cmpstr (after[i], ==, "    <accept>wss://${gateway.hostname}:9443/echo</accept>");
      }
  g_assert_cmpuint (differing, ==, 1);
  /* the views follow the document */
  g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (config, 0), 1), ==, "wss://localhost:9443/echo");
}

static void
test_save (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-save-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(PstConfig) again = NULL;
  g_autofree char *saved = NULL;

  g_file_set_contents (path, small, -1, &error);
  g_assert_no_error (error);
  config = pst_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_true (pst_config_set_accept (config, 1, 0, "http://localhost:8080/", &error));
  g_assert_true (pst_config_save (config, NULL, &error));
  g_assert_no_error (error);
  g_file_get_contents (path, &saved, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (saved, "<!-- the echo service -->"));
  again = pst_config_new_from_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (again, 1), 0), ==, "http://localhost:8080/");

  g_assert_false (pst_config_save (config, "/nonexistent/dir/x.xml", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO);
  ctu_remove_tree (dir);
}

/* ------------------------------------------------------------------ */

static void
test_accepts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *added = small_with (9, 0, "    <accept>wss://localhost:9000/echo</accept>\n");

  g_assert_true (pst_config_add_accept (f->config, 0, "wss://localhost:9000/echo", &error));
  g_assert_no_error (error);
  assert_xml (f, added);
  g_assert_cmpuint (pst_service_get_n_accepts (pst_config_get_service (f->config, 0)), ==, 2);
  g_assert_cmpuint (pst_service_get_accept_line (pst_config_get_service (f->config, 0), 1), ==, 9);

  g_assert_true (pst_config_remove_accept (f->config, 0, 0, &error));
  {
    g_autofree char *removed = small_with (8, 1, "    <accept>wss://localhost:9000/echo</accept>\n");
    assert_xml (f, removed);
  }
  g_assert_false (pst_config_remove_accept (f->config, 0, 5, &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pst_config_set_accept (f->config, 7, 0, "ws://x:1/", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (pst_config_set_accept (f->config, 0, 0, "", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_assert_cmpuint (f->changed, ==, 2);
}

static void
test_connects (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (9, 1, "    <connect>tcp://localhost:5000</connect>\n    <type>proxy</type>\n");

  g_assert_true (pst_config_set_service_type (f->config, 0, "proxy", &error));
  g_assert_true (pst_config_add_connect (f->config, 0, "tcp://localhost:5000", &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  g_assert_true (pst_config_set_connect (f->config, 0, 0, "ssl://localhost:5001", &error));
  g_assert_cmpstr (pst_service_get_connect (pst_config_get_service (f->config, 0), 0), ==, "ssl://localhost:5001");
  g_assert_true (pst_config_remove_connect (f->config, 0, 0, &error));
  g_assert_true (pst_config_set_service_type (f->config, 0, "echo", &error));
  assert_xml (f, small);
}

static void
test_service_texts (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (7, 1, "    <name>talk &amp; echo</name>\n    <description>Says &lt;it&gt; back</description>\n");

  g_assert_true (pst_config_set_service_text (f->config, 0, "name", "talk & echo", &error));
  g_assert_true (pst_config_set_service_description (f->config, 0, "Says <it> back", &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  g_assert_cmpstr (pst_service_get_name (pst_config_get_service (f->config, 0)), ==, "talk & echo");
  g_assert_true (pst_config_set_service_text (f->config, 0, "description", NULL, &error));
  g_assert_true (pst_config_set_service_name (f->config, 0, "echo", &error));
  assert_xml (f, small);
  g_assert_false (pst_config_set_service_text (f->config, 0, "colour", "red", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pst_config_set_service_name (f->config, 0, NULL, &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
}

static void
test_service_properties (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (16, 0,
                                          "    <properties>\n"
                                          "      <directory>www</directory>\n"
                                          "      <welcome-file>index.html</welcome-file>\n"
                                          "    </properties>\n");

  g_assert_true (pst_config_set_service_property (f->config, 1, "welcome-file", "index.html", &error));
  g_assert_true (pst_config_set_service_property (f->config, 1, "directory", "www", &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  g_assert_cmpstr (pst_service_get_property (pst_config_get_service (f->config, 1), "directory"), ==, "www");
  g_assert_true (pst_config_set_service_property (f->config, 1, "directory", NULL, &error));
  g_assert_true (pst_config_set_service_property (f->config, 1, "welcome-file", NULL, &error));
  assert_xml (f, small);
  g_assert_false (pst_config_set_service_property (f->config, 1, "not an element", "x", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
}

static void
test_options (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (10, 0,
                                          "    <accept-options>\n"
                                          "      <ssl.encryption>disabled</ssl.encryption>\n"
                                          "      <ws.maximum.message.size>64k</ws.maximum.message.size>\n"
                                          "    </accept-options>\n"
                                          "    <connect-options>\n"
                                          "      <ssl.protocols>TLSv1.3</ssl.protocols>\n"
                                          "    </connect-options>\n");
  PstOptions *options;

  g_assert_true (pst_config_set_connect_option (f->config, 0, "ssl.protocols", "TLSv1.3", &error));
  g_assert_true (pst_config_set_accept_option (f->config, 0, "ssl.encryption", "enabled", &error));
  g_assert_true (pst_config_set_accept_option (f->config, 0, "ws.maximum.message.size", "64k", &error));
  g_assert_true (pst_config_set_accept_option (f->config, 0, "ssl.encryption", "disabled", &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  options = pst_service_get_accept_options (pst_config_get_service (f->config, 0));
  g_assert_false (pst_options_get_ssl_encryption (options));
  g_assert_cmpuint (pst_options_get_line (options, "ssl.encryption"), ==, 11);

  g_assert_true (pst_config_set_accept_option (f->config, 0, "ssl.encryption", NULL, &error));
  g_assert_true (pst_config_set_accept_option (f->config, 0, "ws.maximum.message.size", NULL, &error));
  g_assert_true (pst_config_set_connect_option (f->config, 0, "ssl.protocols", NULL, &error));
  /* unsetting what is not there is fine */
  g_assert_true (pst_config_set_connect_option (f->config, 0, "ssl.protocols", NULL, &error));
  g_assert_no_error (error);
  assert_xml (f, small);
}

static void
test_allow_origins (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char * const origins[] = { "https://a.example", "*", NULL };
  const char * const one[] = { "https://b.example", NULL };
  g_autofree char *expected = small_with (10, 0,
                                          "    <cross-site-constraint>\n"
                                          "      <allow-origin>https://b.example</allow-origin>\n"
                                          "    </cross-site-constraint>\n");
  const char * const *got;

  g_assert_true (pst_config_set_allow_origins (f->config, 0, origins, &error));
  got = pst_service_get_allow_origins (pst_config_get_service (f->config, 0));
  g_assert_cmpuint (g_strv_length ((GStrv)got), ==, 2);
  g_assert_cmpstr (got[1], ==, "*");
  g_assert_true (pst_config_set_allow_origins (f->config, 0, one, &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  g_assert_true (pst_config_set_allow_origins (f->config, 0, NULL, &error));
  assert_xml (f, small);
  g_assert_null (pst_service_get_allow_origins (pst_config_get_service (f->config, 0)));
}

static void
test_add_service (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint index = 99;
  g_autofree char *expected = small_with (17, 0,
                                          "\n"
                                          "  <service>\n"
                                          "    <name>backend</name>\n"
                                          "    <accept>ws://localhost:8000/backend</accept>\n"
                                          "    <connect>tcp://localhost:5000</connect>\n"
                                          "    <type>proxy</type>\n"
                                          "  </service>\n");
  PstService *service;

  g_assert_true (pst_config_add_service (f->config, "backend", "proxy", &index, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (index, ==, 2);
  assert_xml (f, expected);
  service = pst_config_get_service (f->config, 2);
  g_assert_cmpstr (pst_service_get_name (service), ==, "backend");
  g_assert_cmpuint (pst_service_get_line (service), ==, 18);
}

static void
test_add_service_to_empty (void)
{
  const char *text = "<gateway-config>\n</gateway-config>\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), NULL, &error);
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autofree char *xml = NULL;

  g_assert_true (pst_config_add_service (config, "files", "directory", NULL, &error));
  g_assert_no_error (error);
  xml = pst_config_to_xml (config, NULL);
  g_assert_cmpstr (xml, ==,
                   "<gateway-config>\n"
                   "  <service>\n"
                   "    <name>files</name>\n"
                   "    <accept>http://localhost:8000/files/</accept>\n"
                   "    <type>directory</type>\n"
                   "    <properties>\n"
                   "      <directory>web</directory>\n"
                   "    </properties>\n"
                   "  </service>\n"
                   "</gateway-config>\n");
  diagnostics = pst_config_validate (config);
  /* only "the folder … does not exist" */
  g_assert_false (pst_diagnostics_have_errors (diagnostics));
}

static void
test_duplicate_service (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint index = 0;
  g_autofree char *expected = small_with (11, 0,
                                          "\n"
                                          "  <service>\n"
                                          "    <name>echo-copy</name>\n"
                                          "    <accept>ws://localhost:8000/echo</accept>\n"
                                          "    <type>echo</type>\n"
                                          "  </service>\n");
  g_autoptr(GPtrArray) diagnostics = NULL;

  g_assert_true (pst_config_duplicate_service (f->config, 0, &index, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (index, ==, 1);
  assert_xml (f, expected);
  /* the copy claims the same URL: validation says so, at the copy's line */
  diagnostics = pst_config_validate (f->config);
  ctu_assert_diagnostic (diagnostics, PST_SEVERITY_ERROR, 14, "already accepted by service “echo” on line 8");
}

static void
test_remove_service (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  /* the comment right above the service goes with it */
  g_autofree char *expected = small_with (4, 7, "");

  g_assert_true (pst_config_remove_service (f->config, 0, &error));
  g_assert_no_error (error);
  assert_xml (f, expected);
  g_assert_cmpuint (pst_config_get_n_services (f->config), ==, 1);
  g_assert_false (pst_config_remove_service (f->config, 1, &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
}

static void
test_move_service (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const char *moved =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!-- top -->\n"
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "\n"
    "  <service>\n"
    "    <name>web</name>\n"
    "    <accept>http://localhost:8000/</accept>\n"
    "    <type>directory</type>\n"
    "  </service>\n"
    "\n"
    "  <!-- the echo service -->\n"
    "  <service>\n"
    "    <name>echo</name>\n"
    "    <accept>ws://localhost:8000/echo</accept>\n"
    "    <type>echo</type>\n"
    "  </service>\n"
    "\n"
    "</gateway-config>\n";

  g_assert_true (pst_config_move_service (f->config, 0, 1, &error));
  g_assert_no_error (error);
  assert_xml (f, moved);
  g_assert_cmpstr (pst_service_get_name (pst_config_get_service (f->config, 0)), ==, "web");
  g_assert_true (pst_config_move_service (f->config, 1, 0, &error));
  g_assert_no_error (error);
  assert_xml (f, small);
  g_assert_false (pst_config_move_service (f->config, 0, 2, &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
}

static void
test_global_properties (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (5, 0,
                                          "  <properties>\n"
                                          "    <property>\n"
                                          "      <name>host</name>\n"
                                          "      <value>example.org</value>\n"
                                          "    </property>\n"
                                          "    <property>\n"
                                          "      <name>port</name>\n"
                                          "      <value>8000</value>\n"
                                          "    </property>\n"
                                          "  </properties>\n"
                                          "\n");

  g_assert_true (pst_config_set_property (f->config, "hostname", "localhost", &error));
  g_assert_true (pst_config_set_property (f->config, "port", "8000", &error));
  g_assert_true (pst_config_rename_property (f->config, "hostname", "host", &error));
  g_assert_true (pst_config_set_property (f->config, "host", "example.org", &error));
  g_assert_no_error (error);
  /* the properties element goes first, before the first service */
  assert_xml (f, expected);
  g_assert_cmpstr (pst_config_get_property (f->config, "host"), ==, "example.org");
  g_assert_false (pst_config_rename_property (f->config, "port", "host", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pst_config_remove_property (f->config, "nope", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (pst_config_set_accept (f->config, 0, 0, "ws://${host}:${port}/echo", &error));
  g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (f->config, 0), 0), ==, "ws://example.org:8000/echo");
  g_assert_true (pst_config_remove_property (f->config, "port", &error));
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) diagnostics = pst_config_validate (f->config);
    ctu_assert_diagnostic (diagnostics, PST_SEVERITY_ERROR, 15, "undefined property “${port}”");
  }
}

static void
test_stores (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = small_with (17, 0,
                                          "\n"
                                          "  <security>\n"
                                          "    <keystore>\n"
                                          "      <type>PKCS12</type>\n"
                                          "      <file>keystore.db</file>\n"
                                          "      <password-file>keystore.pw</password-file>\n"
                                          "    </keystore>\n"
                                          "    <truststore>\n"
                                          "      <file>truststore.db</file>\n"
                                          "    </truststore>\n"
                                          "  </security>\n");
  const PstStoreRef *ks;

  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_TRUSTSTORE, "file", "truststore.db", &error));
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "password-file", "keystore.pw", &error));
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "file", "keystore.db", &error));
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "type", "PKCS12", &error));
  g_assert_no_error (error);
  /* security goes after the last service, with a blank line like theirs */
  assert_xml (f, expected);
  ks = pst_config_get_keystore (f->config);
  g_assert_cmpstr (ks->file, ==, "/tmp/edit/keystore.db");
  g_assert_cmpstr (ks->type, ==, "PKCS12");
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "type", NULL, &error));
  g_assert_null (pst_config_get_keystore (f->config)->type);
  g_assert_true (pst_config_remove_store (f->config, PST_STORE_KIND_TRUSTSTORE, &error));
  g_assert_null (pst_config_get_truststore (f->config)->file);
  g_assert_false (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "colour", "x", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_clear_error (&error);

  /* the editor's "Remember in keyring" */
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "password-file", NULL, &error));
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "password-keyring", "true", &error));
  g_assert_no_error (error);
  ks = pst_config_get_keystore (f->config);
  g_assert_true (ks->password_keyring);
  g_assert_null (ks->password_file);
  g_assert_true (pst_config_set_store_field (f->config, PST_STORE_KIND_KEYSTORE, "password-keyring", NULL, &error));
  g_assert_false (pst_config_get_keystore (f->config)->password_keyring);
}

/* Edits keep working in a document that uses a namespace prefix. */
static void
test_prefixed_document (void)
{
  const char *text =
    "<k:gateway-config xmlns:k=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <k:service>\n"
    "    <k:name>e</k:name>\n"
    "    <k:accept>ws://localhost:8000/</k:accept>\n"
    "    <k:type>echo</k:type>\n"
    "  </k:service>\n"
    "</k:gateway-config>\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), NULL, &error);
  g_autofree char *xml = NULL;

  g_assert_true (pst_config_add_accept (config, 0, "ws://localhost:8001/", &error));
  g_assert_no_error (error);
  xml = pst_config_to_xml (config, NULL);
  g_assert_nonnull (strstr (xml, "    <k:accept>ws://localhost:8000/</k:accept>\n    <k:accept>ws://localhost:8001/</k:accept>\n"));
  g_assert_cmpuint (pst_service_get_n_accepts (pst_config_get_service (config, 0)), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/config/edit/round-trip-shipped", test_round_trip_shipped);
  g_test_add_func ("/config/edit/round-trip-fixtures", test_round_trip_fixtures);
  g_test_add_func ("/config/edit/round-trip-odd-layouts", test_round_trip_odd_layouts);
  g_test_add_func ("/config/edit/one-accept-shipped", test_edit_one_accept_shipped);
  g_test_add_func ("/config/edit/save", test_save);
  g_test_add_func ("/config/edit/add-service-to-empty", test_add_service_to_empty);
  g_test_add_func ("/config/edit/prefixed-document", test_prefixed_document);
#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/config/edit/accepts", test_accepts);
  ADD ("/config/edit/connects", test_connects);
  ADD ("/config/edit/service-texts", test_service_texts);
  ADD ("/config/edit/service-properties", test_service_properties);
  ADD ("/config/edit/options", test_options);
  ADD ("/config/edit/allow-origins", test_allow_origins);
  ADD ("/config/edit/add-service", test_add_service);
  ADD ("/config/edit/duplicate-service", test_duplicate_service);
  ADD ("/config/edit/remove-service", test_remove_service);
  ADD ("/config/edit/move-service", test_move_service);
  ADD ("/config/edit/global-properties", test_global_properties);
  ADD ("/config/edit/stores", test_stores);
#undef ADD

  return g_test_run ();
}
