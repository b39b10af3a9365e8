/* editor-test-util.c: what every editor test program needs — bounded main-loop waits, widget look-ups, scratch folders and configs
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <time.h>

#include "editor-test-util.h"
#include "pst-run-page.h"
#include "pst-service-page.h"

/* Locale and translations (from the build tree when the test runs there),
 * isolated XDG folders, GTK and libadwaita. */
void
pst_test_init (int    *argc,
               char ***argv)
{
  const char *localedir = g_getenv ("POSTERN_TEST_LOCALEDIR");

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gtk_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  adw_init ();
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until done (data) or ms passed; returns done's answer. */
gboolean
pst_test_wait_for (PstTestPredicate done,
                   gpointer         data,
                   guint            ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  /* wakes the loop up so that the deadline is checked */
  guint tick = g_timeout_add (20, tick_cb, NULL);

  while (!done (data) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return done (data);
}

static gboolean
never (gpointer data)
{
  return FALSE;
}

/* Runs the main loop for ms. */
void
pst_test_iterate (guint ms)
{
  pst_test_wait_for (never, NULL, ms);
}

/* A predicate: the gboolean at data is set. */
gboolean
pst_test_flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* A signal handler (no arguments but the instance) that sets the gboolean
 * at user_data. */
void
pst_test_set_flag_cb (gpointer instance,
                      gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
}

/* A predicate: the PstDocument's validation has finished. */
gboolean
pst_test_validated (gpointer document)
{
  return !pst_document_get_validation_pending (document);
}

/* The calling thread's CPU time (µs). */
gint64
pst_test_thread_cpu_us (void)
{
  struct timespec ts;

  g_assert_cmpint (clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts), ==, 0);
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

gpointer
pst_test_template_child (gpointer    widget,
                         GType       type,
                         const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);
  return child;
}

/* The first widget of type below widget (depth first). */
GtkWidget *
pst_test_find_descendant (GtkWidget *widget,
                          GType      type,
                          gboolean   visible_only)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) && (!visible_only || gtk_widget_get_visible (child)))
        return child;
      found = pst_test_find_descendant (child, type, visible_only);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The first button below widget that activates action_name; with
 * drawable_only, one that is on screen. */
GtkWidget *
pst_test_find_action_button (GtkWidget  *widget,
                             const char *action_name,
                             gboolean    drawable_only)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_BUTTON (child) && (!drawable_only || gtk_widget_is_drawable (child)) &&
          g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (child)), action_name) == 0)
        return child;
      found = pst_test_find_action_button (child, action_name, drawable_only);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* A visible toplevel of type, other than the ones in seen (nullable). */
gpointer
pst_test_find_toplevel (GType      type,
                        GPtrArray *seen)
{
  GListModel *toplevels = gtk_window_get_toplevels ();  /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_visible (GTK_WIDGET (window)) &&
          (seen == NULL || !g_ptr_array_find (seen, window, NULL)))
        return window;
    }
  return NULL;
}

/* A predicate on a PstTestDialogSearch: a visible message dialog is
 * transient for search->parent (it is stored in search->dialog). */
gboolean
pst_test_message_dialog_shown (gpointer data)
{
  PstTestDialogSearch *search = data;
  GListModel *toplevels = gtk_window_get_toplevels ();  /* (transfer none) */

  search->dialog = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) toplevel = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (toplevel) && gtk_widget_get_visible (GTK_WIDGET (toplevel)) &&
          gtk_window_get_transient_for (toplevel) == search->parent)
        search->dialog = ADW_MESSAGE_DIALOG (toplevel);
    }
  return search->dialog != NULL;
}

/* The Run page's log. */
char *
pst_test_log_text (PstWindow *window)
{
  GtkTextBuffer *buffer = pst_run_page_get_buffer (pst_test_template_child (window, PST_TYPE_WINDOW, "run_page"));
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* A predicate on a PstServicePage: its Test has an outcome. */
gboolean
pst_test_service_test_finished (gpointer page)
{
  GtkWidget *icon = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "test_icon");

  return gtk_widget_has_css_class (icon, "success") || gtk_widget_has_css_class (icon, "error");
}

/* A new scratch folder (tmpl as for g_dir_make_tmp()). */
char *
pst_test_make_dir (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}

/* Removes path and, for a folder, all below it (links are not followed). */
void
pst_test_remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          pst_test_remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* Writes text as dir/gateway-config.xml; returns its path. */
char *
pst_test_write_config (const char *dir,
                       const char *text)
{
  char *path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Copies the test's gateway-config.xml into dir; returns the copy's path
 * and (if text is not NULL) its text. */
char *
pst_test_copy_fixture_config (const char  *dir,
                              char       **text)
{
  g_autofree char *source = g_test_build_filename (G_TEST_DIST, "gateway-config.xml", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  char *path;

  g_file_get_contents (source, &contents, NULL, &error);
  g_assert_no_error (error);
  path = pst_test_write_config (dir, contents);
  if (text != NULL)
    *text = g_steal_pointer (&contents);
  return path;
}

/* A window on the config at path, presented and drawn; its document in
 * *document (a new reference) if document is not NULL. */
PstWindow *
pst_test_open_window (const char   *path,
                      PstDocument **document)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) doc = pst_document_new_for_file (file, &error);
  PstWindow *window;

  g_assert_no_error (error);
  window = pst_window_new (NULL);
  pst_window_set_document (window, doc);
  gtk_window_present (GTK_WINDOW (window));
  pst_test_iterate (50);
  if (document != NULL)
    *document = g_steal_pointer (&doc);
  return window;
}

/* The scratch folder (tmpl as for g_dir_make_tmp()), the copy of the
 * test's config in it, and a window on the copy. */
void
pst_test_window_setup (PstTestWindow *fx,
                       const char    *tmpl)
{
  fx->dir = pst_test_make_dir (tmpl);
  fx->path = pst_test_copy_fixture_config (fx->dir, &fx->original);
  fx->window = pst_test_open_window (fx->path, NULL);
}

void
pst_test_window_teardown (PstTestWindow *fx)
{
  gtk_window_destroy (GTK_WINDOW (fx->window));
  pst_test_iterate (20);
  pst_test_remove_tree (fx->dir);
  g_clear_pointer (&fx->path, g_free);
  g_clear_pointer (&fx->dir, g_free);
  g_clear_pointer (&fx->original, g_free);
}

/* A loopback TCP port that was free a moment ago. */
guint16
pst_test_free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* Runs argv in dir; asserts it succeeded; returns its output. */
char *
pst_test_run_tool (const char         *dir,
                   const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s%s", argv[0], out, err);
  return g_steal_pointer (&out);
}
