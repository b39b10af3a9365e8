/* pst-cmd-run.c: "postern run": the headless gateway in the foreground
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/resource.h>
#include <glib/gi18n.h>
#include <glib-unix.h>

#include "pst-cert-util.h"
#include "pst-certgen.h"
#include "pst-cli.h"
#include "pst-gateway.h"
#include "pst-keystore.h"
#include "pst-password.h"
#include "pst-password-keyring.h"
#include "pst-tls-priority.h"

typedef struct {
  GMainLoop  *loop;
  PstGateway *gateway;
  char       *config_path;
  gint64      stop_deadline;
} Run;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *label;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *stamp = NULL;

  if (g_log_writer_default_would_drop (level, "postern"))
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  switch (level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:    label = "error"; break;
    case G_LOG_LEVEL_CRITICAL: label = "critical"; break;
    case G_LOG_LEVEL_WARNING:  label = "warning"; break;
    case G_LOG_LEVEL_DEBUG:    label = "debug"; break;
    default:                   label = "info"; break;
    }
  now = g_date_time_new_now_local ();
  stamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%S");
  fprintf (stderr, "%s.%03d %s: %s\n", stamp, g_date_time_get_microsecond (now) / 1000,
           label, message ? message : "");
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

static void
raise_file_limit (void)
{
  struct rlimit rl;

  /* Each proxied connection costs two descriptors. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
}

/* The same local development CA as "postern cert generate --ca" */
static PstKeystore *
open_or_create_ca (const char *ca_path, GError **error)
{
  return pst_local_ca_open_or_create (ca_path, NULL, FALSE, NULL, NULL, error);
}

/* The shipped default config names a keystore that does not exist on a
 * fresh checkout: make a local development CA and a localhost certificate
 * signed by it, so that `make run` serves wss:// at once and one
 * `postern cert install-ca` makes browsers trust it. */
static gboolean
ensure_default_keystore (PstConfig *config, GError **error)
{
  const PstStoreRef *ks = pst_config_get_keystore (config);
  g_autofree char *ca_path = NULL;
  g_autofree char *pw_path = NULL;
  g_autofree char *password = NULL;
  g_autoptr(PstKeystore) ca = NULL;
  g_autoptr(PstKeystore) store = NULL;
  g_autoptr(PstStoreEntry) leaf = NULL;
  PstCertRequest request = { 0 };
  const char *names[] = { "localhost", "127.0.0.1", "::1", NULL };

  if (ks->file == NULL || g_file_test (ks->file, G_FILE_TEST_EXISTS))
    return TRUE;

  ca_path = pst_config_resolve_path (config, "devca.p12");
  ca = open_or_create_ca (ca_path, error);
  if (ca == NULL)
    return FALSE;
  request.names = names;
  request.key_type = PST_KEY_ECDSA_P256;
  leaf = pst_cert_generate (&request, pst_local_ca_find (ca), error);
  if (leaf == NULL)
    return FALSE;
  if (ks->password_keyring)
    password = pst_password_keyring_lookup_or_create (ks->file, NULL, error);
  else
    {
      pw_path = ks->password_file ? g_strdup (ks->password_file) : pst_password_default_path (ks->file);
      password = pst_password_file_read_or_create (pw_path, NULL, error);
    }
  if (password == NULL)
    return FALSE;
  store = pst_keystore_new ();
  pst_keystore_add (store, leaf);
  if (!pst_keystore_save (store, ks->file, PST_STORE_FORMAT_PKCS12, password, error))
    return FALSE;
  pst_password_free (g_steal_pointer (&password));
  printf (_("created %s with a certificate for localhost, 127.0.0.1 and ::1, signed by the "
            "local development CA %s; to make browsers trust it: postern cert install-ca %s --nss\n"),
          ks->file, ca_path, ca_path);
  fflush (stdout);
  return TRUE;
}

static void
print_diagnostics (GPtrArray *diagnostics)
{
  for (guint i = 0; diagnostics != NULL && i < diagnostics->len; i++)
    {
      g_autofree char *line = pst_diagnostic_to_string (diagnostics->pdata[i]);
      fprintf (stderr, "%s\n", line);
    }
}

