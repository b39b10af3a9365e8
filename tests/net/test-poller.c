/* test-poller.c: PstPoller on real sockets: readiness, edges and masks, one registration per descriptor, freeing during a dispatch, descriptor reuse, timers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-poller.h"

typedef struct {
  int             fds[2];     /* [0] watched, [1] the test's end */
  PstPollerWatch *watch;
  guint           calls;
  GIOCondition    last;
  gboolean        again;      /* what the callback returns */
  gpointer        victim;     /* a Pair whose watch the callback frees */
  gboolean        free_self;
} Pair;

static void
pair_open (Pair *p)
{
  memset (p, 0, sizeof *p);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->fds), ==, 0);
}

static void
pair_close (Pair *p)
{
  g_clear_pointer (&p->watch, pst_poller_watch_free);
  if (p->fds[0] >= 0)
    close (p->fds[0]);
  if (p->fds[1] >= 0)
    close (p->fds[1]);
}

static gboolean
pair_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Pair *p = user_data;
  Pair *victim = p->victim;
  char buf[64];

  g_assert_true (watch == p->watch);
  p->calls++;
  p->last = ready;
  if (ready & G_IO_IN)
    while (read (p->fds[0], buf, sizeof buf) > 0)
      ;
  if (victim != NULL && victim->watch != NULL)
    g_clear_pointer (&victim->watch, pst_poller_watch_free);
  if (p->free_self)
    g_clear_pointer (&p->watch, pst_poller_watch_free);
  return p->again;
}

