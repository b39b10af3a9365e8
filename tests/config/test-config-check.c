/* test-config-check.c: "postern check" output and exit codes (the built binary, via $POSTERN)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"
#include "pst-listen-plan.h"

static char *store_dir;

typedef struct {
  int   status;
  char *out;
  char *err;
} Run;

static void
run_check (Run *run, const char *first, ...)
{
  const char *postern = g_getenv ("POSTERN");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  va_list args;
  int wait_status = 0;

  g_assert_nonnull (postern);
  g_ptr_array_add (argv, (char *)postern);
  g_ptr_array_add (argv, (char *)"check");
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *)arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (store_dir, (char **)argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &run->out, &run->err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run->status = WEXITSTATUS (wait_status);
  g_test_message ("exit %d\nstdout: %s\nstderr: %s", run->status, run->out, run->err);
}

static void
run_clear (Run *run)
{
  g_free (run->out);
  g_free (run->err);
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\n')
      n++;
  return n;
}

static void
test_valid (void)
{
  g_autofree char *path = ctu_copy_fixture ("valid.xml", store_dir);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpuint (count_lines (run.err), ==, 1);
  g_assert_nonnull (strstr (run.err, "OK, no errors or warnings"));
  run_clear (&run);
}

static void
test_warnings_only (void)
{
  g_autofree char *path = ctu_copy_fixture ("cert-expiring.xml", store_dir);
  g_autofree char *line = g_strdup_printf ("%s:6:5: warning: the certificate for localhost", path);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.err, line));
  g_assert_nonnull (strstr (run.err, ": 0 errors, 1 warning\n"));
  run_clear (&run);
}

static void
test_errors (void)
{
  g_autofree char *path = ctu_copy_fixture ("bad-port.xml", store_dir);
  g_autofree char *first = g_strdup_printf ("%s:6:5: error: ", path);
  g_autofree char *last = g_strdup_printf ("%s:8:5: error: ", path);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, first));
  g_assert_nonnull (strstr (run.err, last));
  g_assert_cmpuint (count_lines (run.err), ==, 4);
  g_assert_nonnull (strstr (run.err, ": 3 errors, 0 warnings\n"));
  g_assert_cmpstr (run.out, ==, "");
  run_clear (&run);

  /* -q leaves the summary out */
  run_check (&run, "-q", "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_cmpuint (count_lines (run.err), ==, 3);
  run_clear (&run);
}

static void
test_store_errors (void)
{
  g_autofree char *path = ctu_copy_fixture ("wrong-password.xml", store_dir);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, ":13:7: error: "));
  g_assert_nonnull (strstr (run.err, "wrong password"));
  run_clear (&run);
}

static void
test_malformed (void)
{
  g_autofree char *path = ctu_fixture_path ("malformed.xml");
  g_autofree char *prefix = g_strdup_printf ("%s:5:", path);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, prefix));
  g_assert_nonnull (strstr (run.err, ": error: "));
  g_assert_cmpuint (count_lines (run.err), ==, 1);
  run_clear (&run);
}

static void
test_unreadable (void)
{
  Run run = { 0 };

  run_check (&run, "--config", "/nonexistent/gateway-config.xml", NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, "/nonexistent/gateway-config.xml: error: "));
  g_assert_cmpuint (count_lines (run.err), ==, 1);
  run_clear (&run);

  run_check (&run, "--config", store_dir, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "folder"));
  g_assert_cmpuint (count_lines (run.err), ==, 1);
  run_clear (&run);
}

static void
test_usage (void)
{
  Run run = { 0 };

  run_check (&run, "--help", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "postern check"));
  g_assert_nonnull (strstr (run.out, "--config"));
  run_clear (&run);

  run_check (&run, "--no-such-option", NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, "postern: "));
  run_clear (&run);

  run_check (&run, "extra.xml", NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "--config"));
  run_clear (&run);
}

/* Two host names bound to one address share one listener: check groups
 * them as run does and refuses a client-certificate mode that only one
 * of them asks for (run would otherwise not enforce it on the other). */
