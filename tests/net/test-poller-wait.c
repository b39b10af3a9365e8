/* test-poller-wait.c: a context waiting in the poller's own epoll_wait: timers, idles, GLib descriptors, wake-ups, idle watches
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE   /* pipe2 */
#include "config.h"

#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <glib-unix.h>
#include <gio/gio.h>

#include "pst-poller.h"

typedef struct {
  GMainContext *context;
  PstPoller    *poller;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->context = g_main_context_new ();
  g_main_context_push_thread_default (f->context);
  f->poller = pst_poller_get_default ();
  g_assert_true (pst_poller_own_wait (f->poller, &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_main_context_pop_thread_default (f->context);
  g_main_context_unref (f->context);
}

static PstPollerStats
stats_of (Fixture *f)
{
  PstPollerStats s;

  pst_poller_get_stats (f->poller, &s);
  return s;
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Blocking iterations until *flag or 3 s (a guard timer ends the wait). */
static guint
iterate_until (Fixture *f, gboolean *flag)
{
  gboolean expired = FALSE;
  GSource *guard = g_timeout_source_new (3000);
  guint iterations = 0;

  g_source_set_callback (guard, set_flag, &expired, NULL);
  g_source_attach (guard, f->context);
  while (!*flag && !expired)
    {
      g_main_context_iteration (f->context, TRUE);
      iterations++;
    }
  g_source_destroy (guard);
  g_source_unref (guard);
  g_assert_true (*flag);
  return iterations;
}

/* A GLib timeout fires on time with no descriptor ready, in one wait. */
static void
test_timer (Fixture *f, gconstpointer data)
{
  gboolean fired = FALSE;
  GSource *timer = g_timeout_source_new (120);
  gint64 start = g_get_monotonic_time (), elapsed;
  guint iterations;

  g_source_set_callback (timer, set_flag, &fired, NULL);
  g_source_attach (timer, f->context);
  g_source_unref (timer);
  iterations = iterate_until (f, &fired);
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (elapsed, >=, 120);
  g_assert_cmpint (elapsed, <, 120 + 400);
  g_assert_cmpuint (iterations, <=, 3);
  g_assert_cmpuint (stats_of (f).own_waits, >=, 1);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
}

/* The poller's own timers too. */
static void
test_poller_timer (Fixture *f, gconstpointer data)
{
  gboolean fired = FALSE;
  gint64 start = g_get_monotonic_time (), elapsed;

  pst_poller_timeout_add (80, set_flag, &fired);
  iterate_until (f, &fired);
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (elapsed, >=, 80);
  g_assert_cmpint (elapsed, <, 80 + 400);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
}

static gboolean
count_down (gpointer data)
{
  guint *left = data;

  return --*left > 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Idle sources run without waiting. */
static void
test_idle (Fixture *f, gconstpointer data)
{
  guint left = 1000;
  GSource *idle = g_idle_source_new ();
  gint64 start = g_get_monotonic_time ();

  g_source_set_callback (idle, count_down, &left, NULL);
  g_source_attach (idle, f->context);
  g_source_unref (idle);
  while (left > 0 && g_get_monotonic_time () - start < 3 * G_USEC_PER_SEC)
    g_main_context_iteration (f->context, TRUE);
  g_assert_cmpuint (left, ==, 0);
  g_assert_cmpuint (stats_of (f).own_waits, >=, 1000);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
}

typedef struct {
  int      fd;
  guint    calls;
  gboolean seen;
} FdCall;

static gboolean
fd_readable_cb (int fd, GIOCondition condition, gpointer user_data)
{
  FdCall *c = user_data;
  char buf[16];

  g_assert_cmpint (fd, ==, c->fd);
  g_assert_true (condition & G_IO_IN);
  while (read (fd, buf, sizeof buf) > 0)
    ;
  c->calls++;
  c->seen = TRUE;
  return G_SOURCE_CONTINUE;
}

static gpointer
write_later (gpointer data)
{
  int fd = GPOINTER_TO_INT (data);

  g_usleep (50 * 1000);
  g_assert_cmpint (write (fd, "x", 1), ==, 1);
  return NULL;
}

/* A GLib descriptor source (g_unix_fd_add) is dispatched from our wait;
 * then the same descriptor number closed and reused for a new pipe with a
 * new source, between two iterations (GLib's list looks the same), is
 * still seen. */
static void
test_glib_fd (Fixture *f, gconstpointer data)
{
  int p[2], q[2];
  FdCall c = { 0 };
  GSource *source;
  GThread *writer;
  guint id;

  g_assert_cmpint (pipe2 (p, O_NONBLOCK | O_CLOEXEC), ==, 0);
  c.fd = p[0];
  source = g_unix_fd_source_new (p[0], G_IO_IN);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) fd_readable_cb, &c, NULL);
  id = g_source_attach (source, f->context);
  g_source_unref (source);
  writer = g_thread_new ("writer", write_later, GINT_TO_POINTER (p[1]));
  iterate_until (f, &c.seen);
  g_thread_join (writer);
  g_assert_cmpuint (c.calls, ==, 1);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
  g_assert_cmpuint (stats_of (f).extra_syncs, >=, 1);

  /* reuse */
  g_source_destroy (g_main_context_find_source_by_id (f->context, id));
  close (p[0]);
  close (p[1]);
  g_assert_cmpint (pipe2 (q, O_NONBLOCK | O_CLOEXEC), ==, 0);
  g_assert_cmpint (q[0], ==, p[0]);
  c.fd = q[0];
  c.seen = FALSE;
  source = g_unix_fd_source_new (q[0], G_IO_IN);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) fd_readable_cb, &c, NULL);
  id = g_source_attach (source, f->context);
  g_source_unref (source);
  writer = g_thread_new ("writer", write_later, GINT_TO_POINTER (q[1]));
  iterate_until (f, &c.seen);
  g_thread_join (writer);
  g_assert_cmpuint (c.calls, ==, 2);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
  g_source_destroy (g_main_context_find_source_by_id (f->context, id));
  close (q[0]);
  close (q[1]);
}

