/* test-editor.c: real editor windows under Xvfb: templates, edit + save, live diagnostics, French
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "editor-test-util.h"
#include "pst-application.h"
#include "pst-cert-dialog.h"
#include "pst-certgen.h"
#include "pst-export-dialog.h"
#include "pst-run-page.h"
#include "pst-diagnostic-row.h"
#include "pst-diagnostics-panel.h"
#include "pst-document.h"
#include "pst-properties-page.h"
#include "pst-security-page.h"
#include "pst-service-page.h"
#include "pst-store-file.h"
#include "pst-store-view.h"
#include "pst-trust-dialog.h"
#include "pst-url-row.h"
#include "pst-window.h"

/* Every wait is bounded. */
#define WAIT_MS 5000

typedef PstTestWindow Fixture;

static void
wait_validated (PstDocument *document)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;

  while (pst_document_get_validation_pending (document) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (pst_document_get_validation_pending (document));
}

static gboolean
store_view_idle (gpointer data)
{
  return !pst_store_view_get_loading (data);
}

/* The store inspector opens its store in a worker thread: waits (bounded)
 * for the load; TRUE when the store was opened. */
static gboolean
wait_store_loaded (PstStoreView *view)
{
  g_assert_true (pst_test_wait_for (store_view_idle, view, 20000));
  return pst_store_view_is_open (view);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  pst_test_window_setup (fx, "postern-editor-XXXXXX");
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  pst_test_window_teardown (fx);
}

/* .ui files are not checked by the compiler: build every template. */
static void
test_templates (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) document = pst_document_new_default (&error);
  g_autoptr(GtkBuilder) builder = NULL;
  GType types[] = {
    PST_TYPE_SERVICE_PAGE, PST_TYPE_PROPERTIES_PAGE, PST_TYPE_SECURITY_PAGE,
    PST_TYPE_DIAGNOSTICS_PANEL, PST_TYPE_DIAGNOSTIC_ROW, PST_TYPE_URL_ROW, PST_TYPE_RUN_PAGE,
  };
  const char *names[] = { "localhost", NULL };
  PstCertRequest request = { .names = names };
  g_autoptr(PstStoreEntry) entry = NULL;
  PstTrustDialog *trust;
  PstExportDialog *export;
  PstWindow *window;
  PstCertDialog *dialog;
  PstStoreView *view;
  g_autofree char *missing = g_build_filename (g_get_tmp_dir (), "no-such-store.p12", NULL);

  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      GtkWidget *holder = gtk_window_new ();
      GtkWidget *widget = g_object_new (types[i], NULL);

      g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (widget, types[i]));
      gtk_window_set_child (GTK_WINDOW (holder), widget);
      gtk_window_present (GTK_WINDOW (holder));
      pst_test_iterate (10);
      gtk_window_destroy (GTK_WINDOW (holder));
    }

  window = pst_window_new (NULL);
  pst_window_set_document (window, document);
  gtk_window_present (GTK_WINDOW (window));

  dialog = pst_cert_dialog_new (GTK_WINDOW (window), document,
                                pst_config_get_service (pst_document_get_config (document), 0));
  g_assert_nonnull (strstr (pst_cert_dialog_get_names (dialog), "localhost"));
  gtk_window_present (GTK_WINDOW (dialog));

  view = pst_store_view_new (GTK_WINDOW (window), missing, NULL);
  g_assert_false (wait_store_loaded (view));
  pst_store_view_reload (view);
  g_assert_false (wait_store_loaded (view));
  gtk_window_present (GTK_WINDOW (view));

  trust = pst_store_view_trust_server (view);
  g_assert_cmpuint (pst_trust_dialog_get_n_certificates (trust), ==, 0);
  entry = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);
  export = pst_export_dialog_new (GTK_WINDOW (view), entry);
  gtk_window_present (GTK_WINDOW (export));

  builder = gtk_builder_new_from_resource ("/org/postern/Editor/gtk/help-overlay.ui");
  g_assert_true (GTK_IS_SHORTCUTS_WINDOW (gtk_builder_get_object (builder, "help_overlay")));

  pst_test_iterate (50);
  gtk_window_destroy (GTK_WINDOW (export));
  gtk_window_destroy (GTK_WINDOW (trust));
  gtk_window_destroy (GTK_WINDOW (view));
  gtk_window_destroy (GTK_WINDOW (dialog));
  gtk_window_destroy (GTK_WINDOW (window));
  gtk_window_destroy (GTK_WINDOW (gtk_builder_get_object (builder, "help_overlay")));
  pst_test_iterate (20);
}

static char **
lines_of (const char *text)
{
  return g_strsplit (text, "\n", -1);
}

