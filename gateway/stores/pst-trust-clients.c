/* pst-trust-clients.c: the trust doctor's rows for programs on this machine (system, Java, Node, Python, curl)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-trust-doctor-private.h"

#define SYSTEM_BUNDLE        "/etc/ssl/certs/ca-certificates.crt"
#define JAVA_PASSWORD        "changeit"   /* the JDK's published default, not a secret */
#define TOOL_TIMEOUT_MS      5000
#define MAX_CAPATH_FILES     4096

static char *
real_path (const char *path)
{
  char *real = realpath (path, NULL);
  char *copy = g_strdup (real != NULL ? real : path);

  free (real);
  return copy;
}

static gboolean
is_system_bundle (const char *path)
{
  g_autofree char *a = real_path (path);
  g_autofree char *b = real_path (SYSTEM_BUNDLE);

  return g_str_equal (a, b);
}

/* Where `postern cert export` puts the anchor for NODE_EXTRA_CA_CERTS and
 * friends: beside its store, .pem instead of the extension, absolute. */
static char *
anchor_pem_path (PstTrustAnchor *anchor)
{
  g_autofree char *absolute = g_canonicalize_filename (anchor->store, NULL);
  const char *dot = strrchr (absolute, '.');
  const char *slash = strrchr (absolute, '/');

  /* devca.p12 → devca.pem; a self-signed keystore.db entry → keystore-gateway.pem */
  if (dot != NULL && dot > slash)
    return g_strdup_printf ("%.*s%s.pem", (int) (dot - absolute), absolute, anchor->local_ca ? "" : "-gateway");
  return g_strconcat (absolute, ".pem", NULL);
}

static char *
export_command (PstTrustAnchor *anchor,
                const char     *out)
{
  g_autofree char *store = pst_trust_quote (anchor->store);
  g_autofree char *alias = pst_trust_quote (anchor->alias);
  g_autofree char *qout = pst_trust_quote (out);

  return g_strdup_printf ("postern cert export %s %s --out %s --format pem", store, alias, qout);
}

/* Fix commands need a store holding the anchor; none for a CA that is only
 * in the keystore's chain. */
static char *
system_fix (PstTrustAnchor *anchor)
{
  g_autofree char *store = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *export = NULL;
  g_autofree char *qpem = NULL;

  if (anchor->store == NULL)
    return NULL;
  store = pst_trust_quote (anchor->store);
  pem = anchor_pem_path (anchor);
  export = export_command (anchor, pem);
  qpem = pst_trust_quote (pem);
  if (anchor->local_ca)
    return g_strdup_printf ("sudo postern cert install-ca %s --system", store);
  return g_strdup_printf ("%s && sudo cp %s /usr/local/share/ca-certificates/postern-gateway.crt && "
                          "sudo update-ca-certificates", export, qpem);
}

/* For a variable naming a CA file: make the file and point the variable at
 * it, or add the anchor to the file it names already. */
static char *
variable_fix (PstTrustAnchor *anchor,
              const char     *variable,
              const char     *current)
{
  g_autofree char *pem = NULL;
  g_autofree char *export = NULL;
  g_autofree char *qpem = NULL;

  /* appending to the system bundle would not survive update-ca-certificates */
  if (current != NULL && current[0] != '\0' && is_system_bundle (current))
    return system_fix (anchor);
  if (anchor->store == NULL)
    return NULL;
  pem = anchor_pem_path (anchor);
  export = export_command (anchor, pem);
  qpem = pst_trust_quote (pem);
  if (current != NULL && current[0] != '\0')
    {
      g_autofree char *qcurrent = pst_trust_quote (current);
      return g_strdup_printf ("%s && cat %s >> %s", export, qpem, qcurrent);
    }
  return g_strdup_printf ("%s && export %s=%s", export, variable, qpem);
}

static void
check_system (PstTrustAnchor *anchor,
              const char     *check,
              GPtrArray      *rows,
              gboolean       *trusted)
{
  g_autofree char *fix = system_fix (anchor);
  g_autofree char *subject = g_strdup_printf (_("system store %s"), SYSTEM_BUNDLE);

  *trusted = pst_trust_file_has_cert (SYSTEM_BUNDLE, anchor->der);
  pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "system", subject, check,
                 *trusted ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, FALSE,
                 *trusted ? _("in the bundle (GNOME Web and other GLib programs, OpenSSL and GnuTLS ones)")
                          : _("not in the bundle that GNOME Web, GLib, OpenSSL and GnuTLS programs read "
                              "(Chromium and Firefox read only NSS)"),
                 fix);
}

/* Java: each distinct cacerts of the JDKs found (Debian's JDKs share /etc/ssl/certs/java/cacerts) */

