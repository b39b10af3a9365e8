/* pst-poller.c: one epoll-backed GSource per main context, for descriptor watches and timers
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <glib-unix.h>

#include "pst-poller-private.h"

/* Edge-triggered, one registration per descriptor: a watch registers
 * its descriptor once (EPOLL_CTL_ADD, for input, and for output too once
 * the mask asks for it), and the mask only tells the poller which of the
 * reported conditions to hand to the callback; the others are kept in
 * the watch's ready set, handed over when the mask asks for them.  A
 * changed mask costs no system call; neither does a freed watch: its
 * descriptor stays in the set (the kernel drops it at close), and the
 * next watch on the same descriptor takes it over (the ADD says EEXIST)
 * with what the last one had not used of its ready set.
 *
 * Edge-triggered means the owner reads (or writes) until the stream says
 * WOULD_BLOCK, or returns TRUE to be called again at the next dispatch
 * (a budget used up); bytes buffered above the socket (GnuTLS records, a
 * SoupFilterInputStream) are the owner's to drain, or to ask for with
 * pst_poller_watch_schedule().  A registration nobody watches any more
 * costs at most one ignored event per burst, never a busy loop: the
 * first such event takes it out of the set (EPOLL_CTL_DEL).
 *
 * Unregistering during a dispatch is safe: every watch of the batch is
 * referenced while the batch runs, and a freed watch is marked dead, so a
 * connection closed by another's callback in the same batch is skipped. */

#define BATCH PST_POLLER_BATCH

struct _PstPollerWatch
{
  guint          ref_count;     /* the owner's, plus a batch's or the queue's */
  PstPoller     *poller;        /* a reference on its GSource */
  int            fd;
  guint32        events;        /* registered with epoll (EPOLLIN, maybe EPOLLOUT); 0: not yet */
  GIOCondition   mask;
  GIOCondition   ready;         /* reported, not yet handed to the callback */
  gboolean       took_over;     /* an earlier watch's record came along (ready set, EPOLLOUT) */
  gboolean       knows_ready;   /* registered or re-armed by us: the kernel reported the state */
  gboolean       peer_closed;   /* EPOLLRDHUP or EPOLLHUP seen: an end may wait behind the bytes */
  gboolean       look_in;       /* bytes may wait unreported: call once when input is asked for */
  gboolean       dead;
  gboolean       orphan;        /* its descriptor number went to a newer watch */
  gboolean       scheduled;     /* in poller->again */
  guint64        called_in;     /* the dispatch it was last called in */
  PstPollerFunc  func;
  gpointer       user_data;
};

typedef struct {
  guint        id;
  guint        heap_index;
  gint64       deadline;      /* monotonic µs */
  guint        interval_ms;
  gboolean     running, removed;
  GSourceFunc  func;
  gpointer     data;
} Timer;

struct _PstPoller
{
  GSource       source;
  GMainContext *context;      /* not a reference: the context owns us */
  GThread      *thread;       /* the context's, which made us */
  int           epfd;
  gpointer      epfd_tag;
  pid_t         pid;
  GHashTable   *by_fd;        /* fd → its live watch (the newest one) */
  GHashTable   *lingering;    /* fd → what a freed watch left: LINGER | ready | (LINGER_OUT) */
  guint         n_registered; /* live watches with a registration */
  GPtrArray    *again;        /* watches to call at the next dispatch (referenced) */
  GPtrArray    *heap;         /* Timer *, a binary min-heap on deadline */
  GHashTable   *timers;       /* id → Timer * */
  guint         next_timer_id;
  guint         n_watches;
  guint64       dispatches, callbacks;
  guint64       ctl_calls;
  /* pst_poller_count_context_sources */
  guint         scanned_to;
  GArray       *live_ids;
  PstPollerWait *wait;        /* the context waits in our epoll_wait (pst-poller-wait.c) */
};

static GMutex      pollers_lock;
static GHashTable *pollers;   /* GMainContext * → PstPoller * */

/* getpid() is a system call (glibc caches it no more) and every watch and
 * timer asks for its poller: the pid is kept, and forgotten in a forked
 * child. */
static volatile pid_t our_pid;

static void
forget_pid (void)
{
  our_pid = 0;
}

