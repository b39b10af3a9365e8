/* test-stores.c: loading and saving stores (PKCS#12, PEM), host matching, password files
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <sys/stat.h>

#include "stores-test-util.h"

/* ---- host matching ---------------------------------------------------- */

static void
test_host_wildcard (void)
{
  const char *names[] = { "*.example.com", "exact.example.org", NULL };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);

  g_assert_true (pst_store_entry_matches_host (entry, "my.example.com"));
  g_assert_true (pst_store_entry_matches_host (entry, "MY.Example.COM"));
  g_assert_true (pst_store_entry_matches_host (entry, "my.example.com."));
  g_assert_false (pst_store_entry_matches_host (entry, "a.b.example.com"));
  g_assert_false (pst_store_entry_matches_host (entry, "example.com"));
  g_assert_false (pst_store_entry_matches_host (entry, ".example.com"));
  g_assert_false (pst_store_entry_matches_host (entry, "myexample.com"));
  g_assert_true (pst_store_entry_matches_host (entry, "Exact.Example.Org"));
  g_assert_false (pst_store_entry_matches_host (entry, "x.exact.example.org"));
  /* the CN "*.example.com" is not looked at when there is a SAN */
  g_assert_false (pst_store_entry_matches_host (entry, "127.0.0.1"));
}

static void
test_host_ip (void)
{
  const char *names[] = { "127.0.0.1", "::1", "2001:db8::42", "localhost", NULL };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_auto(GStrv) sans = pst_store_entry_dup_sans (entry);

  g_assert_cmpstr (sans[0], ==, "IP:127.0.0.1");
  g_assert_cmpstr (sans[1], ==, "IP:::1");
  g_assert_cmpstr (sans[2], ==, "IP:2001:db8::42");
  g_assert_cmpstr (sans[3], ==, "DNS:localhost");
  g_assert_null (sans[4]);

  g_assert_true (pst_store_entry_matches_host (entry, "127.0.0.1"));
  g_assert_false (pst_store_entry_matches_host (entry, "127.0.0.2"));
  g_assert_true (pst_store_entry_matches_host (entry, "::1"));
  g_assert_true (pst_store_entry_matches_host (entry, "[::1]"));
  g_assert_true (pst_store_entry_matches_host (entry, "0:0:0:0:0:0:0:1"));
  g_assert_true (pst_store_entry_matches_host (entry, "2001:DB8:0:0::42"));
  g_assert_true (pst_store_entry_matches_host (entry, "[2001:0db8::0042]"));
  g_assert_false (pst_store_entry_matches_host (entry, "2001:db8::43"));
  g_assert_true (pst_store_entry_matches_host (entry, "LOCALHOST"));
  g_assert_true (pst_cert_matches_host (pst_store_entry_get_certificate (entry), "127.0.0.1"));
  g_assert_false (pst_cert_matches_host (pst_store_entry_get_certificate (entry), "10.0.0.1"));
}

