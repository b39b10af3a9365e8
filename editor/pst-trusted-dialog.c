/* pst-trusted-dialog.c: "Make It Trusted" — local CA, certificate, browsers, run, welcome page, in one dialog
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pst-ca-install.h"
#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-store-file.h"
#include "pst-trusted-dialog.h"
#include "pst-url.h"

/* The gateway prints "listening on URL" once bound; it starts in well under this. */
#define LISTEN_TIMEOUT_SECONDS 20

struct _PstTrustedDialog
{
  AdwWindow       parent_instance;

  PstDocument    *document;
  PstRunner      *runner;
  GCancellable   *cancellable;
  char           *message;
  char           *welcome_uri;     /* opened once the gateway listens on its origin */
  char           *listen_prefix;   /* "listening on https://host:port" */
  GQueue          root_commands;   /* GStrv: pkexec command lines still to run */
  gulong          line_handler;
  gulong          exited_handler;
  guint           listen_timeout;
  gboolean        busy;

  GtkButton      *apply_button;
  GtkSpinner     *spinner;
  AdwActionRow   *config_row;
  AdwActionRow   *ca_row;
  AdwActionRow   *hosts_row;
  GtkCheckButton *nss_check;
  GtkCheckButton *system_check;
  GtkCheckButton *java_check;
  GtkCheckButton *run_check;
  GtkLabel       *status_label;
};

G_DEFINE_FINAL_TYPE (PstTrustedDialog, pst_trusted_dialog, ADW_TYPE_WINDOW)

static PstUriLauncher uri_launcher;
static gpointer       uri_launcher_data;

void
pst_trusted_dialog_set_uri_launcher (PstUriLauncher launcher,
                                     gpointer       user_data)
{
  uri_launcher = launcher;
  uri_launcher_data = user_data;
}

/* State */

static void
say (PstTrustedDialog *self,
     const char       *message)
{
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_label_set_text (self->status_label, message);
}

static void
set_busy (PstTrustedDialog *self,
          gboolean          busy)
{
  self->busy = busy;
  if (busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trusted.apply", !busy);
}

static void
stop (PstTrustedDialog *self,
      const char       *message)
{
  say (self, message);
  set_busy (self, FALSE);
}

/* What the configuration asks for */

static GPtrArray *
secure_accept_hosts (PstConfig *config)
{
  GPtrArray *hosts = g_ptr_array_new_with_free_func (g_free);

  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);

      if (!pst_options_get_ssl_encryption (pst_service_get_accept_options (service)))
        continue;
      for (guint i = 0; i < pst_service_get_n_accepts (service); i++)
        {
          g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_accept (service, i), NULL);
          gboolean seen = FALSE;

          if (url == NULL || !url->secure)
            continue;
          for (guint h = 0; h < hosts->len; h++)
            seen |= g_ascii_strcasecmp (hosts->pdata[h], url->host) == 0;
          if (!seen)
            g_ptr_array_add (hosts, g_strdup (url->host));
        }
    }
  return hosts;
}

/* The https:// accept of the first directory service (else any https://) */
static char *
welcome_uri (PstConfig *config)
{
  char *any = NULL;

  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);

      for (guint i = 0; i < pst_service_get_n_accepts (service); i++)
        {
          g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_accept (service, i), NULL);

          if (url == NULL || !g_str_equal (url->scheme, "https"))
            continue;
          if (g_strcmp0 (pst_service_get_service_type (service), "directory") == 0)
            {
              g_free (any);
              return pst_url_to_string (url);
            }
          if (any == NULL)
            any = pst_url_to_string (url);
        }
    }
  return any;
}

static char *
display_path (const char *path)
{
  const char *home = g_get_home_dir ();

  if (path == NULL)
    return NULL;
  if (g_str_has_prefix (path, home) && path[strlen (home)] == G_DIR_SEPARATOR)
    return g_strconcat ("~", path + strlen (home), NULL);
  return g_strdup (path);
}

char *
pst_trusted_dialog_dup_default_path (void)
{
  for (guint n = 1; n < 100; n++)
    {
      g_autofree char *folder = n == 1 ? g_strdup ("Postern") : g_strdup_printf ("Postern %u", n);
      g_autofree char *path = g_build_filename (g_get_home_dir (), folder, "gateway-config.xml", NULL);

      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        return g_steal_pointer (&path);
    }
  return g_build_filename (g_get_home_dir (), "Postern", "gateway-config.xml", NULL);
}

