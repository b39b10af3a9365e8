/* pst-conn-limits.h: the gateway's connection counts, overall and per client address
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-shared-counts.h"

G_BEGIN_DECLS

#define PST_CONN_LIMITS_PER_ADDRESS_DEFAULT 1000

#define PST_TYPE_CONN_LIMITS (pst_conn_limits_get_type ())
G_DECLARE_FINAL_TYPE (PstConnLimits, pst_conn_limits, PST, CONN_LIMITS, GObject)

/* Shared by the gateway, its listeners and every connection they accepted:
 * a connection gives its slot back to the object it took it from, so a
 * listener dropped by a reload, or gone, cannot make the counts leak. */
PstConnLimits *pst_conn_limits_new          (guint max);
guint          pst_conn_limits_get_max      (PstConnLimits *self);
guint          pst_conn_limits_get_live     (PstConnLimits *self);
guint          pst_conn_limits_get_for      (PstConnLimits *self, GInetAddress *address);
/* Takes a slot for a client at address unless the gateway is full or the
 * address already holds per_address (0: no cap) slots; a refusal is logged
 * at most once a second. */
gboolean       pst_conn_limits_acquire      (PstConnLimits *self, GInetAddress *address, guint per_address);
/* Gives the slot back and emits ::released. */
void           pst_conn_limits_release      (PstConnLimits *self, GInetAddress *address);
/* In a master's worker: the per-address cap counts every worker's
 * connections, and refusals are logged once a second for them all.
 * SHARED must outlive SELF. */
void           pst_conn_limits_set_shared   (PstConnLimits *self, PstSharedCounts *shared);
/* A worker that stops accepting (retired, draining) says so to its siblings. */
void           pst_conn_limits_set_accepting (PstConnLimits *self, gboolean accepting);
/* TRUE when a sibling worker that accepts holds clearly fewer connections:
 * leave it the clients waiting in the shared backlog for a moment. */
gboolean       pst_conn_limits_should_yield (PstConnLimits *self);

G_END_DECLS