static void
test_host_cn (StoresDirFixture *f, gconstpointer data)
{
  g_autofree char *key = stores_path_in (f, "cn.key");
  g_autofree char *crt = stores_path_in (f, "cn.pem");
  g_autofree char *san_crt = stores_path_in (f, "cnsan.pem");
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = NULL;
  g_autoptr(PstKeystore) ks2 = NULL;
  g_autofree char *o1 = NULL, *o2 = NULL;

  /* only a CN: it is the name */
  o1 = RUN_OK ("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", crt, "-subj", "/CN=Cn.Example.com", "-days", "2");
  ks = pst_keystore_load (crt, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (ks), ==, 1);
  g_assert_true (pst_store_entry_matches_host (pst_keystore_get_entry (ks, 0), "cn.example.com"));
  g_assert_false (pst_store_entry_matches_host (pst_keystore_get_entry (ks, 0), "x.cn.example.com"));

  /* a SAN hides the CN */
  o2 = RUN_OK ("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
               "-nodes", "-keyout", key, "-out", san_crt, "-subj", "/CN=cn.example.com",
               "-addext", "subjectAltName=DNS:other.example.com", "-days", "2");
  ks2 = pst_keystore_load (san_crt, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (pst_store_entry_matches_host (pst_keystore_get_entry (ks2, 0), "cn.example.com"));
  g_assert_true (pst_store_entry_matches_host (pst_keystore_get_entry (ks2, 0), "other.example.com"));
}

static void
test_find_for_host (void)
{
  const char *wild[] = { "*.example.com", NULL };
  const char *exact[] = { "www.example.com", NULL };
  const char *ip[] = { "10.1.2.3", NULL };
  g_autoptr(PstStoreEntry) w = generate (wild, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstStoreEntry) e = generate (exact, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstStoreEntry) i = generate (ip, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autofree char *names = NULL;

  /* the wildcard comes first: the exact entry must still win */
  pst_keystore_add (ks, w);
  pst_keystore_add (ks, e);
  pst_keystore_add (ks, i);
  g_assert_true (pst_keystore_find_for_host (ks, "www.example.com") == e);
  g_assert_true (pst_keystore_find_for_host (ks, "WWW.example.com") == e);
  g_assert_true (pst_keystore_find_for_host (ks, "api.example.com") == w);
  g_assert_true (pst_keystore_find_for_host (ks, "10.1.2.3") == i);
  g_assert_null (pst_keystore_find_for_host (ks, "x.api.example.com"));
  g_assert_null (pst_keystore_find_for_host (ks, "example.com"));
  g_assert_true (pst_keystore_lookup (ks, "WWW.EXAMPLE.COM") == e);

  names = pst_keystore_dup_host_names (ks);
  g_assert_cmpstr (names, ==, "*.example.com, www.example.com, 10.1.2.3");

  g_assert_true (pst_keystore_remove (ks, "www.example.com"));
  g_assert_false (pst_keystore_remove (ks, "www.example.com"));
  g_assert_true (pst_keystore_find_for_host (ks, "www.example.com") == w);
}

/* ---- keytool-made stores ---------------------------------------------- */

static char *
keytool_fingerprints (const char *store, const char *type, const char *password)
{
  return RUN_OK ("keytool", "-list", "-v", "-storetype", type, "-keystore", store, "-storepass", password);
}

static void
assert_listed (const char *keytool_out, PstStoreEntry *entry)
{
  g_autofree char *fp = pst_store_entry_dup_fingerprint (entry);
  g_autofree char *alias_line = g_strdup_printf ("Alias name: %s\n", pst_store_entry_get_alias (entry));
  g_autofree char *fp_line = g_strdup_printf ("SHA256: %s\n", fp);
  g_autofree char *subject = pst_store_entry_dup_subject (entry);
  g_autofree char *owner = g_strdup_printf ("Owner: %s\n", subject);

  g_assert_nonnull (strstr (keytool_out, alias_line));
  g_assert_nonnull (strstr (keytool_out, fp_line));
  g_assert_nonnull (strstr (keytool_out, owner));
}

static void
test_keytool_pkcs12 (StoresDirFixture *f, gconstpointer data)
{
  g_autofree char *store = stores_path_in (f, "keystore.db");
  g_autofree char *pwfile = stores_path_in (f, "keystore.pw");
  g_autofree char *crt = stores_path_in (f, "ec.crt");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *list = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = NULL;
  PstStoreEntry *rsa, *ec, *trusted;
  g_autofree char *rsa_subject = NULL;
  g_autofree char *ec_type = NULL, *rsa_type = NULL;

  o1 = RUN_OK ("keytool", "-genkeypair", "-keystore", store, "-storetype", "PKCS12", "-storepass", "s3cret-pw",
               "-alias", "rsa.example.com", "-keyalg", "RSA", "-keysize", "2048",
               "-dname", "CN=rsa.example.com, O=Postern Tests", "-ext", "SAN=dns:rsa.example.com,ip:127.0.0.1");
  o2 = RUN_OK ("keytool", "-genkeypair", "-keystore", store, "-storetype", "PKCS12", "-storepass", "s3cret-pw",
               "-alias", "ec.example.com", "-keyalg", "EC", "-groupname", "secp256r1",
               "-dname", "CN=ec.example.com", "-ext", "SAN=dns:ec.example.com");
  o3 = RUN_OK ("keytool", "-exportcert", "-keystore", store, "-storepass", "s3cret-pw",
               "-alias", "ec.example.com", "-file", crt);
  o4 = RUN_OK ("keytool", "-importcert", "-noprompt", "-keystore", store, "-storetype", "PKCS12",
               "-storepass", "s3cret-pw", "-alias", "backend", "-file", crt);
  g_assert_true (g_file_set_contents (pwfile, "s3cret-pw\r\n", -1, NULL));

  ks = pst_keystore_open (store, NULL, &error);   /* keystore.pw found beside it */
  g_assert_no_error (error);
  g_assert_cmpint (pst_keystore_get_format (ks), ==, PST_STORE_FORMAT_PKCS12);
  g_assert_cmpuint (pst_keystore_get_n_entries (ks), ==, 3);

  rsa = pst_keystore_lookup (ks, "rsa.example.com");
  ec = pst_keystore_lookup (ks, "ec.example.com");
  trusted = pst_keystore_lookup (ks, "backend");
  g_assert_nonnull (rsa);
  g_assert_nonnull (ec);
  g_assert_nonnull (trusted);
  g_assert_cmpint (pst_store_entry_get_kind (rsa), ==, PST_ENTRY_KEY);
  g_assert_cmpint (pst_store_entry_get_kind (ec), ==, PST_ENTRY_KEY);
  g_assert_cmpint (pst_store_entry_get_kind (trusted), ==, PST_ENTRY_TRUSTED);
  rsa_subject = pst_store_entry_dup_subject (rsa);
  g_assert_cmpstr (rsa_subject, ==, "CN=rsa.example.com,O=Postern Tests");
  rsa_type = pst_store_entry_dup_key_type (rsa);
  ec_type = pst_store_entry_dup_key_type (ec);
  g_assert_cmpstr (rsa_type, ==, "RSA 2048");
  g_assert_cmpstr (ec_type, ==, "ECDSA P-256");
  g_assert_true (pst_keystore_find_for_host (ks, "127.0.0.1") == rsa);
  g_assert_true (pst_keystore_find_for_host (ks, "ec.example.com") == ec);

  list = keytool_fingerprints (store, "PKCS12", "s3cret-pw");
  assert_listed (list, ec);
  assert_listed (list, trusted);
  {
    g_autofree char *fp = pst_store_entry_dup_fingerprint (rsa);
    g_autofree char *fp_line = g_strdup_printf ("SHA256: %s\n", fp);
    g_assert_nonnull (strstr (list, fp_line));
  }

  /* keys work for TLS (EC keys from keytool lack the public point) */
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GTlsCertificate) tls = pst_store_entry_to_tls_certificate (i == 0 ? rsa : ec, &error);
      g_assert_no_error (error);
      g_assert_nonnull (tls);
    }
}

