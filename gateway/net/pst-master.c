/* pst-master.c: the master process: binds, starts workers, rolls them on reload, restarts the dead
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include "pst-config.h"
#include "pst-control-channel.h"
#include "pst-gateway.h"
#include "pst-log-writer.h"
#include "pst-master.h"
#include "pst-shared-counts.h"
#include "pst-shared-memory.h"
#include "pst-shared-metrics.h"
#include "pst-systemd.h"
#include "pst-tls-server.h"
#include "pst-worker-link.h"

/* Why processes started by exec, not bare forks: GLib's worker thread,
 * GIO's thread pool and GDBus do not survive fork(), and the descriptor
 * limit is per process (two per proxied connection). */

#define QUICK_DEATH_US   (1 * G_USEC_PER_SEC)   /* a worker that dies sooner died "at start" */
#define MAX_QUICK_DEATHS 10
#define MAX_BACKOFF_MS   5000
#define ROLL_TIMEOUT_S   60                     /* new workers must accept within this */
#define KILL_GRACE_US    (5 * G_USEC_PER_SEC)   /* after the drain timeout */

typedef enum {
  ROLE_CURRENT,   /* serving the configuration in force */
  ROLE_NEXT,      /* started by a reload, not all ready yet */
  ROLE_OLD,       /* replaced or stopping: draining */
} Role;

typedef struct {
  PstMaster   *master;   /* owned: a master outlives its workers */
  GSubprocess *process;
  char        *pid;
  guint        index;
  Role         role;
  PstControlChannel *control;   /* our end of the control socket */
  gboolean     ready;
  gint64       started;
  guint        region;   /* in the shared counts */
} Worker;

struct _PstMaster
{
  GObject     parent_instance;
  char       *config_path;
  GStrv       worker_argv;
  guint       n_workers;
  gint64      drain_us;
  PstMasterLoadFunc load;
  PstGateway *gateway;     /* binds and validates; never accepts */
  GPtrArray  *workers;     /* Worker, every role */
  guint       quick_deaths;
  gboolean    announced;   /* "ready" emitted */
  gboolean    stopping;
  gboolean    stop_again;
  gboolean    rolling;
  gboolean    reload_pending;
  guint       roll_timeout;
  guint       kill_timeout;
  gboolean    finished;
  int         exit_status; /* for "finished": 1 when workers kept dying */
  PstSharedCounts *counts; /* per-address connection counts, one region per worker */
  PstSharedMetrics *metrics; /* the workers' figures, one slot per region, for /metrics */
  guint8     *region_used;
  int         ticket_key_fd; /* the workers' TLS session ticket key, -1 if none */
  /* The configuration file's bytes as last validated (sealed memfds): a
   * worker parses these, not the file, which may have been edited since;
   * -1: none (the worker reads the file) */
  int         config_fd;      /* the configuration in force */
  int         next_config_fd; /* a reload's, while its workers start */
};

enum { SIGNAL_READY, SIGNAL_FINISHED, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PstMaster, pst_master, G_TYPE_OBJECT)

static void start_worker (PstMaster *self, guint index, Role role);

static void
worker_free (Worker *w)
{
  PstMaster *self = w->master;

  /* Its figures stay in the gateway's (counters never go back), its
   * open connections at zero. */
  if (self != NULL && self->metrics != NULL && w->region != PST_SHARED_COUNTS_NO_REGION)
    pst_shared_metrics_fold (self->metrics, w->region);
  /* Its connections are gone: so are its counts. */
  if (self != NULL && self->counts != NULL && w->region != PST_SHARED_COUNTS_NO_REGION)
    {
      pst_shared_counts_clear_region (self->counts, w->region);
      self->region_used[w->region] = FALSE;
    }
  g_clear_pointer (&w->control, pst_control_channel_free);
  g_clear_object (&w->process);
  g_free (w->pid);
  g_clear_object (&w->master);
  g_free (w);
}

static void
pst_master_dispose (GObject *object)
{
  PstMaster *self = PST_MASTER (object);

  g_clear_handle_id (&self->roll_timeout, g_source_remove);
  g_clear_handle_id (&self->kill_timeout, g_source_remove);
  g_clear_object (&self->gateway);
  G_OBJECT_CLASS (pst_master_parent_class)->dispose (object);
}

