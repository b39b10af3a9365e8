/* pst-export-dialog.c: "Export Certificate" — a store entry's certificate for browsers and clients
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-cert-util.h"
#include "pst-export-dialog.h"
#include "pst-window.h"

struct _PstExportDialog
{
  AdwWindow             parent_instance;

  PstStoreEntry        *entry;
  GtkFileChooserNative *chooser;

  AdwToastOverlay      *toast_overlay;
  AdwPreferencesGroup  *intro_group;
  AdwPreferencesGroup  *browsers_group;
  AdwComboRow          *format_row;
};

G_DEFINE_FINAL_TYPE (PstExportDialog, pst_export_dialog, ADW_TYPE_WINDOW)

enum {
  EXPORTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* In the order of the combo row's model. */
static const struct {
  PstExportFormat  format;
  const char      *extension;
} formats[] = {
  { PST_EXPORT_PEM, ".crt" },
  { PST_EXPORT_DER, ".cer" },
  { PST_EXPORT_PKCS12, ".p12" },
};

static guint
selected_format (PstExportDialog *self)
{
  return MIN (adw_combo_row_get_selected (self->format_row), G_N_ELEMENTS (formats) - 1);
}

void
pst_export_dialog_set_format (PstExportDialog *self,
                              PstExportFormat  format)
{
  g_return_if_fail (PST_IS_EXPORT_DIALOG (self));

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    if (formats[i].format == format)
      adw_combo_row_set_selected (self->format_row, i);
}

gboolean
pst_export_dialog_export_to (PstExportDialog  *self,
                             const char       *path,
                             GError          **error)
{
  g_autofree char *message = NULL;
  g_autofree char *basename = NULL;

  g_return_val_if_fail (PST_IS_EXPORT_DIALOG (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* A PKCS#12 truststore gets keytool's default password, which the Java
   * paragraph names: it protects nothing secret, only a certificate. */
  if (!pst_cert_export (self->entry, path, formats[selected_format (self)].format, NULL, error))
    return FALSE;

  basename = g_path_get_basename (path);
  message = g_strdup_printf (_("Certificate saved as “%s”"), basename);
  g_signal_emit (self, signals[EXPORTED], 0, path, message);
  return TRUE;
}

static void
chooser_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     PstExportDialog *self)
{
  g_autofree char *path = pst_file_chooser_dup_path (dialog, response);
  g_autoptr(GError) error = NULL;

  if (path == NULL)
    return;
  if (!pst_export_dialog_export_to (self, path, &error))
    {
      adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (error->message));
      return;
    }
  gtk_window_close (GTK_WINDOW (self));
}

static void
export_action (GtkWidget  *widget,
               const char *action_name,
               GVariant   *param)
{
  PstExportDialog *self = PST_EXPORT_DIALOG (widget);
  g_autofree char *name = NULL;

  pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), _("Export Certificate"),
                            GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"));
  name = g_strconcat (pst_store_entry_get_alias (self->entry), formats[selected_format (self)].extension, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (chooser_response_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

PstExportDialog *
pst_export_dialog_new (GtkWindow     *parent,
                       PstStoreEntry *entry)
{
  PstExportDialog *self;
  g_autofree char *intro = NULL;
  g_autofree char *alias = NULL;
  g_auto(GStrv) sans = NULL;
  GPtrArray *chain;

  g_return_val_if_fail (PST_IS_STORE_ENTRY (entry), NULL);

  self = g_object_new (PST_TYPE_EXPORT_DIALOG, "transient-for", parent, NULL);
  self->entry = g_object_ref (entry);
  alias = g_markup_escape_text (pst_store_entry_get_alias (entry), -1);   /* the description is markup */
  /* A CA is trusted as an authority (and then every certificate it
   * signs); a server certificate is not an authority, and a client should
   * trust the CA that signed it rather than the certificate itself. */
  chain = pst_store_entry_get_chain (entry);
  /* (a self-signed server certificate is CA:TRUE too, so that stores
   * accept it as an anchor; it names hosts, a CA does not) */
  sans = pst_store_entry_dup_sans (entry);
  if (pst_store_entry_is_ca (entry) && (sans == NULL || sans[0] == NULL))
    intro = g_strdup_printf (_("The CA certificate “%s”, without its private key. Clients that trust it "
                               "trust every certificate it signs, so import it once as an authority "
                               "(“trust this CA to identify websites”); keep its private key on this "
                               "machine. What to do with the file depends on the client:"),
                             alias);
  else if (chain != NULL && chain->len > 1)
    {
      g_autofree char *issuer = pst_cert_dup_common_name (g_ptr_array_index (chain, 1));
      g_autofree char *issuer_markup = g_markup_escape_text (issuer != NULL ? issuer : "?", -1);

      intro = g_strdup_printf (_("The server certificate “%s”, without its private key. It was signed by "
                                 "“%s”: clients should trust that CA instead (export it from the store "
                                 "that holds it), which also covers the next certificate it signs. "
                                 "Export this one only for a client that pins this exact certificate."),
                               alias, issuer_markup);
      adw_preferences_group_set_description (self->browsers_group,
                                             _("Browsers trust authorities, not server certificates: "
                                               "import the CA that signed this one instead."));
    }
  else
    {
      intro = g_strdup_printf (_("The self-signed server certificate “%s”, without its private key. It is "
                                 "not an authority: a client trusts it only for the host names it lists, "
                                 "and must be told again each time it is renewed. For anything beyond a "
                                 "test, sign the gateway’s certificate with the local development CA and "
                                 "export the CA. What to do with the file depends on the client:"),
                               alias);
      adw_preferences_group_set_description (self->browsers_group,
                                             _("Browsers do not accept a server certificate as an "
                                               "authority: open the gateway’s https:// address and add an "
                                               "exception (Firefox: Accept the Risk; Chromium: Proceed), "
                                               "or use the local development CA instead."));
    }
  adw_preferences_group_set_description (self->intro_group, intro);
  return self;
}

static void
pst_export_dialog_dispose (GObject *object)
{
  PstExportDialog *self = PST_EXPORT_DIALOG (object);

  pst_file_chooser_clear (&self->chooser);
  g_clear_object (&self->entry);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_EXPORT_DIALOG);
  G_OBJECT_CLASS (pst_export_dialog_parent_class)->dispose (object);
}

static void
pst_export_dialog_class_init (PstExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_export_dialog_dispose;

  /* The file was written: its path, and a message for a toast. */
  signals[EXPORTED] =
    g_signal_new ("exported", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-export-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, PstExportDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, PstExportDialog, intro_group);
  gtk_widget_class_bind_template_child (widget_class, PstExportDialog, browsers_group);
  gtk_widget_class_bind_template_child (widget_class, PstExportDialog, format_row);
  gtk_widget_class_install_action (widget_class, "export.save", NULL, export_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pst_export_dialog_init (PstExportDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