static void
test_openssl_pkcs12 (StoresDirFixture *f, gconstpointer data)
{
  g_autofree char *ca_key = stores_path_in (f, "ca.key"), *ca_crt = stores_path_in (f, "ca.pem");
  g_autofree char *key = stores_path_in (f, "leaf.key"), *csr = stores_path_in (f, "leaf.csr"), *crt = stores_path_in (f, "leaf.pem");
  g_autofree char *p12 = stores_path_in (f, "openssl.bin"), *trust = stores_path_in (f, "trust.bin");
  g_autofree char *o1 = NULL, *o2 = NULL, *o3 = NULL, *o4 = NULL, *o5 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = NULL;
  g_autoptr(PstKeystore) ts = NULL;
  PstStoreEntry *entry;
  g_autofree char *issuer = NULL;

  o1 = RUN_OK ("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
               "-subj", "/CN=Test Root", "-days", "3");
  o2 = RUN_OK ("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
               "-keyout", key, "-out", csr, "-subj", "/CN=svc.test");
  o3 = RUN_OK ("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
               "-out", crt, "-days", "2");
  o4 = RUN_OK ("openssl", "pkcs12", "-export", "-in", crt, "-inkey", key, "-certfile", ca_crt,
               "-name", "svc", "-out", p12, "-passout", "pass:open-pw");
  ks = pst_keystore_load (p12, "open-pw", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (ks), ==, 1);
  entry = pst_keystore_get_entry (ks, 0);
  g_assert_cmpstr (pst_store_entry_get_alias (entry), ==, "svc");
  g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_KEY);
  g_assert_cmpuint (pst_store_entry_get_chain (entry)->len, ==, 2);
  issuer = pst_store_entry_dup_issuer (entry);
  g_assert_cmpstr (issuer, ==, "CN=Test Root");

  /* a certificate-only export is a trust store */
  o5 = RUN_OK ("openssl", "pkcs12", "-export", "-nokeys", "-in", ca_crt, "-out", trust, "-passout", "pass:changeit");
  ts = pst_keystore_load (trust, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (ts), ==, 1);
  g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_get_entry (ts, 0)), ==, PST_ENTRY_TRUSTED);
  g_assert_true (pst_store_entry_is_ca (pst_keystore_get_entry (ts, 0)));
}

