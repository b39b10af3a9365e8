/* fuzz-metrics-slot.c: a worker's figures as another worker reads them from shared memory
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-target.h"
#include "pst-metrics.h"
#include "pst-shared-metrics.h"

/* The slots of /metrics' shared memory are written by other processes (a
 * worker killed mid-write, a bug, a hostile process of the same user):
 * whatever the bytes, reading them adds figures or nothing; what it adds
 * serializes again and reads back to the same; and the exposition stays
 * well formed (histogram buckets cumulative, +Inf equal to the count). */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree guint8 *bytes = fuzz_copy (data, size);
  PstMetricsData into, again;
  GString *out = g_string_new (NULL);

  pst_metrics_data_init (&into);
  into.start_unix = 0;
  if (pst_metrics_data_merge_serialized (&into, bytes, size, FALSE))
    {
      g_autoptr(GVariant) v = pst_metrics_data_serialize (&into);
      g_autoptr(GVariant) w = NULL;

      pst_metrics_data_init (&again);
      again.start_unix = 0;
      FUZZ_CHECK (pst_metrics_data_merge_serialized (&again, g_variant_get_data (v), g_variant_get_size (v),
                                                     FALSE));
      FUZZ_CHECK (g_hash_table_size (again.services) == g_hash_table_size (into.services));
      w = pst_metrics_data_serialize (&again);
      FUZZ_CHECK (g_variant_get_size (w) == g_variant_get_size (v));
      pst_metrics_data_clear (&again);
    }
  pst_metrics_render_data (out, &into, FALSE, NULL);
  FUZZ_CHECK (out->len > 0 && out->str[out->len - 1] == '\n');
  pst_metrics_data_clear (&into);
  g_string_free (out, TRUE);
  return 0;
}
