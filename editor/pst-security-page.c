/* pst-security-page.c: the keystore and truststore of the configuration
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-security-page.h"

struct _PstSecurityPage
{
  AdwBin        parent_instance;

  PstDocument  *document;

  AdwActionRow *keystore_file_row;
  AdwActionRow *keystore_type_row;
  AdwActionRow *keystore_password_row;
  AdwActionRow *truststore_file_row;
  AdwActionRow *truststore_type_row;
  AdwActionRow *truststore_password_row;
};

G_DEFINE_FINAL_TYPE (PstSecurityPage, pst_security_page, ADW_TYPE_BIN)

static void
show_ref (PstSecurityPage   *self,
          const PstStoreRef *ref,
          AdwActionRow      *file_row,
          AdwActionRow      *type_row,
          AdwActionRow      *password_row)
{
  adw_action_row_set_subtitle (file_row, ref != NULL && ref->file != NULL ? ref->file : _("Not configured"));
  adw_action_row_set_subtitle (type_row, ref != NULL && ref->type != NULL ? ref->type : _("Detected from the file"));
  adw_action_row_set_subtitle (password_row,
                               ref != NULL && ref->password_file != NULL ? ref->password_file
                                                                        : _("None (the default password)"));
}

static void
refresh (PstSecurityPage *self)
{
  PstConfig *config = self->document != NULL ? pst_document_get_config (self->document) : NULL;

  show_ref (self, config != NULL ? pst_config_get_keystore (config) : NULL,
            self->keystore_file_row, self->keystore_type_row, self->keystore_password_row);
  show_ref (self, config != NULL ? pst_config_get_truststore (config) : NULL,
            self->truststore_file_row, self->truststore_type_row, self->truststore_password_row);
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

static void
pst_security_page_dispose (GObject *object)
{
  PstSecurityPage *self = PST_SECURITY_PAGE (object);

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
}

static void
pst_security_page_init (PstSecurityPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}
