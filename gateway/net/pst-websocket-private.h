/* pst-websocket-private.h: PstWebsocket's state, shared by its reader, writer and core
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-stream-pump.h"
#include "pst-websocket.h"
#include "pst-ws-parser.h"

G_BEGIN_DECLS

/* How long we wait for the peer's close frame after ours, and, after a
 * protocol error, for the peer to hang up once our close frame is out. */
#define CLOSE_WAIT_MS        3000
/* After a protocol error (RFC 6455 §7.1.7: process no more data), how
 * long our close frame gets to reach the peer before we hang up, when
 * the peer's own close cannot be found in what follows. */
#define FAIL_LINGER_MS       1000
/* A peer whose pings we cannot answer because it does not read: after
 * this many unanswered pings reading pauses, and after STALL_MS without
 * the peer reading it is closed with 1008. */
#define PONGS_BEFORE_PAUSE   64
#define STALL_MS             10000
/* Empty fragments in one message before it counts as a flood (1008). */
#define MAX_EMPTY_FRAGMENTS  4096

struct _PstWebsocket
{
  gint                 ref_count;
  GIOStream           *stream;
  PstStreamPump       *pump;      /* the bytes: bounded reads and writes */
  PstWebsocketOptions  opt;
  PstWebsocketSink     sink;
  gpointer             user_data;

  /* reader */
  PstWsParser parser;
  gboolean    paused;          /* by the owner (the other side lags) */
  gboolean    self_paused;     /* by us: the peer floods pings and does not read */
  gboolean    started;
  guint       empty_fragments; /* in the open message */
  gboolean    flooded;         /* too many of them: failed after this read */

  /* writer */
  gboolean    out_message_open;  /* a fragmented message is on its way out */
  gboolean    discarding;        /* our close frame is out: nothing follows it */
  gboolean    pong_pending;      /* the latest unanswered ping (RFC 6455 §5.5.3) */
  guint8      pong[125];
  gsize       pong_len;
  guint       pongs_coalesced;
  guint       stall_id;

  /* closing */
  gboolean    close_sent;
  gboolean    close_received;
  gboolean    failed;          /* protocol error: our close frame, then hang up */
  gboolean    write_shut;      /* failed: our side is half-closed */
  gboolean    shutting_down;   /* stream close started */
  gboolean    finished;        /* closed() emitted */
  gushort     close_code;
  char       *close_reason;
  guint       close_timeout_id;
  gboolean    close_patient;   /* the close wait lasts while the peer still sends */
  guint64     close_seen_in;   /* bytes in when the close wait was last armed */

  /* inactivity */
  guint       inactivity_id;
  gint64      last_rx;
  gboolean    ping_sent;
};

/* core (pst-websocket.c) */
void pst_ws_fail              (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_set_close         (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_queue_close_frame (PstWebsocket *self, gushort code, const char *reason);
/* Close the transport; hard: shut the socket down first (the peer may
 * not be reading, and a TLS close would wait for it). */
void pst_ws_shutdown_stream   (PstWebsocket *self, gboolean hard);
/* The peer floods pings without reading: stop reading it, and fail it
 * with 1008 if it does not read within STALL_MS. */
void pst_ws_self_pause        (PstWebsocket *self);
/* Read while the WebSocket wants input (not paused, not closing). */
void pst_ws_update_reading    (PstWebsocket *self);
/* After our close frame and the peer's, once all is written: hang up. */
void pst_ws_finish_if_done    (PstWebsocket *self);
/* reader (pst-websocket-read.c): the parser's events */
extern const PstWsParserSink pst_ws_parser_sink;
void pst_ws_read              (PstWebsocket *self, guint8 *data, gsize len);
/* writer (pst-websocket-write.c): send the pending pong if there is room */
void pst_ws_flush_pong        (PstWebsocket *self);

/* The socket under a stream (through TLS and our wrappers), or NULL. */

G_END_DECLS