/* Iterate the default context until cond () or 2 s. */
static void
spin_until (gboolean (*cond) (gpointer), gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  while (!cond (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
}

/* A few iterations that block for at most ms each (nothing should happen). */
static void
spin_for (guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
}

static gboolean
called (gpointer data)
{
  return ((Pair *) data)->calls > 0;
}

static void
test_readable (void)
{
  PstPoller *poller = pst_poller_get_default ();
  Pair p;

  g_assert_true (poller == pst_poller_get_for_context (NULL));
  pair_open (&p);
  p.watch = pst_poller_watch_new (poller, p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  spin_for (50);
  g_assert_cmpuint (p.calls, ==, 0);   /* nothing to read: never called */
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_until (called, &p);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_true (p.last & G_IO_IN);
  spin_for (50);
  g_assert_cmpuint (p.calls, ==, 1);   /* drained: not called again */

  /* an empty mask: data and even a hang-up go unreported */
  g_assert_true (pst_poller_watch_set_mask (p.watch, 0));
  g_assert_cmpint (write (p.fds[1], "y", 1), ==, 1);
  close (p.fds[1]);
  p.fds[1] = -1;
  spin_for (50);
  g_assert_cmpuint (p.calls, ==, 1);
  /* back to IN: the byte and the hang-up */
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  spin_until (called, &p);
  spin_for (20);
  g_assert_cmpuint (p.calls, >=, 2);
  g_assert_true (p.last & (G_IO_IN | G_IO_HUP));
  g_assert_true (pst_poller_watch_set_mask (p.watch, 0));
  pair_close (&p);
}

static void
test_writable (void)
{
  Pair p;
  char junk[4096] = { 0 };

  pair_open (&p);
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  /* fill the socket: OUT is not ready */
  while (write (p.fds[0], junk, sizeof junk) > 0)
    ;
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_OUT));
  g_assert_cmpint (pst_poller_watch_get_mask (p.watch), ==, G_IO_OUT);
  spin_for (50);
  g_assert_cmpuint (p.calls, ==, 0);
  /* the peer reads: room again */
  while (read (p.fds[1], junk, sizeof junk) > 0)
    ;
  spin_until (called, &p);
  g_assert_true (p.last & G_IO_OUT);
  pair_close (&p);
}

/* Two ready watches, each freeing the other from its callback: only the
 * first called runs; the other, dead in the same batch, is skipped. */
static void
test_free_in_batch (void)
{
  Pair a, b;

  pair_open (&a);
  pair_open (&b);
  a.victim = &b;
  b.victim = &a;
  a.watch = pst_poller_watch_new (pst_poller_get_default (), a.fds[0], pair_cb, &a);
  b.watch = pst_poller_watch_new (pst_poller_get_default (), b.fds[0], pair_cb, &b);
  g_assert_true (pst_poller_watch_set_mask (a.watch, G_IO_IN));
  g_assert_true (pst_poller_watch_set_mask (b.watch, G_IO_IN));
  g_assert_cmpint (write (a.fds[1], "a", 1), ==, 1);
  g_assert_cmpint (write (b.fds[1], "b", 1), ==, 1);
  spin_for (50);
  g_assert_cmpuint (a.calls + b.calls, ==, 1);
  g_assert_true (a.watch == NULL || b.watch == NULL);
  pair_close (&a);
  pair_close (&b);
}

static void
test_free_self (void)
{
  Pair p;

  pair_open (&p);
  p.free_self = TRUE;
  p.again = TRUE;    /* asks again, but is gone: never called again */
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_for (50);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_null (p.watch);
  pair_close (&p);
}

static gboolean
three_calls (gpointer data)
{
  return ((Pair *) data)->calls >= 3;
}

/* A scheduled watch is called with no readiness; TRUE asks for the next
 * dispatch, FALSE waits again. */
static void
test_schedule (void)
{
  Pair p;

  pair_open (&p);
  p.again = TRUE;
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  pst_poller_watch_schedule (p.watch);
  pst_poller_watch_schedule (p.watch);   /* once is enough */
  spin_until (three_calls, &p);
  g_assert_cmpuint (p.calls, >=, 3);
  g_assert_cmpint (p.last, ==, 0);
  p.again = FALSE;
  spin_for (20);
  {
    guint n = p.calls;
    spin_for (50);
    g_assert_cmpuint (p.calls, ==, n);
  }
  pair_close (&p);
}

/* A descriptor closed under its watch, its number taken by a new socket:
 * freeing the old watch must not unregister the new one. */
static void
test_fd_reuse (void)
{
  Pair a, b;
  int number;

  pair_open (&a);
  a.watch = pst_poller_watch_new (pst_poller_get_default (), a.fds[0], pair_cb, &a);
  g_assert_true (pst_poller_watch_set_mask (a.watch, G_IO_IN));
  number = a.fds[0];
  close (a.fds[0]);
  a.fds[0] = -1;
  pair_open (&b);
  if (b.fds[0] != number)
    {
      /* take the number explicitly */
      g_assert_cmpint (dup2 (b.fds[0], number), ==, number);
      close (b.fds[0]);
      b.fds[0] = number;
    }
  b.watch = pst_poller_watch_new (pst_poller_get_default (), b.fds[0], pair_cb, &b);
  g_assert_true (pst_poller_watch_set_mask (b.watch, G_IO_IN));
  g_assert_false (pst_poller_watch_set_mask (a.watch, G_IO_IN | G_IO_OUT));   /* orphaned */
  g_clear_pointer (&a.watch, pst_poller_watch_free);
  g_assert_cmpint (write (b.fds[1], "b", 1), ==, 1);
  spin_until (called, &b);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_cmpuint (a.calls, ==, 0);
  pair_close (&a);
  pair_close (&b);
}

static guint64
ctl_calls (void)
{
  PstPollerStats stats;

  pst_poller_get_stats (pst_poller_get_default (), &stats);
  return stats.ctl_calls;
}

static gboolean
two_calls (gpointer data)
{
  return ((Pair *) data)->calls >= 2;
}

/* Edge-triggered: one call per report; drained (the callback read until
 * EAGAIN), the watch waits for the next bytes, and a mask that goes and
 * comes back costs no system call: one ADD for the watch's life. */
static void
test_edge_again (void)
{
  Pair p;
  guint64 ctl0 = ctl_calls ();

  pair_open (&p);
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  g_assert_true (pst_poller_watch_knows_ready (p.watch));
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_until (called, &p);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 1);
  /* wanted again after EAGAIN: the next bytes are a new report */
  pst_poller_watch_would_block (p.watch, G_IO_IN);
  g_assert_true (pst_poller_watch_set_mask (p.watch, 0));
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_cmpint (write (p.fds[1], "y", 1), ==, 1);
  spin_until (two_calls, &p);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 2);
  g_assert_true (p.last & G_IO_IN);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 1);
  pair_close (&p);
}

/* Input and output on one descriptor: EPOLLOUT joins the registration
 * once (a MOD, which reports what is ready then), and each direction is
 * handed over only while the mask asks for it. */
