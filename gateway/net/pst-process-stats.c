/* pst-process-stats.c: a process's resident memory, descriptors and CPU, from /proc
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <unistd.h>

#include "pst-process-stats.h"

/* Fields of /proc/PID/stat counted from the state (field 3) after the
 * command's closing parenthesis: utime is field 14, cstime field 17. */
#define UTIME_AFTER_STATE 11

gboolean
pst_process_stats_parse_stat (const char *text, gsize len, PstProcessStats *stats)
{
  g_autofree char *copy = g_strndup (text, len);
  const char *close = strrchr (copy, ')');
  g_auto(GStrv) fields = NULL;
  guint64 ticks[4];
  long hz = sysconf (_SC_CLK_TCK);

  /* The command name is the process's own choice: anything up to the
   * last ')'. */
  if (close == NULL || close[1] != ' ' || hz <= 0)
    return FALSE;
  fields = g_strsplit (close + 2, " ", UTIME_AFTER_STATE + 5);
  if (g_strv_length (fields) < UTIME_AFTER_STATE + 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    if (!g_ascii_string_to_unsigned (fields[UTIME_AFTER_STATE + i], 10, 0, G_MAXUINT64, &ticks[i], NULL))
      return FALSE;
  stats->cpu_seconds = ((double) ticks[0] + (double) ticks[1]) / hz;   /* no wrap-around */
  stats->children_cpu_seconds = ((double) ticks[2] + (double) ticks[3]) / hz;
  return TRUE;
}

gboolean
pst_process_stats_read (int pid, PstProcessStats *stats)
{
  gboolean self_ = pid <= 0 || pid == getpid ();
  g_autofree char *base = self_ ? g_strdup ("/proc/self") : g_strdup_printf ("/proc/%d", pid);
  g_autofree char *fd_path = g_build_filename (base, "fd", NULL);
  g_autofree char *statm_path = g_build_filename (base, "statm", NULL);
  g_autofree char *stat_path = g_build_filename (base, "stat", NULL);
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GDir) dir = NULL;
  gboolean any = FALSE;

  memset (stats, 0, sizeof *stats);
  if (g_file_get_contents (stat_path, &text, &len, NULL))
    any |= pst_process_stats_parse_stat (text, len, stats);
  g_clear_pointer (&text, g_free);
  if (g_file_get_contents (statm_path, &text, NULL, NULL))
    {
      g_auto(GStrv) fields = g_strsplit (text, " ", 3);

      if (fields[0] != NULL && fields[1] != NULL)
        {
          stats->resident_bytes = g_ascii_strtoull (fields[1], NULL, 10) * (guint64) sysconf (_SC_PAGESIZE);
          any = TRUE;
        }
    }
  /* Another's descriptors need the right to trace it (same user, not
   * made undumpable): without it the figure is left at 0. */
  dir = g_dir_open (fd_path, 0, NULL);
  if (dir != NULL)
    {
      while (g_dir_read_name (dir) != NULL)
        stats->open_fds++;
      /* not the one the listing itself holds */
      if (self_ && stats->open_fds > 0)
        stats->open_fds--;
      any = TRUE;
    }
  return any;
}