typedef struct {
  GMainContext *context;
  gboolean      ran;
} Invoke;

static gboolean
mark_ran (gpointer data)
{
  ((Invoke *) data)->ran = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
invoke_later (gpointer data)
{
  Invoke *inv = data;

  g_usleep (100 * 1000);
  g_main_context_invoke (inv->context, mark_ran, inv);
  return NULL;
}

static gpointer
wakeup_later (gpointer data)
{
  g_usleep (100 * 1000);
  g_main_context_wakeup (data);
  return NULL;
}

/* Another thread wakes a context blocked in our wait: a bare wake-up
 * ends the iteration, and a source it attaches is dispatched. */
static void
test_wakeup (Fixture *f, gconstpointer data)
{
  Invoke inv = { f->context, FALSE };
  GThread *thread;
  gint64 start = g_get_monotonic_time ();

  thread = g_thread_new ("waker", wakeup_later, f->context);
  g_main_context_iteration (f->context, TRUE);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);

  start = g_get_monotonic_time ();
  thread = g_thread_new ("invoker", invoke_later, &inv);
  iterate_until (f, &inv.ran);
  g_thread_join (thread);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 100 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);
}

typedef struct {
  int             fds[2];
  PstPollerWatch *watch;
  guint           calls;
  gboolean        seen;
} Pair;

static gboolean
pair_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Pair *p = user_data;
  char buf[64];

  g_assert_true (watch == p->watch);
  if (ready & G_IO_IN)
    while (read (p->fds[0], buf, sizeof buf) > 0)
      ;
  p->calls++;
  p->seen = TRUE;
  return FALSE;
}

static void
pair_open (Fixture *f, Pair *p)
{
  memset (p, 0, sizeof *p);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fds), ==, 0);
  p->watch = pst_poller_watch_new (f->poller, p->fds[0], pair_cb, p);
  g_assert_true (pst_poller_watch_set_mask (p->watch, G_IO_IN));
}

static void
pair_close (Pair *p)
{
  g_clear_pointer (&p->watch, pst_poller_watch_free);
  close (p->fds[0]);
  close (p->fds[1]);
}

/* A watch's event goes from the wait to the dispatch without a second
 * epoll_wait. */
