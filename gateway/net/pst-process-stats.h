/* pst-process-stats.h: a process's resident memory, descriptors and CPU, from /proc
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 resident_bytes;
  guint64 open_fds;
  double  cpu_seconds;           /* user + system */
  double  children_cpu_seconds;  /* of the children it waited for (a master: its workers gone) */
} PstProcessStats;

/* PID's figures (0: this process); FALSE when /proc has none of them
 * (the process is gone, or /proc hides it) */
gboolean pst_process_stats_read       (int pid, PstProcessStats *stats);
/* A /proc/PID/stat line: CPU fields into STATS; FALSE when it is not one
 * (exposed for the tests: the command name may hold spaces and ')') */
gboolean pst_process_stats_parse_stat (const char *text, gsize len, PstProcessStats *stats);

G_END_DECLS
