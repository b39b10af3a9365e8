/* pst-status.h: the status service: GET /health and GET /metrics
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>
#include "pst-metrics.h"
#include "pst-runtime.h"

G_BEGIN_DECLS

/* Answers msg for a status service.  rel_path is the request path below
 * the accept URL's path ("/health", "/metrics"); metrics (nullable: no
 * gateway) holds the figures and the health, runtime the snapshot the
 * connection was accepted with (its services and keystore). */
void pst_status_serve (PstMetrics        *metrics,
                       PstRuntime        *runtime,
                       SoupServerMessage *msg,
                       const char        *rel_path);

G_END_DECLS
