/* test-editor-truth.c: the editor tells the truth and never loses input (issue 12, item 7)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>

#include "editor-test-util.h"
#include "pst-application.h"
#include "pst-cert-dialog.h"
#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-diagnostic-row.h"
#include "pst-diagnostics-panel.h"
#include "pst-document.h"
#include "pst-entry-commit.h"
#include "pst-export-dialog.h"
#include "pst-keystore.h"
#include "pst-run-page.h"
#include "pst-service-page.h"
#include "pst-store-view.h"
#include "pst-trust-dialog.h"
#include "pst-window.h"

/* Every wait is bounded. */
#define WAIT_MS 5000

typedef PstTestWindow Fixture;

/* ---- helpers ---------------------------------------------------------------- */

/* A port bound (so no one else gets it) but not listening: connecting
 * to it is refused. */
static GSocket *
refusing_socket (guint16 *port)
{
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return socket;
}

/* Types text at the end of editable one character at a time, letting the
 * main loop run between keystrokes as a person's typing would. */
static void
type_text (GtkEditable *editable,
           const char  *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      int pos = g_utf8_strlen (gtk_editable_get_text (editable), -1);

      gtk_editable_insert_text (editable, p, g_utf8_next_char (p) - p, &pos);
      gtk_editable_set_position (editable, pos);
      pst_test_iterate (15);
    }
}

/* Enter in a field: the text widget's ::activate, as its key binding does. */
static void
press_enter (GtkEditable *editable)
{
  GtkEditable *inner = editable;
  GtkEditable *delegate;

  while ((delegate = gtk_editable_get_delegate (inner)) != NULL)
    inner = delegate;
  g_signal_emit_by_name (inner, "activate");
  pst_test_iterate (20);
}

static gboolean
has_label (GtkWidget  *widget,
           const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LABEL (child) && g_strcmp0 (gtk_label_get_label (GTK_LABEL (child)), text) == 0)
        return TRUE;
      if (has_label (child, text))
        return TRUE;
    }
  return FALSE;
}

static guint
count_in_log (PstWindow  *window,
              const char *needle)
{
  g_autofree char *text = pst_test_log_text (window);
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static gboolean
log_has_stopped (gpointer data)
{
  return count_in_log (data, "— The gateway") > 0;
}

static gboolean
shows_started (gpointer data)
{
  return has_label (data, _("Gateway started"));
}

static void
use_built_postern (void)
{
  g_assert_true (g_file_test (PST_TEST_POSTERN, G_FILE_TEST_IS_EXECUTABLE));
  g_setenv ("POSTERN_BINARY", PST_TEST_POSTERN, TRUE);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  pst_test_window_setup (fx, "postern-truth-XXXXXX");
  pst_window_select_service (fx->window, 0);
  pst_test_iterate (20);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  pst_test_window_teardown (fx);
}

static PstService *
first_service (Fixture *fx)
{
  return pst_config_get_service (pst_document_get_config (pst_window_get_document (fx->window)), 0);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

/* ---- typed input is kept ---------------------------------------------------- */

/* "Chat relay" typed key by key stays "Chat relay" (it became "Chatrelay":
 * each keystroke was committed, and the model's trimmed value written
 * back over the field). */
static void
test_typed_spaces (Fixture       *fx,
                   gconstpointer  data)
{
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  GtkEditable *description = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "description_row");
  GtkEditable *name = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "name_row");

  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Echoes messages");
  gtk_widget_grab_focus (GTK_WIDGET (description));
  gtk_editable_delete_text (description, 0, -1);
  pst_test_iterate (15);
  type_text (description, "Chat relay");
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Chat relay");

  /* moving on to the next field commits the edit */
  gtk_widget_grab_focus (GTK_WIDGET (name));
  pst_test_iterate (20);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay");
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Chat relay");
  g_assert_true (pst_document_get_modified (pst_window_get_document (fx->window)));

  /* a pause in typing commits too (diagnostics follow), and what is
   * still being typed is not rewritten */
  gtk_widget_grab_focus (GTK_WIDGET (description));
  type_text (description, " two ");
  pst_test_iterate (PST_ENTRY_COMMIT_IDLE_MS + 300);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay two");
  type_text (description, "rooms");
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Chat relay two rooms");
  press_enter (description);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay two rooms");
}

