/* test-trust-database.c: PstTrustDatabase — anchors parsed once, chains
 * verified as glib-networking does (dates, key purpose, host name or IP)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-certgen.h"
#include "pst-trust-database.h"

typedef struct {
  PstStoreEntry *ca, *other_ca, *server, *client;
} Pki;

static Pki pki;

static PstStoreEntry *
make (const char *const *names, gboolean is_ca, gboolean client, PstStoreEntry *ca)
{
  g_autoptr(GError) error = NULL;
  PstCertRequest request = { .names = names, .is_ca = is_ca, .unconstrained = is_ca, .client = client };
  PstStoreEntry *entry = pst_cert_generate (&request, ca, &error);

  g_assert_no_error (error);
  return entry;
}

static GTlsDatabase *
db_of (PstStoreEntry *anchor)
{
  g_autoptr(GPtrArray) anchors = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  GTlsDatabase *db;

  if (anchor != NULL)
    g_ptr_array_add (anchors, pst_store_entry_get_certificate (anchor));
  db = pst_trust_database_new (anchors, "test", &error);
  g_assert_no_error (error);
  g_assert_true (PST_IS_TRUST_DATABASE (db));
  return db;
}

static GTlsCertificateFlags
verify (GTlsDatabase *db, PstStoreEntry *leaf, const char *purpose, GSocketConnectable *identity)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) chain = pst_store_entry_to_tls_certificate (leaf, &error);
  GTlsCertificateFlags flags;

  g_assert_no_error (error);
  g_assert_nonnull (g_tls_certificate_get_issuer (chain));   /* leaf + CA */
  flags = g_tls_database_verify_chain (db, chain, purpose, identity, NULL, G_TLS_DATABASE_VERIFY_NONE,
                                       NULL, &error);
  g_assert_no_error (error);
  return flags;
}

static void
test_server_identity (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);
  g_autoptr(GSocketConnectable) name = g_network_address_new ("localhost", 443);
  g_autoptr(GSocketConnectable) wrong = g_network_address_new ("other.test", 443);
  g_autoptr(GInetAddress) ip = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GInetAddress) ip2 = g_inet_address_new_from_string ("127.0.0.2");
  g_autoptr(GSocketConnectable) addr = G_SOCKET_CONNECTABLE (g_inet_socket_address_new (ip, 443));
  g_autoptr(GSocketConnectable) addr2 = G_SOCKET_CONNECTABLE (g_inet_socket_address_new (ip2, 443));
  const char *server = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER;

  g_assert_cmpuint (pst_trust_database_get_n_anchors (PST_TRUST_DATABASE (db)), ==, 1);
  g_assert_cmpint (verify (db, pki.server, server, name), ==, 0);
  g_assert_cmpint (verify (db, pki.server, server, addr), ==, 0);
  g_assert_cmpint (verify (db, pki.server, server, NULL), ==, 0);
  g_assert_cmpint (verify (db, pki.server, server, wrong), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
  g_assert_cmpint (verify (db, pki.server, server, addr2), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
}

static void
test_purpose (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);

  /* a client certificate for a client, not a server-only one */
  g_assert_cmpint (verify (db, pki.client, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT, NULL), ==, 0);
  g_assert_cmpint (verify (db, pki.server, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT, NULL), !=, 0);
}

static void
test_unknown_ca (void)
{
  g_autoptr(GTlsDatabase) other = db_of (pki.other_ca);
  g_autoptr(GTlsDatabase) empty = db_of (NULL);
  const char *server = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER;

  g_assert_cmpint (verify (other, pki.server, server, NULL) & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
  g_assert_cmpuint (pst_trust_database_get_n_anchors (PST_TRUST_DATABASE (empty)), ==, 0);
  g_assert_cmpint (verify (empty, pki.server, server, NULL) & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
}

static void
test_bad_anchor (void)
{
  g_autoptr(GPtrArray) anchors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) db = NULL;

  g_ptr_array_add (anchors, g_bytes_new_static ("\x30\x03\x02\x01\x00", 5));
  db = pst_trust_database_new (anchors, "broken.pem", &error);
  g_assert_null (db);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "broken.pem"));
}

static void
test_cancelled (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) chain = pst_store_entry_to_tls_certificate (pki.server, &error);
  GTlsCertificateFlags flags;

  g_cancellable_cancel (cancellable);
  flags = g_tls_database_verify_chain (db, chain, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, NULL, NULL,
                                       G_TLS_DATABASE_VERIFY_NONE, cancellable, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (flags, !=, 0);
}

