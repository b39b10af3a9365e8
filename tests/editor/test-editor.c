/* test-editor.c: real editor windows under Xvfb: templates, edit + save, live diagnostics, French
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "pst-application.h"
#include "pst-cert-dialog.h"
#include "pst-diagnostic-row.h"
#include "pst-diagnostics-panel.h"
#include "pst-document.h"
#include "pst-properties-page.h"
#include "pst-security-page.h"
#include "pst-service-page.h"
#include "pst-store-view.h"
#include "pst-url-row.h"
#include "pst-window.h"

/* Every wait is bounded. */
#define WAIT_MS 5000

typedef struct {
  char      *dir;
  char      *path;       /* a copy of the fixture */
  char      *original;   /* its text */
  PstWindow *window;
} Fixture;

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *)user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
iterate (guint ms)
{
  gboolean done = FALSE;
  guint id = g_timeout_add (ms, timeout_cb, &done);

  while (!done)
    g_main_context_iteration (NULL, TRUE);
  (void)id;
}

static void
wait_validated (PstDocument *document)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (pst_document_get_validation_pending (document) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (pst_document_get_validation_pending (document));
}

static GtkWidget *
find_descendant (GtkWidget *widget,
                 GType      type)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (G_TYPE_CHECK_INSTANCE_TYPE (child, type) && gtk_widget_get_visible (child))
        return child;
      found = find_descendant (child, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gpointer
template_child (gpointer    widget,
                GType       type,
                const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), type, name);

  g_assert_nonnull (child);
  return child;
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *source = g_test_build_filename (G_TEST_DIST, "gateway-config.xml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GFile) file = NULL;
  gsize len;

  fx->dir = g_dir_make_tmp ("postern-editor-XXXXXX", &error);
  g_assert_no_error (error);
  fx->path = g_build_filename (fx->dir, "gateway-config.xml", NULL);
  g_file_get_contents (source, &fx->original, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents (fx->path, fx->original, len, &error);
  g_assert_no_error (error);

  file = g_file_new_for_path (fx->path);
  document = pst_document_new_for_file (file, &error);
  g_assert_no_error (error);
  fx->window = pst_window_new (NULL);
  pst_window_set_document (fx->window, document);
  gtk_window_present (GTK_WINDOW (fx->window));
  iterate (50);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  gtk_window_destroy (GTK_WINDOW (fx->window));
  iterate (20);
  g_unlink (fx->path);
  g_rmdir (fx->dir);
  g_free (fx->path);
  g_free (fx->dir);
  g_free (fx->original);
}

/* .ui files are not checked by the compiler: build every template. */
static void
test_templates (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) document = pst_document_new_default (&error);
  g_autoptr(GtkBuilder) builder = NULL;
  GType types[] = {
    PST_TYPE_SERVICE_PAGE, PST_TYPE_PROPERTIES_PAGE, PST_TYPE_SECURITY_PAGE,
    PST_TYPE_DIAGNOSTICS_PANEL, PST_TYPE_DIAGNOSTIC_ROW, PST_TYPE_URL_ROW,
  };
  PstWindow *window;
  PstCertDialog *dialog;
  PstStoreView *view;
  g_autofree char *missing = g_build_filename (g_get_tmp_dir (), "no-such-store.p12", NULL);

  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      GtkWidget *holder = gtk_window_new ();
      GtkWidget *widget = g_object_new (types[i], NULL);

      g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (widget, types[i]));
      gtk_window_set_child (GTK_WINDOW (holder), widget);
      gtk_window_present (GTK_WINDOW (holder));
      iterate (10);
      gtk_window_destroy (GTK_WINDOW (holder));
    }

  window = pst_window_new (NULL);
  pst_window_set_document (window, document);
  gtk_window_present (GTK_WINDOW (window));

  dialog = pst_cert_dialog_new (GTK_WINDOW (window), document,
                                pst_config_get_service (pst_document_get_config (document), 0));
  g_assert_nonnull (strstr (pst_cert_dialog_get_names (dialog), "localhost"));
  gtk_window_present (GTK_WINDOW (dialog));

  view = pst_store_view_new (GTK_WINDOW (window), missing, NULL);
  g_assert_false (pst_store_view_reload (view));
  gtk_window_present (GTK_WINDOW (view));

  builder = gtk_builder_new_from_resource ("/org/postern/Editor/gtk/help-overlay.ui");
  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "help_overlay")));

  iterate (50);
  gtk_window_destroy (GTK_WINDOW (view));
  gtk_window_destroy (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (window));
  gtk_window_destroy (GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay")));
  iterate (20);
}

