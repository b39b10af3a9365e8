/* pst-cert-fetch.h: the certificate chain a TLS server presents (to decide whether to trust it)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* TLS handshake with host_and_port ("host:port", "[::1]:port"), accepting
 * any certificate, bounded by a 10 s timeout; nothing is sent after. */
void       pst_cert_fetch_chain_async  (const char          *host_and_port,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
/* The same, bounded by timeout_seconds (0: 10 s). */
void       pst_cert_fetch_chain_with_timeout_async (const char          *host_and_port,
                                                    guint                timeout_seconds,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
/* GBytes DER certificates, leaf first */
GPtrArray *pst_cert_fetch_chain_finish (GAsyncResult *result, GError **error);
/* The same, and what the system's trust database found wrong with the
 * chain (0 = the system trusts the server already). */
GPtrArray *pst_cert_fetch_chain_finish_full (GAsyncResult          *result,
                                             GTlsCertificateFlags  *out_errors,
                                             GError               **error);

G_END_DECLS