static void
test_pem_load (StoresDirFixture *f, gconstpointer data)
{
  g_autofree char *ca_key = stores_path_in (f, "ca.key"), *ca_crt = stores_path_in (f, "ca.pem");
  g_autofree char *rsa_key = stores_path_in (f, "rsa.key"), *csr = stores_path_in (f, "rsa.csr"), *crt = stores_path_in (f, "rsa.pem");
  g_autofree char *ec_key = stores_path_in (f, "ec.key"), *ec_crt = stores_path_in (f, "ec.pem");
  g_autofree char *other = stores_path_in (f, "other.pem");
  g_autofree char *bundle = stores_path_in (f, "bundle.txt");
  char *o[8] = { NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = NULL;
  g_autofree char *ca_text = NULL, *crt_text = NULL, *key_text = NULL, *ec_text = NULL, *eckey_text = NULL, *other_text = NULL;
  g_autofree char *all = NULL;
  PstStoreEntry *rsa, *ec;

  o[0] = RUN_OK ("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out", ca_crt,
                 "-subj", "/CN=Bundle Root", "-days", "3");
  o[1] = RUN_OK ("openssl", "genrsa", "-traditional", "-out", rsa_key, "2048");   /* PKCS#1 */
  o[2] = RUN_OK ("openssl", "req", "-new", "-key", rsa_key, "-out", csr, "-subj", "/CN=rsa.test");
  o[3] = RUN_OK ("openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
                 "-out", crt, "-days", "2");
  o[4] = RUN_OK ("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ec_key);  /* SEC1 */
  o[5] = RUN_OK ("openssl", "req", "-x509", "-key", ec_key, "-out", ec_crt, "-subj", "/CN=ec.test", "-days", "2",
                 "-addext", "subjectAltName=DNS:ec.test");
  o[6] = RUN_OK ("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", "/dev/null", "-out", other, "-subj", "/CN=other.test", "-days", "2");

  for (guint i = 0; i < G_N_ELEMENTS (o); i++)
    g_free (o[i]);
  g_assert_true (g_file_get_contents (ca_crt, &ca_text, NULL, NULL));
  g_assert_true (g_file_get_contents (crt, &crt_text, NULL, NULL));
  g_assert_true (g_file_get_contents (rsa_key, &key_text, NULL, NULL));
  g_assert_true (g_file_get_contents (ec_crt, &ec_text, NULL, NULL));
  g_assert_true (g_file_get_contents (ec_key, &eckey_text, NULL, NULL));
  g_assert_true (g_file_get_contents (other, &other_text, NULL, NULL));
  g_assert_nonnull (strstr (key_text, "BEGIN RSA PRIVATE KEY"));
  g_assert_nonnull (strstr (eckey_text, "BEGIN EC PRIVATE KEY"));
  /* keys, chain and a stray certificate in any order, under any name */
  all = g_strconcat (ec_text, key_text, ca_text, "some text between blocks\n", crt_text, eckey_text, other_text, NULL);
  g_assert_true (g_file_set_contents (bundle, all, -1, NULL));

  ks = pst_keystore_load (bundle, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pst_keystore_get_format (ks), ==, PST_STORE_FORMAT_PEM);
  g_assert_cmpuint (pst_keystore_get_n_entries (ks), ==, 3);
  rsa = pst_keystore_lookup (ks, "rsa.test");
  ec = pst_keystore_lookup (ks, "ec.test");
  g_assert_nonnull (rsa);
  g_assert_nonnull (ec);
  g_assert_cmpint (pst_store_entry_get_kind (rsa), ==, PST_ENTRY_KEY);
  g_assert_cmpuint (pst_store_entry_get_chain (rsa)->len, ==, 2);
  g_assert_cmpint (pst_store_entry_get_kind (ec), ==, PST_ENTRY_KEY);
  g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_lookup (ks, "other.test")), ==, PST_ENTRY_TRUSTED);
  g_assert_null (pst_keystore_lookup (ks, "bundle root"));   /* a chain member, not an entry */

  /* a lone certificate is a trusted entry */
  {
    g_autoptr(PstKeystore) one = pst_keystore_load (ca_crt, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (pst_keystore_get_n_entries (one), ==, 1);
    g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_get_entry (one, 0)), ==, PST_ENTRY_TRUSTED);
  }
}

/* ---- writing ----------------------------------------------------------- */