static pid_t
current_pid (void)
{
  static gsize once;

  if (g_once_init_enter (&once))
    {
      pthread_atfork (NULL, NULL, forget_pid);
      g_once_init_leave (&once, 1);
    }
  if (our_pid == 0)
    our_pid = getpid ();
  return our_pid;
}

/* ---- watches ------------------------------------------------------------ */

static void
watch_unref (PstPollerWatch *watch)
{
  if (--watch->ref_count > 0)
    return;
  g_source_unref ((GSource *) watch->poller);
  g_free (watch);
}

#define LINGER     0x10000u   /* a record is there (a ready set may be empty) */
#define LINGER_OUT 0x20000u   /* …and its registration asks for EPOLLOUT too */
#define ALERTS     (G_IO_HUP | G_IO_ERR)

static GIOCondition
condition_of (guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0) |
         ((events & EPOLLHUP) ? G_IO_HUP : 0) | ((events & EPOLLERR) ? G_IO_ERR : 0);
}

PstPollerWatch *
pst_poller_watch_new (PstPoller *self, int fd, PstPollerFunc func, gpointer user_data)
{
  PstPollerWatch *watch = g_new0 (PstPollerWatch, 1);
  PstPollerWatch *stale;
  gpointer linger;

  g_return_val_if_fail (self != NULL && fd >= 0 && func != NULL, NULL);
  watch->ref_count = 1;
  watch->poller = (PstPoller *) g_source_ref ((GSource *) self);
  watch->fd = fd;
  watch->func = func;
  watch->user_data = user_data;
  /* A watch still holding this number had its descriptor closed under it
   * (epoll forgot it then): the number is ours now, and that watch must
   * not hear of it again. */
  stale = g_hash_table_lookup (self->by_fd, GINT_TO_POINTER (fd));
  if (stale != NULL)
    {
      if ((stale->events & EPOLLIN) != 0)
        self->n_registered--;
      stale->events = 0;
      stale->ready = 0;
      stale->orphan = TRUE;
    }
  /* What a freed watch on this number left: if the descriptor is the
   * same (the ADD will say so), so is the registration, and the edges it
   * reported that nobody used are ours. */
  if (g_hash_table_steal_extended (self->lingering, GINT_TO_POINTER (fd), NULL, &linger))
    {
      watch->ready = GPOINTER_TO_UINT (linger) & (G_IO_IN | G_IO_OUT | ALERTS);
      watch->took_over = TRUE;
      if (GPOINTER_TO_UINT (linger) & LINGER_OUT)
        watch->events = EPOLLOUT;   /* a hint for register_fd, not a registration */
    }
  g_hash_table_insert (self->by_fd, GINT_TO_POINTER (fd), watch);
  self->n_watches++;
  return watch;
}

static gboolean
owns_fd (PstPollerWatch *watch)
{
  return g_hash_table_lookup (watch->poller->by_fd, GINT_TO_POINTER (watch->fd)) == watch;
}

/* EPOLL_CTL_ADD (or, for a registration already there, nothing, unless
 * it must learn EPOLLOUT: then EPOLL_CTL_MOD, once). */
static gboolean
register_fd (PstPollerWatch *watch, gboolean out)
{
  PstPoller *self = watch->poller;
  struct epoll_event ev = { 0 };
  gboolean had_out = (watch->events & EPOLLOUT) != 0;
  gboolean fresh = (watch->events & EPOLLIN) == 0;
  int rc;

  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (out ? EPOLLOUT : 0);
  ev.data.fd = watch->fd;
  if (fresh)
    {
      self->ctl_calls++;
      rc = epoll_ctl (self->epfd, EPOLL_CTL_ADD, watch->fd, &ev);
      if (rc == 0)
        {
          /* A new registration reports what is ready now: nothing the
           * last watch left can be missed, and nothing it left (nor
           * what came under this number before) is ours. */
          watch->ready = 0;
          watch->look_in = FALSE;
          watch->took_over = FALSE;
          watch->knows_ready = TRUE;
          watch->events = ev.events & (EPOLLIN | EPOLLOUT);
          self->n_registered++;
          return TRUE;
        }
      if (errno != EEXIST)
        goto refused;
      /* The descriptor is in the set (an earlier watch's): unless the
       * record says so, we do not know whether it asks for EPOLLOUT.
       * Nor whether its owner left bytes in the socket (a peek reads
       * nothing): no edge will say so, so the watch is called once to
       * look (a read that would block, at worst), with no condition
       * claimed. */
      watch->events = EPOLLIN | (had_out ? EPOLLOUT : 0);
      watch->look_in = TRUE;
      self->n_registered++;
      if (!out || had_out)
        return TRUE;
    }
  /* Re-armed: the kernel reports what is ready now. */
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  self->ctl_calls++;
  if (epoll_ctl (self->epfd, EPOLL_CTL_MOD, watch->fd, &ev) == 0)
    {
      watch->events = EPOLLIN | EPOLLOUT;
      watch->knows_ready = TRUE;
      return TRUE;
    }
refused:
  g_debug ("poller: epoll_ctl on descriptor %d: %s", watch->fd, g_strerror (errno));
  if ((watch->events & EPOLLIN) != 0)
    self->n_registered--;
  watch->events = 0;
  return FALSE;
}

