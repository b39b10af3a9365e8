/* pst-websocket-private.h: PstWebsocket's state, shared by its reader, writer and core
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-websocket.h"

G_BEGIN_DECLS

#define READ_BUFFER_SIZE  (64 * 1024)
#define MAX_IOV           32
#define CLOSE_WAIT_MS     3000

typedef enum { PARSE_HEADER, PARSE_PAYLOAD } ParseState;

struct _PstWebsocket
{
  gint                 ref_count;
  GIOStream           *stream;
  GInputStream        *in;
  GOutputStream       *out;
  GCancellable        *cancellable;
  PstWebsocketOptions  opt;
  PstWebsocketSink     sink;
  gpointer             user_data;

  /* reader */
  guint8     *rbuf;
  gboolean    reading;         /* an async read is pending */
  GSource    *read_source;     /* pollable streams: watching for input */
  GSource    *write_source;    /* pollable streams: waiting to write */
  gboolean    in_write;        /* pst_ws_write_more is on the stack */
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
  GQueue      out_q;       /* GBytes */
  GQueue      ctl_q;       /* GBytes: control frames waiting for a frame boundary */
  gsize       queued;
  gboolean    writing;
  gboolean    congested;
  guint64     out_remaining;   /* payload still owed to the open data frame */
  gboolean    out_frame_open;
  guint8      out_mask[4];
  guint64     out_mask_off;
  gboolean    discarding;      /* data after our close frame is dropped */
  gboolean    draining;        /* failed: incoming data frames are dropped */
  GOutputVector iov[MAX_IOV];  /* writev_all_async keeps a pointer to it */

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

  guint64     bytes_in;
  guint64     bytes_out;
};

/* core (pst-websocket.c) */
void pst_ws_fail              (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_set_close         (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_queue_close_frame (PstWebsocket *self, gushort code, const char *reason);
void pst_ws_shutdown_stream   (PstWebsocket *self);
/* reader (pst-websocket-read.c) */
void pst_ws_read_more         (PstWebsocket *self);
void pst_ws_stop_watching     (PstWebsocket *self);
/* writer (pst-websocket-write.c) */
void pst_ws_write_more        (PstWebsocket *self);

G_END_DECLS
