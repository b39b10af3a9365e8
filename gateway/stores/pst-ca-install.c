/* pst-ca-install.c: putting a CA where browsers look (NSS), shared by `cert install-ca` and the editor
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "pst-ca-install.h"
#include "pst-cert-util.h"
#include "pst-local-ca.h"
#include "pst-store-file.h"
#include "pst-trust-doctor-private.h"

/* certutil is quick; a stuck one (a locked database) must not hang a GUI's worker */
#define CERTUTIL_TIMEOUT_MS 30000

PstStoreEntry *
pst_ca_install_find_ca (PstKeystore *store)
{
  PstStoreEntry *ca;

  g_return_val_if_fail (PST_IS_KEYSTORE (store), NULL);

  ca = pst_local_ca_find (store);
  for (guint i = 0; ca == NULL && i < pst_keystore_get_n_entries (store); i++)
    if (pst_store_entry_is_ca (pst_keystore_get_entry (store, i)))
      ca = pst_keystore_get_entry (store, i);
  return ca;
}

char *
pst_ca_install_nickname (PstStoreEntry *ca)
{
  char *nickname = pst_cert_dup_common_name (pst_store_entry_get_certificate (ca));

  return nickname != NULL ? nickname : g_strdup (pst_store_entry_get_alias (ca));
}

static void
say (PstCaInstallReport  report,
     gpointer            user_data,
     gboolean            failed,
     const char         *format,
     ...) G_GNUC_PRINTF (4, 5);

static void
say (PstCaInstallReport  report,
     gpointer            user_data,
     gboolean            failed,
     const char         *format,
     ...)
{
  g_autofree char *message = NULL;
  va_list args;

  if (report == NULL)
    return;
  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  report (failed, message, user_data);
}

static GPtrArray *
nss_databases (gboolean             create_user_db,
               PstCaInstallReport   report,
               gpointer             user_data,
               GError             **error)
{
  g_autoptr(GPtrArray) dbs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *user_db = g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL);
  g_autofree char *user_cert9 = g_build_filename (user_db, "cert9.db", NULL);
  const char *firefox_roots[] = { ".mozilla/firefox", "snap/firefox/common/.mozilla/firefox" };

  if (!g_file_test (user_cert9, G_FILE_TEST_EXISTS) && create_user_db)
    {
      g_autofree char *sql = g_strconcat ("sql:", user_db, NULL);
      const char *argv[] = { "certutil", "-N", "-d", sql, "--empty-password", NULL };

      if (g_mkdir_with_parents (user_db, 0700) != 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                       _("cannot make the NSS database folder %s: %s"), user_db, g_strerror (saved));
          return NULL;
        }
      if (!pst_trust_run_tool (argv, CERTUTIL_TIMEOUT_MS, NULL, error))
        return NULL;
      say (report, user_data, FALSE, _("Created the NSS database %s"), user_db);
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
  return g_steal_pointer (&dbs);
}

/* TRUE if the database holds our certificate under our nickname */
static gboolean
nss_has (const char *sql,
         const char *nickname,
         const char *pem)
{
  const char *argv[] = { "certutil", "-L", "-d", sql, "-n", nickname, "-a", NULL };
  g_autofree char *out = NULL;
  g_autofree char *mine = g_strdup (pem);
  g_autoptr(GString) normal = NULL;

  if (!pst_trust_run_tool (argv, CERTUTIL_TIMEOUT_MS, &out, NULL))
    return FALSE;
  /* certutil prints CRLF line ends and every certificate with that nickname */
  normal = g_string_new (out);
  g_string_replace (normal, "\r", "", 0);
  return strstr (normal->str, g_strstrip (mine)) != NULL;
}

/**
 * pst_ca_install_nss:
 * @der: the CA certificate
 * @nickname: its NSS nickname (see pst_ca_install_nickname())
 * @install: %TRUE to add, %FALSE to remove (only this certificate)
 * @report: (nullable) (scope call): called with one line per database
 * @user_data: data for @report
 * @changes: (out) (optional): how many databases were changed
 * @error: return location for a #GError
 *
 * Returns: %TRUE when every database is as asked
 */
