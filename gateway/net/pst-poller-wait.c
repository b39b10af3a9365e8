/* pst-poller-wait.c: a context's poll function that waits in the poller's own epoll_wait
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

#include "pst-poller-private.h"

/* GLib polls the poller's epoll descriptor with poll(), and the poller's
 * dispatch then asks epoll_wait() what was ready: two system calls per
 * wake-up.  With the poll function below the context waits in the
 * poller's epoll_wait() itself, with GLib's timeout, and hands the events
 * it got to the dispatch.  GLib's other descriptors wait in that same
 * call:
 *
 * - the context's wake-up eventfd (g_main_context_wakeup(), a source
 *   attached or a descriptor added from another thread) lives as long as
 *   the context: it is in the epoll set for good;
 * - any other descriptor GLib asks for (a GSocket source, g_unix_fd_add)
 *   goes in a second epoll set, itself in the first, kept equal to what
 *   GLib asked for at each iteration.  Only the list is compared per
 *   iteration: an unchanged list costs no system call.
 *
 * A list can look unchanged while a descriptor under it changed: a source
 * removed, its descriptor closed, the number reused and a new source
 * added for it, all between two polls.  epoll forgot the closed one, so
 * the new one would never be reported.  GLib signals the wake-up eventfd
 * at every descriptor added or removed, so a wake-up reported by our wait
 * makes the next iteration register every descriptor again (MOD, or ADD
 * when epoll forgot it).
 *
 * Anything else falls back to GLib's own poll(): more descriptors than
 * MAX_EXTRA, one epoll refuses (a regular file), the poller's own
 * descriptor not asked for (a higher priority is ready). */

#define MAX_EXTRA 64

typedef struct {
  int     fd;
  guint32 events;
} Extra;

struct _PstPollerWait
{
  PstPoller          *poller;    /* not a reference: the poller owns us */
  int                 epfd;      /* the poller's */
  int                 wakeup_fd; /* the context's eventfd */
  int                 extra_fd;  /* the second epoll set */
  gboolean            resync;    /* register every extra again */
  gboolean            rebuild;   /* a new second set (one reported a stranger) */
  Extra               extras[MAX_EXTRA];
  guint               n_extras;
  Extra               refused[MAX_EXTRA];   /* a list epoll refused */
  guint               n_refused;
  struct epoll_event  pending[PST_POLLER_BATCH];   /* watches' events, by descriptor */
  int                 n_pending;
  guint64             own_waits, glib_polls, extra_syncs;
};

static GMutex     waits_lock;
static GPtrArray *waits;    /* PstPollerWait *, those installed */

static guint32
epoll_events_of (gushort events)
{
  return ((events & G_IO_IN) ? EPOLLIN : 0) | ((events & G_IO_OUT) ? EPOLLOUT : 0) |
         ((events & G_IO_PRI) ? EPOLLPRI : 0);
}

static gushort
poll_events_of (guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0) |
         ((events & EPOLLPRI) ? G_IO_PRI : 0) | ((events & EPOLLHUP) ? G_IO_HUP : 0) |
         ((events & EPOLLERR) ? G_IO_ERR : 0);
}

