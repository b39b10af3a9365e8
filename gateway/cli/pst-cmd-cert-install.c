/* pst-cmd-cert-install.c: "postern cert install-ca/uninstall-ca" for NSS, the system and Java
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pst-cli.h"
#include "pst-cmd-cert-private.h"
#include "pst-jks-edit.h"
#include "pst-local-ca.h"

#define SYSTEM_CA_DIR "/usr/local/share/ca-certificates"
#define JAVA_CACERTS_PASSWORD "changeit"   /* the JDK's published default, not a secret */

typedef struct {
  PstStoreEntry *ca;
  GBytes        *der;
  char          *pem;
  char          *pem_path;     /* a temporary copy for certutil and keytool */
  char          *nickname;     /* NSS nickname: the CA's common name, as browsers show it */
  char          *token;        /* the alias as a token: system file name and Java alias */
  char          *old_stem;     /* what versions before the token used: from the common name */
  gboolean       install;
  guint          changes;
  guint          failures;
} Job;

/* Runs a tool; output is captured and shown only when it fails */
static gboolean
run (const char * const *argv, char **out, GError **error)
{
  g_autofree char *stdout_text = NULL, *stderr_text = NULL;
  int status;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &stdout_text, &stderr_text, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, G_SPAWN_EXIT_ERROR, 1, _("“%s” failed: %s"), argv[0],
                   g_strstrip (stderr_text[0] != '\0' ? stderr_text : stdout_text));
      return FALSE;
    }
  if (out != NULL)
    *out = g_steal_pointer (&stdout_text);
  return TRUE;
}

static gboolean
have_program (const char *name, const char *package, GError **error)
{
  g_autofree char *path = g_find_program_in_path (name);

  if (path != NULL)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               _("%s is not installed; install the %s package and run the command again"), name, package);
  return FALSE;
}

/* NSS */

static GPtrArray *
nss_databases (gboolean create_user_db, GError **error)
{
  GPtrArray *dbs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *user_db = g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL);
  g_autofree char *user_cert9 = g_build_filename (user_db, "cert9.db", NULL);
  const char *firefox_roots[] = { ".mozilla/firefox", "snap/firefox/common/.mozilla/firefox" };

  if (!g_file_test (user_cert9, G_FILE_TEST_EXISTS) && create_user_db)
    {
      g_autofree char *sql = g_strconcat ("sql:", user_db, NULL);
      const char *argv[] = { "certutil", "-N", "-d", sql, "--empty-password", NULL };

      if (g_mkdir_with_parents (user_db, 0700) != 0)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       _("cannot make the NSS database folder %s: %s"), user_db, g_strerror (errno));
          g_ptr_array_unref (dbs);
          return NULL;
        }
      if (!run (argv, NULL, error))
        {
          g_ptr_array_unref (dbs);
          return NULL;
        }
      printf (_("Created the NSS database %s\n"), user_db);
    }
  if (g_file_test (user_cert9, G_FILE_TEST_EXISTS))
    g_ptr_array_add (dbs, g_steal_pointer (&user_db));

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

/* TRUE if db holds our certificate under our nickname */
static gboolean
nss_has (Job *job, const char *sql)
{
  const char *argv[] = { "certutil", "-L", "-d", sql, "-n", job->nickname, "-a", NULL };
  g_autofree char *out = NULL;
  g_autofree char *mine = g_strdup (job->pem);

  if (!run (argv, &out, NULL))
    return FALSE;
  /* certutil prints CRLF line ends and every certificate with that nickname */
  {
    g_autoptr(GString) normal = g_string_new (out);
    g_string_replace (normal, "\r", "", 0);
    return strstr (normal->str, g_strstrip (mine)) != NULL;
  }
}