static void
test_edit_accept_and_save (Fixture       *fx,
                           gconstpointer  data)
{
  const char *new_url = "ws://${gateway.hostname}:8080/echo";
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  PstDocument *document = pst_window_get_document (fx->window);
  g_autofree char *saved = NULL;
  g_auto(GStrv) before = NULL;
  g_auto(GStrv) after = NULL;
  g_autoptr(GError) error = NULL;
  PstUrlRow *row;
  guint changed = 0;

  pst_window_select_service (fx->window, 0);
  pst_test_iterate (20);
  row = PST_URL_ROW (pst_test_find_descendant (GTK_WIDGET (page), PST_TYPE_URL_ROW, TRUE));
  g_assert_nonnull (row);
  g_assert_cmpstr (pst_url_row_get_text (row), ==, "ws://${gateway.hostname}:8000/echo");

  /* Typed into the widget, as a person would. */
  gtk_editable_set_text (pst_url_row_get_editable (row), new_url);
  /* committed with Enter (an edit is committed when finished) */
  g_signal_emit_by_name (gtk_editable_get_delegate (pst_url_row_get_editable (row)), "activate");
  pst_test_iterate (20);
  g_assert_true (pst_document_get_modified (document));
  g_assert_cmpstr (pst_service_get_accept (pst_config_get_service (pst_document_get_config (document), 0), 0),
                   ==, "ws://localhost:8080/echo");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.save", NULL));
  pst_test_iterate (20);
  g_assert_false (pst_document_get_modified (document));

  g_file_get_contents (fx->path, &saved, NULL, &error);
  g_assert_no_error (error);
  before = lines_of (fx->original);
  after = lines_of (saved);
  g_assert_cmpuint (g_strv_length (before), ==, g_strv_length (after));
  for (guint i = 0; before[i] != NULL; i++)
    {
      if (g_strcmp0 (before[i], after[i]) == 0)
        continue;
      changed++;
      g_assert_nonnull (strstr (before[i], "<accept>ws://${gateway.hostname}:8000/echo</accept>"));
      g_assert_nonnull (strstr (after[i], "<accept>ws://${gateway.hostname}:8080/echo</accept>"));
    }
  g_assert_cmpuint (changed, ==, 1);
  g_assert_nonnull (strstr (saved, "<!-- The echo service: its accept URL is what the test edits. -->"));
  g_assert_nonnull (strstr (saved, "<!-- A second echo service that must stay untouched. -->"));
}

static gboolean
panel_has_message (PstDiagnosticsPanel *panel,
                   const char          *fragment)
{
  GListModel *model = pst_diagnostics_panel_get_model (panel);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(PstDiagnostic) diag = g_list_model_get_item (model, i);
      if (strstr (pst_diagnostic_get_message (diag), fragment) != NULL)
        return TRUE;
    }
  return FALSE;
}

static void
test_diagnostics_live (Fixture       *fx,
                       gconstpointer  data)
{
  PstServicePage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "service_page");
  PstDiagnosticsPanel *panel = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "diagnostics_panel");
  GtkStack *panel_stack = pst_test_template_child (panel, PST_TYPE_DIAGNOSTICS_PANEL, "stack");
  GtkLabel *badge = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "diagnostics_badge");
  PstDocument *document = pst_window_get_document (fx->window);
  PstConfig *config = pst_document_get_config (document);
  AdwComboRow *type_row = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "type_row");
  g_autoptr(GPtrArray) library = NULL;
  guint n_before = pst_config_get_n_services (config);
  const char *fragment = "a directory service accepts only http:// and https://";

  wait_validated (document);
  g_assert_cmpuint (g_list_model_get_n_items (pst_diagnostics_panel_get_model (panel)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "empty");

  /* Add a service through the UI: it is selected and shown. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.service-add", NULL));
  pst_test_iterate (20);
  g_assert_cmpuint (pst_config_get_n_services (config), ==, n_before + 1);
  wait_validated (document);

  /* A ws:// accept on a directory service is an error. */
  adw_combo_row_set_selected (type_row, 1);
  g_assert_cmpstr (pst_service_get_service_type (pst_config_get_service (config, n_before)), ==, "directory");
  g_assert_true (pst_document_get_validation_pending (document));
  wait_validated (document);
  g_assert_true (panel_has_message (panel, fragment));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "list");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (badge)));
  g_assert_cmpuint (pst_document_get_n_errors (document), >, 0);

  /* The panel shows what the library says, word for word. */
  library = pst_config_validate (config);
  for (guint i = 0; i < library->len; i++)
    g_assert_true (panel_has_message (panel, pst_diagnostic_get_message (g_ptr_array_index (library, i))));

  /* Activating it selects the service. */
  pst_window_select_service (fx->window, 0);
  pst_diagnostics_panel_activate (panel, 0);
  g_assert_cmpuint (gtk_single_selection_get_selected (pst_test_template_child (fx->window, PST_TYPE_WINDOW,
                                                                       "services_selection")),
                    ==, n_before);

  /* Back to echo: the panel clears. */
  adw_combo_row_set_selected (type_row, 0);
  wait_validated (document);
  g_assert_false (panel_has_message (panel, fragment));
  g_assert_cmpuint (g_list_model_get_n_items (pst_diagnostics_panel_get_model (panel)), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (panel_stack), ==, "empty");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (badge)));
}


/* Security page "Create…", then the certificate dialog: the keystore gains
 * an entry with the names asked for. */

