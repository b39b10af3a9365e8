/* pst-poller-private.h: between the poller's source (pst-poller.c) and its own wait (pst-poller-wait.c)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/epoll.h>

#include "pst-poller.h"

G_BEGIN_DECLS

/* The most epoll events one dispatch takes. */
#define PST_POLLER_BATCH 256

typedef struct _PstPollerWait PstPollerWait;

/* The poller's side, for the wait: the epoll set.  Its events name
 * descriptors (a watch's, or the wait's own two), never a watch: what
 * the wait keeps until the dispatch needs no reference. */
int            pst_poller_get_epfd        (PstPoller *self);
GMainContext  *pst_poller_get_context     (PstPoller *self);
/* FALSE in a forked child: the epoll set is the parent's too. */
gboolean       pst_poller_is_current      (PstPoller *self);

/* The wait's side, for the source.  NULL until pst_poller_own_wait(). */
PstPollerWait *pst_poller_wait_new        (PstPoller *poller, GError **error);
void           pst_poller_wait_free       (PstPollerWait *wait);
/* Events the wait took for our watches (by descriptor). */
gboolean       pst_poller_wait_has_events (PstPollerWait *wait);
int            pst_poller_wait_take       (PstPollerWait *wait, struct epoll_event *events, int max);
/* The wait's own descriptors live in the epoll set too: their events are
 * not watches. */
gboolean       pst_poller_wait_is_own     (PstPollerWait *wait, int fd);
void           pst_poller_wait_add_stats  (PstPollerWait *wait, PstPollerStats *stats);

G_END_DECLS
