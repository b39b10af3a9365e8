/* pst-socket.c: a GSocket over a descriptor we made (accept4, socket), without GIO's probing
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "pst-socket.h"

struct _PstSocket
{
  GSocket parent_instance;
};

G_DEFINE_FINAL_TYPE (PstSocket, pst_socket, G_TYPE_SOCKET)

/* GSocket's constructed() probes the descriptor (getsockopt SO_TYPE,
 * getsockname, getpeername, getsockopt SO_KEEPALIVE) and makes it
 * non-blocking (fcntl F_GETFL, F_SETFL): what we pass as construct
 * properties, and what accept4 and socket() did already.  So it is not
 * chained up to, on purpose: GSocket's init() set the rest (blocking at
 * GSocket's level, no timeout), and its initable init() marks it ready. */
static void
pst_socket_constructed (GObject *object)
{
}

static void
pst_socket_class_init (PstSocketClass *klass)
{
  G_OBJECT_CLASS (klass)->constructed = pst_socket_constructed;
}

static void
pst_socket_init (PstSocket *self)
{
}

static GSocket *
wrap (int fd, GSocketFamily family, GError **error)
{
  return g_initable_new (PST_TYPE_SOCKET, NULL, error,
                         "family", family,
                         "type", G_SOCKET_TYPE_STREAM,
                         "protocol", G_SOCKET_PROTOCOL_TCP,
                         "fd", fd,
                         NULL);
}

GSocket *
pst_socket_new_accepted (int fd, GSocketFamily family)
{
  GSocket *socket;

  g_return_val_if_fail (fd >= 0, NULL);
  socket = wrap (fd, family, NULL);
  g_assert (socket != NULL);   /* nothing in it can fail */
  return socket;
}

GSocket *
pst_socket_new_tcp (GSocketFamily family, GError **error)
{
  int fd = socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);

  if (fd < 0)
    {
      int errsv = errno;

      /* worded (and translated) as g_socket_new's */
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   g_dgettext ("glib20", "Unable to create socket: %s"), g_strerror (errsv));
      return NULL;
    }
  return wrap (fd, family, error);
}
