/* pst-master.h: the master process: binds, starts workers, rolls them on reload, restarts the dead
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-runtime.h"

G_BEGIN_DECLS

/* Loads and validates the configuration again for a reload from DATA, the
 * file's bytes (reporting diagnostics as "postern run" does; CONFIG_PATH
 * names it and anchors relative paths); NULL with error when it is bad. */
typedef PstRuntime *(*PstMasterLoadFunc) (const char *config_path, GBytes *data, GError **error);

#define PST_TYPE_MASTER (pst_master_get_type ())
G_DECLARE_FINAL_TYPE (PstMaster, pst_master, PST, MASTER, GObject)

/* WORKER_ARGV: how to start one worker ("/proc/self/exe run --config …");
 * the master adds the inherited sockets and the control socket through
 * the environment (pst-worker-link.h).  DRAIN_US: the workers' drain
 * timeout, after which the master kills what is left.
 * Signals: "ready" once the first N workers accept; "finished" (int: the
 * exit status for the command) once every worker is gone after a stop,
 * or when workers keep dying at start. */
PstMaster *pst_master_new    (const char *config_path, guint n_workers, const char *const *worker_argv,
                              gint64 drain_us, PstMasterLoadFunc load);
/* Binds what RUNTIME accepts (INHERITED: socket-activated GSockets, or
 * NULL) with the same checks and errors as a single gateway, then starts
 * the workers.  CONFIG_DATA: the file's bytes RUNTIME was made from; every
 * worker, restarted ones too, parses these (or a later reload's), never
 * the file as it may be now. */
gboolean   pst_master_start  (PstMaster *self, PstRuntime *runtime, GBytes *config_data,
                              GPtrArray *inherited, GError **error);
/* SIGHUP: validate the file again; if it is good, bind what is new, start
 * new workers and, once they accept, drain the previous ones and close
 * the sockets only they used; if it is bad, or the new workers do not all
 * come up, log it and keep everything as it was (the listening sockets
 * too). */
void       pst_master_reload (PstMaster *self);
/* SIGTERM/SIGINT: every worker drains; asked again, they stop at once. */
void       pst_master_stop   (PstMaster *self);
GStrv      pst_master_dup_urls (PstMaster *self);
/* The workers' process ids now running, in no order (for tests and logs) */
GArray    *pst_master_dup_worker_pids (PstMaster *self);

/* The default number of workers: the online CPUs */
guint      pst_master_default_workers (void);
/* The most --workers accepts: 4 per online CPU, at most 64 (but never
 * fewer than the CPUs) */
guint      pst_master_max_workers     (void);

G_END_DECLS
