/* pst-gateway.h: the running gateway: listeners keyed by bind address, and the current snapshot
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-runtime.h"
#include "pst-shared-counts.h"

G_BEGIN_DECLS

#define PST_TYPE_GATEWAY (pst_gateway_get_type ())
G_DECLARE_FINAL_TYPE (PstGateway, pst_gateway, PST, GATEWAY, GObject)

PstGateway *pst_gateway_new        (void);
/* Binds what the runtime's services accept (keeping listeners whose bind
 * address is unchanged), then hands new connections the new snapshot.
 * On error nothing changes. */
gboolean    pst_gateway_apply      (PstGateway *self, PstRuntime *runtime, GError **error);
/* Listening sockets handed over by the service manager (socket
 * activation): an accept address equal to one's local address uses it
 * instead of binding; one that matches no accept makes apply fail. */
void        pst_gateway_set_inherited_sockets (PstGateway *self, GPtrArray *sockets);
/* A master's gateway: apply binds (same checks, same errors) but never
 * accepts; the workers it starts accept on the sockets. */
void        pst_gateway_set_bind_only (PstGateway *self, gboolean bind_only);
/* Every listening socket of the configuration applied last (GSocket) */
GPtrArray  *pst_gateway_dup_sockets (PstGateway *self);
/* A master's reload: binds what the new runtime needs as apply does, but
 * keeps the previous set bound too until pst_gateway_confirm() (the new
 * workers accept: the previous set's own sockets close) or
 * pst_gateway_revert() (they failed: the new set's own sockets close and
 * the previous runtime, URLs and sockets are in force again).  Bind-only
 * gateways only. */
gboolean    pst_gateway_apply_tentative (PstGateway *self, PstRuntime *runtime, GError **error);
void        pst_gateway_confirm    (PstGateway *self);
void        pst_gateway_revert     (PstGateway *self);
/* During a tentative apply, the previous set's sockets (for a worker of
 * the configuration still in force); otherwise as pst_gateway_dup_sockets */
GPtrArray  *pst_gateway_dup_previous_sockets (PstGateway *self);
/* A master's worker: connection caps per address count every worker's
 * (SHARED outlives the gateway). */
void        pst_gateway_set_shared_counts (PstGateway *self, PstSharedCounts *shared);
/* The accept URLs now served, in config order. */
GStrv       pst_gateway_dup_urls   (PstGateway *self);
/* Stops accepting; open sessions get a close handshake (1001).  A
 * listener serving only status routes goes on answering, /health with 503
 * (draining), until the gateway is disposed. */
void        pst_gateway_stop       (PstGateway *self);
/* Stops accepting on every listener, status ones included, and leaves
 * every connection alone: a worker replaced after a reload lets its
 * sessions end on their own. */
void        pst_gateway_stop_accepting (PstGateway *self);
guint       pst_gateway_get_n_connections (PstGateway *self);
/* Connections, bytes, TLS failures, reloads: for the status service */
PstMetrics *pst_gateway_get_metrics (PstGateway *self);
/* No connection open, and no closed one still writing its last bytes */
gboolean    pst_gateway_is_idle    (PstGateway *self);

G_END_DECLS
