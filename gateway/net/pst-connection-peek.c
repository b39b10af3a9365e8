/* pst-connection-peek.c: wait for more bytes than were peeked (ClientHello, PROXY header)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <sys/socket.h>

#include "pst-connection-private.h"

/* The ClientHello and the PROXY header are peeked, not read: what follows
 * must stay in the socket.  A socket holding a partial header stays
 * readable, so waiting for readability alone would spin; a timer would add
 * its period to every fragmented header.  SO_RCVLOWAT makes poll() report
 * the socket readable only once it holds more than what was already seen
 * (or at end of file, or on error), so the wait is one socket source.  The
 * connection's deadline still bounds it. */
void
pst_connection_wait_readable (PstConnection     *self,
                              gsize              have,
                              GSocketSourceFunc  func)
{
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  GSource *source;
  int lowat = (int) MIN (have + 1, (gsize) G_MAXINT);

  if ((guint) lowat != self->peek_lowat &&
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) == 0)
    self->peek_lowat = lowat;
  source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, self->cancellable);
  g_source_set_callback (source, (GSourceFunc) (void (*)(void)) func, self, NULL);
  g_clear_handle_id (&self->peek_id, g_source_remove);
  self->peek_id = g_source_attach (source, NULL);
  g_source_unref (source);
}

/* The socket goes on to GnuTLS, SoupServer or a pump, which wait for any
 * byte: the low-water mark back to 1. */
void
pst_connection_peek_done (PstConnection *self)
{
  int one = 1;

  if (self->peek_lowat > 1 && self->socket_connection != NULL)
    setsockopt (g_socket_get_fd (g_socket_connection_get_socket (self->socket_connection)),
                SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  self->peek_lowat = 1;
}