static PstRuntime *
load (const char *path, gboolean first, GError **error)
{
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autofree char *default_path = pst_cli_default_config_path ();
  PstRuntime *runtime;

  config = pst_config_new_from_file (path, error);
  if (config == NULL)
    return NULL;
  if (first && g_strcmp0 (pst_config_get_path (config), default_path) == 0 &&
      !ensure_default_keystore (config, error))
    return NULL;
  {
    /* glib-networking reads its priority once, before the first TLS
     * connection: it is set at start and cannot change on reload. */
    g_autofree char *priority = pst_tls_priority_for_config (config, error);

    if (priority == NULL)
      return NULL;
    if (first)
      pst_tls_priority_apply (priority);
    else if (g_strcmp0 (priority, g_getenv ("G_TLS_GNUTLS_PRIORITY")) != 0)
      g_warning ("ssl.protocols/ssl.ciphers changed: restart the gateway to apply them "
                 "(GIO's TLS settings are process-wide and read once)");
  }
  runtime = pst_runtime_new (config, &diagnostics, error);
  print_diagnostics (diagnostics);
  if (runtime == NULL && !first && error != NULL &&
      g_error_matches (*error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID))
    {
      /* A failed reload is reported once (log, /health): name the first
       * error itself, not just "the file has errors". */
      for (guint i = 0; diagnostics != NULL && i < diagnostics->len; i++)
        if (pst_diagnostic_get_severity (diagnostics->pdata[i]) == PST_SEVERITY_ERROR)
          {
            g_autofree char *line = pst_diagnostic_to_string (diagnostics->pdata[i]);

            g_clear_error (error);
            g_set_error_literal (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID, line);
            break;
          }
    }
  return runtime;
}

#define STOP_GRACE_US (3 * G_USEC_PER_SEC)

static gboolean
drain_cb (gpointer user_data)
{
  Run *run = user_data;

  /* Bounded: sessions that do not finish their close handshake in time
   * are dropped with the process. */
  if (pst_gateway_get_n_connections (run->gateway) > 0 && g_get_monotonic_time () < run->stop_deadline)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_cb (gpointer user_data)
{
  Run *run = user_data;

  if (run->gateway == NULL)
    exit (0);
  if (run->stop_deadline != 0)
    {
      g_main_loop_quit (run->loop);   /* asked twice: stop now */
      return G_SOURCE_CONTINUE;
    }
  g_message ("stopping: %u connection(s) open", pst_gateway_get_n_connections (run->gateway));
  run->stop_deadline = g_get_monotonic_time () + STOP_GRACE_US;
  pst_gateway_stop (run->gateway);
  g_timeout_add (50, drain_cb, run);
  return G_SOURCE_CONTINUE;
}

static gboolean
reload_cb (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstRuntime) runtime = NULL;

  if (run->gateway == NULL)
    return G_SOURCE_CONTINUE;
  runtime = load (run->config_path, FALSE, &error);

  if (runtime == NULL || !pst_gateway_apply (run->gateway, runtime, &error))
    {
      /* /health answers 503 with this until a reload succeeds. */
      pst_metrics_reload_done (pst_gateway_get_metrics (run->gateway), error);
      g_warning ("reload failed, still serving the previous configuration: %s", error->message);
      return G_SOURCE_CONTINUE;
    }
  pst_metrics_reload_done (pst_gateway_get_metrics (run->gateway), NULL);
  g_message ("reloaded %s", run->config_path);
  return G_SOURCE_CONTINUE;
}

int
pst_cmd_run (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstRuntime) runtime = NULL;
  g_autoptr(PstGateway) gateway = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_auto(GStrv) urls = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("The gateway configuration (default: conf/gateway-config.xml)"), N_("FILE") },
    { NULL }
  };
  Run run = { 0 };

  g_set_prgname ("postern run");   /* for --help's usage line */
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Run the gateway in the foreground. SIGINT/SIGTERM stop it, "
                                           "SIGHUP reloads the configuration and certificates."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  if (config_path == NULL)
    config_path = pst_cli_default_config_path ();

  g_log_set_writer_func (log_writer, NULL, NULL);
  raise_file_limit ();
  signal (SIGPIPE, SIG_IGN);

  /* Handlers first: a signal right after "listening on" must stop us cleanly. */
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.config_path = config_path;
  g_unix_signal_add (SIGINT, stop_cb, &run);
  g_unix_signal_add (SIGTERM, stop_cb, &run);
  g_unix_signal_add (SIGHUP, reload_cb, &run);

  runtime = load (config_path, TRUE, &error);
  if (runtime == NULL)
    {
      /* Validation errors were printed as FILE:LINE:COL lines already. */
      if (!g_error_matches (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID))
        pst_cli_error ("%s", error->message);
      return 1;
    }
  gateway = pst_gateway_new ();
  run.gateway = gateway;
  if (!pst_gateway_apply (gateway, runtime, &error))
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  urls = pst_gateway_dup_urls (gateway);
  for (guint i = 0; urls[i] != NULL; i++)
    printf ("listening on %s\n", urls[i]);
  fflush (stdout);

  g_main_loop_run (loop);
  return 0;
}