static void
update_rows (PstTrustedDialog *self)
{
  PstConfig *config = pst_document_get_config (self->document);
  GFile *file = pst_document_get_file (self->document);
  g_autofree char *path = file != NULL ? g_file_get_path (file) : pst_trusted_dialog_dup_default_path ();
  g_autofree char *shown = display_path (path);
  g_autofree char *ca_path = NULL;
  g_autofree char *ca_shown = NULL;
  g_autoptr(GPtrArray) hosts = secure_accept_hosts (config);
  g_autofree char *config_subtitle = NULL;
  g_autofree char *ca_subtitle = NULL;

  config_subtitle = file != NULL ? g_strdup (shown) : g_strdup_printf (_("%s (saved there first)"), shown);
  adw_action_row_set_subtitle (self->config_row, config_subtitle);

  if (file != NULL)
    ca_path = pst_document_dup_local_ca_path (self->document);
  else
    {
      g_autofree char *dir = g_path_get_dirname (path);
      ca_path = g_build_filename (dir, "devca.p12", NULL);
    }
  ca_shown = display_path (ca_path);
  ca_subtitle = g_file_test (ca_path, G_FILE_TEST_EXISTS) ? g_strdup_printf (_("%s (exists)"), ca_shown)
                                                          : g_strdup_printf (_("%s (will be made)"), ca_shown);
  adw_action_row_set_subtitle (self->ca_row, ca_subtitle);

  g_ptr_array_add (hosts, NULL);
  if (hosts->len > 1)
    {
      g_autofree char *joined = g_strjoinv (", ", (char **) hosts->pdata);
      adw_action_row_set_subtitle (self->hosts_row, joined);
    }
  else
    adw_action_row_set_subtitle (self->hosts_row, _("no secure accept (wss://, https://) in this configuration"));
}

/* Step 1, on this thread: a file to work beside */

static const char *
web_folder (void)
{
  static const char *candidates[] = {
#ifdef PST_SOURCE_DIR
    PST_SOURCE_DIR "/data/web",
#endif
    PST_DATADIR "/web",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_DIR))
      return candidates[i];
  return NULL;
}

/* A new configuration saved somewhere new: a directory service whose
 * folder (../data/web in the shipped one) is not there gets the
 * installed welcome page instead, so that the gateway can start. */
static void
point_directories (PstTrustedDialog *self,
                   const char       *folder)
{
  PstConfig *config = pst_document_get_config (self->document);
  const char *web = web_folder ();

  for (guint s = 0; web != NULL && s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);
      const char *directory = pst_service_get_property (service, "directory");
      g_autofree char *resolved = NULL;

      if (g_strcmp0 (pst_service_get_service_type (service), "directory") != 0 || directory == NULL)
        continue;
      resolved = g_path_is_absolute (directory) ? g_strdup (directory) : g_build_filename (folder, directory, NULL);
      if (!g_file_test (resolved, G_FILE_TEST_IS_DIR))
        pst_config_set_service_property (config, s, "directory", web, NULL);
    }
}

static gboolean
save_first (PstTrustedDialog  *self,
            GError           **error)
{
  g_autoptr(GFile) file = NULL;

  if (pst_document_get_file (self->document) == NULL)
    {
      g_autofree char *path = pst_trusted_dialog_dup_default_path ();
      g_autofree char *folder = g_path_get_dirname (path);

      if (g_mkdir_with_parents (folder, 0700) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("Cannot make the folder %s: %s"), folder, g_strerror (saved));
          return FALSE;
        }
      point_directories (self, folder);
      file = g_file_new_for_path (path);
      return pst_document_save (self->document, file, error);
    }
  if (pst_document_get_modified (self->document))
    return pst_document_save (self->document, NULL, error);
  return TRUE;
}

/* Step 2, in a worker thread: CA, certificate, NSS */

typedef struct {
  char      *ca_path;
  char      *keystore;
  char      *keystore_password_file;
  GPtrArray *hosts;
  gboolean   nss;
  char      *made;      /* what was made, for the message */
} Work;

static void
work_free (Work *work)
{
  g_free (work->ca_path);
  g_free (work->keystore);
  g_free (work->keystore_password_file);
  g_clear_pointer (&work->hosts, g_ptr_array_unref);
  g_free (work->made);
  g_free (work);
}

