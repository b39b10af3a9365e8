/* pst-connection-upgrade.c: a plain WebSocket upgrade answered without SoupServer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <libsoup/soup.h>

#include "pst-connection-private.h"
#include "pst-origin.h"
#include "pst-upgrade-request.h"
#include "pst-upgrade-response.h"

/* The Date header, made again only when the second changes (main
 * thread only, as every connection's set-up). */
static const char *
http_date (void)
{
  static gint64 second = -1;
  static char *text;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (now != second || text == NULL)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_unix_utc (now);

      g_free (text);
      text = soup_date_time_to_string (when, SOUP_DATE_HTTP);
      second = now;
    }
  return text;
}

/* SoupServer costs a new connection a good part of its CPU (its message,
 * its I/O objects, its signals, a GSource per read).  When the request
 * head is already in the socket, complete, and is the common upgrade
 * that needs only a 101 -- to a route that takes WebSockets and an
 * Origin that route allows -- we answer it ourselves: the same 101
 * SoupServer writes (Server, Date, Upgrade, Connection,
 * Sec-WebSocket-Accept; no subprotocol or extension chosen, as with
 * SoupServer here), the same open line and session.  Anything else
 * (not there yet, another request, a refusal, a page) is SoupServer's as
 * before: the head is only peeked until we answer. */
static gboolean
head_arrived_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PstConnection *self = user_data;

  self->peek_id = 0;
  pst_connection_peek_done (self);
  pst_connection_hand_to_http (self, G_IO_STREAM (self->socket_connection));
  return G_SOURCE_REMOVE;
}

gboolean
pst_connection_try_upgrade (PstConnection *self)
{
  char head[PST_UPGRADE_REQUEST_MAX];
  PstUpgradeRequest req = { 0 };
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  int fd = g_socket_get_fd (socket);
  g_autofree char *accept = NULL;
  g_autofree char *answer = NULL;
  PstRoute *route;
  ssize_t n;
  gsize answer_len;

  do
    n = recv (fd, head, sizeof head, MSG_PEEK | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  /* Accepted before its first byte came: wait for it on the poller (then
   * try again) rather than hand SoupServer a socket with nothing in it. */
  if (n < 0 && errno == EAGAIN && !self->head_waited)
    {
      self->head_waited = TRUE;
      return pst_connection_wait_readable (self, 0, head_arrived_cb);
    }
  if (n <= 0 || pst_upgrade_request_parse (head, n, &req) != PST_UPGRADE_REQUEST_OK)
    return FALSE;
  route = pst_connection_find_route (self, req.host, req.path);
  if (route == NULL || route->serve_http != NULL || route->start_websocket == NULL ||
      !pst_origin_allowed (route->service, route->url, req.origin))
    {
      pst_upgrade_request_clear (&req);
      return FALSE;
    }

  accept = pst_upgrade_accept_for_key (req.key);
  answer = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
                            "Server: Postern\r\n"
                            "Date: %s\r\n"
                            "Upgrade: websocket\r\n"
                            "Connection: Upgrade\r\n"
                            "Sec-WebSocket-Accept: %s\r\n\r\n", http_date (), accept);
  answer_len = strlen (answer);

  /* The head is ours now: take it out of the socket (it is there). */
  do
    n = recv (fd, head, req.head_len, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t) req.head_len)
    {
      pst_upgrade_request_clear (&req);
      pst_connection_abort (self);
      return TRUE;
    }
  pst_connection_set_route (self, route);
  pst_upgrade_request_clear (&req);
  /* A fresh socket's send buffer is empty: the answer fits at once, or
   * the client is gone. */
  do
    n = send (fd, answer, answer_len, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t) answer_len)
    {
      self->failed = TRUE;
      pst_connection_abort (self);
      return TRUE;
    }
  pst_connection_upgrading (self);
  route->start_websocket (self, route, G_IO_STREAM (self->socket_connection));
  g_clear_object (&self->hold);
  return TRUE;
}
