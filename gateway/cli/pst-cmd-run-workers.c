/* pst-cmd-run-workers.c: "postern run" as a master of workers, and as one of them
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <stdio.h>
#include <glib/gi18n.h>

#include "pst-cli.h"
#include "pst-cmd-run-private.h"
#include "pst-log-writer.h"
#include "pst-systemd.h"

/* ---- a worker: orders from its master ---------------------------------- */

static gboolean
retired_cb (gpointer user_data)
{
  Run *run = user_data;

  if (run->stop_deadline != 0)
    return G_SOURCE_REMOVE;   /* told to stop meanwhile: drain_cb ends it */
  if (!pst_gateway_is_idle (run->gateway))
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

/* New workers took over after a reload: accept no more, and let every
 * session end as it would have in a single process (no deadline, no
 * close frame); the master's stop still drains them. */
static void
retire (Run *run)
{
  guint open = pst_gateway_get_n_connections (run->gateway);
  g_autofree char *line = g_strdup_printf ("replaced by new workers after a reload: %u connection(s) "
                                           "go on with the previous configuration until they end", open);
  g_autofree char *count = g_strdup_printf ("%u", open);

  if (run->retiring)
    return;
  run->retiring = TRUE;
  pst_log_event (G_LOG_LEVEL_MESSAGE, "retiring", line, "CONNECTIONS", count, NULL);
  pst_gateway_stop_accepting (run->gateway);
  g_timeout_add (100, retired_cb, run);
}

static void
link_drain_cb (PstWorkerLink *link, gboolean retiring, gpointer user_data)
{
  Run *run = user_data;

  if (run->stop_deadline != 0)
    return;
  if (retiring)
    retire (run);
  else
    pst_run_stop_cb (run);
}

static void
link_stop_cb (PstWorkerLink *link, gpointer user_data)
{
  Run *run = user_data;

  if (run->stop_deadline == 0)
    pst_run_stop_cb (run);
  pst_run_stop_cb (run);   /* the second time: at once */
}

static void
link_master_gone_cb (PstWorkerLink *link, gpointer user_data)
{
  Run *run = user_data;

  if (run->stop_deadline != 0)
    return;
  g_message ("the master process is gone: draining");
  pst_run_stop_cb (run);
}

static void
link_reload_done_cb (PstWorkerLink *link, const char *message, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr(GError) error = NULL;

  if (message != NULL)
    error = g_error_new_literal (PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID, message);
  /* /health answers 503 with it until a reload succeeds. */
  pst_metrics_reload_done (pst_gateway_get_metrics (run->gateway), error);
}

/* ---- a master ------------------------------------------------------------ */

void
pst_run_announce (Run *run, GStrv urls)
{
  for (guint i = 0; urls[i] != NULL; i++)
    printf ("listening on %s\n", urls[i]);
  fflush (stdout);
  /* Machines get it as a record too; people have the line above. */
  for (guint i = 0; urls[i] != NULL && !pst_log_writer_is_text (); i++)
    {
      g_autofree char *line = g_strdup_printf ("listening on %s", urls[i]);

      pst_log_event (G_LOG_LEVEL_MESSAGE, "listening", line, "URL", urls[i], NULL);
    }
  /* Every listener is bound: the service manager may send traffic. */
  pst_systemd_notifyf ("READY=1\nSTATUS=serving %s: %u accept URL(s)", run->config_path, g_strv_length (urls));
}

static void
master_ready_cb (PstMaster *master, gpointer user_data)
{
  Run *run = user_data;
  g_auto(GStrv) urls = pst_master_dup_urls (master);

  pst_run_announce (run, urls);
}

static void
master_finished_cb (PstMaster *master, int status, gpointer user_data)
{
  Run *run = user_data;

  run->status = status;
  g_main_loop_quit (run->loop);
}

/* How the master starts a worker: this very binary, with the options
 * that matter to a worker and --workers 1. */
GStrv
pst_run_worker_argv (const char *config_path, const char *log_format, double drain_s)
{
  g_autoptr(GStrvBuilder) argv = g_strv_builder_new ();
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autofree char *config = g_canonicalize_filename (config_path, NULL);
  char drain[G_ASCII_DTOSTR_BUF_SIZE];

  /* Replaced on disk (an upgrade): the running binary is still there. */
  if (exe == NULL || g_str_has_suffix (exe, " (deleted)") || !g_file_test (exe, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_free (exe);
      exe = g_strdup ("/proc/self/exe");
    }
  g_strv_builder_add_many (argv, exe, "run", "--config", config, NULL);
  if (log_format != NULL)
    g_strv_builder_add_many (argv, "--log-format", log_format, NULL);
  g_ascii_dtostr (drain, sizeof drain, drain_s);
  g_strv_builder_add_many (argv, "--drain-timeout", drain, "--workers", "1", NULL);
  return g_strv_builder_end (argv);
}

int
pst_run_master (Run *run, PstRuntime *runtime, GBytes *config_data, guint n_workers, GStrv argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) inherited = NULL;
  g_autoptr(PstMaster) master = NULL;

  inherited = pst_systemd_take_listen_sockets (&error);
  if (inherited == NULL)
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  master = pst_master_new (run->config_path, n_workers, (const char *const *) argv, run->drain_us, pst_run_master_load);
  g_signal_connect (master, "ready", G_CALLBACK (master_ready_cb), run);
  g_signal_connect (master, "finished", G_CALLBACK (master_finished_cb), run);
  if (!pst_master_start (master, runtime, config_data, inherited, &error))
    {
      pst_cli_error ("%s", error->message);
      return 1;
    }
  g_clear_pointer (&inherited, g_ptr_array_unref);
  run->master = master;
  g_main_loop_run (run->loop);
  run->master = NULL;
  return run->status;
}

void
pst_run_attach_link (Run *run, PstWorkerLink *link)
{
  run->link = link;
  g_signal_connect (link, "drain", G_CALLBACK (link_drain_cb), run);
  g_signal_connect (link, "stop", G_CALLBACK (link_stop_cb), run);
  g_signal_connect (link, "master-gone", G_CALLBACK (link_master_gone_cb), run);
  g_signal_connect (link, "reload-done", G_CALLBACK (link_reload_done_cb), run);
}