static void
add_jdk (GHashTable *cacerts,
         GPtrArray  *order,
         const char *home)
{
  g_autofree char *file = g_build_filename (home, "lib", "security", "cacerts", NULL);
  g_autofree char *real = NULL;
  GPtrArray *homes;

  if (!g_file_test (file, G_FILE_TEST_EXISTS))
    return;
  real = real_path (file);
  homes = g_hash_table_lookup (cacerts, real);
  if (homes == NULL)
    {
      homes = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (cacerts, g_strdup (real), homes);
      g_ptr_array_add (order, g_strdup (real));
    }
  for (guint i = 0; i < homes->len; i++)
    if (g_str_equal (homes->pdata[i], home))
      return;
  g_ptr_array_add (homes, g_strdup (home));
}

static void
check_java (PstTrustAnchor *anchor,
            const char     *check,
            GPtrArray      *rows)
{
  g_autoptr(GHashTable) cacerts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) jvm = g_dir_open ("/usr/lib/jvm", 0, NULL);
  const char *java_home = g_getenv ("JAVA_HOME");
  g_autofree char *store = anchor->store != NULL ? pst_trust_quote (anchor->store) : NULL;
  const char *name;

  if (java_home != NULL && java_home[0] != '\0')
    add_jdk (cacerts, order, java_home);
  while (jvm != NULL && (name = g_dir_read_name (jvm)) != NULL)
    {
      g_autofree char *home = g_build_filename ("/usr/lib/jvm", name, NULL);

      /* java-17-openjdk-amd64 and its alias links are one JDK */
      if (!g_file_test (home, G_FILE_TEST_IS_SYMLINK))
        add_jdk (cacerts, order, home);
    }
  if (order->len == 0)
    {
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "java", _("Java"), check, PST_TRUST_STATUS_INFO, FALSE,
                     _("no JDK found (JAVA_HOME, /usr/lib/jvm)"), NULL);
      return;
    }
  for (guint i = 0; i < order->len; i++)
    {
      const char *path = order->pdata[i];
      GPtrArray *homes = g_hash_table_lookup (cacerts, path);
      g_autoptr(GError) error = NULL;
      g_autoptr(PstKeystore) keystore = pst_keystore_load (path, JAVA_PASSWORD, NULL, &error);
      g_autofree char *key = g_strdup_printf ("java:%s", path);
      g_autoptr(GString) jdks = g_string_new (NULL);
      g_autofree char *subject = NULL;
      g_autofree char *fix = NULL;
      g_autofree char *qhome = pst_trust_quote (homes->pdata[0]);
      gboolean trusted = keystore != NULL && pst_keystore_lookup_certificate (keystore, anchor->der) != NULL;

      for (guint h = 0; h < homes->len; h++)
        {
          g_autofree char *base = g_path_get_basename (homes->pdata[h]);
          g_string_append_printf (jdks, "%s%s", h > 0 ? ", " : "", base);
        }
      subject = g_strdup_printf (_("Java cacerts %s (%s)"), path, jdks->str);
      if (anchor->local_ca)
        fix = g_strdup_printf ("sudo JAVA_HOME=%s postern cert install-ca %s --java", qhome, store);
      else if (anchor->store != NULL)
        {
          g_autofree char *pem = anchor_pem_path (anchor);
          g_autofree char *export = export_command (anchor, pem);
          g_autofree char *qpem = pst_trust_quote (pem);
          g_autofree char *qpath = pst_trust_quote (path);
          g_autofree char *alias = pst_trust_quote (anchor->alias);

          fix = g_strdup_printf ("%s && sudo keytool -importcert -noprompt -keystore %s -storepass changeit "
                                 "-alias %s -file %s", export, qpath, alias, qpem);
        }
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check,
                     trusted ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, FALSE,
                     keystore == NULL ? error->message
                                      : trusted ? _("a trusted entry") : _("not among its trusted entries"),
                     fix);
    }
}

