/* test-trust-parse.c: the trust doctor's readers of certutil listings and PEM, on known answers and cut inputs
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-trust-doctor.h"
#include "pst-trust-doctor-private.h"

static const char listing[] =
  "\n"
  "Certificate Nickname                                         Trust Attributes\n"
  "                                                             SSL,S/MIME,JAR/XPI\n"
  "\n"
  "postern development ca on vm                                 C,,\n"
  "localhost                                                    u,u,u\r\n"
  "Back-end Test CA                                             CT,C,C\n"
  "no trust field on this line\n"
  "C,,\n"
  "ünïcødé name   P,,";

typedef struct { const char *nickname, *trust; } Expected;

static const Expected expected[] = {
  { "postern development ca on vm", "C,," },
  { "localhost", "u,u,u" },
  { "Back-end Test CA", "CT,C,C" },
  { "ünïcødé name", "P,," },
};

static void
test_certutil_known (void)
{
  g_autoptr(GPtrArray) entries = pst_trust_parse_certutil_list (listing, strlen (listing));

  g_assert_cmpuint (entries->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < entries->len; i++)
    {
      PstNssEntry *e = entries->pdata[i];
      g_assert_cmpstr (e->nickname, ==, expected[i].nickname);
      g_assert_cmpstr (e->trust, ==, expected[i].trust);
    }
}

/* Line by line: every row whose line is not cut is found on one side of
 * the cut or the other, in order; the cut line gives at most one row. */
static void
test_certutil_split (void)
{
  gsize len = strlen (listing);
  g_autoptr(GPtrArray) whole = pst_trust_parse_certutil_list (listing, len);

  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autoptr(GPtrArray) a = pst_trust_parse_certutil_list (listing, cut);
      g_autoptr(GPtrArray) b = pst_trust_parse_certutil_list (listing + cut, len - cut);
      guint found = 0;

      g_assert_cmpuint (a->len + b->len, <=, whole->len + 1);
      g_assert_cmpuint (a->len + b->len + 1, >=, whole->len);
      for (guint i = 0; i < whole->len; i++)
        {
          PstNssEntry *w = whole->pdata[i];

          for (guint j = 0; j < a->len + b->len; j++)
            {
              PstNssEntry *e = j < a->len ? a->pdata[j] : b->pdata[j - a->len];
              if (g_str_equal (e->nickname, w->nickname) && g_str_equal (e->trust, w->trust))
                {
                  found++;
                  break;
                }
            }
        }
      g_assert_cmpuint (found + 1, >=, whole->len);
    }
}

static void
test_pem (void)
{
  const char *names[] = { "pem.test", NULL };
  PstCertRequest request = { .names = names, .key_type = PST_KEY_ECDSA_P256 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PstStoreEntry) entry = pst_cert_generate (&request, NULL, &error);
  g_autofree char *pem = NULL;
  g_autoptr(GString) text = g_string_new ("garbage before\n");
  GBytes *der;
  gsize len;

  g_assert_no_error (error);
  der = pst_store_entry_get_certificate (entry);
  pem = pst_cert_der_to_pem (der);
  g_string_append (text, pem);
  g_string_append (text, "between\r\n");
  /* certutil -a writes CRLF line ends */
  {
    g_autoptr(GString) crlf = g_string_new (pem);
    g_string_replace (crlf, "\n", "\r\n", 0);
    g_string_append (text, crlf->str);
  }
  len = text->len;

  {
    g_autoptr(GPtrArray) certs = pst_trust_parse_pem_certs (text->str, len);
    g_assert_cmpuint (certs->len, ==, 2);
    g_assert_true (g_bytes_equal (certs->pdata[0], der));
    g_assert_true (g_bytes_equal (certs->pdata[1], der));
  }
  /* a prefix holds the certificates whose END line it holds, whole */
  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autoptr(GPtrArray) certs = pst_trust_parse_pem_certs (text->str, cut);
      guint ends = 0;
      const char *p = text->str;

      while ((p = g_strstr_len (p, cut - (p - text->str), "-----END CERTIFICATE-----")) != NULL)
        {
          ends++;
          p += 25;
        }
      g_assert_cmpuint (certs->len, ==, ends);
      for (guint i = 0; i < certs->len; i++)
        g_assert_true (g_bytes_equal (certs->pdata[i], der));
    }
}

static void
test_quote_and_rows (void)
{
  g_autofree char *plain = pst_trust_quote ("conf/devca.p12");
  g_autofree char *spaced = pst_trust_quote ("postern development ca on vm");
  g_autofree char *empty = pst_trust_quote ("");
  g_autoptr(PstTrustRow) ok = pst_trust_row_new (PST_TRUST_SECTION_CLIENTS, "k", "s", "c",
                                                 PST_TRUST_STATUS_OK, TRUE, NULL, "fix");
  g_autoptr(PstTrustRow) fail = pst_trust_row_new (PST_TRUST_SECTION_BACKENDS, "k2", "s", "c",
                                                   PST_TRUST_STATUS_FAIL, TRUE, "d", "fix");
  g_autoptr(GListStore) store = g_list_store_new (PST_TYPE_TRUST_ROW);
  g_autofree char *status = NULL;

  g_assert_cmpstr (plain, ==, "conf/devca.p12");
  g_assert_cmpstr (spaced, ==, "'postern development ca on vm'");
  g_assert_cmpstr (empty, ==, "''");
  /* an OK row has nothing to fix */
  g_assert_null (pst_trust_row_get_fix (ok));
  g_assert_cmpstr (pst_trust_row_get_detail (ok), ==, "");
  g_assert_cmpstr (pst_trust_row_get_fix (fail), ==, "fix");
  g_object_get (fail, "status", &status, NULL);
  g_assert_cmpstr (status, ==, "fail");

  g_list_store_append (store, ok);
  g_assert_true (pst_trust_report_is_trusted (G_LIST_MODEL (store)));
  g_list_store_append (store, fail);
  g_assert_false (pst_trust_report_is_trusted (G_LIST_MODEL (store)));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/trust/certutil/known", test_certutil_known);
  g_test_add_func ("/trust/certutil/split", test_certutil_split);
  g_test_add_func ("/trust/pem", test_pem);
  g_test_add_func ("/trust/quote-and-rows", test_quote_and_rows);
  return g_test_run ();
}