/* Text typed and not committed yet belongs to its service, even when
 * another service is selected before the field loses the focus. */
static void
test_typed_then_switch (Fixture       *fx,
                        gconstpointer  data)
{
  PstConfig *config = pst_document_get_config (pst_window_get_document (fx->window));
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  GtkEditable *description = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "description_row");

  gtk_widget_grab_focus (GTK_WIDGET (description));
  type_text (description, " twice");
  pst_window_select_service (fx->window, 1);
  pst_test_iterate (20);
  g_assert_cmpstr (pst_service_get_description (pst_config_get_service (config, 0)), ==,
                   "Echoes messages twice");
  g_assert_null (pst_service_get_description (pst_config_get_service (config, 1)));
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "");
}

/* Typing over a selected value passes through an empty field: that is
 * not an edit, and must not raise "cannot be empty". A real refusal marks
 * the field with the error style. */
static void
test_type_over_selection (Fixture       *fx,
                          gconstpointer  data)
{
  PstDocument *document = pst_window_get_document (fx->window);
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  GtkEditable *name = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "name_row");
  guint failed = 0;

  g_signal_connect_swapped (document, "edit-failed", G_CALLBACK (count_cb), &failed);
  gtk_widget_grab_focus (GTK_WIDGET (name));
  gtk_editable_select_region (name, 0, -1);
  /* the first key replaces the selection: delete, then insert */
  gtk_editable_delete_selection (name);
  pst_test_iterate (15);
  type_text (name, "relay");
  press_enter (name);
  g_assert_cmpuint (failed, ==, 0);
  g_assert_cmpstr (pst_service_get_name (first_service (fx)), ==, "relay");
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (name), "error"));

  /* an empty name committed on purpose is refused, shown on the field */
  gtk_editable_delete_text (name, 0, -1);
  pst_test_iterate (15);
  g_assert_cmpuint (failed, ==, 0);
  press_enter (name);
  g_assert_cmpuint (failed, ==, 1);
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (name), "error"));
  g_assert_cmpstr (pst_service_get_name (first_service (fx)), ==, "relay");
  /* …and the text typed is kept to be corrected, not replaced */
  g_assert_cmpstr (gtk_editable_get_text (name), ==, "");
  type_text (name, "chat");
  press_enter (name);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (name), "error"));
  g_assert_cmpstr (pst_service_get_name (first_service (fx)), ==, "chat");
  g_signal_handlers_disconnect_by_data (document, &failed);
}

/* ---- document undo ------------------------------------------------------------ */

static void
test_document_undo (Fixture       *fx,
                    gconstpointer  data)
{
  GtkWidget *window = GTK_WIDGET (fx->window);
  PstDocument *document = pst_window_get_document (fx->window);
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  GtkEditable *description = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "description_row");
  GtkEditable *name = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "name_row");
  guint n = pst_config_get_n_services (pst_document_get_config (document));

  /* Ctrl+Z in a field that was only filled does not blank it (the fill
   * is not in its own history) and has nothing to undo in the document */
  gtk_widget_grab_focus (GTK_WIDGET (description));
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  pst_test_iterate (20);
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Echoes messages");
  g_assert_false (pst_document_get_modified (document));

  /* while a field is edited, Ctrl+Z is the field's own text undo */
  type_text (description, "!");
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  pst_test_iterate (20);
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Echoes messages");
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Echoes messages");

  /* a committed edit is undone in the document: field, model and
   * diagnostics agree, back to the saved (unmodified) state */
  gtk_editable_delete_text (description, 0, -1);
  type_text (description, "Chat relay");
  press_enter (description);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay");
  g_assert_true (pst_document_get_can_undo (document));
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  pst_test_iterate (20);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Echoes messages");
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Echoes messages");
  g_assert_false (pst_document_get_modified (document));
  g_assert_true (gtk_widget_activate_action (window, "win.redo", NULL));
  pst_test_iterate (20);
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay");
  g_assert_cmpstr (gtk_editable_get_text (description), ==, "Chat relay");
  g_assert_true (pst_document_get_modified (document));

  /* structure edits too: removing a service, undone at any later time */
  gtk_widget_grab_focus (GTK_WIDGET (name));
  g_assert_true (gtk_widget_activate_action (window, "win.service-remove", NULL));
  g_assert_true (gtk_widget_activate_action (window, "win.service-add", NULL));
  g_assert_cmpuint (pst_config_get_n_services (pst_document_get_config (document)), ==, n);
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  pst_test_iterate (20);
  g_assert_cmpuint (pst_config_get_n_services (pst_document_get_config (document)), ==, n);
  g_assert_cmpstr (pst_service_get_name (first_service (fx)), ==, "echo");
  g_assert_cmpstr (pst_service_get_description (first_service (fx)), ==, "Chat relay");
  g_assert_true (gtk_widget_activate_action (window, "win.undo", NULL));
  g_assert_false (pst_document_get_can_undo (document));
  g_assert_false (pst_document_get_modified (document));
}

