/* pst-io-close.h: find the socket under a stack of streams; close a
 * stream in bounded time
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The socket under stream, through our own wrappers ("pst-base-stream"),
 * TLS connections and the stream SoupServer hands over after an upgrade;
 * NULL when there is none (a socketpair end in a test, say). */
/* The stream under stream: our wrappers ("pst-base-stream"),
 * GTlsConnection's base, and libsoup's SoupIOStream (what
 * soup_server_message_steal_connection returns).  Not a reference. */
GIOStream *pst_io_base_stream (GIOStream *stream);
GSocket *pst_io_find_socket (GIOStream *stream);

/* g_io_stream_close_async that always ends: closing a TLS stream sends
 * close_notify, which waits for a peer that may never read again.  If the
 * close has not finished after deadline_ms, the socket underneath is shut
 * down both ways, so the pending write fails and the close completes.
 * callback may be NULL. */
void     pst_io_close_async  (GIOStream           *stream,
                              guint                deadline_ms,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data);
gboolean pst_io_close_finish (GIOStream           *stream,
                              GAsyncResult        *result,
                              GError             **error);

G_END_DECLS
