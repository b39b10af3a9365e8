/* pst-trust-page.c: the "Trust" page — the trust doctor's report with a fix button per ✗
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pst-ca-install.h"
#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-runner.h"
#include "pst-store-file.h"
#include "pst-trust-dialog.h"
#include "pst-trust-doctor.h"
#include "pst-trust-page.h"

struct _PstTrustPage
{
  AdwBin              parent_instance;

  PstDocument        *document;
  GCancellable       *cancellable;    /* the running doctor */
  GCancellable       *fix_cancellable;
  GListStore         *rows;           /* PstTrustRow */
  char               *message;
  guint               busy;           /* doctor + fixes running */
  PstTrustRootRunner  root_runner;
  gpointer            root_runner_data;

  GtkSpinner         *spinner;
  GtkLabel           *summary_label;
  GtkListBox         *clients_list;
  GtkListBox         *keystore_list;
  GtkListBox         *backends_list;
};

G_DEFINE_FINAL_TYPE (PstTrustPage, pst_trust_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_BUSY,
  PROP_MESSAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Fix commands: `[sudo] [VAR=value…] postern cert SUBCOMMAND …` */

static char **
fix_argv (const char *fix,
          char      **java_home)
{
  g_auto(GStrv) argv = NULL;
  guint start = 0;

  if (fix == NULL || strstr (fix, "&&") != NULL || strchr (fix, '|') != NULL ||
      !g_shell_parse_argv (fix, NULL, &argv, NULL))
    return NULL;
  /* the editor asks for root itself (pkexec) */
  if (argv[start] != NULL && g_str_equal (argv[start], "sudo"))
    start++;
  for (; argv[start] != NULL && strchr (argv[start], '=') != NULL && argv[start][0] != '-'; start++)
    if (java_home != NULL && g_str_has_prefix (argv[start], "JAVA_HOME="))
      {
        g_free (*java_home);
        *java_home = g_strdup (argv[start] + strlen ("JAVA_HOME="));
      }
    else if (!g_str_has_prefix (argv[start], "JAVA_HOME="))
      return NULL;   /* another variable: a command for a shell */
  if (g_strv_length (argv + start) < 4 || !g_str_equal (argv[start], "postern") ||
      !g_str_equal (argv[start + 1], "cert"))
    return NULL;
  return g_strdupv (argv + start + 2);
}

PstTrustFixKind
pst_trust_fix_classify (const char *fix)
{
  g_auto(GStrv) argv = NULL;

  if (fix == NULL)
    return PST_TRUST_FIX_NONE;
  if ((argv = fix_argv (fix, NULL)) == NULL)
    return PST_TRUST_FIX_COPY;
  if (g_str_equal (argv[0], "install-ca"))
    {
      if (g_strv_contains ((const char * const *) argv, "--system") ||
          g_strv_contains ((const char * const *) argv, "--java"))
        return PST_TRUST_FIX_ROOT;
      if (g_strv_contains ((const char * const *) argv, "--nss"))
        return PST_TRUST_FIX_NSS;
    }
  else if (g_str_equal (argv[0], "generate"))
    return PST_TRUST_FIX_GENERATE;
  else if (g_str_equal (argv[0], "fetch") && g_strv_length (argv) >= 3)
    return PST_TRUST_FIX_FETCH;
  return PST_TRUST_FIX_COPY;
}

/* State */

static void update_summary (PstTrustPage *self);

static void
set_message (PstTrustPage *self,
             const char   *message)
{
  if (g_strcmp0 (self->message, message) == 0)
    return;
  g_free (self->message);
  self->message = g_strdup (message);
  /* shown with the verdict (a running doctor shows it when it ends) */
  if (self->cancellable == NULL)
    update_summary (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MESSAGE]);
}

