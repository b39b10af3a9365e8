/* jks-test-util.h: the JKS tests' work directory, tool runs and file helpers
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <glib.h>

/* The directory the tools run in and the files live in (set by main). */
static char *workdir;

/* Runs argv in workdir; returns its standard output.  With must_succeed,
 * a failure ends the test with the tool's output. */
static inline char *
run_argv (gboolean must_succeed, const char * const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = -1;

  g_spawn_sync (workdir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  if (must_succeed && !g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s%s", argv[0], out, err);
  return g_steal_pointer (&out);
}

/* The same with the arguments listed, NULL-terminated. */
static inline char *
run_tool (gboolean must_succeed, const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  return run_argv (must_succeed, (const char * const *) argv->pdata);
}

static inline char *
path (const char *name)
{
  return g_build_filename (workdir, name, NULL);
}

static inline GBytes *
read_bytes (const char *name)
{
  g_autofree char *p = path (name);
  g_autofree char *contents = NULL;
  gsize len;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (p, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (g_steal_pointer (&contents), len);
}

static inline void
write_bytes (const char *name, GBytes *data)
{
  g_autofree char *p = path (name);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (p, g_bytes_get_data (data, NULL), g_bytes_get_size (data), &error);
  g_assert_no_error (error);
}
