/* pst-shared-metrics.h: the figures of every worker of a master, for gateway-wide /metrics and /health
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-metrics.h"

G_BEGIN_DECLS

/* Memory the master creates (a memfd, MAP_SHARED) and every worker maps,
 * so that a scrape of /metrics sees the whole gateway whichever worker
 * answers it:
 *   - slot 0, the master's: the figures of the workers that are gone
 *     (their counters kept, so that Prometheus counters never go back;
 *     their open connections at zero) and the reloads, which the master
 *     alone counts;
 *   - slot 1 + REGION, a worker's: its own figures, which it alone writes
 *     (serialized, double-buffered, so that a worker killed while writing
 *     leaves its previous figures whole);
 *   - how many workers are up, for /health.
 * A reader sums every slot; a fold (a worker's figures moved into slot 0
 * once it is gone) is bracketed by a sequence number, so that a reader
 * never counts a worker twice or not at all. */
typedef struct _PstSharedMetrics PstSharedMetrics;

/* What a slot may hold serialized: a few hundred services. */
#define PST_SHARED_METRICS_SLOT_BYTES (64 * 1024)

/* The master's: N_REGIONS worker slots (as PstSharedCounts' regions). */
PstSharedMetrics *pst_shared_metrics_new        (guint n_regions, GError **error);
/* A worker's: maps FD (taking it), writes in REGION's slot (emptied). */
PstSharedMetrics *pst_shared_metrics_open       (int fd, guint region, GError **error);
void              pst_shared_metrics_free       (PstSharedMetrics *self);
int               pst_shared_metrics_get_fd     (PstSharedMetrics *self);

/* A worker: its figures now (figures only: the master counts reloads). */
gboolean          pst_shared_metrics_publish    (PstSharedMetrics *self, const PstMetricsData *data);
/* Adds every slot but the caller's own to INTO (the caller adds its live
 * figures itself). */
void              pst_shared_metrics_sum_others (PstSharedMetrics *self, PstMetricsData *into);
/* Workers up now and wanted, as the master last wrote them. */
void              pst_shared_metrics_get_workers (PstSharedMetrics *self, guint *up, guint *wanted);

/* The master. */
void              pst_shared_metrics_set_workers (PstSharedMetrics *self, guint up, guint wanted);
/* REGION's worker is gone: its figures join slot 0, its connections
 * closed; the slot is empty for the next worker. */
void              pst_shared_metrics_fold       (PstSharedMetrics *self, guint region);
/* The last reload's error (NULL: it was good), for every worker's
 * /health, those started after it too. */
void              pst_shared_metrics_set_reload_error (PstSharedMetrics *self, const char *message);
char             *pst_shared_metrics_dup_reload_error (PstSharedMetrics *self);
/* A reload's outcome, counted once for the gateway. */
void              pst_shared_metrics_reload_done (PstSharedMetrics *self, gboolean success);

/* The processes of the gateway, for process figures that cover all of it
 * rather than the worker answering a scrape. */
typedef struct {
  int   pid;
  guint index;   /* the worker's number, 1…N */
} PstSharedProcess;
/* The master: REGION's slot is written by worker INDEX, process PID (set
 * once it is started; a fold clears it). */
void              pst_shared_metrics_set_process (PstSharedMetrics *self, guint region, int pid, guint index);
/* The master's pid, and the workers running now (PstSharedProcess, by
 * index; a reload's new and old workers both). */
GArray           *pst_shared_metrics_dup_processes (PstSharedMetrics *self, int *master_pid);
/* The master stops: every worker drains (postern_draining is 1 whichever
 * worker answers). */
void              pst_shared_metrics_set_stopping (PstSharedMetrics *self, gboolean stopping);
gboolean          pst_shared_metrics_get_stopping (PstSharedMetrics *self);

/* pst-metrics-serial.c: the slot format (a GVariant), exposed for the
 * tests and the fuzz target: slots are written by other processes. */
GVariant         *pst_metrics_data_serialize    (const PstMetricsData *data);
/* Adds what BYTES holds to INTO; FALSE (INTO untouched) when BYTES is not
 * a serialized PstMetricsData.  FIGURES_ONLY: not the reloads. */
gboolean          pst_metrics_data_merge_serialized (PstMetricsData *into, const guint8 *bytes, gsize len,
                                                     gboolean figures_only);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstSharedMetrics, pst_shared_metrics_free)

G_END_DECLS