static PstSecurityPage *
create_keystore (Fixture *fx)
{
  PstSecurityPage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "security_page");
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (pst_security_page_create_store (page, PST_STORE_KIND_KEYSTORE, store, &error));
  g_assert_no_error (error);
  return page;
}

static void
test_security_create (Fixture       *fx,
                      gconstpointer  data)
{
  PstDocument *document = pst_window_get_document (fx->window);
  PstConfig *config = pst_document_get_config (document);
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autofree char *pw = g_build_filename (fx->dir, "keystore.pw", NULL);
  g_autofree char *xml = NULL;
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(GError) error = NULL;
  AdwActionRow *file_row;
  GStatBuf st;

  create_keystore (fx);
  g_assert_cmpstr (pst_config_get_keystore (config)->file, ==, store);
  g_assert_cmpstr (pst_config_get_keystore (config)->type, ==, "PKCS12");
  g_assert_cmpstr (pst_config_get_keystore (config)->password_file, ==, pw);
  g_assert_true (pst_document_get_modified (document));

  /* Relative to the configuration's folder, as a person would write it. */
  xml = pst_config_to_xml (config, NULL);
  g_assert_nonnull (strstr (xml, "<file>keystore.p12</file>"));
  g_assert_nonnull (strstr (xml, "<password-file>keystore.pw</password-file>"));

  g_assert_cmpint (g_stat (pw, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  keystore = pst_keystore_open (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pst_keystore_get_format (keystore), ==, PST_STORE_FORMAT_PKCS12);
  g_assert_cmpuint (pst_keystore_get_n_entries (keystore), ==, 0);

  file_row = pst_test_template_child (pst_test_template_child (fx->window, PST_TYPE_WINDOW, "security_page"),
                             PST_TYPE_SECURITY_PAGE, "keystore_file_row");
  g_assert_cmpstr (adw_action_row_get_subtitle (file_row), ==, "keystore.p12");

  /* Forgetting it leaves the files alone. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (pst_test_template_child (fx->window, PST_TYPE_WINDOW, "security_page")),
                                             "security.remove-store", "s", "keystore"));
  g_assert_null (pst_config_get_keystore (config)->file);
  g_assert_true (g_file_test (store, G_FILE_TEST_EXISTS));
}

static void
generated_cb (PstCertDialog *dialog,
              PstStoreEntry *entry,
              const char    *message,
              gpointer       user_data)
{
  *(gboolean *)user_data = TRUE;
}

static void
generate_signed_through_dialog (Fixture    *fx,
                                const char *names,
                                guint       signer)
{
  PstDocument *document = pst_window_get_document (fx->window);
  PstCertDialog *dialog;
  gboolean generated = FALSE;

  dialog = pst_cert_dialog_new (GTK_WINDOW (fx->window), document, NULL);
  g_signal_connect (dialog, "generated", G_CALLBACK (generated_cb), &generated);
  gtk_window_present (GTK_WINDOW (dialog));
  pst_cert_dialog_set_names (dialog, names);
  adw_combo_row_set_selected (pst_test_template_child (dialog, PST_TYPE_CERT_DIALOG, "signer_row"), signer);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "cert.generate", NULL));
  g_assert_true (pst_test_wait_for (pst_test_flag_set, &generated, 20000));
  pst_test_iterate (20);
}

static void
generate_through_dialog (Fixture    *fx,
                         const char *names)
{
  generate_signed_through_dialog (fx, names, 0);   /* self-signed */
}

static void
test_generate_certificate (Fixture       *fx,
                           gconstpointer  data)
{
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) sans = NULL;
  PstStoreEntry *entry;

  create_keystore (fx);
  generate_through_dialog (fx, "gateway.example.test, 127.0.0.1 ::1");

  keystore = pst_keystore_open (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (keystore), ==, 1);
  entry = pst_keystore_lookup (keystore, "gateway.example.test");
  g_assert_nonnull (entry);
  g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_KEY);
  sans = pst_store_entry_dup_sans (entry);
  g_assert_cmpuint (g_strv_length (sans), ==, 3);
  g_assert_true (g_strv_contains ((const char * const *)sans, "DNS:gateway.example.test"));
  g_assert_true (g_strv_contains ((const char * const *)sans, "IP:127.0.0.1"));
  g_assert_true (g_strv_contains ((const char * const *)sans, "IP:::1") ||
                 g_strv_contains ((const char * const *)sans, "IP:0:0:0:0:0:0:0:1"));
  g_assert_true (pst_store_entry_matches_host (entry, "127.0.0.1"));
}

/* "Signed by the local development CA": devca.p12 (with its 0600 password
 * file) is made beside the configuration the first time and used again
 * after that. */