static void
busy_push (PstTrustPage *self)
{
  if (self->busy++ == 0)
    {
      gtk_spinner_start (self->spinner);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.fix", FALSE);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
}

static void
busy_pop (PstTrustPage *self)
{
  g_return_if_fail (self->busy > 0);
  if (--self->busy == 0)
    {
      gtk_spinner_stop (self->spinner);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.fix", TRUE);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }
}

/* The report */

static void
update_summary (PstTrustPage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->rows));
  guint blocking = 0;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);
      blocking += pst_trust_row_is_blocking (row);
    }
  g_autofree char *text = NULL;

  if (blocking == 0)
    text = g_strdup (_("Everything the configuration needs is trusted."));
  else
    text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%u check the configuration needs fails.",
                                         "%u checks the configuration needs fail.",
                                         blocking), blocking);
  /* what the last fix did stays in view above the verdict */
  if (self->message != NULL)
    {
      g_autofree char *both = g_strconcat (self->message, "\n", text, NULL);
      gtk_label_set_text (self->summary_label, both);
    }
  else
    gtk_label_set_text (self->summary_label, text);
}

static void
doctor_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(PstTrustPage) self = user_data;
  g_autoptr(GListModel) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = pst_trust_doctor_run_finish (result, &error);
  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_object (&self->cancellable);
          gtk_label_set_text (self->summary_label, error->message);
          busy_pop (self);
        }
      return;
    }
  {
    guint n = g_list_model_get_n_items (rows);
    g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

    for (guint i = 0; i < n; i++)
      g_ptr_array_add (items, g_list_model_get_item (rows, i));
    g_list_store_splice (self->rows, 0, g_list_model_get_n_items (G_LIST_MODEL (self->rows)),
                         items->pdata, items->len);
  }
  g_clear_object (&self->cancellable);
  update_summary (self);
  busy_pop (self);
}

void
pst_trust_page_refresh (PstTrustPage *self)
{
  g_return_if_fail (PST_IS_TRUST_PAGE (self));

  if (self->document == NULL)
    return;
  if (self->cancellable != NULL)
    {
      /* the running one is dropped; its busy count is taken over */
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
  else
    busy_push (self);
  self->cancellable = g_cancellable_new ();
  gtk_label_set_text (self->summary_label, _("Checking who trusts what…"));
  pst_trust_doctor_run_async (pst_document_get_config (self->document), 0, self->cancellable,
                              doctor_cb, g_object_ref (self));
}

/* Fixes */

static void
fix_done (PstTrustPage *self,
          const char   *message)
{
  set_message (self, message);
  busy_pop (self);
  /* a store may have changed on disk: the Problems panel follows */
  if (self->document != NULL)
    pst_document_validate_async (self->document);
  pst_trust_page_refresh (self);
}

static void
nss_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(PstTrustPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!pst_ca_install_nss_finish (result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      fix_done (self, error->message);
      return;
    }
  fix_done (self, _("The local CA is now trusted by the browsers’ NSS databases."));
}

/* `cert generate --keystore KS [--ca CA] NAME…`, by the library, in a thread */
typedef struct {
  char  *keystore;
  char  *password_file;
  char  *ca;
  GStrv  names;
} GenerateData;

static void
generate_data_free (GenerateData *data)
{
  g_free (data->keystore);
  g_free (data->password_file);
  g_free (data->ca);
  g_strfreev (data->names);
  g_free (data);
}

static void
generate_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GenerateData *data = task_data;
  g_autoptr(PstKeystore) ca_store = NULL;
  g_autoptr(PstStoreEntry) entry = NULL;
  g_auto(PstStoreFile) sf = { 0 };
  g_autoptr(GError) error = NULL;
  PstStoreEntry *ca = NULL;
  PstCertRequest request = { 0 };

  if (data->ca != NULL)
    {
      ca_store = pst_local_ca_open_or_create (data->ca, NULL, FALSE, NULL, NULL, &error);
      if (ca_store == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      ca = pst_local_ca_find (ca_store);
    }
  request.names = (const char * const *) data->names;
  request.key_type = PST_KEY_ECDSA_P256;
  if ((entry = pst_cert_generate (&request, ca, &error)) == NULL ||
      !pst_store_file_open (&sf, data->keystore, data->password_file,
                            PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE, &error))
    {
      pst_store_file_abandon (&sf);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  pst_keystore_add (sf.store, entry);
  if (!pst_store_file_save (&sf, &error))
    {
      pst_store_file_abandon (&sf);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_boolean (task, TRUE);
}

static void
generate_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(PstTrustPage) self = user_data;
  g_autoptr(GError) error = NULL;
  GenerateData *data = g_task_get_task_data (G_TASK (result));
  g_autofree char *names = g_strjoinv (", ", data->names);
  g_autofree char *message = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      fix_done (self, error->message);
      return;
    }
  message = g_strdup_printf (_("Certificate for %s added to the keystore."), names);
  fix_done (self, message);
}

static gboolean
start_generate (PstTrustPage *self,
                char        **argv)
{
  const PstStoreRef *ks = pst_config_get_keystore (pst_document_get_config (self->document));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GTask) task = NULL;
  GenerateData *data = g_new0 (GenerateData, 1);

  for (guint i = 1; argv[i] != NULL; i++)
    {
      if (g_str_equal (argv[i], "--keystore") && argv[i + 1] != NULL)
        data->keystore = g_strdup (argv[++i]);
      else if (g_str_equal (argv[i], "--ca") && argv[i + 1] != NULL)
        data->ca = g_strdup (argv[++i]);
      else if (argv[i][0] != '-')
        g_ptr_array_add (names, g_strdup (argv[i]));
    }
  if (data->keystore == NULL || names->len == 0 || ks->file == NULL)
    {
      generate_data_free (data);
      return FALSE;
    }
  /* the configured keystore's own password file, when the fix names it */
  {
    g_autoptr(GFile) named = g_file_new_for_path (data->keystore);
    g_autoptr(GFile) configured = g_file_new_for_path (ks->file);

    if (g_file_equal (named, configured))
      data->password_file = g_strdup (ks->password_file);
  }
  g_ptr_array_add (names, NULL);
  data->names = (GStrv) g_ptr_array_steal (names, NULL);

  task = g_task_new (NULL, self->fix_cancellable, generate_done_cb, g_object_ref (self));
  g_task_set_source_tag (task, start_generate);
  g_task_set_name (task, "pst-trust-page generate");
  g_task_set_task_data (task, data, (GDestroyNotify) generate_data_free);
  busy_push (self);
  g_task_run_in_thread (task, generate_thread);
  return TRUE;
}

