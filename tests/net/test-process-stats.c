/* test-process-stats.c: process figures from /proc (the gateway-wide postern_process_* gauges)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-process-stats.h"

static void
test_parse_stat (void)
{
  long hz = sysconf (_SC_CLK_TCK);
  /* a command name with spaces and parentheses of its own */
  g_autofree char *head = g_strdup_printf ("4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 500 0 0 0 %ld %ld %ld ",
                                           3 * hz, hz, 2 * hz);
  g_autofree char *line = g_strdup_printf ("%s%ld 20 0 1 0 100 1000000 300 18446744073709551615\n", head, hz / 2);
  PstProcessStats stats = { 0 };

  g_assert_true (pst_process_stats_parse_stat (line, strlen (line), &stats));
  g_assert_cmpfloat_with_epsilon (stats.cpu_seconds, 4.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (stats.children_cpu_seconds, 2.5, 1e-9);
  /* Cut anywhere: refused until the last CPU field begins, never read
   * past the cut (the sanitized build checks). */
  for (gsize len = 0; len <= strlen (line); len++)
    {
      PstProcessStats cut = { 0 };
      gboolean ok = pst_process_stats_parse_stat (line, len, &cut);

      if (len <= strlen (head))
        g_assert_false (ok);
    }
}

static void
test_parse_refused (void)
{
  const char *bad[] = { "", "4242 no parenthesis S 1 2 3", "4242 (x)", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 x y z w",
                        "4242 (x)S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15" };
  PstProcessStats stats = { 0 };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (pst_process_stats_parse_stat (bad[i], strlen (bad[i]), &stats));
}

static void
test_read (void)
{
  PstProcessStats self = { 0 }, by_pid = { 0 }, parent = { 0 };

  g_assert_true (pst_process_stats_read (0, &self));
  g_assert_cmpuint (self.open_fds, >=, 3);
  g_assert_cmpuint (self.resident_bytes, >, 1024 * 1024);
  /* our own pid: the same figures as "self" (the listing's own descriptor not counted) */
  g_assert_true (pst_process_stats_read (getpid (), &by_pid));
  g_assert_cmpuint (by_pid.open_fds, ==, self.open_fds);
  /* another process of ours */
  g_assert_true (pst_process_stats_read (getppid (), &parent));
  g_assert_cmpuint (parent.resident_bytes, >, 0);
  /* a process that is not there */
  g_assert_false (pst_process_stats_read (G_MAXINT, &parent));
  g_assert_cmpuint (parent.resident_bytes, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/process-stats/parse", test_parse_stat);
  g_test_add_func ("/process-stats/refused", test_parse_refused);
  g_test_add_func ("/process-stats/read", test_read);
  return g_test_run ();
}