static void
test_generate_with_local_ca (Fixture       *fx,
                             gconstpointer  data)
{
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autofree char *ca_path = g_build_filename (fx->dir, "devca.p12", NULL);
  g_autofree char *ca_pw = g_build_filename (fx->dir, "devca.pw", NULL);
  g_autofree char *ca_subject = NULL;
  g_autofree char *ca_fingerprint = NULL;
  const char *leaves[] = { "app.test", "api.localhost" };
  GStatBuf st;

  create_keystore (fx);
  for (guint round = 0; round < G_N_ELEMENTS (leaves); round++)
    {
      g_autoptr(PstKeystore) ca_store = NULL;
      g_autoptr(PstKeystore) keystore = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *fingerprint = NULL;
      g_autofree char *subject = NULL;
      g_autofree char *issuer = NULL;
      PstStoreEntry *ca;
      PstStoreEntry *entry;

      generate_signed_through_dialog (fx, leaves[round], 1);

      ca_store = pst_keystore_open (ca_path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (pst_keystore_get_n_entries (ca_store), ==, 1);
      ca = pst_keystore_get_entry (ca_store, 0);
      g_assert_true (pst_store_entry_is_ca (ca));
      g_assert_cmpint (pst_store_entry_get_kind (ca), ==, PST_ENTRY_KEY);
      subject = pst_store_entry_dup_subject (ca);
      fingerprint = pst_store_entry_dup_fingerprint (ca);
      if (round == 0)
        {
          ca_subject = g_strdup (subject);
          ca_fingerprint = g_strdup (fingerprint);
          g_assert_cmpint (g_stat (ca_pw, &st), ==, 0);
          g_assert_cmpint (st.st_mode & 0777, ==, 0600);
        }
      else
        g_assert_cmpstr (fingerprint, ==, ca_fingerprint);   /* the same CA again */

      keystore = pst_keystore_open (store, NULL, &error);
      g_assert_no_error (error);
      /* Earlier leaves stay; the CA's certificate (of their chains) may
       * also be listed on its own, as trusted, once the store is read back. */
      for (guint i = 0; i < round; i++)
        g_assert_nonnull (pst_keystore_lookup (keystore, leaves[i]));
      entry = pst_keystore_lookup (keystore, leaves[round]);
      g_assert_nonnull (entry);
      g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_KEY);
      g_assert_false (pst_store_entry_is_ca (entry));
      issuer = pst_store_entry_dup_issuer (entry);
      g_assert_cmpstr (issuer, ==, ca_subject);
    }
}

/* A JKS truststore made by keytool: every alias is listed, read-only, and
 * the offered conversion gives a PKCS#12 store with the same entries. */

static void
keytool (const char *dir,
         ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, (char *)"keytool");
  va_start (ap, dir);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (argv, (char *)arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (dir, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                NULL, NULL, NULL, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("keytool failed: %s", err);
}

static void
test_jks_inspector (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-editor-XXXXXX", NULL);
  g_autofree char *jks = g_build_filename (dir, "truststore.jks", NULL);
  g_autofree char *p12 = g_build_filename (dir, "truststore.p12", NULL);
  const char *expected[] = { "alpha", "beta", "gamma-ca" };
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) converted = NULL;
  PstStoreView *view;
  GListModel *entries;
  GtkRevealer *revealer;

  /* make check installs a JRE: a missing keytool is a failure, not a skip */
  {
    g_autofree char *keytool_path = g_find_program_in_path ("keytool");
    g_assert_nonnull (keytool_path);
  }

  keytool (dir, "-genkeypair", "-alias", "alpha", "-keyalg", "EC", "-groupname", "secp256r1",
           "-dname", "CN=alpha.example.test", "-validity", "30", "-storetype", "JKS",
           "-keystore", "truststore.jks", "-storepass", "changeit", "-keypass", "changeit", NULL);
  keytool (dir, "-genkeypair", "-alias", "beta", "-keyalg", "RSA", "-keysize", "2048",
           "-dname", "CN=beta.example.test", "-validity", "30", "-storetype", "JKS",
           "-keystore", "truststore.jks", "-storepass", "changeit", "-keypass", "changeit", NULL);
  keytool (dir, "-genkeypair", "-alias", "gamma", "-keyalg", "EC", "-groupname", "secp256r1",
           "-dname", "CN=Gamma CA", "-ext", "bc:c", "-validity", "30", "-storetype", "JKS",
           "-keystore", "other.jks", "-storepass", "changeit", "-keypass", "changeit", NULL);
  keytool (dir, "-exportcert", "-alias", "gamma", "-file", "gamma.cer",
           "-keystore", "other.jks", "-storepass", "changeit", NULL);
  keytool (dir, "-importcert", "-noprompt", "-alias", "gamma-ca", "-file", "gamma.cer",
           "-storetype", "JKS", "-keystore", "truststore.jks", "-storepass", "changeit", NULL);

  view = pst_store_view_new (NULL, jks, NULL);
  gtk_window_present (GTK_WINDOW (view));
  g_assert_true (wait_store_loaded (view));
  entries = pst_store_view_get_entries (view);
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, G_N_ELEMENTS (expected));
  for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (entries); j++)
        {
          g_autoptr(PstStoreEntry) entry = g_list_model_get_item (entries, j);
          found |= g_strcmp0 (pst_store_entry_get_alias (entry), expected[i]) == 0;
        }
      g_assert_true (found);
    }

  /* Read-only, with the conversion offered instead of edits. */
  revealer = pst_test_template_child (view, PST_TYPE_STORE_VIEW, "read_only_revealer");
  g_assert_true (gtk_revealer_get_reveal_child (revealer));
  /* (an action's button follows whether it is enabled) */
  g_assert_true (gtk_widget_get_sensitive (pst_test_find_descendant (GTK_WIDGET (revealer), GTK_TYPE_BUTTON, TRUE)));

  g_assert_true (pst_store_view_convert_to (view, p12, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (pst_store_view_get_path (view), ==, p12);
  g_assert_true (wait_store_loaded (view));
  g_assert_false (gtk_revealer_get_reveal_child (revealer));
  g_assert_cmpuint (g_list_model_get_n_items (entries), ==, G_N_ELEMENTS (expected));
  converted = pst_keystore_open (p12, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pst_keystore_get_format (converted), ==, PST_STORE_FORMAT_PKCS12);
  g_assert_cmpuint (pst_keystore_get_n_entries (converted), ==, G_N_ELEMENTS (expected));
  g_assert_nonnull (pst_keystore_lookup (converted, "gamma-ca"));

  gtk_window_destroy (GTK_WINDOW (view));
  pst_test_iterate (20);
  pst_test_remove_tree (dir);
}

/* "Trust a Server…" against a TLS server on 127.0.0.1:0 */

typedef struct {
  GTlsCertificate *certificate;
  GPtrArray       *connections;
} TlsServer;

static void
server_handshake_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  /* The fetch hangs up after the handshake; its outcome is not the test. */
  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, NULL);
}

