/* test-jks.c: JKS/JCEKS stores made by keytool 17 parse, decrypt and fail cleanly
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include "pst-jks.h"
#include "jks-test-util.h"

static void
keytool (const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (argv, (char *) "/usr/bin/keytool");
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  g_free (run_argv (TRUE, (const char * const *) argv->pdata));
}

static void
gen_key (const char *store, const char *type, const char *alias, const char *keyalg,
         const char *cn, const char *keypass)
{
  g_autofree char *dname = g_strdup_printf ("CN=%s,O=Postern Test", cn);
  g_autofree char *san = g_strdup_printf ("SAN=dns:%s", cn);

  if (g_str_equal (keyalg, "EC"))
    keytool ("-genkeypair", "-keystore", store, "-storetype", type, "-storepass", "changeit",
             "-keypass", keypass, "-alias", alias, "-keyalg", "EC", "-groupname", "secp256r1",
             "-dname", dname, "-ext", san, NULL);
  else
    keytool ("-genkeypair", "-keystore", store, "-storetype", type, "-storepass", "changeit",
             "-keypass", keypass, "-alias", alias, "-keyalg", "RSA", "-keysize", "2048",
             "-dname", dname, "-ext", san, NULL);
}

static void
make_stores (void)
{
  g_autoptr(GError) error = NULL;

  workdir = g_dir_make_tmp ("postern-jks-XXXXXX", &error);
  g_assert_no_error (error);

  /* the anchor that both stores trust */
  gen_key ("ca.p12", "PKCS12", "anchor", "EC", "anchor.test", "changeit");
  keytool ("-exportcert", "-keystore", "ca.p12", "-storepass", "changeit", "-alias", "anchor",
           "-file", "anchor.der", NULL);

  for (guint i = 0; i < 2; i++)
    {
      const char *type = i == 0 ? "JKS" : "JCEKS";
      const char *store = i == 0 ? "keystore-jks.db" : "keystore-jceks.db";
      g_autofree char *rsa = g_strdup_printf ("rsa-%s.der", type);
      g_autofree char *ec = g_strdup_printf ("ec-%s.der", type);

      gen_key (store, type, "rsa.example.test", "RSA", "rsa.example.test", "changeit");
      gen_key (store, type, "ec.example.test", "EC", "ec.example.test", "changeit");
      keytool ("-importcert", "-noprompt", "-keystore", store, "-storetype", type,
               "-storepass", "changeit", "-alias", "anchor", "-file", "anchor.der", NULL);
      keytool ("-exportcert", "-keystore", store, "-storetype", type, "-storepass", "changeit",
               "-alias", "rsa.example.test", "-file", rsa, NULL);
      keytool ("-exportcert", "-keystore", store, "-storetype", type, "-storepass", "changeit",
               "-alias", "ec.example.test", "-file", ec, NULL);
    }
  /* a JCEKS secret key entry, which must be skipped, between the others */
  keytool ("-genseckey", "-keystore", "keystore-jceks.db", "-storetype", "JCEKS",
           "-storepass", "changeit", "-keypass", "changeit", "-alias", "aes",
           "-keyalg", "AES", "-keysize", "128", NULL);
  /* a key whose password differs from the store's (JKS allows it) */
  gen_key ("keypass.db", "JKS", "other", "EC", "other.test", "different");
  /* two keys of 2,600,000 rounds each: more than one store may cost */
  for (guint i = 0; i < 2; i++)
    keytool ("-J-Djdk.jceks.iterationCount=2600000", "-genkeypair", "-keystore", "costly.jceks",
             "-storetype", "JCEKS", "-storepass", "changeit", "-keypass", "changeit",
             "-alias", i == 0 ? "one" : "two", "-keyalg", "EC", "-groupname", "secp256r1",
             "-dname", i == 0 ? "CN=one.test" : "CN=two.test", NULL);
}

