/* pst-directory-listing.c: the HTML folder listing of the `indexes` option
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "pst-directory-private.h"

/* Listings stop here; a folder this large is not meant to be browsed. */
#define MAX_ENTRIES 10000

typedef struct {
  char    *name;
  gboolean is_dir;
  goffset  size;
} Entry;

static void
entry_clear (gpointer data)
{
  Entry *e = data;
  g_free (e->name);
}

static int
entry_compare (gconstpointer a,
               gconstpointer b)
{
  const Entry *ea = a, *eb = b;

  if (ea->is_dir != eb->is_dir)
    return ea->is_dir ? -1 : 1;
  return strcmp (ea->name, eb->name);
}

GBytes *
pst_directory_build_listing (const char *root,
                             const char *rel,
                             int         dir_fd)
{
  g_autoptr(GArray) entries = g_array_new (FALSE, TRUE, sizeof (Entry));
  g_autoptr(GString) html = g_string_new (NULL);
  g_autofree char *title = NULL;
  g_autofree char *display = NULL;
  struct dirent *de;
  DIR *dir;
  int fd;

  g_array_set_clear_func (entries, entry_clear);

  fd = dup (dir_fd);
  if (fd < 0)
    return NULL;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return NULL;
    }

  while ((de = readdir (dir)) != NULL && entries->len < MAX_ENTRIES)
    {
      g_autofree char *child = NULL;
      g_autofree char *href = NULL;
      g_autofree char *checked = NULL;
      struct stat st;
      Entry e;
      int cfd;

      if (de->d_name[0] == '.')
        continue;
      /* only what a click could fetch: the link must pass the request
       * checks and the target must stay inside the folder */
      href = g_uri_escape_string (de->d_name, NULL, FALSE);
      if (pst_directory_check_path (href, &checked, NULL) != PST_PATH_OK)
        continue;
      child = *rel != '\0' ? g_strconcat (rel, "/", de->d_name, NULL) : g_strdup (de->d_name);
      cfd = pst_directory_open_beneath (root, child, &st);
      if (cfd < 0)
        continue;
      close (cfd);

      e.name = g_strdup (de->d_name);
      e.is_dir = S_ISDIR (st.st_mode);
      e.size = st.st_size;
      g_array_append_val (entries, e);
    }
  closedir (dir);

  g_array_sort (entries, entry_compare);

  display = g_filename_display_name (*rel != '\0' ? rel : "");
  title = g_markup_printf_escaped ("Index of /%s%s", display, *rel != '\0' ? "/" : "");
  g_string_append_printf (html,
                          "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                          "<meta name=\"viewport\" content=\"width=device-width\">\n"
                          "<meta name=\"color-scheme\" content=\"light dark\">\n"
                          "<title>%s</title></head>\n<body>\n<h1>%s</h1>\n<ul>\n",
                          title, title);
  if (*rel != '\0')
    g_string_append (html, "<li><a href=\"../\">../</a></li>\n");

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = &g_array_index (entries, Entry, i);
      g_autofree char *href = g_uri_escape_string (e->name, NULL, FALSE);
      g_autofree char *shown = g_filename_display_name (e->name);
      g_autofree char *item = NULL;

      if (e->is_dir)
        item = g_markup_printf_escaped ("<li><a href=\"%s/\">%s/</a></li>\n", href, shown);
      else
        item = g_markup_printf_escaped ("<li><a href=\"%s\">%s</a> (%" G_GINT64_FORMAT
                                        " bytes)</li>\n",
                                        href, shown, (gint64) e->size);
      g_string_append (html, item);
    }
  g_string_append (html, "</ul>\n</body></html>\n");

  return g_string_free_to_bytes (g_steal_pointer (&html));
}
