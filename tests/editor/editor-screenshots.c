/* editor-screenshots.c: shows the editor's main views one after the other and
 * captures the X screen (ImageMagick's import) for review and the metainfo
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <stdio.h>

#include "pst-cert-dialog.h"
#include "pst-certgen.h"
#include "pst-document.h"
#include "pst-export-dialog.h"
#include "pst-keystore.h"
#include "pst-run-page.h"
#include "pst-store-view.h"
#include "pst-trust-dialog.h"
#include "pst-window.h"

static const char *out_dir;
static gboolean failed;

static void
iterate (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (g_get_monotonic_time () < end)
    {
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
}

static void
capture (const char *name)
{
  g_autofree char *file = g_strdup_printf ("%s/%s.png", out_dir, name);
  const char *argv[] = { "import", "-window", "root", file, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  iterate (700);
  if (!g_spawn_sync (NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     NULL, NULL, &status, &error) || !g_spawn_check_wait_status (status, &error))
    {
      g_printerr ("screenshots: %s: %s\n", file, error->message);
      failed = TRUE;
      return;
    }
  g_print ("%s\n", file);
}

static char *
make_store (const char *dir)
{
  const char *names[] = { "localhost", "127.0.0.1", "::1", NULL };
  const char *backend[] = { "backend.example.test", NULL };
  PstCertRequest request = { 0 };
  g_autoptr(PstKeystore) store = pst_keystore_new ();
  g_autoptr(PstStoreEntry) leaf = NULL;
  g_autoptr(PstStoreEntry) other = NULL;
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, "keystore.db", NULL);
  g_autofree char *pw_path = g_build_filename (dir, "keystore.pw", NULL);

  request.names = names;
  request.key_type = PST_KEY_ECDSA_P256;
  leaf = pst_cert_generate (&request, NULL, &error);
  if (leaf != NULL)
    pst_keystore_add (store, leaf);
  request.names = backend;
  request.days = 20;
  other = pst_cert_generate (&request, NULL, &error);
  if (other != NULL)
    pst_keystore_add (store, other);
  if (error == NULL)
    {
      g_autofree char *password = NULL;

      g_file_set_contents (pw_path, "screenshots\n", -1, NULL);
      g_chmod (pw_path, 0600);
      pst_keystore_save (store, path, PST_STORE_FORMAT_PKCS12, "screenshots", &error);
    }
  if (error != NULL)
    {
      g_printerr ("screenshots: cannot make a store: %s\n", error->message);
      failed = TRUE;
    }
  return path;
}

/* A TLS server for "Trust a Server…" to fetch from */
static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  GIOStream *tls = g_tls_server_connection_new (G_IO_STREAM (connection), user_data, NULL);

  if (tls != NULL)
    {
      g_object_set_data_full (G_OBJECT (service), "tls", tls, g_object_unref);
      g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
    }
  return TRUE;
}

