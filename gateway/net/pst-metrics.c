/* pst-metrics.c: the gateway's figures for /metrics and its health for /health
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-metrics.h"
#include "pst-shared-metrics.h"

/* 1 ms … 10 s: a loopback connect is well under a millisecond, a TLS
 * back-end across a network tens of milliseconds, a struggling one seconds. */
const double pst_metrics_latency_bounds[PST_METRICS_N_BUCKETS] = {
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

struct _PstMetrics
{
  GObject         parent_instance;
  PstMetricsData  data;
  gboolean        draining;
  char           *reload_error;   /* the last reload's failure, NULL after a good one */
  PstSharedMetrics *shared;       /* a master's workers' figures (not owned), or NULL */
  guint           publish_source;
};

G_DEFINE_TYPE (PstMetrics, pst_metrics, G_TYPE_OBJECT)

static void
service_figures_free (PstServiceFigures *figures)
{
  g_clear_pointer (&figures->close_codes, g_hash_table_unref);
  g_free (figures);
}

void
pst_metrics_data_init (PstMetricsData *data)
{
  memset (data, 0, sizeof *data);
  data->services = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) service_figures_free);
  data->start_unix = g_get_real_time () / G_USEC_PER_SEC;
}

void
pst_metrics_data_clear (PstMetricsData *data)
{
  g_clear_pointer (&data->services, g_hash_table_unref);
}

PstServiceFigures *
pst_metrics_data_service (PstMetricsData *data, const char *service)
{
  PstServiceFigures *figures;

  if (service == NULL)
    service = "";
  figures = g_hash_table_lookup (data->services, service);
  if (figures == NULL)
    {
      figures = g_new0 (PstServiceFigures, 1);
      figures->close_codes = g_hash_table_new_full (NULL, NULL, NULL, g_free);
      g_hash_table_insert (data->services, g_strdup (service), figures);
    }
  return figures;
}

static void
add_close_codes (GHashTable *into, guint code, guint64 count)
{
  guint64 *n = g_hash_table_lookup (into, GUINT_TO_POINTER (code));

  if (n == NULL)
    {
      n = g_new0 (guint64, 1);
      g_hash_table_insert (into, GUINT_TO_POINTER (code), n);
    }
  *n += count;
}

void
pst_metrics_data_merge (PstMetricsData *into, const PstMetricsData *from)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, from->services);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const PstServiceFigures *src = value;
      PstServiceFigures *dst = pst_metrics_data_service (into, key);
      GHashTableIter codes;
      gpointer code, count;

      dst->opened += src->opened;
      dst->closed += src->closed;
      dst->bytes_in += src->bytes_in;
      dst->bytes_out += src->bytes_out;
      dst->connect_failures += src->connect_failures;
      for (guint b = 0; b < PST_METRICS_N_BUCKETS; b++)
        dst->latency_buckets[b] += src->latency_buckets[b];
      dst->latency_count += src->latency_count;
      dst->latency_sum += src->latency_sum;
      g_hash_table_iter_init (&codes, src->close_codes);
      while (g_hash_table_iter_next (&codes, &code, &count))
        add_close_codes (dst->close_codes, GPOINTER_TO_UINT (code), *(guint64 *) count);
    }
  for (guint l = 0; l < PST_TLS_N_LEGS; l++)
    for (guint f = 0; f < PST_TLS_N_FAILURES; f++)
      into->tls_failures[l][f] += from->tls_failures[l][f];
  into->reloads_success += from->reloads_success;
  into->reloads_failure += from->reloads_failure;
  into->last_reload_unix = MAX (into->last_reload_unix, from->last_reload_unix);
  if (from->start_unix != 0 && (into->start_unix == 0 || from->start_unix < into->start_unix))
    into->start_unix = from->start_unix;
}

const char *
pst_tls_leg_label (PstTlsLeg leg)
{
  return leg == PST_TLS_LEG_CLIENT ? "client" : "backend";
}

