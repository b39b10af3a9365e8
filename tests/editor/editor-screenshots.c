/* editor-screenshots.c: shows the editor's main views one after the other and
 * captures the X screen (ImageMagick's import) for review and the metainfo
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "pst-cert-dialog.h"
#include "pst-certgen.h"
#include "pst-document.h"
#include "pst-keystore.h"
#include "pst-store-view.h"
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

  if (argc != 2)
    {
      g_printerr ("usage: editor-screenshots OUT_DIR\n");
      return 2;
    }
  out_dir = argv[1];
  g_mkdir_with_parents (out_dir, 0755);

  gtk_init ();
  adw_init ();

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
  gtk_window_set_default_size (GTK_WINDOW (window), 1024, 720);
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
  gtk_window_set_default_size (GTK_WINDOW (dialog), 1024, 600);
  gtk_window_present (GTK_WINDOW (dialog));
  capture ("store-inspector");
  gtk_window_destroy (GTK_WINDOW (dialog));

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
