/* pst-trust-doctor.c: who trusts what — the plan read from a config, the worker thread, shared helpers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-cert-util.h"
#include "pst-trust-doctor.h"
#include "pst-trust-doctor-private.h"

void
pst_trust_anchor_free (PstTrustAnchor *anchor)
{
  if (anchor == NULL)
    return;
  g_bytes_unref (anchor->der);
  g_free (anchor->name);
  g_free (anchor->store);
  g_free (anchor->alias);
  g_free (anchor);
}

static void
backend_free (PstTrustBackend *backend)
{
  g_free (backend->host);
  g_free (backend->authority);
  g_free (backend->url);
  g_free (backend->service);
  g_free (backend);
}

static void
plan_free (PstTrustPlan *plan)
{
  g_free (plan->config);
  g_free (plan->keystore);
  g_free (plan->keystore_password_file);
  g_free (plan->truststore);
  g_free (plan->truststore_password_file);
  g_free (plan->devca);
  g_clear_pointer (&plan->accept_hosts, g_ptr_array_unref);
  g_clear_pointer (&plan->backends, g_ptr_array_unref);
  g_clear_pointer (&plan->anchors, g_ptr_array_unref);
  g_clear_object (&plan->trust);
  g_free (plan->trust_error);
  g_free (plan);
}

char *
pst_trust_display_path (const char *path)
{
  g_autoptr(GFile) cwd = NULL;
  g_autoptr(GFile) file = NULL;
  g_autofree char *here = g_get_current_dir ();
  char *relative;

  if (path == NULL)
    return NULL;
  cwd = g_file_new_for_path (here);
  file = g_file_new_for_path (path);
  relative = g_file_get_relative_path (cwd, file);
  return relative != NULL ? relative : g_strdup (path);
}

char *
pst_trust_quote (const char *word)
{
  for (const char *p = word; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr ("-_./:=,@+%", *p) == NULL)
      return g_shell_quote (word);
  return *word == '\0' ? g_strdup ("''") : g_strdup (word);
}

void
pst_trust_add (GPtrArray       *rows,
               PstTrustSection  section,
               const char      *key,
               const char      *subject,
               const char      *check,
               PstTrustStatus   status,
               gboolean         needed,
               const char      *detail,
               const char      *fix)
{
  g_ptr_array_add (rows, pst_trust_row_new (section, key, subject, check, status, needed, detail, fix));
}

gboolean
pst_trust_file_has_cert (const char *path,
                         GBytes     *der)
{
  g_autoptr(GPtrArray) certs = NULL;

  if (path == NULL || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  certs = pst_cert_read_file (path, NULL);
  for (guint i = 0; certs != NULL && i < certs->len; i++)
    if (g_bytes_equal (g_ptr_array_index (certs, i), der))
      return TRUE;
  return FALSE;
}

/* Running a tool with a deadline */

typedef struct {
  gboolean  done;
  gboolean  timed_out;
  char     *out;
  char     *err;
  GError   *error;
  GSubprocess *proc;
} ToolRun;

static void
tool_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ToolRun *run = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err, &run->error);
  run->done = TRUE;
}

static gboolean
tool_timeout_cb (gpointer user_data)
{
  ToolRun *run = user_data;

  run->timed_out = TRUE;
  g_subprocess_force_exit (run->proc);
  return G_SOURCE_REMOVE;
}

gboolean
pst_trust_run_tool (const char * const *argv,
                    guint               timeout_ms,
                    char              **out,
                    GError            **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GSource) timeout = NULL;
  ToolRun run = { 0 };
  gboolean ok = FALSE;

  g_main_context_push_thread_default (context);
  proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                            G_SUBPROCESS_FLAGS_STDERR_PIPE, error);
  if (proc == NULL)
    goto out;
  run.proc = proc;
  timeout = g_timeout_source_new (timeout_ms);
  g_source_set_callback (timeout, tool_timeout_cb, &run, NULL);
  g_source_attach (timeout, context);
  g_subprocess_communicate_utf8_async (proc, NULL, NULL, tool_done_cb, &run);
  while (!run.done)
    g_main_context_iteration (context, TRUE);
  /* communicate ends at EOF; the exit status comes with the child watch */
  if (run.error == NULL && !run.timed_out)
    g_subprocess_wait (proc, NULL, NULL);
  g_source_destroy (timeout);

  if (run.timed_out)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, _("“%s” did not finish within %u ms"),
                 argv[0], timeout_ms);
  else if (run.error != NULL)
    g_propagate_error (error, g_steal_pointer (&run.error));
  else if (!g_subprocess_get_successful (proc))
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("“%s” failed: %s"), argv[0],
                 g_strstrip (run.err != NULL && run.err[0] != '\0' ? run.err : (run.out != NULL ? run.out : "")));
  else
    {
      ok = TRUE;
      if (out != NULL)
        *out = g_steal_pointer (&run.out);
    }

out:
  g_clear_error (&run.error);
  g_free (run.out);
  g_free (run.err);
  g_main_context_pop_thread_default (context);
  return ok;
}

/* The plan: what the checks need, read from the config on the caller's thread */

static void
add_unique (GPtrArray *strings, const char *s)
{
  for (guint i = 0; i < strings->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (strings, i), s) == 0)
      return;
  g_ptr_array_add (strings, g_strdup (s));
}

