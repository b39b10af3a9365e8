/* pst-security-page.c: the keystore and truststore of the configuration
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-security-page.h"
#include "pst-store-file.h"
#include "pst-window.h"

struct _PstSecurityPage
{
  AdwBin                parent_instance;

  PstDocument          *document;
  GtkFileChooserNative *chooser;
  PstStoreKind          chooser_kind;     /* what the open chooser is for */
  guint                 chooser_purpose;  /* Purpose */
  guint                 refreshing : 1;

  AdwActionRow         *keystore_file_row;
  AdwComboRow          *keystore_type_row;
  AdwActionRow         *keystore_password_row;
  GtkCheckButton       *keystore_keyring_check;
  AdwActionRow         *truststore_file_row;
  AdwComboRow          *truststore_type_row;
  AdwActionRow         *truststore_password_row;
  GtkCheckButton       *truststore_keyring_check;
};

G_DEFINE_FINAL_TYPE (PstSecurityPage, pst_security_page, ADW_TYPE_BIN)

/* The type row's model, after "Detected from the file". */
static const char * const store_types[] = { NULL, "PKCS12", "JKS", "JCEKS", "PEM" };

static PstConfig *
get_config (PstSecurityPage *self)
{
  return self->document != NULL ? pst_document_get_config (self->document) : NULL;
}

static const PstStoreRef *
get_ref (PstSecurityPage *self,
         PstStoreKind     kind)
{
  PstConfig *config = get_config (self);

  if (config == NULL)
    return NULL;
  return kind == PST_STORE_KIND_TRUSTSTORE ? pst_config_get_truststore (config)
                                           : pst_config_get_keystore (config);
}

static void
toast (PstSecurityPage *self,
       const char      *message)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (PST_IS_WINDOW (root))
    pst_window_add_toast (PST_WINDOW (root), message);
}

static void
report (PstSecurityPage *self,
        const GError    *error)
{
  if (self->document != NULL)
    pst_document_report_error (self->document, error);
}

static void
show_ref (PstSecurityPage   *self,
          const PstStoreRef *ref,
          AdwActionRow      *file_row,
          AdwComboRow       *type_row,
          AdwActionRow      *password_row,
          GtkCheckButton    *keyring_check)
{
  gboolean configured = ref != NULL && ref->file != NULL;
  g_autofree char *file = NULL;
  g_autofree char *password = NULL;
  guint type = 0;

  if (configured)
    file = pst_document_relative_path (self->document, ref->file);
  adw_action_row_set_subtitle (file_row, configured ? file : _("Not configured"));

  if (ref != NULL && ref->type != NULL)
    {
      for (guint i = 1; i < G_N_ELEMENTS (store_types); i++)
        if (g_ascii_strcasecmp (ref->type, store_types[i]) == 0)
          type = i;
    }
  adw_combo_row_set_selected (type_row, type);
  gtk_widget_set_sensitive (GTK_WIDGET (type_row), configured);

  gtk_check_button_set_active (keyring_check, ref != NULL && ref->password_keyring);
  gtk_widget_set_sensitive (GTK_WIDGET (keyring_check), self->document != NULL);
  if (ref != NULL && ref->password_keyring)
    password = g_strdup (_("In the desktop keyring"));
  else if (ref != NULL && ref->password_file != NULL)
    password = pst_document_relative_path (self->document, ref->password_file);
  else if (configured)
    {
      g_autofree char *default_path = pst_password_default_path (ref->file);
      g_autofree char *relative = pst_document_relative_path (self->document, default_path);

      password = g_strdup_printf (_("Default: %s, or keytool’s “changeit” when it does not exist"), relative);
    }
  adw_action_row_set_subtitle (password_row, password != NULL ? password : _("Not configured"));
  gtk_widget_set_sensitive (GTK_WIDGET (password_row), configured && !(ref != NULL && ref->password_keyring));
}

static void
refresh (PstSecurityPage *self)
{
  self->refreshing = TRUE;
  show_ref (self, get_ref (self, PST_STORE_KIND_KEYSTORE),
            self->keystore_file_row, self->keystore_type_row, self->keystore_password_row,
            self->keystore_keyring_check);
  show_ref (self, get_ref (self, PST_STORE_KIND_TRUSTSTORE),
            self->truststore_file_row, self->truststore_type_row, self->truststore_password_row,
            self->truststore_keyring_check);
  self->refreshing = FALSE;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "security.choose-file", self->document != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "security.create", self->document != NULL);
}

void
pst_security_page_set_document (PstSecurityPage *self,
                                PstDocument     *document)
{
  g_return_if_fail (PST_IS_SECURITY_PAGE (self));

  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_set_object (&self->document, document);
  if (document != NULL)
    g_signal_connect_object (document, "changed", G_CALLBACK (refresh), self, G_CONNECT_SWAPPED);
  refresh (self);
}

