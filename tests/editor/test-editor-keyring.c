/* test-editor-keyring.c: "Remember in keyring" in the editor, against a real gnome-keyring
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <string.h>

#include "editor-test-util.h"
#include "../keyring/keyring-daemon.h"
#include "pst-cert-dialog.h"
#include "pst-document.h"
#include "pst-keystore.h"
#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-security-page.h"
#include "pst-window.h"

/* Runs under run-under-xvfb.sh (Xvfb + dbus-run-session): main() starts
 * gnome-keyring-daemon on that private bus, with a scratch HOME, unlocked
 * from stdin.  Every wait is bounded. */
#define WAIT_MS 10000
#define UNLOCK_PASSWORD "postern-editor-keyring-test"

typedef PstTestWindow Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  pst_test_window_setup (fx, "postern-editor-keyring-XXXXXX");
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  pst_test_window_teardown (fx);
}

static PstConfig *
config_of (Fixture *fx)
{
  return pst_document_get_config (pst_window_get_document (fx->window));
}

static PstSecurityPage *
security_page (Fixture *fx)
{
  return pst_test_template_child (fx->window, PST_TYPE_WINDOW, "security_page");
}

static GtkCheckButton *
keystore_check (Fixture *fx)
{
  return pst_test_template_child (security_page (fx), PST_TYPE_SECURITY_PAGE, "keystore_keyring_check");
}

static gboolean
keyring_configured (gpointer data)
{
  return pst_config_get_keystore (config_of (data))->password_keyring;
}

static gboolean
keyring_not_configured (gpointer data)
{
  return !keyring_configured (data);
}

/* Check "Remember in Keyring" before there is a store, then Create…: the
 * new store's password is in the keyring, there is no .pw file, the
 * configuration says so, and New Certificate adds to it. */
static void
test_create_in_keyring (Fixture       *fx,
                        gconstpointer  data)
{
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autofree char *pw = g_build_filename (fx->dir, "keystore.pw", NULL);
  g_autofree char *xml = NULL;
  g_autofree char *password = NULL;
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(GError) error = NULL;
  AdwActionRow *password_row;

  gtk_check_button_set_active (keystore_check (fx), TRUE);
  g_assert_true (keyring_configured (fx));
  g_assert_true (pst_security_page_create_store (security_page (fx), PST_STORE_KIND_KEYSTORE, store, &error));
  g_assert_no_error (error);

  g_assert_false (g_file_test (pw, G_FILE_TEST_EXISTS));
  g_assert_null (pst_config_get_keystore (config_of (fx))->password_file);
  xml = pst_config_to_xml (config_of (fx), NULL);
  g_assert_nonnull (strstr (xml, "<password-keyring>true</password-keyring>"));
  g_assert_null (strstr (xml, "<password-file>"));
  password = pst_password_keyring_lookup (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (password), ==, 24);

  pst_test_iterate (20);
  password_row = pst_test_template_child (security_page (fx), PST_TYPE_SECURITY_PAGE, "keystore_password_row");
  g_assert_cmpstr (adw_action_row_get_subtitle (password_row), ==, "In the desktop keyring");
  g_assert_true (gtk_check_button_get_active (keystore_check (fx)));

  keystore = pst_keystore_open_full (store, NULL, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (keystore), ==, 0);
}

static void
generated_cb (PstCertDialog *dialog,
              PstStoreEntry *entry,
              const char    *message,
              gpointer       user_data)
{
  *(gboolean *)user_data = TRUE;
}

/* New Certificate for a keystore that does not exist yet: its "Remember in
 * keyring" check makes the store with a keyring password. */