static PstStoreEntry *
find (GPtrArray *entries, const char *alias)
{
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (pst_store_entry_get_alias (g_ptr_array_index (entries, i)), alias))
      return g_ptr_array_index (entries, i);
  return NULL;
}

/* The decrypted PKCS#8 key must be the certificate's key: a signature made
 * with it verifies with the certificate's public key. */
static void
assert_key_matches (PstStoreEntry *entry, gnutls_pk_algorithm_t expected_alg)
{
  GBytes *key = pst_store_entry_get_private_key (entry);
  GBytes *cert = pst_store_entry_get_certificate (entry);
  gnutls_x509_privkey_t x509_key;
  gnutls_privkey_t pk;
  gnutls_pubkey_t pub;
  gnutls_datum_t d, sig;
  gnutls_datum_t msg = { (guint8 *) "postern", 7 };
  gnutls_sign_algorithm_t sign_alg;
  gsize len;

  g_assert_nonnull (key);
  g_assert_nonnull (cert);
  g_assert_cmpint (gnutls_x509_privkey_init (&x509_key), ==, 0);
  d.data = (guint8 *) g_bytes_get_data (key, &len);
  d.size = len;
  g_assert_cmpint (gnutls_x509_privkey_import_pkcs8 (x509_key, &d, GNUTLS_X509_FMT_DER, NULL,
                                                     GNUTLS_PKCS_PLAIN), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_get_pk_algorithm (x509_key), ==, expected_alg);
  g_assert_cmpint (gnutls_privkey_init (&pk), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509 (pk, x509_key, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE), ==, 0);
  g_assert_cmpint (gnutls_privkey_sign_data (pk, GNUTLS_DIG_SHA256, 0, &msg, &sig), ==, 0);

  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  d.data = (guint8 *) g_bytes_get_data (cert, &len);
  d.size = len;
  {
    gnutls_x509_crt_t crt;

    g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
    g_assert_cmpint (gnutls_x509_crt_import (crt, &d, GNUTLS_X509_FMT_DER), ==, 0);
    g_assert_cmpint (gnutls_pubkey_import_x509 (pub, crt, 0), ==, 0);
    gnutls_x509_crt_deinit (crt);
  }
  sign_alg = gnutls_pk_to_sign (expected_alg, GNUTLS_DIG_SHA256);
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pub, sign_alg, 0, &msg, &sig), >=, 0);
  /* and a different message does not verify */
  msg.data = (guint8 *) "Postern";
  g_assert_cmpint (gnutls_pubkey_verify_data2 (pub, sign_alg, 0, &msg, &sig), <, 0);

  gnutls_free (sig.data);
  gnutls_pubkey_deinit (pub);
  gnutls_privkey_deinit (pk);
}

static void
test_parse (gconstpointer data)
{
  const char *type = data;
  g_autofree char *store = g_strdup_printf ("keystore-%s.db", g_str_equal (type, "JKS") ? "jks" : "jceks");
  g_autofree char *rsa_name = g_strdup_printf ("rsa-%s.der", type);
  g_autofree char *ec_name = g_strdup_printf ("ec-%s.der", type);
  g_autoptr(GBytes) bytes = read_bytes (store);
  g_autoptr(GBytes) rsa_der = read_bytes (rsa_name);
  g_autoptr(GBytes) ec_der = read_bytes (ec_name);
  g_autoptr(GBytes) anchor_der = read_bytes ("anchor.der");
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  PstStoreEntry *e;

  g_assert_true (pst_jks_parse (bytes, "changeit", store, NULL, entries, &error));
  g_assert_no_error (error);
  /* the JCEKS secret key is skipped */
  g_assert_cmpuint (entries->len, ==, 3);

  e = find (entries, "rsa.example.test");
  g_assert_nonnull (e);
  g_assert_cmpint (pst_store_entry_get_kind (e), ==, PST_ENTRY_KEY);
  g_assert_true (g_bytes_equal (pst_store_entry_get_certificate (e), rsa_der));
  assert_key_matches (e, GNUTLS_PK_RSA);

  e = find (entries, "ec.example.test");
  g_assert_nonnull (e);
  g_assert_cmpint (pst_store_entry_get_kind (e), ==, PST_ENTRY_KEY);
  g_assert_true (g_bytes_equal (pst_store_entry_get_certificate (e), ec_der));
  assert_key_matches (e, GNUTLS_PK_ECDSA);

  e = find (entries, "anchor");
  g_assert_nonnull (e);
  g_assert_cmpint (pst_store_entry_get_kind (e), ==, PST_ENTRY_TRUSTED);
  g_assert_null (pst_store_entry_get_private_key (e));
  g_assert_true (g_bytes_equal (pst_store_entry_get_certificate (e), anchor_der));
}

