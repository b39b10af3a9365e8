/* pst-websocket-private.h: PstWebsocket's state, shared by its reader, writer and core
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-stream-pump.h"
#include "pst-websocket.h"

G_BEGIN_DECLS

#define CLOSE_WAIT_MS     3000

typedef enum { PARSE_HEADER, PARSE_PAYLOAD } ParseState;

struct _PstWebsocket
{
  gint                 ref_count;
  GIOStream           *stream;
  PstStreamPump       *pump;      /* the bytes: bounded reads and writes */
  PstWebsocketOptions  opt;
  PstWebsocketSink     sink;
  gpointer             user_data;

  /* reader */
  gboolean    paused;
  gboolean    started;
  ParseState  state;
  guint8      hdr[14];
  gsize       hdr_len;
  PstWsOpcode op;
  gboolean    fin;
  gboolean    masked;
  guint8      mask[4];
  guint64     mask_off;
  guint64     remaining;
  guint8      ctl[125];
  gsize       ctl_len;
  gboolean    in_message;
  guint64     message_size;

  /* writer */
  GQueue      ctl_q;       /* GBytes: control frames waiting for a frame boundary */
  guint64     out_remaining;   /* payload still owed to the open data frame */
  gboolean    out_frame_open;
  guint8      out_mask[4];
  guint64     out_mask_off;
  gboolean    discarding;      /* data after our close frame is dropped */
  gboolean    draining;        /* failed: incoming data frames are dropped */

  /* closing */
  gboolean    close_sent;
  gboolean    close_received;
  gboolean    shutting_down;   /* stream close started */
  gboolean    finished;        /* closed() emitted */
  gushort     close_code;
  char       *close_reason;
  guint       close_timeout_id;

  /* inactivity */
  guint       inactivity_id;
  gint64      last_rx;
  gboolean    ping_sent;

};

/* core (pst-websocket.c) */
void pst_ws_fail              (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_set_close         (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_queue_close_frame (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_shutdown_stream   (PstWebsocket *self);
/* Read while the WebSocket wants input (not paused, not closing). */
void pst_ws_update_reading    (PstWebsocket *self);
/* After our close frame and the peer's, once all is written: hang up. */
void pst_ws_finish_if_done    (PstWebsocket *self);
/* reader (pst-websocket-read.c): bytes read by the pump */
void pst_ws_parse             (PstWebsocket *self, guint8 *data, gsize len);

G_END_DECLS