/* Undo, Redo, Run, Test, help and the Problems panel have keys, and the
 * shortcuts window lists them; F8 puts the focus in the Problems panel. */
static void
collect_actions (GtkWidget  *widget,
                 GHashTable *actions)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_SHORTCUTS_SHORTCUT (child))
        {
          g_autofree char *name = NULL;

          g_object_get (child, "action-name", &name, NULL);
          if (name != NULL)
            g_hash_table_add (actions, g_steal_pointer (&name));
        }
      collect_actions (child, actions);
    }
}

static void
test_shortcuts (Fixture       *fx,
                gconstpointer  data)
{
  static const struct { const char *action; const char *accel; } expected[] = {
    { "win.undo", "<Control>z" },
    { "win.redo", "<Shift><Control>z" },
    { "win.run", "F5" },
    { "win.service-test", "<Control>t" },
    { "win.focus-problems", "F8" },
    { "win.help", "F1" },
  };
  g_autoptr(PstApplication) app = pst_application_new ();
  g_autoptr(GtkBuilder) builder = gtk_builder_new_from_resource ("/org/postern/Editor/gtk/help-overlay.ui");
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GtkWidget *overlay = GTK_WIDGET (gtk_builder_get_object (builder, "help_overlay"));
  PstDiagnosticsPanel *panel = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "diagnostics_panel");
  PstDocument *document = pst_window_get_document (fx->window);
  GtkWidget *focus;

  pst_application_set_accels (GTK_APPLICATION (app));
  collect_actions (overlay, listed);
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), expected[i].action);
      guint key, expected_key;
      GdkModifierType mods, expected_mods;

      g_assert_nonnull (accels);
      g_assert_nonnull (accels[0]);
      g_assert_true (gtk_accelerator_parse (accels[0], &key, &mods));
      g_assert_true (gtk_accelerator_parse (expected[i].accel, &expected_key, &expected_mods));
      g_assert_cmpuint (key, ==, expected_key);
      g_assert_cmpuint (mods, ==, expected_mods);
      g_assert_true (g_hash_table_contains (listed, expected[i].action));
    }
  gtk_window_destroy (GTK_WINDOW (overlay));

  /* a problem to show: a proxy without a back-end */
  g_assert_true (pst_config_set_service_text (pst_document_get_config (document), 0, "type", "proxy", NULL));
  pst_document_validate_now (document);
  g_assert_cmpuint (pst_document_get_n_errors (document), >, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.focus-problems", NULL));
  pst_test_iterate (50);
  focus = gtk_root_get_focus (GTK_ROOT (fx->window));
  g_assert_nonnull (focus);
  g_assert_true (focus == GTK_WIDGET (panel) || gtk_widget_is_ancestor (focus, GTK_WIDGET (panel)));
}

/* ---- Run tells the truth ------------------------------------------------------ */

