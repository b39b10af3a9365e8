/* pst-trust-dialog.c: "Trust a Server" — fetch what a TLS server presents, confirm, trust it
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-cert-fetch.h"
#include "pst-cert-util.h"
#include "pst-store-edit.h"
#include "pst-store-file.h"
#include "pst-trust-dialog.h"

struct _PstTrustDialog
{
  AdwWindow            parent_instance;

  char                *store_path;
  char                *password_file;
  gboolean             password_keyring;
  char                *host;         /* of the fetched chain: the default alias */
  GPtrArray           *chain;        /* GBytes DER, leaf first */
  GPtrArray           *rows;         /* AdwActionRow, one per certificate */
  GCancellable        *cancellable;
  guint                selected;

  AdwToastOverlay     *toast_overlay;
  AdwEntryRow         *address_row;
  AdwPreferencesGroup *chain_group;
  GtkLabel            *status_label;
  GtkSpinner          *spinner;
};

G_DEFINE_FINAL_TYPE (PstTrustDialog, pst_trust_dialog, ADW_TYPE_WINDOW)

enum {
  TRUSTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
toast (PstTrustDialog *self,
       const char     *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
clear_chain (PstTrustDialog *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    adw_preferences_group_remove (self->chain_group, g_ptr_array_index (self->rows, i));
  g_ptr_array_set_size (self->rows, 0);
  g_clear_pointer (&self->chain, g_ptr_array_unref);
  gtk_widget_set_visible (GTK_WIDGET (self->chain_group), FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.confirm", FALSE);
}

static void
check_toggled_cb (GtkCheckButton *check,
                  PstTrustDialog *self)
{
  if (!gtk_check_button_get_active (check))
    return;
  for (guint i = 0; i < self->rows->len; i++)
    if (adw_action_row_get_activatable_widget (g_ptr_array_index (self->rows, i)) == GTK_WIDGET (check))
      self->selected = i;
}

static GtkWidget *
certificate_row (PstTrustDialog *self,
                 guint           index,
                 GBytes         *der,
                 GtkCheckButton *group,
                 GError        **error)
{
  g_autoptr(GPtrArray) one = g_ptr_array_new ();
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autoptr(GDateTime) not_after = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *issuer = NULL;
  g_autofree char *validity = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *details = NULL;
  g_autofree char *title = NULL;
  GtkWidget *row, *check;

  g_ptr_array_add (one, der);
  entry = pst_store_entry_new ("peer", one, NULL, error);
  if (entry == NULL)
    return NULL;

  subject = pst_store_entry_dup_subject (entry);
  issuer = pst_store_entry_dup_issuer (entry);
  validity = pst_cert_format_validity (pst_store_entry_get_not_after (entry));
  fingerprint = pst_store_entry_dup_fingerprint (entry);
  title = g_strdup_printf (index == 0 ? _("Server certificate: %s") : _("Issuer: %s"), subject);
  /* Translators: details of a certificate the server presented, one per line */
  details = g_strdup_printf (_("Issued by %s\nValid until %s\nSHA-256 %s"), issuer, validity, fingerprint);

  row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), details);
  adw_action_row_set_title_lines (ADW_ACTION_ROW (row), 0);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 0);
  gtk_widget_add_css_class (row, "pst-certificate-row");

  check = gtk_check_button_new ();
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  if (group != NULL)
    gtk_check_button_set_group (GTK_CHECK_BUTTON (check), group);
  gtk_accessible_update_property (GTK_ACCESSIBLE (check),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, title, -1);
  g_signal_connect_object (check, "toggled", G_CALLBACK (check_toggled_cb), self, 0);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
  return row;
}