gboolean
pst_poller_watch_set_mask (PstPollerWatch *watch, GIOCondition mask)
{
  GIOCondition added;

  g_return_val_if_fail (!watch->dead, FALSE);
  mask &= G_IO_IN | G_IO_OUT;
  if (watch->orphan)
    {
      watch->mask = 0;
      return mask == 0;
    }
  added = mask & ~watch->mask;
  watch->mask = mask;
  if (mask == 0)
    return TRUE;
  /* Registered once; EPOLLOUT joins the first time output is asked for
   * (a socket is writable nearly always: asked for from the start, each
   * new registration would wake the loop once for nothing). */
  if ((watch->events & EPOLLIN) == 0 || ((mask & G_IO_OUT) && (watch->events & EPOLLOUT) == 0))
    if (!register_fd (watch, (mask & G_IO_OUT) != 0))
      {
        watch->mask = 0;
        return FALSE;
      }
  /* What was reported while the mask did not ask for it, or a hang-up
   * met while it asked for nothing: no edge will say it again. */
  if ((watch->ready & added) != 0 || (added == mask && (watch->ready & ALERTS) != 0) ||
      ((added & G_IO_IN) && watch->look_in))
    pst_poller_watch_schedule (watch);
  return TRUE;
}

GIOCondition
pst_poller_watch_get_mask (PstPollerWatch *watch)
{
  return watch->mask;
}

void
pst_poller_watch_would_block (PstPollerWatch *watch, GIOCondition condition)
{
  watch->ready &= ~(condition & (G_IO_IN | G_IO_OUT));
  if (condition & G_IO_IN)
    watch->look_in = FALSE;
}

gboolean
pst_poller_watch_knows_ready (PstPollerWatch *watch)
{
  return watch->knows_ready && (watch->events & EPOLLIN) != 0 && !watch->orphan;
}

gboolean
pst_poller_watch_peer_closed (PstPollerWatch *watch)
{
  return watch->peer_closed;
}

void
pst_poller_watch_schedule (PstPollerWatch *watch)
{
  if (watch->dead || watch->scheduled)
    return;
  watch->scheduled = TRUE;
  watch->ref_count++;
  g_ptr_array_add (watch->poller->again, watch);
}

void
pst_poller_watch_free (PstPollerWatch *watch)
{
  PstPoller *self;

  if (watch == NULL)
    return;
  g_return_if_fail (!watch->dead);
  self = watch->poller;
  if (owns_fd (watch))
    {
      g_hash_table_remove (self->by_fd, GINT_TO_POINTER (watch->fd));
      /* The registration stays (no system call): the next watch on the
       * descriptor takes it over, or its close drops it. */
      if ((watch->events & EPOLLIN) != 0 || watch->took_over)
        g_hash_table_insert (self->lingering, GINT_TO_POINTER (watch->fd),
                             GUINT_TO_POINTER (LINGER | watch->ready |
                                               ((watch->events & EPOLLOUT) ? LINGER_OUT : 0)));
    }
  if ((watch->events & EPOLLIN) != 0)
    self->n_registered--;
  watch->events = 0;
  watch->mask = 0;
  watch->dead = TRUE;
  self->n_watches--;
  watch_unref (watch);
}

/* ---- parking a watch on its socket, for the socket's next owner -------- */

