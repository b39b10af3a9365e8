/* pst-shared-counts.h: connection counts per client address, shared by a master's workers
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Memory the master creates (a memfd, MAP_SHARED) and every worker maps:
 * one region per running worker, in which it alone writes how many
 * connections each client address holds there; the others read it, so
 * that tcp.maximum.connections.per.address caps the whole gateway, not
 * each worker.  Also a refusal log stamp, so that refusals make one line
 * a second for the whole gateway.  Reads race with writes by design: a
 * count may lag by the connections being accepted at that instant. */
typedef struct _PstSharedCounts PstSharedCounts;

#define PST_SHARED_COUNTS_NO_REGION G_MAXUINT

/* The master's: N_REGIONS regions, all empty. */
PstSharedCounts *pst_shared_counts_new      (guint n_regions, GError **error);
/* A worker's: maps FD (taking it) and writes in REGION, which it empties. */
PstSharedCounts *pst_shared_counts_open     (int fd, guint region, GError **error);
void             pst_shared_counts_free     (PstSharedCounts *self);
int              pst_shared_counts_get_fd   (PstSharedCounts *self);
guint            pst_shared_counts_get_n_regions (PstSharedCounts *self);
/* The master, once a worker is gone: its connections are too. */
void             pst_shared_counts_clear_region (PstSharedCounts *self, guint region);

/* What the other regions count for ADDRESS */
guint            pst_shared_counts_get_others (PstSharedCounts *self, GInetAddress *address);
/* This worker's count for ADDRESS */
void             pst_shared_counts_publish  (PstSharedCounts *self, GInetAddress *address, guint count);
/* Counts a refusal; TRUE when no process logged one in the last second:
 * then *refused holds how many happened since (and the count restarts). */
gboolean         pst_shared_counts_refusal_log_due (PstSharedCounts *self, guint *refused);

/* This worker's connections now, and whether it accepts (a worker
 * retired by a reload does not: the others do not leave it clients). */
void             pst_shared_counts_set_load (PstSharedCounts *self, guint connections, gboolean accepting);
/* TRUE when a sibling that accepts holds clearly fewer connections than
 * MINE: leave it the clients waiting in the shared backlog. */
gboolean         pst_shared_counts_should_yield (PstSharedCounts *self, guint mine);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstSharedCounts, pst_shared_counts_free)

G_END_DECLS
