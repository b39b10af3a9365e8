/* pst-window-tls.c: TLS features wired to the window: Trust a Server… from a service's back-end
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-service-item.h"
#include "pst-trust-dialog.h"
#include "pst-url.h"
#include "pst-window-private.h"

#define NEW_TRUSTSTORE_NAME "truststore.p12"

static PstService *
find_service (PstWindow  *self,
              const char *name)
{
  PstConfig *config = pst_document_get_config (self->document);
  PstServiceItem *item;

  if (name == NULL)
    {
      item = gtk_single_selection_get_selected_item (self->services_selection);
      return item != NULL ? pst_service_item_get_service (item) : NULL;
    }
  for (guint i = 0; i < pst_config_get_n_services (config); i++)
    if (g_strcmp0 (pst_service_get_name (pst_config_get_service (config, i)), name) == 0)
      {
        pst_window_select_service (self, i);
        return pst_config_get_service (config, i);
      }
  return NULL;
}

/* host:port of the service's first ssl:// or wss:// connect URL, or NULL */
static char *
secure_backend (PstService *service)
{
  for (guint i = 0; service != NULL && i < pst_service_get_n_connects (service); i++)
    {
      g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_connect (service, i), NULL);

      if (url != NULL && url->secure)
        return pst_url_dup_authority (url);
    }
  return NULL;
}

static void
open_trust_dialog (PstWindow  *self,
                   const char *address)
{
  PstStoreView *view = pst_window_open_store_view (self, PST_STORE_KIND_TRUSTSTORE);
  PstTrustDialog *dialog;

  gtk_window_present (GTK_WINDOW (view));
  dialog = pst_store_view_trust_server (view);
  if (dialog != NULL && address != NULL)
    pst_trust_dialog_set_address (dialog, address);
}

typedef struct {
  PstWindow *self;
  char      *address;
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_object_unref (data->self);
  g_free (data->address);
  g_free (data);
}

static void
truststore_created_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  CreateData *data = user_data;
  g_autoptr(GError) error = NULL;

  if (!pst_security_page_create_store_finish (PST_SECURITY_PAGE (source), result, &error))
    pst_window_show_error (data->self, _("Cannot Create the Truststore"), error->message);
  else
    open_trust_dialog (data->self, data->address);
  create_data_free (data);
}

static void
create_response_cb (AdwMessageDialog *dialog,
                    const char       *response,
                    CreateData       *data)
{
  PstWindow *self = data->self;
  g_autoptr(GFile) folder = NULL;
  g_autofree char *path = NULL;
  CreateData *created;

  if (g_strcmp0 (response, "create") != 0 || self->document == NULL ||
      pst_document_get_file (self->document) == NULL)
    return;
  folder = g_file_get_parent (pst_document_get_file (self->document));
  path = g_build_filename (g_file_peek_path (folder), NEW_TRUSTSTORE_NAME, NULL);
  /* made in a worker thread; the dialog's data goes with the dialog */
  created = g_new0 (CreateData, 1);
  created->self = g_object_ref (self);
  created->address = g_strdup (data->address);
  pst_security_page_create_store_async (self->security_page, PST_STORE_KIND_TRUSTSTORE, path, NULL,
                                        truststore_created_cb, created);
}

void
pst_window_trust_server (PstWindow  *self,
                         const char *service_name)
{
  g_autofree char *address = NULL;
  g_autofree char *body = NULL;
  CreateData *data;
  GtkWidget *dialog;

  g_return_if_fail (PST_IS_WINDOW (self));

  if (self->document == NULL)
    return;
  address = secure_backend (find_service (self, service_name));
  if (pst_config_get_truststore (pst_document_get_config (self->document))->file != NULL)
    {
      open_trust_dialog (self, address);
      return;
    }

  /* No truststore: offer to make one where the configuration is. */
  if (pst_document_get_file (self->document) == NULL)
    {
      pst_window_show_error (self, _("Save the Configuration First"),
                             _("A trusted server certificate is kept in a truststore next to the "
                               "configuration file: save the configuration, then try again."));
      return;
    }
  body = g_strdup_printf (_("A server’s certificate is trusted by adding it to a truststore, and this "
                            "configuration has none yet. Create “%s” next to the configuration, with "
                            "a random password in its own file, and use it?"), NEW_TRUSTSTORE_NAME);
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _("Create a Truststore?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "create", _("C_reate and Trust"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "create",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "create");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  data = g_new0 (CreateData, 1);
  data->self = g_object_ref (self);
  data->address = g_steal_pointer (&address);
  g_signal_connect_data (dialog, "response", G_CALLBACK (create_response_cb), data,
                         (GClosureNotify) (void (*)(void)) create_data_free, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
trust_server_for_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *param)
{
  pst_window_trust_server (PST_WINDOW (widget), g_variant_get_string (param, NULL));
}

void
pst_window_class_add_tls_actions (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.trust-server-for", "s", trust_server_for_action);
}