static gboolean
add_own (int epfd, int fd)
{
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

  return epoll_ctl (epfd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

static gboolean
extras_equal (PstPollerWait *self, const Extra *want, guint n)
{
  return n == self->n_extras && memcmp (want, self->extras, n * sizeof (Extra)) == 0;
}

static gboolean
register_extra (PstPollerWait *self, const Extra *x, gboolean known)
{
  struct epoll_event ev = { .events = x->events, .data.fd = x->fd };

  if (known && epoll_ctl (self->extra_fd, EPOLL_CTL_MOD, x->fd, &ev) == 0)
    return TRUE;
  if (epoll_ctl (self->extra_fd, EPOLL_CTL_ADD, x->fd, &ev) == 0)
    return TRUE;
  return errno == EEXIST && epoll_ctl (self->extra_fd, EPOLL_CTL_MOD, x->fd, &ev) == 0;
}

/* Makes the second set hold exactly want[]; FALSE when epoll refused one
 * (the set is left empty then, for GLib's poll() to take over). */
static gboolean
sync_extras (PstPollerWait *self, const Extra *want, guint n)
{
  if (!self->resync && !self->rebuild && extras_equal (self, want, n))
    return TRUE;
  if (!self->resync && n > 0 && n == self->n_refused && memcmp (want, self->refused, n * sizeof (Extra)) == 0)
    return FALSE;
  self->n_refused = 0;
  self->extra_syncs++;
  if (self->rebuild)
    {
      int fd = epoll_create1 (EPOLL_CLOEXEC);

      if (fd < 0)
        return FALSE;
      close (self->extra_fd);   /* (leaves the first set with it) */
      self->extra_fd = fd;
      if (!add_own (self->epfd, fd))
        g_error ("poller: epoll_ctl: %s", g_strerror (errno));
      self->n_extras = 0;
      self->rebuild = FALSE;
    }
  /* (at most MAX_EXTRA each: a scan is cheaper than a table) */
  for (guint i = 0; i < self->n_extras; i++)
    {
      gboolean kept = FALSE;

      for (guint j = 0; j < n && !kept; j++)
        kept = want[j].fd == self->extras[i].fd;
      if (!kept)
        epoll_ctl (self->extra_fd, EPOLL_CTL_DEL, self->extras[i].fd, NULL);
    }
  for (guint j = 0; j < n; j++)
    {
      const Extra *had = NULL;

      for (guint i = 0; i < self->n_extras && had == NULL; i++)
        if (self->extras[i].fd == want[j].fd)
          had = &self->extras[i];
      if (had != NULL && had->events == want[j].events && !self->resync)
        continue;
      if (!register_extra (self, &want[j], had != NULL))
        {
          g_debug ("poller: descriptor %d cannot wait in epoll: %s", want[j].fd, g_strerror (errno));
          for (guint k = 0; k < n; k++)
            if (k != j)
              epoll_ctl (self->extra_fd, EPOLL_CTL_DEL, want[k].fd, NULL);
          self->n_extras = 0;
          /* not tried again while GLib asks for the same list */
          memcpy (self->refused, want, n * sizeof (Extra));
          self->n_refused = n;
          return FALSE;
        }
    }
  if (n > 0)
    memcpy (self->extras, want, n * sizeof (Extra));
  self->n_extras = n;
  self->resync = FALSE;
  return TRUE;
}

/* A watch's event, kept for the dispatch.  One epoll_wait reports a
 * descriptor once, but events kept from a wait whose dispatch did not
 * run yet (old of them) may name the same watch: merged (the dispatch
 * calls a watch once). */
static void
keep_event (PstPollerWait *self, const struct epoll_event *ev, int old)
{
  for (int i = 0; i < old; i++)
    if (self->pending[i].data.fd == ev->data.fd)
      {
        self->pending[i].events |= ev->events;
        return;
      }
  self->pending[self->n_pending++] = *ev;
}

static gint
fall_back (PstPollerWait *self, GPollFD *ufds, guint nfds, gint timeout)
{
  Extra none[1] = { { 0, 0 } };

  self->glib_polls++;
  /* Registrations left in the second set would keep the first one
   * readable while GLib polls on its own. */
  sync_extras (self, none, 0);
  return g_poll (ufds, nfds, timeout);
}

static gint
wait_poll (PstPollerWait *self, GPollFD *ufds, guint nfds, gint timeout, guint own)
{
  struct epoll_event evs[PST_POLLER_BATCH];
  Extra want[MAX_EXTRA];
  int where[MAX_EXTRA];
  gboolean woken = FALSE, extra_ready = FALSE;
  int wakeup_at = -1, n = 0, room, ready = 0, old = self->n_pending;
  guint n_want = 0;

  for (guint i = 0; i < nfds; i++)
    {
      ufds[i].revents = 0;
      if (i == own || ufds[i].fd < 0)
        continue;
      if (ufds[i].fd == self->wakeup_fd)
        {
          wakeup_at = i;
          continue;
        }
      if (n_want == MAX_EXTRA || (n_want > 0 && want[n_want - 1].fd >= ufds[i].fd))
        return fall_back (self, ufds, nfds, timeout);
      want[n_want].fd = ufds[i].fd;
      want[n_want].events = epoll_events_of (ufds[i].events);
      where[n_want++] = i;
    }
  if (!sync_extras (self, want, n_want))
    return fall_back (self, ufds, nfds, timeout);

  self->own_waits++;
  room = PST_POLLER_BATCH - self->n_pending;
  if (self->n_pending > 0)
    timeout = 0;   /* the last ones were not dispatched yet */
  if (room > 0)
    {
      n = epoll_wait (self->epfd, evs, room, timeout);
      if (n < 0 && self->n_pending == 0)
        return -1;
    }
  for (int i = 0; i < n; i++)
    {
      if (evs[i].data.fd == self->wakeup_fd)
        woken = TRUE;
      else if (evs[i].data.fd == self->extra_fd)
        extra_ready = TRUE;
      else
        keep_event (self, &evs[i], old);
    }
  if (woken)
    {
      /* GLib reads it in its check: whatever changed before that is
       * looked at again by the next iteration. */
      self->resync = TRUE;
      if (wakeup_at >= 0)
        ufds[wakeup_at].revents = G_IO_IN;
    }
  if (extra_ready && n_want > 0)
    {
      int m = epoll_wait (self->extra_fd, evs, n_want, 0);

      for (int i = 0; i < m; i++)
        {
          guint j = 0;

          while (j < n_want && want[j].fd != evs[i].data.fd)
            j++;
          if (j == n_want)
            {
              self->rebuild = TRUE;   /* a registration outlived its list */
              continue;
            }
          ufds[where[j]].revents = poll_events_of (evs[i].events) & (ufds[where[j]].events | G_IO_HUP | G_IO_ERR);
        }
    }
  else if (extra_ready)
    self->rebuild = TRUE;
  if (self->n_pending > 0)
    ufds[own].revents = G_IO_IN;
  for (guint i = 0; i < nfds; i++)
    ready += ufds[i].revents != 0;
  return ready;
}

static gint
own_poll (GPollFD *ufds, guint nfds, gint timeout)
{
  PstPollerWait *self = NULL;
  guint own = 0;

  g_mutex_lock (&waits_lock);
  for (guint w = 0; waits != NULL && w < waits->len && self == NULL; w++)
    for (guint i = 0; i < nfds; i++)
      if (ufds[i].fd == ((PstPollerWait *) waits->pdata[w])->epfd)
        {
          self = waits->pdata[w];
          own = i;
          break;
        }
  g_mutex_unlock (&waits_lock);
  /* A forked child shares the parent's epoll sets: not ours to wait in. */
  if (self == NULL || !pst_poller_is_current (self->poller))
    return g_poll (ufds, nfds, timeout);
  return wait_poll (self, ufds, nfds, timeout, own);
}

static gboolean
is_eventfd (int fd)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/fd/%d", fd);
  g_autofree char *target = g_file_read_link (path, NULL);

  return g_strcmp0 (target, "anon_inode:[eventfd]") == 0;
}

/* The context's wake-up descriptor: GLib does not tell it, but it is the
 * eventfd among the context's descriptors that a g_main_context_wakeup()
 * makes readable. */
static int
find_wakeup_fd (GMainContext *context)
{
  g_autofree GPollFD *fds = NULL;
  gint n = 8, size = 0, timeout, priority;
  int found = -1, candidates = 0;

  g_main_context_prepare (context, &priority);
  while (n > size)
    {
      size = n;
      fds = g_renew (GPollFD, fds, size);
      n = g_main_context_query (context, G_MAXINT, &timeout, fds, size);
    }
  g_main_context_wakeup (context);
  if (g_poll (fds, n, 0) < 0)
    n = 0;
  for (int i = 0; i < n; i++)
    if ((fds[i].revents & G_IO_IN) && is_eventfd (fds[i].fd))
      {
        found = fds[i].fd;
        candidates++;
      }
  /* (it acknowledges the wake-up; what it found ready stays ready) */
  g_main_context_check (context, G_MAXINT, fds, n);
  return candidates == 1 ? found : -1;
}

PstPollerWait *
pst_poller_wait_new (PstPoller *poller, GError **error)
{
  GMainContext *context = pst_poller_get_context (poller);
  PstPollerWait *self;
  int wakeup_fd;

  if (g_main_depth () > 0 || !g_main_context_acquire (context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                           _("The poller can take over the wait only from its context's thread, outside a dispatch"));
      return NULL;
    }
  wakeup_fd = find_wakeup_fd (context);
  g_main_context_release (context);
  if (wakeup_fd < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("The main context's wake-up descriptor was not found: GLib keeps its own poll"));
      return NULL;
    }
  self = g_new0 (PstPollerWait, 1);
  self->poller = poller;
  self->epfd = pst_poller_get_epfd (poller);
  self->wakeup_fd = wakeup_fd;
  self->extra_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->extra_fd < 0 || !add_own (self->epfd, self->wakeup_fd) ||
      !add_own (self->epfd, self->extra_fd))
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "epoll: %s", g_strerror (saved));
      epoll_ctl (self->epfd, EPOLL_CTL_DEL, self->wakeup_fd, NULL);
      if (self->extra_fd >= 0)
        close (self->extra_fd);
      g_free (self);
      return NULL;
    }
  g_mutex_lock (&waits_lock);
  if (waits == NULL)
    waits = g_ptr_array_new ();
  g_ptr_array_add (waits, self);
  g_mutex_unlock (&waits_lock);
  g_main_context_set_poll_func (context, own_poll);
  return self;
}