gboolean
pst_ca_install_nss (GBytes              *der,
                    const char          *nickname,
                    gboolean             install,
                    PstCaInstallReport   report,
                    gpointer             user_data,
                    guint               *changes,
                    GError             **error)
{
  g_autofree char *certutil = g_find_program_in_path ("certutil");
  g_autofree char *pem = NULL;
  g_autofree char *tmpdir = NULL;
  g_autofree char *pem_path = NULL;
  g_autoptr(GPtrArray) dbs = NULL;
  g_autoptr(GError) first_error = NULL;
  guint changed = 0, failures = 0;

  g_return_val_if_fail (der != NULL, FALSE);
  g_return_val_if_fail (nickname != NULL, FALSE);

  if (changes != NULL)
    *changes = 0;
  if (certutil == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("%s is not installed; install the %s package and run the command again"),
                   "certutil", "libnss3-tools");
      return FALSE;
    }
  if ((dbs = nss_databases (install, report, user_data, error)) == NULL)
    return FALSE;
  if (dbs->len == 0)
    say (report, user_data, FALSE, _("NSS: no database found under %s; nothing to remove"), g_get_home_dir ());

  pem = pst_cert_der_to_pem (der);
  if ((tmpdir = g_dir_make_tmp ("postern-ca-XXXXXX", error)) == NULL)
    return FALSE;
  pem_path = g_build_filename (tmpdir, "ca.pem", NULL);
  if (!g_file_set_contents (pem_path, pem, -1, error))
    {
      g_rmdir (tmpdir);
      return FALSE;
    }

  for (guint i = 0; i < dbs->len; i++)
    {
      const char *dir = g_ptr_array_index (dbs, i);
      g_autofree char *sql = g_strconcat ("sql:", dir, NULL);
      g_autoptr(GError) local_error = NULL;
      gboolean present = nss_has (sql, nickname, pem);

      if (install)
        {
          const char *argv[] = { "certutil", "-A", "-d", sql, "-t", "C,,", "-n", nickname,
                                 "-i", pem_path, NULL };

          if (present)
            {
              say (report, user_data, FALSE, _("NSS database %s: “%s” was already there"), dir, nickname);
              continue;
            }
          if (!pst_trust_run_tool (argv, CERTUTIL_TIMEOUT_MS, NULL, &local_error))
            {
              say (report, user_data, TRUE, _("NSS database %s: %s"), dir, local_error->message);
              failures++;
              if (first_error == NULL)
                first_error = g_error_new (local_error->domain, local_error->code, _("NSS database %s: %s"),
                                           dir, local_error->message);
              continue;
            }
          say (report, user_data, FALSE, _("NSS database %s: added “%s” as a trusted CA"), dir, nickname);
          changed++;
        }
      else
        {
          const char *argv[] = { "certutil", "-D", "-d", sql, "-n", nickname, NULL };
          guint removed = 0;

          /* only ours: a certificate of another CA with the same nickname stays */
          while (present && removed < 8)
            {
              if (!pst_trust_run_tool (argv, CERTUTIL_TIMEOUT_MS, NULL, &local_error))
                {
                  say (report, user_data, TRUE, _("NSS database %s: %s"), dir, local_error->message);
                  failures++;
                  if (first_error == NULL)
                    first_error = g_error_new (local_error->domain, local_error->code, _("NSS database %s: %s"),
                                               dir, local_error->message);
                  break;
                }
              removed++;
              present = nss_has (sql, nickname, pem);
            }
          if (removed > 0)
            {
              say (report, user_data, FALSE, _("NSS database %s: removed “%s”"), dir, nickname);
              changed++;
            }
          else if (local_error == NULL)
            say (report, user_data, FALSE, _("NSS database %s: “%s” was not there"), dir, nickname);
        }
    }

  g_unlink (pem_path);
  g_rmdir (tmpdir);
  if (changes != NULL)
    *changes = changed;
  if (failures > 0)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  char *path;
  char *password_file;
} InstallData;

static void
install_data_free (InstallData *data)
{
  g_free (data->path);
  g_free (data->password_file);
  g_free (data);
}

static void
install_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  InstallData *data = task_data;
  g_auto(PstStoreFile) sf = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *nickname = NULL;
  PstStoreEntry *ca;

  if (!pst_store_file_open (&sf, data->path, data->password_file, PST_STORE_OPEN_READ, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if ((ca = pst_ca_install_find_ca (sf.store)) == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               _("%s holds no CA certificate; make a local CA first (New Certificate, "
                                 "signed by the local development CA)"), data->path);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  nickname = pst_ca_install_nickname (ca);
  if (!pst_ca_install_nss (pst_store_entry_get_certificate (ca), nickname, TRUE, NULL, NULL, NULL, &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_boolean (task, TRUE);
}

/**
 * pst_ca_install_nss_async:
 * @store_path: a store holding the CA (the local CA's devca.p12)
 * @password_file: (nullable): its password file; %NULL for the default
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Installs the store's CA in the user's NSS databases, in a worker thread.
 */
void
pst_ca_install_nss_async (const char          *store_path,
                          const char          *password_file,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  InstallData *data;

  g_return_if_fail (store_path != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_ca_install_nss_async);
  g_task_set_name (task, "pst_ca_install_nss_async");
  data = g_new0 (InstallData, 1);
  data->path = g_strdup (store_path);
  data->password_file = g_strdup (password_file);
  g_task_set_task_data (task, data, (GDestroyNotify) install_data_free);
  g_task_run_in_thread (task, install_thread);
}

/**
 * pst_ca_install_nss_finish:
 * @result: the result given to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE when the CA is in every NSS database found
 */
gboolean
pst_ca_install_nss_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pst_ca_install_nss_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