static gboolean
set_field (PstSecurityPage *self,
           PstStoreKind     kind,
           const char      *field,
           const char      *absolute)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *value = absolute != NULL ? pst_document_relative_path (self->document, absolute) : NULL;

  if (!pst_config_set_store_field (get_config (self), kind, field, value, &error))
    {
      report (self, error);
      return FALSE;
    }
  return TRUE;
}

static void
set_type (PstSecurityPage *self,
          PstStoreKind     kind,
          AdwComboRow     *row)
{
  g_autoptr(GError) error = NULL;
  guint selected = adw_combo_row_get_selected (row);

  if (self->refreshing || self->document == NULL || selected >= G_N_ELEMENTS (store_types))
    return;
  if (!pst_config_set_store_field (get_config (self), kind, "type", store_types[selected], &error))
    report (self, error);
}

static void
keystore_type_changed_cb (PstSecurityPage *self)
{
  set_type (self, PST_STORE_KIND_KEYSTORE, self->keystore_type_row);
}

static void
truststore_type_changed_cb (PstSecurityPage *self)
{
  set_type (self, PST_STORE_KIND_TRUSTSTORE, self->truststore_type_row);
}

/* "Remember in Keyring": the configuration says where the password is;
 * for a store that exists the library moves the password first (in a
 * thread), so that the gateway finds it where the configuration says. */

typedef struct {
  PstSecurityPage *self;
  PstStoreKind     kind;
  gboolean         to_keyring;
} KeyringMove;

static gboolean
set_keyring_fields (PstSecurityPage *self,
                    PstStoreKind     kind,
                    gboolean         to_keyring,
                    GError         **error)
{
  PstConfig *config = get_config (self);

  if (to_keyring)
    return pst_config_set_store_field (config, kind, "password-file", NULL, error) &&
           pst_config_set_store_field (config, kind, "password-keyring", "true", error);
  return pst_config_set_store_field (config, kind, "password-keyring", NULL, error);
}

static void
keyring_moved_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  KeyringMove *move = user_data;
  g_autoptr(PstSecurityPage) self = move->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *moved = pst_password_keyring_move_finish (result, &error);
  g_autofree char *message = NULL;

  if (moved == NULL || self->document == NULL ||
      !set_keyring_fields (self, move->kind, move->to_keyring, &error))
    {
      if (error != NULL)
        report (self, error);
      refresh (self);   /* the check button shows where the password still is */
      g_free (move);
      return;
    }
  if (move->to_keyring)
    message = g_strdup (_("The keyring now keeps the store’s password; its password file is no longer used"));
  else
    {
      g_autofree char *relative = pst_document_relative_path (self->document, moved);

      message = g_strdup_printf (_("The store’s password is in %s again (mode 0600)"), relative);
    }
  toast (self, message);
  g_free (move);
}

static void
keyring_toggled (PstSecurityPage *self,
                 PstStoreKind     kind,
                 GtkCheckButton  *check)
{
  const PstStoreRef *ref = get_ref (self, kind);
  gboolean active = gtk_check_button_get_active (check);
  g_autoptr(GError) error = NULL;
  KeyringMove *move;

  if (self->refreshing || ref == NULL || active == ref->password_keyring)
    return;
  /* no store yet: the one Create… or New Certificate makes gets a keyring password */
  if (ref->file == NULL || !g_file_test (ref->file, G_FILE_TEST_EXISTS))
    {
      if (!set_keyring_fields (self, kind, active, &error))
        report (self, error);
      return;
    }
  move = g_new0 (KeyringMove, 1);
  move->self = g_object_ref (self);
  move->kind = kind;
  move->to_keyring = active;
  gtk_widget_set_sensitive (GTK_WIDGET (check), FALSE);
  pst_password_keyring_move_async (ref->file, active, ref->password_file, NULL, keyring_moved_cb, move);
}

static void
keystore_keyring_toggled_cb (PstSecurityPage *self)
{
  keyring_toggled (self, PST_STORE_KIND_KEYSTORE, self->keystore_keyring_check);
}

static void
truststore_keyring_toggled_cb (PstSecurityPage *self)
{
  keyring_toggled (self, PST_STORE_KIND_TRUSTSTORE, self->truststore_keyring_check);
}

static PstStoreKind
kind_of (GVariant *param)
{
  return g_strcmp0 (g_variant_get_string (param, NULL), "truststore") == 0
         ? PST_STORE_KIND_TRUSTSTORE : PST_STORE_KIND_KEYSTORE;
}

/* File choosers: one at a time, what to do with the answer in `purpose` */