static void
fetch_trusted_cb (PstTrustPage *self)
{
  set_message (self, _("The back-end’s certificate is now in the truststore."));
  if (self->document != NULL)
    pst_document_validate_async (self->document);
  pst_trust_page_refresh (self);
}

static void
start_fetch (PstTrustPage *self,
             char        **argv)
{
  const PstStoreRef *ts = pst_config_get_truststore (pst_document_get_config (self->document));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  PstTrustDialog *dialog;

  dialog = pst_trust_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, argv[1],
                                 ts->file != NULL ? ts->password_file : NULL);
  pst_trust_dialog_set_address (dialog, argv[2]);
  g_signal_connect_object (dialog, "trusted", G_CALLBACK (fetch_trusted_cb), self, G_CONNECT_SWAPPED);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* install-ca --system / --java: root, through pkexec, once the user agreed */
typedef struct {
  PstTrustPage *self;
  GStrv         argv;
} RootRequest;

static void
root_request_free (RootRequest *request)
{
  g_object_unref (request->self);
  g_strfreev (request->argv);
  g_free (request);
}

static void
root_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstTrustPage) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error))
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;   /* the page went away */
      message = g_strdup_printf (_("Installing as administrator failed: %s"), error->message);
      fix_done (self, message);
      return;
    }
  fix_done (self, _("The local CA is installed."));
}

