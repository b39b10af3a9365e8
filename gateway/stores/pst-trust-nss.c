/* pst-trust-nss.c: the trust doctor's NSS rows (Chromium's ~/.pki/nssdb, Firefox profiles) via certutil
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-trust-doctor-private.h"

#define TOOL_TIMEOUT_MS   5000
#define MAX_NSS_ENTRIES   4096   /* rows read from one listing */
#define MAX_LOOKUPS       64     /* CA nicknames looked at per database */
#define MAX_PEM_CERTS     256

void
pst_nss_entry_free (PstNssEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->nickname);
  g_free (entry->trust);
  g_free (entry);
}

/* "C,,", "CT,C,C", ",,": three comma-separated sets of trust letters */
static gboolean
is_trust_field (const char *text, gsize len)
{
  guint commas = 0;

  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == ',')
        commas++;
      else if (!g_ascii_isalpha (text[i]))
        return FALSE;
    }
  return commas == 2;
}

/**
 * pst_trust_parse_certutil_list:
 * @text: output of `certutil -L -d DB` (not necessarily NUL-terminated)
 * @len: its length
 *
 * A line is a nickname, blanks, and the trust attributes; the header
 * lines and anything else are skipped.
 *
 * Returns: (transfer full) (element-type PstNssEntry): the entries
 */
GPtrArray *
pst_trust_parse_certutil_list (const char *text,
                               gsize       len)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) pst_nss_entry_free);
  gsize pos = 0;

  while (pos < len && entries->len < MAX_NSS_ENTRIES)
    {
      const char *line = text + pos;
      const char *nl = memchr (line, '\n', len - pos);
      gsize line_len = nl != NULL ? (gsize) (nl - line) : len - pos;
      gsize end = line_len, start;
      PstNssEntry *entry;

      pos += line_len + (nl != NULL ? 1 : 0);
      while (end > 0 && g_ascii_isspace (line[end - 1]))
        end--;
      start = end;
      while (start > 0 && !g_ascii_isspace (line[start - 1]))
        start--;
      if (start == 0 || !is_trust_field (line + start, end - start))
        continue;
      /* the nickname ends at the run of blanks before the trust field */
      {
        gsize nick_end = start;

        while (nick_end > 0 && g_ascii_isspace (line[nick_end - 1]))
          nick_end--;
        if (nick_end == 0 || !g_utf8_validate (line, nick_end, NULL) || memchr (line, '\0', nick_end) != NULL)
          continue;
        entry = g_new0 (PstNssEntry, 1);
        entry->nickname = g_strndup (line, nick_end);
        entry->trust = g_strndup (line + start, end - start);
        g_ptr_array_add (entries, entry);
      }
    }
  return entries;
}

/**
 * pst_trust_parse_pem_certs:
 * @text: PEM text (certutil -a), not necessarily NUL-terminated
 * @len: its length
 *
 * Returns: (transfer full) (element-type GBytes): the DER of each
 *   CERTIFICATE block that decodes
 */
GPtrArray *
pst_trust_parse_pem_certs (const char *text,
                           gsize       len)
{
  static const char begin[] = "-----BEGIN CERTIFICATE-----";
  static const char end[] = "-----END CERTIFICATE-----";
  GPtrArray *certs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  const char *p = text, *limit = text + len;

  while (certs->len < MAX_PEM_CERTS && p < limit)
    {
      const char *b = g_strstr_len (p, limit - p, begin);
      const char *e;
      g_autofree char *body = NULL;
      guchar *der;
      gsize der_len = 0;

      if (b == NULL)
        break;
      b += strlen (begin);
      e = g_strstr_len (b, limit - b, end);
      if (e == NULL)
        break;
      body = g_strndup (b, e - b);
      p = e + strlen (end);
      /* g_base64_decode skips what is not base64 (line ends, CRs) */
      der = g_base64_decode (body, &der_len);
      if (der_len > 0)
        g_ptr_array_add (certs, g_bytes_new_take (der, der_len));
      else
        g_free (der);
    }
  return certs;
}