const char *
pst_tls_failure_label (PstTlsFailure failure)
{
  static const char * const labels[PST_TLS_N_FAILURES] = {
    "unknown_ca", "expired", "name_mismatch", "no_client_certificate", "protocol", "other",
  };

  return failure < PST_TLS_N_FAILURES ? labels[failure] : "other";
}

PstTlsFailure
pst_tls_failure_from_flags (GTlsCertificateFlags flags)
{
  /* Most telling first: an untrusted issuer says more than its dates. */
  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    return PST_TLS_FAILURE_UNKNOWN_CA;
  if (flags & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    return PST_TLS_FAILURE_EXPIRED;
  if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return PST_TLS_FAILURE_NAME_MISMATCH;
  return PST_TLS_FAILURE_OTHER;
}

PstTlsFailure
pst_tls_failure_from_error (const GError *error)
{
  g_autofree char *lower = NULL;

  if (error == NULL)
    return PST_TLS_FAILURE_OTHER;
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_CERTIFICATE_REQUIRED))
    return PST_TLS_FAILURE_NO_CLIENT_CERTIFICATE;
  lower = g_ascii_strdown (error->message, -1);
  /* glib-networking calls this NOT_TLS, but the peer did speak TLS: it is
   * the unreadable alert of a TLS 1.3 client (see below). */
  if (strstr (lower, "decryption has failed") != NULL)
    return PST_TLS_FAILURE_OTHER;
  if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_NOT_TLS) ||
      g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_INAPPROPRIATE_FALLBACK))
    return PST_TLS_FAILURE_PROTOCOL;
  /* The peer's alert is only in the message: glib-networking quotes
   * gnutls_alert_get_name (), e.g. "Peer sent fatal TLS alert: CA is
   * unknown".  (A TLS 1.3 client that refuses our certificate sends its
   * alert before it has keys, which GnuTLS reports as "Decryption has
   * failed": no cause can be read from that, so it counts as other.) */
  if (strstr (lower, "ca is unknown") != NULL || strstr (lower, "unknown ca") != NULL)
    return PST_TLS_FAILURE_UNKNOWN_CA;
  if (strstr (lower, "certificate is expired") != NULL || strstr (lower, "certificate expired") != NULL)
    return PST_TLS_FAILURE_EXPIRED;
  if (strstr (lower, "certificate is required") != NULL || strstr (lower, "certificate required") != NULL)
    return PST_TLS_FAILURE_NO_CLIENT_CERTIFICATE;
  if (strstr (lower, "protocol") != NULL || strstr (lower, "version") != NULL ||
      strstr (lower, "cipher") != NULL || strstr (lower, "handshake failure") != NULL ||
      strstr (lower, "unexpected packet") != NULL || strstr (lower, "not tls") != NULL)
    return PST_TLS_FAILURE_PROTOCOL;
  if (error->domain == G_TLS_ERROR && error->code == G_TLS_ERROR_HANDSHAKE)
    return PST_TLS_FAILURE_PROTOCOL;
  return PST_TLS_FAILURE_OTHER;
}

static void
pst_metrics_finalize (GObject *object)
{
  PstMetrics *self = PST_METRICS (object);

  g_clear_handle_id (&self->publish_source, g_source_remove);
  pst_metrics_data_clear (&self->data);
  g_free (self->reload_error);
  G_OBJECT_CLASS (pst_metrics_parent_class)->finalize (object);
}

static void
pst_metrics_class_init (PstMetricsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_metrics_finalize;
}

static void
pst_metrics_init (PstMetrics *self)
{
  pst_metrics_data_init (&self->data);
}

/**
 * pst_metrics_new:
 *
 * Returns: (transfer full): empty figures, the process start time now.
 */
PstMetrics *
pst_metrics_new (void)
{
  return g_object_new (PST_TYPE_METRICS, NULL);
}