static void
pst_master_finalize (GObject *object)
{
  PstMaster *self = PST_MASTER (object);

  g_ptr_array_unref (self->workers);
  g_clear_pointer (&self->counts, pst_shared_counts_free);
  g_clear_pointer (&self->metrics, pst_shared_metrics_free);
  if (self->ticket_key_fd >= 0)
    close (self->ticket_key_fd);
  if (self->config_fd >= 0)
    close (self->config_fd);
  if (self->next_config_fd >= 0)
    close (self->next_config_fd);
  g_free (self->region_used);
  g_free (self->config_path);
  g_strfreev (self->worker_argv);
  G_OBJECT_CLASS (pst_master_parent_class)->finalize (object);
}

static void
pst_master_class_init (PstMasterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_master_dispose;
  object_class->finalize = pst_master_finalize;
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
pst_master_init (PstMaster *self)
{
  self->workers = g_ptr_array_new ();
  self->ticket_key_fd = -1;
  self->config_fd = -1;
  self->next_config_fd = -1;
}

guint
pst_master_default_workers (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);

  return n >= 1 ? (guint) MIN (n, 4096) : 1;
}

guint
pst_master_max_workers (void)
{
  guint cores = pst_master_default_workers ();

  return MAX (MIN (4 * cores, 64), cores);
}

PstMaster *
pst_master_new (const char *config_path, guint n_workers, const char *const *worker_argv,
                gint64 drain_us, PstMasterLoadFunc load)
{
  PstMaster *self;

  g_return_val_if_fail (config_path != NULL && worker_argv != NULL && load != NULL, NULL);
  g_return_val_if_fail (n_workers >= 1, NULL);
  self = g_object_new (PST_TYPE_MASTER, NULL);
  self->config_path = g_strdup (config_path);
  self->worker_argv = g_strdupv ((GStrv) worker_argv);
  self->n_workers = n_workers;
  self->drain_us = drain_us;
  self->load = load;
  self->gateway = pst_gateway_new ();
  pst_gateway_set_bind_only (self->gateway, TRUE);
  {
    g_autoptr(GError) error = NULL;

    /* Room for the workers, those a reload starts and those still
     * finishing the sessions of earlier configurations. */
    self->counts = pst_shared_counts_new (MIN (4 * n_workers, 256), &error);
    if (self->counts == NULL)
      g_warning ("tcp.maximum.connections.per.address applies per worker: %s", error->message);
    else
      {
        self->region_used = g_new0 (guint8, pst_shared_counts_get_n_regions (self->counts));
        self->metrics = pst_shared_metrics_new (pst_shared_counts_get_n_regions (self->counts), &error);
        if (self->metrics == NULL)
          g_warning ("/metrics and /health answer for one worker each: %s", error->message);
        else
          pst_shared_metrics_set_workers (self->metrics, 0, n_workers);
      }
  }
  {
    g_autoptr(GError) error = NULL;

    /* One key for every worker: a client resumes its TLS session on
     * whichever worker accepts it next. */
    self->ticket_key_fd = pst_tls_server_ticket_key_fd_new (&error);
    if (self->ticket_key_fd < 0)
      g_warning ("TLS sessions resume only on the worker that made them: %s", error->message);
  }
  return self;
}

/* ---- talking to workers ---------------------------------------------- */

static void
send_line (Worker *w, const char *line)
{
  /* A worker that is stuck misses the order rather than block us. */
  if (w->control != NULL && !pst_control_channel_send (w->control, line))
    g_debug ("worker %s: order \"%s\" not sent", w->pid, line);
}

static void
send_all (PstMaster *self, Role role, const char *line)
{
  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      if (w->role == role)
        send_line (w, line);
    }
}

static guint
count (PstMaster *self, Role role, gboolean ready_only)
{
  guint n = 0;

  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      n += w->role == role && (w->ready || !ready_only);
    }
  return n;
}

/* For /health and /metrics: the workers serving the configuration in force. */
static void
update_workers_up (PstMaster *self)
{
  if (self->metrics != NULL)
    pst_shared_metrics_set_workers (self->metrics, self->stopping ? 0 : count (self, ROLE_CURRENT, TRUE),
                                    self->n_workers);
}

