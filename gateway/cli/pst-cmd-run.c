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
#include "pst-log-writer.h"
#include "pst-password.h"
#include "pst-poller.h"
#include "pst-systemd.h"
#include "pst-password-keyring.h"
#include "pst-tls-priority.h"
#include "pst-cmd-run-private.h"


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
/* A gateway process (one alone, or a master's worker) waits in its
 * poller's epoll_wait(), one system call per wake-up instead of two.
 * POSTERN_POLLER_WAIT=glib keeps GLib's poll() (to compare, or to rule
 * the wait out when something hangs). */
static void
own_the_wait (void)
{
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (g_getenv ("POSTERN_POLLER_WAIT"), "glib") == 0)
    return;
  if (!pst_poller_own_wait (pst_poller_get_default (), &error))
    g_warning ("%s", error->message);
}

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

/* A worker loads what its master has just validated and printed: it
 * repeats only errors (the file changed in between). */
static gboolean errors_only;

static void
print_diagnostics (GPtrArray *diagnostics)
{
  for (guint i = 0; diagnostics != NULL && i < diagnostics->len; i++)
    {
      g_autofree char *line = NULL;

      if (errors_only && pst_diagnostic_get_severity (diagnostics->pdata[i]) != PST_SEVERITY_ERROR)
        continue;
      line = pst_diagnostic_to_string (diagnostics->pdata[i]);
      fprintf (stderr, "%s\n", line);
    }
}