static void
test_save_pkcs12 (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "app.test", "127.0.0.1", NULL };
  const char *names2[] = { "rsa.test", NULL };
  g_autoptr(PstStoreEntry) ec = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstStoreEntry) rsa = generate (names2, PST_KEY_RSA_2048, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autoptr(PstKeystore) back = NULL;
  g_autofree char *store = stores_path_in (f, "saved.db");
  g_autofree char *list = NULL, *info = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  pst_keystore_add (ks, ec);
  pst_keystore_add (ks, rsa);
  g_assert_true (pst_keystore_save (ks, store, PST_STORE_FORMAT_PKCS12, "save-pw-123", &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (store, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  list = keytool_fingerprints (store, "PKCS12", "save-pw-123");
  g_assert_nonnull (strstr (list, "Your keystore contains 2 entries"));
  g_assert_nonnull (strstr (list, "Entry type: PrivateKeyEntry"));
  assert_listed (list, ec);
  assert_listed (list, rsa);

  info = RUN_OK ("openssl", "pkcs12", "-info", "-nokeys", "-in", store, "-passin", "pass:save-pw-123");
  g_assert_nonnull (strstr (info, "MAC: sha256"));
  g_assert_nonnull (strstr (info, "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC"));
  g_assert_nonnull (strstr (info, "friendlyName: app.test"));
  g_assert_nonnull (strstr (info, "subject=CN = rsa.test"));

  back = pst_keystore_load (store, "save-pw-123", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (back), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      PstStoreEntry *orig = i == 0 ? ec : rsa;
      PstStoreEntry *copy = pst_keystore_lookup (back, pst_store_entry_get_alias (orig));
      g_autofree char *fp1 = pst_store_entry_dup_fingerprint (orig);
      g_autofree char *fp2 = NULL;

      g_assert_nonnull (copy);
      fp2 = pst_store_entry_dup_fingerprint (copy);
      g_assert_cmpstr (fp1, ==, fp2);
      g_assert_true (g_bytes_equal (pst_store_entry_get_private_key (orig), pst_store_entry_get_private_key (copy)));
    }
}

static void
test_save_truststore (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "backend.internal", NULL };
  g_autoptr(PstStoreEntry) key_entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstStoreEntry) trusted = NULL;
  g_autoptr(PstKeystore) ts = pst_keystore_new ();
  g_autoptr(PstKeystore) back = NULL;
  g_autofree char *store = stores_path_in (f, "truststore.db");
  g_autofree char *list = NULL, *info = NULL;
  g_autoptr(GError) error = NULL;

  trusted = pst_store_entry_new ("backend", pst_store_entry_get_chain (key_entry), NULL, &error);
  g_assert_no_error (error);
  pst_keystore_add (ts, trusted);
  g_assert_true (pst_keystore_save (ts, store, PST_STORE_FORMAT_PKCS12, NULL, &error));   /* changeit */
  g_assert_no_error (error);

  list = keytool_fingerprints (store, "PKCS12", "changeit");
  g_assert_nonnull (strstr (list, "Your keystore contains 1 entry"));
  g_assert_nonnull (strstr (list, "Entry type: trustedCertEntry"));
  assert_listed (list, trusted);
  info = RUN_OK ("openssl", "pkcs12", "-info", "-nokeys", "-in", store, "-passin", "pass:changeit");
  g_assert_nonnull (strstr (info, "2.16.840.1.113894.746875.1.1"));

  back = pst_keystore_open (store, NULL, &error);   /* no truststore.pw: changeit */
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (back), ==, 1);
  g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_get_entry (back, 0)), ==, PST_ENTRY_TRUSTED);
}

static void
test_save_pem (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "pem.test", NULL };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autoptr(PstKeystore) back = NULL, back2 = NULL;
  g_autofree char *plain = stores_path_in (f, "plain.pem"), *enc = stores_path_in (f, "enc.pem");
  g_autofree char *o1 = NULL, *text = NULL;
  g_autoptr(GError) error = NULL;

  pst_keystore_add (ks, entry);
  g_assert_true (pst_keystore_save (ks, plain, PST_STORE_FORMAT_PEM, NULL, &error));
  g_assert_no_error (error);
  o1 = RUN_OK ("openssl", "pkey", "-in", plain, "-noout");
  back = pst_keystore_load (plain, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pst_store_entry_get_alias (pst_keystore_get_entry (back, 0)), ==, "pem.test");
  g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_get_entry (back, 0)), ==, PST_ENTRY_KEY);

  g_assert_true (pst_keystore_save (ks, enc, PST_STORE_FORMAT_PEM, "pem-pw-1", &error));
  g_assert_true (g_file_get_contents (enc, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "BEGIN ENCRYPTED PRIVATE KEY"));
  back2 = pst_keystore_load (enc, "wrong-pw", NULL, &error);
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  g_clear_error (&error);
  back2 = pst_keystore_load (enc, "pem-pw-1", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pst_store_entry_get_kind (pst_keystore_get_entry (back2, 0)), ==, PST_ENTRY_KEY);

  /* JKS stays read-only */
  g_assert_false (pst_keystore_save (ks, enc, PST_STORE_FORMAT_JKS, "x", &error));
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_READ_ONLY);
}

/* A "# alias:" line ends at its line break: an alias holding one (or any
 * control character) is refused by the PEM writer, nothing is written,
 * and PKCS#12 still takes it; a file whose alias line holds one is read
 * with the default alias.  The written file is loaded whole and cut at
 * every byte: never a crash, never an alias with a control character. */