static void
do_nss (Job *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) dbs = NULL;

  if (!have_program ("certutil", "libnss3-tools", &error) ||
      (dbs = nss_databases (job->install, &error)) == NULL)
    {
      pst_cert_print_error (error);
      job->failures++;
      return;
    }
  if (dbs->len == 0)
    printf (_("NSS: no database found under %s; nothing to remove\n"), g_get_home_dir ());

  for (guint i = 0; i < dbs->len; i++)
    {
      const char *dir = g_ptr_array_index (dbs, i);
      g_autofree char *sql = g_strconcat ("sql:", dir, NULL);
      gboolean present = nss_has (job, sql);

      if (job->install)
        {
          const char *argv[] = { "certutil", "-A", "-d", sql, "-t", "C,,", "-n", job->nickname,
                                 "-i", job->pem_path, NULL };

          if (present)
            {
              printf (_("NSS database %s: “%s” was already there\n"), dir, job->nickname);
              continue;
            }
          if (!run (argv, NULL, &error))
            {
              pst_cli_error (_("NSS database %s: %s"), dir, error->message);
              g_clear_error (&error);
              job->failures++;
              continue;
            }
          printf (_("NSS database %s: added “%s” as a trusted CA\n"), dir, job->nickname);
          job->changes++;
        }
      else
        {
          const char *argv[] = { "certutil", "-D", "-d", sql, "-n", job->nickname, NULL };
          guint removed = 0;

          /* only ours: a certificate of another CA with the same nickname stays */
          while (present && removed < 8)
            {
              if (!run (argv, NULL, &error))
                {
                  pst_cli_error (_("NSS database %s: %s"), dir, error->message);
                  g_clear_error (&error);
                  job->failures++;
                  break;
                }
              removed++;
              present = nss_has (job, sql);
            }
          if (removed > 0)
            {
              printf (_("NSS database %s: removed “%s”\n"), dir, job->nickname);
              job->changes++;
            }
          else
            printf (_("NSS database %s: “%s” was not there\n"), dir, job->nickname);
        }
    }
}

/* The system store (Debian's update-ca-certificates) */

/* TRUE if path holds exactly our certificate; *other when it holds something else */
static gboolean
system_file_is_ours (Job *job, const char *path, gboolean *other)
{
  g_autofree char *current = NULL;
  gboolean exists = g_file_get_contents (path, &current, NULL, NULL);
  gboolean ours = exists && g_str_equal (current, job->pem);

  if (other != NULL)
    *other = exists && !ours;
  return ours;
}

static void
do_system (Job *job)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = g_strdup_printf ("%s.crt", job->token);
  g_autofree char *path = g_build_filename (SYSTEM_CA_DIR, name, NULL);
  g_autofree char *old_name = g_strdup_printf ("%s.crt", job->old_stem);
  g_autofree char *old_path = g_build_filename (SYSTEM_CA_DIR, old_name, NULL);
  /* Removing needs --fresh (update-ca-certificates(8)): a plain run
   * removes dangling links only when it added or removed something, so
   * our .pem link and its hash link would stay behind, dangling. */
  const char *update[] = { "update-ca-certificates", job->install ? NULL : "--fresh", NULL };
  gboolean taken = FALSE;
  gboolean present = system_file_is_ours (job, path, &taken);
  gboolean old_present = !g_str_equal (path, old_path) && system_file_is_ours (job, old_path, NULL);

  if (!have_program ("update-ca-certificates", "ca-certificates", &error))
    goto fail;

  if (job->install)
    {
      if (present || old_present)
        {
          printf (_("System store: %s was already there\n"), present ? path : old_path);
          return;
        }
      if (taken)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("%s holds another certificate; Postern leaves it alone (remove it, "
                         "or install a CA with another alias)"), path);
          goto fail;
        }
      if (g_mkdir_with_parents (SYSTEM_CA_DIR, 0755) != 0 ||
          !g_file_set_contents_full (path, job->pem, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error))
        {
          if (error == NULL)
            g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno),
                         _("cannot make %s: %s"), SYSTEM_CA_DIR, g_strerror (errno));
          goto fail;
        }
      if (!run (update, NULL, &error))
        {
          g_unlink (path);   /* leave the folder as it was */
          goto fail;
        }
      printf (_("System store: added %s and ran update-ca-certificates\n"), path);
    }
  else
    {
      const char *paths[] = { present ? path : NULL, old_present ? old_path : NULL };

      if (!present && !old_present)
        {
          printf (_("System store: %s was not there\n"), path);
          return;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
        if (paths[i] != NULL && g_unlink (paths[i]) != 0)
          {
            g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno),
                         _("cannot remove %s: %s"), paths[i], g_strerror (errno));
            goto fail;
          }
      if (!run (update, NULL, &error))
        goto fail;
      for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
        if (paths[i] != NULL)
          printf (_("System store: removed %s and ran update-ca-certificates --fresh\n"), paths[i]);
    }
  job->changes++;
  return;