static void
test_system (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsDatabase) db = pst_trust_database_new_system (&error);

  g_assert_no_error (error);
  g_assert_cmpuint (pst_trust_database_get_n_anchors (PST_TRUST_DATABASE (db)), >, 0);
  g_assert_cmpint (verify (db, pki.server, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, NULL)
                   & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
}

/* A chain that verified is not parsed and checked again (each back-end
 * connection presents the same one); anything that differs is. */
static void
test_cache (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);
  g_autoptr(GTlsDatabase) other = db_of (pki.other_ca);
  PstTrustDatabase *tdb = PST_TRUST_DATABASE (db);
  g_autoptr(GSocketConnectable) name = g_network_address_new ("localhost", 443);
  g_autoptr(GSocketConnectable) wrong = g_network_address_new ("other.test", 443);
  const char *server = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER;
  const char *client = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT;

  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 0);
  g_assert_cmpint (verify (db, pki.server, server, name), ==, 0);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 1);
  for (int i = 0; i < 5; i++)
    g_assert_cmpint (verify (db, pki.server, server, name), ==, 0);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 1);
  /* another identity, purpose or chain: verified, and failures every time */
  g_assert_cmpint (verify (db, pki.server, server, wrong), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
  g_assert_cmpint (verify (db, pki.server, server, wrong), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 3);
  g_assert_cmpint (verify (db, pki.server, client, name), !=, 0);
  g_assert_cmpint (verify (db, pki.server, server, NULL), ==, 0);
  g_assert_cmpint (verify (db, pki.client, client, NULL), ==, 0);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 6);
  /* another database (a new snapshot's truststore) knows nothing of it */
  g_assert_cmpint (verify (other, pki.server, server, name) & G_TLS_CERTIFICATE_UNKNOWN_CA, !=, 0);
  g_assert_cmpint (verify (db, pki.server, server, name), ==, 0);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 6);
}

/* A chain's DER, leaf first, as GnuTLS hands it to the back-end leg. */
static GPtrArray *
der_of (PstStoreEntry *leaf)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GTlsCertificate) chain = pst_store_entry_to_tls_certificate (leaf, &error);
  GPtrArray *ders = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);

  g_assert_no_error (error);
  for (GTlsCertificate *c = chain; c != NULL; c = g_tls_certificate_get_issuer (c))
    {
      GByteArray *der = NULL;

      g_object_get (c, "certificate", &der, NULL);
      g_assert_nonnull (der);
      g_ptr_array_add (ders, der);
    }
  return ders;
}

static gboolean
known (GTlsDatabase *db, GPtrArray *ders, const char *purpose, const char *name)
{
  gnutls_datum_t certs[8];

  g_assert_cmpuint (ders->len, <=, G_N_ELEMENTS (certs));
  for (guint i = 0; i < ders->len; i++)
    {
      GByteArray *der = ders->pdata[i];

      certs[i].data = der->data;
      certs[i].size = der->len;
    }
  return pst_trust_database_lookup_verified_der (PST_TRUST_DATABASE (db), certs, ders->len, purpose, name);
}

/* The back-end leg's look-up on raw DER (no GTlsCertificate): taken only
 * for exactly the chain, purpose, name and database verify_chain passed;
 * a failure is never found as a success. */