static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  TlsServer *server = user_data;
  g_autoptr(GError) error = NULL;
  GIOStream *tls;

  tls = g_tls_server_connection_new (G_IO_STREAM (connection), server->certificate, &error);
  g_assert_no_error (error);
  g_ptr_array_add (server->connections, tls);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    server_handshake_cb, NULL);
  return TRUE;
}

static GSocketService *
start_tls_server (TlsServer     *server,
                  PstStoreEntry *entry,
                  guint16       *port)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  server->certificate = pst_store_entry_to_tls_certificate (entry, &error);
  g_assert_no_error (error);
  server->connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (service, "incoming", G_CALLBACK (incoming_cb), server);
  g_socket_service_start (service);
  return service;
}

static void
stop_tls_server (TlsServer      *server,
                 GSocketService *service)
{
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
  g_ptr_array_unref (server->connections);
  g_object_unref (server->certificate);
}

static gboolean
has_certificates (gpointer data)
{
  return pst_trust_dialog_get_n_certificates (data) > 0;
}

static gboolean
has_entries (gpointer data)
{
  return g_list_model_get_n_items (pst_store_view_get_entries (data)) > 0;
}

static void
trust_server (GtkWindow      *parent,
              const char     *store,
              PstStoreEntry  *server_entry,
              guint16         port)
{
  g_autofree char *address = g_strdup_printf ("127.0.0.1:%u", port);
  PstStoreView *view = pst_store_view_new (parent, store, NULL);
  PstTrustDialog *dialog;

  gtk_window_present (GTK_WINDOW (view));
  dialog = pst_store_view_trust_server (view);
  g_object_add_weak_pointer (G_OBJECT (dialog), (gpointer *)&dialog);
  pst_trust_dialog_set_address (dialog, address);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "trust.fetch", NULL));
  g_assert_true (pst_test_wait_for (has_certificates, dialog, 15000));
  g_assert_cmpuint (pst_trust_dialog_get_n_certificates (dialog), ==, 1);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "trust.confirm", NULL));
  g_assert_true (pst_test_wait_for (has_entries, view, 20000));
  pst_test_iterate (20);
  g_assert_null (dialog);   /* closed once trusted */
  gtk_window_destroy (GTK_WINDOW (view));
}

static void
test_trust_server (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-editor-XXXXXX", NULL);
  g_autofree char *store = g_build_filename (dir, "truststore.p12", NULL);
  const char *names[] = { "backend.example.test", NULL };
  PstCertRequest request = { .names = names };
  g_autoptr(PstStoreEntry) server_entry = NULL;
  g_autoptr(PstKeystore) truststore = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *actual = NULL;
  TlsServer server = { 0 };
  GSocketService *service;
  PstStoreEntry *trusted;
  guint16 port;

  server_entry = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);
  service = start_tls_server (&server, server_entry, &port);

  trust_server (NULL, store, server_entry, port);

  /* The store did not exist: it was made, with its password file. */
  truststore = pst_keystore_open (store, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (truststore), ==, 1);
  trusted = pst_keystore_get_entry (truststore, 0);
  g_assert_cmpint (pst_store_entry_get_kind (trusted), ==, PST_ENTRY_TRUSTED);
  g_assert_cmpstr (pst_store_entry_get_alias (trusted), ==, "127.0.0.1");
  expected = pst_store_entry_dup_fingerprint (server_entry);
  actual = pst_store_entry_dup_fingerprint (trusted);
  g_assert_cmpstr (actual, ==, expected);

  stop_tls_server (&server, service);
  pst_test_iterate (20);
  pst_test_remove_tree (dir);
}


