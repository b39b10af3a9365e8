/* pst-worker-link.c: a worker's side of its master: inherited sockets, readiness, orders
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib-unix.h>

#include "pst-config.h"
#include "pst-control-channel.h"
#include "pst-runtime.h"
#include "pst-shared-memory.h"
#include "pst-systemd.h"
#include "pst-tls-server.h"
#include "pst-worker-link.h"

/* The control socket carries lines: the master sends "drain", "retire"
 * (drain: new workers took over after a reload), "stop",
 * "reload-ok" and "reload-failed MESSAGE"; the worker sends "ready". */

struct _PstWorkerLink
{
  GObject    parent_instance;
  guint      index;
  PstControlChannel *control;
  GPtrArray *sockets;
  PstSharedCounts *counts;
  PstSharedMetrics *metrics;
  GBytes    *config;
};

enum { SIGNAL_DRAIN, SIGNAL_STOP, SIGNAL_RELOAD_DONE, SIGNAL_MASTER_GONE, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PstWorkerLink, pst_worker_link, G_TYPE_OBJECT)

static void
pst_worker_link_dispose (GObject *object)
{
  PstWorkerLink *self = PST_WORKER_LINK (object);

  if (self->control != NULL)
    pst_control_channel_stop (self->control);
  g_clear_pointer (&self->sockets, g_ptr_array_unref);
  G_OBJECT_CLASS (pst_worker_link_parent_class)->dispose (object);
}

static void
pst_worker_link_finalize (GObject *object)
{
  PstWorkerLink *self = PST_WORKER_LINK (object);

  g_clear_pointer (&self->control, pst_control_channel_free);
  g_clear_pointer (&self->counts, pst_shared_counts_free);
  g_clear_pointer (&self->metrics, pst_shared_metrics_free);
  g_clear_pointer (&self->config, g_bytes_unref);
  G_OBJECT_CLASS (pst_worker_link_parent_class)->finalize (object);
}

static void
pst_worker_link_class_init (PstWorkerLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_worker_link_dispose;
  object_class->finalize = pst_worker_link_finalize;
  signals[SIGNAL_DRAIN] = g_signal_new ("drain", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                        0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_BOOLEAN);
  signals[SIGNAL_STOP] = g_signal_new ("stop", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_RELOAD_DONE] = g_signal_new ("reload-done", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                              0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[SIGNAL_MASTER_GONE] = g_signal_new ("master-gone", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                              0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pst_worker_link_init (PstWorkerLink *self)
{
}

/* An order from the master; NULL: the control socket closed. */
static void
handle_line (const char *line, gpointer user_data)
{
  PstWorkerLink *self = user_data;

  if (line == NULL)
    g_signal_emit (self, signals[SIGNAL_MASTER_GONE], 0);
  else if (strcmp (line, "drain") == 0)
    g_signal_emit (self, signals[SIGNAL_DRAIN], 0, FALSE);
  else if (strcmp (line, "retire") == 0)
    g_signal_emit (self, signals[SIGNAL_DRAIN], 0, TRUE);
  else if (strcmp (line, "stop") == 0)
    g_signal_emit (self, signals[SIGNAL_STOP], 0);
  else if (strcmp (line, "reload-ok") == 0)
    g_signal_emit (self, signals[SIGNAL_RELOAD_DONE], 0, NULL);
  else if (g_str_has_prefix (line, "reload-failed "))
    g_signal_emit (self, signals[SIGNAL_RELOAD_DONE], 0, line + strlen ("reload-failed "));
  else
    g_debug ("master sent an unknown order: %s", line);
}

static gboolean
env_number (const char *name, guint64 min, guint64 max, guint64 *out, GError **error)
{
  const char *text = g_getenv (name);

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, min, max, out, NULL))
    {
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                   _("%s=%s: not what a postern master sets (a worker is started by “postern run”; "
                     "unset the variable)"), name, text ? text : "");
      return FALSE;
    }
  return TRUE;
}

/* "FD:REGION", FD at least MIN_FD (made close-on-exec) */
static gboolean
env_fd_region (const char *name, guint64 min_fd, guint64 *fd, guint64 *region, GError **error)
{
  const char *text = g_getenv (name);
  g_auto(GStrv) parts = g_strsplit (text, ":", 2);

  if (g_strv_length (parts) != 2 ||
      !g_ascii_string_to_unsigned (parts[0], 10, min_fd, G_MAXINT, fd, NULL) ||
      !g_ascii_string_to_unsigned (parts[1], 10, 0, G_MAXUINT, region, NULL))
    {
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                   _("%s=%s: not what a postern master sets (a worker is started by “postern run”; "
                     "unset the variable)"), name, text);
      return FALSE;
    }
  fcntl ((int) *fd, F_SETFD, FD_CLOEXEC);
  return TRUE;
}