static void
root_response_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  gpointer          user_data)
{
  RootRequest *request = user_data;
  PstTrustPage *self = request->self;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;

  if (!g_str_equal (response, "run"))
    return;
  if (self->root_runner != NULL)
    {
      self->root_runner ((const char * const *) request->argv, self->root_runner_data);
      return;
    }
  proc = g_subprocess_newv ((const char * const *) request->argv, G_SUBPROCESS_FLAGS_NONE, &error);
  if (proc == NULL)
    {
      set_message (self, error->message);
      return;
    }
  busy_push (self);
  g_subprocess_wait_check_async (proc, self->fix_cancellable, root_done_cb, g_object_ref (self));
}

static void
start_root (PstTrustPage *self,
            const char   *fix)
{
  g_autofree char *java_home = NULL;
  g_auto(GStrv) argv = fix_argv (fix, &java_home);
  g_autofree char *postern = pst_runner_find_binary ();
  g_autofree char *pkexec = NULL;
  g_autofree char *store = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  gboolean system_store = g_strv_contains ((const char * const *) argv, "--system");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  AdwMessageDialog *dialog;
  RootRequest *request;

  if (postern == NULL)
    {
      set_message (self, _("The postern command was not found; install it or run the editor from its build tree."));
      return;
    }
  if (self->root_runner == NULL && (pkexec = g_find_program_in_path ("pkexec")) == NULL)
    {
      g_autofree char *text = g_strdup_printf (_("pkexec is not installed (Debian package “pkexec”), so the "
                                                 "editor cannot ask for an administrator’s password; the command "
                                                 "was copied, run it in a terminal: %s"), fix);
      gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)), fix);
      set_message (self, text);
      return;
    }
  /* pkexec runs as root with a clean environment and another folder */
  {
    g_autoptr(GFile) file = g_file_new_for_path (argv[1]);
    store = g_file_get_path (file);
  }
  g_strv_builder_add (builder, "pkexec");
  if (java_home != NULL)
    {
      g_autofree char *assignment = g_strconcat ("JAVA_HOME=", java_home, NULL);
      g_strv_builder_add_many (builder, "env", assignment, NULL);
    }
  g_strv_builder_add_many (builder, postern, "cert", "install-ca", store,
                           system_store ? "--system" : "--java", NULL);

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                       _("Install as Administrator?"), NULL));
  adw_message_dialog_format_body (dialog, "%s",
                                  system_store
                                  ? _("The system store is shared by every user and program of this machine: "
                                      "adding the local CA writes /usr/local/share/ca-certificates and runs "
                                      "update-ca-certificates, which only an administrator may do. You will be "
                                      "asked for an administrator’s password (pkexec).")
                                  : _("The JDK’s cacerts file belongs to the system: adding the local CA to it "
                                      "needs an administrator. You will be asked for an administrator’s "
                                      "password (pkexec)."));
  adw_message_dialog_add_responses (dialog, "cancel", _("_Cancel"), "run", _("_Install as Administrator"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "run", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  request = g_new0 (RootRequest, 1);
  request->self = g_object_ref (self);
  request->argv = g_strv_builder_end (builder);
  g_signal_connect_data (dialog, "response", G_CALLBACK (root_response_cb), request,
                         (GClosureNotify) (void (*) (void)) root_request_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static PstTrustRow *
find_row (PstTrustPage *self,
          const char   *key)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->rows)); i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (G_LIST_MODEL (self->rows), i);

      if (g_str_equal (pst_trust_row_get_key (row), key))
        return row;   /* the store keeps it alive */
    }
  return NULL;
}

static void
fix_action (GtkWidget  *widget,
            const char *action_name,
            GVariant   *param)
{
  PstTrustPage *self = PST_TRUST_PAGE (widget);
  PstTrustRow *row = find_row (self, g_variant_get_string (param, NULL));
  const char *fix = row != NULL ? pst_trust_row_get_fix (row) : NULL;
  PstTrustFixKind kind = pst_trust_fix_classify (fix);
  g_auto(GStrv) argv = fix_argv (fix, NULL);

  if (self->document == NULL || fix == NULL)
    return;
  /* no keystore configured: the command names one the configuration does not use */
  if (g_str_equal (pst_trust_row_get_key (row), "keystore"))
    kind = PST_TRUST_FIX_COPY;

  switch (kind)
    {
    case PST_TRUST_FIX_NSS:
      busy_push (self);
      pst_ca_install_nss_async (argv[1], NULL, self->fix_cancellable, nss_done_cb, g_object_ref (self));
      return;
    case PST_TRUST_FIX_GENERATE:
      if (start_generate (self, argv))
        return;
      break;
    case PST_TRUST_FIX_FETCH:
      start_fetch (self, argv);
      return;
    case PST_TRUST_FIX_ROOT:
      start_root (self, fix);
      return;
    case PST_TRUST_FIX_NONE:
    case PST_TRUST_FIX_COPY:
    default:
      break;
    }
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), fix);
  set_message (self, _("The command that fixes it was copied: paste it in a terminal."));
}

