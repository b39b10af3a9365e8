/* pst-proxy.h: the proxy service: a client joined to its back-end, with backpressure both ways
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-connection.h"

G_BEGIN_DECLS

/* A WebSocket client (ws/wss accept, upgraded stream) */
void pst_proxy_start_websocket (PstConnection *conn, PstRoute *route, GIOStream *stream);
/* A byte client (tcp/ssl accept) */
void pst_proxy_start_bytes     (PstConnection *conn, PstRoute *route, GIOStream *stream);

G_END_DECLS