static void
finish (PstMaster *self, int status)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->kill_timeout, g_source_remove);
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0, status);
}

/* ---- reloads ----------------------------------------------------------- */

static void
reload_failed (PstMaster *self, const char *message)
{
  g_autofree char *line = g_strdup_printf ("reload failed, still serving the previous configuration: %s",
                                           message);
  g_autofree char *order = g_strdup_printf ("reload-failed %s", message);

  /* Each worker's /health answers 503 with it until a reload succeeds. */
  g_strdelimit (order, "\n", ' ');
  send_all (self, ROLE_CURRENT, order);
  if (self->metrics != NULL)
    {
      pst_shared_metrics_set_reload_error (self->metrics, message);
      pst_shared_metrics_reload_done (self->metrics, FALSE);
    }
  pst_log_event (G_LOG_LEVEL_WARNING, "reload", line, "OUTCOME", "failed", "ERROR", message, NULL);
  pst_systemd_notifyf ("READY=1\nSTATUS=reload failed, serving the previous configuration: %s", message);
}

static void
roll_done (PstMaster *self)
{
  g_clear_handle_id (&self->roll_timeout, g_source_remove);
  self->rolling = FALSE;
  if (self->reload_pending && !self->stopping)
    {
      self->reload_pending = FALSE;
      pst_master_reload (self);
    }
}

/* A reload whose new workers did not all come up keeps the old ones. */
static void
roll_abort (PstMaster *self, const char *why)
{
  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      if (w->role == ROLE_NEXT)
        {
          w->role = ROLE_OLD;
          send_line (w, "stop");
        }
    }
  /* The reload's listeners go, the previous ones (still bound) are the
   * gateway's again: it answers where it answered, not on ports of a
   * configuration that never started; a worker restarted from now on gets
   * them with the configuration in force. */
  pst_gateway_revert (self->gateway);
  if (self->next_config_fd >= 0)
    {
      close (self->next_config_fd);
      self->next_config_fd = -1;
    }
  reload_failed (self, why);
  roll_done (self);
}

static gboolean
roll_timeout_cb (gpointer user_data)
{
  PstMaster *self = user_data;
  g_autofree char *why = g_strdup_printf ("the new workers did not accept within %d s", ROLL_TIMEOUT_S);

  self->roll_timeout = 0;
  roll_abort (self, why);
  return G_SOURCE_REMOVE;
}

/* Every new worker accepts: the previous ones stop accepting and finish
 * their sessions (on the configuration they started with). */
static void
roll_commit (PstMaster *self)
{
  g_autofree char *line = g_strdup_printf ("reloaded %s", self->config_path);

  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      if (w->role == ROLE_CURRENT)
        {
          w->role = ROLE_OLD;
          send_line (w, "retire");
        }
      else if (w->role == ROLE_NEXT)
        w->role = ROLE_CURRENT;
    }
  /* The previous configuration's own sockets close; its workers keep
   * their copies until they are done. */
  pst_gateway_confirm (self->gateway);
  if (self->next_config_fd >= 0)
    {
      if (self->config_fd >= 0)
        close (self->config_fd);
      self->config_fd = self->next_config_fd;
      self->next_config_fd = -1;
    }
  update_workers_up (self);
  if (self->metrics != NULL)
    {
      pst_shared_metrics_set_reload_error (self->metrics, NULL);
      pst_shared_metrics_reload_done (self->metrics, TRUE);
    }
  pst_log_event (G_LOG_LEVEL_MESSAGE, "reload", line, "OUTCOME", "ok", "CONFIG", self->config_path, NULL);
  pst_systemd_notifyf ("READY=1\nSTATUS=serving %s (reloaded)", self->config_path);
  roll_done (self);
}

