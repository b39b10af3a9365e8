/* pst-trust-doctor.h: who trusts what — local clients, the keystore and the back-ends of a config
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-config.h"
#include "pst-trust-row.h"

G_BEGIN_DECLS

/* Default bound on each back-end probe (they run concurrently). */
#define PST_TRUST_PROBE_TIMEOUT_SECONDS 5

/* Reads everything the doctor needs from config (paths, accept hosts,
 * back-ends) at once, then checks in a worker thread: the keystore
 * against the accept hosts, the programs on this machine (NSS databases,
 * the system store, each JDK's cacerts, Node, Python, curl) against the
 * certificate the gateway's chain ends in, and each ssl:// / wss://
 * back-end with a TLS probe against the truststore.  Nothing is changed. */
void        pst_trust_doctor_run_async  (PstConfig           *config,
                                         guint                probe_timeout_seconds,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data);
/* A GListModel of PstTrustRow, in report order. */
GListModel *pst_trust_doctor_run_finish (GAsyncResult  *result,
                                         GError       **error);

/* TRUE when no needed row failed: what `postern cert doctor` exits 0 on. */
gboolean    pst_trust_report_is_trusted (GListModel *rows);

G_END_DECLS