static void
work_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Work *work = task_data;
  g_autoptr(PstKeystore) ca_store = NULL;
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  g_auto(PstStoreFile) sf = { 0 };
  g_autoptr(GError) error = NULL;
  PstStoreEntry *ca;

  ca_store = pst_local_ca_open_or_create (work->ca_path, NULL, FALSE, NULL, NULL, &error);
  if (ca_store == NULL || (ca = pst_local_ca_find (ca_store)) == NULL)
    {
      if (error == NULL)
        g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, _("%s holds no local CA"), work->ca_path);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!pst_store_file_open (&sf, work->keystore, work->keystore_password_file,
                            PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE, &error))
    {
      pst_store_file_abandon (&sf);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  for (guint h = 0; h < work->hosts->len; h++)
    {
      const char *host = work->hosts->pdata[h];
      gboolean covered = FALSE;

      for (guint i = 0; !covered && i < pst_keystore_get_n_entries (sf.store); i++)
        {
          PstStoreEntry *entry = pst_keystore_get_entry (sf.store, i);
          covered = pst_store_entry_get_kind (entry) == PST_ENTRY_KEY && pst_store_entry_matches_host (entry, host);
        }
      if (!covered)
        g_ptr_array_add (missing, (gpointer) host);
    }
  if (missing->len > 0)
    {
      g_autoptr(PstStoreEntry) leaf = NULL;
      g_autoptr(GPtrArray) names = g_ptr_array_new ();
      PstCertRequest request = { 0 };
      g_autofree char *joined = NULL;

      for (guint i = 0; i < missing->len; i++)
        g_ptr_array_add (names, missing->pdata[i]);
      /* as `postern run` makes it: localhost is also reached by address */
      for (guint i = 0; i < missing->len; i++)
        if (g_ascii_strcasecmp (missing->pdata[i], "localhost") == 0)
          {
            g_ptr_array_add (names, (gpointer) "127.0.0.1");
            g_ptr_array_add (names, (gpointer) "::1");
            break;
          }
      g_ptr_array_add (names, NULL);
      request.names = (const char * const *) names->pdata;
      request.key_type = PST_KEY_ECDSA_P256;
      leaf = pst_cert_generate (&request, ca, &error);
      if (leaf == NULL)
        {
          pst_store_file_abandon (&sf);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      pst_keystore_add (sf.store, leaf);
      if (!pst_store_file_save (&sf, &error))
        {
          pst_store_file_abandon (&sf);
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      g_ptr_array_add (missing, NULL);
      joined = g_strjoinv (", ", (char **) missing->pdata);
      work->made = g_strdup_printf (_("Made a certificate for %s, signed by the local CA."), joined);
    }

  if (work->nss)
    {
      g_autofree char *nickname = pst_ca_install_nickname (ca);

      if (!pst_ca_install_nss (pst_store_entry_get_certificate (ca), nickname, TRUE, NULL, NULL, NULL, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  g_task_return_boolean (task, TRUE);
}

/* Step 4: run, and open the welcome page once it listens */

static void
disconnect_runner (PstTrustedDialog *self)
{
  g_clear_signal_handler (&self->line_handler, self->runner);
  g_clear_signal_handler (&self->exited_handler, self->runner);
  g_clear_handle_id (&self->listen_timeout, g_source_remove);
}

static void
open_welcome (PstTrustedDialog *self)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));
  g_autofree char *message = g_strdup_printf (_("The gateway runs and is trusted; opening %s"), self->welcome_uri);

  stop (self, message);
  if (uri_launcher != NULL)
    uri_launcher (parent, self->welcome_uri, uri_launcher_data);
  else
    gtk_show_uri (parent, self->welcome_uri, GDK_CURRENT_TIME);
  gtk_window_close (GTK_WINDOW (self));
}

static void
runner_line_cb (PstTrustedDialog *self,
                const char       *line)
{
  if (self->listen_prefix != NULL && g_str_has_prefix (line, self->listen_prefix))
    {
      disconnect_runner (self);
      open_welcome (self);
    }
}

static void
runner_exited_cb (PstTrustedDialog *self,
                  const char       *message)
{
  g_autofree char *text = g_strdup_printf (_("The gateway stopped before it listened: %s (see its log on the Run page)"),
                                           message);

  disconnect_runner (self);
  stop (self, text);
}

static gboolean
listen_timeout_cb (gpointer user_data)
{
  PstTrustedDialog *self = user_data;

  self->listen_timeout = 0;
  disconnect_runner (self);
  stop (self, _("The gateway did not say it listens within 20 seconds; see its log on the Run page."));
  return G_SOURCE_REMOVE;
}

static void
run_gateway (PstTrustedDialog *self,
             const char       *done)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(PstUrl) url = NULL;

  if (!gtk_check_button_get_active (self->run_check))
    {
      stop (self, done);
      return;
    }
  g_free (self->welcome_uri);
  self->welcome_uri = welcome_uri (pst_document_get_config (self->document));
  if (pst_runner_get_running (self->runner))
    {
      stop (self, _("Done. The gateway already runs: stop and run it again to serve the new certificate."));
      return;
    }
  url = self->welcome_uri != NULL ? pst_url_parse (self->welcome_uri, NULL) : NULL;
  if (url != NULL)
    {
      g_autofree char *authority = pst_url_dup_authority (url);
      g_free (self->listen_prefix);
      self->listen_prefix = g_strdup_printf ("listening on https://%s", authority);
      self->line_handler = g_signal_connect_object (self->runner, "line", G_CALLBACK (runner_line_cb),
                                                    self, G_CONNECT_SWAPPED);
      self->exited_handler = g_signal_connect_object (self->runner, "exited", G_CALLBACK (runner_exited_cb),
                                                      self, G_CONNECT_SWAPPED);
      self->listen_timeout = g_timeout_add_seconds (LISTEN_TIMEOUT_SECONDS, listen_timeout_cb, self);
    }
  path = g_file_get_path (pst_document_get_file (self->document));
  say (self, _("Starting the gateway…"));
  if (!pst_runner_start (self->runner, path, &error))
    {
      disconnect_runner (self);
      stop (self, error->message);
      return;
    }
  if (url == NULL)
    stop (self, _("The gateway runs; this configuration has no https:// welcome page to open."));
}

/* Step 3: system and Java, as root, when asked */

static void run_next_root (PstTrustedDialog *self);

static void
root_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstTrustedDialog) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error))
    {
      g_autofree char *text = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      text = g_strdup_printf (_("Installing as administrator failed (or was refused): %s"), error->message);
      g_queue_clear_full (&self->root_commands, (GDestroyNotify) g_strfreev);
      stop (self, text);
      return;
    }
  run_next_root (self);
}