/* With the poller: its context is going away, or the poller was replaced
 * (the poll function then finds no wait and polls as GLib does). */
void
pst_poller_wait_free (PstPollerWait *self)
{
  if (self == NULL)
    return;
  g_mutex_lock (&waits_lock);
  g_ptr_array_remove (waits, self);
  g_mutex_unlock (&waits_lock);
  /* (the wake-up descriptor leaves with the poller's epoll set, closed
   * next: never with epoll_ctl, which after a fork would change the
   * parent's set, shared with us) */
  close (self->extra_fd);
  g_free (self);
}

gboolean
pst_poller_wait_has_events (PstPollerWait *self)
{
  return self != NULL && self->n_pending > 0;
}

int
pst_poller_wait_take (PstPollerWait *self, struct epoll_event *events, int max)
{
  int n;

  if (self == NULL)
    return 0;
  n = MIN (max, self->n_pending);
  memcpy (events, self->pending, n * sizeof *events);
  memmove (self->pending, self->pending + n, (self->n_pending - n) * sizeof *events);
  self->n_pending -= n;
  return n;
}

gboolean
pst_poller_wait_is_own (PstPollerWait *self, int fd)
{
  return self != NULL && (fd == self->wakeup_fd || fd == self->extra_fd);
}

void
pst_poller_wait_add_stats (PstPollerWait *self, PstPollerStats *stats)
{
  if (self == NULL)
    return;
  stats->own_waits = self->own_waits;
  stats->glib_polls = self->glib_polls;
  stats->extra_syncs = self->extra_syncs;
}
