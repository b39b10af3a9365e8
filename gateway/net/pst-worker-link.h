/* pst-worker-link.h: a worker's side of its master: inherited sockets, readiness, orders
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-shared-counts.h"
#include "pst-shared-metrics.h"

G_BEGIN_DECLS

/* The environment a master sets for the workers it starts. */
#define PST_WORKER_ENV_INDEX   "POSTERN_WORKER"           /* 1…N */
#define PST_WORKER_ENV_FDS     "POSTERN_WORKER_FDS"       /* listening sockets at 3… */
#define PST_WORKER_ENV_CONTROL "POSTERN_WORKER_CONTROL"   /* the control socket's descriptor */
#define PST_WORKER_ENV_COUNTS  "POSTERN_WORKER_COUNTS"    /* "FD:REGION": the shared counts */
#define PST_WORKER_ENV_METRICS "POSTERN_WORKER_METRICS"   /* "FD:REGION": the shared figures */
#define PST_WORKER_ENV_TICKET_KEY "POSTERN_WORKER_TICKET_KEY" /* "FD": the TLS session ticket key */
#define PST_WORKER_ENV_CONFIG  "POSTERN_WORKER_CONFIG"    /* "FD": the configuration the master validated */
#define PST_WORKER_FDS_START   3

#define PST_TYPE_WORKER_LINK (pst_worker_link_get_type ())
G_DECLARE_FINAL_TYPE (PstWorkerLink, pst_worker_link, PST, WORKER_LINK, GObject)

/* NULL without error when this process was not started by a master.  The
 * variables are cleared so that nothing this worker starts inherits them.
 * Signals, on the thread-default main context:
 *   "drain" (boolean)       the master stops (FALSE) or, after a reload,
 *                           replaces (TRUE) this worker: drain
 *   "stop"                  stop at once (asked twice)
 *   "reload-done" (string)  the master's reload outcome: NULL, or the
 *                           error that kept the previous configuration
 *   "master-gone"           the control socket closed: the master died */
PstWorkerLink *pst_worker_link_new_from_env (GError **error);
guint          pst_worker_link_get_index    (PstWorkerLink *self);
/* The listening sockets the master bound (GSocket), once */
GPtrArray     *pst_worker_link_take_sockets (PstWorkerLink *self);
/* The connection counts every worker shares (nullable); lives as long as
 * the link */
PstSharedCounts *pst_worker_link_get_shared_counts (PstWorkerLink *self);
/* The figures every worker shares (nullable); lives as long as the link */
PstSharedMetrics *pst_worker_link_get_shared_metrics (PstWorkerLink *self);
/* The bytes of the configuration file as the master last validated them
 * (a sealed memfd), to be parsed instead of the file, which may have been
 * edited since (nullable: a master that passed none) */
GBytes        *pst_worker_link_get_config   (PstWorkerLink *self);
/* Tells the master this worker accepts on every socket. */
void           pst_worker_link_send_ready   (PstWorkerLink *self);

G_END_DECLS
