/* pst-cmd-run-private.h: "postern run" internals shared by its single-process and master/worker parts
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-gateway.h"
#include "pst-master.h"
#include "pst-worker-link.h"

typedef struct {
  GMainLoop  *loop;
  PstGateway *gateway;
  char       *config_path;
  gint64      stop_deadline;
  gint64      drain_us;
  PstWorkerLink *link;     /* a worker: its master */
  PstMaster  *master;      /* a master: its workers */
  gboolean    retiring;    /* a worker replaced by a reload: no longer accepts */
  int         status;
} Run;

/* pst-cmd-run.c */
gboolean    pst_run_stop_cb     (gpointer user_data);   /* SIGINT/SIGTERM: drain, then stop at once */
PstRuntime *pst_run_master_load (const char *path, GBytes *data, GError **error);

/* pst-cmd-run-workers.c */
/* Prints the "listening on" lines (and JSON records), tells systemd READY=1. */
void        pst_run_announce    (Run *run, GStrv urls);
/* A worker: its master's orders drive RUN. */
void        pst_run_attach_link (Run *run, PstWorkerLink *link);
/* How a master starts a worker: this binary, --workers 1. */
GStrv       pst_run_worker_argv (const char *config_path, const char *log_format, double drain_s);
/* The master's life: binds, starts N workers, returns the exit status. */
/* CONFIG_DATA: the file's bytes RUNTIME was made from. */
int         pst_run_master      (Run *run, PstRuntime *runtime, GBytes *config_data, guint n_workers,
                                 GStrv argv);
