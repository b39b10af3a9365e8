/* pst-socket.h: a GSocket over a descriptor we made (accept4, socket), without GIO's probing
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PST_TYPE_SOCKET (pst_socket_get_type ())
G_DECLARE_FINAL_TYPE (PstSocket, pst_socket, PST, SOCKET, GSocket)

/* g_socket_new_from_fd() asks the kernel what it could be told: the
 * type, the local and the peer's address, SO_KEEPALIVE, then reads and
 * sets O_NONBLOCK (six system calls per accepted client, two more per
 * back-end socket with g_socket_new()).  A PstSocket is a GSocket told
 * instead: the family given, a TCP stream, the descriptor already
 * non-blocking and close-on-exec.  Everything GSocket does works on it
 * the same, but for g_socket_is_connected(), FALSE on an accepted socket
 * (GSocket learns it from getpeername), and so
 * g_socket_connection_get_remote_address(), NULL on its connection: the
 * peer's address comes from accept4 (PstConnection keeps it), or from
 * g_socket_get_remote_address().  Reads, writes, sources, shutdown and
 * close do not ask.  A dialled one is connected by g_socket_connect() or
 * g_socket_check_connect_result(), as any GSocket. */

/* fd: a connected TCP socket from accept4 (SOCK_NONBLOCK | SOCK_CLOEXEC),
 * owned by the socket from now on.  Never NULL. */
GSocket *pst_socket_new_accepted (int fd, GSocketFamily family);

/* A new TCP socket (socket() with SOCK_NONBLOCK | SOCK_CLOEXEC, one
 * system call), to connect. */
GSocket *pst_socket_new_tcp      (GSocketFamily family, GError **error);

G_END_DECLS
