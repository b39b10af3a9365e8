/* pst-systemd.h: the service manager's side channels: sd_notify and socket activation
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Sends STATE ("READY=1", "STATUS=…", several lines joined by "\n") to
 * the datagram socket named by $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract one), as sd_notify(3) does.  Returns FALSE when there is no
 * such socket (not started by a service manager) or the send failed. */
gboolean   pst_systemd_notify         (const char *state);
gboolean   pst_systemd_notifyf        (const char *format, ...) G_GNUC_PRINTF (1, 2);

/* Listening sockets passed by socket activation ($LISTEN_FDS and
 * $LISTEN_PID, sd_listen_fds(3)): GSocket each, in fd order, with the
 * name from $LISTEN_FDNAMES as "pst-fd-name" data.  The variables are
 * cleared so that children do not inherit them.  An empty array when the
 * process was not socket-activated; NULL with error when a passed
 * descriptor is not a listening stream socket. */
GPtrArray *pst_systemd_take_listen_sockets (GError **error);
/* The N listening sockets at descriptors FIRST… (socket activation, or
 * a master's workers), checked and made close-on-exec as above; NAMES
 * (nullable) labels them in messages. */
GPtrArray *pst_systemd_adopt_listen_fds    (int first, guint n, const char *const *names, GError **error);
/* "fd 3 (postern.socket) on 127.0.0.1:8000" for messages */
char      *pst_systemd_describe_socket     (GSocket *socket);

G_END_DECLS
