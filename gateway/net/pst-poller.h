/* pst-poller.h: one epoll-backed GSource per main context, for descriptor watches and timers
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A GMainContext walks every attached GSource at each iteration (prepare,
 * query, check, poll): with one source per idle connection the round trip
 * of a busy one grows with the idle ones.  A PstPoller is one GSource that
 * owns an epoll set (polled through one descriptor) and a timer heap, and
 * dispatches only the watches that are ready and the timers that are due:
 * an iteration costs O(ready), not O(connections).
 *
 * A poller belongs to its context's thread: create, change and free its
 * watches and timers there only. */
typedef struct _PstPoller      PstPoller;
typedef struct _PstPollerWatch PstPollerWatch;

/* ready: what epoll reported and the mask asks for (G_IO_IN, G_IO_OUT,
 * and G_IO_HUP, G_IO_ERR with any mask), or 0 when called because
 * pst_poller_watch_schedule() asked for it and nothing was reported.  Return
 * TRUE to be called again at the next dispatch without waiting (a budget
 * used up while data may be left), FALSE to wait for the mask. */
typedef gboolean (*PstPollerFunc) (PstPollerWatch *watch, GIOCondition ready, gpointer user_data);

/* The poller of the thread-default main context, made on first use;
 * owned by that context (transfer none). */
PstPoller      *pst_poller_get_default      (void);
PstPoller      *pst_poller_get_for_context  (GMainContext *context);

/* A watch on fd, with an empty mask: nothing is called until a mask or a
 * schedule says so.  The watch holds no reference on user_data.  One
 * watch per descriptor at a time (a newer one on the same number takes
 * it: the older one's descriptor was closed under it).  Free it before
 * fd is closed. */
PstPollerWatch *pst_poller_watch_new        (PstPoller *self, int fd, PstPollerFunc func, gpointer user_data);
/* G_IO_IN and/or G_IO_OUT, or 0 to wait for nothing; no system call but
 * the first time a watch asks for input or output.  Edge-triggered: the
 * callback gets a condition once per report; an owner waits for it only
 * after its stream said WOULD_BLOCK in that direction (or it returns TRUE
 * from the callback, or schedules itself).  A condition reported while
 * the mask did not ask for it (a paused reader) is kept, and handed over
 * at the next dispatch once the mask asks for it.  FALSE when epoll
 * refused the descriptor: the caller must wait another way (the watch is
 * left with an empty mask). */
gboolean        pst_poller_watch_set_mask   (PstPollerWatch *watch, GIOCondition mask);
GIOCondition    pst_poller_watch_get_mask   (PstPollerWatch *watch);
/* The owner's stream just said WOULD_BLOCK for condition (G_IO_IN,
 * G_IO_OUT): what was reported before is stale, so asking for it next
 * waits for a new report instead of a call at once. */
void            pst_poller_watch_would_block (PstPollerWatch *watch, GIOCondition condition);
/* TRUE once the watch registered its descriptor itself: the kernel
 * reported what was ready then, so a reader need not try a read at once
 * to learn whether bytes wait in the socket (there may still be some
 * above it, in a wrapper).  FALSE for a watch that took over an earlier
 * one's registration: its first mask with G_IO_IN calls it at the next
 * dispatch (ready 0 unless something was reported), as bytes the earlier
 * owner left (peeked, not read) would get no report of their own. */
gboolean        pst_poller_watch_knows_ready (PstPollerWatch *watch);
/* TRUE once epoll said the peer closed its side (EPOLLRDHUP, EPOLLHUP):
 * a short read no longer proves the socket empty, as the end may still
 * wait behind the bytes (and no new report will come for it). */
gboolean        pst_poller_watch_peer_closed (PstPollerWatch *watch);
/* Handing a socket on (a back-end's connect to its TLS handshake, a
 * handshake to the byte pump, a peek to the handshake): the owner parks
 * its watch on the socket instead of freeing it, and the next owner
 * adopts it, registration and all (no epoll_ctl).  A parked watch is
 * called for nothing; what is reported meanwhile is kept.  drained: the
 * owner read nothing, or read until WOULD_BLOCK (a peek is not a read):
 * then what was reported is all there is to know.  A parked watch that
 * nobody adopts goes with the socket (freed on its poller's thread).
 * The watch belongs to the socket from now on (transfer full). */
void            pst_poller_watch_park       (PstPollerWatch *watch, GSocket *socket, gboolean drained);
/* The watch parked on socket, calling func from now on (its mask empty),
 * or NULL (none, the socket was closed, or it was another poller's). */
PstPollerWatch *pst_poller_watch_adopt      (PstPoller *self, GSocket *socket, PstPollerFunc func,
                                             gpointer user_data);
/* Call the watch at the next dispatch whatever its descriptor says (data
 * buffered above the socket, in TLS or in a wrapper, is not a readable
 * socket). */
void            pst_poller_watch_schedule   (PstPollerWatch *watch);
/* Stops the watch: safe at any time, within a dispatch and inside its own
 * callback included; it is never called again. */
void            pst_poller_watch_free       (PstPollerWatch *watch);
/* A number that changes with each poller dispatch of the calling thread:
 * readiness learnt within one dispatch is stale after it (edge-triggered:
 * what came since is reported by a new event, not by a call at once). */
guint64         pst_poller_current_dispatch (void);

/* Timers on the thread-default context's poller, as g_timeout_add() and
 * g_source_remove() on the default context (0 is never an id; removing
 * an id that already fired and returned G_SOURCE_REMOVE is harmless). */
guint           pst_poller_timeout_add      (guint interval_ms, GSourceFunc func, gpointer data);
void            pst_poller_timeout_remove   (guint id);

typedef struct {
  guint   watches;        /* watch objects alive */
  guint   registered;     /* watches whose descriptor is in the epoll set (asked once for a
                           * condition; freed watches leave theirs to the descriptor's close) */
  guint   timers;
  guint64 dispatches;
  guint64 callbacks;      /* watch callbacks made */
  guint64 ctl_calls;      /* epoll_ctl () calls made for watches */
  /* with pst_poller_own_wait() */
  guint64 own_waits;      /* iterations that waited in our epoll_wait */
  guint64 glib_polls;     /* iterations left to GLib's poll() */
  guint64 extra_syncs;    /* GLib's other descriptors registered again */
} PstPollerStats;

void            pst_poller_get_stats        (PstPoller *self, PstPollerStats *stats);

/* Makes the poller's context wait in the poller's own epoll_wait(), one
 * system call per wake-up instead of GLib's poll() and then ours; GLib's
 * timeouts, idles, other descriptors and cross-thread wake-ups work as
 * before.  For the thread that runs the context, before it runs it (not
 * from a dispatch).  FALSE with @error if the context cannot be driven so
 * (it keeps GLib's poll then).  Not undone: the poller lives as long as its
 * context. */
gboolean        pst_poller_own_wait         (PstPoller *self, GError **error);

/* The number of GSources attached to the poller's context now (every
 * source, not only ours: GIO's, libsoup's, timers).  Counted by source id,
 * incrementally: the first call walks every id the context has issued,
 * later calls only the new ones and those still alive. */
guint           pst_poller_count_context_sources (PstPoller *self);

G_END_DECLS
