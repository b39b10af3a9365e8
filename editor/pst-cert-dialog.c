/* pst-cert-dialog.c: "New Certificate" — a key pair and certificate into the keystore
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-cert-dialog.h"
#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-keystore.h"
#include "pst-local-ca.h"
#include "pst-store-edit.h"
#include "pst-store-file.h"

struct _PstCertDialog
{
  AdwWindow        parent_instance;

  PstDocument     *document;
  GCancellable    *cancellable;
  GStrv            names;        /* of the request being generated */
  PstStoreEntry   *ca;

  AdwToastOverlay *toast_overlay;
  AdwEntryRow     *names_row;
  AdwComboRow     *key_type_row;
  GtkSpinButton   *days_spin;
  AdwComboRow     *signer_row;
  GtkSwitch       *client_switch;
  AdwActionRow    *keystore_row;
  GtkCheckButton  *keyring_check;
  GtkSpinner      *spinner;

  guint            signer_chosen : 1;   /* the user picked the signer: keep it */
};

G_DEFINE_FINAL_TYPE (PstCertDialog, pst_cert_dialog, ADW_TYPE_WINDOW)

enum {
  GENERATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static const PstKeyType key_types[] = {
  PST_KEY_ECDSA_P256, PST_KEY_RSA_2048, PST_KEY_RSA_3072, PST_KEY_RSA_4096,
};

static void
fail (PstCertDialog *self,
      const char    *message)
{
  gtk_spinner_stop (self->spinner);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "cert.generate", TRUE);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static PstConfig *
get_config (PstCertDialog *self)
{
  return pst_document_get_config (self->document);
}

/* Into the configured keystore, by the library's rules for a store that
 * is changed: made with a random password file (or, with "Remember in
 * keyring", a keyring password) when missing, refused when keytool wrote
 * it, saved in its own format.  Opening and saving the store (PBKDF2
 * rounds, a keyring lookup) happen in a worker thread. */

typedef struct {
  PstCertDialog *self;
  PstStoreEntry *entry;
  gboolean       keyring;            /* the store's password is (or goes) in the keyring */
  gboolean       configured_keyring; /* the configuration says so already */
} AddData;

static void
add_data_free (AddData *add)
{
  g_object_unref (add->self);
  g_object_unref (add->entry);
  g_free (add);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AddData, add_data_free)

static gboolean
add_entry (PstStoreFile  *sf,
           gpointer       data,
           GError       **error)
{
  AddData *add = data;

  pst_keystore_add (sf->store, add->entry);
  return TRUE;
}

/* Back on the main thread: the configuration says where the new store's
 * password went. */
static gboolean
update_config (AddData  *add,
               GError  **error)
{
  PstConfig *config = get_config (add->self);

  if (add->keyring && !add->configured_keyring)
    return pst_config_set_store_field (config, PST_STORE_KIND_KEYSTORE, "password-file", NULL, error) &&
           pst_config_set_store_field (config, PST_STORE_KIND_KEYSTORE, "password-keyring", "true", error);
  if (!add->keyring && add->configured_keyring)
    return pst_config_set_store_field (config, PST_STORE_KIND_KEYSTORE, "password-keyring", NULL, error);
  return TRUE;
}

static void
added_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(AddData) add = user_data;   /* the thread is done with it */
  PstCertDialog *self = add->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!pst_store_edit_finish (result, &error) || !update_config (add, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error->message);
      return;
    }

  gtk_spinner_stop (self->spinner);
  message = g_strdup_printf (_("Certificate “%s” added to the keystore"),
                             pst_store_entry_get_alias (add->entry));
  g_signal_emit (self, signals[GENERATED], 0, add->entry, message);
  gtk_window_close (GTK_WINDOW (self));
}

static void
add_to_keystore (PstCertDialog *self,
                 PstStoreEntry *entry)
{
  const PstStoreRef *ref = pst_config_get_keystore (get_config (self));
  AddData *add = g_new0 (AddData, 1);

  add->self = g_object_ref (self);
  add->entry = g_object_ref (entry);
  add->keyring = ref->password_keyring;
  add->configured_keyring = ref->password_keyring;
  if (ref->file != NULL && !g_file_test (ref->file, G_FILE_TEST_EXISTS))
    add->keyring = gtk_check_button_get_active (self->keyring_check);
  pst_store_edit_async (ref->file, add->keyring ? NULL : ref->password_file,
                        PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | (add->keyring ? PST_STORE_OPEN_KEYRING : 0),
                        add_entry, add, NULL, self->cancellable, added_cb, add);
}