G_DEFINE_QUARK (pst-poller-parked-watch, parked)

static gboolean
free_parked_cb (gpointer data)
{
  pst_poller_watch_free (data);
  return G_SOURCE_REMOVE;
}

/* The socket went without a next owner: the watch goes with it, on its
 * poller's thread. */
static void
parked_free (gpointer data)
{
  PstPollerWatch *watch = data;

  if (g_thread_self () == watch->poller->thread)
    pst_poller_watch_free (watch);
  else
    g_main_context_invoke (watch->poller->context, free_parked_cb, watch);
}

void
pst_poller_watch_park (PstPollerWatch *watch, GSocket *socket, gboolean drained)
{
  g_return_if_fail (!watch->dead && G_IS_SOCKET (socket));
  watch->mask = 0;
  watch->func = NULL;
  watch->user_data = NULL;
  if (!drained)
    {
      /* bytes may wait with no edge of their own (see knows_ready) */
      watch->knows_ready = FALSE;
      watch->look_in = TRUE;
    }
  g_object_set_qdata_full (G_OBJECT (socket), parked_quark (), watch, parked_free);
}

PstPollerWatch *
pst_poller_watch_adopt (PstPoller *self, GSocket *socket, PstPollerFunc func, gpointer user_data)
{
  PstPollerWatch *watch = g_object_steal_qdata (G_OBJECT (socket), parked_quark ());

  if (watch == NULL)
    return NULL;
  /* Closed (its number may be another socket's now), or another
   * poller's: of no use. */
  if (watch->poller != self || watch->orphan || g_socket_is_closed (socket) ||
      watch->fd != g_socket_get_fd (socket))
    {
      pst_poller_watch_free (watch);
      return NULL;
    }
  watch->func = func;
  watch->user_data = user_data;
  return watch;
}

/* An event of the batch: NULL when nobody watches the descriptor (a
 * registration left behind: out of the set now, or ignored). */
static PstPollerWatch *
take_event (PstPoller *self, struct epoll_event *ev)
{
  PstPollerWatch *watch = g_hash_table_lookup (self->by_fd, GINT_TO_POINTER (ev->data.fd));

  if (watch == NULL)
    {
      /* Still open, or another descriptor's (a dup) under a number that
       * went on: either way no watch wants it, and removing it by number
       * cannot hurt a registration a watch made (there is none). */
      g_hash_table_remove (self->lingering, GINT_TO_POINTER (ev->data.fd));
      self->ctl_calls++;
      epoll_ctl (self->epfd, EPOLL_CTL_DEL, ev->data.fd, NULL);
      return NULL;
    }
  watch->ready |= condition_of (ev->events);
  if (ev->events & (EPOLLRDHUP | EPOLLHUP))
    watch->peer_closed = TRUE;
  watch->ref_count++;
  return watch;
}

/* A watch of a batch (from_epoll) or of the queue: called at most once
 * per dispatch, with the ready conditions its mask asks for (and a
 * hang-up or error, unless the mask is empty).  A batch's watch that
 * has none of those is not called. */
static void
call_watch (PstPoller *self, PstPollerWatch *watch, gboolean from_epoll)
{
  GIOCondition ready;

  if (watch->dead || watch->func == NULL || watch->called_in == self->dispatches)
    return;
  ready = watch->mask != 0 ? watch->ready & (watch->mask | ALERTS) : 0;
  if (from_epoll && ready == 0)
    return;
  watch->ready &= ~ready;
  if (watch->mask & G_IO_IN)
    watch->look_in = FALSE;   /* this call is the look */
  watch->called_in = self->dispatches;
  self->callbacks++;
  watch->ref_count++;
  if (watch->func (watch, ready, watch->user_data))
    pst_poller_watch_schedule (watch);
  watch_unref (watch);
}

/* ---- timers ------------------------------------------------------------- */

static gboolean
timer_before (Timer *a, Timer *b)
{
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->id < b->id);
}

static void
heap_set (GPtrArray *heap, guint i, Timer *t)
{
  heap->pdata[i] = t;
  t->heap_index = i;
}

static void
heap_up (GPtrArray *heap, guint i)
{
  Timer *t = heap->pdata[i];

  while (i > 0 && timer_before (t, heap->pdata[(i - 1) / 2]))
    {
      heap_set (heap, i, heap->pdata[(i - 1) / 2]);
      i = (i - 1) / 2;
    }
  heap_set (heap, i, t);
}

