/* replay-main.c: runs a fuzz target over every file of its corpus folders, without libFuzzer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib.h>

#include "fuzz-target.h"

/* Targets that need set-up (a temporary root folder…) define it. */
__attribute__((weak)) int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  return 0;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char * const *) a, *(char * const *) b);
}

/* Usage: replay-TARGET DIR… (each a folder of inputs).  A missing or empty
 * folder fails: a replay that ran nothing must not pass.  TAP output; a
 * finding aborts, which the harness reports with the file name above it. */
int
main (int argc, char **argv)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GDir) dir = g_dir_open (argv[i], 0, &error);
      g_autoptr(GPtrArray) here = g_ptr_array_new ();
      const char *name;

      if (dir == NULL)
        {
          printf ("Bail out! %s\n", error->message);
          return 1;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        g_ptr_array_add (here, g_build_filename (argv[i], name, NULL));
      if (here->len == 0)
        {
          printf ("Bail out! %s holds no inputs\n", argv[i]);
          return 1;
        }
      g_ptr_array_sort (here, compare_names);
      for (guint j = 0; j < here->len; j++)
        g_ptr_array_add (files, here->pdata[j]);
    }
  if (files->len == 0)
    {
      printf ("Bail out! no corpus folder given\n");
      return 1;
    }

  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      g_autoptr(GError) error = NULL;
      g_autofree char *data = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &data, &len, &error))
        {
          printf ("not ok %u - %s: %s\n", i + 1, path, error->message);
          continue;
        }
      /* The name first, so that a crash shows which input caused it. */
      fprintf (stderr, "# %s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
      fflush (stdout);
      LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
      printf ("ok %u - %s\n", i + 1, path);
      fflush (stdout);
    }
  return 0;
}
