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

/* ready: what epoll reported (G_IO_IN, G_IO_OUT, G_IO_HUP, G_IO_ERR), or 0
 * when called because pst_poller_watch_schedule() asked for it.  Return
 * TRUE to be called again at the next dispatch without waiting (a budget
 * used up while data may be left), FALSE to wait for the mask. */
typedef gboolean (*PstPollerFunc) (PstPollerWatch *watch, GIOCondition ready, gpointer user_data);

/* The poller of the thread-default main context, made on first use;
 * owned by that context (transfer none). */
PstPoller      *pst_poller_get_default      (void);
PstPoller      *pst_poller_get_for_context  (GMainContext *context);

/* A watch on fd, with an empty mask: nothing is called until a mask or a
 * schedule says so.  The watch holds no reference on user_data.  Free it
 * (or empty its mask) before fd is closed: epoll keeps a descriptor that
 * lives on elsewhere (a dup, a forked child) registered after a close. */
PstPollerWatch *pst_poller_watch_new        (PstPoller *self, int fd, PstPollerFunc func, gpointer user_data);
/* G_IO_IN and/or G_IO_OUT (level-triggered), or 0 to wait for nothing.
 * FALSE when epoll refused the descriptor: the caller must wait another
 * way (the watch is left with an empty mask). */
gboolean        pst_poller_watch_set_mask   (PstPollerWatch *watch, GIOCondition mask);
GIOCondition    pst_poller_watch_get_mask   (PstPollerWatch *watch);
/* Call the watch at the next dispatch whatever its descriptor says (data
 * buffered above the socket, in TLS or in a wrapper, is not a readable
 * socket). */
void            pst_poller_watch_schedule   (PstPollerWatch *watch);
/* Stops the watch: safe at any time, within a dispatch and inside its own
 * callback included; it is never called again. */
void            pst_poller_watch_free       (PstPollerWatch *watch);

/* Timers on the thread-default context's poller, as g_timeout_add() and
 * g_source_remove() on the default context (0 is never an id; removing
 * an id that already fired and returned G_SOURCE_REMOVE is harmless). */
guint           pst_poller_timeout_add      (guint interval_ms, GSourceFunc func, gpointer data);
void            pst_poller_timeout_remove   (guint id);

typedef struct {
  guint   watches;        /* watch objects alive */
  guint   registered;     /* descriptors in the epoll set (a non-empty mask) */
  guint   timers;
  guint64 dispatches;
  guint64 callbacks;      /* watch callbacks made */
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