fail:
  pst_cli_error (_("System store: %s"), error->message);
  job->failures++;
}

/* Java's cacerts */

/* The JDK whose keytool is used: $JAVA_HOME, else the one keytool (or
 * java) on PATH belongs to, through the alternatives' symbolic links */
static char *
java_home (void)
{
  const char *env = g_getenv ("JAVA_HOME");
  const char *programs[] = { "keytool", "java" };

  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  for (gsize i = 0; i < G_N_ELEMENTS (programs); i++)
    {
      g_autofree char *found = g_find_program_in_path (programs[i]);
      g_autofree char *real = found != NULL ? realpath (found, NULL) : NULL;

      if (real != NULL)
        {
          g_autofree char *bin = g_path_get_dirname (real);
          return g_path_get_dirname (bin);
        }
    }
  return NULL;
}

typedef struct {
  char *home;
  char *keytool;
  char *cacerts;
} JavaPaths;

static void
java_paths_clear (JavaPaths *java)
{
  g_free (java->home);
  g_free (java->keytool);
  g_free (java->cacerts);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (JavaPaths, java_paths_clear)

static gboolean
java_find (JavaPaths *java, GError **error)
{
  if ((java->home = java_home ()) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("no JDK found (neither keytool nor java on PATH, no JAVA_HOME); "
                     "install the openjdk-17-jre-headless package, or set JAVA_HOME to your JDK"));
      return FALSE;
    }
  java->keytool = g_build_filename (java->home, "bin", "keytool", NULL);
  java->cacerts = g_build_filename (java->home, "lib", "security", "cacerts", NULL);
  if (!g_file_test (java->keytool, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("the JDK in %s has no bin/keytool; set JAVA_HOME to a complete JDK"), java->home);
      return FALSE;
    }
  if (!g_file_test (java->cacerts, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("the JDK in %s has no lib/security/cacerts; set JAVA_HOME to a complete JDK"), java->home);
      return FALSE;
    }
  return TRUE;
}

/* TRUE if cacerts holds alias; *ours says whether it is our certificate */
static gboolean
java_has (Job *job, JavaPaths *java, const char *alias, gboolean *ours)
{
  const char *list[] = { java->keytool, "-list", "-keystore", java->cacerts,
                         "-storepass", JAVA_CACERTS_PASSWORD, "-alias", alias, "-rfc", NULL };
  g_autofree char *out = NULL;
  g_autofree char *mine = g_strdup (job->pem);
  g_autoptr(GString) normal = NULL;

  *ours = FALSE;
  if (!run (list, &out, NULL))
    return FALSE;
  normal = g_string_new (out);
  g_string_replace (normal, "\r", "", 0);
  *ours = strstr (normal->str, g_strstrip (mine)) != NULL;
  return TRUE;
}

/* JKS (Debian's cacerts): edited in place, one entry, so that removing
 * what was added gives back the very same file.  keytool would rewrite
 * every entry in its hash table's order. */
static gboolean
write_in_place (const char *path, GBytes *data, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);
  int fd = g_open (path, O_WRONLY | O_TRUNC | O_CLOEXEC, 0);
  int saved;

  if (fd < 0)
    goto fail;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        goto fail;
      p += n;
      len -= n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      fd = -1;
      goto fail;
    }
  return TRUE;

fail:
  saved = errno;
  if (fd >= 0)
    close (fd);
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
               _("cannot write %s: %s"), path, g_strerror (saved));
  return FALSE;
}

static gboolean
java_jks_write (const char *cacerts, GBytes *data, GError **error)
{
  g_autofree char *real = realpath (cacerts, NULL);
  GStatBuf st;

  if (real == NULL || g_stat (real, &st) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("cannot find %s: %s"), cacerts, g_strerror (errno));
      return FALSE;
    }
  /* beside the file, then renamed: a reader never sees half a store */
  {
    g_autofree char *tmp = g_strconcat (real, ".postern-XXXXXX", NULL);
    int fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, st.st_mode & 07777);
    int saved;

    if (fd < 0)
      return write_in_place (real, data, error);   /* a folder we may not write to */
    close (fd);
    if (!write_in_place (tmp, data, error))
      {
        g_unlink (tmp);
        return FALSE;
      }
    g_chmod (tmp, st.st_mode & 07777);   /* g_mkstemp_full's mode went through the umask */
    if (g_rename (tmp, real) == 0)
      return TRUE;
    saved = errno;
    g_unlink (tmp);
    /* A file mounted on its own (a container's, or a test's bind mount)
     * cannot be replaced: EBUSY.  Rewrite it in place then. */
    if (saved != EBUSY && saved != EXDEV)
      {
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     _("cannot replace %s: %s"), real, g_strerror (saved));
        return FALSE;
      }
    return write_in_place (real, data, error);
  }
}

