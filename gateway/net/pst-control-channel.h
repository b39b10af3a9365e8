/* pst-control-channel.h: the line socket between a master and one of its workers, both ends
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A stream socket that carries short lines ("ready", "drain", …) between
 * a master and a worker.  The master makes the pair and hands one end to
 * the worker it starts; each side wraps its end in a PstControlChannel,
 * which owns the descriptor (close-on-exec, non-blocking), watches it on
 * the thread-default main context and calls back once per whole line,
 * then once with NULL when the peer is gone. */
typedef struct _PstControlChannel PstControlChannel;

/* LINE: one line without its newline; NULL: the other end closed. */
typedef void (*PstControlLineFunc) (const char *line, gpointer user_data);

/* A connected pair: *ours (close-on-exec) and *theirs (close-on-exec too:
 * the launcher moves it to the child's descriptor number). */
gboolean           pst_control_channel_make_pair (int *ours, int *theirs, GError **error);
/* Takes FD (-1: no socket, input by pst_control_channel_feed only).
 * MAX_LINE: a longer line is dropped whole (a peer that is not ours). */
PstControlChannel *pst_control_channel_new   (int fd, gsize max_line, PstControlLineFunc func,
                                              gpointer user_data, GError **error);
void               pst_control_channel_free  (PstControlChannel *self);
/* Sends LINE and a newline without blocking: a full socket means a peer
 * that is stuck, and the line is dropped (FALSE) rather than block. */
gboolean           pst_control_channel_send  (PstControlChannel *self, const char *line);
/* Stops watching (no more callbacks); the descriptor stays open until free. */
void               pst_control_channel_stop  (PstControlChannel *self);

/* Feeds BYTES to the line splitter as if read from the socket (for the
 * tests and the fuzz target: the bytes come from another process). */
void               pst_control_channel_feed  (PstControlChannel *self, const char *bytes, gsize len);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstControlChannel, pst_control_channel_free)

G_END_DECLS
