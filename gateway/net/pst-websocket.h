/* pst-websocket.h: RFC 6455 framing over an upgraded stream, with flow control
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-ws-parser.h"

G_BEGIN_DECLS

typedef struct _PstWebsocket PstWebsocket;

/* What the owner of the connection does with incoming data frames.
 * Payload arrives in chunks as it is read (unmasked, in the reader's
 * buffer: copy what you keep); a data frame's chunks come between
 * frame_start and frame_end.  Control frames are handled internally. */
typedef struct {
  void (*frame_start) (PstWebsocket *ws, PstWsOpcode opcode, gboolean fin,
                       guint64 length, gpointer user_data);
  void (*frame_data)  (PstWebsocket *ws, const guint8 *data, gsize len,
                       gpointer user_data);
  void (*frame_end)   (PstWebsocket *ws, gpointer user_data);
  /* the write queue dropped below the low-water mark */
  void (*drained)     (PstWebsocket *ws, gpointer user_data);
  /* the connection is finished (close handshake done, or failed) */
  void (*closed)      (PstWebsocket *ws, gushort code, const char *reason,
                       gpointer user_data);
} PstWebsocketSink;

typedef struct {
  gboolean server;             /* TRUE: we are the server (we do not mask) */
  guint64  max_message_size;   /* 0: no limit; larger → close 1009 */
  guint    inactivity_ms;      /* 0: none; else ping after it, close after 2× */
  gsize    high_water;         /* queued bytes that mean "stop feeding me" */
} PstWebsocketOptions;

PstWebsocket *pst_websocket_new        (GIOStream                 *stream,
                                        const PstWebsocketOptions *options,
                                        const PstWebsocketSink    *sink,
                                        gpointer                   user_data);
PstWebsocket *pst_websocket_ref        (PstWebsocket *self);
void          pst_websocket_unref      (PstWebsocket *self);
/* start reading */
void          pst_websocket_start      (PstWebsocket *self);

/* Data frames: begin a frame of a known payload length, then append its
 * payload (any chunking), which is masked when we are the client.  A frame
 * must be complete before the next one begins; control frames we send are
 * held back until the current data frame is complete. */
void          pst_websocket_begin_frame (PstWebsocket *self, PstWsOpcode opcode,
                                         gboolean fin, guint64 length);
void          pst_websocket_append      (PstWebsocket *self, const guint8 *data, gsize len);
void          pst_websocket_append_bytes(PstWebsocket *self, GBytes *bytes);
/* one whole frame */
void          pst_websocket_send        (PstWebsocket *self, PstWsOpcode opcode,
                                         const guint8 *data, gsize len);
/* start the close handshake (closed() follows) */
void          pst_websocket_close       (PstWebsocket *self, gushort code, const char *reason);
/* drop everything now (no handshake) */
void          pst_websocket_abort       (PstWebsocket *self);

/* flow control */
gsize         pst_websocket_get_queued  (PstWebsocket *self);
gboolean      pst_websocket_is_congested(PstWebsocket *self);   /* queued ≥ high water */
void          pst_websocket_pause       (PstWebsocket *self);   /* stop reading */
void          pst_websocket_resume      (PstWebsocket *self);

guint64       pst_websocket_get_bytes_in  (PstWebsocket *self);
guint64       pst_websocket_get_bytes_out (PstWebsocket *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstWebsocket, pst_websocket_unref)

G_END_DECLS