/* *present: alias is there; *ours: with our certificate */
static gboolean
java_jks_has (Job *job, GBytes *store, const char *alias, gboolean *present, gboolean *ours, GError **error)
{
  g_autoptr(GBytes) der = NULL;
  gboolean is_key = FALSE;

  if (!pst_jks_find_trusted (store, JAVA_CACERTS_PASSWORD, alias, &der, &is_key, error))
    return FALSE;
  *present = der != NULL || is_key;
  *ours = der != NULL && g_bytes_equal (der, job->der);
  return TRUE;
}

static gboolean
do_java_jks (Job *job, JavaPaths *java, GBytes *store, const char *old_alias, GError **error)
{
  gboolean present, ours, old_present, old_ours;
  g_autoptr(GBytes) changed = NULL;

  if (!java_jks_has (job, store, job->token, &present, &ours, error) ||
      !java_jks_has (job, store, old_alias, &old_present, &old_ours, error))
    return FALSE;
  old_present = old_present && old_ours && !g_str_equal (old_alias, job->token);

  if (job->install)
    {
      if ((present && ours) || old_present)
        {
          printf (_("Java cacerts %s: “%s” was already there\n"), java->cacerts,
                  present && ours ? job->token : old_alias);
          return TRUE;
        }
      if (present)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("%s has another certificate under the alias “%s”; Postern leaves it alone"),
                       java->cacerts, job->token);
          return FALSE;
        }
      changed = pst_jks_add_trusted (store, JAVA_CACERTS_PASSWORD, job->token, job->der,
                                     g_get_real_time () / 1000, error);
      if (changed == NULL || !java_jks_write (java->cacerts, changed, error))
        return FALSE;
      printf (_("Java cacerts %s: added “%s”\n"), java->cacerts, job->token);
    }
  else
    {
      const char *aliases[] = { present && ours ? job->token : NULL, old_present ? old_alias : NULL };

      if (aliases[0] == NULL && aliases[1] == NULL)
        {
          printf (_("Java cacerts %s: “%s” was not there\n"), java->cacerts, job->token);
          return TRUE;
        }
      changed = g_bytes_ref (store);
      for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
        if (aliases[i] != NULL)
          {
            GBytes *next = pst_jks_remove_entry (changed, JAVA_CACERTS_PASSWORD, aliases[i], error);

            g_bytes_unref (changed);
            if ((changed = next) == NULL)
              return FALSE;
          }
      if (!java_jks_write (java->cacerts, changed, error))
        return FALSE;
      for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
        if (aliases[i] != NULL)
          printf (_("Java cacerts %s: removed “%s”\n"), java->cacerts, aliases[i]);
    }
  job->changes++;
  return TRUE;
}

