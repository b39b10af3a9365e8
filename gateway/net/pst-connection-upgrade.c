/* pst-connection-upgrade.c: a plain WebSocket upgrade answered without SoupServer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <libsoup/soup.h>

#include "pst-connection-private.h"
#include "pst-origin.h"
#include "pst-prefix-stream.h"
#include "pst-tls-session-private.h"   /* pst_tls_session_has_pending */
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

/* The route that takes this upgrade as it is, or NULL (SoupServer's). */
static PstRoute *
upgrade_route (PstConnection *self, PstUpgradeRequest *req)
{
  PstRoute *route = pst_connection_find_route (self, req->host, req->path);

  if (route == NULL || route->serve_http != NULL || route->start_websocket == NULL ||
      !pst_origin_allowed (route->service, route->url, req->origin))
    return NULL;
  return route;
}

/* The same 101 SoupServer writes. */
static char *
dup_answer (const char *key, gsize *len)
{
  g_autofree char *accept = pst_upgrade_accept_for_key (key);
  char *answer = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
                                  "Server: Postern\r\n"
                                  "Date: %s\r\n"
                                  "Upgrade: websocket\r\n"
                                  "Connection: Upgrade\r\n"
                                  "Sec-WebSocket-Accept: %s\r\n\r\n", http_date (), accept);

  *len = strlen (answer);
  return answer;
}

/* The first byte of a client accepted before it came. */
static gboolean
head_arrived_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  PstConnection *self = user_data;

  self->peek_id = 0;
  pst_connection_peek_done (self);
  pst_connection_hand_to_http (self, G_IO_STREAM (self->socket_connection));
  return G_SOURCE_REMOVE;
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
gboolean
pst_connection_try_upgrade (PstConnection *self)
{
  char head[PST_UPGRADE_REQUEST_MAX];
  PstUpgradeRequest req = { 0 };
  GSocket *socket = g_socket_connection_get_socket (self->socket_connection);
  int fd = g_socket_get_fd (socket);
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
  route = upgrade_route (self, &req);
  if (route == NULL)
    {
      pst_upgrade_request_clear (&req);
      return FALSE;
    }
  answer = dup_answer (req.key, &answer_len);

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
  g_debug ("client %s: upgrade answered without SoupServer", self->peer);
  route->start_websocket (self, route, G_IO_STREAM (self->socket_connection));
  g_clear_object (&self->hold);
  return TRUE;
}

/* ---- wss: the head is inside TLS ------------------------------------------ */

/* On TLS the head cannot be peeked: it is read (decrypted) as it comes,
 * PST_UPGRADE_REQUEST_MAX bytes at most, within the connection's
 * deadline (from accept: handshake and request) -- the limit and the
 * deadline SoupServer's read has.  A complete plain upgrade to a route
 * that takes it is answered here, on the TLS stream, and its session
 * gets what came after the head (a first frame sent with it); anything
 * else (another request, a refusal, a page, a head longer than that, the
 * client's end or an error) goes to SoupServer with every byte read
 * replayed first (a prefix stream under the head limit), as if it had
 * read them itself. */

void
pst_connection_tls_head_clear (PstConnection *self)
{
  g_clear_pointer (&self->head_watch, pst_poller_watch_free);
  g_clear_pointer (&self->head_buf, g_free);
  self->head_len = 0;
  g_clear_object (&self->head_stream);
}

/* SoupServer gets the stream, the bytes read first. */
static void
tls_head_to_soup (PstConnection *self, const guint8 *buf)
{
  g_autoptr(GIOStream) tls = g_steal_pointer (&self->head_stream);
  g_autoptr(GIOStream) stream = NULL;

  if (self->head_len > 0)
    {
      g_autoptr(GBytes) read = g_bytes_new (buf, self->head_len);

      stream = pst_prefix_stream_wrap (tls, read);
    }
  else
    stream = g_object_ref (tls);
  pst_connection_tls_head_clear (self);
  pst_connection_hand_to_soup (self, stream);
}