static void
test_pem_alias_line (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "alias.test", NULL };
  const char *hostile[] = {
    "evil\n-----BEGIN CERTIFICATE-----\nMIIB", "cr\rhere", "tab\there", "del\x7f", "nul-free\x01",
  };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autofree char *pem = stores_path_in (f, "alias.pem"), *p12 = stores_path_in (f, "alias.p12");
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  pst_keystore_add (ks, entry);
  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      pst_store_entry_set_alias (entry, hostile[i]);
      g_assert_false (pst_keystore_save (ks, pem, PST_STORE_FORMAT_PEM, NULL, &error));
      g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CERTIFICATE);
      g_assert_nonnull (strstr (error->message, "alias.pem"));
      g_assert_nonnull (strstr (error->message, "PKCS#12"));
      g_assert_null (strchr (error->message, '\n'));
      g_clear_error (&error);
      g_assert_false (g_file_test (pem, G_FILE_TEST_EXISTS));
    }
  /* the line break is escaped in the message */
  pst_store_entry_set_alias (entry, hostile[0]);
  g_assert_false (pst_keystore_save (ks, pem, PST_STORE_FORMAT_PEM, "pem-pw-2", &error));
  g_assert_nonnull (strstr (error->message, "evil\\x0A-----BEGIN"));
  g_clear_error (&error);
  g_assert_true (pst_keystore_save (ks, p12, PST_STORE_FORMAT_PKCS12, "pw-pw-pw", &error));
  g_assert_no_error (error);

  /* a file whose alias line holds a control character: the default alias */
  pst_store_entry_set_alias (entry, "first");
  g_assert_true (pst_keystore_save (ks, pem, PST_STORE_FORMAT_PEM, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pem, &text, &len, NULL));
  g_assert_true (g_str_has_prefix (text, "# alias: first\n"));
  text[strlen ("# alias: fi")] = '\x01';
  {
    g_autoptr(GBytes) bytes = g_bytes_new (text, len);
    g_autoptr(PstKeystore) back = pst_keystore_load_bytes (bytes, "ctl.pem", NULL, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (pst_store_entry_get_alias (pst_keystore_get_entry (back, 0)), ==, "alias.test");
  }
  g_clear_pointer (&text, g_free);

  /* a UTF-8 alias is written and read back whole; every cut loads or fails cleanly */
  pst_store_entry_set_alias (entry, "café ✓ #1");
  g_assert_true (pst_keystore_save (ks, pem, PST_STORE_FORMAT_PEM, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pem, &text, &len, NULL));
  for (gsize cut = 1; cut <= len; cut++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (text, cut);
      g_autoptr(PstKeystore) back = pst_keystore_load_bytes (bytes, "cut.pem", NULL, NULL, &error);

      if (back == NULL)
        {
          g_assert_true (error->code == PST_STORE_ERROR_CORRUPT || error->code == PST_STORE_ERROR_UNKNOWN_FORMAT);
          g_clear_error (&error);
          continue;
        }
      for (guint i = 0; i < pst_keystore_get_n_entries (back); i++)
        {
          const char *alias = pst_store_entry_get_alias (pst_keystore_get_entry (back, i));

          for (const char *c = alias; *c != '\0'; c++)
            g_assert_cmpint ((guchar) *c, >=, 0x20);
        }
      if (cut == len)
        g_assert_cmpstr (pst_store_entry_get_alias (pst_keystore_get_entry (back, 0)), ==, "café ✓ #1");
    }
}

/* ---- errors ------------------------------------------------------------ */

static void
test_wrong_password (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "pw.test", NULL };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autofree char *store = stores_path_in (f, "keystore.db");
  g_autofree char *pwfile = stores_path_in (f, "keystore.pw");
  g_autofree char *other_pw = stores_path_in (f, "other.pw");
  g_autofree char *expected = NULL, *expected2 = NULL;
  g_autofree char *o1 = NULL;
  g_autoptr(GError) error = NULL;
  PstKeystore *fail;

  pst_keystore_add (ks, entry);
  g_assert_true (pst_keystore_save (ks, store, PST_STORE_FORMAT_PKCS12, "right-one", &error));
  g_assert_true (g_file_set_contents (other_pw, "wrong-one\n", -1, NULL));

  fail = pst_keystore_open (store, other_pw, &error);
  g_assert_null (fail);
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  expected = g_strdup_printf ("wrong password for %s (read from %s)", store, other_pw);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  fail = pst_keystore_open (store, NULL, &error);   /* no keystore.pw: changeit */
  g_assert_null (fail);
  g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  expected2 = g_strdup_printf ("wrong password for %s (keytool’s default password “changeit”)", store);
  g_assert_cmpstr (error->message, ==, expected2);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (pwfile, "right-one\n", -1, NULL));
  {
    g_autoptr(PstKeystore) ok = pst_keystore_open (store, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (ok);
  }

  /* a keytool store too */
  {
    g_autofree char *kt = stores_path_in (f, "kt.db");
    o1 = RUN_OK ("keytool", "-genkeypair", "-keystore", kt, "-storetype", "PKCS12", "-storepass", "kt-pass",
                 "-alias", "a", "-keyalg", "EC", "-dname", "CN=a");
    fail = pst_keystore_load (kt, "nope-nope", other_pw, &error);
    g_assert_null (fail);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD);
  }
}

