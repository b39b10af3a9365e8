/* pst-window-run.c: the window's Run, Stop and Test actions (gateway child process, probes)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-commit.h"
#include "pst-keystore.h"
#include "pst-probe.h"
#include "pst-service-item.h"
#include "pst-window-private.h"

/* Run / Stop */

static void
start_gateway (PstWindow *self)
{
  g_autofree char *path = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GError) error = NULL;

  if (self->document == NULL || pst_document_get_file (self->document) == NULL)
    return;
  path = g_file_get_path (pst_document_get_file (self->document));
  pst_window_clear_restart (self);
  if (!pst_runner_start (self->runner, path, &error))
    {
      pst_run_page_append (self->run_page, error->message);
      pst_window_show_error (self, _("Cannot Run the Gateway"), error->message);
      return;
    }
  line = g_strdup_printf ("— postern run --config %s —", path);
  pst_run_page_append (self->run_page, line);
  /* "Gateway started" waits for its "listening on" lines (listening_cb):
   * a configuration it refuses exits at once, and says so instead. */
}

static void
saved_then_run_cb (PstWindow *self,
                   gboolean   saved)
{
  if (saved)
    start_gateway (self);
}

static void
save_and_run (PstWindow *self)
{
  /* The gateway reads the file: what is shown must be what it runs. */
  if (pst_document_get_file (self->document) == NULL || pst_document_get_modified (self->document))
    pst_window_save (self, saved_then_run_cb);
  else
    start_gateway (self);
}

static void
run_with_errors_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    PstWindow        *self)
{
  if (g_strcmp0 (response, "run") == 0 && !pst_runner_get_running (self->runner))
    save_and_run (self);
  else if (g_strcmp0 (response, "problems") == 0)
    pst_window_focus_problems (self);
}

/* With the diagnostics up to date: run, or ask first when there are errors. */
static void
run_checked (PstWindow *self)
{
  guint n_errors;
  GtkWidget *dialog;
  g_autofree char *body = NULL;

  if (self->document == NULL || pst_runner_get_running (self->runner))
    return;
  n_errors = pst_document_get_n_errors (self->document);
  if (n_errors == 0)
    {
      save_and_run (self);
      return;
    }
  /* The gateway refuses a configuration with errors: say so before, not
   * after a start that fails at once. */
  body = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                       "The configuration has %u error. The gateway will refuse to "
                                       "start until it is fixed; see the Problems panel.",
                                       "The configuration has %u errors. The gateway will refuse to "
                                       "start until they are fixed; see the Problems panel.",
                                       n_errors), n_errors);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Run a Configuration With Errors?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "problems", _("Show _Problems"),
                                    "run", _("_Run Anyway"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "run",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "problems");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (run_with_errors_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
run_validated_cb (PstDocument *document,
                  GParamSpec  *pspec,
                  PstWindow   *self)
{
  if (pst_document_get_validation_pending (document))
    return;
  g_signal_handlers_disconnect_by_func (document, run_validated_cb, self);
  if (document == self->document)
    run_checked (self);
}

static void
run_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);

  if (self->document == NULL || pst_runner_get_running (self->runner))
    return;
  pst_entry_commit_flush_all (GTK_WIDGET (self));
  if (!pst_document_get_validation_pending (self->document))
    {
      run_checked (self);
      return;
    }
  /* An edit is still being validated (the stores' PBKDF2 rounds): finish
   * it in the background, then decide; a second F5 meanwhile waits too. */
  if (g_signal_handler_find (self->document, G_SIGNAL_MATCH_FUNC | G_SIGNAL_MATCH_DATA,
                             0, 0, NULL, run_validated_cb, self) != 0)
    return;
  g_signal_connect_object (self->document, "notify::validation-pending",
                           G_CALLBACK (run_validated_cb), self, 0);
  pst_document_validate_async (self->document);
}