static void
tls_head_answer (PstConnection *self, const guint8 *buf, PstRoute *route, PstUpgradeRequest *req)
{
  GPollableOutputStream *out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (self->head_stream));
  g_autoptr(GIOStream) tls = g_steal_pointer (&self->head_stream);
  g_autoptr(GIOStream) stream = NULL;
  g_autofree char *answer = NULL;
  gsize answer_len, after = self->head_len - req->head_len;
  gssize n;

  answer = dup_answer (req->key, &answer_len);
  /* A session just made has nothing queued: one record, out at once, or
   * the client is gone (a write GnuTLS kept for later would have to be
   * repeated before any other). */
  n = g_pollable_output_stream_write_nonblocking (out, answer, answer_len, NULL, NULL);
  if (n != (gssize) answer_len)
    {
      self->failed = TRUE;
      pst_connection_abort (self);
      return;
    }
  if (after > 0)
    {
      g_autoptr(GBytes) frames = g_bytes_new (buf + req->head_len, after);

      stream = pst_prefix_stream_wrap (tls, frames);
    }
  else
    stream = g_object_ref (tls);
  pst_connection_tls_head_clear (self);
  pst_connection_set_route (self, route);
  pst_connection_upgrading (self);
  g_debug ("client %s: upgrade answered without SoupServer", self->peer);
  route->start_websocket (self, route, stream);
  g_clear_object (&self->hold);
}

static gboolean tls_head_ready_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data);

/* Reads what the session gives now; answers, hands over or waits. */
static void
tls_head_step (PstConnection *self)
{
  g_autoptr(PstConnection) alive = g_object_ref (self);
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->head_stream));
  /* Most heads come whole with (or right after) the client's Finished:
   * read on the stack, kept on the heap only while waiting for more. */
  guint8 stack[PST_UPGRADE_REQUEST_MAX];
  guint8 *buf = self->head_buf != NULL ? self->head_buf : stack;
  guint spins = 0;

  (void) alive;   /* the hand-offs below may end us */
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      PstUpgradeRequest req = { 0 };
      PstRoute *route;
      gssize n;

      n = g_pollable_input_stream_read_nonblocking (in, buf + self->head_len,
                                                    PST_UPGRADE_REQUEST_MAX - self->head_len, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          /* GnuTLS may stop short of the socket (after a ticket, a key
           * update) with bytes still read ahead */
          gboolean pending = pst_tls_session_has_pending (PST_TLS_SESSION (self->head_stream));

          if (pending && ++spins < 64)
            continue;
          if (self->head_buf == NULL)
            {
              self->head_buf = g_malloc (PST_UPGRADE_REQUEST_MAX);
              memcpy (self->head_buf, stack, self->head_len);
            }
          if (self->head_watch == NULL)
            self->head_watch = pst_poller_watch_new (pst_poller_get_default (),
                                                     g_socket_get_fd (g_socket_connection_get_socket (self->socket_connection)),
                                                     tls_head_ready_cb, self);
          if (!pst_poller_watch_set_mask (self->head_watch, G_IO_IN))
            tls_head_to_soup (self, self->head_buf);
          else if (pending)
            pst_poller_watch_schedule (self->head_watch);
          return;
        }
      if (n <= 0)
        {
          /* its end or an error: SoupServer meets them as before */
          tls_head_to_soup (self, buf);
          return;
        }
      self->head_len += n;
      switch (pst_upgrade_request_parse ((const char *) buf, self->head_len, &req))
        {
        case PST_UPGRADE_REQUEST_NEED_MORE:
          if (self->head_len < PST_UPGRADE_REQUEST_MAX)
            continue;
          G_GNUC_FALLTHROUGH;
        case PST_UPGRADE_REQUEST_OTHER:
          tls_head_to_soup (self, buf);
          return;
        case PST_UPGRADE_REQUEST_OK:
          route = upgrade_route (self, &req);
          if (route == NULL)
            tls_head_to_soup (self, buf);
          else
            tls_head_answer (self, buf, route, &req);
          pst_upgrade_request_clear (&req);
          return;
        }
    }
}

static gboolean
tls_head_ready_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  PstConnection *self = user_data;

  if (self->head_stream != NULL)
    tls_head_step (self);
  return FALSE;
}

void
pst_connection_read_tls_head (PstConnection *self, GIOStream *tls)
{
  g_set_object (&self->head_stream, tls);
  self->head_len = 0;
  tls_head_step (self);
}
