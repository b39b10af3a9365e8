/* pst-probe.h: test an accept URL the way a client would (the editor's "Test" action)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Connects to url (ws, wss, http, https), verifying TLS against trust
 * (NULL = the system's CAs; pass the local CA's database for development
 * certificates); for ws/wss completes the WebSocket upgrade and, when
 * echo is TRUE, round-trips one message; for http/https fetches the page.
 * Bounded by 10 s. */
void  pst_probe_async  (const char          *url,
                        GTlsDatabase        *trust,
                        gboolean             echo,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data);
/* The same for a proxy service whose back-end is backend (its connect
 * URL, shown in messages; NULL = not a proxy): sends one message and
 * waits for its answer through the proxy, or for the gateway's close
 * (the back-end leg failed: an error naming the back-end), or 3 s of
 * quiet (the gateway reached the back-end, which did not answer).  The
 * probe always ends with a close handshake (1000). */
void  pst_probe_service_async (const char          *url,
                               GTlsDatabase        *trust,
                               gboolean             echo,
                               const char          *backend,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data);
/* A sentence saying what worked ("wss://localhost:9000/echo: TLSv1.3,
 * certificate verified, echo round trip in 2 ms"), or an error saying
 * in words what failed (certificate not trusted, expired, wrong host,
 * refused, HTTP 404, …). */
char *pst_probe_finish (GAsyncResult *result, GError **error);

G_END_DECLS