/* Restart to apply: the gateway reads its configuration and stores when
 * it starts; an edit or a new certificate is not served until then. */

static void
restart_exited_cb (PstWindow  *self,
                   const char *message)
{
  g_signal_handlers_disconnect_by_func (self->runner, restart_exited_cb, self);
  save_and_run (self);
}

static void
restart_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);

  if (self->document == NULL)
    return;
  pst_window_clear_restart (self);
  if (!pst_runner_get_running (self->runner))
    {
      save_and_run (self);
      return;
    }
  g_signal_connect_object (self->runner, "exited", G_CALLBACK (restart_exited_cb), self,
                           G_CONNECT_SWAPPED);
  pst_runner_stop (self->runner);
}

static void
restart_toast_dismissed_cb (PstWindow *self)
{
  g_clear_object (&self->restart_toast);
}

static void
offer_restart (PstWindow  *self,
               const char *why)
{
  AdwToast *toast;

  if (!pst_runner_get_listening (self->runner) || self->restart_toast != NULL)
    return;
  toast = adw_toast_new (why);
  adw_toast_set_button_label (toast, _("_Restart to Apply"));
  adw_toast_set_action_name (toast, "win.restart");
  /* stays until used or dismissed: the running gateway stays out of date */
  adw_toast_set_timeout (toast, 0);
  self->restart_toast = g_object_ref (toast);
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (restart_toast_dismissed_cb), self,
                           G_CONNECT_SWAPPED);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
pst_window_clear_restart (PstWindow *self)
{
  if (self->restart_toast != NULL)
    {
      AdwToast *toast = g_steal_pointer (&self->restart_toast);

      adw_toast_dismiss (toast);
      g_object_unref (toast);
    }
}

gboolean
pst_window_get_restart_offered (PstWindow *self)
{
  g_return_val_if_fail (PST_IS_WINDOW (self), FALSE);
  return self->restart_toast != NULL;
}

void
pst_window_run_document_changed (PstWindow *self)
{
  offer_restart (self, _("The configuration changed; the running gateway still uses the old one"));
}

static void
store_changed_cb (PstWindow         *self,
                  GFile             *file,
                  GFile             *other,
                  GFileMonitorEvent  event)
{
  if (event == G_FILE_MONITOR_EVENT_CHANGES_DONE_HINT || event == G_FILE_MONITOR_EVENT_CREATED ||
      event == G_FILE_MONITOR_EVENT_RENAMED || event == G_FILE_MONITOR_EVENT_MOVED_IN)
    offer_restart (self, _("A store changed; the running gateway still serves the old certificates"));
}

static void
watch_store (PstWindow         *self,
             const PstStoreRef *ref)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(GFile) folder = NULL;
  GFileMonitor *monitor;

  if (ref == NULL || ref->file == NULL || self->document == NULL ||
      pst_document_get_file (self->document) == NULL)
    return;
  folder = g_file_get_parent (pst_document_get_file (self->document));
  file = g_file_resolve_relative_path (folder, ref->file);
  /* stores are replaced by a rename when saved: watch the name, not the inode */
  monitor = g_file_monitor_file (file, G_FILE_MONITOR_WATCH_MOVES, NULL, NULL);
  if (monitor == NULL)
    return;
  g_signal_connect_object (monitor, "changed", G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  g_ptr_array_add (self->store_monitors, monitor);
}

static void
listening_cb (PstWindow *self)
{
  AdwToast *toast;
  PstConfig *config;

  if (self->store_monitors != NULL)
    g_ptr_array_set_size (self->store_monitors, 0);
  if (!pst_runner_get_listening (self->runner))
    return;

  toast = adw_toast_new (_("Gateway started"));
  adw_toast_set_button_label (toast, _("Show _Log"));
  adw_toast_set_detailed_action_name (toast, "win.show-page::run");
  adw_toast_overlay_add_toast (self->toast_overlay, toast);

  if (self->document == NULL)
    return;
  config = pst_document_get_config (self->document);
  watch_store (self, pst_config_get_keystore (config));
  watch_store (self, pst_config_get_truststore (config));
}

