/* test-keyring.c: libpostern's keyring passwords against a real gnome-keyring
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#include "keyring-daemon.h"
#include "pst-certgen.h"
#include "pst-keystore.h"
#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-store-file.h"

/* meson runs this under dbus-run-session; main() starts
 * gnome-keyring-daemon on that private bus with a scratch HOME, unlocked
 * from stdin.  Every wait is bounded. */
#define WAIT_MS 10000

static char *scratch;

static char *
scratch_path (const char *name)
{
  return g_build_filename (scratch, name, NULL);
}

/* a PKCS#12 store with one self-signed entry, saved with password */
static char *
make_store (const char *name,
            const char *password)
{
  g_autofree char *path = scratch_path (name);
  g_autoptr(PstKeystore) store = pst_keystore_new ();
  g_autoptr(PstStoreEntry) entry = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "localhost", NULL };
  PstCertRequest request = { .names = names, .key_type = PST_KEY_ECDSA_P256 };

  entry = pst_cert_generate (&request, NULL, &error);
  g_assert_no_error (error);
  pst_keystore_add (store, entry);
  g_assert_true (pst_keystore_save (store, path, PST_STORE_FORMAT_PKCS12, password, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&path);
}

static void
test_store_lookup_clear (void)
{
  g_autofree char *store = scratch_path ("roundtrip.p12");
  g_autofree char *got = NULL;
  g_autoptr(GError) error = NULL;

  got = pst_password_keyring_lookup (store, &error);
  g_assert_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_NOT_FOUND);
  /* what to do: secret-tool with the schema and the absolute path, or a .pw */
  g_assert_nonnull (strstr (error->message, store));
  g_assert_nonnull (strstr (error->message, "secret-tool store"));
  g_assert_nonnull (strstr (error->message, PST_KEYRING_SCHEMA));
  g_assert_nonnull (strstr (error->message, "roundtrip.pw"));
  g_clear_error (&error);

  g_assert_true (pst_password_keyring_store (store, "s3cret with spaces ✓", &error));
  g_assert_no_error (error);
  got = pst_password_keyring_lookup (store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, "s3cret with spaces ✓");

  /* a relative path names the same item */
  {
    g_autofree char *cwd = g_get_current_dir ();
    g_autofree char *relative = NULL;
    g_autofree char *again = NULL;

    g_assert_cmpint (g_chdir (scratch), ==, 0);
    relative = g_strdup ("./roundtrip.p12");
    again = pst_password_keyring_lookup (relative, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (again, ==, "s3cret with spaces ✓");
    g_assert_cmpint (g_chdir (cwd), ==, 0);
  }

  g_assert_true (pst_password_keyring_clear (store, &error));
  g_assert_true (pst_password_keyring_clear (store, &error));   /* nothing left: fine */
  g_assert_no_error (error);
  g_assert_null (pst_password_keyring_lookup (store, &error));
  g_assert_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_NOT_FOUND);
}