/* Done means: the documentation's self-signed set-up made in the editor
 * alone (keystore + certificate for the gateway host, directory, echo and
 * a wss→ssl proxy whose back-end is trusted through "Trust a Server…"),
 * saved, run as a child process, and every service's Test succeeding. */

static gboolean
log_has_listening (gpointer data)
{
  g_autofree char *text = pst_test_log_text (data);

  /* one line per accept URL, or the end of the process */
  return strstr (text, "listening on https://") != NULL || strstr (text, "— The gateway") != NULL;
}

static gboolean
log_has_stopped (gpointer data)
{
  g_autofree char *text = pst_test_log_text (data);

  return strstr (text, "— The gateway") != NULL;
}

static gboolean
backend_reached (gpointer data)
{
  return ((TlsServer *)data)->connections->len >= 2;
}

static void
test_run_and_test (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-editor-XXXXXX", NULL);
  g_autofree char *web = g_build_filename (dir, "web", NULL);
  g_autofree char *index = g_build_filename (web, "index.html", NULL);
  g_autofree char *path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_autofree char *keystore = g_build_filename (dir, "keystore.p12", NULL);
  g_autofree char *truststore = g_build_filename (dir, "truststore.p12", NULL);
  g_autofree char *text = NULL;
  g_autofree char *log = NULL;
  const char *backend_names[] = { "127.0.0.1", NULL };
  PstCertRequest request = { .names = backend_names };
  g_autoptr(PstStoreEntry) backend_entry = NULL;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(GError) error = NULL;
  TlsServer backend = { 0 };
  GSocketService *service;
  PstSecurityPage *security;
  PstServicePage *page;
  PstWindow *window;
  guint16 backend_port, port;

  /* the test depends on the postern target: it is always built */
  g_assert_true (g_getenv ("POSTERN_BINARY") != NULL || g_file_test (PST_TEST_POSTERN, G_FILE_TEST_IS_EXECUTABLE));
  g_setenv ("POSTERN_BINARY", PST_TEST_POSTERN, FALSE);

  backend_entry = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);
  service = start_tls_server (&backend, backend_entry, &backend_port);
  port = pst_test_free_port ();

  g_mkdir (web, 0755);
  g_file_set_contents (index, "<!doctype html><title>Postern</title><p>It works.</p>\n", -1, &error);
  g_assert_no_error (error);
  text = g_strdup_printf ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
                          "  <properties>\n"
                          "    <property><name>gateway.hostname</name><value>localhost</value></property>\n"
                          "    <property><name>gateway.secure.port</name><value>%u</value></property>\n"
                          "  </properties>\n"
                          "  <service>\n"
                          "    <name>welcome</name>\n"
                          "    <accept>https://${gateway.hostname}:${gateway.secure.port}/</accept>\n"
                          "    <type>directory</type>\n"
                          "    <properties><directory>web</directory><welcome-file>index.html</welcome-file></properties>\n"
                          "  </service>\n"
                          "  <service>\n"
                          "    <name>echo</name>\n"
                          "    <accept>wss://${gateway.hostname}:${gateway.secure.port}/echo</accept>\n"
                          "    <type>echo</type>\n"
                          "  </service>\n"
                          "  <service>\n"
                          "    <name>backend-proxy</name>\n"
                          "    <accept>wss://${gateway.hostname}:${gateway.secure.port}/backend</accept>\n"
                          "    <connect>ssl://127.0.0.1:%u</connect>\n"
                          "    <type>proxy</type>\n"
                          "  </service>\n"
                          "</gateway-config>\n", port, backend_port);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);

  file = g_file_new_for_path (path);
  document = pst_document_new_for_file (file, &error);
  g_assert_no_error (error);
  window = pst_window_new (NULL);
  pst_window_set_document (window, document);
  gtk_window_present (GTK_WINDOW (window));
  pst_test_iterate (50);

  /* Security: a keystore with a certificate for the gateway host, and a
   * truststore holding the back-end's certificate. */
  security = pst_test_template_child (window, PST_TYPE_WINDOW, "security_page");
  g_assert_true (pst_security_page_create_store (security, PST_STORE_KIND_KEYSTORE, keystore, &error));
  g_assert_true (pst_security_page_create_store (security, PST_STORE_KIND_TRUSTSTORE, truststore, &error));
  g_assert_no_error (error);
  {
    Fixture fx = { .dir = dir, .window = window };
    generate_through_dialog (&fx, "localhost, 127.0.0.1");
  }
  trust_server (GTK_WINDOW (window), truststore, backend_entry, backend_port);

  pst_document_validate_now (document);
  g_assert_cmpuint (pst_document_get_n_errors (document), ==, 0);

  /* Run saves first, then starts postern on the file. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.run", NULL));
  g_assert_false (pst_document_get_modified (document));
  if (!pst_test_wait_for (log_has_listening, window, 20000) || log_has_stopped (window))
    {
      log = pst_test_log_text (window);
      g_error ("the gateway did not start:\n%s", log);
    }

  page = pst_test_template_child (window, PST_TYPE_WINDOW, "service_page");
  for (guint i = 0; i < 3; i++)
    {
      GtkWidget *icon = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "test_icon");

      pst_window_select_service (window, i);
      pst_test_iterate (20);
      g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.service-test", NULL));
      g_assert_true (pst_test_wait_for (pst_test_service_test_finished, page, 20000));
      if (!gtk_widget_has_css_class (icon, "success"))
        {
          log = pst_test_log_text (window);
          g_error ("test of service %u failed: %s\nlog:\n%s", i, pst_service_page_get_test_result (page), log);
        }
      g_test_message ("service %u: %s", i, pst_service_page_get_test_result (page));
    }
  /* The proxy reached the back-end (after "Trust a Server…" connected once). */
  g_assert_true (pst_test_wait_for (backend_reached, &backend, 5000));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.stop", NULL));
  g_assert_true (pst_test_wait_for (log_has_stopped, window, 15000));
  log = pst_test_log_text (window);
  g_assert_nonnull (strstr (log, "— The gateway stopped —"));

  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (20);
  stop_tls_server (&backend, service);
  g_unlink (index);
  g_rmdir (web);
  pst_test_remove_tree (dir);
}