static char **
lines_of (const char *text)
{
  return g_strsplit (text, "\n", -1);
}

static void
test_edit_accept_and_save (Fixture       *fx,
                           gconstpointer  data)
{
  const char *new_url = "ws://${gateway.hostname}:8080/echo";
  PstServicePage *page = template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  PstDocument *document = pst_window_get_document (fx->window);
  g_autofree char *saved = NULL;
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;
  g_autoptr(GError) error = NULL;
  PstUrlRow *row;
  guint changed = 0;

  pst_window_select_service (fx->window, 0);
  iterate (20);
  row = PST_URL_ROW (find_descendant (GTK_WIDGET (page), PST_TYPE_URL_ROW));
  g_assert_nonnull (row);
  g_assert_cmpstr (pst_url_row_get_text (row), ==, "ws://${gateway.hostname}:8000/echo");

  /* Typed into the widget, as a person would. */
  gtk_editable_set_text (pst_url_row_get_editable (row), new_url);
  iterate (20);
  g_assert_true (pst_document_get_modified (document));
  g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (pst_document_get_config (document), 0), 0),
                   ==, "ws://localhost:8080/echo");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.save", NULL));
  iterate (20);
  g_assert_false (pst_document_get_modified (document));

  g_file_get_contents (fx->path, &saved, NULL, &error);
  g_assert_no_error (error);
  before = lines_of (fx->original);
  after = lines_of (saved);
  g_assert_cmpuint (g_strv_length (before), ==, g_strv_length (after));
  for (guint i = 0; before[i] != NULL; i++)
    {
      if (g_strcmp0 (before[i], after[i]) == 0)
        continue;
      changed++;
      g_assert_nonnull (strstr (before[i], "<accept>ws://${gateway.hostname}:8000/echo</accept>"));
      g_assert_nonnull (strstr (after[i], "<accept>ws://${gateway.hostname}:8080/echo</accept>"));
    }
  g_assert_cmpuint (changed, ==, 1);
  g_assert_nonnull (strstr (saved, "<!-- The echo service: its accept URL is what the test edits. -->"));
  g_assert_nonnull (strstr (saved, "<!-- A second echo service that must stay untouched. -->"));
}