static void
do_java (Job *job)
{
  g_autoptr(GError) error = NULL;
  g_auto(JavaPaths) java = { 0 };
  g_autofree char *old_alias = g_strdup_printf ("postern-%s", job->old_stem);
  g_autofree char *contents = NULL;
  gsize len = 0;
  gboolean ours = FALSE, old_ours = FALSE, present, old_present;

  if (!java_find (&java, &error))
    goto fail;
  if (!g_file_get_contents (java.cacerts, &contents, &len, &error))
    goto fail;
  {
    g_autoptr(GBytes) store = g_bytes_new_take (g_steal_pointer (&contents), len);

    if (pst_jks_is_jks (store))
      {
        if (!do_java_jks (job, &java, store, old_alias, &error))
          {
            g_prefix_error (&error, "%s: ", java.cacerts);
            goto fail;
          }
        return;
      }
  }

  /* any other format (PKCS#12 in some JDKs): keytool */
  present = java_has (job, &java, job->token, &ours);
  old_present = !g_str_equal (old_alias, job->token) && java_has (job, &java, old_alias, &old_ours) && old_ours;

  if (job->install)
    {
      const char *argv[] = { java.keytool, "-importcert", "-noprompt", "-keystore", java.cacerts,
                             "-storepass", JAVA_CACERTS_PASSWORD, "-alias", job->token,
                             "-file", job->pem_path, NULL };

      if ((present && ours) || old_present)
        {
          printf (_("Java cacerts %s: “%s” was already there\n"), java.cacerts,
                  present && ours ? job->token : old_alias);
          return;
        }
      if (present)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("%s has another certificate under the alias “%s”; Postern leaves it alone"),
                       java.cacerts, job->token);
          goto fail;
        }
      if (!run (argv, NULL, &error))
        goto fail;
      printf (_("Java cacerts %s: added “%s”\n"), java.cacerts, job->token);
    }
  else
    {
      const char *aliases[] = { present && ours ? job->token : NULL, old_present ? old_alias : NULL };

      if (aliases[0] == NULL && aliases[1] == NULL)
        {
          printf (_("Java cacerts %s: “%s” was not there\n"), java.cacerts, job->token);
          return;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
        {
          const char *argv[] = { java.keytool, "-delete", "-keystore", java.cacerts,
                                 "-storepass", JAVA_CACERTS_PASSWORD, "-alias", aliases[i], NULL };

          if (aliases[i] == NULL)
            continue;
          if (!run (argv, NULL, &error))
            goto fail;
          printf (_("Java cacerts %s: removed “%s”\n"), java.cacerts, aliases[i]);
        }
    }
  job->changes++;
  return;

fail:
  pst_cli_error (_("Java: %s"), error->message);
  job->failures++;
}

/* --system and --java change files only root may change: say so before
 * anything is done, with the commands that work */
static gboolean
check_privileges (const char *command, const char *store, gboolean nss, gboolean system_store, gboolean java)
{
  g_auto(JavaPaths) jp = { 0 };
  g_autofree char *quoted = pst_shell_word (store);
  gboolean system_ok = !system_store || geteuid () == 0;
  gboolean java_ok = TRUE;

  /* a JDK of one's own (JAVA_HOME) may be writable without root */
  if (java && java_find (&jp, NULL))
    {
      g_autofree char *real = realpath (jp.cacerts, NULL);
      java_ok = access (real != NULL ? real : jp.cacerts, W_OK) == 0;
    }
  if (system_ok && java_ok)
    return TRUE;

  if (!system_ok)
    pst_cli_error (_("%s --system needs root: it writes %s and runs update-ca-certificates, "
                     "which rewrites /etc/ssl/certs"), command, SYSTEM_CA_DIR);
  if (!java_ok)
    pst_cli_error (_("%s --java needs root: the JDK’s cacerts (%s) is not writable for this user"),
                   command, jp.cacerts);
  pst_cli_error (_("nothing was changed; run: sudo postern cert %s %s%s%s"), command, quoted,
                 !system_ok ? " --system" : "", !java_ok ? " --java" : "");
  if (nss)
    pst_cli_error (_("and --nss without sudo, as the user whose browsers should trust the CA: "
                     "postern cert %s %s --nss"), command, quoted);
  return FALSE;
}

/* The local CA, or else any CA certificate the store trusts (a CA
 * exported from elsewhere can be installed too, it just cannot sign). */
static PstStoreEntry *
find_ca (PstKeystore *store)
{
  PstStoreEntry *ca = pst_local_ca_find (store);

  for (guint i = 0; ca == NULL && i < pst_keystore_get_n_entries (store); i++)
    if (pst_store_entry_is_ca (pst_keystore_get_entry (store, i)))
      ca = pst_keystore_get_entry (store, i);
  return ca;
}

/* Versions before the plain alias named the system file and the Java
 * alias after the common name; uninstall-ca still finds those. */
static char *
old_stem_for (const char *nickname)
{
  GString *out = g_string_new (NULL);

  for (const char *p = nickname; *p != '\0'; p++)
    g_string_append_c (out, g_ascii_isalnum (*p) ? g_ascii_tolower (*p) : '-');
  return g_string_free (out, FALSE);
}

static void
job_clear (Job *job, const char *tmpdir)
{
  if (job->pem_path != NULL)
    g_unlink (job->pem_path);
  if (tmpdir != NULL)
    g_rmdir (tmpdir);
  g_free (job->pem);
  g_free (job->pem_path);
  g_free (job->nickname);
  g_free (job->token);
  g_free (job->old_stem);
}

