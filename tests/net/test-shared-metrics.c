/* test-shared-metrics.c: PstSharedMetrics: sums across workers, folds of dead ones, damaged slots
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-metrics.h"
#include "pst-shared-metrics.h"

/* The master and two "workers" (mappings of the master's memory, as after exec) */
typedef struct {
  PstSharedMetrics *master;
  PstSharedMetrics *one;
  PstSharedMetrics *two;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->master = pst_shared_metrics_new (4, &error);
  g_assert_no_error (error);
  f->one = pst_shared_metrics_open (dup (pst_shared_metrics_get_fd (f->master)), 0, &error);
  g_assert_no_error (error);
  f->two = pst_shared_metrics_open (dup (pst_shared_metrics_get_fd (f->master)), 1, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pst_shared_metrics_free (f->two);
  pst_shared_metrics_free (f->one);
  pst_shared_metrics_free (f->master);
}

/* A worker's figures: N connections opened on "echo", CLOSED of them
 * closed with code 1000 and 10 bytes each way, one back-end connect. */
static void
figures (PstMetricsData *data, guint64 opened, guint64 closed)
{
  PstServiceFigures *f;
  guint64 *count = g_new0 (guint64, 1);

  pst_metrics_data_init (data);
  f = pst_metrics_data_service (data, "echo");
  f->opened = opened;
  f->closed = closed;
  f->bytes_in = f->bytes_out = 10 * closed;
  f->latency_buckets[2] = 1;
  f->latency_count = 1;
  f->latency_sum = 0.004;
  *count = closed;
  g_hash_table_insert (f->close_codes, GUINT_TO_POINTER (1000), count);
  data->tls_failures[PST_TLS_LEG_BACKEND][PST_TLS_FAILURE_EXPIRED] = 1;
  data->reloads_failure = 7;   /* a worker's own: not counted gateway-wide */
}

/* What a worker other than ONE sees (its live figures are its own business). */
static PstServiceFigures *
seen_by (PstSharedMetrics *worker, PstMetricsData *sum)
{
  pst_metrics_data_init (sum);
  pst_shared_metrics_sum_others (worker, sum);
  return pst_metrics_data_service (sum, "echo");
}

static void
test_sum (Fixture *f, gconstpointer data)
{
  PstMetricsData a, b, sum;
  PstServiceFigures *echo;

  figures (&a, 5, 2);
  figures (&b, 7, 7);
  g_assert_true (pst_shared_metrics_publish (f->one, &a));
  g_assert_true (pst_shared_metrics_publish (f->two, &b));
  /* worker two sees worker one (and the master's slot, empty yet) */
  echo = seen_by (f->two, &sum);
  g_assert_cmpuint (echo->opened, ==, 5);
  g_assert_cmpuint (echo->closed, ==, 2);
  g_assert_cmpuint (sum.reloads_failure, ==, 0);
  g_assert_cmpuint (sum.tls_failures[PST_TLS_LEG_BACKEND][PST_TLS_FAILURE_EXPIRED], ==, 1);
  pst_metrics_data_clear (&sum);
  /* the master (slot 0 is its own) sees both workers */
  pst_metrics_data_init (&sum);
  pst_shared_metrics_sum_others (f->master, &sum);
  echo = pst_metrics_data_service (&sum, "echo");
  g_assert_cmpuint (echo->opened, ==, 12);
  g_assert_cmpuint (echo->closed, ==, 9);
  pst_metrics_data_clear (&sum);
  /* the reloads are the master's */
  pst_shared_metrics_reload_done (f->master, FALSE);
  pst_shared_metrics_reload_done (f->master, TRUE);
  echo = seen_by (f->one, &sum);
  g_assert_cmpuint (echo->opened, ==, 7);
  g_assert_cmpuint (*(guint64 *) g_hash_table_lookup (echo->close_codes, GUINT_TO_POINTER (1000)), ==, 7);
  g_assert_cmpuint (sum.reloads_failure, ==, 1);
  g_assert_cmpuint (sum.reloads_success, ==, 1);
  g_assert_cmpint (sum.last_reload_unix, >, 0);
  pst_metrics_data_clear (&sum);
  pst_metrics_data_clear (&a);
  pst_metrics_data_clear (&b);
}

/* A worker gone: its counters stay (moved to the master's slot), its open
 * connections leave the gauge; the next worker in its region starts at 0. */
static void
test_fold (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  PstMetricsData a, b, sum;
  PstServiceFigures *echo;
  PstSharedMetrics *again;

  figures (&a, 5, 2);
  figures (&b, 7, 7);
  pst_shared_metrics_publish (f->one, &a);
  pst_shared_metrics_publish (f->two, &b);
  pst_shared_metrics_fold (f->master, 0);
  echo = seen_by (f->two, &sum);
  g_assert_cmpuint (echo->opened, ==, 5);
  g_assert_cmpuint (echo->opened - echo->closed, ==, 0);
  g_assert_cmpuint (echo->bytes_in, ==, 20);
  g_assert_cmpuint (echo->latency_count, ==, 1);
  pst_metrics_data_clear (&sum);
  /* a new worker in region 0: empty, and the old figures still count once */
  again = pst_shared_metrics_open (dup (pst_shared_metrics_get_fd (f->master)), 0, &error);
  g_assert_no_error (error);
  pst_metrics_data_clear (&a);
  figures (&a, 1, 0);
  pst_shared_metrics_publish (again, &a);
  echo = seen_by (f->two, &sum);
  g_assert_cmpuint (echo->opened, ==, 6);
  g_assert_cmpuint (echo->opened - echo->closed, ==, 1);
  pst_metrics_data_clear (&sum);
  pst_shared_metrics_free (again);
  pst_metrics_data_clear (&a);
  pst_metrics_data_clear (&b);
}

/* Workers up, as the master writes them for /health. */
static void
test_workers (Fixture *f, gconstpointer data)
{
  guint up = 9, wanted = 9;

  pst_shared_metrics_get_workers (f->one, &up, &wanted);
  g_assert_cmpuint (up, ==, 0);
  pst_shared_metrics_set_workers (f->master, 1, 2);
  pst_shared_metrics_get_workers (f->two, &up, &wanted);
  g_assert_cmpuint (up, ==, 1);
  g_assert_cmpuint (wanted, ==, 2);
}

/* A slot is bytes another process wrote: every prefix of a good one, and
 * every byte flipped, reads as nothing or as figures, never worse. */
/* Who the gateway's processes are, for its process figures */
static void
test_processes (Fixture *f, gconstpointer data)
{
  int master_pid = 0;
  g_autoptr(GArray) none = NULL;
  g_autoptr(GArray) two = NULL;
  g_autoptr(GArray) one = NULL;

  none = pst_shared_metrics_dup_processes (f->one, &master_pid);
  g_assert_cmpint (master_pid, ==, getpid ());
  g_assert_cmpuint (none->len, ==, 0);
  /* set by the master, read by a worker, by worker number */
  pst_shared_metrics_set_process (f->master, 1, 2002, 2);
  pst_shared_metrics_set_process (f->master, 0, 1001, 1);
  pst_shared_metrics_set_process (f->master, 3, 3003, 1);     /* a reload's new worker 1 */
  pst_shared_metrics_set_process (f->master, G_MAXUINT, 9, 9); /* no region: not listed */
  two = pst_shared_metrics_dup_processes (f->two, &master_pid);
  g_assert_cmpuint (two->len, ==, 3);
  g_assert_cmpint (g_array_index (two, PstSharedProcess, 0).pid, ==, 1001);
  g_assert_cmpuint (g_array_index (two, PstSharedProcess, 0).index, ==, 1);
  g_assert_cmpint (g_array_index (two, PstSharedProcess, 1).pid, ==, 3003);
  g_assert_cmpint (g_array_index (two, PstSharedProcess, 2).pid, ==, 2002);
  /* a worker gone: folded, no longer listed */
  pst_shared_metrics_fold (f->master, 0);
  one = pst_shared_metrics_dup_processes (f->one, &master_pid);
  g_assert_cmpuint (one->len, ==, 2);
  g_assert_cmpint (g_array_index (one, PstSharedProcess, 0).pid, ==, 3003);
  /* the master stopping: every worker sees it */
  g_assert_false (pst_shared_metrics_get_stopping (f->two));
  pst_shared_metrics_set_stopping (f->master, TRUE);
  g_assert_true (pst_shared_metrics_get_stopping (f->one));
  g_assert_true (pst_shared_metrics_get_stopping (f->two));
}

static void
test_damaged (void)
{
  PstMetricsData a, into;
  g_autoptr(GVariant) v = NULL;
  const guint8 *bytes;
  gsize len;

  figures (&a, 5, 2);
  pst_metrics_data_service (&a, "second \"service\"\n")->opened = 3;
  v = pst_metrics_data_serialize (&a);
  bytes = g_variant_get_data (v);
  len = g_variant_get_size (v);
  pst_metrics_data_init (&into);
  g_assert_true (pst_metrics_data_merge_serialized (&into, bytes, len, TRUE));
  g_assert_cmpuint (pst_metrics_data_service (&into, "echo")->opened, ==, 5);
  g_assert_cmpuint (pst_metrics_data_service (&into, "second \"service\"\n")->opened, ==, 3);
  g_assert_cmpuint (into.reloads_failure, ==, 0);
  pst_metrics_data_clear (&into);
  for (gsize cut = 0; cut < len; cut++)
    {
      pst_metrics_data_init (&into);
      pst_metrics_data_merge_serialized (&into, bytes, cut, FALSE);
      pst_metrics_data_clear (&into);
    }
  for (gsize i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (bytes, len);

      copy[i] ^= 0xff;
      pst_metrics_data_init (&into);
      pst_metrics_data_merge_serialized (&into, copy, len, FALSE);
      pst_metrics_data_clear (&into);
    }
  pst_metrics_data_clear (&a);
}

/* The master's last reload error, for every worker's /health (cut on a
 * character boundary when long). */
static void
test_reload_error (Fixture *f, gconstpointer data)
{
  g_autofree char *none = NULL;
  g_autofree char *error = NULL;
  g_autofree char *cut = NULL;
  g_autofree char *cleared = NULL;
  GString *long_text = g_string_new (NULL);

  none = pst_shared_metrics_dup_reload_error (f->one);
  g_assert_null (none);
  pst_shared_metrics_set_reload_error (f->master, "gateway-config.xml:3:9: error: “x” undefined");
  error = pst_shared_metrics_dup_reload_error (f->two);
  g_assert_cmpstr (error, ==, "gateway-config.xml:3:9: error: “x” undefined");
  for (guint i = 0; i < 1023; i++)
    g_string_append (long_text, "é");   /* 2 bytes each: 2046 bytes */
  g_string_append (long_text, "“");     /* 3 bytes across the 2048-byte limit */
  for (guint i = 0; i < 100; i++)
    g_string_append_c (long_text, 'x');
  pst_shared_metrics_set_reload_error (f->master, long_text->str);
  cut = pst_shared_metrics_dup_reload_error (f->one);
  g_assert_true (g_utf8_validate (cut, -1, NULL));
  g_assert_cmpuint (strlen (cut), ==, 2046);
  g_assert_true (g_str_has_prefix (long_text->str, cut));
  pst_shared_metrics_set_reload_error (f->master, NULL);
  cleared = pst_shared_metrics_dup_reload_error (f->one);
  g_assert_null (cleared);
  g_string_free (long_text, TRUE);
}

static void
test_not_ours (void)
{
  g_autoptr(GError) error = NULL;
  int fds[2];

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_null (pst_shared_metrics_open (fds[0], 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  close (fds[0]);
  close (fds[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/shared-metrics/sum", Fixture, NULL, fixture_set_up, test_sum, fixture_tear_down);
  g_test_add ("/shared-metrics/fold", Fixture, NULL, fixture_set_up, test_fold, fixture_tear_down);
  g_test_add ("/shared-metrics/workers", Fixture, NULL, fixture_set_up, test_workers, fixture_tear_down);
  g_test_add ("/shared-metrics/processes", Fixture, NULL, fixture_set_up, test_processes, fixture_tear_down);
  g_test_add ("/shared-metrics/reload-error", Fixture, NULL, fixture_set_up, test_reload_error,
              fixture_tear_down);
  g_test_add_func ("/shared-metrics/damaged", test_damaged);
  g_test_add_func ("/shared-metrics/not-ours", test_not_ours);
  return g_test_run ();
}
