/* pst-service-page.c: edits one <service> through the library's edit API
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-commit.h"
#include "pst-service-page.h"
#include "pst-url-row.h"
#include "pst-window.h"

typedef enum {
  URL_ACCEPT,
  URL_CONNECT,
  URL_ORIGIN,
  N_URL_KINDS
} UrlKind;

struct _PstServicePage
{
  AdwBin                parent_instance;

  PstDocument          *document;
  PstServiceItem       *item;
  GPtrArray            *rows[N_URL_KINDS];   /* PstUrlRow, in order */
  GtkFileChooserNative *chooser;

  AdwEntryRow          *name_row;
  AdwEntryRow          *description_row;
  AdwComboRow          *type_row;
  AdwPreferencesGroup  *accept_group;
  AdwPreferencesGroup  *connect_group;
  AdwPreferencesGroup  *directory_group;
  AdwEntryRow          *directory_row;
  AdwEntryRow          *welcome_row;
  GtkSwitch            *indexes_switch;
  AdwPreferencesGroup  *accept_options_group;
  GtkSwitch            *encryption_switch;
  AdwComboRow          *verify_client_row;
  AdwEntryRow          *protocols_row;
  AdwEntryRow          *max_message_row;
  AdwEntryRow          *inactivity_row;
  AdwPreferencesGroup  *connect_options_group;
  AdwEntryRow          *connect_protocols_row;
  AdwPreferencesGroup  *origins_group;

  guint                 updating : 1;
  AdwActionRow       *test_row;
  GtkImage           *test_icon;
  GtkSpinner         *test_spinner;
};

G_DEFINE_FINAL_TYPE (PstServicePage, pst_service_page, ADW_TYPE_BIN)

/* Positions of the type and verify-client drop-downs; the XML values are
 * not translated, their labels in the .ui are. */
static const char * const service_types[] = { "echo", "directory", "proxy", "status" };
static const char * const verify_client_values[] = { "none", "optional", "required" };

static PstConfig *
get_config (PstServicePage *self)
{
  return self->document != NULL ? pst_document_get_config (self->document) : NULL;
}

static PstService *
get_service (PstServicePage *self)
{
  return self->item != NULL ? pst_service_item_get_service (self->item) : NULL;
}

static guint
get_index (PstServicePage *self)
{
  return pst_service_item_get_index (self->item);
}

/* Every edit goes through here: nothing to do while the page fills its
 * own widgets, and a refused edit is shown, not swallowed. */
static gboolean
can_edit (PstServicePage *self)
{
  return !self->updating && self->document != NULL && self->item != NULL &&
         get_service (self) != NULL;
}

static void
edit_done (PstServicePage *self,
           gboolean        ok,
           GError         *error)
{
  if (!ok && error != NULL)
    pst_document_report_error (self->document, error);
}

static void
set_entry_text (GtkEditable *editable,
                const char  *text)
{
  pst_entry_commit_set_text (editable, text);
}

static const char *
empty_to_null (const char *text)
{
  return text != NULL && *text != '\0' ? text : NULL;
}

/* One named value of the service, by one of the library's setters
 * (pst_config_set_service_text, _service_property, _accept_option,
 * _connect_option); value NULL unsets. */
typedef gboolean (*ServiceSetter) (PstConfig   *config,
                                   guint        service,
                                   const char  *name,
                                   const char  *value,
                                   GError     **error);

static gboolean
set_value (PstServicePage *self,
           ServiceSetter   setter,
           const char     *name,
           const char     *value)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (!can_edit (self))
    return TRUE;
  ok = setter (get_config (self), get_index (self), name, value, &error);
  edit_done (self, ok, error);
  return ok;
}

/* Text fields */

static gboolean
set_service_text (PstServicePage *self,
                  const char     *field,
                  const char     *value)
{
  return set_value (self, pst_config_set_service_text, field, value);
}

static gboolean
name_commit_cb (GtkEditable    *editable,
                PstServicePage *self)
{
  return set_service_text (self, "name", gtk_editable_get_text (editable));
}

static gboolean
description_commit_cb (GtkEditable    *editable,
                       PstServicePage *self)
{
  return set_service_text (self, "description", empty_to_null (gtk_editable_get_text (editable)));
}

static void
type_changed_cb (PstServicePage *self)
{
  guint selected = adw_combo_row_get_selected (self->type_row);

  if (selected < G_N_ELEMENTS (service_types))
    set_service_text (self, "type", service_types[selected]);
}