PstWorkerLink *
pst_worker_link_new_from_env (GError **error)
{
  g_autoptr(PstWorkerLink) self = NULL;
  guint64 index = 0, n = 0, control = 0;

  if (g_getenv (PST_WORKER_ENV_INDEX) == NULL)
    return NULL;
  if (!env_number (PST_WORKER_ENV_INDEX, 1, 4096, &index, error) ||
      !env_number (PST_WORKER_ENV_FDS, 0, 4096, &n, error) ||
      !env_number (PST_WORKER_ENV_CONTROL, PST_WORKER_FDS_START + n, G_MAXINT, &control, error))
    return NULL;
  self = g_object_new (PST_TYPE_WORKER_LINK, NULL);
  if (g_getenv (PST_WORKER_ENV_COUNTS) != NULL)
    {
      guint64 fd = 0, region = 0;

      if (!env_fd_region (PST_WORKER_ENV_COUNTS, PST_WORKER_FDS_START + n + 1, &fd, &region, error))
        return NULL;
      self->counts = pst_shared_counts_open ((int) fd, (guint) region, error);
      if (self->counts == NULL)
        return NULL;
    }
  if (g_getenv (PST_WORKER_ENV_METRICS) != NULL)
    {
      guint64 fd = 0, region = 0;

      if (!env_fd_region (PST_WORKER_ENV_METRICS, PST_WORKER_FDS_START + n + 1, &fd, &region, error))
        return NULL;
      self->metrics = pst_shared_metrics_open ((int) fd, (guint) region, error);
      if (self->metrics == NULL)
        return NULL;
    }
  if (g_getenv (PST_WORKER_ENV_TICKET_KEY) != NULL)
    {
      guint64 fd = 0;

      if (!env_number (PST_WORKER_ENV_TICKET_KEY, PST_WORKER_FDS_START + n + 1, G_MAXINT, &fd, error) ||
          !pst_tls_server_adopt_ticket_key ((int) fd, error))
        return NULL;
    }
  if (g_getenv (PST_WORKER_ENV_CONFIG) != NULL)
    {
      guint64 fd = 0;

      if (!env_number (PST_WORKER_ENV_CONFIG, PST_WORKER_FDS_START + n + 1, G_MAXINT, &fd, error))
        return NULL;
      self->config = pst_shared_memory_read_sealed ((int) fd, PST_CONFIG_MAX_SIZE, error);
      close ((int) fd);
      if (self->config == NULL)
        return NULL;
    }
  g_unsetenv (PST_WORKER_ENV_CONFIG);
  g_unsetenv (PST_WORKER_ENV_TICKET_KEY);
  g_unsetenv (PST_WORKER_ENV_INDEX);
  g_unsetenv (PST_WORKER_ENV_FDS);
  g_unsetenv (PST_WORKER_ENV_CONTROL);
  g_unsetenv (PST_WORKER_ENV_COUNTS);
  g_unsetenv (PST_WORKER_ENV_METRICS);
  self->index = (guint) index;
  /* our own master never sends a line that long */
  self->control = pst_control_channel_new ((int) control, 64 * 1024, handle_line, self, error);
  if (self->control == NULL)
    return NULL;
  self->sockets = pst_systemd_adopt_listen_fds (PST_WORKER_FDS_START, (guint) n, NULL, error);
  if (self->sockets == NULL)
    return NULL;
  return g_steal_pointer (&self);
}

guint
pst_worker_link_get_index (PstWorkerLink *self)
{
  g_return_val_if_fail (PST_IS_WORKER_LINK (self), 0);
  return self->index;
}

GPtrArray *
pst_worker_link_take_sockets (PstWorkerLink *self)
{
  g_return_val_if_fail (PST_IS_WORKER_LINK (self), NULL);
  return self->sockets ? g_steal_pointer (&self->sockets) : g_ptr_array_new_with_free_func (g_object_unref);
}

PstSharedCounts *
pst_worker_link_get_shared_counts (PstWorkerLink *self)
{
  g_return_val_if_fail (PST_IS_WORKER_LINK (self), NULL);
  return self->counts;
}

void
pst_worker_link_send_ready (PstWorkerLink *self)
{
  g_return_if_fail (PST_IS_WORKER_LINK (self));
  /* A few bytes on an empty socket: this does not block. */
  pst_control_channel_send (self->control, "ready");
}

PstSharedMetrics *
pst_worker_link_get_shared_metrics (PstWorkerLink *self)
{
  g_return_val_if_fail (PST_IS_WORKER_LINK (self), NULL);
  return self->metrics;
}

GBytes *
pst_worker_link_get_config (PstWorkerLink *self)
{
  g_return_val_if_fail (PST_IS_WORKER_LINK (self), NULL);
  return self->config;
}
