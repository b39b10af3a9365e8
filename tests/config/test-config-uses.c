/* test-config-uses.c: where a property is used, and renaming it with its references
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "config-test-util.h"

/* Line numbers matter: the uses report them. */
static const char fixture_xml[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                    /*  1 */
  "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"          /*  2 */
  "  <properties>\n"                                                              /*  3 */
  "    <property>\n"                                                              /*  4 */
  "      <name>host</name>\n"                                                     /*  5 */
  "      <value>localhost</value>\n"                                              /*  6 */
  "    </property>\n"                                                             /*  7 */
  "    <property>\n"                                                              /*  8 */
  "      <name>base</name>\n"                                                     /*  9 */
  "      <value>ws://${host}:8000</value>\n"                                      /* 10 */
  "    </property>\n"                                                             /* 11 */
  "    <property>\n"                                                             /* 12 */
  "      <name>conf</name>\n"                                                     /* 13 */
  "      <value>/etc/${hostname}</value>\n"                                       /* 14 */
  "    </property>\n"                                                             /* 15 */
  "  </properties>\n"                                                             /* 16 */
  "  <!-- ${host} in a comment is not a use -->\n"                                /* 17 */
  "  <service>\n"                                                                 /* 18 */
  "    <name>echo</name>\n"                                                       /* 19 */
  "    <accept>${base}/echo</accept>\n"                                           /* 20 */
  "    <accept>wss://${host}:9000/echo</accept>\n"                                /* 21 */
  "    <type>echo</type>\n"                                                       /* 22 */
  "  </service>\n"                                                                /* 23 */
  "  <service>\n"                                                                 /* 24 */
  "    <name>web</name>\n"                                                        /* 25 */
  "    <accept>http://${host}:8000/${host}/</accept>\n"                           /* 26 */
  "    <type>directory</type>\n"                                                  /* 27 */
  "    <properties>\n"                                                            /* 28 */
  "      <directory>/srv/${host}</directory>\n"                                   /* 29 */
  "    </properties>\n"                                                           /* 30 */
  "  </service>\n"                                                                /* 31 */
  "  <service>\n"                                                                 /* 32 */
  "    <name>proxy</name>\n"                                                      /* 33 */
  "    <accept>ws://localhost:8000/proxy</accept>\n"                              /* 34 */
  "    <connect>tcp://${hostx}:5000</connect>\n"                                  /* 35 */
  "    <type>proxy</type>\n"                                                      /* 36 */
  "  </service>\n"                                                                /* 37 */
  "  <security>\n"                                                                /* 38 */
  "    <keystore>\n"                                                              /* 39 */
  "      <type>PKCS12</type>\n"                                                   /* 40 */
  "      <file>/etc/${host}/keystore.p12</file>\n"                                /* 41 */
  "      <password-file>keystore.pw</password-file>\n"                            /* 42 */
  "    </keystore>\n"                                                             /* 43 */
  "  </security>\n"                                                               /* 44 */
  "</gateway-config>\n";

static PstConfig *
load (void)
{
  g_autoptr(GError) error = NULL;
  PstConfig *config = pst_config_new_from_data (fixture_xml, strlen (fixture_xml),
                                                "/tmp/uses/gateway-config.xml", &error);

  g_assert_no_error (error);
  return config;
}

static void
assert_use (GPtrArray          *uses,
            guint               i,
            PstPropertyUseKind  kind,
            const char         *owner,
            const char         *element,
            guint               line)
{
  PstPropertyUse *use;

  g_assert_cmpuint (i, <, uses->len);
  use = g_ptr_array_index (uses, i);
  g_assert_cmpint (use->kind, ==, kind);
  g_assert_cmpstr (use->owner, ==, owner);
  g_assert_cmpstr (use->element, ==, element);
  g_assert_cmpuint (use->line, ==, line);
}

static void
test_uses (void)
{
  g_autoptr(PstConfig) config = load ();
  g_autoptr(GPtrArray) host = pst_config_dup_property_uses (config, "host");
  g_autoptr(GPtrArray) base = pst_config_dup_property_uses (config, "base");
  g_autoptr(GPtrArray) unused = pst_config_dup_property_uses (config, "conf");
  g_autoptr(GPtrArray) undefined = pst_config_dup_property_uses (config, "hostname");
  g_autofree char *text = NULL;

  /* another property, services (twice in one element counts once),
   * a service's own properties, a store path; not the comment, not
   * ${hostname} or ${hostx} */
  g_assert_cmpuint (host->len, ==, 5);
  assert_use (host, 0, PST_PROPERTY_USE_PROPERTY, "base", "value", 10);
  assert_use (host, 1, PST_PROPERTY_USE_SERVICE, "echo", "accept", 21);
  assert_use (host, 2, PST_PROPERTY_USE_SERVICE, "web", "accept", 26);
  assert_use (host, 3, PST_PROPERTY_USE_SERVICE, "web", "properties/directory", 29);
  assert_use (host, 4, PST_PROPERTY_USE_OTHER, "keystore", "file", 41);

  g_assert_cmpuint (base->len, ==, 1);
  assert_use (base, 0, PST_PROPERTY_USE_SERVICE, "echo", "accept", 20);

  g_assert_cmpuint (unused->len, ==, 0);
  /* an undefined name is still found where it is written */
  g_assert_cmpuint (undefined->len, ==, 1);
  assert_use (undefined, 0, PST_PROPERTY_USE_PROPERTY, "conf", "value", 14);

  text = pst_property_use_to_string (g_ptr_array_index (host, 1));
  g_assert_cmpstr (text, ==, "service “echo”, accept (line 21)");
  g_clear_pointer (&text, g_free);
  text = pst_property_use_to_string (g_ptr_array_index (host, 0));
  g_assert_cmpstr (text, ==, "property “base”, value (line 10)");
  g_clear_pointer (&text, g_free);
  text = pst_property_use_to_string (g_ptr_array_index (host, 4));
  g_assert_cmpstr (text, ==, "keystore, file (line 41)");
}

static void
changed_cb (PstConfig *config, guint *n)
{
  (*n)++;
}

static void
test_rename_and_references (void)
{
  g_autoptr(PstConfig) config = load ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) old_uses = NULL;
  g_autoptr(GPtrArray) new_uses = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *expected = NULL;
  PstService *web;
  guint changed = 0;

  g_signal_connect (config, "changed", G_CALLBACK (changed_cb), &changed);
  g_assert_true (pst_config_rename_property_and_references (config, "host", "gateway.host", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (changed, ==, 1);

  /* exactly the references changed: the comment, ${hostname} and
   * ${hostx} are as written */
  {
    g_autoptr(GString) s = g_string_new (fixture_xml);
    g_string_replace (s, "<name>host</name>", "<name>gateway.host</name>", 0);
    g_string_replace (s, "ws://${host}:8000</value>", "ws://${gateway.host}:8000</value>", 0);
    g_string_replace (s, "wss://${host}:9000", "wss://${gateway.host}:9000", 0);
    g_string_replace (s, "http://${host}:8000/${host}/", "http://${gateway.host}:8000/${gateway.host}/", 0);
    g_string_replace (s, "/srv/${host}", "/srv/${gateway.host}", 0);
    g_string_replace (s, "/etc/${host}/keystore", "/etc/${gateway.host}/keystore", 0);
    expected = g_string_free (g_steal_pointer (&s), FALSE);
  }
  xml = pst_config_to_xml (config, NULL);
  g_assert_cmpstr (xml, ==, expected);
  g_assert_nonnull (strstr (xml, "<!-- ${host} in a comment is not a use -->"));

  old_uses = pst_config_dup_property_uses (config, "host");
  g_assert_cmpuint (old_uses->len, ==, 0);
  new_uses = pst_config_dup_property_uses (config, "gateway.host");
  g_assert_cmpuint (new_uses->len, ==, 5);

  /* and the views substitute the new name */
  g_assert_null (pst_config_get_property (config, "host"));
  g_assert_cmpstr (pst_config_get_property (config, "base"), ==, "ws://localhost:8000");
  web = pst_config_find_service (config, "web");
  g_assert_nonnull (web);
  g_assert_cmpstr (pst_service_get_property (web, "directory"), ==, "/srv/localhost");
}

static void
test_rename_refused (void)
{
  g_autoptr(PstConfig) config = load ();
  g_autoptr(GError) error = NULL;
  g_autofree char *xml = NULL;

  /* an existing name, a name that could not be referred to: nothing changes */
  g_assert_false (pst_config_rename_property_and_references (config, "host", "base", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pst_config_rename_property_and_references (config, "host", "a}b", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pst_config_rename_property_and_references (config, "nope", "other", &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND);
  g_clear_error (&error);
  xml = pst_config_to_xml (config, NULL);
  g_assert_cmpstr (xml, ==, fixture_xml);
}

/* The plain rename leaves references alone (the editor warns first). */
static void
test_rename_only (void)
{
  g_autoptr(PstConfig) config = load ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) uses = NULL;

  g_assert_true (pst_config_rename_property (config, "host", "gateway.host", &error));
  g_assert_no_error (error);
  uses = pst_config_dup_property_uses (config, "host");
  g_assert_cmpuint (uses->len, ==, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/config/uses/find", test_uses);
  g_test_add_func ("/config/uses/rename-and-references", test_rename_and_references);
  g_test_add_func ("/config/uses/rename-refused", test_rename_refused);
  g_test_add_func ("/config/uses/rename-only", test_rename_only);
  return g_test_run ();
}