static void
test_watch (Fixture *f, gconstpointer data)
{
  Pair p;
  PstPollerStats before, after;

  pair_open (f, &p);
  before = stats_of (f);
  for (guint i = 0; i < 100; i++)
    {
      p.seen = FALSE;
      g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
      iterate_until (f, &p.seen);
    }
  after = stats_of (f);
  g_assert_cmpuint (p.calls, ==, 100);
  g_assert_cmpuint (after.callbacks - before.callbacks, ==, 100);
  /* one wait per round trip (and none left to GLib's poll) */
  g_assert_cmpuint (after.own_waits - before.own_waits, <=, 110);
  g_assert_cmpuint (after.glib_polls, ==, 0);
  pair_close (&p);
}

static gboolean
free_watch_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Pair *p = user_data;

  g_clear_pointer (&p->watch, pst_poller_watch_free);
  p->seen = TRUE;
  return G_SOURCE_REMOVE;
}

/* The wait took a watch's event, and a higher-priority source dispatched
 * before the poller frees that watch: it is not called (and its memory
 * stays valid until the dispatch lets it go). */
static void
test_freed_before_dispatch (Fixture *f, gconstpointer data)
{
  Pair p;
  GSource *source;

  pair_open (f, &p);
  source = g_unix_fd_source_new (p.fds[0], G_IO_IN);
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) free_watch_cb, &p, NULL);
  g_source_attach (source, f->context);
  g_source_unref (source);
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  iterate_until (f, &p.seen);
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (f->context, FALSE);
  g_assert_null (p.watch);
  g_assert_cmpuint (p.calls, ==, 0);
  pair_close (&p);
}

static gboolean
pause_watch_cb (int fd, GIOCondition condition, gpointer user_data)
{
  Pair *p = user_data;

  g_assert_true (pst_poller_watch_set_mask (p->watch, 0));
  p->seen = TRUE;
  return G_SOURCE_REMOVE;
}

/* The wait took a watch's G_IO_IN, and a higher-priority source empties
 * its mask before the poller's dispatch: the watch is not called (as
 * epoll would not have reported it), and is when it waits again. */
static void
test_paused_before_dispatch (Fixture *f, gconstpointer data)
{
  Pair p;
  GSource *source;

  pair_open (f, &p);
  source = g_unix_fd_source_new (p.fds[0], G_IO_IN);
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) pause_watch_cb, &p, NULL);
  g_source_attach (source, f->context);
  g_source_unref (source);
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  iterate_until (f, &p.seen);
  for (guint i = 0; i < 5; i++)
    g_main_context_iteration (f->context, FALSE);
  g_assert_cmpuint (p.calls, ==, 0);
  p.seen = FALSE;
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  iterate_until (f, &p.seen);
  g_assert_cmpuint (p.calls, ==, 1);
  pair_close (&p);
}

/* Many GLib descriptors: GLib's poll() takes over, and still works. */
static void
test_many_glib_fds (Fixture *f, gconstpointer data)
{
  enum { N = 80 };
  int fds[N][2];
  FdCall calls[N];
  guint ids[N];

  for (guint i = 0; i < N; i++)
    {
      GSource *source;

      g_assert_cmpint (pipe2 (fds[i], O_NONBLOCK | O_CLOEXEC), ==, 0);
      calls[i] = (FdCall) { fds[i][0], 0, FALSE };
      source = g_unix_fd_source_new (fds[i][0], G_IO_IN);
      g_source_set_callback (source, (GSourceFunc) (void (*) (void)) fd_readable_cb, &calls[i], NULL);
      ids[i] = g_source_attach (source, f->context);
      g_source_unref (source);
    }
  g_assert_cmpint (write (fds[N - 1][1], "x", 1), ==, 1);
  iterate_until (f, &calls[N - 1].seen);
  g_assert_cmpuint (stats_of (f).glib_polls, >=, 1);
  for (guint i = 0; i < N; i++)
    {
      g_source_destroy (g_main_context_find_source_by_id (f->context, ids[i]));
      close (fds[i][0]);
      close (fds[i][1]);
    }
  /* back to our wait once they are gone */
  {
    PstPollerStats before = stats_of (f);
    Pair p;

    pair_open (f, &p);
    g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
    iterate_until (f, &p.seen);
    g_assert_cmpuint (stats_of (f).glib_polls, ==, before.glib_polls);
    pair_close (&p);
  }
}