static void
assert_load_fails (const guint8 *data, gsize len, gboolean allow_pem_unknown)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstKeystore) ks = pst_keystore_load_bytes (bytes, "broken.db", "pw-pw-pw", NULL, &error);

  g_assert_null (ks);
  g_assert_nonnull (error);
  g_assert_true (error->domain == PST_STORE_ERROR);
  g_assert_true (error->code == PST_STORE_ERROR_CORRUPT || error->code == PST_STORE_ERROR_UNKNOWN_FORMAT ||
                 error->code == PST_STORE_ERROR_WRONG_PASSWORD);
  g_assert_nonnull (strstr (error->message, "broken.db"));
}

static void
test_truncated_and_random (StoresDirFixture *f, gconstpointer data)
{
  const char *names[] = { "trunc.test", NULL };
  g_autoptr(PstStoreEntry) entry = generate (names, PST_KEY_ECDSA_P256, FALSE, NULL);
  g_autoptr(PstKeystore) ks = pst_keystore_new ();
  g_autofree char *store = stores_path_in (f, "t.db"), *pem = stores_path_in (f, "t.pem");
  g_autofree char *content = NULL, *pem_data = NULL;
  gsize len = 0, pem_len = 0;
  g_autoptr(GError) error = NULL;
  guint8 random[4096];
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);

  pst_keystore_add (ks, entry);
  g_assert_true (pst_keystore_save (ks, store, PST_STORE_FORMAT_PKCS12, "pw-pw-pw", &error));
  g_assert_true (pst_keystore_save (ks, pem, PST_STORE_FORMAT_PEM, NULL, &error));
  g_assert_true (g_file_get_contents (store, &content, &len, NULL));
  g_assert_true (g_file_get_contents (pem, &pem_data, &pem_len, NULL));

  /* a cut anywhere: CORRUPT (or a wrong MAC), never a crash */
  for (gsize cut = 0; cut < len; cut += (cut < 64 ? 1 : 13))
    assert_load_fails ((const guint8 *) content, cut, FALSE);
  {
    g_autoptr(GBytes) bytes = g_bytes_new (content, len / 2);
    g_autoptr(PstKeystore) half = pst_keystore_load_bytes (bytes, "half.db", "pw-pw-pw", NULL, &error);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, "damaged or truncated"));
    g_clear_error (&error);
  }
  /* flipped bytes: the MAC or the decoder notices */
  for (guint i = 0; i < 200; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (content, len);
      copy[g_rand_int_range (rand, 0, len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      {
        g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&copy), len);
        g_autoptr(PstKeystore) maybe = pst_keystore_load_bytes (bytes, "flip.db", "pw-pw-pw", NULL, NULL);
        (void) maybe;   /* a flip in an unprotected field may still load */
      }
    }
  for (gsize cut = 0; cut < pem_len - 30; cut += 17)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (pem_data, cut);
      g_autoptr(PstKeystore) maybe = pst_keystore_load_bytes (bytes, "cut.pem", NULL, NULL, &error);
      if (maybe == NULL)
        {
          g_assert_true (error->code == PST_STORE_ERROR_CORRUPT || error->code == PST_STORE_ERROR_UNKNOWN_FORMAT);
          g_clear_error (&error);
        }
    }

  /* random bytes */
  for (guint round = 0; round < 50; round++)
    {
      for (guint i = 0; i < sizeof random; i++)
        random[i] = g_rand_int (rand);
      if (round == 0)
        random[0] = 0x42;   /* certainly not a DER SEQUENCE */
      {
        g_autoptr(GBytes) bytes = g_bytes_new (random, 64 + round * 64);
        g_autoptr(PstKeystore) none = pst_keystore_load_bytes (bytes, "random.db", NULL, NULL, &error);
        g_assert_null (none);
        if (round == 0)
          {
            g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_UNKNOWN_FORMAT);
            g_assert_nonnull (strstr (error->message, "random.db is not a key store"));
          }
        g_clear_error (&error);
      }
    }

  /* missing file, empty file */
  {
    g_autofree char *missing = stores_path_in (f, "missing.db");
    g_autoptr(PstKeystore) none = pst_keystore_load (missing, NULL, NULL, &error);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_NOT_FOUND);
    g_clear_error (&error);
    g_assert_true (g_file_set_contents (missing, "", 0, NULL));
    none = pst_keystore_load (missing, NULL, NULL, &error);
    g_assert_error (error, PST_STORE_ERROR, PST_STORE_ERROR_CORRUPT);
  }
}

