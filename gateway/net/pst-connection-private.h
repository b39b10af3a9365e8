/* pst-connection-private.h: PstConnection's state, shared by its core and its TLS accept
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-connection.h"
#include "pst-head-limit-stream.h"
#include "pst-poller.h"
#include "pst-proxy-protocol.h"

G_BEGIN_DECLS

#define HELLO_MAX        (16 * 1024 + 5)
/* TLS handshake + first request head, every later request head (from its
 * first byte), and a WebSocket upgrade (until the 101 is out) */
#define DEADLINE_MS      10000
#define HEAD_LIMIT       (32 * 1024)   /* request line + headers */

struct _PstConnection
{
  GObject            parent_instance;
  PstListener       *listener;           /* weak; it owns us through its set */
  PstConnLimits     *limits;             /* gets our slot back at the end */
  GInetAddress      *client_ip;          /* the slot's address */
  GSocketAddress    *remote;             /* a PstPeerAddress: SoupServer's view of us */
  GSocketConnection *socket_connection;  /* weak: SoupServer or the pump own it */
  GSocketConnection *hold;               /* strong until SoupServer has it */
  GIOStream         *tls;                /* weak, like the socket */
  PstHeadLimitStream *head_limit;        /* weak pointer */
  PstRuntime        *runtime;
  GPtrArray         *routes;
  GCancellable      *cancellable;
  gboolean           use_tls;
  char              *peer;               /* escaped for logs */
  char              *sni;                /* as the client sent it */
  char              *tls_info;           /* "TLSv1.3 TLS_AES_128_GCM_SHA256" */
  char              *client_subject;
  char              *service;
  char              *backend;
  guint              deadline_id;
  const char        *deadline_what;      /* what did not arrive in time */
  guint              keepalive_id;
  guint              peek_id;            /* the fallback timer */
  PstPollerWatch    *peek_watch;         /* the wait for bytes to peek at */
  gboolean           head_waited;        /* a plain request head was waited for once */
  gsize              peeked;
  guint              peek_lowat;         /* SO_RCVLOWAT set while peeking */
  gsize              peek_have;          /* bytes seen when the wait began */
  GSocketSourceFunc  peek_func;
  gint64             started_us;
  gushort            close_code;
  char              *close_reason;
  guint64            bytes_in;
  guint64            bytes_out;
  gboolean           ended;
  gboolean           upgraded;          /* a session owns the stream */
  /* A status service's connection (a balancer's health check every few
   * seconds): its open and close lines are debug, unless it failed. */
  gboolean           quiet;
  gboolean           failed;            /* a deadline passed, or a 4xx answer */
  PstSessionShutdown session_shutdown;
  gpointer           session;
  /* tcp.proxy-protocol (pst-connection-proxy.c) */
  gboolean           expect_proxy;
  PstProxyParser    *proxy;              /* while the header is read */
  guint              proxy_version;
  char              *via;                /* the balancer, escaped; NULL without a header */
  GInetSocketAddress *local;             /* our end of the accepted socket */
  /* wss: the first request head read from TLS (pst-connection-upgrade.c) */
  GIOStream         *head_stream;        /* strong while the head is read */
  PstPollerWatch    *head_watch;
  guint8            *head_buf;           /* PST_UPGRADE_REQUEST_MAX bytes */
  gsize              head_len;
};

/* pst-connection.c: the decrypted (or plain) stream goes to SoupServer,
 * or to a byte proxy for tcp/ssl accepts */
void pst_connection_hand_to_http (PstConnection *self, GIOStream *stream);
/* pst-connection.c: SoupServer gets stream (under the head limit) */
void pst_connection_hand_to_soup (PstConnection *self, GIOStream *stream);
/* pst-connection-upgrade.c: TRUE when the request waiting in the plain
 * socket was a WebSocket upgrade we answered (or the client left while we
 * did); FALSE: nothing was read, it is SoupServer's. */
gboolean pst_connection_try_upgrade  (PstConnection *self);
/* pst-connection-upgrade.c: the first request head on a TLS stream, read
 * as it comes (within the connection's deadline): a plain upgrade is
 * answered there, anything else goes to SoupServer with the bytes read
 * replayed first. */
void pst_connection_read_tls_head    (PstConnection *self, GIOStream *tls);
/* Stops that read (the connection ended) */
void pst_connection_tls_head_clear   (PstConnection *self);
/* pst-connection.c: after the PROXY header (if any): TLS or HTTP */
void pst_connection_continue     (PstConnection *self);
/* pst-connection-proxy.c */
void pst_connection_read_proxy_header (PstConnection *self);
/* pst-connection-log.c: the open/close line MESSAGE with its fields */
void pst_connection_log          (PstConnection *self, const char *event, const char *message);
/* pst-connection-peek.c: calls func once the socket holds more than have
 * bytes (or the peer closed its side); FALSE, and no call, when the peer
 * has already closed its side with no more than have bytes sent (a header
 * that will never be complete).  pst_connection_peek_done before the
 * socket is read by anyone else. */
gboolean pst_connection_wait_readable (PstConnection *self, gsize have, GSocketSourceFunc func);
void pst_connection_peek_done     (PstConnection *self);
/* pst-connection-tls.c */
void pst_connection_start_tls    (PstConnection *self);

G_END_DECLS
