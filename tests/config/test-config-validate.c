/* test-config-validate.c: one fixture per validation rule, exact lines
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"

static char *store_dir;

#define E PST_SEVERITY_ERROR
#define W PST_SEVERITY_WARNING

typedef struct {
  PstSeverity  severity;
  guint        line;
  const char  *phrase;
} Expect;

typedef struct {
  const char *fixture;
  Expect      expect[9];   /* ends at line 0 */
} Rule;

/* Every finding of each fixture is listed: the test also fails on an
 * unexpected one, so a rule cannot fire where it should not. */
static const Rule rules[] = {
  { "valid.xml", { { 0 } } },
  { "namespace-2014.xml", { { 0 } } },
  { "namespace-none.xml", { { 0 } } },
  { "secure-disabled.xml", { { 0 } } },
  { "default-password-file.xml", { { 0 } } },
  { "default-password.xml", { { W, 14, "has no password file, so it is opened with keytool’s default password “changeit”" } } },
  { "unknown-type.xml", { { E, 7, "unknown service type “broadcast”" } } },
  { "missing-type.xml", { { E, 4, "has no <type>" } } },
  { "missing-accept.xml", { { E, 4, "has no <accept>" } } },
  { "echo-connect.xml", { { E, 7, "echo services do not connect" } } },
  { "directory-connect.xml", { { E, 7, "directory services do not connect" } } },
  { "echo-scheme.xml", { { E, 6, "accepts only ws:// and wss://, not http://" },
                         { E, 7, "accepts only ws:// and wss://, not tcp://" } } },
  { "directory-scheme.xml", { { E, 6, "accepts only http:// and https://, not ws://" } } },
  { "proxy-no-connect.xml", { { E, 4, "has no <connect>" } } },
  { "status-rules.xml", { { E, 6, "a status service accepts only http:// and https://, not ws://" },
                          { E, 7, "there is no <security><keystore>" },
                          { E, 8, "status services do not connect anywhere" } } },
  { "proxy-schemes.xml", { { E, 6, "a proxy service accepts only ws://, wss://, tcp:// and ssl://" },
                           { E, 7, "not udp://" } } },
  { "bad-port.xml", { { E, 6, "port “0” is not valid" },
                      { E, 7, "port “65536” is not valid" },
                      { E, 8, "port “80x” is not valid" } } },
  { "proxy-connect-port.xml", { { E, 7, "has no port" } } },
  { "bad-url.xml", { { E, 6, "is not a URL" },
                     { E, 7, "no valid host name" } } },
  { "duplicate-accept.xml", { { E, 11, "already accepted by service “one” on line 6" } } },
  { "secure-and-plain.xml", { { E, 11, "the same address 127.0.0.1:9000, [::1]:9000 without TLS" } } },
  { "undefined-property.xml", { { E, 7, "undefined property “${domain}”" },
                                { E, 12, "undefined property “${port}”" } } },
  { "property-cycle.xml", { { E, 7, "property “a” refers to itself" },
                            { E, 11, "property “b” refers to itself" } } },
  /* l5 is the first past 64 KiB; l6…l9 use it and stay unexpanded. */
  { "property-billion-laughs.xml", { { E, 10, "property “l5” would be longer than 64 KiB once “${l4}” is substituted" } } },
  { "property-deep.xml", { { E, 5, "property “p0” nests ${…} more than 16 levels deep" },
                           { E, 5, "1 more property after “p0” nests ${…} more than 16 levels deep too" } } },
  { "property-too-long.xml", { { E, 23, "property “c17” takes the substituted text of this file past 1024 KiB" },
                               { E, 30, "<accept> would be longer than 64 KiB once “${b}” is substituted" } } },
  { "verify-client-plain.xml", { { E, 9, "is not a TLS accept" } } },
  { "verify-client-no-truststore.xml", { { E, 9, "no <security><truststore>" } } },
  { "verify-client-mismatch.xml", { { E, 11, "wss://localhost:9000/b (service “two”) has ssl.verify-client “required” but wss://localhost:9000/a (service “one”, line 6)" } } },
  { "verify-client-shared-bind.xml", { { E, 14, "wss://127.0.0.1:9000/b (service “mutual”) has ssl.verify-client “required” but wss://localhost:9000/a (service “open”, line 6) on the same address 127.0.0.1:9000 has “none”" } } },
  { "verify-client-shared-agreed.xml", { { 0 } } },
  { "listen-overlap.xml", { { E, 11, "listens on 127.0.0.1:9000 but ws://localhost:9000/a (service “both”, line 6) listens on 127.0.0.1:9000, [::1]:9000" },
                            { W, 16, "ws:// accept on 0.0.0.0, an address other machines can reach, is not encrypted" },
                            { E, 24, "listens on 127.0.0.1:9001 but ws://localhost:9001/c (service “any”, line 16) listens on 0.0.0.0:9001" } } },
  { "tls-settings-shared.xml", { { E, 17, "has ssl.ciphers “HIGH” but wss://localhost:9000/a (service “one”, line 12) on the same address 127.0.0.1:9000 has “(default)”" },
                                 { E, 25, "ws://localhost:9000/c (service “plain”) is plain but wss://localhost:9000/a" } } },
  { "bad-option-values.xml", { { E, 9, "ssl.encryption is “off”" },
                               { E, 10, "ssl.verify-client is “always”" },
                               { E, 10, "is not a TLS accept" },
                               { E, 11, "ws.inactivity.timeout is “soon”, not a duration" },
                               { E, 12, "http.keepalive.timeout is “5 fortnights”" },
                               { E, 13, "ws.maximum.message.size is “big”, not a size" },
                               { E, 14, "ws.bind is “localhost:99999”" },
                               { E, 15, "ssl.protocols names “SSLv3”" },
                               { E, 16, "ssl.ciphers: unknown cipher “BOGUS-CIPHER”" } } },
  { "proxy-protocol.xml", { { E, 14, "ws://localhost:9100/b (service “two”) has tcp.proxy-protocol “false” but ws://localhost:9100/a (service “one”, line 6) on the same address" },
                            { E, 22, "tcp.proxy-protocol is “yes”; use “true”" } } },
  { "wss-no-keystore.xml", { { E, 6, "there is no <security><keystore>" } } },
  { "keystore-missing.xml", { { E, 12, "missing.p12 does not exist" } } },
  { "password-file-missing.xml", { { E, 13, "missing.pw does not exist" } } },
  { "wrong-password.xml", { { E, 13, "wrong password" } } },
  { "no-cert-for-host.xml", { { E, 6, "no certificate for host “gateway.example.org” (it has: localhost" } } },
  { "cert-expired.xml", { { E, 6, "expired on" } } },
  { "cert-expiring.xml", { { W, 6, "expires in 9 days" } } },
  { "password-exposed.xml", { { W, 13, "can be read by other users; run “chmod 600" } } },
  { "type-mismatch.xml", { { W, 11, "<type> says JCEKS but" } } },
  { "tls-settings-differ.xml", { { E, 18, "ssl.protocols is “TLSv1.3” here but “TLSv1.2” in service “one” (line 9)" } } },
  { "loosening.xml", { { E, 8, "<realm-name> is not supported yet; the gateway would be less secure" },
                       { E, 9, "<authorization-constraint> is not supported yet" },
                       { E, 12, "<auth-constraint> is not supported yet" },
                       { E, 16, "<socks.ssl.verify-client> is not supported yet" },
                       { E, 20, "<realm> is not supported yet" } } },
  { "keystore-exposed.xml", { { W, 12, "exposed-keystore.p12 can be read by other users (mode 0644), and it holds private keys; restrict it with “chmod 600 " } } },
  { "plain-reachable.xml", { { W, 6, "ws:// accept on 0.0.0.0, an address other machines can reach, is not encrypted: use wss:// (TLS)" },
                             { W, 14, "ws:// accept on 192.0.2.10, an address other machines can reach" },
                             { W, 19, "http:// accept on 192.0.2.10, an address other machines can reach, is not encrypted: use https://" } } },
  { "unknown-elements.xml", { { W, 7, "<balance> is not supported inside <service>" },
                              { W, 9, "<mime-mapping> is not supported" },
                              { W, 14, "option <ws.maximum.message.sise> is not supported" },
                              { W, 17, "<cluster> is not supported inside <gateway-config>" } } },
};