static gint64
round_trips (Fixture *f, Pair *p, guint n)
{
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      p->seen = FALSE;
      g_assert_cmpint (write (p->fds[1], "x", 1), ==, 1);
      while (!p->seen)
        g_main_context_iteration (f->context, TRUE);
    }
  return g_get_monotonic_time () - start;
}

static gint64
best_of (Fixture *f, Pair *p)
{
  gint64 best = G_MAXINT64;

  for (guint i = 0; i < 5; i++)
    best = MIN (best, round_trips (f, p, 2000));
  return best;
}

/* 10,000 idle watches: GLib still sees two descriptors (ours and its
 * wake-up), and a round trip costs about what it costs without them. */
static void
test_idle_fds (Fixture *f, gconstpointer data)
{
  enum { N = 10000 };
  struct rlimit rl;
  PstPollerWatch **watches = g_new0 (PstPollerWatch *, N);
  int *efds = g_new0 (int, N);
  gint64 alone, crowded;
  GPollFD fds[8];
  gint priority, timeout, n;
  Pair p;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  g_assert_cmpuint (rl.rlim_max, >=, N + 200);
  rl.rlim_cur = rl.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &rl), ==, 0);

  pair_open (f, &p);
  round_trips (f, &p, 200);   /* warm */
  alone = best_of (f, &p);
  for (guint i = 0; i < N; i++)
    {
      efds[i] = eventfd (0, EFD_NONBLOCK | EFD_CLOEXEC);
      g_assert_cmpint (efds[i], >=, 0);
      watches[i] = pst_poller_watch_new (f->poller, efds[i], (PstPollerFunc) pair_cb, NULL);
      g_assert_true (pst_poller_watch_set_mask (watches[i], G_IO_IN));
    }
  crowded = best_of (f, &p);
  g_test_message ("2000 round trips: %" G_GINT64_FORMAT " µs alone, %" G_GINT64_FORMAT " µs with %d idle watches",
                  alone, crowded, N);
  g_assert_cmpint (crowded, <, 2 * alone + 20000);

  g_assert_true (g_main_context_acquire (f->context));
  g_main_context_prepare (f->context, &priority);
  n = g_main_context_query (f->context, G_MAXINT, &timeout, fds, G_N_ELEMENTS (fds));
  g_main_context_check (f->context, G_MAXINT, fds, MIN (n, (gint) G_N_ELEMENTS (fds)));
  g_main_context_release (f->context);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpuint (stats_of (f).glib_polls, ==, 0);

  for (guint i = 0; i < N; i++)
    {
      pst_poller_watch_free (watches[i]);
      close (efds[i]);
    }
  g_free (watches);
  g_free (efds);
  pair_close (&p);
}

/* Outside its context's thread, or inside a dispatch: refused. */
static gboolean
try_in_dispatch (gpointer data)
{
  g_autoptr(GError) error = NULL;
  GMainContext *context = g_main_context_new ();

  g_assert_false (pst_poller_own_wait (pst_poller_get_for_context (context), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_main_context_unref (context);
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
test_refused_in_dispatch (Fixture *f, gconstpointer data)
{
  gboolean done = FALSE;
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, try_in_dispatch, &done, NULL);
  g_source_attach (idle, f->context);
  g_source_unref (idle);
  iterate_until (f, &done);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, fn) g_test_add ("/poller-wait/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("timer", test_timer);
  ADD ("poller-timer", test_poller_timer);
  ADD ("idle", test_idle);
  ADD ("glib-fd", test_glib_fd);
  ADD ("wakeup", test_wakeup);
  ADD ("watch", test_watch);
  ADD ("freed-before-dispatch", test_freed_before_dispatch);
  ADD ("paused-before-dispatch", test_paused_before_dispatch);
  ADD ("many-glib-fds", test_many_glib_fds);
  ADD ("idle-fds", test_idle_fds);
  ADD ("refused-in-dispatch", test_refused_in_dispatch);
  return g_test_run ();
}
