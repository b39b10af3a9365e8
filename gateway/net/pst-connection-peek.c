/* pst-connection-peek.c: wait for more bytes than were peeked (ClientHello, PROXY header)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "pst-connection-private.h"

/* The ClientHello and the PROXY header are peeked, not read: what follows
 * must stay in the socket.  A socket holding a partial header stays
 * readable, so waiting for readability alone would spin; a timer would add
 * its period to every fragmented header and wake the gateway 200 times a
 * second for each such client.  SO_RCVLOWAT makes the kernel report the
 * socket readable only once it holds more than what was already seen, or
 * once the peer has closed its side, so the wait is one watch on the
 * thread's poller (one epoll registration, which the TLS handshake and
 * the pump take over; a GSocket source instead would add its descriptor to
 * the main context and take it out again, each change waking the context
 * through its eventfd).  The connection's deadline still bounds it. */

#define FALLBACK_MS 5   /* when the kernel reports readable below the mark */

static gboolean
fallback_cb (gpointer user_data)
{
  PstConnection *self = user_data;

  self->peek_id = 0;
  return self->peek_func (g_socket_connection_get_socket (self->socket_connection), G_IO_IN, self);
}

/* Woken without a byte more than last time: the peer closed its side
 * (CLOSE_WAIT), or the kernel reported the socket readable below the
 * low-water mark (it does under memory pressure, or with a tiny window). */
static gboolean
peer_closed (GSocket *socket)
{
  struct tcp_info info;
  socklen_t len = sizeof info;

  if (getsockopt (g_socket_get_fd (socket), IPPROTO_TCP, TCP_INFO, &info, &len) < 0)
    return TRUE;
  return info.tcpi_state != TCP_ESTABLISHED;
}

/* Edge-triggered: reported once per arrival above the low-water mark;
 * func peeks (nothing is consumed) and waits again for more. */
static gboolean
peek_ready_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  g_autoptr(PstConnection) self = g_object_ref (user_data);   /* func may end it */

  if (self->peek_func != NULL && self->socket_connection != NULL)
    self->peek_func (g_socket_connection_get_socket (self->socket_connection), G_IO_IN, self);
  return FALSE;
}

gboolean
pst_connection_wait_readable (PstConnection     *self,
                              gsize              have,
                              GSocketSourceFunc  func)
{
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  GSource *source;
  int lowat = (int) MIN (have + 1, (gsize) G_MAXINT);
  gboolean again = have > 0 && have == self->peek_have;

  g_clear_handle_id (&self->peek_id, g_source_remove);
  self->peek_have = have;
  self->peek_func = func;
  if (again && peer_closed (socket))
    return FALSE;
  if ((guint) lowat != self->peek_lowat &&
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) == 0)
    self->peek_lowat = lowat;
  if (again || self->peek_lowat != (guint) lowat)
    {
      if (self->peek_watch != NULL)
        pst_poller_watch_set_mask (self->peek_watch, 0);
      /* Readable although nothing came: look again a little later rather
       * than spin. */
      self->peek_id = g_timeout_add (FALLBACK_MS, fallback_cb, self);
      return TRUE;
    }
  if (self->peek_watch == NULL)
    self->peek_watch = pst_poller_watch_adopt (pst_poller_get_default (), socket, peek_ready_cb, self);
  if (self->peek_watch == NULL)
    self->peek_watch = pst_poller_watch_new (pst_poller_get_default (), g_socket_get_fd (socket), peek_ready_cb, self);
  if (pst_poller_watch_set_mask (self->peek_watch, G_IO_IN))
    return TRUE;
  /* epoll refused the socket: GIO's way */
  g_clear_pointer (&self->peek_watch, pst_poller_watch_free);
  source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, self->cancellable);
  g_source_set_callback (source, (GSourceFunc) (void (*)(void)) func, self, NULL);
  self->peek_id = g_source_attach (source, NULL);
  g_source_unref (source);
  return TRUE;
}

/* The socket goes on to GnuTLS, SoupServer or a pump, which wait for any
 * byte: the low-water mark back to 1. */
void
pst_connection_peek_done (PstConnection *self)
{
  int one = 1;

  g_clear_handle_id (&self->peek_id, g_source_remove);
  /* the next owner (TLS handshake, pump, another peek) adopts it; what
   * was peeked is still in the socket */
  if (self->peek_watch != NULL && self->socket_connection != NULL)
    pst_poller_watch_park (g_steal_pointer (&self->peek_watch),
                           g_socket_connection_get_socket (self->socket_connection), FALSE);
  g_clear_pointer (&self->peek_watch, pst_poller_watch_free);
  if (self->peek_lowat > 1 && self->socket_connection != NULL)
    setsockopt (g_socket_get_fd (g_socket_connection_get_socket (self->socket_connection)),
                SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
  self->peek_lowat = 1;
  self->peek_have = 0;
}
