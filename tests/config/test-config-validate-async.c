/* test-config-validate-async.c: validation in a worker thread finds what validation in place finds
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"
#include "pst-config.h"

typedef struct {
  GPtrArray *diagnostics;
  GError    *error;
  gboolean   done;
} Result;

static void
validated_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Result *r = user_data;

  r->diagnostics = pst_config_validate_finish (PST_CONFIG (source), result, &r->error);
  r->done = TRUE;
}

static gboolean
deadline_cb (gpointer user_data)
{
  g_error ("validation in the background did not end within 30 s");
  return G_SOURCE_REMOVE;
}

static void
run_async (PstConfig    *config,
           GCancellable *cancellable,
           Result       *r)
{
  guint deadline = g_timeout_add_seconds (30, deadline_cb, NULL);

  pst_config_validate_async (config, PST_VALIDATE_DEFAULT, cancellable, validated_cb, r);
  /* it returned at once: the answer comes on this thread's main loop */
  g_assert_false (r->done);
  while (!r->done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (deadline);
}

static void
assert_same (GPtrArray  *expected,
             GPtrArray  *got,
             const char *what)
{
  if (expected->len != got->len)
    {
      ctu_dump (expected);
      ctu_dump (got);
      g_error ("%s: %u findings in place, %u in the background", what, expected->len, got->len);
    }
  for (guint i = 0; i < expected->len; i++)
    {
      PstDiagnostic *a = expected->pdata[i], *b = got->pdata[i];

      g_assert_cmpint (pst_diagnostic_get_severity (a), ==, pst_diagnostic_get_severity (b));
      g_assert_cmpuint (pst_diagnostic_get_line (a), ==, pst_diagnostic_get_line (b));
      g_assert_cmpuint (pst_diagnostic_get_column (a), ==, pst_diagnostic_get_column (b));
      g_assert_cmpstr (pst_diagnostic_get_message (a), ==, pst_diagnostic_get_message (b));
      g_assert_cmpstr (pst_diagnostic_get_service (a), ==, pst_diagnostic_get_service (b));
      g_assert_cmpstr (pst_diagnostic_get_field (a), ==, pst_diagnostic_get_field (b));
      g_assert_cmpstr (pst_diagnostic_get_file (a), ==, pst_diagnostic_get_file (b));
    }
}

/* Every fixture that loads: the same findings, on the same lines */
static void
test_fixtures_same (void)
{
  g_autofree char *dir = ctu_make_store_dir ();
  g_autofree char *fixtures = ctu_fixture_path ("");
  g_autoptr(GDir) handle = g_dir_open (fixtures, 0, NULL);
  const char *name;
  guint compared = 0, findings = 0;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(PstConfig) config = NULL;
      g_autoptr(GPtrArray) in_place = NULL;
      Result r = { 0 };

      if (!g_str_has_suffix (name, ".xml"))
        continue;
      path = ctu_copy_fixture (name, dir);
      config = pst_config_new_from_file (path, NULL);
      if (config == NULL)
        continue;   /* malformed on purpose: nothing to validate */
      in_place = pst_config_validate_full (config, PST_VALIDATE_DEFAULT);
      run_async (config, NULL, &r);
      g_assert_no_error (r.error);
      assert_same (in_place, r.diagnostics, name);
      findings += in_place->len;
      compared++;
      g_ptr_array_unref (r.diagnostics);
    }
  g_test_message ("%u fixtures, %u findings compared", compared, findings);
  g_assert_cmpuint (compared, >=, 30);
  g_assert_cmpuint (findings, >=, 30);
  ctu_remove_tree (dir);
}

static gboolean
mentions (GPtrArray  *diagnostics,
          const char *text)
{
  for (guint i = 0; i < diagnostics->len; i++)
    if (strstr (pst_diagnostic_get_message (diagnostics->pdata[i]), text) != NULL)
      return TRUE;
  return FALSE;
}

/* An edit made after the call does not leak into the answer (the thread
 * works on a copy); the next call sees it. */
static void
test_snapshot (void)
{
  g_autofree char *dir = ctu_make_store_dir ();
  g_autofree char *path = ctu_copy_fixture ("secure-and-plain.xml", dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, NULL);
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GError) error = NULL;
  Result first = { 0 }, second = { 0 };
  guint deadline;

  g_assert_nonnull (config);
  before = pst_config_validate_full (config, PST_VALIDATE_DEFAULT);

  deadline = g_timeout_add_seconds (30, deadline_cb, NULL);
  pst_config_validate_async (config, PST_VALIDATE_DEFAULT, NULL, validated_cb, &first);
  pst_config_set_service_type (config, 0, "no-such-type", &error);
  g_assert_no_error (error);
  while (!first.done)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (deadline);
  g_assert_no_error (first.error);
  assert_same (before, first.diagnostics, "before the edit");

  run_async (config, NULL, &second);
  g_assert_no_error (second.error);
  g_assert_false (mentions (first.diagnostics, "no-such-type"));
  g_assert_true (mentions (second.diagnostics, "no-such-type"));
  g_ptr_array_unref (first.diagnostics);
  g_ptr_array_unref (second.diagnostics);
  ctu_remove_tree (dir);
}

static void
test_cancel (void)
{
  g_autofree char *dir = ctu_make_store_dir ();
  g_autofree char *path = ctu_copy_fixture ("secure-and-plain.xml", dir);
  g_autoptr(PstConfig) config = pst_config_new_from_file (path, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result r = { 0 };

  g_assert_nonnull (config);
  g_cancellable_cancel (cancellable);
  run_async (config, cancellable, &r);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r.diagnostics);
  g_clear_error (&r.error);
  ctu_remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/config/validate-async/fixtures-same", test_fixtures_same);
  g_test_add_func ("/config/validate-async/snapshot", test_snapshot);
  g_test_add_func ("/config/validate-async/cancel", test_cancel);
  return g_test_run ();
}