static void
refresh_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  pst_trust_page_refresh (PST_TRUST_PAGE (widget));
}

/* Rows */

static GtkWidget *
create_row (gpointer item,
            gpointer user_data)
{
  PstTrustRow *row = item;
  PstTrustStatus status = pst_trust_row_get_status (row);
  const char *fix = pst_trust_row_get_fix (row);
  AdwActionRow *widget = ADW_ACTION_ROW (adw_action_row_new ());
  GtkWidget *icon;
  g_autofree char *subtitle = NULL;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (widget), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (widget), pst_trust_row_get_subject (row));
  subtitle = g_strdup_printf ("%s — %s%s", pst_trust_row_get_check (row), pst_trust_row_get_detail (row),
                              status == PST_TRUST_STATUS_FAIL && !pst_trust_row_get_needed (row)
                              ? _(" (optional)") : "");
  adw_action_row_set_subtitle (widget, subtitle);
  gtk_widget_set_name (GTK_WIDGET (widget), pst_trust_row_get_key (row));

  icon = gtk_image_new_from_icon_name (status == PST_TRUST_STATUS_OK ? "emblem-ok-symbolic"
                                       : status == PST_TRUST_STATUS_FAIL ? "dialog-error-symbolic"
                                       : "dialog-information-symbolic");
  gtk_widget_add_css_class (icon, status == PST_TRUST_STATUS_OK ? "success"
                                  : status == PST_TRUST_STATUS_FAIL ? (pst_trust_row_get_needed (row) ? "error" : "warning")
                                  : "dim-label");
  gtk_widget_set_tooltip_text (icon, status == PST_TRUST_STATUS_OK ? _("Trusted")
                                     : status == PST_TRUST_STATUS_FAIL ? _("Not trusted") : _("Information"));
  adw_action_row_add_prefix (widget, icon);

  if (status == PST_TRUST_STATUS_FAIL && fix != NULL)
    {
      const char *label;
      GtkWidget *button;

      switch (pst_trust_fix_classify (fix))
        {
        case PST_TRUST_FIX_NSS:      label = _("_Install"); break;
        case PST_TRUST_FIX_ROOT:     label = _("Install as _Administrator…"); break;
        case PST_TRUST_FIX_GENERATE: label = _("_Generate"); break;
        case PST_TRUST_FIX_FETCH:    label = _("_Trust…"); break;
        case PST_TRUST_FIX_NONE:
        case PST_TRUST_FIX_COPY:
        default:                     label = _("_Copy Command"); break;
        }
      if (g_str_equal (pst_trust_row_get_key (row), "keystore"))
        label = _("_Copy Command");
      button = gtk_button_new_with_mnemonic (label);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      gtk_widget_set_tooltip_text (button, fix);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "trust.fix");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", pst_trust_row_get_key (row));
      adw_action_row_add_suffix (widget, button);
    }
  return GTK_WIDGET (widget);
}

static gboolean
in_section (gpointer item,
            gpointer user_data)
{
  return pst_trust_row_get_section (item) == GPOINTER_TO_UINT (user_data);
}

