/* pst-linger.h: lingering close: half-close, then read and drop what the
 * peer still sends until its end or a deadline, then close ()
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* close () of a TCP socket whose receive queue is not empty, or that
 * receives a byte afterwards, makes Linux answer with a reset, which
 * throws away what our kernel had not sent yet (a draining gateway's last
 * hundreds of KB to a slow back-end) and may make the peer drop what it
 * had received but not read.  As nginx's lingering_close: once our last
 * byte is queued, shutdown (SHUT_WR) sends a FIN behind it, and the socket
 * stays open, read and dropped on the thread's poller, until the peer's
 * end, until it has been silent for the idle time, or until the total
 * time; only then is it closed.
 *
 * Takes fd (a TCP socket the caller no longer uses; usually a dup of one
 * whose stream is being closed) and always closes it, now or later.  Runs
 * on the thread-default context's poller (that thread only). */
void  pst_linger_take        (int fd);

/* Lingering sockets open now, process-wide: each holds a descriptor, and
 * a draining gateway waits for them (within its drain deadline). */
guint pst_linger_get_n_open  (void);
/* Lingering closes ended by the idle or total time, or by the count
 * bound, rather than by the peer's end; process-wide. */
guint64 pst_linger_get_n_cut (void);

/* Defaults: PST_LINGER_TIME_MS in all, PST_LINGER_IDLE_MS of silence,
 * PST_LINGER_MAX sockets per thread (the oldest is closed to make room).
 * max 0 turns lingering off (take closes at once).  For tests and
 * configuration, before connections start. */
#define PST_LINGER_TIME_MS  10000
#define PST_LINGER_IDLE_MS  2000
#define PST_LINGER_MAX      1024
void  pst_linger_set_limits  (guint time_ms, guint idle_ms, guint max);
guint pst_linger_get_max     (void);

/* Close the calling thread's lingering sockets now. */
void  pst_linger_close_all   (void);

G_END_DECLS