static void
leaf_generated_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(PstCertDialog) self = user_data;
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autoptr(GError) error = NULL;

  entry = pst_cert_generate_finish (result, &error);
  if (entry == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error->message);
      return;
    }
  add_to_keystore (self, entry);
}

static void
generate_leaf (PstCertDialog *self)
{
  PstCertRequest request = { 0 };

  request.names = (const char * const *)self->names;
  request.key_type = key_types[MIN (adw_combo_row_get_selected (self->key_type_row),
                                    G_N_ELEMENTS (key_types) - 1)];
  request.days = gtk_spin_button_get_value_as_int (self->days_spin);
  request.client = gtk_switch_get_active (self->client_switch);
  pst_cert_generate_async (&request, self->ca, self->cancellable,
                           leaf_generated_cb, g_object_ref (self));
}

/* The local development CA beside the configuration, opened or made by
 * the library (as `postern run` does); in a thread, since making one
 * generates a key. */
static void
local_ca_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  g_autoptr(PstKeystore) store = NULL;
  GError *error = NULL;

  store = pst_local_ca_open_or_create (task_data, NULL, FALSE, NULL, NULL, &error);
  if (store == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_object_ref (pst_local_ca_find (store)), g_object_unref);
}

static void
local_ca_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(PstCertDialog) self = user_data;
  g_autoptr(GError) error = NULL;

  self->ca = g_task_propagate_pointer (G_TASK (result), &error);
  if (self->ca == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, error->message);
      return;
    }
  generate_leaf (self);
}

static GStrv
split_names (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = g_regex_split_simple ("[\\s,]+", text, 0, 0);

  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_strv_builder_add (builder, parts[i]);
  return g_strv_builder_end (builder);
}

static void
generate_action (GtkWidget  *widget,
                 const char *action_name,
                 GVariant   *param)
{
  PstCertDialog *self = PST_CERT_DIALOG (widget);
  const PstStoreRef *ref = pst_config_get_keystore (get_config (self));

  g_strfreev (self->names);
  self->names = split_names (gtk_editable_get_text (GTK_EDITABLE (self->names_row)));
  if (self->names[0] == NULL)
    {
      fail (self, _("Enter at least one host name or IP address"));
      return;
    }
  if (ref->file == NULL)
    {
      fail (self, _("No keystore is configured; set one on the Security page first"));
      return;
    }

  gtk_widget_action_set_enabled (widget, "cert.generate", FALSE);
  gtk_spinner_start (self->spinner);
  g_clear_object (&self->ca);

  if (adw_combo_row_get_selected (self->signer_row) == 1)
    {
      /* The task holds the dialog as user data, not as its source object:
       * the last reference is then always dropped here, never in the thread. */
      g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, local_ca_cb, g_object_ref (self));

      g_task_set_source_tag (task, generate_action);
      g_task_set_task_data (task, pst_document_dup_local_ca_path (self->document), g_free);
      g_task_run_in_thread (task, local_ca_thread);
      return;
    }

  generate_leaf (self);
}

static char *
accept_hosts (PstService *service)
{
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; service != NULL && i < pst_service_get_n_accepts (service); i++)
    {
      g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_accept (service, i), NULL);

      if (url == NULL || url->host == NULL || !url->secure)
        continue;
      if (!g_ptr_array_find_with_equal_func (hosts, url->host, g_str_equal, NULL))
        g_ptr_array_add (hosts, g_strdup (url->host));
    }
  if (hosts->len == 0)
    g_ptr_array_add (hosts, g_strdup ("localhost"));
  g_ptr_array_add (hosts, NULL);
  return g_strjoinv (", ", (char **)hosts->pdata);
}

/* Does the keystore hold certificates the local development CA signed?
 * Then a new one should be signed by it too (the default "self-signed"
 * would be the odd one out). In a thread: opening a store is 10,000
 * PBKDF2 rounds. */
typedef struct {
  char *path;
  char *password_file;
} StoreFiles;

static void
store_files_free (StoreFiles *files)
{
  g_free (files->path);
  g_free (files->password_file);
  g_free (files);
}