static void
run_next_root (PstTrustedDialog *self)
{
  g_auto(GStrv) argv = g_queue_pop_head (&self->root_commands);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  if (argv == NULL)
    {
      run_gateway (self, _("Done: the local CA is trusted where you asked."));
      return;
    }
  say (self, _("Waiting for the administrator’s password…"));
  proc = g_subprocess_newv ((const char * const *) argv, G_SUBPROCESS_FLAGS_NONE, &error);
  if (proc == NULL)
    {
      g_queue_clear_full (&self->root_commands, (GDestroyNotify) g_strfreev);
      stop (self, error->message);
      return;
    }
  g_subprocess_wait_check_async (proc, self->cancellable, root_done_cb, g_object_ref (self));
}

static void
work_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstTrustedDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  Work *work = g_task_get_task_data (G_TASK (result));
  g_autofree char *postern = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        stop (self, error->message);
      return;
    }
  if (work->made != NULL)
    say (self, work->made);
  /* the keystore changed on disk: the Problems panel follows */
  pst_document_validate_async (self->document);

  postern = pst_runner_find_binary ();
  if (gtk_check_button_get_active (self->system_check) || gtk_check_button_get_active (self->java_check))
    {
      g_autofree char *pkexec = g_find_program_in_path ("pkexec");

      if (postern == NULL)
        {
          stop (self, _("The postern command was not found: install it to change the system or Java stores."));
          return;
        }
      if (pkexec == NULL)
        {
          g_autofree char *quoted = g_shell_quote (work->ca_path);
          g_autofree char *text =
            g_strdup_printf (_("pkexec is not installed (Debian package “pkexec”), so the editor cannot ask for an "
                               "administrator’s password. Run in a terminal: sudo postern cert install-ca %s%s%s"),
                             quoted, gtk_check_button_get_active (self->system_check) ? " --system" : "",
                             gtk_check_button_get_active (self->java_check) ? " --java" : "");
          stop (self, text);
          return;
        }
      if (gtk_check_button_get_active (self->system_check))
        {
          const char *argv[] = { "pkexec", postern, "cert", "install-ca", work->ca_path, "--system", NULL };
          g_queue_push_tail (&self->root_commands, g_strdupv ((GStrv) argv));
        }
      if (gtk_check_button_get_active (self->java_check))
        {
          const char *argv[] = { "pkexec", postern, "cert", "install-ca", work->ca_path, "--java", NULL };
          g_queue_push_tail (&self->root_commands, g_strdupv ((GStrv) argv));
        }
    }
  run_next_root (self);
}