static PstTrustPlan *
plan_new (PstConfig *config,
          guint      probe_timeout_seconds)
{
  PstTrustPlan *plan = g_new0 (PstTrustPlan, 1);
  const PstStoreRef *ks = pst_config_get_keystore (config);
  const PstStoreRef *ts = pst_config_get_truststore (config);
  g_autofree char *devca = pst_config_resolve_path (config, "devca.p12");

  plan->config = pst_trust_display_path (pst_config_get_path (config));
  plan->keystore = g_strdup (ks->file);
  plan->keystore_password_file = g_strdup (ks->password_file);
  plan->truststore = g_strdup (ts->file);
  plan->truststore_password_file = g_strdup (ts->password_file);
  if (g_file_test (devca, G_FILE_TEST_IS_REGULAR))
    plan->devca = g_steal_pointer (&devca);
  plan->accept_hosts = g_ptr_array_new_with_free_func (g_free);
  plan->backends = g_ptr_array_new_with_free_func ((GDestroyNotify) backend_free);
  plan->anchors = g_ptr_array_new_with_free_func ((GDestroyNotify) pst_trust_anchor_free);
  plan->probe_timeout_seconds = probe_timeout_seconds > 0 ? probe_timeout_seconds : PST_TRUST_PROBE_TIMEOUT_SECONDS;

  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);
      gboolean accept_tls = pst_options_get_ssl_encryption (pst_service_get_accept_options (service));
      gboolean connect_tls = pst_options_get_ssl_encryption (pst_service_get_connect_options (service));

      for (guint i = 0; i < pst_service_get_n_accepts (service); i++)
        {
          g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_accept (service, i), NULL);

          /* a bad URL is `postern check`'s business */
          if (url == NULL || !url->secure || !accept_tls)
            continue;
          add_unique (plan->accept_hosts, url->host);
          if (g_str_equal (url->scheme, "wss") || g_str_equal (url->scheme, "https"))
            plan->browser_accepts = TRUE;
        }
      for (guint i = 0; i < pst_service_get_n_connects (service); i++)
        {
          g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_connect (service, i), NULL);
          g_autofree char *authority = NULL;
          PstTrustBackend *backend;
          gboolean seen = FALSE;

          if (url == NULL || !url->secure || !connect_tls)
            continue;
          authority = pst_url_dup_authority (url);
          for (guint b = 0; b < plan->backends->len; b++)
            seen |= g_ascii_strcasecmp (((PstTrustBackend *) plan->backends->pdata[b])->authority, authority) == 0;
          if (seen)
            continue;
          backend = g_new0 (PstTrustBackend, 1);
          backend->host = g_strdup (url->host);
          backend->port = url->port;
          backend->authority = g_steal_pointer (&authority);
          backend->url = pst_url_to_string (url);
          backend->service = g_strdup (pst_service_get_name (service));
          backend->line = pst_service_get_connect_line (service, i);
          g_ptr_array_add (plan->backends, backend);
        }
    }
  return plan;
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  PstTrustPlan *plan = task_data;
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) keystore_rows = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GListStore) store = g_list_store_new (PST_TYPE_TRUST_ROW);

  /* the keystore check finds the anchors the client checks look for,
   * but its rows come second in the report */
  pst_trust_check_keystore (plan, keystore_rows);
  if (!g_cancellable_is_cancelled (cancellable))
    pst_trust_check_clients (plan, rows);
  g_ptr_array_extend_and_steal (rows, g_steal_pointer (&keystore_rows));
  if (!g_cancellable_is_cancelled (cancellable))
    pst_trust_check_backends (plan, rows, cancellable);

  if (g_task_return_error_if_cancelled (task))
    return;
  g_list_store_splice (store, 0, 0, rows->pdata, rows->len);
  g_task_return_pointer (task, g_steal_pointer (&store), g_object_unref);
}

/**
 * pst_trust_doctor_run_async:
 * @config: a loaded configuration
 * @probe_timeout_seconds: bound on each back-end probe (seconds); 0 for the default (5)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the report
 * @user_data: data for @callback
 *
 * Checks who trusts what for @config without changing anything.  The
 * configuration is read before this returns; the checks (store reading,
 * certutil and python runs, TLS probes) run in a worker thread.
 */
void
pst_trust_doctor_run_async (PstConfig           *config,
                            guint                probe_timeout_seconds,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (PST_IS_CONFIG (config));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_trust_doctor_run_async);
  g_task_set_name (task, "pst_trust_doctor_run_async");
  g_task_set_task_data (task, plan_new (config, probe_timeout_seconds), (GDestroyNotify) plan_free);
  g_task_run_in_thread (task, run_thread);
}

/**
 * pst_trust_doctor_run_finish:
 * @result: the result given to the callback
 * @error: return location for a #GError (only %G_IO_ERROR_CANCELLED)
 *
 * Returns: (transfer full): a #GListModel of #PstTrustRow
 */
GListModel *
pst_trust_doctor_run_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pst_trust_doctor_run_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * pst_trust_report_is_trusted:
 * @rows: a #GListModel of #PstTrustRow
 *
 * Returns: %TRUE when no row that the configuration needs failed
 */
gboolean
pst_trust_report_is_trusted (GListModel *rows)
{
  g_return_val_if_fail (G_IS_LIST_MODEL (rows), FALSE);

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);

      if (pst_trust_row_is_blocking (row))
        return FALSE;
    }
  return TRUE;
}