static void
test_both_directions (void)
{
  Pair p;
  char junk[4096] = { 0 };
  guint64 ctl0 = ctl_calls ();
  PstPollerStats stats;
  guint registered0;

  pst_poller_get_stats (pst_poller_get_default (), &stats);
  registered0 = stats.registered;
  pair_open (&p);
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  pst_poller_get_stats (pst_poller_get_default (), &stats);
  g_assert_cmpuint (stats.registered, ==, registered0 + 1);
  /* writable now: asking for output reports it at once */
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN | G_IO_OUT));
  spin_until (called, &p);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_true (p.last & G_IO_OUT);
  g_assert_false (p.last & G_IO_IN);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 2);   /* ADD, then one MOD */
  /* full: output waits; a byte in is reported as input only */
  while (write (p.fds[0], junk, sizeof junk) > 0)
    ;
  pst_poller_watch_would_block (p.watch, G_IO_OUT);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN | G_IO_OUT));
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_until (two_calls, &p);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 2);
  g_assert_true (p.last & G_IO_IN);
  g_assert_false (p.last & G_IO_OUT);
  /* the peer drains: room again, reported as output */
  while (read (p.fds[1], junk, sizeof junk) > 0)
    ;
  spin_until (three_calls, &p);
  g_assert_cmpuint (p.calls, ==, 3);
  g_assert_true (p.last & G_IO_OUT);
  /* output no longer asked for: the next room goes unreported */
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  while (write (p.fds[0], junk, sizeof junk) > 0)
    ;
  while (read (p.fds[1], junk, sizeof junk) > 0)
    ;
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 3);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 2);   /* masks cost nothing */
  pair_close (&p);
  pst_poller_get_stats (pst_poller_get_default (), &stats);
  g_assert_cmpuint (stats.registered, ==, registered0);
}

/* A watch freed while registered (no system call), its descriptor closed
 * with bytes unread, and the number taken by a new socket: the new watch
 * registers afresh and hears nothing of the old one. */
static void
test_close_registered (void)
{
  Pair a, b;
  int number;
  guint64 ctl0 = ctl_calls ();

  pair_open (&a);
  a.watch = pst_poller_watch_new (pst_poller_get_default (), a.fds[0], pair_cb, &a);
  g_assert_true (pst_poller_watch_set_mask (a.watch, G_IO_OUT));
  spin_until (called, &a);                        /* writable: one call */
  g_assert_true (pst_poller_watch_set_mask (a.watch, 0));
  g_assert_cmpint (write (a.fds[1], "a", 1), ==, 1);   /* input, not asked for */
  shutdown (a.fds[1], SHUT_WR);                   /* and the peer's end */
  spin_for (30);
  g_assert_cmpuint (a.calls, ==, 1);
  number = a.fds[0];
  g_clear_pointer (&a.watch, pst_poller_watch_free);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 1);   /* the ADD only */
  close (a.fds[0]);
  a.fds[0] = -1;
  pair_open (&b);
  if (b.fds[0] != number)
    {
      g_assert_cmpint (dup2 (b.fds[0], number), ==, number);
      close (b.fds[0]);
      b.fds[0] = number;
    }
  b.watch = pst_poller_watch_new (pst_poller_get_default (), b.fds[0], pair_cb, &b);
  g_assert_true (pst_poller_watch_set_mask (b.watch, G_IO_IN));
  g_assert_true (pst_poller_watch_knows_ready (b.watch));
  spin_for (50);
  g_assert_cmpuint (b.calls, ==, 0);   /* no stale input, no stale hang-up */
  g_assert_false (pst_poller_watch_peer_closed (b.watch));
  g_assert_cmpint (write (b.fds[1], "b", 1), ==, 1);
  spin_until (called, &b);
  g_assert_cmpuint (b.calls, ==, 1);
  g_assert_true (b.last & G_IO_IN);
  pair_close (&a);
  pair_close (&b);
}

/* One descriptor, two watches in turn (a back-end's connect, then its
 * pump): the second takes the registration over, and with it the input
 * the first was told of but did not ask for. */
static void
test_handover (void)
{
  Pair p;
  Pair second;

  pair_open (&p);
  p.free_self = TRUE;   /* as a connect's watch: done at its first call */
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_OUT));
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_until (called, &p);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 1);
  g_assert_true (p.last & G_IO_OUT);
  g_assert_false (p.last & G_IO_IN);
  g_assert_null (p.watch);

  memset (&second, 0, sizeof second);
  second.fds[0] = p.fds[0];
  second.fds[1] = p.fds[1];
  second.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &second);
  g_assert_true (pst_poller_watch_set_mask (second.watch, G_IO_IN));
  g_assert_false (pst_poller_watch_knows_ready (second.watch));
  spin_until (called, &second);   /* no new byte: the one reported before */
  g_assert_cmpuint (second.calls, ==, 1);
  g_assert_true (second.last & G_IO_IN);
  g_clear_pointer (&second.watch, pst_poller_watch_free);
  pair_close (&p);
}