static void
bind_section (PstTrustPage    *self,
              GtkListBox      *list,
              PstTrustSection  section)
{
  GtkCustomFilter *filter = gtk_custom_filter_new (in_section, GUINT_TO_POINTER (section), NULL);
  g_autoptr(GtkFilterListModel) model = gtk_filter_list_model_new (G_LIST_MODEL (g_object_ref (self->rows)),
                                                                   GTK_FILTER (filter));

  gtk_list_box_bind_model (list, G_LIST_MODEL (model), create_row, self, NULL);
}

/* Public */

void
pst_trust_page_set_document (PstTrustPage *self,
                             PstDocument  *document)
{
  g_return_if_fail (PST_IS_TRUST_PAGE (self));
  g_return_if_fail (document == NULL || PST_IS_DOCUMENT (document));

  if (self->document == document)
    return;
  g_set_object (&self->document, document);
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
      busy_pop (self);
    }
  g_list_store_remove_all (self->rows);
  gtk_label_set_text (self->summary_label, "");
  if (document != NULL && gtk_widget_get_mapped (GTK_WIDGET (self)))
    pst_trust_page_refresh (self);
}

GListModel *
pst_trust_page_get_rows (PstTrustPage *self)
{
  g_return_val_if_fail (PST_IS_TRUST_PAGE (self), NULL);
  return G_LIST_MODEL (self->rows);
}

gboolean
pst_trust_page_get_busy (PstTrustPage *self)
{
  g_return_val_if_fail (PST_IS_TRUST_PAGE (self), FALSE);
  return self->busy > 0;
}

const char *
pst_trust_page_get_message (PstTrustPage *self)
{
  g_return_val_if_fail (PST_IS_TRUST_PAGE (self), NULL);
  return self->message;
}

void
pst_trust_page_set_root_runner (PstTrustPage      *self,
                                PstTrustRootRunner runner,
                                gpointer           user_data)
{
  g_return_if_fail (PST_IS_TRUST_PAGE (self));
  self->root_runner = runner;
  self->root_runner_data = user_data;
}

/* Shown: the report is made when the page is first looked at, not for every open */
static void
pst_trust_page_map (GtkWidget *widget)
{
  PstTrustPage *self = PST_TRUST_PAGE (widget);

  GTK_WIDGET_CLASS (pst_trust_page_parent_class)->map (widget);
  if (self->document != NULL && self->cancellable == NULL &&
      g_list_model_get_n_items (G_LIST_MODEL (self->rows)) == 0)
    pst_trust_page_refresh (self);
}

static void
pst_trust_page_dispose (GObject *object)
{
  PstTrustPage *self = PST_TRUST_PAGE (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->fix_cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->fix_cancellable);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_TRUST_PAGE);
  G_OBJECT_CLASS (pst_trust_page_parent_class)->dispose (object);
}

static void
pst_trust_page_finalize (GObject *object)
{
  PstTrustPage *self = PST_TRUST_PAGE (object);

  g_clear_object (&self->rows);
  g_free (self->message);
  G_OBJECT_CLASS (pst_trust_page_parent_class)->finalize (object);
}

static void
pst_trust_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PstTrustPage *self = PST_TRUST_PAGE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy > 0);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_trust_page_class_init (PstTrustPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_trust_page_dispose;
  object_class->finalize = pst_trust_page_finalize;
  object_class->get_property = pst_trust_page_get_property;
  widget_class->map = pst_trust_page_map;

  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-trust-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PstTrustPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, PstTrustPage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, PstTrustPage, clients_list);
  gtk_widget_class_bind_template_child (widget_class, PstTrustPage, keystore_list);
  gtk_widget_class_bind_template_child (widget_class, PstTrustPage, backends_list);
  gtk_widget_class_install_action (widget_class, "trust.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "trust.fix", "s", fix_action);
}

static void
pst_trust_page_init (PstTrustPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_list_store_new (PST_TYPE_TRUST_ROW);
  self->fix_cancellable = g_cancellable_new ();
  bind_section (self, self->clients_list, PST_TRUST_SECTION_CLIENTS);
  bind_section (self, self->keystore_list, PST_TRUST_SECTION_KEYSTORE);
  bind_section (self, self->backends_list, PST_TRUST_SECTION_BACKENDS);
}