/* Removing a service is undone through its toast's action. */
static void
test_undo_remove (Fixture       *fx,
                  gconstpointer  data)
{
  PstDocument *document = pst_window_get_document (fx->window);
  PstConfig *config = pst_document_get_config (document);
  g_autofree char *before = pst_config_to_xml (config, NULL);
  g_autofree char *after = NULL;
  guint n = pst_config_get_n_services (config);

  pst_window_select_service (fx->window, 0);
  pst_test_iterate (20);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.service-remove", NULL));
  config = pst_document_get_config (document);
  g_assert_cmpuint (pst_config_get_n_services (config), ==, n - 1);
  g_assert_true (pst_document_get_modified (document));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.undo-remove", NULL));
  config = pst_document_get_config (document);
  g_assert_cmpuint (pst_config_get_n_services (config), ==, n);
  after = pst_config_to_xml (config, NULL);
  g_assert_cmpstr (after, ==, before);
  g_assert_false (pst_document_get_modified (document));
  g_assert_cmpuint (gtk_single_selection_get_selected (pst_test_template_child (fx->window, PST_TYPE_WINDOW,
                                                                       "services_selection")), ==, 0);

  /* Once something else changed, there is nothing to undo any more. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.service-remove", NULL));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.service-add", NULL));
  gtk_widget_activate_action (GTK_WIDGET (fx->window), "win.undo-remove", NULL);
  g_assert_cmpuint (pst_config_get_n_services (pst_document_get_config (document)), ==, n);
}

/* The dialog's button for a response, found by its label as shown. */
static GtkWidget *
find_labelled_button (GtkWidget  *widget,
                      const char *label)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (GTK_IS_BUTTON (child) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (child)), label) == 0)
        return child;
      found = find_labelled_button (child, label);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
message_dialog_gone (gpointer data)
{
  return !pst_test_message_dialog_shown (data);
}

/* Renaming a used property says where it is used, and "Rename and Update
 * References" leaves no ${old} behind; removing it warns the same way. */