/* A watch that only peeks (the ClientHello, a PROXY header) leaves the
 * bytes in the socket, and its edge is spent: the watch that takes the
 * registration over is called once it asks for input, and finds them. */
static gboolean
peek_only_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Pair *p = user_data;
  char c;

  p->calls++;
  p->last = ready;
  g_assert_cmpint (recv (p->fds[0], &c, 1, MSG_PEEK | MSG_DONTWAIT), ==, 1);
  return FALSE;
}

static void
test_after_peek (void)
{
  Pair p, second;
  char c;

  pair_open (&p);
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], peek_only_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_until (called, &p);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 1);   /* one edge, though the byte is still there */
  g_clear_pointer (&p.watch, pst_poller_watch_free);

  memset (&second, 0, sizeof second);
  second.fds[0] = p.fds[0];
  second.fds[1] = p.fds[1];
  second.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &second);
  g_assert_true (pst_poller_watch_set_mask (second.watch, G_IO_IN));
  spin_until (called, &second);
  spin_for (30);
  g_assert_cmpuint (second.calls, ==, 1);   /* once, to look: no condition claimed */
  g_assert_cmpint (second.last, ==, 0);
  g_assert_cmpint (recv (p.fds[0], &c, 1, MSG_DONTWAIT), ==, 1);   /* and there it is */
  g_clear_pointer (&second.watch, pst_poller_watch_free);
  pair_close (&p);
}

/* Parked on its socket and adopted by the next owner: no system call,
 * and input reported while parked goes to the adopter; a socket closed
 * meanwhile gives nothing to adopt; a socket that goes takes its parked
 * watch along. */
static void
test_park_adopt (void)
{
  PstPoller *poller = pst_poller_get_default ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  PstPollerStats stats;
  guint watches0;
  guint64 ctl0;
  Pair p, second;

  pst_poller_get_stats (poller, &stats);
  watches0 = stats.watches;
  pair_open (&p);
  socket = g_socket_new_from_fd (p.fds[0], &error);
  g_assert_no_error (error);
  p.watch = pst_poller_watch_new (poller, p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_OUT));
  spin_until (called, &p);
  ctl0 = ctl_calls ();
  pst_poller_watch_park (g_steal_pointer (&p.watch), socket, TRUE);
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_for (30);
  g_assert_cmpuint (p.calls, ==, 1);   /* parked: called for nothing */

  memset (&second, 0, sizeof second);
  second.fds[0] = p.fds[0];
  second.fds[1] = p.fds[1];
  second.watch = pst_poller_watch_adopt (poller, socket, pair_cb, &second);
  g_assert_nonnull (second.watch);
  g_assert_true (pst_poller_watch_knows_ready (second.watch));   /* drained, and registered by us */
  g_assert_null (pst_poller_watch_adopt (poller, socket, pair_cb, &second));   /* once */
  g_assert_true (pst_poller_watch_set_mask (second.watch, G_IO_IN));
  spin_until (called, &second);
  g_assert_cmpuint (second.calls, ==, 1);
  g_assert_true (second.last & G_IO_IN);
  g_assert_cmpuint (ctl_calls (), ==, ctl0);

  /* parked again, then the socket closed: nothing to adopt */
  pst_poller_watch_park (g_steal_pointer (&second.watch), socket, FALSE);
  g_socket_close (socket, NULL);
  p.fds[0] = -1;
  g_assert_null (pst_poller_watch_adopt (poller, socket, pair_cb, &second));

  /* parked on a socket that goes: the watch goes with it */
  {
    Pair q;
    GSocket *other;

    pair_open (&q);
    other = g_socket_new_from_fd (q.fds[0], &error);
    g_assert_no_error (error);
    q.watch = pst_poller_watch_new (poller, q.fds[0], pair_cb, &q);
    g_assert_true (pst_poller_watch_set_mask (q.watch, G_IO_IN));
    pst_poller_watch_park (g_steal_pointer (&q.watch), other, FALSE);
    g_object_unref (other);   /* closes q.fds[0] */
    q.fds[0] = -1;
    pair_close (&q);
  }
  pst_poller_get_stats (poller, &stats);
  g_assert_cmpuint (stats.watches, ==, watches0);
  pair_close (&p);
}

