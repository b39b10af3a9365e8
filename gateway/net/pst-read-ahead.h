/* pst-read-ahead.h: a socket's input read in large pieces, for the TLS layer on top of it
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PST_TYPE_READ_AHEAD (pst_read_ahead_get_type ())
G_DECLARE_FINAL_TYPE (PstReadAhead, pst_read_ahead, PST, READ_AHEAD, GInputStream)

/* A GIOStream to give a GTlsConnection as its base instead of base (a
 * GSocketConnection): GnuTLS reads each record in two calls (its 5-byte
 * header, then its body), each a recv(); this input answers a small read
 * with one large recv() and serves what follows from it.  Large reads with
 * nothing in hand go straight to the socket.  The buffer exists only while
 * it holds bytes.  The input is pollable (its GSource is ready while bytes
 * are in hand), the output is base's, and closing it closes base. */
GIOStream *pst_read_ahead_wrap (GIOStream *base);

G_END_DECLS