static void
test_run_with_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-truth-XXXXXX", NULL);
  g_autofree char *text = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>relay</name><accept>ws://127.0.0.1:%u/relay</accept><type>proxy</type></service>\n"
      "</gateway-config>\n", pst_test_free_port ());
  g_autofree char *path = pst_test_write_config (dir, text);
  g_autofree char *log = NULL;
  PstWindow *window;
  PstTestDialogSearch search = { NULL };
  const char *error_line, *exit_line;

  use_built_postern ();
  window = pst_test_open_window (path, NULL);
  search.parent = GTK_WINDOW (window);
  g_assert_cmpuint (pst_document_get_n_errors (pst_window_get_document (window)), >, 0);

  /* asked first */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.run", NULL));
  g_assert_true (pst_test_wait_for (pst_test_message_dialog_shown, &search, WAIT_MS));
  g_assert_cmpstr (adw_message_dialog_get_heading (search.dialog), ==, _("Run a Configuration With Errors?"));
  adw_message_dialog_response (search.dialog, "run");
  pst_test_iterate (20);

  /* the gateway refuses the configuration: no "started", the error
   * above the exit line */
  g_assert_true (pst_test_wait_for (log_has_stopped, window, 20000));
  pst_test_iterate (100);
  g_assert_false (shows_started (window));
  log = pst_test_log_text (window);
  error_line = strstr (log, "has no <connect>");
  exit_line = strstr (log, "— The gateway exited");
  if (error_line == NULL || exit_line == NULL || error_line > exit_line)
    g_error ("the refusal is not shown above the exit line:\n%s", log);
  g_assert_true (has_label (GTK_WIDGET (window), _("Gateway started")) == FALSE);

  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (20);
  pst_test_remove_tree (dir);
}

static gboolean
restart_offered (gpointer data)
{
  return pst_window_get_restart_offered (data);
}

static gboolean
started_twice (gpointer data)
{
  return count_in_log (data, "listening on ") >= 2 && !pst_window_get_restart_offered (data);
}

static gboolean
stopped_twice (gpointer data)
{
  return count_in_log (data, "— The gateway") >= 2;
}

static void
test_run_started_and_restart (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-truth-XXXXXX", NULL);
  g_autofree char *keystore = g_build_filename (dir, "keystore.p12", NULL);
  guint16 port = pst_test_free_port ();
  g_autofree char *text = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>echo</name><accept>wss://localhost:%u/echo</accept><type>echo</type></service>\n"
      "  <security><keystore><type>PKCS12</type><file>keystore.p12</file></keystore></security>\n"
      "</gateway-config>\n", port);
  const char *names[] = { "localhost", NULL };
  PstCertRequest request = { .names = names };
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autoptr(PstKeystore) store = pst_keystore_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  PstServicePage *page;
  GtkEditable *description;
  PstWindow *window;

  use_built_postern ();
  entry = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);
  pst_keystore_add (store, entry);
  g_assert_true (pst_keystore_save (store, keystore, PST_STORE_FORMAT_PKCS12, "changeit", &error));
  g_assert_no_error (error);
  path = pst_test_write_config (dir, text);
  window = pst_test_open_window (path, NULL);
  g_assert_cmpuint (pst_document_get_n_errors (pst_window_get_document (window)), ==, 0);

  /* "started" once it listens, not before */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.run", NULL));
  g_assert_false (shows_started (window));
  {
    g_autofree char *starting = g_strdup_printf (_("Starting “postern run --config %s”…"), path);

    g_assert_true (has_label (GTK_WIDGET (window), starting));
  }
  g_assert_true (pst_test_wait_for (shows_started, window, 20000));
  g_assert_cmpuint (count_in_log (window, "listening on "), ==, 1);
  pst_test_iterate (200);
  if (pst_window_get_restart_offered (window))
    {
      g_autofree char *log = pst_test_log_text (window);
      g_error ("restart offered without a change: %s (store? %d, config? %d)\n%s", log,
               has_label (GTK_WIDGET (window), _("A store changed; the running gateway still serves the old certificates")),
               has_label (GTK_WIDGET (window), _("The configuration changed; the running gateway still uses the old one")), log);
    }

  /* a new certificate in the keystore: the running gateway does not serve it */
  g_assert_true (pst_keystore_save (store, keystore, PST_STORE_FORMAT_PKCS12, "changeit", &error));
  g_assert_true (pst_test_wait_for (restart_offered, window, WAIT_MS));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.restart", NULL));
  g_assert_true (pst_test_wait_for (started_twice, window, 20000));

  /* an edit while it runs */
  page = pst_test_template_child (window, PST_TYPE_WINDOW, "service_page");
  description = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "description_row");
  pst_window_select_service (window, 0);
  pst_test_iterate (20);
  gtk_widget_grab_focus (GTK_WIDGET (description));
  type_text (description, "Echo");
  press_enter (description);
  g_assert_true (pst_window_get_restart_offered (window));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  /* (the restart's stop is the first "— The gateway stopped —") */
  g_assert_true (pst_test_wait_for (stopped_twice, window, 15000));
  pst_test_iterate (50);
  g_assert_false (pst_window_get_restart_offered (window));

  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (20);
  pst_test_remove_tree (dir);
}