static void
test_rename_used_property (Fixture       *fx,
                           gconstpointer  data)
{
  PstDocument *document = pst_window_get_document (fx->window);
  PstPropertiesPage *page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "properties_page");
  PstTestDialogSearch search = { GTK_WINDOW (fx->window), NULL };
  g_autofree char *xml = NULL;
  GtkWidget *button, *entry;
  const char *body;

  g_assert_nonnull (strstr (fx->original, "${gateway.hostname}"));
  button = pst_test_find_action_button (GTK_WIDGET (page), "properties.rename", FALSE);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (pst_test_wait_for (pst_test_message_dialog_shown, &search, WAIT_MS));

  body = adw_message_dialog_get_body (search.dialog);
  g_assert_nonnull (strstr (body, "${gateway.hostname} is used in 1 place:"));
  g_assert_nonnull (strstr (body, "service “echo”, accept (line 17)"));
  g_assert_true (adw_message_dialog_has_response (search.dialog, "cancel"));
  g_assert_true (adw_message_dialog_has_response (search.dialog, "rename-only"));
  g_assert_true (adw_message_dialog_has_response (search.dialog, "rename-update"));

  entry = adw_message_dialog_get_extra_child (search.dialog);
  g_assert_true (GTK_IS_EDITABLE (entry));
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (entry)), ==, "gateway.hostname");
  /* the same name is no rename */
  g_assert_false (adw_message_dialog_get_response_enabled (search.dialog, "rename-update"));
  gtk_editable_set_text (GTK_EDITABLE (entry), "gateway.host");
  g_assert_true (adw_message_dialog_get_response_enabled (search.dialog, "rename-update"));

  /* nothing changed before the answer */
  xml = pst_config_to_xml (pst_document_get_config (document), NULL);
  g_assert_cmpstr (xml, ==, fx->original);
  g_clear_pointer (&xml, g_free);

  button = find_labelled_button (GTK_WIDGET (search.dialog), _("Rename and _Update References"));
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (pst_test_wait_for (message_dialog_gone, &search, WAIT_MS));

  xml = pst_config_to_xml (pst_document_get_config (document), NULL);
  g_assert_null (strstr (xml, "gateway.hostname"));
  g_assert_nonnull (strstr (xml, "<name>gateway.host</name>"));
  g_assert_nonnull (strstr (xml, "<accept>ws://${gateway.host}:8000/echo</accept>"));
  g_assert_nonnull (strstr (xml, "<!-- The echo service: its accept URL is what the test edits. -->"));
  g_assert_true (pst_document_get_modified (document));
  g_assert_cmpstr (pst_service_get_accept (pst_config_find_service (pst_document_get_config (document),
                                                                    "echo"), 0),
                   ==, "ws://localhost:8000/echo");
  pst_test_iterate (20);

  /* Removing it warns; Cancel keeps it. */
  button = pst_test_find_action_button (GTK_WIDGET (page), "properties.remove", FALSE);
  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
  g_assert_true (pst_test_wait_for (pst_test_message_dialog_shown, &search, WAIT_MS));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (search.dialog),
                            "service “echo”, accept (line 17)"));
  g_signal_emit_by_name (find_labelled_button (GTK_WIDGET (search.dialog), _("_Cancel")), "clicked");
  g_assert_true (pst_test_wait_for (message_dialog_gone, &search, WAIT_MS));
  g_assert_nonnull (pst_config_get_property_raw (pst_document_get_config (document), "gateway.host"));
}

static void
test_open_malformed (void)
{
  g_autofree char *dir = g_dir_make_tmp ("postern-editor-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "broken.xml", NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDocument) document = NULL;

  g_file_set_contents (path,
                       "<?xml version=\"1.0\"?>\n"
                       "<gateway-config>\n"
                       "  <service>\n"
                       "    <name>x</nam>\n"
                       "</gateway-config>\n", -1, &error);
  g_assert_no_error (error);

  document = pst_document_new_for_file (file, &error);
  g_assert_null (document);
  g_assert_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "broken.xml:4"));
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_french (void)
{
  PstWindow *window;
  PstServicePage *page;
  AdwPreferencesRow *name_row;

  /* The catalogue built by i18n.gettext in this build tree. */
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Accept URLs"), ==, "URL d’écoute");
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "Trust a Server"), ==, "Faire confiance à un serveur");

  window = pst_window_new (NULL);
  page = pst_test_template_child (window, PST_TYPE_WINDOW, "service_page");
  name_row = pst_test_template_child (page, PST_TYPE_SERVICE_PAGE, "name_row");
  g_assert_cmpstr (adw_preferences_row_get_title (name_row), ==, "Nom");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char **argv)
{
  gboolean french = argc > 1 && g_strcmp0 (argv[1], "--french") == 0;

  if (french)
    {
      /* LANGUAGE is ignored in the "C" locale; C.UTF-8 honours it. */
      g_setenv ("LANGUAGE", "fr", TRUE);
      g_setenv ("LC_ALL", "C.UTF-8", TRUE);
      argv[1] = argv[0];
      argv++;
      argc--;
    }

  pst_test_init (&argc, &argv);

  if (french)
    {
      g_test_add_func ("/editor/french", test_french);
      return g_test_run ();
    }

  g_test_add_func ("/editor/templates", test_templates);
  g_test_add_func ("/editor/open-malformed", test_open_malformed);
  g_test_add ("/editor/edit-accept-and-save", Fixture, NULL,
              fixture_setup, test_edit_accept_and_save, fixture_teardown);
  g_test_add ("/editor/diagnostics-live", Fixture, NULL,
              fixture_setup, test_diagnostics_live, fixture_teardown);
  g_test_add ("/editor/security-create", Fixture, NULL,
              fixture_setup, test_security_create, fixture_teardown);
  g_test_add ("/editor/generate-certificate", Fixture, NULL,
              fixture_setup, test_generate_certificate, fixture_teardown);
  g_test_add ("/editor/generate-with-local-ca", Fixture, NULL,
              fixture_setup, test_generate_with_local_ca, fixture_teardown);
  g_test_add_func ("/editor/jks-inspector", test_jks_inspector);
  g_test_add_func ("/editor/trust-server", test_trust_server);
  g_test_add ("/editor/undo-remove", Fixture, NULL,
              fixture_setup, test_undo_remove, fixture_teardown);
  g_test_add ("/editor/rename-used-property", Fixture, NULL,
              fixture_setup, test_rename_used_property, fixture_teardown);
  g_test_add_func ("/editor/run-and-test", test_run_and_test);
  return g_test_run ();
}