void
pst_master_reload (PstMaster *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstRuntime) runtime = NULL;
  g_autoptr(GBytes) data = NULL;
  int config_fd = -1;

  g_return_if_fail (PST_IS_MASTER (self));
  if (self->stopping)
    return;
  if (self->rolling || !self->announced)
    {
      self->reload_pending = TRUE;   /* after this roll */
      return;
    }
  pst_systemd_notifyf ("RELOADING=1\nMONOTONIC_USEC=%" G_GINT64_FORMAT "\nSTATUS=reloading %s",
                       g_get_monotonic_time (), self->config_path);
  /* What is validated is what the new workers will parse. */
  data = pst_config_read_file (self->config_path, &error);
  if (data != NULL)
    runtime = self->load (self->config_path, data, &error);
  if (runtime != NULL)
    config_fd = pst_shared_memory_new_sealed ("postern-config", data, &error);
  if (config_fd < 0 || !pst_gateway_apply_tentative (self->gateway, runtime, &error))
    {
      if (config_fd >= 0)
        close (config_fd);
      reload_failed (self, error->message);
      return;
    }
  self->next_config_fd = config_fd;
  self->rolling = TRUE;
  self->roll_timeout = g_timeout_add_seconds (ROLL_TIMEOUT_S, roll_timeout_cb, self);
  for (guint i = 1; i <= self->n_workers && self->rolling; i++)
    start_worker (self, i, ROLE_NEXT);
}

/* ---- worker life ------------------------------------------------------- */

static void
worker_ready (Worker *w)
{
  PstMaster *self = w->master;

  if (w->ready)
    return;
  w->ready = TRUE;
  g_debug ("worker %u (pid %s) accepts", w->index, w->pid);
  update_workers_up (self);
  if (w->role == ROLE_CURRENT && !self->announced && count (self, ROLE_CURRENT, TRUE) == self->n_workers)
    {
      self->announced = TRUE;
      g_signal_emit (self, signals[SIGNAL_READY], 0);
      if (self->reload_pending)
        {
          self->reload_pending = FALSE;
          pst_master_reload (self);
        }
    }
  else if (w->role == ROLE_NEXT && count (self, ROLE_NEXT, TRUE) == self->n_workers)
    roll_commit (self);
}

/* A line from a worker; NULL: its end closed (its wait reports the rest). */
static void
control_line_cb (const char *line, gpointer user_data)
{
  Worker *w = user_data;

  if (g_strcmp0 (line, "ready") == 0)
    worker_ready (w);
}

typedef struct {
  PstMaster *master;
  guint      index;
} Restart;

static gboolean
restart_cb (gpointer user_data)
{
  Restart *r = user_data;
  gboolean replaced = FALSE;

  /* A reload may have replaced the whole generation meanwhile. */
  for (guint i = 0; i < r->master->workers->len; i++)
    {
      Worker *w = r->master->workers->pdata[i];

      replaced |= w->index == r->index && w->role == ROLE_CURRENT;
    }
  if (!r->master->stopping && !r->master->finished && !replaced)
    start_worker (r->master, r->index, ROLE_CURRENT);
  g_object_unref (r->master);
  g_free (r);
  return G_SOURCE_REMOVE;
}

static char *
describe_end (GSubprocess *process)
{
  if (g_subprocess_get_if_signaled (process))
    {
      int sig = g_subprocess_get_term_sig (process);

      return g_strdup_printf (_("signal %d (%s)"), sig, g_strsignal (sig));
    }
  return g_strdup_printf (_("exit status %d"), g_subprocess_get_exit_status (process));
}