/* A registration nobody watches any more (the socket is still open):
 * its first event takes it out of the set, and nothing is called. */
static void
test_unwatched_event (void)
{
  Pair p;
  guint64 ctl0;

  pair_open (&p);
  p.watch = pst_poller_watch_new (pst_poller_get_default (), p.fds[0], pair_cb, &p);
  g_assert_true (pst_poller_watch_set_mask (p.watch, G_IO_IN));
  g_clear_pointer (&p.watch, pst_poller_watch_free);
  ctl0 = ctl_calls ();
  g_assert_cmpint (write (p.fds[1], "x", 1), ==, 1);
  spin_for (30);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 1);   /* the DEL */
  g_assert_cmpint (write (p.fds[1], "y", 1), ==, 1);
  spin_for (30);
  g_assert_cmpuint (ctl_calls () - ctl0, ==, 1);
  g_assert_cmpuint (p.calls, ==, 0);
  pair_close (&p);
}

/* A callback that iterates the context itself (a nested loop): the
 * poller's dispatch runs again inside its own, and both watches are
 * served, each once per dispatch. */
static gboolean
nested_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Pair *p = user_data;
  char buf[64];

  p->calls++;
  while (read (p->fds[0], buf, sizeof buf) > 0)
    ;
  if (p->calls == 1)
    for (int i = 0; i < 5; i++)
      g_main_context_iteration (NULL, FALSE);
  return FALSE;
}

static gboolean
both_called (gpointer data)
{
  Pair *p = data;

  return p[0].calls > 0 && p[1].calls > 0;
}

static void
test_nested (void)
{
  Pair p[2];

  for (int i = 0; i < 2; i++)
    {
      pair_open (&p[i]);
      p[i].watch = pst_poller_watch_new (pst_poller_get_default (), p[i].fds[0],
                                         i == 0 ? nested_cb : pair_cb, &p[i]);
      g_assert_true (pst_poller_watch_set_mask (p[i].watch, G_IO_IN));
    }
  /* both ready in one batch: whichever runs first, the other is served
   * once, in the nested dispatch or after it */
  g_assert_cmpint (write (p[0].fds[1], "a", 1), ==, 1);
  g_assert_cmpint (write (p[1].fds[1], "b", 1), ==, 1);
  spin_until (both_called, p);
  spin_for (30);
  g_assert_cmpuint (p[0].calls, ==, 1);
  g_assert_cmpuint (p[1].calls, ==, 1);
  pair_close (&p[0]);
  pair_close (&p[1]);
}

typedef struct {
  GArray *order;
  guint   id;
  guint   other;     /* a timer to remove */
  guint   repeats;   /* return CONTINUE this many times */
  guint   tag;
} Tick;