static void
fetch_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(PstTrustDialog) self = user_data;
  g_autoptr(GPtrArray) chain = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;
  GtkCheckButton *group = NULL;

  chain = pst_cert_fetch_chain_finish (result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.fetch", TRUE);
  if (chain == NULL)
    {
      gtk_label_set_label (self->status_label, error->message);
      return;
    }

  for (guint i = 0; i < chain->len; i++)
    {
      GtkWidget *row = certificate_row (self, i, g_ptr_array_index (chain, i), group, &error);

      if (row == NULL)
        {
          clear_chain (self);
          gtk_label_set_label (self->status_label, error->message);
          return;
        }
      if (group == NULL)
        group = GTK_CHECK_BUTTON (adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row)));
      adw_preferences_group_add (self->chain_group, row);
      g_ptr_array_add (self->rows, row);
    }
  self->chain = g_steal_pointer (&chain);
  gtk_widget_set_visible (GTK_WIDGET (self->chain_group), TRUE);
  /* The top of the chain by default, as `postern cert fetch` does: trusting
   * the issuer keeps working when the server renews its own certificate. */
  pst_trust_dialog_select (self, self->chain->len - 1);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.confirm", TRUE);

  status = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                         "%s presented %u certificate. Compare its SHA-256 fingerprint "
                                         "with one you got another way (from the server’s administrator, "
                                         "or its own files) before you trust it.",
                                         "%s presented %u certificates. Compare the SHA-256 fingerprint "
                                         "with one you got another way (from the server’s administrator, "
                                         "or its own files) before you trust it.",
                                         self->chain->len),
                            gtk_editable_get_text (GTK_EDITABLE (self->address_row)), self->chain->len);
  gtk_label_set_label (self->status_label, status);
}

static void
fetch_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *param)
{
  PstTrustDialog *self = PST_TRUST_DIALOG (widget);
  const char *address = gtk_editable_get_text (GTK_EDITABLE (self->address_row));
  g_autoptr(GSocketConnectable) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strstrip (g_strdup (address));

  clear_chain (self);
  parsed = g_network_address_parse (text, 443, &error);
  if (parsed == NULL || *text == '\0')
    {
      gtk_label_set_label (self->status_label,
                           _("Enter the server as host:port, for example backend.example.com:9443"));
      return;
    }
  g_free (self->host);
  self->host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed)));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  gtk_widget_action_set_enabled (widget, "trust.fetch", FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_start (self->spinner);
  gtk_label_set_label (self->status_label, _("Connecting…"));
  pst_cert_fetch_chain_async (text, self->cancellable, fetch_cb, g_object_ref (self));
}

/* Adding the certificate opens and saves the store (PBKDF2 rounds, a
 * keyring lookup): in a worker thread. */

typedef struct {
  GBytes *der;
  char   *host;
} TrustEdit;

static void
trust_edit_free (TrustEdit *edit)
{
  g_bytes_unref (edit->der);
  g_free (edit->host);
  g_free (edit);
}

static gboolean
add_trusted (PstStoreFile  *sf,
             gpointer       data,
             GError       **error)
{
  TrustEdit *edit = data;

  if (!pst_store_file_add_trusted (sf, edit->der, edit->host, error))
    return FALSE;
  sf->saved = TRUE;   /* saved, or there already */
  return TRUE;
}

static void
confirmed_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PstTrustDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = NULL;

  if (!pst_store_edit_finish (result, &error) &&
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;   /* the dialog was closed */
  gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  if (error != NULL)
    {
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.fetch", TRUE);
      gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.confirm", TRUE);
      toast (self, error->message);
      return;
    }

  message = g_strdup_printf (_("“%s” is now trusted"), self->host);
  g_signal_emit (self, signals[TRUSTED], 0, message);
  gtk_window_close (GTK_WINDOW (self));
}

static void
confirm_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *param)
{
  PstTrustDialog *self = PST_TRUST_DIALOG (widget);
  TrustEdit *edit;

  if (self->chain == NULL || self->selected >= self->chain->len)
    return;
  edit = g_new0 (TrustEdit, 1);
  edit->der = g_bytes_ref (g_ptr_array_index (self->chain, self->selected));
  edit->host = g_strdup (self->host);

  /* a fetch now would replace the cancellable the write answers to */
  gtk_widget_action_set_enabled (widget, "trust.fetch", FALSE);
  gtk_widget_action_set_enabled (widget, "trust.confirm", FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), TRUE);
  gtk_spinner_start (self->spinner);
  pst_store_edit_async (self->store_path, self->password_keyring ? NULL : self->password_file,
                        PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE |
                        (self->password_keyring ? PST_STORE_OPEN_KEYRING : 0),
                        add_trusted, edit, (GDestroyNotify) trust_edit_free,
                        self->cancellable, confirmed_cb, g_object_ref (self));
}