static void
check_node (PstTrustAnchor *anchor,
            const char     *check,
            gboolean        system_trusts,
            GPtrArray      *rows)
{
  const char *extra = g_getenv ("NODE_EXTRA_CA_CERTS");
  g_autofree char *node = g_find_program_in_path ("node");
  g_autofree char *fix = NULL;
  g_autofree char *detail = NULL;
  gboolean trusted;

  if (node == NULL)
    node = g_find_program_in_path ("nodejs");
  if (node == NULL)
    {
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "node", _("Node.js"), check, PST_TRUST_STATUS_INFO, FALSE,
                     _("node is not installed"), NULL);
      return;
    }
  if (extra != NULL && extra[0] != '\0')
    {
      trusted = pst_trust_file_has_cert (extra, anchor->der);
      detail = g_strdup_printf (trusted ? _("in NODE_EXTRA_CA_CERTS=%s")
                                        : _("not in NODE_EXTRA_CA_CERTS=%s (read when node starts)"), extra);
      fix = variable_fix (anchor, "NODE_EXTRA_CA_CERTS", g_file_test (extra, G_FILE_TEST_EXISTS) ? extra : NULL);
    }
  else
    {
      const char *argv[] = { node, "-p", "process.config.variables.node_use_openssl_ca", NULL };
      g_autofree char *out = NULL;
      gboolean openssl_ca = pst_trust_run_tool (argv, TOOL_TIMEOUT_MS, &out, NULL) &&
                            g_str_equal (g_strstrip (out), "true");

      if (openssl_ca)
        {
          trusted = system_trusts;
          detail = g_strdup (trusted ? _("NODE_EXTRA_CA_CERTS is not set; this node uses the system store, which trusts it")
                                     : _("NODE_EXTRA_CA_CERTS is not set; this node uses the system store, which does not trust it"));
        }
      else
        {
          trusted = FALSE;
          detail = g_strdup (_("NODE_EXTRA_CA_CERTS is not set, and node uses its own bundled CA list, "
                               "which ignores the system store"));
        }
      fix = variable_fix (anchor, "NODE_EXTRA_CA_CERTS", NULL);
    }
  pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "node", "Node.js", check,
                 trusted ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, FALSE, detail, fix);
}

/* OpenSSL's hashed folder: files named HHHHHHHH.N */
static gboolean
capath_has_cert (const char *capath,
                 GBytes     *der)
{
  g_autoptr(GDir) dir = g_dir_open (capath, 0, NULL);
  const char *name;
  guint seen = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL && seen < MAX_CAPATH_FILES)
    {
      const char *dot = strchr (name, '.');
      g_autofree char *path = NULL;
      gboolean hashed = dot != NULL && dot - name == 8 && dot[1] != '\0';

      for (const char *p = name; hashed && p < dot; p++)
        hashed = g_ascii_isxdigit (*p);
      for (const char *p = dot != NULL ? dot + 1 : ""; hashed && *p != '\0'; p++)
        hashed = g_ascii_isdigit (*p);
      if (!hashed)
        continue;
      seen++;
      path = g_build_filename (capath, name, NULL);
      if (pst_trust_file_has_cert (path, der))
        return TRUE;
    }
  return FALSE;
}

static void
check_python (PstTrustAnchor *anchor,
              const char     *check,
              GPtrArray      *rows)
{
  g_autofree char *on_path = g_find_program_in_path ("python3");
  const char *candidates[] = { "/usr/bin/python3", on_path };
  g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func (g_free);
  const char *ssl_cert_file = g_getenv ("SSL_CERT_FILE");

  for (gsize c = 0; c < G_N_ELEMENTS (candidates); c++)
    {
      const char *python = candidates[c];
      const char *argv[] = { python, "-c",
                             "import ssl; p = ssl.get_default_verify_paths(); "
                             "print(p.cafile or ''); print(p.capath or '')", NULL };
      g_autofree char *real = NULL;
      g_autofree char *out = NULL;
      g_autofree char *key = NULL;
      g_autofree char *subject = NULL;
      g_autofree char *detail = NULL;
      g_autofree char *fix = NULL;
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) lines = NULL;
      const char *cafile, *capath;
      gboolean trusted, in_system;
      gboolean listed = FALSE;

      if (python == NULL || !g_file_test (python, G_FILE_TEST_IS_EXECUTABLE))
        continue;
      real = real_path (python);
      for (guint i = 0; i < seen->len; i++)
        listed |= g_str_equal (seen->pdata[i], real);
      if (listed)
        continue;
      g_ptr_array_add (seen, g_strdup (real));
      key = g_strdup_printf ("python:%s", python);
      subject = g_strdup_printf (_("Python %s (ssl default paths)"), python);
      if (!pst_trust_run_tool (argv, TOOL_TIMEOUT_MS, &out, &error))
        {
          pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check, PST_TRUST_STATUS_INFO, FALSE,
                         error->message, NULL);
          continue;
        }
      lines = g_strsplit (out, "\n", 3);
      cafile = lines[0] != NULL ? lines[0] : "";
      capath = lines[0] != NULL && lines[1] != NULL ? lines[1] : "";
      trusted = (cafile[0] != '\0' && pst_trust_file_has_cert (cafile, anchor->der)) ||
                (capath[0] != '\0' && capath_has_cert (capath, anchor->der));
      in_system = (cafile[0] == '\0' || is_system_bundle (cafile));
      detail = g_strdup_printf (_("cafile=%s capath=%s%s"), cafile[0] != '\0' ? cafile : "-",
                                capath[0] != '\0' ? capath : "-",
                                ssl_cert_file != NULL && ssl_cert_file[0] != '\0' ? _(" (from SSL_CERT_FILE)") : "");
      if (ssl_cert_file != NULL && ssl_cert_file[0] != '\0')
        fix = variable_fix (anchor, "SSL_CERT_FILE", ssl_cert_file);
      else if (in_system)
        fix = system_fix (anchor);
      else
        fix = variable_fix (anchor, "SSL_CERT_FILE", cafile);
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, key, subject, check,
                     trusted ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, FALSE, detail, fix);
    }
}