static void
stop_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *param)
{
  pst_runner_stop (PST_WINDOW (widget)->runner);
}

static void
show_page_action (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  const char *name = g_variant_get_string (param, NULL);

  for (int i = 0; ; i++)
    {
      GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->pages_list, i);

      if (row == NULL)
        break;
      if (g_strcmp0 (gtk_widget_get_name (GTK_WIDGET (row)), name) == 0)
        {
          gtk_list_box_select_row (self->pages_list, row);
          return;
        }
    }
  pst_window_show_page (self, name);
}

void
pst_window_update_run (PstWindow *self)
{
  gboolean running = pst_runner_get_running (self->runner);
  GtkWidget *widget = GTK_WIDGET (self);

  gtk_widget_action_set_enabled (widget, "win.run", self->document != NULL && !running);
  gtk_widget_action_set_enabled (widget, "win.stop", running);
  gtk_button_set_icon_name (self->run_button, running ? "media-playback-stop-symbolic"
                                                      : "media-playback-start-symbolic");
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->run_button), running ? "win.stop" : "win.run");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->run_button),
                               running ? _("Stop the Gateway") : _("Save and Run the Gateway"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->run_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  running ? _("Stop the Gateway") : _("Run the Gateway"), -1);
}

static void
runner_exited_cb (PstWindow  *self,
                  const char *message)
{
  pst_window_clear_restart (self);
  pst_window_add_toast (self, message);
}

/* Test */

typedef struct {
  PstWindow *self;
  char      *service;
  char      *url;
  char      *backend;      /* a proxy's connect URL, tested through; or NULL */
  gboolean   echo;
  /* where the probe's trust comes from (opened in a worker thread) */
  char      *ca_path;
  char      *keystore;
  char      *password_file;
  gboolean   password_keyring;
} TestData;

static void
test_data_free (TestData *data)
{
  g_object_unref (data->self);
  g_free (data->service);
  g_free (data->url);
  g_free (data->backend);
  g_free (data->ca_path);
  g_free (data->keystore);
  g_free (data->password_file);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestData, test_data_free)

/* What the probe verifies TLS against: the local development CA when the
 * configuration's folder has one (certificates it signed), else the
 * keystore's own certificates (self-signed ones); NULL = the system's.
 * Opening the store costs its PBKDF2 rounds: in a worker thread. */
static void
test_trust_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  TestData *data = task_data;
  g_autoptr(PstKeystore) store = NULL;
  g_autoptr(GError) error = NULL;
  GTlsDatabase *database = NULL;

  if (g_file_test (data->ca_path, G_FILE_TEST_EXISTS))
    store = pst_keystore_open (data->ca_path, NULL, &error);
  else if (data->keystore != NULL)
    store = pst_keystore_open_full (data->keystore, data->password_file, data->password_keyring, &error);
  if (store != NULL)
    database = pst_keystore_create_tls_database (store, &error);
  if (database == NULL && error != NULL)
    g_debug ("test: no trust database: %s", error->message);
  g_task_return_pointer (task, database, g_object_unref);
}

static void probe_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
test_trust_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(TestData) data = user_data;   /* the thread is done with it */
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) trust = NULL;
  GCancellable *cancellable;

  trust = g_task_propagate_pointer (G_TASK (result), &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* a newer test, or the window closed */
  cancellable = g_task_get_cancellable (G_TASK (result));
  /* the probe owns data from here on */
  pst_probe_service_async (data->url, trust, data->echo, data->backend,
                           cancellable, probe_cb, data);
  data = NULL;
}