static GPtrArray *
nss_databases (void)
{
  GPtrArray *dbs = g_ptr_array_new_with_free_func (g_free);
  const char *firefox_roots[] = { ".mozilla/firefox", "snap/firefox/common/.mozilla/firefox" };

  /* Chromium's is listed even when missing: it is the browser fix's target */
  g_ptr_array_add (dbs, g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (firefox_roots); i++)
    {
      g_autofree char *root = g_build_filename (g_get_home_dir (), firefox_roots[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (root, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *profile = g_build_filename (root, name, NULL);
          g_autofree char *cert9 = g_build_filename (profile, "cert9.db", NULL);

          if (g_file_test (cert9, G_FILE_TEST_EXISTS))
            g_ptr_array_add (dbs, g_steal_pointer (&profile));
        }
    }
  return dbs;
}

/* Does the database trust der as an issuer of TLS servers (or, for a
 * self-signed leaf, as a peer)? */
static gboolean
nss_trusts (const char      *sql,
            PstTrustAnchor  *anchor,
            GError         **error)
{
  const char *list[] = { "certutil", "-L", "-d", sql, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  guint lookups = 0;

  if (!pst_trust_run_tool (list, TOOL_TIMEOUT_MS, &out, error))
    return FALSE;
  entries = pst_trust_parse_certutil_list (out, strlen (out));
  for (guint i = 0; i < entries->len && lookups < MAX_LOOKUPS; i++)
    {
      PstNssEntry *entry = entries->pdata[i];
      const char *comma = strchr (entry->trust, ',');
      g_autofree char *ssl = g_strndup (entry->trust, comma - entry->trust);
      const char *show[] = { "certutil", "-L", "-d", sql, "-n", entry->nickname, "-a", NULL };
      g_autofree char *pem = NULL;
      g_autoptr(GPtrArray) certs = NULL;

      if (strchr (ssl, 'C') == NULL && (anchor->is_ca || strchr (ssl, 'P') == NULL))
        continue;
      lookups++;
      if (!pst_trust_run_tool (show, TOOL_TIMEOUT_MS, &pem, NULL))
        continue;
      certs = pst_trust_parse_pem_certs (pem, strlen (pem));
      for (guint c = 0; c < certs->len; c++)
        if (g_bytes_equal (certs->pdata[c], anchor->der))
          return TRUE;
    }
  return FALSE;
}

static char *
nss_fix (PstTrustAnchor *anchor,
         const char     *dir)
{
  g_autofree char *store = NULL;
  g_autofree char *alias = NULL;
  g_autofree char *sql = g_strconcat ("sql:", dir, NULL);
  g_autofree char *qsql = pst_trust_quote (sql);

  if (anchor->store == NULL)
    return NULL;
  store = pst_trust_quote (anchor->store);
  alias = pst_trust_quote (anchor->alias);
  if (anchor->local_ca)
    return g_strdup_printf ("postern cert install-ca %s --nss", store);
  return g_strdup_printf ("postern cert export %s %s --out gateway-cert.pem --format pem%s && "
                          "certutil -A -d %s -t %s -n %s -i gateway-cert.pem",
                          store, alias, anchor->password_keyring ? " --password-keyring" : "",
                          qsql, anchor->is_ca ? "C,," : "P,,", alias);
}

void
pst_trust_check_nss (PstTrustPlan   *plan,
                     PstTrustAnchor *anchor,
                     GPtrArray      *rows,
                     gboolean       *any_trusts)
{
  g_autoptr(GPtrArray) dbs = nss_databases ();
  g_autofree char *certutil = g_find_program_in_path ("certutil");
  g_autofree char *check = g_strdup_printf (_("trusts “%s”"), anchor->name);

  for (guint i = 0; i < dbs->len; i++)
    {
      const char *dir = dbs->pdata[i];
      g_autofree char *cert9 = g_build_filename (dir, "cert9.db", NULL);
      g_autofree char *sql = g_strconcat ("sql:", dir, NULL);
      g_autofree char *key = g_strdup_printf ("nss:%s", dir);
      g_autofree char *subject = g_strdup_printf (i == 0 ? _("NSS %s (Chromium, Chrome)")
                                                         : _("NSS %s (Firefox)"), dir);
      g_autofree char *fix = nss_fix (anchor, dir);
      g_autoptr(GError) error = NULL;

      if (!g_file_test (cert9, G_FILE_TEST_EXISTS))
        {
          pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check, PST_TRUST_STATUS_FAIL, FALSE,
                         _("there is no NSS database yet (the browser has not run, or runs as another user)"),
                         anchor->local_ca ? fix : NULL);
          continue;
        }
      if (certutil == NULL)
        {
          pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check, PST_TRUST_STATUS_FAIL, FALSE,
                         _("certutil is not installed, so the database cannot be read"),
                         "sudo apt-get install libnss3-tools");
          continue;
        }
      if (nss_trusts (sql, anchor, &error))
        {
          *any_trusts = TRUE;
          pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check, PST_TRUST_STATUS_OK, FALSE,
                         _("trusted for TLS servers"), NULL);
        }
      else
        pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check, PST_TRUST_STATUS_FAIL, FALSE,
                       error != NULL ? error->message : _("not in the database as a trusted CA"), fix);
    }
}