/* ---- password files ------------------------------------------------------ */

static void
test_password_files (StoresDirFixture *f, gconstpointer data)
{
  g_autofree char *pw = stores_path_in (f, "new.pw");
  g_autofree char *crlf = stores_path_in (f, "crlf.pw");
  g_autofree char *empty = stores_path_in (f, "empty.pw");
  g_autofree char *p1 = NULL, *p2 = NULL, *read = NULL, *read2 = NULL;
  g_autofree char *d1 = NULL, *d2 = NULL, *d3 = NULL, *d4 = NULL;
  g_autoptr(GError) error = NULL;
  GStatBuf st;

  d1 = pst_password_default_path ("/srv/keystore.db");
  d2 = pst_password_default_path ("devca.p12");
  d3 = pst_password_default_path ("/srv/store");
  d4 = pst_password_default_path ("/srv/.hidden");
  g_assert_cmpstr (d1, ==, "/srv/keystore.pw");
  g_assert_cmpstr (d2, ==, "devca.pw");
  g_assert_cmpstr (d3, ==, "/srv/store.pw");
  g_assert_cmpstr (d4, ==, "/srv/.hidden.pw");

  p1 = pst_password_file_create (pw, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (p1), ==, 24);
  for (const char *c = p1; *c; c++)
    g_assert_true (g_ascii_isalnum (*c) || *c == '-' || *c == '_');
  g_assert_cmpint (g_stat (pw, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_false (pst_password_file_is_exposed (pw));
  read = pst_password_file_read (pw, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (read, ==, p1);

  p2 = pst_password_file_create (pw, &error);   /* never overwrites */
  g_assert_null (p2);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_EXIST);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (crlf, "with space \r\nsecond line\n", -1, NULL));
  g_chmod (crlf, 0644);
  g_assert_true (pst_password_file_is_exposed (crlf));
  read2 = pst_password_file_read (crlf, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (read2, ==, "with space ");

  g_assert_true (g_file_set_contents (empty, "\n", -1, NULL));
  g_assert_null (pst_password_file_read (empty, &error));
  g_assert_nonnull (strstr (error->message, empty));
  g_clear_error (&error);

  pst_password_free (g_strdup ("secret"));
  pst_password_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/stores/host/wildcard", test_host_wildcard);
  g_test_add_func ("/stores/host/ip", test_host_ip);
  g_test_add ("/stores/host/cn-only", StoresDirFixture, NULL, stores_dir_setup, test_host_cn, stores_dir_teardown);
  g_test_add_func ("/stores/host/prefer-exact", test_find_for_host);
  g_test_add ("/stores/load/keytool-pkcs12", StoresDirFixture, NULL, stores_dir_setup, test_keytool_pkcs12, stores_dir_teardown);
  g_test_add ("/stores/load/openssl-pkcs12", StoresDirFixture, NULL, stores_dir_setup, test_openssl_pkcs12, stores_dir_teardown);
  g_test_add ("/stores/load/pem", StoresDirFixture, NULL, stores_dir_setup, test_pem_load, stores_dir_teardown);
  g_test_add ("/stores/save/pkcs12", StoresDirFixture, NULL, stores_dir_setup, test_save_pkcs12, stores_dir_teardown);
  g_test_add ("/stores/save/truststore", StoresDirFixture, NULL, stores_dir_setup, test_save_truststore, stores_dir_teardown);
  g_test_add ("/stores/save/pem", StoresDirFixture, NULL, stores_dir_setup, test_save_pem, stores_dir_teardown);
  g_test_add ("/stores/save/pem-alias-line", StoresDirFixture, NULL, stores_dir_setup, test_pem_alias_line, stores_dir_teardown);
  g_test_add ("/stores/errors/wrong-password", StoresDirFixture, NULL, stores_dir_setup, test_wrong_password, stores_dir_teardown);
  g_test_add ("/stores/errors/truncated-random", StoresDirFixture, NULL, stores_dir_setup, test_truncated_and_random, stores_dir_teardown);
  g_test_add ("/stores/password-files", StoresDirFixture, NULL, stores_dir_setup, test_password_files, stores_dir_teardown);

  return g_test_run ();
}