static void
worker_exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Worker *w = user_data;
  PstMaster *self = g_object_ref (w->master);
  g_autofree char *how = NULL;
  gboolean clean;
  gboolean quick = !w->ready || g_get_monotonic_time () - w->started < QUICK_DEATH_US;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  how = describe_end (w->process);
  clean = g_subprocess_get_if_exited (w->process) && g_subprocess_get_exit_status (w->process) == 0;
  g_ptr_array_remove (self->workers, w);
  update_workers_up (self);

  if (self->stopping || w->role == ROLE_OLD)
    {
      if (!clean)
        g_message ("worker %s (draining) ended by %s", w->pid, how);
      else
        g_debug ("worker %s finished draining", w->pid);
      if (self->stopping && self->workers->len == 0)
        finish (self, self->exit_status);
    }
  else if (w->role == ROLE_NEXT)
    {
      g_autofree char *why = g_strdup_printf ("new worker %s ended by %s before accepting", w->pid, how);

      roll_abort (self, why);
    }
  else
    {
      g_autofree char *line = NULL;
      g_autofree char *index = g_strdup_printf ("%u", w->index);
      guint delay_ms = 0;

      self->quick_deaths = quick ? self->quick_deaths + 1 : 0;
      /* Give up only when nothing serves: while siblings accept (a worker
       * restarted after the file went bad and its reload failed dies at
       * start), stopping them all would be worse; keep trying, at the
       * longest pause, until a reload brings a good file. */
      if (self->quick_deaths >= MAX_QUICK_DEATHS && count (self, ROLE_CURRENT, TRUE) == 0)
        {
          line = g_strdup_printf (_("worker %s ended by %s; workers died %u times in a row within a second "
                                    "of starting: giving up (see the errors above; try “postern run --workers 1” "
                                    "to see them in one process)"), w->pid, how, self->quick_deaths);
          pst_log_event (G_LOG_LEVEL_CRITICAL, "worker-ended", line, "PID", w->pid, "WORKER", index,
                         "END", how, NULL);
          self->exit_status = 1;
          pst_master_stop (self);
          pst_master_stop (self);   /* at once: nothing works anyway */
        }
      else
        {
          if (self->quick_deaths > 0)
            delay_ms = MIN (100u << MIN (self->quick_deaths - 1, 16u), (guint) MAX_BACKOFF_MS);
          if (delay_ms > 0)
            line = g_strdup_printf (_("worker %s ended by %s; starting a new one in %.1f s"),
                                    w->pid, how, delay_ms / 1000.0);
          else
            line = g_strdup_printf (_("worker %s ended by %s; starting a new one"), w->pid, how);
          pst_log_event (G_LOG_LEVEL_WARNING, "worker-ended", line, "PID", w->pid, "WORKER", index,
                         "END", how, NULL);
          {
            Restart *r = g_new0 (Restart, 1);

            r->master = g_object_ref (self);
            r->index = w->index;
            g_timeout_add (delay_ms, restart_cb, r);
          }
        }
    }
  worker_free (w);
  g_object_unref (self);
}

/* A descriptor above every target, so that the child's dup2 calls never
 * clobber a source not yet moved. */
static int
dup_above (int fd, int floor, GError **error)
{
  int copy = fcntl (fd, F_DUPFD_CLOEXEC, floor);

  if (copy < 0)
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                 _("cannot hand a socket to a worker: %s"), g_strerror (errno));
  return copy;
}

static guint
take_region (PstMaster *self)
{
  for (guint r = 0; self->counts != NULL && r < pst_shared_counts_get_n_regions (self->counts); r++)
    if (!self->region_used[r])
      {
        self->region_used[r] = TRUE;
        return r;
      }
  return PST_SHARED_COUNTS_NO_REGION;
}

