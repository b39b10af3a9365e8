/* pst-linger.c: lingering close: half-close, then read and drop what the
 * peer still sends until its end or a deadline, then close ()
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <unistd.h>
#include <sys/socket.h>

#include "pst-linger.h"
#include "pst-poller.h"

/* Bounds.  nginx lingers up to 30 s in all (lingering_time) and 5 s of
 * silence (lingering_timeout), for browsers still uploading a request
 * body it will not read.  A gateway's peers stop sending within a round
 * trip of our close frame or FIN, and every lingering socket holds a
 * descriptor a new connection may need: 10 s in all, 2 s of silence
 * (long enough for a peer on a slow path to read what we queued and
 * answer with its own end; a silent peer is not sending, so closing it
 * then resets nothing), and at most 1024 per thread (a flood of peers
 * that never end costs at most that many descriptors). */
static guint linger_time_ms = PST_LINGER_TIME_MS;
static guint linger_idle_ms = PST_LINGER_IDLE_MS;
static guint linger_max = PST_LINGER_MAX;

static gint n_open;
static guint64 n_cut;   /* atomic */

/* Each read drops up to this much, without copying it (MSG_TRUNC on TCP). */
#define DROP_BYTES   (1024 * 1024)
/* Reads per wake-up: a peer sending without pause must not keep the
 * thread from its connections. */
#define READS_PER_WAKE 4

typedef struct {
  int             fd;
  PstPollerWatch *watch;
  guint           timer_id;
  gint64          ends_at;    /* monotonic µs: the total time */
  gint64          heard_at;   /* monotonic µs: the last bytes (or the start) */
  GList           link;       /* in the thread's queue, oldest first */
} Linger;

typedef struct {
  GQueue queue;
} LingerThread;

static void linger_thread_free (gpointer data);
static GPrivate thread_key = G_PRIVATE_INIT (linger_thread_free);

static LingerThread *
linger_thread (void)
{
  LingerThread *t = g_private_get (&thread_key);

  if (t == NULL)
    {
      t = g_new0 (LingerThread, 1);
      g_queue_init (&t->queue);
      g_private_set (&thread_key, t);
    }
  return t;
}

static void
linger_end (LingerThread *t, Linger *l, gboolean cut)
{
  g_queue_unlink (&t->queue, &l->link);
  /* the watch goes before the descriptor */
  g_clear_pointer (&l->watch, pst_poller_watch_free);
  g_clear_handle_id (&l->timer_id, pst_poller_timeout_remove);
  close (l->fd);
  g_atomic_int_add (&n_open, -1);
  if (cut)
    __atomic_add_fetch (&n_cut, 1, __ATOMIC_RELAXED);
  g_free (l);
}

/* At thread exit (a worker thread that ends with sockets lingering): the
 * descriptors are closed.  The watches are left alone: their poller may
 * be gone with the thread's context, and nobody iterates that context
 * any more, so they never fire. */
static void
linger_thread_free (gpointer data)
{
  LingerThread *t = data;
  Linger *l;

  while ((l = g_queue_pop_head (&t->queue)) != NULL)
    {
      close (l->fd);
      g_atomic_int_add (&n_open, -1);
      g_free (l);
    }
  g_free (t);
}

static gboolean
ready_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  Linger *l = user_data;

  for (int i = 0; i < READS_PER_WAKE; i++)
    {
      ssize_t n = recv (l->fd, NULL, DROP_BYTES, MSG_TRUNC | MSG_DONTWAIT);

      if (n > 0)
        {
          l->heard_at = g_get_monotonic_time ();
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return FALSE;
      /* the peer's end (0), or its reset: nothing left to protect */
      linger_end (linger_thread (), l, FALSE);
      return FALSE;
    }
  return TRUE;   /* more may be waiting: again at the next dispatch */
}

/* At the end of the total time, or once the peer has been silent for the
 * idle time; else again when the idle time since its last bytes is up. */
static gboolean
timer_cb (gpointer user_data)
{
  Linger *l = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 due = MIN (l->ends_at, l->heard_at + (gint64) linger_idle_ms * 1000);

  l->timer_id = 0;
  if (now >= due)
    {
      linger_end (linger_thread (), l, TRUE);
      return G_SOURCE_REMOVE;
    }
  l->timer_id = pst_poller_timeout_add ((guint) ((due - now + 999) / 1000), timer_cb, l);
  return G_SOURCE_REMOVE;
}

void
pst_linger_take (int fd)
{
  LingerThread *t;
  Linger *l;

  g_return_if_fail (fd >= 0);
  /* shutdown fails when the connection is gone already (ENOTCONN) */
  if (linger_max == 0 || shutdown (fd, SHUT_WR) < 0)
    {
      close (fd);
      return;
    }
  t = linger_thread ();
  while (t->queue.length >= linger_max)
    linger_end (t, t->queue.head->data, TRUE);
  l = g_new0 (Linger, 1);
  l->fd = fd;
  l->link.data = l;
  l->heard_at = g_get_monotonic_time ();
  l->ends_at = l->heard_at + (gint64) linger_time_ms * 1000;
  l->watch = pst_poller_watch_new (pst_poller_get_default (), fd, ready_cb, l);
  if (!pst_poller_watch_set_mask (l->watch, G_IO_IN))
    {
      pst_poller_watch_free (l->watch);
      close (fd);
      g_free (l);
      return;
    }
  l->timer_id = pst_poller_timeout_add (MIN (linger_idle_ms, linger_time_ms), timer_cb, l);
  g_queue_push_tail_link (&t->queue, &l->link);
  g_atomic_int_inc (&n_open);
}

guint
pst_linger_get_n_open (void)
{
  return (guint) g_atomic_int_get (&n_open);
}

guint64
pst_linger_get_n_cut (void)
{
  return __atomic_load_n (&n_cut, __ATOMIC_RELAXED);
}

void
pst_linger_set_limits (guint time_ms, guint idle_ms, guint max)
{
  linger_time_ms = time_ms;
  linger_idle_ms = MAX (idle_ms, 1);
  linger_max = max;
}

guint
pst_linger_get_max (void)
{
  return linger_max;
}

void
pst_linger_close_all (void)
{
  LingerThread *t = g_private_get (&thread_key);

  while (t != NULL && t->queue.head != NULL)
    linger_end (t, t->queue.head->data, TRUE);
}