static void
heap_down (GPtrArray *heap, guint i)
{
  Timer *t = heap->pdata[i];

  for (;;)
    {
      guint c = 2 * i + 1;

      if (c >= heap->len)
        break;
      if (c + 1 < heap->len && timer_before (heap->pdata[c + 1], heap->pdata[c]))
        c++;
      if (!timer_before (heap->pdata[c], t))
        break;
      heap_set (heap, i, heap->pdata[c]);
      i = c;
    }
  heap_set (heap, i, t);
}

static void
heap_remove (GPtrArray *heap, Timer *t)
{
  guint i = t->heap_index;
  Timer *last = g_ptr_array_steal_index (heap, heap->len - 1);

  if (last == t)
    return;
  heap_set (heap, i, last);
  heap_up (heap, i);
  heap_down (heap, last->heap_index);
}

/* The earliest deadline is told to the context by prepare() (the poll
 * timeout), not with g_source_set_ready_time(): that one wakes the
 * context (an eventfd write, then an empty iteration) at every change,
 * which is twice per connection with a timer armed and removed.  Timers
 * are added from the context's own thread (pst_poller_get_default), so
 * the next prepare always sees them. */
static gint64
next_deadline (PstPoller *self)
{
  return self->heap->len > 0 ? ((Timer *) self->heap->pdata[0])->deadline : -1;
}

static void
timer_insert (PstPoller *self, Timer *t)
{
  g_ptr_array_add (self->heap, t);
  heap_up (self->heap, self->heap->len - 1);
}

guint
pst_poller_timeout_add (guint interval_ms, GSourceFunc func, gpointer data)
{
  PstPoller *self = pst_poller_get_default ();
  Timer *t = g_new0 (Timer, 1);

  do
    t->id = ++self->next_timer_id;
  while (t->id == 0 || g_hash_table_contains (self->timers, GUINT_TO_POINTER (t->id)));
  t->interval_ms = interval_ms;
  t->deadline = g_get_monotonic_time () + (gint64) interval_ms * 1000;
  t->func = func;
  t->data = data;
  g_hash_table_insert (self->timers, GUINT_TO_POINTER (t->id), t);
  timer_insert (self, t);
  return t->id;
}

void
pst_poller_timeout_remove (guint id)
{
  PstPoller *self = pst_poller_get_default ();
  Timer *t = g_hash_table_lookup (self->timers, GUINT_TO_POINTER (id));

  if (t == NULL)
    return;
  if (t->running)
    {
      t->removed = TRUE;   /* dispatch_timers frees it after its callback */
      return;
    }
  g_hash_table_remove (self->timers, GUINT_TO_POINTER (id));
  heap_remove (self->heap, t);
  g_free (t);
}

static void
dispatch_timers (PstPoller *self, gint64 now)
{
  /* Only those due when we came: a timer of 0 ms that asks again waits
   * for the next dispatch. */
  guint budget = self->heap->len;

  while (budget-- > 0 && self->heap->len > 0 && ((Timer *) self->heap->pdata[0])->deadline <= now)
    {
      Timer *t = self->heap->pdata[0];
      gboolean again;

      heap_remove (self->heap, t);
      t->running = TRUE;
      again = t->func (t->data);
      t->running = FALSE;
      if (again && !t->removed)
        {
          t->deadline = now + (gint64) t->interval_ms * 1000;
          timer_insert (self, t);
          continue;
        }
      g_hash_table_remove (self->timers, GUINT_TO_POINTER (t->id));
      g_free (t);
    }
}

/* ---- the source --------------------------------------------------------- */