static gboolean
panel_has_message (PstDiagnosticsPanel *panel,
                   const char          *fragment)
{
  GListModel *model = pst_diagnostics_panel_get_model (panel);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PstDiagnostic) diag = g_list_model_get_item (model, i);
      if (strstr (pst_diagnostic_get_message (diag), fragment) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_diagnostics_live (Fixture       *fx,
                       gconstpointer  data)
{
  PstServicePage *page = template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  PstDiagnosticsPanel *panel = template_child (fx->window, PST_TYPE_WINDOW, "diagnostics_panel");
  GtkStack *panel_stack = template_child (panel, PST_TYPE_DIAGNOSTICS_PANEL, "stack");
  GtkLabel *badge = template_child (fx->window, PST_TYPE_WINDOW, "diagnostics_badge");
  PstDocument *document = pst_window_get_document (fx->window);
  PstConfig *config = pst_document_get_config (document);
  AdwComboRow *type_row = template_child (page, PST_TYPE_SERVICE_PAGE, "type_row");
  g_autoptr(GPtrArray) library = NULL;
  guint n_before = pst_config_get_n_services (config);
  const char *fragment = "a directory service accepts only http:// and https://";

  wait_validated (document);
  g_assert_cmpuint (g_list_model_get_n_items (pst_diagnostics_panel_get_model (panel)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "empty");

  /* Add a service through the UI: it is selected and shown. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.service-add", NULL));
  iterate (20);
  g_assert_cmpuint (pst_config_get_n_services (config), ==, n_before + 1);
  wait_validated (document);

  /* A ws:// accept on a directory service is an error. */
  adw_combo_row_set_selected (type_row, 1);
  g_assert_cmpstr (pst_service_get_service_type (pst_config_get_service (config, n_before)), ==, "directory");
  g_assert_true (pst_document_get_validation_pending (document));
  wait_validated (document);
  g_assert_true (panel_has_message (panel, fragment));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "list");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (badge)));
  g_assert_cmpuint (pst_document_get_n_errors (document), >, 0);

  /* The panel shows what the library says, word for word. */
  library = pst_config_validate (config);
  for (guint i = 0; i < library->len; i++)
    g_assert_true (panel_has_message (panel, pst_diagnostic_get_message (g_ptr_array_index (library, i))));

  /* Activating it selects the service. */
  pst_window_select_service (fx->window, 0);
  pst_diagnostics_panel_activate (panel, 0);
  g_assert_cmpuint (gtk_single_selection_get_selected (template_child (fx->window, PST_TYPE_WINDOW,
                                                                       "services_selection")),
                    ==, n_before);

  /* Back to echo: the panel clears. */
  adw_combo_row_set_selected (type_row, 0);
  wait_validated (document);
  g_assert_false (panel_has_message (panel, fragment));
  g_assert_cmpuint (g_list_model_get_n_items (pst_diagnostics_panel_get_model (panel)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "empty");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (badge)));
}

static void
test_open_malformed (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-editor-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "broken.xml", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) document = NULL;

  g_file_set_contents (path,
                       "<?xml version=\"1.0\"?>\n"
                       "<gateway-config>\n"
                       "  <service>\n"
                       "    <name>x</nam>\n"
                       "</gateway-config>\n", -1, &error);
  g_assert_no_error (error);

  document = pst_document_new_for_file (file, &error);
  g_assert_null (document);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "broken.xml:4"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_french (void)
{
  PstWindow *window;
  PstServicePage *page;
  AdwPreferencesRow *name_row;

  /* The catalogue built by i18n.gettext in this build tree. */
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Accept URLs"), ==, "URL d’écoute");

  window = pst_window_new (NULL);
  page = template_child (window, PST_TYPE_WINDOW, "service_page");
  name_row = template_child (page, PST_TYPE_SERVICE_PAGE, "name_row");
  g_assert_cmpstr (adw_preferences_row_get_title (name_row), ==, "Nom");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  const char *localedir = g_getenv ("POSTERN_TEST_LOCALEDIR");
  gboolean french = argc > 1 && g_strcmp0 (argv[1], "--french") == 0;

  if (french)
    {
      /* LANGUAGE is ignored in the "C" locale; C.UTF-8 honours it. */
      g_setenv ("LANGUAGE", "fr", TRUE);
      g_setenv ("LC_ALL", "C.UTF-8", TRUE);
      argv[1] = argv[0];
      argv++;
      argc--;
    }

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gtk_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  adw_init ();

  if (french)
    {
      g_test_add_func ("/editor/french", test_french);
      return g_test_run ();
    }

  g_test_add_func ("/editor/templates", test_templates);
  g_test_add_func ("/editor/open-malformed", test_open_malformed);
  g_test_add ("/editor/edit-accept-and-save", Fixture, NULL,
              fixture_setup, test_edit_accept_and_save, fixture_teardown);
  g_test_add ("/editor/diagnostics-live", Fixture, NULL,
              fixture_setup, test_diagnostics_live, fixture_teardown);
  return g_test_run ();
}