static void
test_cache_der (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);
  g_autoptr(GTlsDatabase) other = db_of (pki.ca);
  PstTrustDatabase *tdb = PST_TRUST_DATABASE (db);
  g_autoptr(GSocketConnectable) name = g_network_address_new ("localhost", 443);
  g_autoptr(GSocketConnectable) wrong = g_network_address_new ("other.test", 443);
  g_autoptr(GPtrArray) chain = der_of (pki.server);
  g_autoptr(GPtrArray) client = der_of (pki.client);
  g_autoptr(GPtrArray) leaf = g_ptr_array_new ();
  g_autoptr(GPtrArray) reversed = g_ptr_array_new ();
  g_autoptr(GPtrArray) longer = g_ptr_array_new ();
  g_autoptr(GPtrArray) altered = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  const char *server = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER;
  const char *client_purpose = G_TLS_DATABASE_PURPOSE_AUTHENTICATE_CLIENT;
  GByteArray *copy;

  g_assert_cmpuint (chain->len, ==, 2);
  g_assert_false (known (db, chain, server, "localhost"));   /* nothing verified yet */
  g_assert_cmpint (verify (db, pki.server, server, name), ==, 0);
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 1);
  g_assert_true (known (db, chain, server, "localhost"));

  /* another host name, no name, another purpose */
  g_assert_false (known (db, chain, server, "other.test"));
  g_assert_false (known (db, chain, server, "127.0.0.1"));
  g_assert_false (known (db, chain, server, "localhost."));
  g_assert_false (known (db, chain, server, "LOCALHOST"));
  g_assert_false (known (db, chain, server, NULL));
  g_assert_false (known (db, chain, client_purpose, "localhost"));
  g_assert_false (known (db, chain, NULL, "localhost"));
  /* another chain: another leaf, the leaf alone, another order, one
   * more certificate, one byte changed in the leaf */
  g_assert_false (known (db, client, server, "localhost"));
  g_ptr_array_add (leaf, chain->pdata[0]);
  g_assert_false (known (db, leaf, server, "localhost"));
  g_ptr_array_add (reversed, chain->pdata[1]);
  g_ptr_array_add (reversed, chain->pdata[0]);
  g_assert_false (known (db, reversed, server, "localhost"));
  g_ptr_array_add (longer, chain->pdata[0]);
  g_ptr_array_add (longer, chain->pdata[1]);
  g_ptr_array_add (longer, chain->pdata[1]);
  g_assert_false (known (db, longer, server, "localhost"));
  for (guint i = 0; i < chain->len; i++)
    {
      GByteArray *der = chain->pdata[i];

      copy = g_byte_array_sized_new (der->len);
      g_byte_array_append (copy, der->data, der->len);
      g_ptr_array_add (altered, copy);
    }
  copy = altered->pdata[0];
  copy->data[copy->len - 1] ^= 0x01;                       /* the signature's last byte */
  g_assert_false (known (db, altered, server, "localhost"));
  g_assert_false (pst_trust_database_lookup_verified_der (tdb, NULL, 0, server, "localhost"));
  /* another database (the next snapshot's), even with the same anchor */
  g_assert_false (known (other, chain, server, "localhost"));

  /* a failed verification is never found */
  g_assert_cmpint (verify (db, pki.server, server, wrong), ==, G_TLS_CERTIFICATE_BAD_IDENTITY);
  g_assert_false (known (db, chain, server, "other.test"));
  g_assert_cmpint (verify (other, pki.server, client_purpose, name), !=, 0);
  g_assert_false (known (other, chain, client_purpose, "localhost"));
  /* look-ups verify nothing; the one verified chain is still known */
  g_assert_cmpuint (pst_trust_database_get_n_full_verifications (tdb), ==, 2);
  g_assert_true (known (db, chain, server, "localhost"));
}

/* Handshake threads verify at the same time against one database. */
static gpointer
verify_many (gpointer data)
{
  GTlsDatabase *db = data;
  g_autoptr(GSocketConnectable) name = g_network_address_new ("localhost", 443);
  guint bad = 0;

  for (int i = 0; i < 100; i++)
    bad += verify (db, pki.server, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, name) != 0;
  return GUINT_TO_POINTER (bad);
}

static void
test_threads (void)
{
  g_autoptr(GTlsDatabase) db = db_of (pki.ca);
  GThread *threads[4];
  guint bad = 0;

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("verify", verify_many, db);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    bad += GPOINTER_TO_UINT (g_thread_join (threads[i]));
  g_assert_cmpuint (bad, ==, 0);
}

int
main (int argc, char **argv)
{
  const char *ca_names[] = { "ca.test", NULL };
  const char *other_names[] = { "ca.other.test", NULL };
  const char *server_names[] = { "localhost", "127.0.0.1", NULL };
  const char *client_names[] = { "client.test", NULL };
  int status;

  g_test_init (&argc, &argv, NULL);
  pki.ca = make (ca_names, TRUE, FALSE, NULL);
  pki.other_ca = make (other_names, TRUE, FALSE, NULL);
  pki.server = make (server_names, FALSE, FALSE, pki.ca);
  pki.client = make (client_names, FALSE, TRUE, pki.ca);

  g_test_add_func ("/trust-database/server-identity", test_server_identity);
  g_test_add_func ("/trust-database/purpose", test_purpose);
  g_test_add_func ("/trust-database/unknown-ca", test_unknown_ca);
  g_test_add_func ("/trust-database/bad-anchor", test_bad_anchor);
  g_test_add_func ("/trust-database/cancelled", test_cancelled);
  g_test_add_func ("/trust-database/system", test_system);
  g_test_add_func ("/trust-database/threads", test_threads);
  g_test_add_func ("/trust-database/cache", test_cache);
  g_test_add_func ("/trust-database/cache-der", test_cache_der);
  status = g_test_run ();
  g_object_unref (pki.ca);
  g_object_unref (pki.other_ca);
  g_object_unref (pki.server);
  g_object_unref (pki.client);
  return status;
}
