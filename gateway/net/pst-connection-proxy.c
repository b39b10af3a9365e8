/* pst-connection-proxy.c: the PROXY protocol header a load balancer sends first (tcp.proxy-protocol)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <glib/gi18n-lib.h>

#include "pst-connection-private.h"
#include "pst-listener.h"
#include "pst-log-escape.h"
#include "pst-peer-address.h"
#include "pst-proxy-protocol.h"

/* The header is peeked, not read: its end is known only once parsed, and
 * what follows (a ClientHello the TLS accept peeks in turn, a request)
 * must stay in the socket.  Once parsed, exactly its bytes are read away. */

static gboolean peek_cb (GSocket *socket, GIOCondition condition, gpointer user_data);

/* Refused: say who and why, once, then close. */
static void
refuse (PstConnection *self, const char *reason)
{
  g_message ("client %s: refused: %s (tcp.proxy-protocol is true on this listener: only a load balancer "
             "that sends a PROXY protocol header may connect to it, e.g. HAProxy with send-proxy-v2)",
             self->peer, reason);
  pst_connection_abort (self);
}

/* The header's source becomes the client: log lines, the per-address
 * limits and the PstPeerAddress SoupServer sees. */
static gboolean
adopt_source (PstConnection *self)
{
  g_autoptr(GInetSocketAddress) source = pst_proxy_parser_dup_source (self->proxy);
  GInetAddress *ip;
  guint per_address = self->listener != NULL ? pst_listener_get_per_address (self->listener) : 0;
  g_autofree char *text = NULL;

  if (source == NULL)
    return TRUE;   /* LOCAL, UNKNOWN, AF_UNSPEC, AF_UNIX: the peer stays */
  ip = g_inet_socket_address_get_address (source);
  if (self->limits != NULL && self->client_ip != NULL)
    {
      /* The balancer's slot (taken without a per-address cap) becomes the
       * client's, under the cap. */
      pst_conn_limits_release (self->limits, self->client_ip);
      g_clear_object (&self->client_ip);
      if (!pst_conn_limits_acquire (self->limits, ip, per_address))
        return FALSE;   /* logged by the limits */
      self->client_ip = g_object_ref (ip);
    }
  self->via = g_steal_pointer (&self->peer);
  text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (source));
  self->peer = pst_log_escape (text, -1);
  g_clear_object (&self->remote);
  self->remote = G_SOCKET_ADDRESS (pst_peer_address_new (source, self));
  return TRUE;
}

static void
header_done (PstConnection *self)
{
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  guint8 sink[256];
  gsize left = self->proxy->consumed;

  /* Already in the socket's buffer (peeked): this does not block. */
  while (left > 0)
    {
      gssize n = recv (g_socket_get_fd (socket), sink, MIN (left, sizeof sink), MSG_DONTWAIT);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          pst_connection_abort (self);
          return;
        }
      left -= n;
    }
  if (!adopt_source (self))
    {
      pst_connection_abort (self);
      return;
    }
  g_clear_pointer (&self->proxy, g_free);
  pst_connection_peek_done (self);
  if (self->via != NULL)
    g_debug ("client %s: PROXY v%u header from %s", self->peer, self->proxy_version, self->via);
  pst_connection_continue (self);
}

static gboolean
peek_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PstConnection *self = user_data;
  guint8 buf[PST_PROXY_HEADER_MAX];
  gssize n;
  gsize fed = self->proxy->consumed;

  self->peek_id = 0;
  n = recv (g_socket_get_fd (socket), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR) && pst_connection_wait_readable (self, fed, peek_cb))
    return G_SOURCE_REMOVE;
  if (n <= 0)
    {
      /* A balancer's plain TCP check connects and leaves: not worth a line. */
      if (fed == 0)
        {
          g_debug ("client %s: closed before sending anything", self->peer);
          pst_connection_abort (self);
        }
      else
        refuse (self, _("the connection closed in the middle of the PROXY protocol header"));
      return G_SOURCE_REMOVE;
    }
  /* Woken with nothing new: the balancer closed its side mid-header. */
  if ((gsize) n <= fed)
    {
      if (!pst_connection_wait_readable (self, n, peek_cb))
        refuse (self, _("the connection closed in the middle of the PROXY protocol header"));
      return G_SOURCE_REMOVE;
    }
  switch (pst_proxy_parser_feed (self->proxy, buf + fed, n - fed, NULL))
    {
    case PST_PROXY_NEED_MORE:
      /* until more than n bytes are there */
      if (!pst_connection_wait_readable (self, n, peek_cb))
        refuse (self, _("the connection closed in the middle of the PROXY protocol header"));
      break;
    case PST_PROXY_ERROR:
      refuse (self, _(self->proxy->error));
      break;
    case PST_PROXY_DONE:
      self->proxy_version = self->proxy->version;
      header_done (self);
      break;
    }
  return G_SOURCE_REMOVE;
}

/* Reads the PROXY header (within the connection's first deadline), then
 * goes on with pst_connection_continue. */
void
pst_connection_read_proxy_header (PstConnection *self)
{
  self->proxy = g_new (PstProxyParser, 1);
  pst_proxy_parser_init (self->proxy);
  pst_connection_wait_readable (self, 0, peek_cb);
}