static GSubprocess *
spawn (PstMaster *self, guint index, Role role, guint region, int *control, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  /* A reload's worker: its sockets and its file; one of the configuration
   * in force (restarted during a roll too): the sockets and the file in
   * force. */
  g_autoptr(GPtrArray) sockets = role == ROLE_NEXT ? pst_gateway_dup_sockets (self->gateway)
                                                   : pst_gateway_dup_previous_sockets (self->gateway);
  int config_fd = role == ROLE_NEXT ? self->next_config_fd : self->config_fd;
  g_autofree char *index_text = g_strdup_printf ("%u", index);
  g_autofree char *n_text = g_strdup_printf ("%u", sockets->len);
  g_autofree char *control_text = g_strdup_printf ("%u", PST_WORKER_FDS_START + sockets->len);
  /* above the sockets, the control socket, the shared counts and figures,
   * the ticket key and the configuration */
  int floor = PST_WORKER_FDS_START + (int) sockets->len + 5;
  int ours = -1, theirs = -1;
  GSubprocess *process;

  for (guint i = 0; i < sockets->len; i++)
    {
      int fd = dup_above (g_socket_get_fd (sockets->pdata[i]), floor, error);

      if (fd < 0)
        return NULL;
      g_subprocess_launcher_take_fd (launcher, fd, PST_WORKER_FDS_START + (int) i);
    }
  if (!pst_control_channel_make_pair (&ours, &theirs, error))
    return NULL;
  {
    int child_end = dup_above (theirs, floor, error);

    close (theirs);
    if (child_end < 0)
      {
        close (ours);
        return NULL;
      }
    g_subprocess_launcher_take_fd (launcher, child_end, PST_WORKER_FDS_START + (int) sockets->len);
  }
  g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_INDEX, index_text, TRUE);
  g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_FDS, n_text, TRUE);
  g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_CONTROL, control_text, TRUE);
  if (self->counts != NULL)
    {
      int fd = dup_above (pst_shared_counts_get_fd (self->counts), floor, error);
      g_autofree char *counts_text = NULL;

      if (fd < 0)
        {
          close (ours);
          return NULL;
        }
      /* With no region left (PST_SHARED_COUNTS_NO_REGION) the worker reads
       * the others' counts and publishes none. */
      counts_text = g_strdup_printf ("%d:%u", PST_WORKER_FDS_START + (int) sockets->len + 1, region);
      g_subprocess_launcher_take_fd (launcher, fd, PST_WORKER_FDS_START + (int) sockets->len + 1);
      g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_COUNTS, counts_text, TRUE);
    }
  if (self->metrics != NULL && region != PST_SHARED_COUNTS_NO_REGION)
    {
      int fd = dup_above (pst_shared_metrics_get_fd (self->metrics), floor, error);
      g_autofree char *metrics_text = NULL;

      if (fd < 0)
        {
          close (ours);
          return NULL;
        }
      metrics_text = g_strdup_printf ("%d:%u", PST_WORKER_FDS_START + (int) sockets->len + 2, region);
      g_subprocess_launcher_take_fd (launcher, fd, PST_WORKER_FDS_START + (int) sockets->len + 2);
      g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_METRICS, metrics_text, TRUE);
    }
  if (self->ticket_key_fd >= 0)
    {
      int fd = dup_above (self->ticket_key_fd, floor, error);
      g_autofree char *key_text = g_strdup_printf ("%d", PST_WORKER_FDS_START + (int) sockets->len + 3);

      if (fd < 0)
        {
          close (ours);
          return NULL;
        }
      g_subprocess_launcher_take_fd (launcher, fd, PST_WORKER_FDS_START + (int) sockets->len + 3);
      g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_TICKET_KEY, key_text, TRUE);
    }
  if (config_fd >= 0)
    {
      int fd = dup_above (config_fd, floor, error);
      g_autofree char *config_text = g_strdup_printf ("%d", PST_WORKER_FDS_START + (int) sockets->len + 4);

      if (fd < 0)
        {
          close (ours);
          return NULL;
        }
      g_subprocess_launcher_take_fd (launcher, fd, PST_WORKER_FDS_START + (int) sockets->len + 4);
      g_subprocess_launcher_setenv (launcher, PST_WORKER_ENV_CONFIG, config_text, TRUE);
    }
  /* The master alone speaks to the service manager (NotifyAccess=main). */
  g_subprocess_launcher_unsetenv (launcher, "NOTIFY_SOCKET");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_PID");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_FDS");
  g_subprocess_launcher_unsetenv (launcher, "LISTEN_FDNAMES");
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) self->worker_argv, error);
  if (process == NULL)
    {
      close (ours);
      return NULL;
    }
  *control = ours;
  return process;
}