/* DATA: the file's bytes (NULL: read the file) */
static PstRuntime *
load_full (const char *path, GBytes *data, gboolean first, gboolean warn_priority, GError **error)
{
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autofree char *default_path = pst_cli_default_config_path ();
  PstRuntime *runtime;

  if (data != NULL)
    {
      gsize len = 0;
      const char *text = g_bytes_get_data (data, &len);

      config = pst_config_new_from_data (text, len, path, error);
    }
  else
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
    else if (warn_priority && g_strcmp0 (priority, g_getenv ("G_TLS_GNUTLS_PRIORITY")) != 0)
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

static PstRuntime *
load (const char *path, GBytes *data, gboolean first, GError **error)
{
  return load_full (path, data, first, TRUE, error);
}

/* A master's reload: its new workers are new processes, which apply
 * ssl.protocols/ssl.ciphers afresh, so no "restart" warning. */
PstRuntime *
pst_run_master_load (const char *path, GBytes *data, GError **error)
{
  return load_full (path, data, FALSE, FALSE, error);
}

#define DRAIN_DEFAULT_S 30.0

static gboolean
drain_cb (gpointer user_data)
{
  Run *run = user_data;
  guint open = pst_gateway_get_n_connections (run->gateway);

  /* Bounded: sessions that have not finished by the drain deadline are
   * dropped with the process. */
  if (!pst_gateway_is_idle (run->gateway) && g_get_monotonic_time () < run->stop_deadline)
    return G_SOURCE_CONTINUE;
  if (open > 0)
    g_message ("drain deadline reached: dropping %u connection(s)", open);
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

gboolean
pst_run_stop_cb (gpointer user_data)
{
  Run *run = user_data;
  guint open;

  if (run->master != NULL)
    {
      pst_master_stop (run->master);
      return G_SOURCE_CONTINUE;
    }
  if (run->gateway == NULL)
    exit (0);
  if (run->stop_deadline != 0)
    {
      g_message ("asked to stop again: stopping now");
      g_main_loop_quit (run->loop);   /* asked twice: stop now */
      return G_SOURCE_CONTINUE;
    }
  open = pst_gateway_get_n_connections (run->gateway);
  pst_systemd_notifyf ("STOPPING=1\nSTATUS=draining %u connection(s)", open);
  {
    g_autofree char *line = g_strdup_printf ("stopping: %u connection(s) open", open);
    g_autofree char *count = g_strdup_printf ("%u", open);
    g_autofree char *deadline = g_strdup_printf ("%.3f", run->drain_us / 1e6);

    pst_log_event (G_LOG_LEVEL_MESSAGE, "stopping", line, "CONNECTIONS", count,
                   "DRAIN_TIMEOUT_S", deadline, NULL);
  }
  run->stop_deadline = g_get_monotonic_time () + run->drain_us;
  /* Stop accepting; WebSocket sessions close with 1001 once what they
   * received is forwarded; byte sessions run to their end. */
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

  if (run->master != NULL)
    {
      pst_master_reload (run->master);
      return G_SOURCE_CONTINUE;
    }
  if (run->link != NULL)
    {
      /* A worker's configuration is its master's business. */
      g_debug ("SIGHUP ignored: this is a worker; send it to the master");
      return G_SOURCE_CONTINUE;
    }
  if (run->gateway == NULL || run->stop_deadline != 0)
    return G_SOURCE_CONTINUE;
  pst_systemd_notifyf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT "\nSTATUS=reloading %s",
                       g_get_monotonic_time (), run->config_path);
  runtime = load (run->config_path, NULL, FALSE, &error);

  if (runtime == NULL || !pst_gateway_apply (run->gateway, runtime, &error))
    {
      g_autofree char *line = g_strdup_printf ("reload failed, still serving the previous configuration: %s",
                                               error->message);

      /* /health answers 503 with this until a reload succeeds. */
      pst_metrics_reload_done (pst_gateway_get_metrics (run->gateway), error);
      pst_log_event (G_LOG_LEVEL_WARNING, "reload", line, "OUTCOME", "failed", "ERROR", error->message, NULL);
      pst_systemd_notifyf ("READY=1\nSTATUS=reload failed, serving the previous configuration: %s",
                           error->message);
      return G_SOURCE_CONTINUE;
    }
  pst_metrics_reload_done (pst_gateway_get_metrics (run->gateway), NULL);
  {
    g_autofree char *line = g_strdup_printf ("reloaded %s", run->config_path);

    pst_log_event (G_LOG_LEVEL_MESSAGE, "reload", line, "OUTCOME", "ok", "CONFIG", run->config_path, NULL);
  }
  pst_systemd_notifyf ("READY=1\nSTATUS=serving %s (reloaded)", run->config_path);
  return G_SOURCE_CONTINUE;
}

int
pst_cmd_run (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  /* before the gateway: freed after it (its connections count into the link's shared counts) */
  g_autoptr(PstWorkerLink) link = NULL;
  g_autoptr(PstRuntime) runtime = NULL;
  g_autoptr(GBytes) config_data = NULL;
  g_autoptr(PstGateway) gateway = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_auto(GStrv) urls = NULL;
  g_autofree char *log_format_text = NULL;
  g_autoptr(GPtrArray) inherited = NULL;
  double drain_s = DRAIN_DEFAULT_S;
  g_autofree char *workers_text = NULL;
  gint64 workers = 0;
  PstLogFormat log_format = PST_LOG_FORMAT_TEXT;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      N_("The gateway configuration (default: conf/gateway-config.xml)"), N_("FILE") },
    { "log-format", 0, 0, G_OPTION_ARG_STRING, &log_format_text,
      N_("Log lines as “text” (default) or “json” (one object per line)"), N_("FORMAT") },
    { "drain-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &drain_s,
      N_("On SIGTERM/SIGINT, wait at most this long for open sessions to finish (default: 30)"),
      N_("SECONDS") },
    { "workers", 'w', 0, G_OPTION_ARG_STRING, &workers_text,
      N_("Worker processes under one master (default: the number of CPUs); 1: a single process, "
         "no master"), N_("N") },
    { NULL }
  };
  Run run = { 0 };

  g_set_prgname ("postern run");   /* for --help's usage line */
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Run the gateway in the foreground. SIGINT/SIGTERM stop it: no new "
                                           "connections, open sessions drain (a second signal stops at once); "
                                           "SIGHUP reloads the configuration and certificates. Under systemd it "
                                           "notifies readiness and takes socket-activated listening sockets."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  if (log_format_text != NULL && !pst_log_format_parse (log_format_text, &log_format))
    {
      pst_cli_error (_("--log-format=%s: expected “text” or “json”"), log_format_text);
      return 1;
    }
  if (!(drain_s >= 0 && drain_s <= 24 * 3600))
    {
      pst_cli_error (_("--drain-timeout=%g: expected a number of seconds from 0 to 86400"), drain_s);
      return 1;
    }
  if (workers_text == NULL)
    workers = pst_master_default_workers ();
  else if (!g_ascii_string_to_signed (workers_text, 10, 1, pst_master_max_workers (), &workers, NULL))
    {
      pst_cli_error (_("--workers=%s: expected a number of worker processes from 1 to %u "
                       "(4 per CPU, at most 64; the default is the number of CPUs, %u)"),
                     workers_text, pst_master_max_workers (), pst_master_default_workers ());
      return 1;
    }
  if (config_path == NULL)
    config_path = pst_cli_default_config_path ();

  pst_log_writer_install (log_format);
  /* Started by a master: one worker, on the sockets it bound. */
  link = pst_worker_link_new_from_env (&error);
  if (link == NULL && error != NULL)
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  if (link != NULL)
    {
      workers = 1;
      errors_only = TRUE;
      pst_log_writer_set_worker (pst_worker_link_get_index (link));
    }
  run.drain_us = (gint64) (drain_s * G_USEC_PER_SEC);
  raise_file_limit ();
  signal (SIGPIPE, SIG_IGN);

  /* Handlers first: a signal right after "listening on" must stop us cleanly. */
  loop = g_main_loop_new (NULL, FALSE);
  run.loop = loop;
  run.config_path = config_path;
  g_unix_signal_add (SIGINT, pst_run_stop_cb, &run);
  g_unix_signal_add (SIGTERM, pst_run_stop_cb, &run);
  g_unix_signal_add (SIGHUP, reload_cb, &run);

  /* A worker parses what its master validated, not the file, which may
   * have been edited since (a worker restarted after a crash serves what
   * its siblings serve); a master keeps the bytes it validated for its
   * workers. */
  if (link != NULL && pst_worker_link_get_config (link) != NULL)
    config_data = g_bytes_ref (pst_worker_link_get_config (link));
  else if (link == NULL && workers > 1)
    {
      config_data = pst_config_read_file (config_path, &error);
      if (config_data == NULL)
        {
          pst_cli_error ("%s", error->message);
          return 1;
        }
    }
  runtime = load (config_path, config_data, TRUE, &error);
  if (runtime == NULL)
    {
      /* Validation errors were printed as FILE:LINE:COL lines already. */
      if (!g_error_matches (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID))
        pst_cli_error ("%s", error->message);
      return 1;
    }
  if (workers > 1)
    {
      g_auto(GStrv) argv_worker = pst_run_worker_argv (config_path, log_format_text, drain_s);

      return pst_run_master (&run, runtime, config_data, (guint) workers, argv_worker);
    }
  own_the_wait ();
  gateway = pst_gateway_new ();
  if (link != NULL)
    {
      inherited = pst_worker_link_take_sockets (link);
      if (pst_worker_link_get_shared_counts (link) != NULL)
        pst_gateway_set_shared_counts (gateway, pst_worker_link_get_shared_counts (link));
      /* /metrics and /health answer for the whole gateway */
      pst_metrics_set_shared (pst_gateway_get_metrics (gateway), pst_worker_link_get_shared_metrics (link));
    }
  else
    {
      /* Socket activation: the service manager's listening sockets are used
       * for the accept addresses they are bound to. */
      inherited = pst_systemd_take_listen_sockets (&error);
      if (inherited == NULL)
        {
          pst_cli_error ("%s", error->message);
          return 1;
        }
    }
  pst_gateway_set_inherited_sockets (gateway, inherited);
  /* The gateway's reference alone: it lets them go when it stops accepting. */
  g_clear_pointer (&inherited, g_ptr_array_unref);
  run.gateway = gateway;
  if (!pst_gateway_apply (gateway, runtime, &error))
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  if (link != NULL)
    {
      pst_run_attach_link (&run, link);
      /* The master prints the URLs and speaks to the service manager. */
      pst_worker_link_send_ready (link);
    }
  else
    {
      urls = pst_gateway_dup_urls (gateway);
      pst_run_announce (&run, urls);
    }

  g_main_loop_run (loop);
  if (link != NULL)
    pst_metrics_set_shared (pst_gateway_get_metrics (gateway), NULL);
  return 0;
}