static gboolean
tick_cb (gpointer data)
{
  Tick *t = data;

  g_array_append_val (t->order, t->tag);
  if (t->other != 0)
    {
      pst_poller_timeout_remove (t->other);
      t->other = 0;
    }
  if (t->repeats > 0)
    {
      t->repeats--;
      return G_SOURCE_CONTINUE;
    }
  t->id = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
order_len_5 (gpointer data)
{
  return ((GArray *) data)->len >= 5;
}

static void
test_timers (void)
{
  g_autoptr(GArray) order = g_array_new (FALSE, FALSE, sizeof (guint));
  Tick t1 = { order, 0, 0, 0, 1 }, t2 = { order, 0, 0, 0, 2 }, t3 = { order, 0, 0, 2, 3 };
  Tick t4 = { order, 0, 0, 0, 4 }, t5 = { order, 0, 0, 0, 5 };
  PstPollerStats stats;
  guint before;

  pst_poller_get_stats (pst_poller_get_default (), &stats);
  before = stats.timers;
  t3.id = pst_poller_timeout_add (30, tick_cb, &t3);     /* fires 3 times: 30, 60, 90 ms */
  t2.id = pst_poller_timeout_add (20, tick_cb, &t2);
  t1.id = pst_poller_timeout_add (10, tick_cb, &t1);
  t5.id = pst_poller_timeout_add (40, tick_cb, &t5);     /* removed by t1 */
  t4.id = pst_poller_timeout_add (25, tick_cb, &t4);
  t1.other = t5.id;
  pst_poller_timeout_remove (t4.id);                     /* removed before it fires */
  pst_poller_get_stats (pst_poller_get_default (), &stats);
  g_assert_cmpuint (stats.timers, ==, before + 4);
  spin_until (order_len_5, order);
  spin_for (60);
  g_assert_cmpuint (order->len, ==, 5);
  g_assert_cmpuint (g_array_index (order, guint, 0), ==, 1);
  g_assert_cmpuint (g_array_index (order, guint, 1), ==, 2);
  g_assert_cmpuint (g_array_index (order, guint, 2), ==, 3);
  g_assert_cmpuint (g_array_index (order, guint, 3), ==, 3);
  g_assert_cmpuint (g_array_index (order, guint, 4), ==, 3);
  pst_poller_timeout_remove (t3.id);   /* already gone: harmless */
  pst_poller_get_stats (pst_poller_get_default (), &stats);
  g_assert_cmpuint (stats.timers, ==, before);
}

typedef struct {
  guint id;
  guint calls;
} SelfRemover;

/* Removes itself, yet asks to continue: the removal wins. */
static gboolean
remove_self_cb (gpointer data)
{
  SelfRemover *r = data;

  r->calls++;
  pst_poller_timeout_remove (r->id);
  return G_SOURCE_CONTINUE;
}

static gboolean
removed_self (gpointer data)
{
  return ((SelfRemover *) data)->calls > 0;
}

static void
test_timer_removes_itself (void)
{
  SelfRemover r = { 0, 0 };
  PstPollerStats stats;
  guint before;

  pst_poller_get_stats (pst_poller_get_default (), &stats);
  before = stats.timers;
  r.id = pst_poller_timeout_add (5, remove_self_cb, &r);
  spin_until (removed_self, &r);
  spin_for (40);
  g_assert_cmpuint (r.calls, ==, 1);
  pst_poller_get_stats (pst_poller_get_default (), &stats);
  g_assert_cmpuint (stats.timers, ==, before);
}

static gboolean
noop (gpointer data)
{
  return G_SOURCE_REMOVE;
}

/* Every source of the context is counted, ours or not. */
static void
test_count_sources (void)
{
  PstPoller *poller = pst_poller_get_default ();
  guint base = pst_poller_count_context_sources (poller);
  guint ids[5];

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    ids[i] = g_timeout_add_seconds (60, noop, NULL);
  g_assert_cmpuint (pst_poller_count_context_sources (poller), ==, base + 5);
  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    g_source_remove (ids[i]);
  g_assert_cmpuint (pst_poller_count_context_sources (poller), ==, base);
}

/* A pushed thread-default context has a poller of its own. */
static void
test_contexts (void)
{
  GMainContext *context = g_main_context_new ();
  PstPoller *outer = pst_poller_get_default ();
  PstPoller *inner;

  g_main_context_push_thread_default (context);
  inner = pst_poller_get_default ();
  g_assert_true (inner != outer);
  g_assert_true (inner == pst_poller_get_for_context (context));
  g_main_context_pop_thread_default (context);
  g_assert_true (pst_poller_get_default () == outer);
  g_main_context_unref (context);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/poller/readable", test_readable);
  g_test_add_func ("/poller/writable", test_writable);
  g_test_add_func ("/poller/free-in-batch", test_free_in_batch);
  g_test_add_func ("/poller/free-self", test_free_self);
  g_test_add_func ("/poller/schedule", test_schedule);
  g_test_add_func ("/poller/fd-reuse", test_fd_reuse);
  g_test_add_func ("/poller/edge-again", test_edge_again);
  g_test_add_func ("/poller/both-directions", test_both_directions);
  g_test_add_func ("/poller/close-registered", test_close_registered);
  g_test_add_func ("/poller/handover", test_handover);
  g_test_add_func ("/poller/after-peek", test_after_peek);
  g_test_add_func ("/poller/park-adopt", test_park_adopt);
  g_test_add_func ("/poller/unwatched-event", test_unwatched_event);
  g_test_add_func ("/poller/nested", test_nested);
  g_test_add_func ("/poller/timers", test_timers);
  g_test_add_func ("/poller/timer-removes-itself", test_timer_removes_itself);
  g_test_add_func ("/poller/count-sources", test_count_sources);
  g_test_add_func ("/poller/contexts", test_contexts);
  /* the same tests with the context waiting in the poller's epoll_wait */
  if (g_strcmp0 (g_getenv ("PST_TEST_OWN_WAIT"), "1") == 0)
    {
      g_autoptr(GError) error = NULL;

      pst_poller_own_wait (pst_poller_get_default (), &error);
      g_assert_no_error (error);
    }
  return g_test_run ();
}