static void
test_wrong_password (gconstpointer data)
{
  const char *store = data;
  g_autoptr(GBytes) bytes = read_bytes (store);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_false (pst_jks_parse (bytes, "not-the-password", "/srv/keystore.db", "/srv/keystore.pw",
                                 entries, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_assert_nonnull (strstr (error->message, "wrong password for /srv/keystore.db (read from /srv/keystore.pw)"));
  g_assert_null (strstr (error->message, "not-the-password"));
  g_assert_cmpuint (entries->len, ==, 0);
}

static void
test_key_password_differs (void)
{
  g_autoptr(GBytes) bytes = read_bytes ("keypass.db");
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_false (pst_jks_parse (bytes, "changeit", "keypass.db", NULL, entries, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_assert_nonnull (strstr (error->message, "other"));
  g_assert_nonnull (strstr (error->message, "keytool -keypasswd"));
  g_assert_cmpuint (entries->len, ==, 0);
}

/* The key-derivation work of a whole store is bounded: a store cannot
 * make the gateway spend minutes deriving keys, whatever each key asks. */
static void
test_jceks_iteration_budget (void)
{
  g_autoptr(GBytes) bytes = read_bytes ("costly.jceks");
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;

  g_assert_false (pst_jks_parse (bytes, "changeit", "costly.jceks", NULL, entries, &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "key-derivation rounds"));
  g_assert_nonnull (strstr (error->message, "costly.jceks"));
  g_assert_nonnull (strstr (error->message, "keytool -importkeystore"));
  g_assert_cmpuint (entries->len, ==, 0);
}

/* Every prefix of a store is refused as damaged, never read past its end
 * (ASan builds catch the latter). */
static void
test_truncated (gconstpointer data)
{
  const char *store = data;
  g_autoptr(GBytes) bytes = read_bytes (store);
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);

  for (gsize cut = 0; cut < len; cut++)
    {
      /* an exact-size heap copy so that ASan sees any overrun */
      g_autoptr(GBytes) part = g_bytes_new (p, cut);
      g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GError) error = NULL;

      g_assert_false (pst_jks_parse (part, "changeit", store, NULL, entries, &error));
      if (cut < 4)
        g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT);
      else
        g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, store));
      g_assert_cmpuint (entries->len, ==, 0);
    }
}

static void
fix_digest (guint8 *data, gsize len, const char *password)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  static const char whitener[] = "Mighty Aphrodite";

  for (const char *c = password; *c != '\0'; c++)
    {
      guint8 be[2] = { 0, (guint8) *c };
      g_byte_array_append (buf, be, 2);
    }
  g_byte_array_append (buf, (const guint8 *) whitener, strlen (whitener));
  g_byte_array_append (buf, data, len - 20);
  gnutls_hash_fast (GNUTLS_DIG_SHA1, buf->data, buf->len, data + len - 20);
}

/* Bit flips with a recomputed digest reach the entry, DER, serialization
 * and key-decryption code: each must succeed or fail with a store error. */