static void
test_lookup_or_create (void)
{
  g_autofree char *store = scratch_path ("created.p12");
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autoptr(GError) error = NULL;
  gboolean created = FALSE;

  first = pst_password_keyring_lookup_or_create (store, &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
  g_assert_cmpuint (strlen (first), ==, 24);
  second = pst_password_keyring_lookup_or_create (store, &created, &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (first, ==, second);
}

/* PstStoreFile with PST_STORE_OPEN_KEYRING: a new store's password goes to
 * the keyring and no .pw is made; abandon() takes it out again. */
static void
test_store_file (void)
{
  g_autofree char *store = scratch_path ("sf.p12");
  g_autofree char *pw = scratch_path ("sf.pw");
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) reopened = NULL;

  {
    g_auto(PstStoreFile) sf = { 0 };

    g_assert_true (pst_store_file_open (&sf, store, NULL,
                                        PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | PST_STORE_OPEN_KEYRING,
                                        &error));
    g_assert_no_error (error);
    g_assert_true (sf.created && sf.password_created && sf.password_keyring);
    g_assert_null (sf.password_file);
    pst_store_file_abandon (&sf);
    g_assert_false (sf.password_created);
  }
  g_assert_false (g_file_test (pw, G_FILE_TEST_EXISTS));
  g_assert_null (pst_password_keyring_lookup (store, &error));
  g_assert_error (error, PST_KEYRING_ERROR, PST_KEYRING_ERROR_NOT_FOUND);
  g_clear_error (&error);

  {
    g_auto(PstStoreFile) sf = { 0 };

    g_assert_true (pst_store_file_open (&sf, store, NULL,
                                        PST_STORE_OPEN_WRITE | PST_STORE_OPEN_CREATE | PST_STORE_OPEN_KEYRING,
                                        &error));
    g_assert_true (pst_store_file_save (&sf, &error));
    g_assert_no_error (error);
  }
  g_assert_false (g_file_test (pw, G_FILE_TEST_EXISTS));
  reopened = pst_keystore_open_full (store, NULL, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reopened);
}

static void
test_adopt_release (void)
{
  g_autofree char *store = make_store ("move.p12", "file-password");
  g_autofree char *pw = scratch_path ("move.pw");
  g_autofree char *in_keyring = NULL;
  g_autofree char *written = NULL;
  g_autofree char *back = NULL;
  g_autofree char *plain = make_store ("plain.p12", NULL);   /* keytool's default */
  g_autofree char *plain_pw = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  /* a wrong password file is never copied into the keyring */
  g_assert_true (pst_password_file_write (pw, "not-it", &error));
  g_assert_false (pst_password_keyring_adopt (store, NULL, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);
  g_assert_null (pst_password_keyring_lookup (store, &error));
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (pw), ==, 0);

  g_assert_true (pst_password_file_write (pw, "file-password", &error));
  g_assert_false (pst_password_file_write (pw, "again", &error));   /* never replaced */
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
  g_clear_error (&error);
  g_assert_true (pst_password_keyring_adopt (store, NULL, &error));
  g_assert_no_error (error);
  in_keyring = pst_password_keyring_lookup (store, &error);
  g_assert_cmpstr (in_keyring, ==, "file-password");
  g_assert_true (g_file_test (pw, G_FILE_TEST_EXISTS));   /* left alone */

  /* back: the .pw is written again when missing, 0600 */
  g_assert_cmpint (g_unlink (pw), ==, 0);
  written = pst_password_keyring_release (store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (written, ==, pw);
  back = pst_password_file_read (pw, &error);
  g_assert_cmpstr (back, ==, "file-password");
  g_assert_cmpint (g_stat (pw, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_free (written);
  written = pst_password_keyring_release (store, &error);   /* same content: fine */
  g_assert_no_error (error);

  /* a .pw with another password is not overwritten */
  g_assert_cmpint (g_unlink (pw), ==, 0);
  g_assert_true (pst_password_file_write (pw, "different", &error));
  g_clear_pointer (&written, g_free);
  written = pst_password_keyring_release (store, &error);
  g_assert_null (written);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
  g_clear_error (&error);

  /* no password file at all: keytool's default goes to the keyring */
  g_assert_true (pst_password_keyring_adopt (plain, NULL, &error));
  g_assert_no_error (error);
  plain_pw = pst_password_keyring_lookup (plain, &error);
  g_assert_cmpstr (plain_pw, ==, PST_DEFAULT_STORE_PASSWORD);
}

static void
remove_recursive (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_autoptr(GDir) handle = g_dir_open (path, 0, NULL);
      const char *name;

      while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_recursive (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_autoptr(GSubprocess) daemon = NULL;
  g_autofree char *home = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  home = g_dir_make_tmp ("postern-keyring-home-XXXXXX", NULL);
  scratch = g_dir_make_tmp ("postern-keyring-stores-XXXXXX", NULL);
  g_assert_true (home != NULL && scratch != NULL);
  g_assert_nonnull (g_getenv ("DBUS_SESSION_BUS_ADDRESS"));
  daemon = keyring_daemon_start (home, NULL, "postern-keyring-unit-test", WAIT_MS);

  g_test_add_func ("/keyring/store-lookup-clear", test_store_lookup_clear);
  g_test_add_func ("/keyring/lookup-or-create", test_lookup_or_create);
  g_test_add_func ("/keyring/store-file", test_store_file);
  g_test_add_func ("/keyring/adopt-release", test_adopt_release);
  status = g_test_run ();

  g_subprocess_send_signal (daemon, SIGTERM);
  g_subprocess_wait (daemon, NULL, NULL);
  remove_recursive (home);
  remove_recursive (scratch);
  g_free (scratch);
  return status;
}