static int
install_or_uninstall (int argc, char **argv, gboolean install)
{
  g_autofree char *password_file = NULL;
  gboolean nss = FALSE, system_store = FALSE, java = FALSE;
  const GOptionEntry entries[] = {
    { "nss", 0, 0, G_OPTION_ARG_NONE, &nss, N_("The user’s NSS database (~/.pki/nssdb: Chromium, Chrome) and each Firefox profile"), NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &system_store, N_("The system’s CA store (update-ca-certificates; needs root)"), NULL },
    { "java", 0, 0, G_OPTION_ARG_NONE, &java, N_("The JDK’s cacerts (keytool; needs root for the system’s JDK)"), NULL },
    { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &password_file, N_("STORE’s password file (default: the store’s name with .pw)"), N_("FILE") },
    { NULL }
  };
  const char *command = install ? "install-ca" : "uninstall-ca";
  g_autoptr(GOptionContext) context = g_option_context_new (N_("STORE"));
  g_autoptr(GError) error = NULL;
  g_auto(PstStoreFile) cs = { 0 };
  g_autofree char *tmpdir = NULL;
  Job job = { 0 };
  int status;

  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, install
    ? _("Makes clients trust the local development CA in STORE: browsers through NSS, "
        "programs through the system store, Java through its cacerts. Each only when asked.")
    : _("Takes the local development CA in STORE out of the places install-ca put it in; "
        "certificates of other CAs are left alone."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pst_cert_parse_options (context, &argc, &argv))
    return 1;
  if (argc != 2)
    {
      pst_cli_error (_("usage: %s STORE [--nss] [--system] [--java]; run “%s --help”"), argv[0], argv[0]);
      return 1;
    }
  if (!nss && !system_store && !java)
    {
      pst_cli_error (_("say where: --nss (browsers), --system (the system store) and/or --java"));
      return 1;
    }
  if (!check_privileges (command, argv[1], nss, system_store, java))
    return 1;
  if (!pst_cert_open_store (&cs, argv[1], password_file, PST_STORE_OPEN_READ, &error))
    goto fail;
  if ((job.ca = find_ca (cs.store)) == NULL)
    {
      g_autofree char *quoted = pst_shell_word (argv[1]);

      pst_cli_error (_("%s holds no CA certificate; make a local CA with "
                       "“postern cert generate --ca %s --keystore keystore.db localhost”"), argv[1], quoted);
      return 1;
    }

  job.install = install;
  job.der = pst_store_entry_get_certificate (job.ca);
  job.pem = pst_cert_der_to_pem (job.der);
  job.nickname = pst_cert_dup_common_name (job.der);
  if (job.nickname == NULL)
    job.nickname = g_strdup (pst_store_entry_get_alias (job.ca));
  /* the CA of a store made before the plain alias gets it here too */
  job.token = pst_cert_is_local_ca (job.der) && pst_local_ca_is_old_alias (pst_store_entry_get_alias (job.ca))
              ? g_strdup (PST_LOCAL_CA_ALIAS) : pst_alias_to_token (pst_store_entry_get_alias (job.ca));
  job.old_stem = old_stem_for (job.nickname);

  if ((tmpdir = g_dir_make_tmp ("postern-ca-XXXXXX", &error)) == NULL)
    goto fail;
  job.pem_path = g_build_filename (tmpdir, "ca.pem", NULL);
  if (!g_file_set_contents (job.pem_path, job.pem, -1, &error))
    goto fail;

  if (nss)
    do_nss (&job);
  if (system_store)
    do_system (&job);
  if (java)
    do_java (&job);

  if (job.changes == 0 && job.failures == 0)
    printf (_("Nothing changed.\n"));
  status = job.failures == 0 ? 0 : 1;
  job_clear (&job, tmpdir);
  return status;

fail:
  pst_cert_print_error (error);
  job_clear (&job, tmpdir);
  return 1;
}

int
pst_cmd_cert_install_ca (int argc, char **argv)
{
  return install_or_uninstall (argc, argv, TRUE);
}

int
pst_cmd_cert_uninstall_ca (int argc, char **argv)
{
  return install_or_uninstall (argc, argv, FALSE);
}