const PstMetricsData *
pst_metrics_get_data (PstMetrics *self)
{
  g_return_val_if_fail (PST_IS_METRICS (self), NULL);
  return &self->data;
}

static gboolean
publish_cb (gpointer user_data)
{
  PstMetrics *self = user_data;

  self->publish_source = 0;
  if (self->shared != NULL && !pst_shared_metrics_publish (self->shared, &self->data))
    g_debug ("this worker's figures do not fit in the shared memory: other workers miss them");
  return G_SOURCE_REMOVE;
}

/* The other workers read our figures from shared memory: one copy per
 * main-loop turn, however many connections it opened or closed. */
static void
changed (PstMetrics *self)
{
  if (self->shared != NULL && self->publish_source == 0)
    self->publish_source = g_idle_add_full (G_PRIORITY_DEFAULT, publish_cb, self, NULL);
}

/**
 * pst_metrics_set_shared:
 * @shared: (nullable) (transfer none): must outlive @self
 *
 * A worker of a master: publish these figures for the other workers, and
 * answer /metrics and /health for the whole gateway.  NULL: a last copy
 * of the figures, then this process's alone again.
 */
void
pst_metrics_set_shared (PstMetrics *self, PstSharedMetrics *shared)
{
  g_return_if_fail (PST_IS_METRICS (self));
  /* Detached (the worker ends): what changed since the last copy counts. */
  if (self->shared != NULL && self->publish_source != 0)
    {
      g_clear_handle_id (&self->publish_source, g_source_remove);
      pst_shared_metrics_publish (self->shared, &self->data);
    }
  self->shared = shared;
  if (shared != NULL)
    pst_shared_metrics_publish (shared, &self->data);
}

void
pst_metrics_connection_opened (PstMetrics *self, const char *service)
{
  /* A connection is counted under its service's name: one without a
   * name is not counted (nor is its close). */
  if (self == NULL || service == NULL)
    return;
  pst_metrics_data_service (&self->data, service)->opened++;
  changed (self);
}

void
pst_metrics_connection_closed (PstMetrics *self, const char *service,
                               guint64 bytes_in, guint64 bytes_out, gushort close_code)
{
  PstServiceFigures *figures;

  if (self == NULL || service == NULL)
    return;
  figures = pst_metrics_data_service (&self->data, service);
  figures->closed++;
  figures->bytes_in += bytes_in;
  figures->bytes_out += bytes_out;
  if (close_code != 0)
    add_close_codes (figures->close_codes, close_code, 1);
  changed (self);
}

void
pst_metrics_tls_failure (PstMetrics *self, PstTlsLeg leg, PstTlsFailure failure)
{
  if (self == NULL || leg >= PST_TLS_N_LEGS || failure >= PST_TLS_N_FAILURES)
    return;
  self->data.tls_failures[leg][failure]++;
  changed (self);
}

void
pst_metrics_backend_connected (PstMetrics *self, const char *service, double seconds)
{
  PstServiceFigures *figures;
  guint b;

  if (self == NULL)
    return;
  figures = pst_metrics_data_service (&self->data, service);
  seconds = MAX (seconds, 0);
  for (b = 0; b < PST_METRICS_N_BUCKETS && seconds > pst_metrics_latency_bounds[b]; b++)
    ;
  if (b < PST_METRICS_N_BUCKETS)
    figures->latency_buckets[b]++;
  figures->latency_count++;
  figures->latency_sum += seconds;
  changed (self);
}

void
pst_metrics_backend_failed (PstMetrics *self, const char *service)
{
  if (self == NULL)
    return;
  pst_metrics_data_service (&self->data, service)->connect_failures++;
  changed (self);
}

void
pst_metrics_reload_done (PstMetrics *self, const GError *error)
{
  if (self == NULL)
    return;
  self->data.last_reload_unix = g_get_real_time () / G_USEC_PER_SEC;
  g_clear_pointer (&self->reload_error, g_free);
  if (error == NULL)
    self->data.reloads_success++;
  else
    {
      self->data.reloads_failure++;
      self->reload_error = g_strdup (error->message);
    }
}

