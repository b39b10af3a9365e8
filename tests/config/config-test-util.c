/* config-test-util.c: helpers shared by the config tests
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "config-test-util.h"

char *
ctu_fixture_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "fixtures", "config", name, NULL);
}

char *
ctu_read_fixture (const char *name, gsize *len)
{
  g_autofree char *path = ctu_fixture_path (name);
  g_autoptr(GError) error = NULL;
  char *data = NULL;

  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return data;
}

static void
run (const char *dir, const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "/bin/sh", "-e", "-c", command, NULL };
  int status = 0;

  g_spawn_sync (dir, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("store recipe failed: %s\n%s", command, err);
}

static void
write_password (const char *dir, const char *name, const char *password, int mode)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = g_strdup_printf ("%s\n", password);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
}

/* The stores are made fresh at every run (no keys are checked in):
 *  keystore.p12   localhost + 127.0.0.1, ECDSA P-256, 825 days, password in keystore.pw
 *  expiring.p12   the same key, 10 days                        (expiring.pw)
 *  expired.p12    the same key, not-after yesterday           (expired.pw)
 *  truststore.p12 the localhost certificate only              (truststore.pw)
 *  changeit.p12   the same, with keytool's default password and no .pw
 *  wrong.pw       a password that opens none of them
 *  exposed.pw     keystore.pw, readable by everyone (0644)
 *  exposed-keystore.p12  keystore.p12, readable by everyone (0644)
 * The stores are mode 0600, as `postern cert generate` makes them.
 * All passwords are "secret" except wrong.pw (and changeit.p12's). */
char *
ctu_make_store_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("postern-config-test-XXXXXX", &error);

  g_assert_no_error (error);
  run (dir,
       "umask 077\n"
       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
       "  -keyout key.pem -out cert.pem -days 825 -subj /CN=localhost "
       "  -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null\n"
       "openssl x509 -in cert.pem -signkey key.pem -days 10 -out expiring.pem 2>/dev/null\n"
       "openssl x509 -in cert.pem -signkey key.pem -days -1 -out expired.pem 2>/dev/null\n"
       "for n in cert expiring expired; do\n"
       "  out=$n; [ $n = cert ] && out=keystore\n"
       "  openssl pkcs12 -export -in $n.pem -inkey key.pem -name localhost "
       "    -passout pass:secret -out $out.p12\n"
       "done\n"
       "openssl pkcs12 -export -nokeys -in cert.pem -name localhost "
       "  -passout pass:secret -out truststore.p12\n"
       "openssl pkcs12 -export -nokeys -in cert.pem -name localhost "
       "  -passout pass:changeit -out changeit.p12\n"
       "cp keystore.p12 exposed-keystore.p12 && chmod 644 exposed-keystore.p12\n");
  write_password (dir, "keystore.pw", "secret", 0600);
  write_password (dir, "expiring.pw", "secret", 0600);
  write_password (dir, "expired.pw", "secret", 0600);
  write_password (dir, "truststore.pw", "secret", 0600);
  write_password (dir, "wrong.pw", "nope", 0600);
  write_password (dir, "exposed.pw", "secret", 0644);
  write_password (dir, "exposed-keystore.pw", "secret", 0600);
  return dir;
}

char *
ctu_copy_fixture (const char *name, const char *dir)
{
  gsize len;
  g_autofree char *data = ctu_read_fixture (name, &len);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, len, &error);
  g_assert_no_error (error);
  return path;
}

void
ctu_remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          ctu_remove_tree (child);
        }
      g_dir_close (dir);
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

void
ctu_dump (GPtrArray *diagnostics)
{
  for (guint i = 0; i < diagnostics->len; i++)
    {
      g_autofree char *text = pst_diagnostic_to_string (g_ptr_array_index (diagnostics, i));
      g_test_message ("  %s", text);
    }
}

PstDiagnostic *
ctu_assert_diagnostic (GPtrArray  *diagnostics,
                       PstSeverity severity,
                       guint       line,
                       const char *phrase)
{
  for (guint i = 0; i < diagnostics->len; i++)
    {
      PstDiagnostic *d = g_ptr_array_index (diagnostics, i);
      if (pst_diagnostic_get_severity (d) == severity && pst_diagnostic_get_line (d) == line &&
          strstr (pst_diagnostic_get_message (d), phrase) != NULL)
        return d;
    }
  ctu_dump (diagnostics);
  g_test_message ("expected %s on line %u containing “%s”",
                  severity == PST_SEVERITY_ERROR ? "an error" : "a warning", line, phrase);
  g_assert_not_reached ();
  return NULL;
}

guint
ctu_count (GPtrArray *diagnostics, PstSeverity severity)
{
  guint n = 0;

  for (guint i = 0; i < diagnostics->len; i++)
    if (pst_diagnostic_get_severity (g_ptr_array_index (diagnostics, i)) == severity)
      n++;
  return n;
}
