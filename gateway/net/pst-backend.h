/* pst-backend.h: dial a back-end: TCP, TLS verified against the truststore, WebSocket handshake
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-metrics.h"
#include "pst-runtime.h"

G_BEGIN_DECLS

#define PST_BACKEND_ERROR (pst_backend_error_quark ())
typedef enum {
  PST_BACKEND_ERROR_CONNECT,     /* could not reach it */
  PST_BACKEND_ERROR_TLS,         /* handshake failed, certificate refused */
  PST_BACKEND_ERROR_HANDSHAKE,   /* WebSocket upgrade refused */
  PST_BACKEND_ERROR_TIMEOUT,     /* connected, then no TLS or upgrade answer in time */
} PstBackendError;
GQuark pst_backend_error_quark (void);

/* Connects to url (tcp, ssl, ws, wss, http, https).  With tls, the
 * server is verified against trust (NULL = the system's CAs; truststore
 * names it in messages): chain, host name and validity; a refusal's
 * message says what failed and how to fix it.  ws/wss complete the
 * WebSocket upgrade; the stream returned is positioned at the first frame.
 * preamble (nullable: none) is written first on the TCP connection, before
 * any TLS or WebSocket byte: a PROXY protocol header (tcp.proxy-protocol). */
void       pst_backend_connect_async  (const PstUrl        *url,
                                       gboolean             tls,
                                       GBytes              *preamble,
                                       GTlsDatabase        *trust,
                                       const char          *truststore,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data);
GIOStream *pst_backend_connect_finish (GAsyncResult *result, GError **error);

/* Counts a finished dial (result, and the error its finish returned) in
 * metrics (nullable) under service: its connect time, or a failure and,
 * for a TLS refusal, its cause.  A cancelled dial is not counted. */
void       pst_backend_connect_record (GAsyncResult *result, const GError *error,
                                       PstMetrics *metrics, const char *service);

/* A short reason for a WebSocket close frame (≤ 100 bytes) */
const char *pst_backend_short_reason  (const GError *error);

G_END_DECLS