static void
probe_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(TestData) data = user_data;
  PstWindow *self = data->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *sentence = NULL;
  g_autofree char *shown = NULL;

  sentence = pst_probe_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  if (sentence != NULL)
    {
      pst_service_page_set_test_result (self->service_page, data->service, sentence, PST_TEST_OK);
      pst_window_add_toast (self, sentence);
      return;
    }

  if (!pst_runner_get_running (self->runner))
    /* Translators: a failed test while the editor has not started the gateway */
    shown = g_strdup_printf (_("%s (The gateway is not running from the editor: use Run first.)"),
                             error->message);
  else
    shown = g_strdup (error->message);
  pst_service_page_set_test_result (self->service_page, data->service, shown, PST_TEST_FAILED);
  pst_window_add_toast (self, error->message);
}

static void
service_test_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  PstWindow *self = PST_WINDOW (widget);
  PstServiceItem *item = gtk_single_selection_get_selected_item (self->services_selection);
  g_autoptr(GTask) task = NULL;
  const PstStoreRef *keystore;
  PstService *service;
  TestData *data;
  const char *url;

  if (self->document == NULL || item == NULL)
    return;
  pst_entry_commit_flush_all (GTK_WIDGET (self));
  service = pst_service_item_get_service (item);
  if (service == NULL || pst_service_get_n_accepts (service) == 0 ||
      (url = pst_service_get_accept (service, 0)) == NULL)
    {
      pst_service_page_set_test_result (self->service_page, NULL,
                                        _("This service has no accept URL to test"), PST_TEST_FAILED);
      return;
    }

  g_cancellable_cancel (self->test_cancellable);
  g_clear_object (&self->test_cancellable);
  self->test_cancellable = g_cancellable_new ();

  data = g_new0 (TestData, 1);
  data->self = g_object_ref (self);
  data->service = g_strdup (pst_service_get_name (service));
  {
    g_autofree char *testing = g_strdup_printf (_("Testing %s…"), url);
    pst_service_page_set_test_result (self->service_page, data->service, testing, PST_TEST_RUNNING);
  }
  data->url = g_strdup (url);
  data->echo = g_strcmp0 (pst_service_get_service_type (service), "echo") == 0;
  /* A proxy is tested through to its back-end, not only up to the upgrade. */
  if (g_strcmp0 (pst_service_get_service_type (service), "proxy") == 0 &&
      pst_service_get_n_connects (service) > 0)
    data->backend = g_strdup (pst_service_get_connect (service, 0));
  keystore = pst_config_get_keystore (pst_document_get_config (self->document));
  data->ca_path = pst_document_dup_local_ca_path (self->document);
  data->keystore = g_strdup (keystore->file);
  data->password_file = g_strdup (keystore->password_file);
  data->password_keyring = keystore->password_keyring;

  /* data goes to the thread, then (callback's user_data) to the probe */
  task = g_task_new (NULL, self->test_cancellable, test_trust_cb, data);
  g_task_set_source_tag (task, service_test_action);
  g_task_set_name (task, "[postern-editor] test trust");
  g_task_set_task_data (task, data, NULL);
  g_task_run_in_thread (task, test_trust_thread);
}

void
pst_window_init_run (PstWindow *self)
{
  self->runner = pst_runner_new ();
  pst_run_page_set_runner (self->run_page, self->runner);
  g_signal_connect_object (self->runner, "notify::running",
                           G_CALLBACK (pst_window_update_run), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "exited",
                           G_CALLBACK (runner_exited_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->runner, "notify::listening",
                           G_CALLBACK (listening_cb), self, G_CONNECT_SWAPPED);
  self->store_monitors = g_ptr_array_new_with_free_func (g_object_unref);
  pst_window_update_run (self);
}

void
pst_window_class_add_run_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.run", NULL, run_action);
  gtk_widget_class_install_action (widget_class, "win.stop", NULL, stop_action);
  gtk_widget_class_install_action (widget_class, "win.restart", NULL, restart_action);
  gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
  gtk_widget_class_install_action (widget_class, "win.service-test", NULL, service_test_action);
}
