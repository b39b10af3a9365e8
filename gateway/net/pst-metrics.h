/* pst-metrics.h: the gateway's figures for /metrics and its health for /health
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PstRuntime PstRuntime;
typedef struct _PstSharedMetrics PstSharedMetrics;

typedef enum {
  PST_TLS_LEG_CLIENT,
  PST_TLS_LEG_BACKEND,
  PST_TLS_N_LEGS
} PstTlsLeg;

typedef enum {
  PST_TLS_FAILURE_UNKNOWN_CA,
  PST_TLS_FAILURE_EXPIRED,
  PST_TLS_FAILURE_NAME_MISMATCH,
  PST_TLS_FAILURE_NO_CLIENT_CERTIFICATE,
  PST_TLS_FAILURE_PROTOCOL,
  PST_TLS_FAILURE_OTHER,
  PST_TLS_N_FAILURES
} PstTlsFailure;

/* Upper bounds (seconds) of the back-end connect latency buckets; +Inf is
 * implied. */
#define PST_METRICS_N_BUCKETS 12
extern const double pst_metrics_latency_bounds[PST_METRICS_N_BUCKETS];

/* The figures of one service.  Plain numbers, so that the figures of
 * several workers add up (pst_metrics_data_merge). */
typedef struct {
  guint64     opened;
  guint64     closed;
  guint64     bytes_in;        /* from clients, counted as connections close */
  guint64     bytes_out;       /* to clients, likewise */
  guint64     connect_failures;
  guint64     latency_buckets[PST_METRICS_N_BUCKETS];   /* per bucket, not cumulative */
  guint64     latency_count;
  double      latency_sum;
  GHashTable *close_codes;     /* GUINT_TO_POINTER (code) → guint64 * */
} PstServiceFigures;

typedef struct {
  GHashTable *services;        /* name → PstServiceFigures * */
  guint64     tls_failures[PST_TLS_N_LEGS][PST_TLS_N_FAILURES];
  guint64     reloads_success;
  guint64     reloads_failure;
  gint64      last_reload_unix;   /* 0: never reloaded */
  gint64      start_unix;
} PstMetricsData;

void               pst_metrics_data_init    (PstMetricsData *data);
void               pst_metrics_data_clear   (PstMetricsData *data);
/* Adds every figure of from to into (start: the earliest; last reload: the latest). */
void               pst_metrics_data_merge   (PstMetricsData *into, const PstMetricsData *from);
PstServiceFigures *pst_metrics_data_service (PstMetricsData *data, const char *service);

const char   *pst_tls_leg_label            (PstTlsLeg leg);
const char   *pst_tls_failure_label        (PstTlsFailure failure);
/* The cause of a refused certificate, from GIO's verification flags. */
PstTlsFailure pst_tls_failure_from_flags   (GTlsCertificateFlags flags);
/* The cause of a failed handshake, from its GError (an alert the peer
 * sent, a missing certificate, bytes that are not TLS). */
PstTlsFailure pst_tls_failure_from_error   (const GError *error);

#define PST_TYPE_METRICS (pst_metrics_get_type ())
G_DECLARE_FINAL_TYPE (PstMetrics, pst_metrics, PST, METRICS, GObject)

/* One per gateway, for its whole life: a reload swaps the snapshot, never
 * the figures.  Every recording call accepts a NULL self (a connection
 * made outside a gateway, as in unit tests) and does nothing then. */
PstMetrics           *pst_metrics_new                   (void);
const PstMetricsData *pst_metrics_get_data              (PstMetrics *self);
void                  pst_metrics_connection_opened     (PstMetrics *self, const char *service);
/* close_code 0: not a WebSocket session (no close code counted) */
void                  pst_metrics_connection_closed     (PstMetrics *self, const char *service,
                                                         guint64 bytes_in, guint64 bytes_out,
                                                         gushort close_code);
void                  pst_metrics_tls_failure           (PstMetrics *self, PstTlsLeg leg, PstTlsFailure failure);
void                  pst_metrics_backend_connected     (PstMetrics *self, const char *service, double seconds);
void                  pst_metrics_backend_failed        (PstMetrics *self, const char *service);
/* error NULL: the reload succeeded. */
void                  pst_metrics_reload_done           (PstMetrics *self, const GError *error);
void                  pst_metrics_set_draining          (PstMetrics *self, gboolean draining);
gboolean              pst_metrics_get_draining          (PstMetrics *self);
void                  pst_metrics_set_shared            (PstMetrics *self, PstSharedMetrics *shared);
/* For a worker of a master: the workers accepting now and wanted (FALSE:
 * a single process) */
gboolean              pst_metrics_get_workers           (PstMetrics *self, guint *up, guint *wanted);
/* TRUE when healthy; otherwise *why (nullable) says why, for /health. */
gboolean              pst_metrics_check_health          (PstMetrics *self, char **why);
/* The Prometheus text exposition (format 0.0.4): these figures, the
 * certificates of runtime's keystore (nullable) and the process. */
char                 *pst_metrics_render                (PstMetrics *self, PstRuntime *runtime);

/* pst-metrics-render.c: exposition helpers, exposed for the tests */
/* A label value escaped for the exposition format (\\, \" and \n). */
char                 *pst_metrics_escape_label          (const char *value);
void                  pst_metrics_render_data           (GString *out, const PstMetricsData *data,
                                                         gboolean draining, PstRuntime *runtime);
/* A process of the gateway, for the process figures */
typedef struct {
  int         pid;     /* 0: this process */
  const char *label;   /* "master", "worker-1", … */
} PstMetricsProcess;
/* The same, the process figures summed over PROCESSES (the master first)
 * and given for each; none: this process alone */
void                  pst_metrics_render_data_for       (GString *out, const PstMetricsData *data,
                                                         gboolean draining, PstRuntime *runtime,
                                                         const PstMetricsProcess *processes,
                                                         guint n_processes);
/* The workers' gauges of a master's gateway */
void                  pst_metrics_render_workers        (GString *out, guint up, guint wanted);

G_END_DECLS