static void
test_rule (gconstpointer data)
{
  const Rule *rule = data;
  g_autofree char *path = ctu_copy_fixture (rule->fixture, store_dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  guint errors = 0, warnings = 0;

  config = pst_config_new_from_file (path, &error);
  g_assert_no_error (error);
  diagnostics = pst_config_validate (config);
  ctu_dump (diagnostics);

  for (guint i = 0; i < G_N_ELEMENTS (rule->expect) && rule->expect[i].line != 0; i++)
    {
      const Expect *e = &rule->expect[i];
      PstDiagnostic *d = ctu_assert_diagnostic (diagnostics, e->severity, e->line, e->phrase);
      g_autofree char *prefix = g_strdup_printf ("%s:%u:", path, e->line);
      g_autofree char *text = pst_diagnostic_to_string (d);

      g_assert_true (g_str_has_prefix (text, prefix));
      g_assert_nonnull (strstr (text, e->severity == E ? ": error: " : ": warning: "));
      if (e->severity == E)
        errors++;
      else
        warnings++;
    }
  g_assert_cmpuint (ctu_count (diagnostics, E), ==, errors);
  g_assert_cmpuint (ctu_count (diagnostics, W), ==, warnings);
  g_assert_cmpint (pst_diagnostics_have_errors (diagnostics), ==, errors > 0);
}

/* Columns point at the element's "<" (libxml2 has no column on nodes). */
static void
test_columns (void)
{
  g_autofree char *path = ctu_copy_fixture ("echo-scheme.xml", store_dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, NULL);
  g_autoptr(GPtrArray) diagnostics = pst_config_validate (config);
  PstDiagnostic *d = ctu_assert_diagnostic (diagnostics, E, 6, "not http://");

  g_assert_cmpuint (pst_diagnostic_get_column (d), ==, 5);
  g_assert_cmpstr (pst_diagnostic_get_service (d), ==, "echo");
  g_assert_cmpstr (pst_diagnostic_get_field (d), ==, "accept");
}

static void
test_column_of_option (void)
{
  g_autofree char *path = ctu_copy_fixture ("bad-option-values.xml", store_dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, NULL);
  g_autoptr(GPtrArray) diagnostics = pst_config_validate (config);
  PstDiagnostic *d = ctu_assert_diagnostic (diagnostics, E, 14, "ws.bind");

  g_assert_cmpuint (pst_diagnostic_get_column (d), ==, 7);
  g_assert_cmpstr (pst_diagnostic_get_field (d), ==, "ws.bind");
}

/* Sorted by line, whatever order the checks ran in. */
static void
test_sorted (void)
{
  g_autofree char *path = ctu_copy_fixture ("bad-option-values.xml", store_dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, NULL);
  g_autoptr(GPtrArray) diagnostics = pst_config_validate (config);

  for (guint i = 1; i < diagnostics->len; i++)
    g_assert_cmpuint (pst_diagnostic_get_line (g_ptr_array_index (diagnostics, i - 1)), <=,
                      pst_diagnostic_get_line (g_ptr_array_index (diagnostics, i)));
}

/* The shipped configuration is valid once its keystore exists. */
static void
test_default_config (void)
{
  const char *text = pst_config_get_default_text ();
  g_autofree char *dir = g_build_filename (store_dir, "default", NULL);
  g_autofree char *web = g_build_filename (store_dir, "data", "web", NULL);
  g_autofree char *path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_autofree char *keystore = g_build_filename (dir, "keystore.db", NULL);
  g_autofree char *src = g_build_filename (store_dir, "keystore.p12", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (web, 0700), ==, 0);
  g_file_get_contents (src, &data, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (keystore, data, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (keystore, 0600), ==, 0);   /* as postern writes it */
  {
    g_autofree char *pw = g_build_filename (dir, "keystore.pw", NULL);
    g_file_set_contents (pw, "secret\n", -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_chmod (pw, 0600), ==, 0);
  }

  config = pst_config_new_from_data (text, strlen (text), path, &error);
  g_assert_no_error (error);
  diagnostics = pst_config_validate (config);
  ctu_dump (diagnostics);
  g_assert_cmpuint (diagnostics->len, ==, 0);

  /* …and without it, the one error says how to make it. */
  g_assert_cmpint (g_unlink (keystore), ==, 0);
  g_clear_pointer (&diagnostics, g_ptr_array_unref);
  diagnostics = pst_config_validate (config);
  g_assert_cmpuint (diagnostics->len, ==, 1);
  ctu_assert_diagnostic (diagnostics, E, 70, "postern cert generate --keystore");
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  store_dir = ctu_make_store_dir ();

  for (gsize i = 0; i < G_N_ELEMENTS (rules); i++)
    {
      g_autofree char *name = g_strdup (rules[i].fixture);
      g_autofree char *test_path = NULL;

      *strrchr (name, '.') = '\0';
      test_path = g_strdup_printf ("/config/validate/%s", name);
      g_test_add_data_func (test_path, &rules[i], test_rule);
    }
  g_test_add_func ("/config/validate/columns", test_columns);
  g_test_add_func ("/config/validate/column-of-option", test_column_of_option);
  g_test_add_func ("/config/validate/sorted", test_sorted);
  g_test_add_func ("/config/validate/default-config", test_default_config);

  status = g_test_run ();
  ctu_remove_tree (store_dir);
  g_free (store_dir);
  return status;
}