static void
start_worker (PstMaster *self, guint index, Role role)
{
  g_autoptr(GError) error = NULL;
  int control = -1;
  guint region = take_region (self);
  GSubprocess *process = spawn (self, index, role, region, &control, &error);
  Worker *w;

  if (process == NULL)
    {
      if (region != PST_SHARED_COUNTS_NO_REGION)
        self->region_used[region] = FALSE;
      g_autofree char *line = g_strdup_printf (_("cannot start worker %u: %s"), index, error->message);

      pst_log_event (G_LOG_LEVEL_CRITICAL, "worker-ended", line, NULL);
      if (role == ROLE_NEXT)
        roll_abort (self, line);
      else
        {
          self->exit_status = 1;
          pst_master_stop (self);
          if (self->workers->len == 0)
            finish (self, 1);
        }
      return;
    }
  w = g_new0 (Worker, 1);
  w->master = g_object_ref (self);
  w->process = process;
  /* GSubprocess reaps its children in GLib's worker thread: one that
   * ended at once (its binary broken) may have no identifier left. */
  w->pid = g_strdup (g_subprocess_get_identifier (process));
  if (w->pid == NULL)
    w->pid = g_strdup ("?");
  w->index = index;
  w->role = role;
  /* (only fails for a descriptor that is not a socket: never here) */
  w->control = pst_control_channel_new (control, 1024, control_line_cb, w, NULL);
  w->started = g_get_monotonic_time ();
  w->region = region;
  if (self->metrics != NULL && atoi (w->pid) > 0)
    pst_shared_metrics_set_process (self->metrics, region, atoi (w->pid), index);
  g_ptr_array_add (self->workers, w);
  g_debug ("worker %u started: pid %s", index, w->pid);
  g_subprocess_wait_async (process, NULL, worker_exited_cb, w);
}

gboolean
pst_master_start (PstMaster *self, PstRuntime *runtime, GBytes *config_data, GPtrArray *inherited,
                  GError **error)
{
  g_return_val_if_fail (PST_IS_MASTER (self), FALSE);
  g_return_val_if_fail (config_data != NULL, FALSE);
  pst_gateway_set_inherited_sockets (self->gateway, inherited);
  if (!pst_gateway_apply (self->gateway, runtime, error))
    return FALSE;
  self->config_fd = pst_shared_memory_new_sealed ("postern-config", config_data, error);
  if (self->config_fd < 0)
    return FALSE;
  for (guint i = 1; i <= self->n_workers && !self->stopping; i++)
    start_worker (self, i, ROLE_CURRENT);
  return TRUE;
}

static gboolean
kill_timeout_cb (gpointer user_data)
{
  PstMaster *self = user_data;

  self->kill_timeout = 0;
  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      g_message ("worker %s still running after the drain timeout: killing it", w->pid);
      g_subprocess_force_exit (w->process);
    }
  return G_SOURCE_REMOVE;
}

void
pst_master_stop (PstMaster *self)
{
  g_return_if_fail (PST_IS_MASTER (self));
  if (self->stopping)
    {
      if (!self->stop_again)
        g_message ("asked to stop again: workers stop now");
      self->stop_again = TRUE;
      for (guint i = 0; i < self->workers->len; i++)
        send_line (self->workers->pdata[i], "stop");
      return;
    }
  self->stopping = TRUE;
  if (self->metrics != NULL)
    pst_shared_metrics_set_stopping (self->metrics, TRUE);
  update_workers_up (self);
  g_clear_handle_id (&self->roll_timeout, g_source_remove);
  self->rolling = FALSE;
  pst_systemd_notifyf ("STOPPING=1\nSTATUS=draining %u worker(s)", self->workers->len);
  {
    g_autofree char *line = g_strdup_printf ("stop requested: %u worker(s) draining", self->workers->len);
    g_autofree char *n = g_strdup_printf ("%u", self->workers->len);

    pst_log_event (G_LOG_LEVEL_MESSAGE, "workers-stopping", line, "WORKERS", n, NULL);
  }
  /* Our copies of the listening sockets go too: once the workers stop
   * accepting, a client is refused rather than left in a backlog. */
  pst_gateway_stop (self->gateway);
  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];

      w->role = ROLE_OLD;
      send_line (w, "drain");
    }
  self->kill_timeout = g_timeout_add ((self->drain_us + KILL_GRACE_US) / 1000, kill_timeout_cb, self);
  if (self->workers->len == 0)
    finish (self, self->exit_status);
}

GStrv
pst_master_dup_urls (PstMaster *self)
{
  g_return_val_if_fail (PST_IS_MASTER (self), NULL);
  return pst_gateway_dup_urls (self->gateway);
}

GArray *
pst_master_dup_worker_pids (PstMaster *self)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));

  for (guint i = 0; i < self->workers->len; i++)
    {
      Worker *w = self->workers->pdata[i];
      int pid = atoi (w->pid);

      if (pid > 0)
        g_array_append_val (pids, pid);
    }
  return pids;
}