void
pst_metrics_set_draining (PstMetrics *self, gboolean draining)
{
  if (self != NULL)
    self->draining = draining;
}

gboolean
pst_metrics_get_draining (PstMetrics *self)
{
  return self != NULL && self->draining;
}

gboolean
pst_metrics_check_health (PstMetrics *self, char **why)
{
  char *text = NULL;
  g_autofree char *shared_error = NULL;
  const char *reload_error;

  g_return_val_if_fail (PST_IS_METRICS (self), FALSE);
  /* A worker of a master: the master's word, which a worker started after
   * the failed reload (a restart) knows too. */
  if (self->shared != NULL)
    shared_error = pst_shared_metrics_dup_reload_error (self->shared);
  reload_error = self->shared != NULL ? shared_error : self->reload_error;
  if (self->draining)
    text = g_strdup (_("draining: the gateway is stopping and accepts no new sessions"));
  else if (reload_error != NULL)
    text = g_strdup_printf (_("last reload failed, still serving the previous configuration: %s"),
                            reload_error);
  if (why != NULL)
    *why = text;
  else
    g_free (text);
  return text == NULL;
}

/**
 * pst_metrics_get_workers:
 * @up: (out): workers accepting now
 * @wanted: (out): workers the master runs
 *
 * Returns: TRUE for a worker of a master, FALSE for a single process
 */
gboolean
pst_metrics_get_workers (PstMetrics *self, guint *up, guint *wanted)
{
  g_return_val_if_fail (PST_IS_METRICS (self), FALSE);
  *up = *wanted = 0;
  if (self->shared == NULL)
    return FALSE;
  pst_shared_metrics_get_workers (self->shared, up, wanted);
  return TRUE;
}

char *
pst_metrics_render (PstMetrics *self, PstRuntime *runtime)
{
  GString *out = g_string_sized_new (8192);
  PstMetricsData sum;
  guint up = 0, wanted = 0;

  g_return_val_if_fail (PST_IS_METRICS (self), NULL);
  if (self->shared == NULL)
    {
      pst_metrics_render_data (out, &self->data, self->draining, runtime);
      return g_string_free (out, FALSE);
    }
  /* The whole gateway: our live figures, then every other worker's and
   * the master's (the figures of workers gone, and the reloads). */
  pst_metrics_data_init (&sum);
  pst_metrics_data_merge (&sum, &self->data);
  sum.reloads_success = sum.reloads_failure = 0;
  sum.last_reload_unix = 0;
  pst_shared_metrics_sum_others (self->shared, &sum);
  {
    int master_pid = 0;
    g_autoptr(GArray) workers = pst_shared_metrics_dup_processes (self->shared, &master_pid);
    g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
    g_autofree PstMetricsProcess *processes = g_new0 (PstMetricsProcess, workers->len + 1);
    guint n = 0;

    if (master_pid > 0)
      {
        processes[n].pid = master_pid;
        processes[n++].label = "master";
      }
    for (guint i = 0; i < workers->len; i++)
      {
        PstSharedProcess *w = &g_array_index (workers, PstSharedProcess, i);
        char *label = g_strdup_printf ("worker-%u", w->index);

        g_ptr_array_add (labels, label);
        processes[n].pid = w->pid;
        processes[n++].label = label;
      }
    /* The gateway drains as a whole when its master stops. */
    pst_metrics_render_data_for (out, &sum, self->draining || pst_shared_metrics_get_stopping (self->shared),
                                 runtime, processes, n);
  }
  pst_metrics_data_clear (&sum);
  pst_shared_metrics_get_workers (self->shared, &up, &wanted);
  pst_metrics_render_workers (out, up, wanted);
  return g_string_free (out, FALSE);
}