static gboolean
set_service_property (PstServicePage *self,
                      const char     *name,
                      const char     *value)
{
  return set_value (self, pst_config_set_service_property, name, empty_to_null (value));
}

static gboolean
directory_commit_cb (GtkEditable    *editable,
                     PstServicePage *self)
{
  return set_service_property (self, "directory", gtk_editable_get_text (editable));
}

static gboolean
welcome_commit_cb (GtkEditable    *editable,
                   PstServicePage *self)
{
  return set_service_property (self, "welcome-file", gtk_editable_get_text (editable));
}

static void
indexes_changed_cb (PstServicePage *self)
{
  set_service_property (self, "options", gtk_switch_get_active (self->indexes_switch) ? "indexes" : NULL);
}

static void
directory_chosen_cb (GtkNativeDialog *dialog,
                     int              response,
                     PstServicePage  *self)
{
  g_autoptr(GFile) folder = NULL;
  g_autoptr(GFile) base = NULL;
  g_autofree char *text = NULL;
  PstConfig *config = get_config (self);

  if (response != GTK_RESPONSE_ACCEPT || config == NULL)
    return;
  folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
  if (folder == NULL)
    return;

  /* Relative to the config's folder when inside it, as the docs write it. */
  base = g_file_new_for_path (pst_config_get_directory (config));
  text = g_file_get_relative_path (base, folder);
  if (text == NULL)
    text = g_file_get_path (folder);
  gtk_editable_set_text (GTK_EDITABLE (self->directory_row), text);
  pst_entry_commit_flush (GTK_EDITABLE (self->directory_row));
}