static gboolean
poller_prepare (GSource *source, gint *timeout)
{
  PstPoller *self = (PstPoller *) source;
  gint64 deadline = next_deadline (self);
  gint64 now;

  *timeout = -1;
  if (self->again->len > 0 || pst_poller_wait_has_events (self->wait))
    {
      *timeout = 0;
      return TRUE;
    }
  if (deadline < 0)
    return FALSE;
  now = g_source_get_time (source);
  if (deadline <= now)
    {
      *timeout = 0;
      return TRUE;
    }
  /* rounded up: woken before the deadline, check() would find nothing */
  *timeout = (gint) MIN ((deadline - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
poller_check (GSource *source)
{
  PstPoller *self = (PstPoller *) source;
  gint64 deadline = next_deadline (self);

  return self->again->len > 0 || pst_poller_wait_has_events (self->wait) ||
         (g_source_query_unix_fd (source, self->epfd_tag) & G_IO_IN) != 0 ||
         (deadline >= 0 && deadline <= g_source_get_time (source));
}

/* Counts this thread's poller dispatches: what is known of a socket
 * within one dispatch (a short read emptied it) holds only until the
 * dispatch ends, since epoll's edges say what came after. */
static __thread guint64 dispatch_serial;

guint64
pst_poller_current_dispatch (void)
{
  return dispatch_serial;
}

static gboolean
poller_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  PstPoller *self = (PstPoller *) source;
  struct epoll_event events[BATCH];
  PstPollerWatch *batch[BATCH];
  g_autoptr(GPtrArray) again = NULL;
  int n = 0;

  self->dispatches++;
  dispatch_serial++;
  dispatch_timers (self, g_source_get_time (source));

  /* Called after this dispatch's I/O: a watch asking again now waits for
   * the next dispatch, so one connection cannot hold the loop. */
  again = g_steal_pointer (&self->again);
  self->again = g_ptr_array_new ();
  for (guint i = 0; i < again->len; i++)
    ((PstPollerWatch *) again->pdata[i])->scheduled = FALSE;

  /* Our wait took them already, or GLib polled our descriptor.  Events
   * name descriptors: a watch freed since the wait is simply not found
   * (take_event), and one whose mask changed is told only what it still
   * waits for (call_watch). */
  if (pst_poller_wait_has_events (self->wait))
    n = pst_poller_wait_take (self->wait, events, BATCH);
  else if (g_source_query_unix_fd (source, self->epfd_tag) & G_IO_IN)
    {
      int got;

      do
        got = epoll_wait (self->epfd, events, BATCH, 0);
      while (got < 0 && errno == EINTR);
      for (int i = 0; i < got; i++)
        if (!pst_poller_wait_is_own (self->wait, events[i].data.fd))
          events[n++] = events[i];
    }
  if (n > 0)
    {
      for (int i = 0; i < n; i++)
        batch[i] = take_event (self, &events[i]);
      for (int i = 0; i < n; i++)
        if (batch[i] != NULL)
          call_watch (self, batch[i], TRUE);
      for (int i = 0; i < n; i++)
        if (batch[i] != NULL)
          watch_unref (batch[i]);
    }
  for (guint i = 0; i < again->len; i++)
    {
      call_watch (self, again->pdata[i], FALSE);
      watch_unref (again->pdata[i]);
    }
  return G_SOURCE_CONTINUE;
}

static void
poller_finalize (GSource *source)
{
  PstPoller *self = (PstPoller *) source;

  g_mutex_lock (&pollers_lock);
  if (pollers != NULL && g_hash_table_lookup (pollers, self->context) == self)
    g_hash_table_remove (pollers, self->context);
  g_mutex_unlock (&pollers_lock);
  g_clear_pointer (&self->wait, pst_poller_wait_free);
  for (guint i = 0; i < self->again->len; i++)
    watch_unref (self->again->pdata[i]);
  g_ptr_array_unref (self->again);
  g_ptr_array_set_free_func (self->heap, g_free);
  g_ptr_array_unref (self->heap);
  g_hash_table_unref (self->timers);
  g_hash_table_unref (self->by_fd);
  g_hash_table_unref (self->lingering);
  g_array_unref (self->live_ids);
  close (self->epfd);
}

static GSourceFuncs poller_funcs = {
  .prepare = poller_prepare,
  .check = poller_check,
  .dispatch = poller_dispatch,
  .finalize = poller_finalize,
};

static PstPoller *
poller_new (GMainContext *context)
{
  GSource *source;
  PstPoller *self;
  int epfd = epoll_create1 (EPOLL_CLOEXEC);

  if (epfd < 0)
    g_error ("poller: epoll_create1: %s", g_strerror (errno));
  source = g_source_new (&poller_funcs, sizeof (PstPoller));
  self = (PstPoller *) source;
  self->context = context;
  self->epfd = epfd;
  self->pid = current_pid ();
  self->thread = g_thread_self ();
  self->by_fd = g_hash_table_new (NULL, NULL);
  self->lingering = g_hash_table_new (NULL, NULL);
  self->again = g_ptr_array_new ();
  self->heap = g_ptr_array_new ();
  self->timers = g_hash_table_new (NULL, NULL);   /* the heap owns the timers */
  self->live_ids = g_array_new (FALSE, FALSE, sizeof (guint));
  self->epfd_tag = g_source_add_unix_fd (source, epfd, G_IO_IN);
  g_source_set_name (source, "PstPoller");
  /* GLib blocks a non-recursive source while dispatching it: it removes
   * the source's descriptors from the context and adds them back, each
   * change waking the context (two eventfd writes, then one more empty
   * iteration) at every dispatch.  Our dispatch is safe to re-enter (a
   * nested iteration from a callback): the batch is on the stack, its
   * watches referenced, and the queue swapped before it runs. */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, context);
  return self;
}

PstPoller *
pst_poller_get_for_context (GMainContext *context)
{
  PstPoller *self, *stale = NULL;

  if (context == NULL)
    context = g_main_context_default ();
  g_mutex_lock (&pollers_lock);
  if (pollers == NULL)
    pollers = g_hash_table_new (NULL, NULL);
  self = g_hash_table_lookup (pollers, context);
  /* A poller from before a fork shares its epoll set with the parent; one
   * whose context died lingers until its last watch goes. */
  if (self != NULL && (self->pid != current_pid () || g_source_is_destroyed ((GSource *) self)))
    {
      g_hash_table_remove (pollers, context);
      stale = self;
      self = NULL;
    }
  if (self == NULL)
    {
      self = poller_new (context);
      g_hash_table_insert (pollers, context, self);
      /* the context holds the source; the table does not */
      g_source_unref ((GSource *) self);
    }
  g_mutex_unlock (&pollers_lock);
  /* (outside the lock: its finalize takes it) */
  if (stale != NULL && !g_source_is_destroyed ((GSource *) stale))
    g_source_destroy ((GSource *) stale);
  return self;
}

PstPoller *
pst_poller_get_default (void)
{
  GMainContext *context = g_main_context_get_thread_default ();

  return pst_poller_get_for_context (context);
}

void
pst_poller_get_stats (PstPoller *self, PstPollerStats *stats)
{
  memset (stats, 0, sizeof *stats);
  stats->watches = self->n_watches;
  stats->registered = self->n_registered;
  stats->timers = g_hash_table_size (self->timers);
  stats->dispatches = self->dispatches;
  stats->callbacks = self->callbacks;
  stats->ctl_calls = self->ctl_calls;
  pst_poller_wait_add_stats (self->wait, stats);
}

gboolean
pst_poller_own_wait (PstPoller *self, GError **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  if (self->wait != NULL)
    return TRUE;
  self->wait = pst_poller_wait_new (self, error);
  return self->wait != NULL;
}

int
pst_poller_get_epfd (PstPoller *self)
{
  return self->epfd;
}

GMainContext *
pst_poller_get_context (PstPoller *self)
{
  return self->context;
}

gboolean
pst_poller_is_current (PstPoller *self)
{
  return self->pid == current_pid ();
}

guint
pst_poller_count_context_sources (PstPoller *self)
{
  GSource *probe = g_idle_source_new ();
  guint top = g_source_attach (probe, self->context);
  guint kept = 0;

  g_source_destroy (probe);
  g_source_unref (probe);
  if (top <= self->scanned_to)   /* the ids wrapped around: start again */
    {
      g_array_set_size (self->live_ids, 0);
      self->scanned_to = 0;
    }
  for (guint i = 0; i < self->live_ids->len; i++)
    {
      guint id = g_array_index (self->live_ids, guint, i);

      if (g_main_context_find_source_by_id (self->context, id) != NULL)
        g_array_index (self->live_ids, guint, kept++) = id;
    }
  g_array_set_size (self->live_ids, kept);
  for (guint id = self->scanned_to + 1; id < top; id++)
    if (g_main_context_find_source_by_id (self->context, id) != NULL)
      g_array_append_val (self->live_ids, id);
  self->scanned_to = top;
  return self->live_ids->len;
}