static void
test_new_certificate_in_keyring (Fixture       *fx,
                                 gconstpointer  data)
{
  g_autofree char *store = g_build_filename (fx->dir, "new.p12", NULL);
  g_autofree char *pw = g_build_filename (fx->dir, "new.pw", NULL);
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(GError) error = NULL;
  PstCertDialog *dialog;
  GtkCheckButton *check;
  gboolean generated = FALSE;

  g_assert_true (pst_config_set_store_field (config_of (fx), PST_STORE_KIND_KEYSTORE, "file", "new.p12", &error));
  g_assert_no_error (error);
  dialog = pst_cert_dialog_new (GTK_WINDOW (fx->window), pst_window_get_document (fx->window), NULL);
  g_signal_connect (dialog, "generated", G_CALLBACK (generated_cb), &generated);
  gtk_window_present (GTK_WINDOW (dialog));
  check = pst_test_template_child (dialog, PST_TYPE_CERT_DIALOG, "keyring_check");
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (check)));
  g_assert_false (gtk_check_button_get_active (check));
  gtk_check_button_set_active (check, TRUE);
  pst_cert_dialog_set_names (dialog, "localhost, 127.0.0.1");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "cert.generate", NULL));
  g_assert_true (pst_test_wait_for (pst_test_flag_set, &generated, 20000));
  pst_test_iterate (20);

  g_assert_false (g_file_test (pw, G_FILE_TEST_EXISTS));
  g_assert_true (keyring_configured (fx));
  keystore = pst_keystore_open_full (store, NULL, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pst_keystore_lookup (keystore, "localhost"));
}

/* An existing store: checking the box moves its password to the keyring
 * (in a thread), unchecking writes it back to the .pw file (0600). */
static void
test_move_existing (Fixture       *fx,
                    gconstpointer  data)
{
  g_autofree char *store = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autofree char *pw = g_build_filename (fx->dir, "keystore.pw", NULL);
  g_autofree char *in_file = NULL;
  g_autofree char *in_keyring = NULL;
  g_autofree char *back = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  g_assert_true (pst_security_page_create_store (security_page (fx), PST_STORE_KIND_KEYSTORE, store, &error));
  g_assert_no_error (error);
  g_assert_false (keyring_configured (fx));
  in_file = pst_password_file_read (pw, &error);
  g_assert_no_error (error);

  gtk_check_button_set_active (keystore_check (fx), TRUE);
  g_assert_true (pst_test_wait_for (keyring_configured, fx, WAIT_MS));
  g_assert_null (pst_config_get_keystore (config_of (fx))->password_file);
  in_keyring = pst_password_keyring_lookup (store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (in_keyring, ==, in_file);

  /* back to a file that is not there any more: it is written again */
  g_assert_cmpint (g_unlink (pw), ==, 0);
  pst_test_iterate (20);
  gtk_check_button_set_active (keystore_check (fx), FALSE);
  g_assert_true (pst_test_wait_for (keyring_not_configured, fx, WAIT_MS));
  back = pst_password_file_read (pw, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, in_file);
  g_assert_cmpint (g_stat (pw, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
}

int
main (int argc, char **argv)
{
  g_autoptr(GSubprocess) daemon = NULL;
  g_autofree char *home = NULL;
  int status;

  home = g_dir_make_tmp ("postern-editor-keyring-home-XXXXXX", NULL);
  g_assert_nonnull (home);
  pst_test_init (&argc, &argv);
  {
    g_autofree char *data_home = g_build_filename (home, "data", NULL);

    daemon = keyring_daemon_start (home, data_home, UNLOCK_PASSWORD, WAIT_MS);
  }

  g_test_add ("/editor-keyring/create-in-keyring", Fixture, NULL,
              fixture_setup, test_create_in_keyring, fixture_teardown);
  g_test_add ("/editor-keyring/new-certificate-in-keyring", Fixture, NULL,
              fixture_setup, test_new_certificate_in_keyring, fixture_teardown);
  g_test_add ("/editor-keyring/move-existing", Fixture, NULL,
              fixture_setup, test_move_existing, fixture_teardown);
  status = g_test_run ();

  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  pst_test_remove_tree (home);   /* the scratch keyring */
  return status;
}