static void
choose_directory_cb (PstServicePage *self)
{
  pst_file_chooser_replace (&self->chooser, GTK_WIDGET (self), _("Choose the Folder to Serve"),
                            GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Select"));
  g_signal_connect_object (self->chooser, "response", G_CALLBACK (directory_chosen_cb), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* Options */

static gboolean
set_option (PstServicePage *self,
            gboolean        connect,
            const char     *name,
            const char     *value)
{
  return set_value (self, connect ? pst_config_set_connect_option : pst_config_set_accept_option,
             name, empty_to_null (value));
}

static void
encryption_changed_cb (PstServicePage *self)
{
  /* Enabled is the default: write the option only to turn it off. */
  set_option (self, FALSE, "ssl.encryption",
              gtk_switch_get_active (self->encryption_switch) ? NULL : "disabled");
}

static void
verify_client_changed_cb (PstServicePage *self)
{
  guint selected = adw_combo_row_get_selected (self->verify_client_row);

  if (selected >= G_N_ELEMENTS (verify_client_values))
    return;
  set_option (self, FALSE, "ssl.verify-client", selected == 0 ? NULL : verify_client_values[selected]);
}

static const char *
option_name_for_row (PstServicePage *self,
                     AdwEntryRow    *row)
{
  if (row == self->protocols_row || row == self->connect_protocols_row)
    return "ssl.protocols";
  if (row == self->max_message_row)
    return "ws.maximum.message.size";
  if (row == self->inactivity_row)
    return "ws.inactivity.timeout";
  g_return_val_if_reached (NULL);
}

static gboolean
option_commit_cb (GtkEditable    *editable,
                  PstServicePage *self)
{
  return set_option (self, FALSE, option_name_for_row (self, ADW_ENTRY_ROW (editable)),
                     gtk_editable_get_text (editable));
}

static gboolean
connect_option_commit_cb (GtkEditable    *editable,
                          PstServicePage *self)
{
  return set_option (self, TRUE, option_name_for_row (self, ADW_ENTRY_ROW (editable)),
                     gtk_editable_get_text (editable));
}

/* URL lists */

static UrlKind
row_kind (PstServicePage *self,
          PstUrlRow      *row)
{
  for (UrlKind kind = 0; kind < N_URL_KINDS; kind++)
    if (g_ptr_array_find (self->rows[kind], row, NULL))
      return kind;
  g_return_val_if_reached (URL_ACCEPT);
}

static GStrv
collect_origins (PstServicePage *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->rows[URL_ORIGIN]->len; i++)
    {
      const char *text = pst_url_row_get_text (g_ptr_array_index (self->rows[URL_ORIGIN], i));
      if (*text != '\0')
        g_strv_builder_add (builder, text);
    }
  return g_strv_builder_end (builder);
}

static gboolean
set_origins (PstServicePage *self,
             GStrv           origins,
             GError        **error)
{
  return pst_config_set_allow_origins (get_config (self), get_index (self),
                                       (const char * const *)origins, error);
}

static void
url_row_changed_cb (PstServicePage *self,
                    PstUrlRow      *row)
{
  g_autoptr(GError) error = NULL;
  guint pos = pst_url_row_get_position (row);
  const char *text = pst_url_row_get_text (row);
  gboolean ok = FALSE;

  if (!can_edit (self))
    return;
  switch (row_kind (self, row))
    {
    case URL_ACCEPT:
      ok = pst_config_set_accept (get_config (self), get_index (self), pos, text, &error);
      break;
    case URL_CONNECT:
      ok = pst_config_set_connect (get_config (self), get_index (self), pos, text, &error);
      break;
    case URL_ORIGIN:
      {
        g_auto(GStrv) origins = collect_origins (self);
        ok = set_origins (self, origins, &error);
      }
      break;
    case N_URL_KINDS:
    default:
      g_assert_not_reached ();
    }
  pst_url_row_set_error (row, !ok);
  edit_done (self, ok, error);
}

static void
url_row_remove_cb (PstServicePage *self,
                   PstUrlRow      *row)
{
  g_autoptr(GError) error = NULL;
  guint pos = pst_url_row_get_position (row);
  gboolean ok = FALSE;

  if (!can_edit (self))
    return;
  switch (row_kind (self, row))
    {
    case URL_ACCEPT:
      ok = pst_config_remove_accept (get_config (self), get_index (self), pos, &error);
      break;
    case URL_CONNECT:
      ok = pst_config_remove_connect (get_config (self), get_index (self), pos, &error);
      break;
    case URL_ORIGIN:
      {
        g_auto(GStrv) origins = collect_origins (self);
        g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
        g_auto(GStrv) remaining = NULL;
        const char *removed = pst_url_row_get_text (row);
        gboolean skipped = FALSE;

        for (guint i = 0; origins[i] != NULL; i++)
          {
            if (!skipped && g_strcmp0 (origins[i], removed) == 0)
              skipped = TRUE;
            else
              g_strv_builder_add (builder, origins[i]);
          }
        remaining = g_strv_builder_end (builder);
        /* Removing the last origin removes the constraint (same-origin rule). */
        ok = set_origins (self, remaining[0] != NULL ? remaining : NULL, &error);
      }
      break;
    case N_URL_KINDS:
    default:
      g_assert_not_reached ();
    }
  edit_done (self, ok, error);
}

static PstUrlRow *
add_row (PstServicePage *self,
         UrlKind         kind)
{
  static const char *titles[N_URL_KINDS] = {
    N_("Accept URL"), N_("Connect URL"), N_("Allowed Origin"),
  };
  AdwPreferencesGroup *groups[N_URL_KINDS] = {
    self->accept_group, self->connect_group, self->origins_group,
  };
  PstUrlRow *row = PST_URL_ROW (pst_url_row_new (_(titles[kind])));

  pst_url_row_set_position (row, self->rows[kind]->len);
  g_signal_connect_object (row, "changed", G_CALLBACK (url_row_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "remove", G_CALLBACK (url_row_remove_cb), self, G_CONNECT_SWAPPED);
  adw_preferences_group_add (groups[kind], GTK_WIDGET (row));
  g_ptr_array_add (self->rows[kind], row);
  return row;
}

static void
sync_rows (PstServicePage *self,
           UrlKind         kind,
           guint           n)
{
  AdwPreferencesGroup *groups[N_URL_KINDS] = {
    self->accept_group, self->connect_group, self->origins_group,
  };

  while (self->rows[kind]->len > n)
    {
      PstUrlRow *row = g_ptr_array_steal_index (self->rows[kind], self->rows[kind]->len - 1);
      adw_preferences_group_remove (groups[kind], GTK_WIDGET (row));
    }
  while (self->rows[kind]->len < n)
    add_row (self, kind);
}

static void
focus_last_row (PstServicePage *self,
                UrlKind         kind)
{
  if (self->rows[kind]->len > 0)
    gtk_widget_grab_focus (g_ptr_array_index (self->rows[kind], self->rows[kind]->len - 1));
}

static char *
suggest_accept (PstServicePage *self)
{
  PstService *service = get_service (self);
  const char *name = pst_service_get_name (service);

  return g_strdup_printf ("wss://localhost:9000/%s", name != NULL ? name : "");
}

static void
add_accept_cb (PstServicePage *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  gboolean ok;

  if (!can_edit (self))
    return;
  url = suggest_accept (self);
  ok = pst_config_add_accept (get_config (self), get_index (self), url, &error);
  edit_done (self, ok, error);
  if (ok)
    focus_last_row (self, URL_ACCEPT);
}

static void
add_connect_cb (PstServicePage *self)
{
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (!can_edit (self))
    return;
  ok = pst_config_add_connect (get_config (self), get_index (self), "ssl://localhost:61617", &error);
  edit_done (self, ok, error);
  if (ok)
    focus_last_row (self, URL_CONNECT);
}

static void
add_origin_cb (PstServicePage *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) origins = NULL;
  gboolean ok;

  if (!can_edit (self))
    return;
  origins = collect_origins (self);
  g_strv_builder_addv (builder, (const char **)origins);
  g_strv_builder_add (builder, "https://localhost:9000");
  g_clear_pointer (&origins, g_strfreev);
  origins = g_strv_builder_end (builder);
  ok = set_origins (self, origins, &error);
  edit_done (self, ok, error);
  if (ok)
    focus_last_row (self, URL_ORIGIN);
}

/* Filling the widgets from the model */

static guint
index_of (const char * const *values,
          guint               n_values,
          const char         *value)
{
  for (guint i = 0; i < n_values; i++)
    if (g_strcmp0 (values[i], value) == 0)
      return i;
  return GTK_INVALID_LIST_POSITION;
}

static void
refresh (PstServicePage *self)
{
  PstService *service = get_service (self);
  PstOptions *accept_options;
  PstOptions *connect_options;
  const char * const *origins;
  const char *type;
  guint n_origins = 0;
  guint pos;

  gtk_widget_set_sensitive (GTK_WIDGET (self), service != NULL);
  if (service == NULL)
    return;

  self->updating = TRUE;

  set_entry_text (GTK_EDITABLE (self->name_row), pst_service_get_name (service));
  set_entry_text (GTK_EDITABLE (self->description_row), pst_service_get_description (service));

  type = pst_service_get_service_type (service);
  pos = index_of (service_types, G_N_ELEMENTS (service_types), type);
  if (pos != adw_combo_row_get_selected (self->type_row))
    adw_combo_row_set_selected (self->type_row, pos);

  sync_rows (self, URL_ACCEPT, pst_service_get_n_accepts (service));
  for (guint i = 0; i < pst_service_get_n_accepts (service); i++)
    {
      PstUrlRow *row = g_ptr_array_index (self->rows[URL_ACCEPT], i);
      pst_url_row_set_text (row, pst_service_get_accept_raw (service, i));
      pst_url_row_set_resolved (row, pst_service_get_accept (service, i));
    }
  sync_rows (self, URL_CONNECT, pst_service_get_n_connects (service));
  for (guint i = 0; i < pst_service_get_n_connects (service); i++)
    {
      PstUrlRow *row = g_ptr_array_index (self->rows[URL_CONNECT], i);
      pst_url_row_set_text (row, pst_service_get_connect_raw (service, i));
      pst_url_row_set_resolved (row, pst_service_get_connect (service, i));
    }

  origins = pst_service_get_allow_origins (service);
  if (origins != NULL)
    n_origins = g_strv_length ((GStrv)origins);
  sync_rows (self, URL_ORIGIN, n_origins);
  for (guint i = 0; i < n_origins; i++)
    pst_url_row_set_text (g_ptr_array_index (self->rows[URL_ORIGIN], i), origins[i]);

  gtk_widget_set_visible (GTK_WIDGET (self->connect_group), g_strcmp0 (type, "proxy") == 0 ||
                          pst_service_get_n_connects (service) > 0);
  gtk_widget_set_visible (GTK_WIDGET (self->connect_options_group), g_strcmp0 (type, "proxy") == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->directory_group), g_strcmp0 (type, "directory") == 0);

  set_entry_text (GTK_EDITABLE (self->directory_row), pst_service_get_property (service, "directory"));
  set_entry_text (GTK_EDITABLE (self->welcome_row), pst_service_get_property (service, "welcome-file"));
  gtk_switch_set_active (self->indexes_switch,
                         g_strcmp0 (pst_service_get_property (service, "options"), "indexes") == 0);

  accept_options = pst_service_get_accept_options (service);
  connect_options = pst_service_get_connect_options (service);
  if (accept_options != NULL)
    {
      gtk_switch_set_active (self->encryption_switch, pst_options_get_ssl_encryption (accept_options));
      pos = index_of (verify_client_values, G_N_ELEMENTS (verify_client_values),
                      pst_options_get_verify_client (accept_options));
      adw_combo_row_set_selected (self->verify_client_row, pos == GTK_INVALID_LIST_POSITION ? 0 : pos);
      set_entry_text (GTK_EDITABLE (self->protocols_row), pst_options_get (accept_options, "ssl.protocols"));
      set_entry_text (GTK_EDITABLE (self->max_message_row),
                      pst_options_get (accept_options, "ws.maximum.message.size"));
      set_entry_text (GTK_EDITABLE (self->inactivity_row),
                      pst_options_get (accept_options, "ws.inactivity.timeout"));
    }
  if (connect_options != NULL)
    set_entry_text (GTK_EDITABLE (self->connect_protocols_row),
                    pst_options_get (connect_options, "ssl.protocols"));

  self->updating = FALSE;
}

void
pst_service_page_set_document (PstServicePage *self,
                               PstDocument    *document)
{
  g_return_if_fail (PST_IS_SERVICE_PAGE (self));

  if (self->document != document && self->item != NULL && self->document != NULL)
    pst_entry_commit_flush_all (GTK_WIDGET (self));
  g_set_object (&self->document, document);
  pst_service_page_set_item (self, NULL);
}

void
pst_service_page_set_item (PstServicePage *self,
                           PstServiceItem *item)
{
  g_return_if_fail (PST_IS_SERVICE_PAGE (self));

  if (self->item == item)
    return;
  /* What was typed belongs to the service it was typed for: a click on
   * another service can select it before the field loses the focus. */
  if (self->item != NULL && self->document != NULL)
    pst_entry_commit_flush_all (GTK_WIDGET (self));
  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_set_object (&self->item, item);
  if (item != NULL)
    g_signal_connect_object (item, "notify::service", G_CALLBACK (refresh), self, G_CONNECT_SWAPPED);

  pst_service_page_set_test_result (self, NULL, NULL, PST_TEST_IDLE);

  /* Another service: its lists start from scratch. */
  self->updating = TRUE;
  for (UrlKind kind = 0; kind < N_URL_KINDS; kind++)
    sync_rows (self, kind, 0);
  self->updating = FALSE;
  refresh (self);
}

void
pst_service_page_set_test_result (PstServicePage *self,
                                  const char     *service_name,
                                  const char     *text,
                                  PstTestState    state)
{
  static const char * const icons[] = {
    "network-transmit-receive-symbolic", "content-loading-symbolic",
    "emblem-ok-symbolic", "dialog-error-symbolic",
  };
  PstService *service;
  GtkWidget *icon = GTK_WIDGET (self->test_icon);

  g_return_if_fail (PST_IS_SERVICE_PAGE (self));

  /* A late answer for a service no longer shown is dropped here (the
   * window has shown it in a toast). */
  service = get_service (self);
  if (service_name != NULL && (service == NULL || g_strcmp0 (pst_service_get_name (service), service_name) != 0))
    return;

  if (state == PST_TEST_IDLE || text == NULL)
    text = _("Connects to the first accept URL as a client would; run the gateway first");
  adw_action_row_set_subtitle (self->test_row, text);
  gtk_image_set_from_icon_name (self->test_icon, icons[state]);
  gtk_widget_remove_css_class (icon, "success");
  gtk_widget_remove_css_class (icon, "error");
  if (state == PST_TEST_OK)
    gtk_widget_add_css_class (icon, "success");
  else if (state == PST_TEST_FAILED)
    gtk_widget_add_css_class (icon, "error");
  if (state == PST_TEST_RUNNING)
    gtk_spinner_start (self->test_spinner);
  else
    gtk_spinner_stop (self->test_spinner);
}

const char *
pst_service_page_get_test_result (PstServicePage *self)
{
  g_return_val_if_fail (PST_IS_SERVICE_PAGE (self), NULL);
  return adw_action_row_get_subtitle (self->test_row);
}

void
pst_service_page_focus_field (PstServicePage *self,
                              const char     *field)
{
  GtkWidget *target = NULL;

  g_return_if_fail (PST_IS_SERVICE_PAGE (self));

  if (field == NULL || g_strcmp0 (field, "name") == 0)
    target = GTK_WIDGET (self->name_row);
  else if (g_strcmp0 (field, "description") == 0)
    target = GTK_WIDGET (self->description_row);
  else if (g_strcmp0 (field, "type") == 0)
    target = GTK_WIDGET (self->type_row);
  else if (g_strcmp0 (field, "accept") == 0 && self->rows[URL_ACCEPT]->len > 0)
    target = g_ptr_array_index (self->rows[URL_ACCEPT], 0);
  else if (g_strcmp0 (field, "connect") == 0 && self->rows[URL_CONNECT]->len > 0)
    target = g_ptr_array_index (self->rows[URL_CONNECT], 0);
  else if (g_strcmp0 (field, "allow-origin") == 0 && self->rows[URL_ORIGIN]->len > 0)
    target = g_ptr_array_index (self->rows[URL_ORIGIN], 0);
  else if (g_strcmp0 (field, "directory") == 0)
    target = GTK_WIDGET (self->directory_row);
  else if (g_strcmp0 (field, "welcome-file") == 0)
    target = GTK_WIDGET (self->welcome_row);
  else if (g_strcmp0 (field, "ssl.encryption") == 0)
    target = GTK_WIDGET (self->encryption_switch);
  else if (g_strcmp0 (field, "ssl.verify-client") == 0)
    target = GTK_WIDGET (self->verify_client_row);
  else if (g_strcmp0 (field, "ssl.protocols") == 0)
    target = GTK_WIDGET (self->protocols_row);
  else if (g_strcmp0 (field, "ws.maximum.message.size") == 0)
    target = GTK_WIDGET (self->max_message_row);
  else if (g_strcmp0 (field, "ws.inactivity.timeout") == 0)
    target = GTK_WIDGET (self->inactivity_row);

  if (target != NULL)
    gtk_widget_grab_focus (target);
}

static void
pst_service_page_dispose (GObject *object)
{
  PstServicePage *self = PST_SERVICE_PAGE (object);

  if (self->item != NULL)
    g_signal_handlers_disconnect_by_data (self->item, self);
  g_clear_object (&self->item);
  g_clear_object (&self->document);
  pst_file_chooser_clear (&self->chooser);
  gtk_widget_dispose_template (GTK_WIDGET (self), PST_TYPE_SERVICE_PAGE);
  G_OBJECT_CLASS (pst_service_page_parent_class)->dispose (object);
}

static void
pst_service_page_finalize (GObject *object)
{
  PstServicePage *self = PST_SERVICE_PAGE (object);

  for (UrlKind kind = 0; kind < N_URL_KINDS; kind++)
    g_ptr_array_unref (self->rows[kind]);
  G_OBJECT_CLASS (pst_service_page_parent_class)->finalize (object);
}

static void
pst_service_page_class_init (PstServicePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_service_page_dispose;
  object_class->finalize = pst_service_page_finalize;

  g_type_ensure (PST_TYPE_URL_ROW);

  gtk_widget_class_set_template_from_resource (widget_class, "/org/postern/Editor/pst-service-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, name_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, description_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, type_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, accept_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, connect_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, directory_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, directory_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, welcome_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, indexes_switch);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, accept_options_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, encryption_switch);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, verify_client_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, protocols_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, max_message_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, inactivity_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, connect_options_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, connect_protocols_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, origins_group);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, test_row);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, test_icon);
  gtk_widget_class_bind_template_child (widget_class, PstServicePage, test_spinner);
  gtk_widget_class_bind_template_callback (widget_class, type_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, indexes_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, choose_directory_cb);
  gtk_widget_class_bind_template_callback (widget_class, encryption_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, verify_client_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_accept_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_connect_cb);
  gtk_widget_class_bind_template_callback (widget_class, add_origin_cb);
}

static void
pst_service_page_init (PstServicePage *self)
{
  for (UrlKind kind = 0; kind < N_URL_KINDS; kind++)
    self->rows[kind] = g_ptr_array_new ();
  gtk_widget_init_template (GTK_WIDGET (self));
  /* committed when the edit is finished, not per keystroke */
  pst_entry_commit_watch (GTK_EDITABLE (self->name_row), (PstEntryCommitFunc) name_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->description_row), (PstEntryCommitFunc) description_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->directory_row), (PstEntryCommitFunc) directory_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->welcome_row), (PstEntryCommitFunc) welcome_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->protocols_row), (PstEntryCommitFunc) option_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->max_message_row), (PstEntryCommitFunc) option_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->inactivity_row), (PstEntryCommitFunc) option_commit_cb, self);
  pst_entry_commit_watch (GTK_EDITABLE (self->connect_protocols_row),
                          (PstEntryCommitFunc) connect_option_commit_cb, self);
  gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
  pst_service_page_set_test_result (self, NULL, NULL, PST_TEST_IDLE);
}
