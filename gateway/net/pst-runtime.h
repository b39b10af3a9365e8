/* pst-runtime.h: an immutable snapshot of a loaded config and its stores
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-config.h"
#include "pst-keystore.h"
#include "pst-metrics.h"

G_BEGIN_DECLS

#define PST_RUNTIME_ERROR (pst_runtime_error_quark ())
typedef enum {
  PST_RUNTIME_ERROR_INVALID,   /* the config has errors (printed as diagnostics) */
  PST_RUNTIME_ERROR_STORE,     /* a store could not be opened */
  PST_RUNTIME_ERROR_BIND,      /* an address could not be bound */
} PstRuntimeError;
GQuark pst_runtime_error_quark (void);

#define PST_TYPE_RUNTIME (pst_runtime_get_type ())
G_DECLARE_FINAL_TYPE (PstRuntime, pst_runtime, PST, RUNTIME, GObject)

/* Validates the config (diagnostics are returned in *diagnostics, errors
 * make this fail), opens the key and trust stores and prepares the
 * certificates.  Each connection keeps a reference to the runtime it
 * started with, so a reload never touches established connections. */
PstRuntime      *pst_runtime_new               (PstConfig  *config,
                                                GPtrArray **diagnostics,
                                                GError    **error);
PstConfig       *pst_runtime_get_config        (PstRuntime *self);
PstKeystore     *pst_runtime_get_keystore      (PstRuntime *self);   /* nullable */
GTlsDatabase    *pst_runtime_get_trust         (PstRuntime *self);   /* nullable: system CAs */
/* What verifies peers (back-ends, client certificates): the truststore's
 * anchors, or else the system's CAs, each parsed once per snapshot (the
 * system's on first use).  NULL only if the system CAs cannot be read:
 * GIO's default database then applies. */
GTlsDatabase    *pst_runtime_get_peer_trust    (PstRuntime *self);
const char      *pst_runtime_get_truststore_path (PstRuntime *self); /* nullable */
/* The certificate for a host name (SNI or accept host); NULL if none matches. */
GTlsCertificate *pst_runtime_lookup_certificate (PstRuntime *self, const char *host);
/* The figures of the gateway serving this snapshot (nullable: none).  Not
 * part of the snapshot: the gateway hands the same PstMetrics to every
 * snapshot it applies, so a reload keeps the counts. */
PstMetrics      *pst_runtime_get_metrics       (PstRuntime *self);
/* The key of the session tickets the accept side hands out (a GnuTLS
 * ticket key), one per snapshot; NULL if none could be made. */
GBytes          *pst_runtime_get_ticket_key    (PstRuntime *self);
void             pst_runtime_set_metrics       (PstRuntime *self, PstMetrics *metrics);

G_END_DECLS