typedef enum {
  CHOOSE_FILE,
  CHOOSE_PASSWORD,
  CREATE_STORE,
} Purpose;

static void chooser_response_cb (GtkNativeDialog *dialog, int response, PstSecurityPage *self);

static void
open_chooser (PstSecurityPage      *self,
              PstStoreKind          kind,
              Purpose               purpose,
              const char           *title,
              GtkFileChooserAction  action,
              const char           *accept,
              const char           *current_name)
{
  const PstStoreRef *ref = get_ref (self, kind);
  g_autoptr(GFile) folder = NULL;

  pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), title, action, accept);
  /* New files go beside the configuration, where relative paths point. */
  if (pst_document_get_file (self->document) != NULL)
    folder = g_file_new_for_path (pst_config_get_directory (get_config (self)));
  if (ref != NULL && ref->file != NULL && purpose == CHOOSE_FILE)
    {
      g_autoptr(GFile) current = g_file_new_for_path (ref->file);
      g_clear_object (&folder);
      folder = g_file_get_parent (current);
    }
  if (folder != NULL)
    gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
  if (current_name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), current_name);

  self->chooser_kind = kind;
  self->chooser_purpose = purpose;
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* "Create…" in two halves: opening (or making) the store costs PBKDF2
 * rounds and perhaps a keyring call, so the async form runs that half in
 * a worker thread; applying it to the configuration is main-thread work. */

typedef struct {
  PstStoreKind    kind;
  char           *path;
  gboolean        keyring;           /* a new password goes to the keyring */
  /* what the open found or made */
  PstStoreFormat  format;
  char           *password_file;
  gboolean        created;
  gboolean        password_keyring;
} CreateStore;

static void
create_store_free (CreateStore *create)
{
  g_free (create->path);
  g_free (create->password_file);
  g_free (create);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CreateStore, create_store_free)

static CreateStore *
create_store_new (PstSecurityPage *self,
                  PstStoreKind     kind,
                  const char      *path)
{
  CreateStore *create = g_new0 (CreateStore, 1);

  create->kind = kind;
  create->path = g_strdup (path);
  create->keyring = get_ref (self, kind) != NULL && get_ref (self, kind)->password_keyring;
  return create;
}

/* Any thread.  An existing store is kept as it is (never overwritten by
 * "Create"). */
static gboolean
create_store_open (CreateStore  *create,
                   GError      **error)
{
  g_auto(PstStoreFile) sf = { 0 };

  if (!pst_store_file_open (&sf, create->path, NULL,
                            PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE |
                            (create->keyring ? PST_STORE_OPEN_KEYRING : 0), error) ||
      (sf.created && !pst_store_file_save (&sf, error)))
    {
      pst_store_file_abandon (&sf);
      return FALSE;
    }
  create->format = pst_keystore_get_format (sf.store);
  create->password_file = g_strdup (sf.password_file);
  create->created = sf.created;
  create->password_keyring = sf.password_keyring;
  return TRUE;
}

/* The main thread: the configuration points at the store. */
static gboolean
create_store_apply (PstSecurityPage  *self,
                    CreateStore      *create,
                    GError          **error)
{
  g_autofree char *file = NULL;
  g_autofree char *password_file = NULL;
  g_autofree char *message = NULL;
  g_autofree char *basename = NULL;
  PstConfig *config;

  if (self->document == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, _("The configuration was closed"));
      return FALSE;
    }
  config = get_config (self);
  file = pst_document_relative_path (self->document, create->path);
  if (!pst_config_set_store_field (config, create->kind, "file", file, error) ||
      !pst_config_set_store_field (config, create->kind, "type",
                                   pst_store_format_to_string (create->format), error))
    return FALSE;
  if (create->password_file != NULL)
    {
      password_file = pst_document_relative_path (self->document, create->password_file);
      if (!pst_config_set_store_field (config, create->kind, "password-file", password_file, error))
        return FALSE;
    }

  basename = g_path_get_basename (create->path);
  if (create->created && create->password_keyring)
    message = g_strdup_printf (_("Created “%s” with a random password in the keyring"), basename);
  else if (create->created)
    message = g_strdup_printf (_("Created “%s” with a random password in its password file"), basename);
  else
    message = g_strdup_printf (_("“%s” exists already: the configuration now uses it"), basename);
  toast (self, message);
  return TRUE;
}

