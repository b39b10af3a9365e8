/* fuzz-proc-stat.c: a /proc/PID/stat line, as the gateway-wide process figures read it for each worker
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <math.h>

#include "fuzz-target.h"
#include "pst-process-stats.h"

/* The command name in the line is the process's own choice: any bytes.
 * A line is read or refused, never read past its length, and what is
 * read is CPU time (finite, not negative); the input cut anywhere is read
 * or refused the same way. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree guint8 *copy = fuzz_copy (data, size);

  for (size_t len = size; ; len = len / 2)
    {
      PstProcessStats stats = { 0 };

      if (pst_process_stats_parse_stat ((const char *) copy, len, &stats))
        {
          FUZZ_CHECK (isfinite (stats.cpu_seconds) && stats.cpu_seconds >= 0);
          FUZZ_CHECK (isfinite (stats.children_cpu_seconds) && stats.children_cpu_seconds >= 0);
          FUZZ_CHECK (stats.open_fds == 0 && stats.resident_bytes == 0);
        }
      if (len == 0)
        break;
    }
  return 0;
}