static void
entry_activated_cb (PstTrustDialog *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "trust.fetch", NULL);
}

void
pst_trust_dialog_select (PstTrustDialog *self,
                         guint           index)
{
  g_return_if_fail (PST_IS_TRUST_DIALOG (self));
  g_return_if_fail (index < self->rows->len);

  self->selected = index;
  gtk_check_button_set_active (GTK_CHECK_BUTTON (adw_action_row_get_activatable_widget (g_ptr_array_index (self->rows, index))),
                               TRUE);
}

guint
pst_trust_dialog_get_n_certificates (PstTrustDialog *self)
{
  g_return_val_if_fail (PST_IS_TRUST_DIALOG (self), 0);
  return self->chain != NULL ? self->chain->len : 0;
}

void
pst_trust_dialog_set_address (PstTrustDialog *self,
                              const char     *host_and_port)
{
  g_return_if_fail (PST_IS_TRUST_DIALOG (self));
  gtk_editable_set_text (GTK_EDITABLE (self->address_row), host_and_port);
}

void
pst_trust_dialog_set_password_keyring (PstTrustDialog *self,
                                       gboolean        password_keyring)
{
  g_return_if_fail (PST_IS_TRUST_DIALOG (self));
  self->password_keyring = password_keyring;
}

PstTrustDialog *
pst_trust_dialog_new (GtkWindow  *parent,
                      const char *store_path,
                      const char *password_file)
{
  PstTrustDialog *self;
  g_autofree char *basename = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *description = NULL;

  g_return_val_if_fail (store_path != NULL, NULL);

  self = g_object_new (PST_TYPE_TRUST_DIALOG, "transient-for", parent, NULL);
  self->store_path = g_strdup (store_path);
  self->password_file = g_strdup (password_file);
  basename = g_path_get_basename (store_path);
  escaped = g_markup_escape_text (basename, -1);   /* the description is markup */
  description = g_strdup_printf (_("The certificate you choose is added to %s as a trusted entry."), escaped);
  adw_preferences_group_set_description (self->chain_group, description);
  return self;
}

static void
pst_trust_dialog_dispose (GObject *object)
{
  PstTrustDialog *self = PST_TRUST_DIALOG (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->chain, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_TRUST_DIALOG);
  G_OBJECT_CLASS (pst_trust_dialog_parent_class)->dispose (object);
}

static void
pst_trust_dialog_finalize (GObject *object)
{
  PstTrustDialog *self = PST_TRUST_DIALOG (object);

  g_free (self->store_path);
  g_free (self->password_file);
  g_free (self->host);
  g_ptr_array_unref (self->rows);
  G_OBJECT_CLASS (pst_trust_dialog_parent_class)->finalize (object);
}

static void
pst_trust_dialog_class_init (PstTrustDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_trust_dialog_dispose;
  object_class->finalize = pst_trust_dialog_finalize;

  /* The store file has the new trusted entry; the message is for a toast. */
  signals[TRUSTED] =
    g_signal_new ("trusted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-trust-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, PstTrustDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstTrustDialog, address_row);
  gtk_widget_class_bind_template_child (widget_class, PstTrustDialog, chain_group);
  gtk_widget_class_bind_template_child (widget_class, PstTrustDialog, status_label);
  gtk_widget_class_bind_template_child (widget_class, PstTrustDialog, spinner);
  gtk_widget_class_bind_template_callback (widget_class, entry_activated_cb);
  gtk_widget_class_install_action (widget_class, "trust.fetch", NULL, fetch_action);
  gtk_widget_class_install_action (widget_class, "trust.confirm", NULL, confirm_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_trust_dialog_init (PstTrustDialog *self)
{
  /* Rows are owned by the group; this only remembers them. */
  self->rows = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "trust.confirm", FALSE);
}