/* ---- Test tells the truth ----------------------------------------------------- */

/* A TCP echo back-end, one thread per connection (bounded by the test). */
static gboolean
echo_run_cb (GThreadedSocketService *service,
             GSocketConnection      *connection,
             GObject                *source,
             gpointer                user_data)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  char buffer[4096];
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), 20);
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    if (!g_output_stream_write_all (out, buffer, n, NULL, NULL, NULL))
      break;
  return TRUE;
}

static gboolean
log_has_closes (gpointer data)
{
  return count_in_log (data, "close echo-proxy ") >= 1;
}

static void
run_service_test (PstWindow      *window,
                  PstServicePage *page,
                  guint           index)
{
  pst_window_select_service (window, index);
  pst_test_iterate (20);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.service-test", NULL));
  g_assert_true (pst_test_wait_for (pst_test_service_test_finished, page, 20000));
  g_test_message ("service %u: %s", index, pst_service_page_get_test_result (page));
}

static void
test_probe_truth (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-truth-XXXXXX", NULL);
  GSocketService *backend = g_threaded_socket_service_new (4);
  guint16 backend_port, dead_port, port;
  g_autoptr(GSocket) dead_socket = refusing_socket (&dead_port);
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  g_autofree char *log = NULL;
  g_autofree char *dead = NULL;
  g_autoptr(GError) error = NULL;
  PstServicePage *page;
  GtkWidget *icon;
  PstWindow *window;
  const char *result;

  use_built_postern ();
  port = pst_test_free_port ();
  g_assert_cmpuint (port, !=, dead_port);
  backend_port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (backend), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (backend, "run", G_CALLBACK (echo_run_cb), NULL);
  g_socket_service_start (backend);

  text = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>echo-proxy</name><accept>ws://127.0.0.1:%u/up</accept>\n"
      "    <connect>tcp://127.0.0.1:%u</connect><type>proxy</type></service>\n"
      "  <service><name>dead-proxy</name><accept>ws://127.0.0.1:%u/down</accept>\n"
      "    <connect>tcp://127.0.0.1:%u</connect><type>proxy</type></service>\n"
      "  <service><name>web</name><accept>http://127.0.0.1:%u/</accept><type>directory</type>\n"
      "    <properties><directory>not-made-yet</directory></properties></service>\n"
      "</gateway-config>\n", port, backend_port, port, dead_port, port);
  path = pst_test_write_config (dir, text);
  window = pst_test_open_window (path, NULL);
  page = pst_test_template_child (window, PST_TYPE_WINDOW, "service_page");
  icon = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "test_icon");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.run", NULL));
  if (!pst_test_wait_for (shows_started, window, 20000))
    {
      log = pst_test_log_text (window);
      g_error ("the gateway did not start:\n%s", log);
    }

  /* through the proxy to a live back-end and back */
  run_service_test (window, page, 0);
  result = pst_service_page_get_test_result (page);
  g_assert_true (gtk_widget_has_css_class (icon, "success"));
  g_assert_nonnull (strstr (result, "answered through the proxy"));

  /* the back-end is down: the upgrade works, the test does not */
  run_service_test (window, page, 1);
  result = pst_service_page_get_test_result (page);
  if (!gtk_widget_has_css_class (icon, "error"))
    {
      log = pst_test_log_text (window);
      g_error ("a dead back-end passed the test: %s\nlog:\n%s", result, log);
    }
  dead = g_strdup_printf ("tcp://127.0.0.1:%u", dead_port);
  g_assert_nonnull (strstr (result, dead));
  g_assert_nonnull (strstr (result, "1011"));

  /* the folder does not exist yet: 404 as the diagnostics promise, not 500 */
  run_service_test (window, page, 2);
  result = pst_service_page_get_test_result (page);
  g_assert_true (gtk_widget_has_css_class (icon, "error"));
  g_assert_nonnull (strstr (result, "404"));
  g_assert_null (strstr (result, "500"));

  /* the probe closed normally: the gateway logs 1000, not 1006 */
  g_assert_true (pst_test_wait_for (log_has_closes, window, WAIT_MS));
  log = pst_test_log_text (window);
  {
    const char *line = strstr (log, "close echo-proxy ");
    g_autofree char *first = g_strndup (line, strcspn (line, "\n"));

    g_test_message ("%s", first);
    g_assert_nonnull (strstr (first, "code=1000"));
  }
  g_assert_null (strstr (log, "code=1006"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  g_assert_true (pst_test_wait_for (log_has_stopped, window, 15000));
  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (20);
  g_socket_service_stop (backend);
  g_socket_listener_close (G_SOCKET_LISTENER (backend));
  g_object_unref (backend);
  pst_test_remove_tree (dir);
}

/* ---- TLS features connected ------------------------------------------------ */

static gboolean
trust_dialog_shown (gpointer data)
{
  return pst_test_find_toplevel (PST_TYPE_TRUST_DIALOG, NULL) != NULL;
}

static PstDiagnosticRow *
row_with_fix (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      PstDiagnosticRow *found;

      if (PST_IS_DIAGNOSTIC_ROW (child) && pst_diagnostic_row_has_fix (PST_DIAGNOSTIC_ROW (child)))
        return PST_DIAGNOSTIC_ROW (child);
      found = row_with_fix (child);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
button_clicked_by_label (GtkWidget  *widget,
                         const char *label)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BUTTON (child) && gtk_widget_get_visible (child) &&
          g_strcmp0 (gtk_button_get_label (GTK_BUTTON (child)), label) == 0)
        {
          g_signal_emit_by_name (child, "clicked");
          return TRUE;
        }
      if (button_clicked_by_label (child, label))
        return TRUE;
    }
  return FALSE;
}

