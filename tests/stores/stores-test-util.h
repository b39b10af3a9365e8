/* stores-test-util.h: helpers for the store tests (spawning keytool/openssl, temp dirs)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <string.h>

#include "pst-certgen.h"
#include "pst-keystore.h"
#include "pst-password.h"

/* Runs argv (NULL-terminated); returns stdout+stderr, sets *status to the
 * exit code. */
static char *
run_argv (const char * const *argv,
          int                *status)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL, *err = NULL;
  int wait_status = 0;
  char *combined;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &err, &wait_status, &error));
  g_assert_no_error (error);
  *status = g_spawn_check_wait_status (wait_status, NULL) ? 0 : 1;
  combined = g_strconcat (out, err, NULL);
  g_free (out);
  g_free (err);
  return combined;
}

/* Runs and asserts success; returns the output. */
#define RUN_OK(...) run_ok ((const char * const []) { __VA_ARGS__, NULL })
#define RUN(status, ...) run_argv ((const char * const []) { __VA_ARGS__, NULL }, status)

static char *
run_ok (const char * const *argv)
{
  int status = 0;
  char *out = run_argv (argv, &status);

  if (status != 0)
    g_test_message ("%s failed:\n%s", argv[0], out);
  g_assert_cmpint (status, ==, 0);
  return out;
}

static char *
make_temp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("postern-stores-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_tree (path);
      else
        g_unlink (path);
    }
  g_dir_close (d);
  g_rmdir (dir);
}

static PstStoreEntry *
generate (const char * const *names,
          PstKeyType          key_type,
          gboolean            is_ca,
          PstStoreEntry      *ca)
{
  g_autoptr(GError) error = NULL;
  PstCertRequest request = { 0 };
  PstStoreEntry *entry;

  request.names = names;
  request.key_type = key_type;
  request.is_ca = is_ca;
  entry = pst_cert_generate (&request, ca, &error);
  g_assert_no_error (error);
  g_assert_nonnull (entry);
  return entry;
}

G_GNUC_UNUSED static void
write_pem_cert (PstStoreEntry *entry,
                const char    *path)
{
  g_autoptr(GError) error = NULL;
  gsize size;
  const guchar *der = g_bytes_get_data (pst_store_entry_get_certificate (entry), &size);
  g_autofree char *b64 = g_base64_encode (der, size);
  GString *pem = g_string_new ("-----BEGIN CERTIFICATE-----\n");

  for (gsize i = 0; i < strlen (b64); i += 64)
    {
      g_string_append_len (pem, b64 + i, MIN (64, strlen (b64) - i));
      g_string_append_c (pem, '\n');
    }
  g_string_append (pem, "-----END CERTIFICATE-----\n");
  g_file_set_contents (path, pem->str, pem->len, &error);
  g_assert_no_error (error);
  g_string_free (pem, TRUE);
}

/* A one-entry store saved as PEM (key in the clear) at path */
G_GNUC_UNUSED static void
write_pem_store (PstStoreEntry *entry,
                 const char    *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = pst_keystore_new ();

  pst_keystore_add (ks, entry);
  g_assert_true (pst_keystore_save (ks, path, PST_STORE_FORMAT_PEM, NULL, &error));
  g_assert_no_error (error);
}

/* The fixture of the tests that work in a temporary directory. */
typedef struct {
  char *dir;
} StoresDirFixture;

static inline void
stores_dir_setup (StoresDirFixture *f, gconstpointer data)
{
  f->dir = make_temp_dir ();
}

static inline void
stores_dir_teardown (StoresDirFixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static inline char *
stores_path_in (StoresDirFixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}
