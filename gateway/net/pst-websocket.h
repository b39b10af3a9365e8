/* pst-websocket.h: RFC 6455 framing over an upgraded stream, with flow control
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-ws-parser.h"

G_BEGIN_DECLS

typedef struct _PstWebsocket PstWebsocket;

/* What the owner of the connection does with incoming messages.
 * Payload arrives in chunks as it is read (unmasked, in the reader's
 * buffer: copy what you keep), between message_start and the chunk whose
 * fin is TRUE; text is valid UTF-8 so far.  Control frames are handled
 * here (pongs, the close handshake), and protocol errors close the
 * connection with the right code. */
typedef struct {
  void (*message_start) (PstWebsocket *ws, PstWsOpcode opcode, gpointer user_data);
  void (*message_data)  (PstWebsocket *ws, const guint8 *data, gsize len, gboolean fin,
                         gpointer user_data);
  /* the write queue dropped below the low-water mark */
  void (*drained)       (PstWebsocket *ws, gpointer user_data);
  /* the connection is finished (close handshake done, or failed) */
  void (*closed)        (PstWebsocket *ws, gushort code, const char *reason,
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

/* A piece of an outgoing message: each call is one whole frame (the
 * first of a message carries opcode, the rest are continuations, fin ends
 * it; an empty piece that does not end the message sends nothing), so a
 * gateway may re-fragment what it forwards (RFC 6455 §5.4) and control
 * frames are never held behind a half-written frame. */
void          pst_websocket_send_fragment (PstWebsocket *self, PstWsOpcode opcode,
                                           const guint8 *data, gsize len, gboolean fin);
/* one whole message, or a control frame (≤ 125 bytes) */
void          pst_websocket_send        (PstWebsocket *self, PstWsOpcode opcode,
                                         const guint8 *data, gsize len);
/* start the close handshake (closed() follows) */
void          pst_websocket_close       (PstWebsocket *self, gushort code, const char *reason);
/* The same close, but the wait for the peer's close frame goes on as long
 * as the peer still sends (what it sent before it saw our close is queued
 * ahead of its close frame): a draining gateway bounds it by its own
 * deadline. */
void          pst_websocket_close_patiently (PstWebsocket *self, gushort code, const char *reason);
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