static void
close_toplevels (GType type)
{
  GtkWindow *window;

  while ((window = pst_test_find_toplevel (type, NULL)) != NULL)
    {
      gtk_window_destroy (window);
      pst_test_iterate (20);
    }
}

/* An ssl:// back-end without a truststore: a diagnostic with a button;
 * "Trust a Server…" offers to create the truststore (it said "create one
 * on the Security page first") and prefills the back-end's host:port. */
static void
test_trust_backend (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-truth-XXXXXX", NULL);
  guint16 backend_port;
  g_autoptr(GSocket) backend = refusing_socket (&backend_port);
  g_autofree char *text = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>relay</name><accept>ws://127.0.0.1:%u/relay</accept>\n"
      "    <connect>ssl://127.0.0.1:%u</connect><type>proxy</type></service>\n"
      "</gateway-config>\n", pst_test_free_port (), backend_port);
  g_autofree char *path = pst_test_write_config (dir, text);
  g_autofree char *truststore = g_build_filename (dir, "truststore.p12", NULL);
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", backend_port);
  PstDocument *document;
  PstDiagnosticRow *row;
  PstTrustDialog *trust;
  PstTestDialogSearch search = { NULL };
  PstWindow *window;

  window = pst_test_open_window (path, NULL);
  document = pst_window_get_document (window);
  search.parent = GTK_WINDOW (window);
  g_assert_cmpuint (pst_document_get_n_errors (document), ==, 0);
  g_assert_cmpuint (pst_document_get_n_warnings (document), ==, 1);

  /* the Problems panel's row has the fix as a button */
  g_object_set (window, "show-diagnostics", TRUE, NULL);
  pst_test_iterate (100);
  row = row_with_fix (GTK_WIDGET (window));
  g_assert_nonnull (row);
  g_assert_nonnull (strstr (pst_diagnostic_get_message (pst_diagnostic_row_get_diagnostic (row)),
                            "checked against the system’s CAs only"));
  g_assert_true (button_clicked_by_label (GTK_WIDGET (row), _("_Trust a Server…")));

  /* no truststore: offered, created next to the configuration */
  g_assert_true (pst_test_wait_for (pst_test_message_dialog_shown, &search, WAIT_MS));
  g_assert_cmpstr (adw_message_dialog_get_heading (search.dialog), ==, _("Create a Truststore?"));
  adw_message_dialog_response (search.dialog, "create");
  g_assert_true (pst_test_wait_for (trust_dialog_shown, NULL, WAIT_MS));
  g_assert_true (g_file_test (truststore, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpstr (pst_config_get_truststore (pst_document_get_config (document))->file, ==, truststore);
  {
    g_autofree char *xml = pst_config_to_xml (pst_document_get_config (document), NULL);

    /* written relative to the configuration, as the docs write it */
    g_assert_nonnull (strstr (xml, "<file>truststore.p12</file>"));
  }

  /* …with the back-end's address already filled in */
  trust = pst_test_find_toplevel (PST_TYPE_TRUST_DIALOG, NULL);
  g_assert_cmpstr (gtk_editable_get_text (pst_test_template_child (trust, PST_TYPE_TRUST_DIALOG, "address_row")),
                   ==, address);
  pst_document_validate_now (document);
  g_assert_null (row_with_fix (GTK_WIDGET (window)));

  close_toplevels (PST_TYPE_TRUST_DIALOG);
  close_toplevels (PST_TYPE_STORE_VIEW);
  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (20);
  pst_test_remove_tree (dir);
}

static gboolean
signed_by_ca (gpointer data)
{
  return adw_combo_row_get_selected (pst_test_template_child (data, PST_TYPE_CERT_DIALOG, "signer_row")) == 1;
}

/* "New Certificate" is signed by the local development CA by default when
 * the keystore's certificates come from it. */
static void
test_new_certificate_signer (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-truth-XXXXXX", NULL);
  g_autofree char *ca_path = g_build_filename (dir, "devca.p12", NULL);
  g_autofree char *keystore = g_build_filename (dir, "keystore.p12", NULL);
  g_autofree char *text = g_strdup_printf (
      "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
      "  <service><name>echo</name><accept>wss://localhost:%u/echo</accept><type>echo</type></service>\n"
      "  <security><keystore><type>PKCS12</type><file>keystore.p12</file></keystore></security>\n"
      "</gateway-config>\n", pst_test_free_port ());
  g_autofree char *path = pst_test_write_config (dir, text);
  const char *names[] = { "localhost", NULL };
  PstCertRequest request = { .names = names };
  g_autoptr(PstKeystore) ca_store = NULL;
  g_autoptr(PstKeystore) store = NULL;
  g_autoptr(PstStoreEntry) leaf = NULL;
  g_autoptr(GError) error = NULL;
  PstCertDialog *dialog;
  PstWindow *window;

  for (guint round = 0; round < 2; round++)
    {
      gboolean from_ca = round == 0;

      store = pst_keystore_new ();
      if (from_ca)
        {
          ca_store = pst_local_ca_open_or_create (ca_path, NULL, FALSE, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (pst_store_entry_get_alias (pst_local_ca_find (ca_store)), ==, "postern-dev-ca");
          leaf = pst_cert_generate (&request, pst_local_ca_find (ca_store), &error);
        }
      else
        leaf = pst_cert_generate (&request, NULL, &error);
      g_assert_no_error (error);
      pst_keystore_add (store, leaf);
      g_assert_true (pst_keystore_save (store, keystore, PST_STORE_FORMAT_PKCS12, "changeit", &error));
      g_clear_object (&leaf);
      g_clear_object (&store);

      window = pst_test_open_window (path, NULL);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.new-certificate", NULL));
      pst_test_iterate (50);
      dialog = pst_test_find_toplevel (PST_TYPE_CERT_DIALOG, NULL);
      g_assert_nonnull (dialog);
      /* the keystore is opened in a thread (10,000 PBKDF2 rounds) */
      g_assert_true (pst_test_wait_for (signed_by_ca, dialog, from_ca ? 10000 : 1500) == from_ca);
      close_toplevels (PST_TYPE_CERT_DIALOG);
      gtk_window_destroy (GTK_WINDOW (window));
      pst_test_iterate (20);
    }
  pst_test_remove_tree (dir);
}

static const char *
export_intro (PstStoreEntry *entry)
{
  PstExportDialog *dialog = pst_export_dialog_new (NULL, entry);
  AdwPreferencesGroup *intro = pst_test_template_child (dialog, PST_TYPE_EXPORT_DIALOG, "intro_group");
  static char *text;

  g_free (text);
  text = g_strdup (adw_preferences_group_get_description (intro));
  gtk_window_destroy (GTK_WINDOW (dialog));
  return text;
}

/* Export advice: a CA is imported as an authority; a CA-signed server
 * certificate points at its CA; a self-signed one is not an authority. */
static void
test_export_advice (void)
{
  const char *names[] = { "localhost", NULL };
  PstCertRequest ca_request = { .names = names, .is_ca = TRUE };
  PstCertRequest request = { .names = names };
  g_autoptr(GError) error = NULL;
  g_autoptr(PstStoreEntry) ca = pst_cert_generate (&ca_request, NULL, &error);
  g_autoptr(PstStoreEntry) signed_leaf = NULL;
  g_autoptr(PstStoreEntry) self_signed = NULL;

  g_assert_no_error (error);
  signed_leaf = pst_cert_generate (&request, ca, &error);
  g_assert_no_error (error);
  self_signed = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);

  g_assert_nonnull (strstr (export_intro (ca), "import it once as an authority"));
  g_assert_nonnull (strstr (export_intro (signed_leaf), "clients should trust that CA instead"));
  g_test_message ("self-signed: %s", export_intro (self_signed));
  g_assert_nonnull (strstr (export_intro (self_signed), "self-signed server certificate"));
  g_assert_null (strstr (export_intro (self_signed), "as an authority (“trust this CA"));
}

int
main (int argc, char **argv)
{

  pst_test_init (&argc, &argv);
  /* The tests move the focus as a person would; GTK's cursor blink warns
   * ("GtkText - did not receive a focus-out event") when a focused field
   * turns insensitive for a moment (a service removed), which is fatal here. */
  g_object_set (gtk_settings_get_default (), "gtk-cursor-blink", FALSE, NULL);

  g_test_add ("/editor-truth/typed-spaces", Fixture, NULL,
              fixture_setup, test_typed_spaces, fixture_teardown);
  g_test_add ("/editor-truth/typed-then-switch", Fixture, NULL,
              fixture_setup, test_typed_then_switch, fixture_teardown);
  g_test_add ("/editor-truth/type-over-selection", Fixture, NULL,
              fixture_setup, test_type_over_selection, fixture_teardown);
  g_test_add ("/editor-truth/document-undo", Fixture, NULL,
              fixture_setup, test_document_undo, fixture_teardown);
  g_test_add ("/editor-truth/shortcuts", Fixture, NULL,
              fixture_setup, test_shortcuts, fixture_teardown);
  g_test_add_func ("/editor-truth/run-with-errors", test_run_with_errors);
  g_test_add_func ("/editor-truth/run-started-and-restart", test_run_started_and_restart);
  g_test_add_func ("/editor-truth/probe-truth", test_probe_truth);
  g_test_add_func ("/editor-truth/trust-backend", test_trust_backend);
  g_test_add_func ("/editor-truth/new-certificate-signer", test_new_certificate_signer);
  g_test_add_func ("/editor-truth/export-advice", test_export_advice);
  return g_test_run ();
}