gboolean
pst_security_page_create_store (PstSecurityPage  *self,
                                PstStoreKind      kind,
                                const char       *path,
                                GError          **error)
{
  g_autoptr(CreateStore) create = NULL;

  g_return_val_if_fail (PST_IS_SECURITY_PAGE (self), FALSE);
  g_return_val_if_fail (self->document != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  create = create_store_new (self, kind, path);
  return create_store_open (create, error) && create_store_apply (self, create, error);
}

static void
create_store_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  GError *error = NULL;

  if (create_store_open (task_data, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
pst_security_page_create_store_async (PstSecurityPage     *self,
                                      PstStoreKind         kind,
                                      const char          *path,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PST_IS_SECURITY_PAGE (self));
  g_return_if_fail (self->document != NULL);
  g_return_if_fail (path != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_security_page_create_store_async);
  g_task_set_name (task, "[postern-editor] create store");
  g_task_set_task_data (task, create_store_new (self, kind, path), (GDestroyNotify) create_store_free);
  g_task_run_in_thread (task, create_store_thread);
}

gboolean
pst_security_page_create_store_finish (PstSecurityPage  *self,
                                       GAsyncResult     *result,
                                       GError          **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  return create_store_apply (self, g_task_get_task_data (G_TASK (result)), error);
}

static void
created_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (source);
  g_autoptr(GError) error = NULL;

  if (!pst_security_page_create_store_finish (self, result, &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    report (self, error);
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     PstSecurityPage *self)
{
  PstStoreKind kind = self->chooser_kind;
  Purpose purpose = self->chooser_purpose;
  g_autofree char *path = pst_file_chooser_dup_path (dialog, response);

  if (path == NULL || self->document == NULL)
    return;

  switch (purpose)
    {
    case CHOOSE_FILE:
      set_field (self, kind, "file", path);
      break;
    case CHOOSE_PASSWORD:
      if (pst_password_file_is_exposed (path))
        toast (self, _("Other users can read this password file; make it private with “chmod 600”"));
      set_field (self, kind, "password-file", path);
      break;
    case CREATE_STORE:
      pst_security_page_create_store_async (self, kind, path, NULL, created_cb, NULL);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
choose_file_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *param)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (widget);
  PstStoreKind kind = kind_of (param);

  open_chooser (self, kind, CHOOSE_FILE,
                kind == PST_STORE_KIND_TRUSTSTORE ? _("Choose the Truststore") : _("Choose the Keystore"),
                GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), NULL);
}

static void
choose_password_action (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *param)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (widget);

  open_chooser (self, kind_of (param), CHOOSE_PASSWORD, _("Choose the Password File"),
                GTK_FILE_CHOOSER_ACTION_OPEN, _("_Choose"), NULL);
}

static void
create_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (widget);
  PstStoreKind kind = kind_of (param);
  gboolean trust = kind == PST_STORE_KIND_TRUSTSTORE;

  open_chooser (self, kind, CREATE_STORE,
                trust ? _("Create a Truststore") : _("Create a Keystore"),
                GTK_FILE_CHOOSER_ACTION_SAVE, _("C_reate"),
                trust ? "truststore.p12" : "keystore.p12");
}

static void
remove_store_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *param)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (widget);
  g_autoptr(GError) error = NULL;

  /* Only the configuration forgets it: the files stay where they are. */
  if (self->document != NULL &&
      !pst_config_remove_store (get_config (self), kind_of (param), &error))
    report (self, error);
}

static void
clear_password_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *param)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (widget);

  if (self->document != NULL)
    set_field (self, kind_of (param), "password-file", NULL);
}

static void
pst_security_page_dispose (GObject *object)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (object);

  pst_file_chooser_clear (&self->chooser);
  if (self->document != NULL)
    g_signal_handlers_disconnect_by_data (self->document, self);
  g_clear_object (&self->document);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_SECURITY_PAGE);
  G_OBJECT_CLASS (pst_security_page_parent_class)->dispose (object);
}

static void
pst_security_page_class_init (PstSecurityPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_security_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-security-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, keystore_file_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, keystore_type_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, keystore_password_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, truststore_file_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, truststore_type_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, truststore_password_row);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, keystore_keyring_check);
  gtk_widget_class_bind_template_child (widget_class, PstSecurityPage, truststore_keyring_check);
  gtk_widget_class_bind_template_callback (widget_class, keystore_keyring_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, truststore_keyring_toggled_cb);
  gtk_widget_class_bind_template_callback (widget_class, keystore_type_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, truststore_type_changed_cb);
  gtk_widget_class_install_action (widget_class, "security.choose-file", "s", choose_file_action);
  gtk_widget_class_install_action (widget_class, "security.choose-password", "s", choose_password_action);
  gtk_widget_class_install_action (widget_class, "security.create", "s", create_action);
  gtk_widget_class_install_action (widget_class, "security.remove-store", "s", remove_store_action);
  gtk_widget_class_install_action (widget_class, "security.clear-password", "s", clear_password_action);
}

static void
pst_security_page_init (PstSecurityPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  refresh (self);
}