static void
test_shared_listener (void)
{
  g_autofree char *path = ctu_copy_fixture ("verify-client-shared-bind.xml", store_dir);
  g_autofree char *agreed = ctu_copy_fixture ("verify-client-shared-agreed.xml", store_dir);
  g_autofree char *prefix = g_strdup_printf ("%s:14:5: error: ", path);
  Run run = { 0 };

  run_check (&run, "-q", "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, prefix));
  g_assert_cmpuint (count_lines (run.err), ==, 1);
  g_assert_nonnull (strstr (run.err, "wss://127.0.0.1:9000/b (service “mutual”) has ssl.verify-client “required”"));
  g_assert_nonnull (strstr (run.err, "wss://localhost:9000/a (service “open”, line 6)"));
  g_assert_nonnull (strstr (run.err, "on the same address 127.0.0.1:9000 has “none”"));
  g_assert_nonnull (strstr (run.err, "give both services the same ssl.verify-client or use another port"));
  run_clear (&run);

  run_check (&run, "--config", agreed, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, "OK, no errors or warnings"));
  run_clear (&run);
}

/* The plan run binds: one listener for both names, TLS settings from
 * both routes; and the conflicts check reports, with the same text. */
static void
test_listen_plan (void)
{
  g_autofree char *agreed = ctu_copy_fixture ("verify-client-shared-agreed.xml", store_dir);
  g_autofree char *overlap = ctu_copy_fixture ("listen-overlap.xml", store_dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (agreed, NULL);
  g_autoptr(PstListenPlan) plan = pst_listen_plan_new (config, PST_LISTEN_PLAN_RESOLVE);
  g_autoptr(GError) error = NULL;
  const PstListenGroup *group;

  g_assert_true (pst_listen_plan_check (plan, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pst_listen_plan_get_n_groups (plan), ==, 1);
  group = pst_listen_plan_get_group (plan, 0);
  g_assert_cmpstr (group->key, ==, "tls|127.0.0.1:9000");
  g_assert_true (group->tls);
  g_assert_cmpuint (g_list_length (group->addresses), ==, 1);
  g_assert_cmpuint (group->routes->len, ==, 2);
  g_assert_cmpstr (group->settings.verify_client, ==, "required");
  g_assert_null (group->settings.protocols);
  g_assert_nonnull (strstr (group->settings.keystore, "keystore.p12"));
  g_assert_cmpuint (pst_listen_plan_get_routes (plan)->len, ==, 2);

  g_clear_pointer (&plan, pst_listen_plan_free);
  g_clear_object (&config);
  config = pst_config_new_from_file (overlap, NULL);
  plan = pst_listen_plan_new (config, PST_LISTEN_PLAN_RESOLVE);
  g_assert_cmpuint (pst_listen_plan_get_diagnostics (plan)->len, ==, 2);
  g_assert_false (pst_listen_plan_check (plan, &error));
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID);
  /* one FILE:LINE:COL line per conflict, as check prints them */
  g_assert_true (g_str_has_prefix (error->message, overlap));
  g_assert_nonnull (strstr (error->message, ":11:5: error: ws://127.0.0.1:9000/b (service “v4”) listens on 127.0.0.1:9000"));
  g_assert_nonnull (strstr (error->message, "\n"));
  g_assert_nonnull (strstr (error->message, ":24:5: error: "));
  /* localhost and the literal address resolve without DNS: both groups
   * (9000 and 9001) hold only the first route of each port */
  g_assert_cmpuint (pst_listen_plan_get_n_groups (plan), ==, 2);
}

/* What production needs (issue 11, item 7): each warning, with its
 * line and the fix, and its absence once fixed. */
static void
test_production (void)
{
  g_autofree char *plain = ctu_copy_fixture ("plain-reachable.xml", store_dir);
  g_autofree char *exposed = ctu_copy_fixture ("keystore-exposed.xml", store_dir);
  g_autofree char *unresolvable = ctu_copy_fixture ("unresolvable-host.xml", store_dir);
  g_autofree char *keystore = g_build_filename (store_dir, "exposed-keystore.p12", NULL);
  g_autofree char *line6 = g_strdup_printf ("%s:6:5: warning: ws:// accept on 0.0.0.0, an address other "
                                            "machines can reach, is not encrypted: use wss:// (TLS) unless "
                                            "every proxy and firewall", plain);
  g_autofree char *line14 = g_strdup_printf ("%s:14:5: warning: ws:// accept on 192.0.2.10", plain);
  g_autofree char *line19 = g_strdup_printf ("%s:19:5: warning: http:// accept on 192.0.2.10", plain);
  g_autofree char *chmod_line = g_strdup_printf ("%s:12:7: warning: keystore %s can be read by other users "
                                            "(mode 0644), and it holds private keys; restrict it with "
                                            "“chmod 600 %s”", exposed, keystore, keystore);
  Run run = { 0 };

  run_check (&run, "--config", plain, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, line6));
  g_assert_nonnull (strstr (run.err, line14));
  g_assert_nonnull (strstr (run.err, line19));
  g_assert_nonnull (strstr (run.err, "0 errors, 3 warnings"));   /* loopback ones: none */
  run_clear (&run);

  run_check (&run, "--config", exposed, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, chmod_line));
  g_assert_nonnull (strstr (run.err, "0 errors, 1 warning"));
  run_clear (&run);
  g_assert_cmpint (g_chmod (keystore, 0600), ==, 0);
  run_check (&run, "--config", exposed, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.err, "OK, no errors or warnings"));
  run_clear (&run);
  g_assert_cmpint (g_chmod (keystore, 0644), ==, 0);

  /* A name that does not resolve cannot be bound: an error (run fails
   * the same way), naming the host and the way out. */
  run_check (&run, "-q", "--config", unresolvable, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, ":6:5: error: cannot resolve the accept host “gateway.no-such-host.invalid”"));
  g_assert_nonnull (strstr (run.err, "set ws.bind to the address to listen on"));
  run_clear (&run);
}