static guint16
start_tls_server (PstKeystore *store)
{
  GSocketService *service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  GTlsCertificate *certificate;

  certificate = pst_store_entry_to_tls_certificate (pst_keystore_get_entry (store, 0), NULL);
  if (certificate == NULL ||
      !g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &bound, NULL))
    return 0;
  g_signal_connect_data (service, "incoming", G_CALLBACK (incoming_cb), certificate,
                         (GClosureNotify)(void (*)(void))g_object_unref, 0);
  g_socket_service_start (service);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *default_text = NULL;
  g_autofree char *store = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GError) error = NULL;
  PstWindow *window;
  GtkWidget *dialog;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  textdomain (GETTEXT_PACKAGE);

  int width = 1024, height = 720;
  gboolean dark = FALSE;

  /* editor-screenshots [--size WxH] [--dark] OUT_DIR */
  for (; argc > 2; argc--, argv++)
    {
      if (g_strcmp0 (argv[1], "--dark") == 0)
        dark = TRUE;
      else if (g_strcmp0 (argv[1], "--size") == 0 && argc > 3 &&
               sscanf (argv[2], "%dx%d", &width, &height) == 2)
        argc--, argv++;
      else
        break;
    }
  if (argc != 2)
    {
      g_printerr ("usage: editor-screenshots [--size WxH] [--dark] OUT_DIR\n");
      return 2;
    }
  out_dir = argv[1];
  g_mkdir_with_parents (out_dir, 0755);

  gtk_init ();
  adw_init ();
  adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                      dark ? ADW_COLOR_SCHEME_FORCE_DARK : ADW_COLOR_SCHEME_FORCE_LIGHT);

  /* The shipped default, saved in a scratch folder with a real keystore. */
  dir = g_dir_make_tmp ("postern-screenshots-XXXXXX", &error);
  g_assert_no_error (error);
  store = make_store (dir);
  config_path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_file_set_contents (config_path, pst_config_get_default_text (), -1, &error);
  g_assert_no_error (error);
  file = g_file_new_for_path (config_path);
  document = pst_document_new_for_file (file, &error);
  if (document == NULL)
    {
      g_printerr ("screenshots: %s\n", error->message);
      return 1;
    }

  window = pst_window_new (NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  g_object_set (window, "show-diagnostics", TRUE, NULL);
  pst_window_set_document (window, document);
  gtk_window_present (GTK_WINDOW (window));

  pst_window_select_service (window, 0);
  capture ("services");

  pst_window_select_service (window, 1);
  capture ("service-directory");

  /* A wrong combination, as the diagnostics panel shows it. */
  pst_config_set_service_type (pst_document_get_config (document), 0, "directory", NULL);
  pst_window_select_service (window, 0);
  pst_document_validate_now (document);
  capture ("diagnostics");
  pst_config_set_service_type (pst_document_get_config (document), 0, "echo", NULL);
  pst_document_validate_now (document);

  pst_window_show_page (window, "properties");
  capture ("properties");
  pst_window_show_page (window, "security");
  capture ("security");
  pst_window_show_page (window, "xml");
  capture ("xml");

  pst_window_select_service (window, 0);
  dialog = GTK_WIDGET (pst_cert_dialog_new (GTK_WINDOW (window), document,
                                            pst_config_get_service (pst_document_get_config (document), 0)));
  gtk_window_present (GTK_WINDOW (dialog));
  capture ("certificate-dialog");
  gtk_window_destroy (GTK_WINDOW (dialog));

  dialog = GTK_WIDGET (pst_store_view_new (GTK_WINDOW (window), store, NULL));
  gtk_window_set_default_size (GTK_WINDOW (dialog), width, MIN (height, 600));
  gtk_window_present (GTK_WINDOW (dialog));
  {
    /* the store opens in a worker thread */
    gint64 end = g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND;

    while (pst_store_view_get_loading (PST_STORE_VIEW (dialog)) && g_get_monotonic_time () < end)
      iterate (20);
  }
  capture ("store-inspector");

  {
    g_autoptr(PstKeystore) keystore = pst_keystore_open (store, NULL, NULL);
    g_autofree char *address = NULL;
    GtkWidget *other;
    guint16 port;

    if (keystore != NULL && (port = start_tls_server (keystore)) != 0)
      {
        gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
        PstTrustDialog *trust;

        address = g_strdup_printf ("127.0.0.1:%u", port);
        trust = pst_trust_dialog_new (GTK_WINDOW (dialog), store, NULL);
        pst_trust_dialog_set_address (trust, address);
        gtk_window_present (GTK_WINDOW (trust));
        gtk_widget_activate_action (GTK_WIDGET (trust), "trust.fetch", NULL);
        while (pst_trust_dialog_get_n_certificates (trust) == 0 && g_get_monotonic_time () < end)
          iterate (50);
        capture ("trust-server");
        gtk_window_destroy (GTK_WINDOW (trust));
      }

    if (keystore != NULL)
      {
        other = GTK_WIDGET (pst_export_dialog_new (GTK_WINDOW (dialog), pst_keystore_get_entry (keystore, 0)));
        gtk_window_present (GTK_WINDOW (other));
        capture ("export");
        gtk_window_destroy (GTK_WINDOW (other));
      }
  }
  gtk_window_destroy (GTK_WINDOW (dialog));

  /* The Run page with what postern prints, without starting it. */
  {
    PstRunPage *run_page = PST_RUN_PAGE (gtk_widget_get_template_child (GTK_WIDGET (window), PST_TYPE_WINDOW,
                                                                        "run_page"));
    pst_run_page_append (run_page, "— postern run --config /home/user/gateway/gateway-config.xml —");
    pst_run_page_append (run_page, "listening on ws://localhost:8000/echo");
    pst_run_page_append (run_page, "listening on wss://localhost:9000/echo");
    pst_run_page_append (run_page, "listening on https://localhost:9000/");
    pst_run_page_append (run_page, "postern-Message: open echo 127.0.0.1:51234 TLSv1.3 TLS_AES_128_GCM_SHA256 sni=localhost");
    pst_window_show_page (window, "run");
    capture ("run");
  }

  gtk_window_destroy (GTK_WINDOW (window));
  iterate (50);
  {
    g_autofree char *pw = g_build_filename (dir, "keystore.pw", NULL);
    g_unlink (pw);
  }
  g_unlink (store);
  g_unlink (config_path);
  g_rmdir (dir);
  return failed ? 1 : 0;
}