static void
test_bitflips (gconstpointer data)
{
  const char *store = data;
  g_autoptr(GBytes) bytes = read_bytes (store);
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  gboolean jceks = p[0] == 0xCE;
  g_autoptr(GRand) rand = g_rand_new_with_seed (20240607);
  guint rounds = jceks ? 60 : 800;
  guint ok = 0, failed = 0;

  for (guint i = 0; i < rounds; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (p, len);
      gsize pos = 4 + g_rand_int_range (rand, 0, len - 24);
      g_autoptr(GBytes) mutated = NULL;
      g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GError) error = NULL;

      copy[pos] ^= 1u << g_rand_int_range (rand, 0, 8);
      if (g_rand_boolean (rand))
        copy[g_rand_int_range (rand, 4, len - 20)] = g_rand_int_range (rand, 0, 256);
      fix_digest (copy, len, "changeit");
      mutated = g_bytes_new_take (g_steal_pointer (&copy), len);

      if (pst_jks_parse (mutated, "changeit", store, NULL, entries, &error))
        {
          g_assert_no_error (error);
          ok++;
        }
      else
        {
          g_assert_true (error != NULL && error->domain == PST_STORE_ERROR);
          g_assert_cmpuint (entries->len, ==, 0);
          failed++;
        }
    }
  g_test_message ("%s: %u mutations parsed, %u refused", store, ok, failed);
  g_assert_cmpuint (ok + failed, ==, rounds);
}

static void
test_not_a_store (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  guint8 junk[4096];

  for (guint i = 0; i < 200; i++)
    {
      gsize len = g_rand_int_range (rand, 0, sizeof junk);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GError) error = NULL;

      for (gsize j = 0; j < len; j++)
        junk[j] = g_rand_int_range (rand, 0, 256);
      /* half of them look like a JKS/JCEKS store at first sight */
      if (len >= 12 && i % 2 == 0)
        {
          memset (junk, i % 4 == 0 ? 0xFE : 0xCE, 4);
          if (i % 4 == 0)
            junk[1] = junk[3] = 0xED;
          memcpy (junk + 4, "\0\0\0\2\0\0\0\1", 8);
        }
      bytes = g_bytes_new (junk, len);
      g_assert_false (pst_jks_parse (bytes, "changeit", "junk.db", NULL, entries, &error));
      g_assert_true (error != NULL && error->domain == PST_STORE_ERROR);
      g_assert_true (error->code == PST_STORE_ERROR_CORRUPT ||
                     error->code == PST_STORE_ERROR_UNKNOWN_FORMAT);
      g_assert_cmpuint (entries->len, ==, 0);
    }
}

int
main (int argc, char **argv)
{
  int status;
  g_autofree char *cmd = NULL;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  make_stores ();

  g_test_add_data_func ("/jks/parse", "JKS", test_parse);
  g_test_add_data_func ("/jceks/parse", "JCEKS", test_parse);
  g_test_add_data_func ("/jks/wrong-password", "keystore-jks.db", test_wrong_password);
  g_test_add_data_func ("/jceks/wrong-password", "keystore-jceks.db", test_wrong_password);
  g_test_add_func ("/jks/key-password-differs", test_key_password_differs);
  g_test_add_data_func ("/jks/truncated", "keystore-jks.db", test_truncated);
  g_test_add_data_func ("/jceks/truncated", "keystore-jceks.db", test_truncated);
  g_test_add_data_func ("/jks/bitflips", "keystore-jks.db", test_bitflips);
  g_test_add_data_func ("/jceks/bitflips", "keystore-jceks.db", test_bitflips);
  g_test_add_func ("/jks/not-a-store", test_not_a_store);
  g_test_add_func ("/jceks/iteration-budget", test_jceks_iteration_budget);

  status = g_test_run ();

  cmd = g_strdup_printf ("rm -rf '%s'", workdir);
  if (system (cmd) != 0)
    g_warning ("could not remove %s", workdir);
  return status;
}
