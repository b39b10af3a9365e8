/* fuzz-directory-path.c: request path to file for the directory service; never outside its root
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "fuzz-target.h"
#include "pst-directory-private.h"

/* A scratch tree, made once:
 *   base/outside.txt            must never be opened
 *   base/root/index.html
 *   base/root/sub/page.html
 *   base/root/sub/.hidden
 *   base/root/in-link -> sub            (a link that stays inside)
 *   base/root/out-link -> ..            (links that lead out)
 *   base/root/sub/escape -> ../../outside.txt
 *   base/root/abs -> /etc
 * root is its realpath, as the service keeps it. */
static char *base;
static char *root;

static void
remove_base (void)
{
  const char *files[] = {
    "root/sub/escape", "root/sub/.hidden", "root/sub/page.html", "root/in-link",
    "root/out-link", "root/abs", "root/index.html", "outside.txt",
  };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (base, files[i], NULL);
      g_unlink (path);
    }
  {
    g_autofree char *sub = g_build_filename (base, "root", "sub", NULL);
    g_autofree char *top = g_build_filename (base, "root", NULL);
    g_rmdir (sub);
    g_rmdir (top);
    g_rmdir (base);
  }
}

static void
put (const char *rel, const char *text)
{
  g_autofree char *path = g_build_filename (base, rel, NULL);

  FUZZ_CHECK (g_file_set_contents (path, text, -1, NULL));
}

static void
link_to (const char *target, const char *rel)
{
  g_autofree char *path = g_build_filename (base, rel, NULL);

  FUZZ_CHECK (symlink (target, path) == 0);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  g_autofree char *sub = NULL;
  g_autofree char *top = NULL;

  base = g_dir_make_tmp ("postern-fuzz-dir-XXXXXX", NULL);
  FUZZ_CHECK (base != NULL);
  top = g_build_filename (base, "root", NULL);
  sub = g_build_filename (base, "root", "sub", NULL);
  FUZZ_CHECK (g_mkdir (top, 0700) == 0 && g_mkdir (sub, 0700) == 0);
  put ("outside.txt", "secret");
  put ("root/index.html", "<p>index</p>");
  put ("root/sub/page.html", "<p>page</p>");
  put ("root/sub/.hidden", "hidden");
  link_to ("sub", "root/in-link");
  link_to ("..", "root/out-link");
  link_to ("../../outside.txt", "root/sub/escape");
  link_to ("/etc", "root/abs");
  root = realpath (top, NULL);
  FUZZ_CHECK (root != NULL);
  atexit (remove_base);
  return 0;
}

static gboolean
beneath (const char *path)
{
  gsize n = strlen (root);

  return strncmp (path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *request = g_strndup ((const char *) data, size);
  g_autofree char *rel = NULL;
  gboolean trailing = FALSE;
  PstPathVerdict verdict;
  struct stat st;
  int fd;

  verdict = pst_directory_check_path (request, &rel, &trailing);
  FUZZ_CHECK (verdict == PST_PATH_OK || verdict == PST_PATH_FORBIDDEN || verdict == PST_PATH_HIDDEN);
  if (verdict != PST_PATH_OK)
    {
      FUZZ_CHECK (rel == NULL);
      return 0;
    }

  /* What was accepted is a plain relative path: no leading or doubled
   * slash, no dot segments, no backslash or control character. */
  FUZZ_CHECK (rel != NULL);
  FUZZ_CHECK (rel[0] != '/');
  FUZZ_CHECK (strstr (rel, "//") == NULL);
  FUZZ_CHECK (strchr (rel, '\\') == NULL);
  {
    g_auto(GStrv) segments = g_strsplit (rel, "/", -1);

    for (guint i = 0; segments[i] != NULL; i++)
      {
        FUZZ_CHECK (*rel == '\0' || segments[i][0] != '\0');
        FUZZ_CHECK (segments[i][0] != '.');
      }
    for (const char *p = rel; *p != '\0'; p++)
      FUZZ_CHECK ((guchar) *p >= 0x20 && *p != 0x7f);
  }

  /* And what it opens is the root or below it, by the kernel's account
   * of the very descriptor handed back. */
  fd = pst_directory_open_beneath (root, rel, &st);
  if (fd >= 0)
    {
      char link[64];
      char real[PATH_MAX + 1];
      ssize_t n;

      g_snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
      n = readlink (link, real, sizeof real - 1);
      FUZZ_CHECK (n > 0);
      real[n] = '\0';
      if (!beneath (real))
        fprintf (stderr, "“%s” opened %s, outside %s\n", request, real, root);
      FUZZ_CHECK (beneath (real));
      FUZZ_CHECK (S_ISREG (st.st_mode) || S_ISDIR (st.st_mode));
      close (fd);
    }
  else
    FUZZ_CHECK (errno == ENOENT || errno == EACCES || errno == EXDEV || errno == ENODEV);
  return 0;
}