static void
apply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  PstTrustedDialog *self = PST_TRUSTED_DIALOG (widget);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTask) task = NULL;
  const PstStoreRef *ks;
  Work *work;

  if (self->busy)
    return;
  set_busy (self, TRUE);
  say (self, _("Saving the configuration…"));
  if (!save_first (self, &error))
    {
      stop (self, error->message);
      return;
    }
  update_rows (self);
  ks = pst_config_get_keystore (pst_document_get_config (self->document));
  if (ks->file == NULL)
    {
      stop (self, _("This configuration has no keystore: add one on the Security page, then try again."));
      return;
    }

  work = g_new0 (Work, 1);
  work->ca_path = pst_document_dup_local_ca_path (self->document);
  work->keystore = g_strdup (ks->file);
  work->keystore_password_file = g_strdup (ks->password_file);
  work->hosts = secure_accept_hosts (pst_document_get_config (self->document));
  work->nss = gtk_check_button_get_active (self->nss_check);
  say (self, work->nss ? _("Making the certificates and adding the CA to the browsers…")
                       : _("Making the certificates…"));
  task = g_task_new (NULL, self->cancellable, work_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, apply_action);
  g_task_set_name (task, "pst-trusted-dialog work");
  g_task_set_task_data (task, work, (GDestroyNotify) work_free);
  g_task_run_in_thread (task, work_thread);
}

PstTrustedDialog *
pst_trusted_dialog_new (GtkWindow   *parent,
                        PstDocument *document,
                        PstRunner   *runner)
{
  PstTrustedDialog *self;

  g_return_val_if_fail (PST_IS_DOCUMENT (document), NULL);
  g_return_val_if_fail (PST_IS_RUNNER (runner), NULL);

  self = g_object_new (PST_TYPE_TRUSTED_DIALOG, "transient-for", parent, NULL);
  self->document = g_object_ref (document);
  self->runner = g_object_ref (runner);
  update_rows (self);
  return self;
}

gboolean
pst_trusted_dialog_get_busy (PstTrustedDialog *self)
{
  g_return_val_if_fail (PST_IS_TRUSTED_DIALOG (self), FALSE);
  return self->busy;
}

const char *
pst_trusted_dialog_get_message (PstTrustedDialog *self)
{
  g_return_val_if_fail (PST_IS_TRUSTED_DIALOG (self), NULL);
  return self->message;
}

static void
pst_trusted_dialog_dispose (GObject *object)
{
  PstTrustedDialog *self = PST_TRUSTED_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  if (self->runner != NULL)
    disconnect_runner (self);
  g_queue_clear_full (&self->root_commands, (GDestroyNotify) g_strfreev);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->document);
  g_clear_object (&self->runner);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_TRUSTED_DIALOG);
  G_OBJECT_CLASS (pst_trusted_dialog_parent_class)->dispose (object);
}

static void
pst_trusted_dialog_finalize (GObject *object)
{
  PstTrustedDialog *self = PST_TRUSTED_DIALOG (object);

  g_free (self->message);
  g_free (self->welcome_uri);
  g_free (self->listen_prefix);
  G_OBJECT_CLASS (pst_trusted_dialog_parent_class)->finalize (object);
}

static void
pst_trusted_dialog_class_init (PstTrustedDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_trusted_dialog_dispose;
  object_class->finalize = pst_trusted_dialog_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-trusted-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, apply_button);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, config_row);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, ca_row);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, hosts_row);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, nss_check);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, system_check);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, java_check);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, run_check);
  gtk_widget_class_bind_template_child (widget_class, PstTrustedDialog, status_label);
  gtk_widget_class_install_action (widget_class, "trusted.apply", NULL, apply_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_trusted_dialog_init (PstTrustedDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->root_commands);
}