static void
test_default_password (void)
{
  g_autofree char *path = ctu_copy_fixture ("default-password.xml", store_dir);
  g_autofree char *line = g_strdup_printf ("%s:14:7: warning: truststore ", path);
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (g_str_has_prefix (run.err, line));
  g_assert_nonnull (strstr (run.err, "changeit.p12 has no password file"));
  g_assert_nonnull (strstr (run.err, "changeit.pw (one line, mode 0600) or in the file named by <password-file>"));
  g_assert_nonnull (strstr (run.err, ": 0 errors, 1 warning\n"));
  run_clear (&run);
}

/* Ten properties each repeating the one before ten times would be 3 GB:
 * check stops at the first one past 64 KiB, at once. */
static void
test_billion_laughs (void)
{
  g_autofree char *path = ctu_copy_fixture ("property-billion-laughs.xml", store_dir);
  g_autofree char *line = g_strdup_printf ("%s:10:5: error: property “l5” would be longer than 64 KiB", path);
  gint64 start = g_get_monotonic_time ();
  Run run = { 0 };

  run_check (&run, "--config", path, NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_true (g_str_has_prefix (run.err, line));
  g_assert_nonnull (strstr (run.err, ": 1 error, 0 warnings\n"));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  run_clear (&run);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  store_dir = ctu_make_store_dir ();

  g_test_add_func ("/config/check/valid", test_valid);
  g_test_add_func ("/config/check/warnings-only", test_warnings_only);
  g_test_add_func ("/config/check/errors", test_errors);
  g_test_add_func ("/config/check/store-errors", test_store_errors);
  g_test_add_func ("/config/check/malformed", test_malformed);
  g_test_add_func ("/config/check/unreadable", test_unreadable);
  g_test_add_func ("/config/check/usage", test_usage);
  g_test_add_func ("/config/check/shared-listener", test_shared_listener);
  g_test_add_func ("/config/check/listen-plan", test_listen_plan);
  g_test_add_func ("/config/check/default-password", test_default_password);
  g_test_add_func ("/config/check/production", test_production);
  g_test_add_func ("/config/check/billion-laughs", test_billion_laughs);

  status = g_test_run ();
  ctu_remove_tree (store_dir);
  g_free (store_dir);
  return status;
}