static void
check_curl (PstTrustAnchor *anchor,
            const char     *check,
            GPtrArray      *rows)
{
  g_autofree char *curl = g_find_program_in_path ("curl");
  g_autofree char *bundle = NULL;
  g_autofree char *detail = NULL;
  g_autofree char *fix = NULL;
  const char *from = NULL;
  const char *variables[] = { "CURL_CA_BUNDLE", "SSL_CERT_FILE" };
  gboolean trusted;

  if (curl == NULL)
    {
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "curl", "curl", check, PST_TRUST_STATUS_INFO, FALSE,
                     _("curl is not installed"), NULL);
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (variables) && bundle == NULL; i++)
    if (g_getenv (variables[i]) != NULL && g_getenv (variables[i])[0] != '\0')
      {
        bundle = g_strdup (g_getenv (variables[i]));
        from = variables[i];
      }
  if (bundle == NULL)
    {
      g_autofree char *config = g_find_program_in_path ("curl-config");
      const char *argv[] = { "curl-config", "--ca", NULL };

      if (config != NULL && pst_trust_run_tool (argv, TOOL_TIMEOUT_MS, &bundle, NULL))
        g_strstrip (bundle);
      if (bundle == NULL || bundle[0] == '\0')
        {
          g_free (bundle);
          bundle = g_strdup (SYSTEM_BUNDLE);
        }
    }
  trusted = pst_trust_file_has_cert (bundle, anchor->der);
  detail = from != NULL ? g_strdup_printf (_("CA bundle %s (from %s)"), bundle, from)
                        : g_strdup_printf (_("CA bundle %s"), bundle);
  if (from != NULL)
    fix = variable_fix (anchor, from, bundle);
  else if (is_system_bundle (bundle))
    fix = system_fix (anchor);
  else
    fix = variable_fix (anchor, "CURL_CA_BUNDLE", bundle);
  pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "curl", "curl", check,
                 trusted ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, FALSE, detail, fix);
}

void
pst_trust_check_clients (PstTrustPlan *plan,
                         GPtrArray    *rows)
{
  if (plan->anchors->len == 0)
    {
      pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "anchor", _("the gateway’s certificate"),
                     _("known issuer"), PST_TRUST_STATUS_INFO, FALSE,
                     _("no keystore entry with a complete chain: nothing to look for in the clients’ stores"), NULL);
      return;
    }
  for (guint i = 0; i < plan->anchors->len; i++)
    {
      PstTrustAnchor *anchor = plan->anchors->pdata[i];
      g_autofree char *check = g_strdup_printf (_("trusts “%s”"), anchor->name);
      gboolean nss_trusts = FALSE, system_trusts = FALSE;

      pst_trust_check_nss (plan, anchor, rows, &nss_trusts);
      check_system (anchor, check, rows, &system_trusts);
      check_java (anchor, check, rows);
      check_node (anchor, check, system_trusts, rows);
      check_python (anchor, check, rows);
      check_curl (anchor, check, rows);

      /* A wss:// or https:// accept is for browsers: at least one of the
       * stores they read must trust the gateway's issuer — NSS for
       * Chromium and Firefox, the system store for GNOME Web (WebKitGTK
       * verifies through glib-networking). */
      if (plan->browser_accepts)
        {
          g_autofree char *store = anchor->store != NULL ? pst_trust_quote (anchor->store) : NULL;
          g_autofree char *fix = anchor->local_ca
                                   ? g_strdup_printf ("postern cert install-ca %s --nss", store)
                                   : system_fix (anchor);
          gboolean ok = nss_trusts || system_trusts;

          pst_trust_add (rows, PST_TRUST_SECTION_CLIENTS, "browsers", _("browsers (NSS, or the system store for GNOME Web)"),
                         check, ok ? PST_TRUST_STATUS_OK : PST_TRUST_STATUS_FAIL, TRUE,
                         ok ? _("a browser-facing store trusts it")
                            : _("wss:// and https:// accepts need it in a browser’s store"), fix);
        }
    }
}
