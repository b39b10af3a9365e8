/* test-config-check.c: "postern check" output and exit codes (the built binary, via $POSTERN)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"

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

  status = g_test_run ();
  ctu_remove_tree (store_dir);
  g_free (store_dir);
  return status;
}
