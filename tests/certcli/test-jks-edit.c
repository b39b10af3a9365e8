/* test-jks-edit.c: adding and removing JKS entries in place, checked with keytool 17
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "pst-jks.h"
#include "pst-jks-edit.h"
#include "pst-jks-private.h"
#include "pst-keystore.h"
#include "jks-test-util.h"

#define PW "changeit"

/* store.jks (keytool): a key entry "server", trusted "anchor"; ca.der:
 * another certificate to add */
static void
make_stores (void)
{
  g_free (run_tool (TRUE, "keytool", "-genkeypair", "-keystore", "store.jks", "-storetype", "JKS", "-storepass", PW,
            "-keypass", PW, "-alias", "server", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=server.test", NULL));
  g_free (run_tool (TRUE, "keytool", "-genkeypair", "-keystore", "other.p12", "-storetype", "PKCS12", "-storepass", PW,
            "-alias", "anchor", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Anchor CA",
            "-ext", "bc:c", NULL));
  g_free (run_tool (TRUE, "keytool", "-exportcert", "-keystore", "other.p12", "-storepass", PW, "-alias", "anchor",
            "-file", "anchor.der", NULL));
  g_free (run_tool (TRUE, "keytool", "-importcert", "-noprompt", "-keystore", "store.jks", "-storetype", "JKS",
            "-storepass", PW, "-alias", "anchor", "-file", "anchor.der", NULL));
  g_free (run_tool (TRUE, "keytool", "-genkeypair", "-keystore", "other.p12", "-storetype", "PKCS12", "-storepass", PW,
            "-alias", "devca", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Dev CA", "-ext", "bc:c", NULL));
  g_free (run_tool (TRUE, "keytool", "-exportcert", "-keystore", "other.p12", "-storepass", PW, "-alias", "devca",
            "-file", "ca.der", NULL));
}

static void
test_roundtrip (void)
{
  g_autoptr(GBytes) store = read_bytes ("store.jks");
  g_autoptr(GBytes) ca = read_bytes ("ca.der");
  g_autoptr(GBytes) added = NULL, removed = NULL, exported = NULL, without_anchor = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;

  added = pst_jks_add_trusted (store, PW, "postern-dev-ca", ca, g_get_real_time () / 1000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (added);
  /* only appended: every byte before the old digest is where it was */
  g_assert_cmpuint (g_bytes_get_size (added), >, g_bytes_get_size (store));
  g_assert_cmpmem ((const guint8 *) g_bytes_get_data (added, NULL) + 12, g_bytes_get_size (store) - 32,
                   (const guint8 *) g_bytes_get_data (store, NULL) + 12, g_bytes_get_size (store) - 32);
  write_bytes ("added.jks", added);

  /* keytool reads it (its digest check included) and exports the very certificate */
  listing = run_tool (TRUE, "keytool", "-list", "-keystore", "added.jks", "-storepass", PW, NULL);
  g_assert_nonnull (strstr (listing, "contains 3 entries"));
  g_assert_nonnull (strstr (listing, "postern-dev-ca, "));
  g_free (run_tool (TRUE, "keytool", "-exportcert", "-keystore", "added.jks", "-storepass", PW,
                    "-alias", "postern-dev-ca", "-file", "exported.der", NULL));
  exported = read_bytes ("exported.der");
  g_assert_true (g_bytes_equal (exported, ca));
  /* and so does Postern's reader */
  g_assert_true (pst_jks_parse (added, PW, "added.jks", NULL, entries, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (entries->len, ==, 3);

  /* removing it gives back the file keytool wrote, byte for byte */
  removed = pst_jks_remove_entry (added, PW, "POSTERN-DEV-CA", &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (removed, store));

  /* an entry keytool wrote can go too; keytool reads what is left */
  without_anchor = pst_jks_remove_entry (store, PW, "anchor", &error);
  g_assert_no_error (error);
  write_bytes ("without-anchor.jks", without_anchor);
  g_free (listing);
  listing = run_tool (TRUE, "keytool", "-list", "-keystore", "without-anchor.jks", "-storepass", PW, NULL);
  g_assert_nonnull (strstr (listing, "contains 1 entry"));
  g_assert_nonnull (strstr (listing, "server, "));
}

static void
test_find (void)
{
  g_autoptr(GBytes) store = read_bytes ("store.jks");
  g_autoptr(GBytes) anchor = read_bytes ("anchor.der");
  g_autoptr(GError) error = NULL;
  gboolean is_key = TRUE;
  GBytes *der = NULL;

  g_assert_true (pst_jks_is_jks (store));
  g_assert_false (pst_jks_is_jks (anchor));
  g_assert_true (pst_jks_find_trusted (store, PW, "ANCHOR", &der, &is_key, &error));
  g_assert_no_error (error);
  g_assert_nonnull (der);
  g_assert_false (is_key);
  g_assert_true (g_bytes_equal (der, anchor));
  g_clear_pointer (&der, g_bytes_unref);

  g_assert_true (pst_jks_find_trusted (store, PW, "server", &der, &is_key, &error));
  g_assert_null (der);
  g_assert_true (is_key);
  g_assert_true (pst_jks_find_trusted (store, PW, "nothing", &der, &is_key, &error));
  g_assert_null (der);
  g_assert_false (is_key);
}

static void
test_refusals (void)
{
  g_autoptr(GBytes) store = read_bytes ("store.jks");
  g_autoptr(GBytes) ca = read_bytes ("ca.der");
  g_autoptr(GBytes) p12 = read_bytes ("other.p12");
  g_autoptr(GError) error = NULL;
  GBytes *der = NULL;

  g_assert_false (pst_jks_find_trusted (store, "wrong", "anchor", &der, NULL, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);
  g_assert_null (pst_jks_add_trusted (store, "wrong", "x", ca, 0, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);
  g_assert_null (pst_jks_add_trusted (store, PW, "Anchor", ca, 0, &error));   /* taken, any case */
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  g_clear_error (&error);
  g_assert_null (pst_jks_add_trusted (store, PW, "caf\xc3\xa9", ca, 0, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  g_clear_error (&error);
  g_assert_null (pst_jks_add_trusted (store, PW, "", ca, 0, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
  g_clear_error (&error);
  g_assert_null (pst_jks_remove_entry (store, PW, "nothing", &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NO_ENTRY);
  g_clear_error (&error);
  g_assert_null (pst_jks_remove_entry (p12, PW, "anchor", &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT);
  g_clear_error (&error);
}

/* Every cut of the entries, with a digest that is right for the cut (so
 * that the walk, not the digest check, meets the end), and every single
 * byte changed in the header and the first entry: a clean error, never a
 * crash or a read past the end (ASan/valgrind builds check that). */
static void
test_damaged (void)
{
  static const guint8 pw16[] = { 0, 'c', 0, 'h', 0, 'a', 0, 'n', 0, 'g', 0, 'e', 0, 'i', 0, 't' };
  g_autoptr(GBytes) store = read_bytes ("store.jks");
  g_autoptr(GBytes) ca = read_bytes ("ca.der");
  gsize len;
  const guint8 *data = g_bytes_get_data (store, &len);
  gsize body = len - PST_JKS_DIGEST_LEN;

  for (gsize cut = 0; cut < body; cut++)
    {
      g_autofree guint8 *copy = g_malloc (cut + PST_JKS_DIGEST_LEN);
      g_autoptr(GBytes) bytes = NULL, out = NULL;
      g_autoptr(GError) error = NULL;
      GBytes *der = NULL;

      memcpy (copy, data, cut);
      pst_jks_sha1 (pw16, sizeof pw16, "Mighty Aphrodite", 16, copy, cut, copy + cut);
      bytes = g_bytes_new_take (g_steal_pointer (&copy), cut + PST_JKS_DIGEST_LEN);
      g_assert_false (pst_jks_find_trusted (bytes, PW, "anchor", &der, NULL, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == PST_STORE_ERROR);
      g_assert_null (der);
      g_clear_error (&error);
      out = pst_jks_add_trusted (bytes, PW, "postern-dev-ca", ca, 0, &error);
      g_assert_null (out);
      g_assert_nonnull (error);
    }
  for (gsize i = 4; i < MIN (body, 200); i++)
    for (guint bit = 0; bit < 8; bit++)
      {
        g_autofree guint8 *copy = g_memdup2 (data, len);
        g_autoptr(GBytes) bytes = NULL, out = NULL;
        g_autoptr(GError) error = NULL;

        copy[i] ^= 1u << bit;
        pst_jks_sha1 (pw16, sizeof pw16, "Mighty Aphrodite", 16, copy, body, copy + body);
        bytes = g_bytes_new_take (g_steal_pointer (&copy), len);
        out = pst_jks_remove_entry (bytes, PW, "anchor", &error);
        g_assert_true ((out == NULL) != (error == NULL));
      }
}

int
main (int argc, char **argv)
{
  int status;
  g_autoptr(GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  workdir = g_dir_make_tmp ("postern-jks-edit-XXXXXX", &error);
  g_assert_no_error (error);
  make_stores ();

  g_test_add_func ("/jks-edit/roundtrip", test_roundtrip);
  g_test_add_func ("/jks-edit/find", test_find);
  g_test_add_func ("/jks-edit/refusals", test_refusals);
  g_test_add_func ("/jks-edit/damaged", test_damaged);

  status = g_test_run ();
  {
    g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", workdir);
    if (system (cmd) != 0)
      g_printerr ("could not remove %s\n", workdir);
  }
  g_free (workdir);
  return status;
}
