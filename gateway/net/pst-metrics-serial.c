/* pst-metrics-serial.c: a worker's figures as bytes in shared memory, and back
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-shared-metrics.h"

/* (services: name, opened, closed, bytes in, bytes out, connect failures,
 *  latency buckets, latency count, latency sum, close codes and counts;
 *  TLS failures, leg by leg; reloads ok, failed; last reload; start) */
#define SERIAL_TYPE "(a(stttttattda(qt))atttxx)"

GVariant *
pst_metrics_data_serialize (const PstMetricsData *data)
{
  GVariantBuilder services, tls;
  GHashTableIter iter;
  gpointer key, value;

  g_variant_builder_init (&services, G_VARIANT_TYPE ("a(stttttattda(qt))"));
  g_hash_table_iter_init (&iter, data->services);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const PstServiceFigures *f = value;
      GVariantBuilder buckets, codes;
      GHashTableIter c;
      gpointer code, count;

      g_variant_builder_init (&buckets, G_VARIANT_TYPE ("at"));
      for (guint b = 0; b < PST_METRICS_N_BUCKETS; b++)
        g_variant_builder_add (&buckets, "t", f->latency_buckets[b]);
      g_variant_builder_init (&codes, G_VARIANT_TYPE ("a(qt)"));
      g_hash_table_iter_init (&c, f->close_codes);
      while (g_hash_table_iter_next (&c, &code, &count))
        g_variant_builder_add (&codes, "(qt)", (guint16) GPOINTER_TO_UINT (code), *(guint64 *) count);
      g_variant_builder_add (&services, "(stttttattda(qt))", (const char *) key,
                             f->opened, f->closed, f->bytes_in, f->bytes_out, f->connect_failures,
                             &buckets, f->latency_count, f->latency_sum, &codes);
    }
  g_variant_builder_init (&tls, G_VARIANT_TYPE ("at"));
  for (guint l = 0; l < PST_TLS_N_LEGS; l++)
    for (guint f = 0; f < PST_TLS_N_FAILURES; f++)
      g_variant_builder_add (&tls, "t", data->tls_failures[l][f]);
  return g_variant_ref_sink (g_variant_new (SERIAL_TYPE, &services, &tls, data->reloads_success,
                                            data->reloads_failure, data->last_reload_unix, data->start_unix));
}

gboolean
pst_metrics_data_merge_serialized (PstMetricsData *into, const guint8 *bytes, gsize len, gboolean figures_only)
{
  g_autoptr(GBytes) copy = NULL;
  g_autoptr(GVariant) v = NULL;
  g_autoptr(GVariantIter) services = NULL;
  g_autoptr(GVariantIter) tls = NULL;
  PstMetricsData from;
  const char *name;
  guint64 opened, closed, bytes_in, bytes_out, failures, latency_count, n;
  double latency_sum;
  GVariantIter *buckets, *codes;

  if (len == 0)
    return FALSE;
  /* Another process wrote these bytes: GVariant reads any bytes safely,
   * and we check what it cannot (lengths, sums). */
  copy = g_bytes_new (bytes, len);
  v = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (SERIAL_TYPE), copy, FALSE));
  /* our writers write the normal form: anything else is a damaged slot */
  if (!g_variant_is_normal_form (v))
    return FALSE;
  pst_metrics_data_init (&from);
  from.start_unix = 0;
  g_variant_get (v, "(a(stttttattda(qt))atttxx)", &services, &tls, &from.reloads_success,
                 &from.reloads_failure, &from.last_reload_unix, &from.start_unix);
  while (g_variant_iter_next (services, "(&stttttattda(qt))", &name, &opened, &closed, &bytes_in,
                              &bytes_out, &failures, &buckets, &latency_count, &latency_sum, &codes))
    {
      PstServiceFigures *f = pst_metrics_data_service (&from, name);
      guint16 code;
      guint b = 0;

      f->opened += opened;
      f->closed += closed;
      f->bytes_in += bytes_in;
      f->bytes_out += bytes_out;
      f->connect_failures += failures;
      while (g_variant_iter_next (buckets, "t", &n))
        if (b < PST_METRICS_N_BUCKETS)
          f->latency_buckets[b++] += n;
      f->latency_count += latency_count;
      /* NaN or negative from a damaged slot would poison the sum */
      if (latency_sum >= 0 && latency_sum < 1e15)
        f->latency_sum += latency_sum;
      while (g_variant_iter_next (codes, "(qt)", &code, &n))
        {
          guint64 *count = g_hash_table_lookup (f->close_codes, GUINT_TO_POINTER ((guint) code));

          if (count == NULL)
            {
              count = g_new0 (guint64, 1);
              g_hash_table_insert (f->close_codes, GUINT_TO_POINTER ((guint) code), count);
            }
          *count += n;
        }
      g_variant_iter_free (buckets);
      g_variant_iter_free (codes);
    }
  for (guint i = 0; g_variant_iter_next (tls, "t", &n); i++)
    if (i < PST_TLS_N_LEGS * PST_TLS_N_FAILURES)
      from.tls_failures[i / PST_TLS_N_FAILURES][i % PST_TLS_N_FAILURES] += n;
  if (figures_only)
    {
      from.reloads_success = from.reloads_failure = 0;
      from.last_reload_unix = 0;
    }
  pst_metrics_data_merge (into, &from);
  pst_metrics_data_clear (&from);
  return TRUE;
}
