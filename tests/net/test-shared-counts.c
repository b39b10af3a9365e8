/* test-shared-counts.c: PstSharedCounts: per-address counts across worker regions, compaction, log stamps
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <unistd.h>
#include <gio/gio.h>

#include "pst-conn-limits.h"
#include "pst-shared-counts.h"

/* g_test_expect_message() does not see structured logging (GLib 2.74):
 * the refusal lines are counted by our own writer. */
static guint refusal_lines;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "MESSAGE") == 0 && (level & G_LOG_LEVEL_WARNING) &&
        g_pattern_match_simple ("*limit per address*", fields[i].value))
      {
        refusal_lines++;
        return G_LOG_WRITER_HANDLED;
      }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* Two "workers" (two mappings of the master's memory, as after exec) */
typedef struct {
  PstSharedCounts *master;
  PstSharedCounts *one;
  PstSharedCounts *two;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->master = pst_shared_counts_new (4, &error);
  g_assert_no_error (error);
  f->one = pst_shared_counts_open (dup (pst_shared_counts_get_fd (f->master)), 0, &error);
  g_assert_no_error (error);
  f->two = pst_shared_counts_open (dup (pst_shared_counts_get_fd (f->master)), 1, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pst_shared_counts_free (f->two);
  pst_shared_counts_free (f->one);
  pst_shared_counts_free (f->master);
}

static GInetAddress *
address (const char *text)
{
  return g_inet_address_new_from_string (text);
}

static void
test_others (Fixture *f, gconstpointer data)
{
  g_autoptr(GInetAddress) a = address ("127.0.0.2");
  g_autoptr(GInetAddress) b = address ("::1");
  g_autoptr(GInetAddress) c = address ("127.0.0.3");

  g_assert_cmpuint (pst_shared_counts_get_others (f->one, a), ==, 0);
  pst_shared_counts_publish (f->one, a, 2);
  pst_shared_counts_publish (f->one, b, 1);
  pst_shared_counts_publish (f->two, a, 3);
  /* Each sees the other's, not its own (it counts those itself). */
  g_assert_cmpuint (pst_shared_counts_get_others (f->one, a), ==, 3);
  g_assert_cmpuint (pst_shared_counts_get_others (f->two, a), ==, 2);
  g_assert_cmpuint (pst_shared_counts_get_others (f->two, b), ==, 1);
  g_assert_cmpuint (pst_shared_counts_get_others (f->two, c), ==, 0);
  /* The master reads everything. */
  g_assert_cmpuint (pst_shared_counts_get_others (f->master, a), ==, 5);
  pst_shared_counts_publish (f->one, a, 0);
  g_assert_cmpuint (pst_shared_counts_get_others (f->two, a), ==, 0);
  /* A worker gone: the master empties its region. */
  pst_shared_counts_clear_region (f->master, 1);
  g_assert_cmpuint (pst_shared_counts_get_others (f->one, a), ==, 0);
}

/* More distinct addresses than a region holds, most of them gone again:
 * the region is compacted and the live ones keep their counts. */
static void
test_compaction (Fixture *f, gconstpointer data)
{
  g_autoptr(GInetAddress) keep = address ("10.9.9.9");

  pst_shared_counts_publish (f->one, keep, 7);
  for (guint i = 0; i < 20000; i++)
    {
      g_autofree char *text = g_strdup_printf ("10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
      g_autoptr(GInetAddress) a = address (text);

      pst_shared_counts_publish (f->one, a, 1);
      g_assert_cmpuint (pst_shared_counts_get_others (f->two, a), ==, 1);
      pst_shared_counts_publish (f->one, a, 0);
    }
  g_assert_cmpuint (pst_shared_counts_get_others (f->two, keep), ==, 7);
}

static void
test_refusal_stamp (Fixture *f, gconstpointer data)
{
  guint refused = 0;

  g_assert_true (pst_shared_counts_refusal_log_due (f->one, &refused));
  g_assert_cmpuint (refused, ==, 1);
  /* Within the second, whichever worker refuses: no line, but counted. */
  g_assert_false (pst_shared_counts_refusal_log_due (f->two, &refused));
  g_assert_false (pst_shared_counts_refusal_log_due (f->one, &refused));
  g_assert_false (pst_shared_counts_refusal_log_due (f->two, &refused));
}

/* PstConnLimits of two workers share the cap per address. */
static void
test_limits (Fixture *f, gconstpointer data)
{
  g_autoptr(PstConnLimits) one = pst_conn_limits_new (100);
  g_autoptr(PstConnLimits) two = pst_conn_limits_new (100);
  g_autoptr(GInetAddress) a = address ("127.0.0.5");

  pst_conn_limits_set_shared (one, f->one);
  pst_conn_limits_set_shared (two, f->two);
  g_assert_true (pst_conn_limits_acquire (one, a, 3));
  g_assert_true (pst_conn_limits_acquire (two, a, 3));
  g_assert_true (pst_conn_limits_acquire (one, a, 3));
  refusal_lines = 0;
  g_assert_false (pst_conn_limits_acquire (two, a, 3));
  g_assert_false (pst_conn_limits_acquire (one, a, 3));
  /* One line for both workers' refusals within the second */
  g_assert_cmpuint (refusal_lines, ==, 1);
  pst_conn_limits_release (one, a);
  g_assert_true (pst_conn_limits_acquire (two, a, 3));
  pst_conn_limits_release (one, a);
  pst_conn_limits_release (two, a);
  pst_conn_limits_release (two, a);
  g_assert_cmpuint (pst_shared_counts_get_others (f->master, a), ==, 0);
}

/* A descriptor that is not the master's memory is refused with a message. */
static void
test_not_ours (void)
{
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_null (pst_shared_counts_open (fds[0], 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  close (fds[0]);
  close (fds[1]);
}

/* A worker holding clearly more connections than a sibling that accepts
 * leaves it the backlog; one that does not accept (retired, gone) is no
 * reason to wait. */
static void
test_yield (Fixture *f, gconstpointer data)
{
  pst_shared_counts_set_load (f->one, 10, TRUE);
  pst_shared_counts_set_load (f->two, 0, TRUE);
  g_assert_true (pst_shared_counts_should_yield (f->one, 10));
  g_assert_false (pst_shared_counts_should_yield (f->two, 0));
  g_assert_false (pst_shared_counts_should_yield (f->one, 4));     /* under the margin */
  pst_shared_counts_set_load (f->two, 6, TRUE);
  g_assert_false (pst_shared_counts_should_yield (f->one, 10));    /* 6 + 5 ≥ 10 */
  g_assert_true (pst_shared_counts_should_yield (f->one, 800));    /* 6 + 104 < 800 */
  pst_shared_counts_set_load (f->two, 0, FALSE);
  g_assert_false (pst_shared_counts_should_yield (f->one, 800));
  pst_shared_counts_set_load (f->two, 0, TRUE);
  pst_shared_counts_clear_region (f->master, 1);                    /* worker two died */
  g_assert_false (pst_shared_counts_should_yield (f->one, 800));
  /* the master, with no region, never yields */
  g_assert_false (pst_shared_counts_should_yield (f->master, 800));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_add ("/shared-counts/others", Fixture, NULL, fixture_set_up, test_others, fixture_tear_down);
  g_test_add ("/shared-counts/compaction", Fixture, NULL, fixture_set_up, test_compaction, fixture_tear_down);
  g_test_add ("/shared-counts/refusal-stamp", Fixture, NULL, fixture_set_up, test_refusal_stamp,
              fixture_tear_down);
  g_test_add ("/shared-counts/limits", Fixture, NULL, fixture_set_up, test_limits, fixture_tear_down);
  g_test_add ("/shared-counts/yield", Fixture, NULL, fixture_set_up, test_yield, fixture_tear_down);
  g_test_add_func ("/shared-counts/not-ours", test_not_ours);
  return g_test_run ();
}