static void
keystore_from_ca_thread (GTask        *task,
                         gpointer      source_object,
                         gpointer      task_data,
                         GCancellable *cancellable)
{
  StoreFiles *files = task_data;
  g_autoptr(PstKeystore) store = pst_keystore_open (files->path, files->password_file, NULL);
  gboolean from_ca = FALSE;

  for (guint i = 0; store != NULL && !from_ca && i < pst_keystore_get_n_entries (store); i++)
    {
      GPtrArray *chain = pst_store_entry_get_chain (pst_keystore_get_entry (store, i));

      /* the issuer's certificate follows the leaf in the chain */
      for (guint c = 1; chain != NULL && c < chain->len && !from_ca; c++)
        from_ca = pst_cert_is_local_ca (g_ptr_array_index (chain, c));
    }
  g_task_return_boolean (task, from_ca);
}

static void
keystore_from_ca_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(PstCertDialog) self = user_data;

  if (g_task_propagate_boolean (G_TASK (result), NULL) && !self->signer_chosen &&
      !g_cancellable_is_cancelled (self->cancellable))
    {
      adw_combo_row_set_selected (self->signer_row, 1);
      self->signer_chosen = FALSE;
    }
}

static void
signer_selected_cb (PstCertDialog *self)
{
  self->signer_chosen = TRUE;
}

PstCertDialog *
pst_cert_dialog_new (GtkWindow   *parent,
                     PstDocument *document,
                     PstService  *service)
{
  PstCertDialog *self;
  g_autofree char *names = NULL;
  const PstStoreRef *ref;

  g_return_val_if_fail (PST_IS_DOCUMENT (document), NULL);

  self = g_object_new (PST_TYPE_CERT_DIALOG, "transient-for", parent, NULL);
  self->document = g_object_ref (document);
  names = accept_hosts (service);
  gtk_editable_set_text (GTK_EDITABLE (self->names_row), names);

  ref = pst_config_get_keystore (pst_document_get_config (document));
  adw_action_row_set_subtitle (self->keystore_row,
                               ref->file != NULL ? ref->file : _("Not configured"));
  /* only a new keystore gets a new password */
  gtk_check_button_set_active (self->keyring_check, ref->password_keyring);
  gtk_widget_set_sensitive (GTK_WIDGET (self->keyring_check),
                            ref->file != NULL && !g_file_test (ref->file, G_FILE_TEST_EXISTS));
  if (ref->file != NULL)
    {
      PstConfig *config = pst_document_get_config (document);
      g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, keystore_from_ca_cb, g_object_ref (self));
      StoreFiles *files = g_new0 (StoreFiles, 1);

      files->path = pst_config_resolve_path (config, ref->file);
      files->password_file = ref->password_file != NULL ? pst_config_resolve_path (config, ref->password_file)
                                                         : NULL;
      g_task_set_source_tag (task, pst_cert_dialog_new);
      g_task_set_name (task, "[postern-editor] keystore signer");
      g_task_set_task_data (task, files, (GDestroyNotify) store_files_free);
      g_task_run_in_thread (task, keystore_from_ca_thread);
    }
  g_signal_connect_swapped (self->signer_row, "notify::selected", G_CALLBACK (signer_selected_cb), self);
  return self;
}

void
pst_cert_dialog_set_names (PstCertDialog *self,
                           const char    *names)
{
  g_return_if_fail (PST_IS_CERT_DIALOG (self));
  gtk_editable_set_text (GTK_EDITABLE (self->names_row), names);
}

const char *
pst_cert_dialog_get_names (PstCertDialog *self)
{
  g_return_val_if_fail (PST_IS_CERT_DIALOG (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->names_row));
}

static void
pst_cert_dialog_dispose (GObject *object)
{
  PstCertDialog *self = PST_CERT_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->document);
  g_clear_object (&self->ca);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_CERT_DIALOG);
  G_OBJECT_CLASS (pst_cert_dialog_parent_class)->dispose (object);
}

static void
pst_cert_dialog_finalize (GObject *object)
{
  PstCertDialog *self = PST_CERT_DIALOG (object);

  g_strfreev (self->names);
  G_OBJECT_CLASS (pst_cert_dialog_parent_class)->finalize (object);
}

static void
pst_cert_dialog_class_init (PstCertDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_cert_dialog_dispose;
  object_class->finalize = pst_cert_dialog_finalize;

  /* The entry is in the keystore file; the message is for a toast. */
  signals[GENERATED] =
    g_signal_new ("generated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, PST_TYPE_STORE_ENTRY, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-cert-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, names_row);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, key_type_row);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, days_spin);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, signer_row);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, client_switch);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, keystore_row);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, keyring_check);
  gtk_widget_class_bind_template_child (widget_class, PstCertDialog, spinner);
  gtk_widget_class_install_action (widget_class, "cert.generate", NULL, generate_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_cert_dialog_init (PstCertDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}
