/* pst-websocket.c: RFC 6455 framing over an upgraded stream, with flow control
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/crypto.h>

#include "pst-websocket.h"

/* libsoup's SoupWebsocketConnection reads without bound and queues without
 * bound; this reader/writer pair keeps both bounded: one reused read
 * buffer, payload handed to the sink chunk by chunk as it arrives, and an
 * output queue whose size the owner watches to pause the other side. */

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
  gboolean    reading;
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

static void read_more (PstWebsocket *self);
static void write_more (PstWebsocket *self);
static void fail (PstWebsocket *self, gushort code, const char *reason);

PstWebsocket *
pst_websocket_ref (PstWebsocket *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pst_websocket_unref (PstWebsocket *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  g_clear_handle_id (&self->close_timeout_id, g_source_remove);
  g_clear_handle_id (&self->inactivity_id, g_source_remove);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&self->ctl_q, (GDestroyNotify) g_bytes_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_free (self->close_reason);
  g_free (self->rbuf);
  g_free (self);
}

static gboolean
inactivity_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;
  gint64 idle_ms = (g_get_monotonic_time () - self->last_rx) / 1000;

  if (idle_ms < self->opt.inactivity_ms)
    {
      self->ping_sent = FALSE;
      return G_SOURCE_CONTINUE;
    }
  if (!self->ping_sent)
    {
      /* Ask the peer for a sign of life before giving up on it. */
      self->ping_sent = TRUE;
      pst_websocket_send (self, PST_WS_OP_PING, (const guint8 *) "postern", 7);
      return G_SOURCE_CONTINUE;
    }
  self->inactivity_id = 0;
  fail (self, PST_WS_CLOSE_GOING_AWAY, "inactivity timeout");
  return G_SOURCE_REMOVE;
}

PstWebsocket *
pst_websocket_new (GIOStream                 *stream,
                   const PstWebsocketOptions *options,
                   const PstWebsocketSink    *sink,
                   gpointer                   user_data)
{
  PstWebsocket *self = g_new0 (PstWebsocket, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->in = g_io_stream_get_input_stream (stream);
  self->out = g_io_stream_get_output_stream (stream);
  self->cancellable = g_cancellable_new ();
  self->opt = *options;
  if (self->opt.high_water == 0)
    self->opt.high_water = 1024 * 1024;
  self->sink = *sink;
  self->user_data = user_data;
  self->rbuf = g_malloc (READ_BUFFER_SIZE);
  self->last_rx = g_get_monotonic_time ();
  g_queue_init (&self->out_q);
  g_queue_init (&self->ctl_q);
  return self;
}

void
pst_websocket_start (PstWebsocket *self)
{
  self->started = TRUE;
  if (self->opt.inactivity_ms > 0)
    self->inactivity_id = g_timeout_add (self->opt.inactivity_ms, inactivity_cb, self);
  read_more (self);
}

/* ---- closing ---------------------------------------------------------- */

static void
emit_closed (PstWebsocket *self)
{
  if (self->finished)
    return;
  self->finished = TRUE;
  g_clear_handle_id (&self->close_timeout_id, g_source_remove);
  g_clear_handle_id (&self->inactivity_id, g_source_remove);
  if (self->sink.closed != NULL)
    self->sink.closed (self, self->close_code ? self->close_code : PST_WS_CLOSE_ABNORMAL,
                       self->close_reason ? self->close_reason : "", self->user_data);
}

static void
stream_closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;

  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  emit_closed (self);
  pst_websocket_unref (self);
}

/* Close the transport once everything queued has been written. */
static void
shutdown_stream (PstWebsocket *self)
{
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  g_cancellable_cancel (self->cancellable);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL,
                           stream_closed_cb, pst_websocket_ref (self));
}

static gboolean
close_timeout_cb (gpointer user_data)
{
  PstWebsocket *self = user_data;

  self->close_timeout_id = 0;
  shutdown_stream (self);
  return G_SOURCE_REMOVE;
}

void
pst_websocket_abort (PstWebsocket *self)
{
  if (self->close_code == 0)
    self->close_code = PST_WS_CLOSE_ABNORMAL;
  shutdown_stream (self);
}

static void
set_close (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->close_code != 0)
    return;
  self->close_code = code;
  g_free (self->close_reason);
  self->close_reason = g_strdup (reason);
}

static void
queue_close_frame (PstWebsocket *self, gushort code, const char *reason)
{
  guint8 payload[125];
  gsize len = 0;

  if (self->close_sent)
    return;
  self->close_sent = TRUE;
  if (code != PST_WS_CLOSE_NO_STATUS && code != PST_WS_CLOSE_ABNORMAL)
    {
      gsize rlen = reason ? strlen (reason) : 0;
      payload[0] = code >> 8;
      payload[1] = code & 0xff;
      rlen = MIN (rlen, sizeof payload - 2);
      if (rlen > 0)
        memcpy (payload + 2, reason, rlen);
      len = 2 + rlen;
    }
  pst_websocket_send (self, PST_WS_OP_CLOSE, payload, len);
}

void
pst_websocket_close (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->close_sent || self->shutting_down)
    return;
  set_close (self, code, reason);
  queue_close_frame (self, code, reason);
  /* Stop reading data; wait (bounded) for the peer's close frame. */
  self->close_timeout_id = g_timeout_add (CLOSE_WAIT_MS, close_timeout_cb, self);
}

/* A protocol violation or a limit: tell the peer, then wait (bounded)
 * for its close frame before hanging up.  Closing the socket at once
 * while the peer still sends would reset the connection, and the peer
 * would lose our close frame with the reason. */
static void
fail (PstWebsocket *self, gushort code, const char *reason)
{
  if (self->draining || self->shutting_down)
    {
      shutdown_stream (self);
      return;
    }
  set_close (self, code, reason);
  self->draining = TRUE;
  self->paused = FALSE;
  if (!self->close_sent)
    queue_close_frame (self, code, reason);
  if (self->close_timeout_id == 0)
    self->close_timeout_id = g_timeout_add (CLOSE_WAIT_MS, close_timeout_cb, self);
  read_more (self);
}

/* ---- writer ----------------------------------------------------------- */

static void
enqueue (PstWebsocket *self, GBytes *bytes)
{
  self->queued += g_bytes_get_size (bytes);
  g_queue_push_tail (&self->out_q, bytes);
  if (self->queued >= self->opt.high_water)
    self->congested = TRUE;
  write_more (self);
}

static gsize
frame_header (guint8 *hdr, PstWsOpcode opcode, gboolean fin, guint64 length,
              gboolean mask, const guint8 *mask_key)
{
  gsize n = 0;

  hdr[n++] = (fin ? 0x80 : 0) | (opcode & 0x0f);
  if (length < 126)
    hdr[n++] = (mask ? 0x80 : 0) | (guint8) length;
  else if (length <= 0xffff)
    {
      hdr[n++] = (mask ? 0x80 : 0) | 126;
      hdr[n++] = length >> 8;
      hdr[n++] = length & 0xff;
    }
  else
    {
      hdr[n++] = (mask ? 0x80 : 0) | 127;
      for (int i = 7; i >= 0; i--)
        hdr[n++] = (length >> (8 * i)) & 0xff;
    }
  if (mask)
    {
      memcpy (hdr + n, mask_key, 4);
      n += 4;
    }
  return n;
}

static void
writev_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error))
    {
      set_close (self, PST_WS_CLOSE_ABNORMAL, error->message);
      g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
      self->queued = 0;
      shutdown_stream (self);
      pst_websocket_unref (self);
      return;
    }
  self->bytes_out += written;
  /* Drop what was written: whole buffers, in order. */
  while (written > 0)
    {
      GBytes *head = g_queue_pop_head (&self->out_q);
      gsize len = g_bytes_get_size (head);
      g_assert (len <= written);
      written -= len;
      self->queued -= len;
      g_bytes_unref (head);
    }
  if (self->congested && self->queued < self->opt.high_water / 2)
    {
      self->congested = FALSE;
      if (self->sink.drained != NULL && !self->finished)
        self->sink.drained (self, self->user_data);
    }
  write_more (self);
  pst_websocket_unref (self);
}

static void
write_more (PstWebsocket *self)
{
  GOutputVector *iov = self->iov;
  guint n = 0;

  if (self->writing || self->shutting_down)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      /* All written: a finished close handshake ends the transport. */
      if (self->close_sent && self->close_received)
        shutdown_stream (self);
      return;
    }
  for (GList *l = self->out_q.head; l != NULL && n < MAX_IOV; l = l->next)
    {
      gsize len;
      iov[n].buffer = g_bytes_get_data (l->data, &len);
      iov[n].size = len;
      n++;
    }
  self->writing = TRUE;
  g_output_stream_writev_all_async (self->out, iov, n, G_PRIORITY_DEFAULT,
                                    self->cancellable, writev_cb, pst_websocket_ref (self));
}

static void
flush_control (PstWebsocket *self)
{
  GBytes *b;

  while ((b = g_queue_pop_head (&self->ctl_q)) != NULL)
    enqueue (self, b);
}

void
pst_websocket_begin_frame (PstWebsocket *self, PstWsOpcode opcode, gboolean fin, guint64 length)
{
  guint8 hdr[14];
  gsize n;

  g_return_if_fail (!self->out_frame_open);
  self->discarding = self->shutting_down || self->close_sent;
  if (self->discarding)
    return;
  if (!self->opt.server)
    gnutls_rnd (GNUTLS_RND_NONCE, self->out_mask, 4);
  n = frame_header (hdr, opcode, fin, length, !self->opt.server, self->out_mask);
  self->out_mask_off = 0;
  self->out_remaining = length;
  self->out_frame_open = length > 0;
  enqueue (self, g_bytes_new (hdr, n));
  if (!self->out_frame_open)
    flush_control (self);
}

static void
append_owned (PstWebsocket *self, guint8 *data, gsize len)
{
  if (!self->opt.server)
    for (gsize i = 0; i < len; i++)
      data[i] ^= self->out_mask[(self->out_mask_off + i) & 3];
  self->out_mask_off += len;
  self->out_remaining -= len;
  enqueue (self, g_bytes_new_take (data, len));
  if (self->out_remaining == 0)
    {
      self->out_frame_open = FALSE;
      flush_control (self);
    }
}

void
pst_websocket_append (PstWebsocket *self, const guint8 *data, gsize len)
{
  if (len == 0 || self->discarding || self->shutting_down)
    return;
  g_return_if_fail (len <= self->out_remaining);
  append_owned (self, g_memdup2 (data, len), len);
}

void
pst_websocket_append_bytes (PstWebsocket *self, GBytes *bytes)
{
  gsize len = g_bytes_get_size (bytes);

  if (len == 0 || self->discarding || self->shutting_down)
    return;
  g_return_if_fail (len <= self->out_remaining);
  if (self->opt.server)
    {
      /* No masking: queue the caller's buffer itself, no copy. */
      self->out_remaining -= len;
      enqueue (self, g_bytes_ref (bytes));
      if (self->out_remaining == 0)
        {
          self->out_frame_open = FALSE;
          flush_control (self);
        }
      return;
    }
  append_owned (self, g_bytes_unref_to_data (g_bytes_ref (bytes), &len), len);
}

void
pst_websocket_send (PstWebsocket *self, PstWsOpcode opcode, const guint8 *data, gsize len)
{
  if (self->shutting_down)
    return;
  if (opcode >= PST_WS_OP_CLOSE)
    {
      guint8 frame[14 + 125];
      guint8 key[4] = { 0, 0, 0, 0 };
      gsize n;

      g_return_if_fail (len <= 125);
      if (!self->opt.server)
        gnutls_rnd (GNUTLS_RND_NONCE, key, 4);
      n = frame_header (frame, opcode, TRUE, len, !self->opt.server, key);
      for (gsize i = 0; i < len; i++)
        frame[n + i] = data[i] ^ key[i & 3];
      if (self->out_frame_open)
        g_queue_push_tail (&self->ctl_q, g_bytes_new (frame, n + len));
      else
        enqueue (self, g_bytes_new (frame, n + len));
      return;
    }
  pst_websocket_begin_frame (self, opcode, TRUE, len);
  pst_websocket_append (self, data, len);
}

/* ---- reader ----------------------------------------------------------- */

static void
handle_control (PstWebsocket *self)
{
  switch (self->op)
    {
    case PST_WS_OP_PING:
      pst_websocket_send (self, PST_WS_OP_PONG, self->ctl, self->ctl_len);
      break;
    case PST_WS_OP_PONG:
      break;
    case PST_WS_OP_CLOSE:
      {
        gushort code = PST_WS_CLOSE_NO_STATUS;
        g_autofree char *reason = NULL;

        if (self->ctl_len == 1)
          {
            fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad close frame");
            return;
          }
        if (self->ctl_len >= 2)
          {
            code = (self->ctl[0] << 8) | self->ctl[1];
            reason = g_strndup ((const char *) self->ctl + 2, self->ctl_len - 2);
          }
        self->close_received = TRUE;
        set_close (self, code, reason);
        if (!self->close_sent)
          queue_close_frame (self, code == PST_WS_CLOSE_NO_STATUS ? PST_WS_CLOSE_NORMAL : code, reason);
        write_more (self);
      }
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Returns FALSE when the connection failed and parsing must stop. */
static gboolean
parse_header (PstWebsocket *self)
{
  guint8 b0 = self->hdr[0], b1 = self->hdr[1];
  gsize need = 2;
  guint64 len = b1 & 0x7f;

  self->fin = (b0 & 0x80) != 0;
  self->op = b0 & 0x0f;
  self->masked = (b1 & 0x80) != 0;
  if (len == 126)
    need += 2;
  else if (len == 127)
    need += 8;
  if (self->masked)
    need += 4;
  if (self->hdr_len < need)
    return TRUE;   /* wait for more */

  if (b0 & 0x70)
    return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)"), FALSE;
  if (self->masked != self->opt.server)
    return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR,
                 self->opt.server ? "client frames must be masked" : "server frames must not be masked"), FALSE;
  if (len == 126)
    len = (self->hdr[2] << 8) | self->hdr[3];
  else if (len == 127)
    {
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | self->hdr[2 + i];
      if (len >> 63)
        return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad frame length"), FALSE;
    }
  if (self->masked)
    memcpy (self->mask, self->hdr + need - 4, 4);
  self->mask_off = 0;
  self->remaining = len;
  self->hdr_len = 0;
  self->state = PARSE_PAYLOAD;

  if (self->op >= PST_WS_OP_CLOSE)
    {
      if (self->op > PST_WS_OP_PONG || !self->fin || len > 125)
        return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "bad control frame"), FALSE;
      self->ctl_len = 0;
    }
  else
    {
      if (self->op != PST_WS_OP_CONTINUATION && self->op != PST_WS_OP_TEXT && self->op != PST_WS_OP_BINARY)
        return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode"), FALSE;
      if ((self->op == PST_WS_OP_CONTINUATION) != self->in_message)
        return fail (self, PST_WS_CLOSE_PROTOCOL_ERROR,
                     self->in_message ? "expected a continuation frame" : "continuation without a message"), FALSE;
      if (!self->in_message)
        self->message_size = 0;
      self->message_size += len;
      /* (once failed, later fragments are skipped, not failed again) */
      if (!self->draining && self->opt.max_message_size > 0 && self->message_size > self->opt.max_message_size)
        fail (self, PST_WS_CLOSE_TOO_BIG, "message too big");   /* framing still valid: skip it */
      self->in_message = !self->fin;
      if (self->sink.frame_start != NULL && !self->draining)
        self->sink.frame_start (self, self->op, self->fin, len, self->user_data);
    }
  return TRUE;
}

static void
end_frame (PstWebsocket *self)
{
  self->state = PARSE_HEADER;
  if (self->op >= PST_WS_OP_CLOSE)
    handle_control (self);
  else if (self->sink.frame_end != NULL && !self->draining)
    self->sink.frame_end (self, self->user_data);
}

static void
parse (PstWebsocket *self, guint8 *data, gsize len)
{
  while (len > 0 && !self->shutting_down && !self->close_received)
    {
      if (self->state == PARSE_HEADER)
        {
          gsize want = MIN (len, sizeof self->hdr - self->hdr_len);
          gsize before = self->hdr_len;
          gsize used;

          /* Copy what may be header; parse_header says how much it was. */
          memcpy (self->hdr + self->hdr_len, data, want);
          self->hdr_len += want;
          if (self->hdr_len < 2)
            return;
          {
            guint64 l7 = self->hdr[1] & 0x7f;
            gsize need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((self->hdr[1] & 0x80) ? 4 : 0);
            if (self->hdr_len < need)
              return;
            used = need - before;
            self->hdr_len = need;
          }
          data += used;
          len -= used;
          if (!parse_header (self))
            return;
          if (self->remaining == 0)
            end_frame (self);
          continue;
        }

      {
        gsize n = (gsize) MIN ((guint64) len, self->remaining);

        if (self->masked)
          for (gsize i = 0; i < n; i++)
            data[i] ^= self->mask[(self->mask_off + i) & 3];
        self->mask_off += n;
        self->remaining -= n;
        if (self->op >= PST_WS_OP_CLOSE)
          {
            memcpy (self->ctl + self->ctl_len, data, n);
            self->ctl_len += n;
          }
        else if (self->sink.frame_data != NULL && !self->draining)
          self->sink.frame_data (self, data, n, self->user_data);
        data += n;
        len -= n;
        if (self->remaining == 0)
          end_frame (self);
      }
    }
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstWebsocket *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  self->reading = FALSE;
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->shutting_down)
    {
      pst_websocket_unref (self);
      return;
    }
  if (n <= 0)
    {
      /* EOF or error without a close handshake: abnormal closure. */
      set_close (self, self->close_received ? self->close_code : PST_WS_CLOSE_ABNORMAL,
                 error ? error->message : "connection closed without a close frame");
      shutdown_stream (self);
      pst_websocket_unref (self);
      return;
    }
  self->bytes_in += n;
  self->last_rx = g_get_monotonic_time ();
  self->ping_sent = FALSE;
  parse (self, self->rbuf, n);
  read_more (self);
  pst_websocket_unref (self);
}

static void
read_more (PstWebsocket *self)
{
  if (self->reading || self->paused || self->shutting_down || self->close_received || !self->started)
    return;
  self->reading = TRUE;
  g_input_stream_read_async (self->in, self->rbuf, READ_BUFFER_SIZE, G_PRIORITY_DEFAULT,
                             self->cancellable, read_cb, pst_websocket_ref (self));
}

gsize
pst_websocket_get_queued (PstWebsocket *self)
{
  return self->queued;
}

gboolean
pst_websocket_is_congested (PstWebsocket *self)
{
  return self->congested;
}

void
pst_websocket_pause (PstWebsocket *self)
{
  self->paused = TRUE;
}

void
pst_websocket_resume (PstWebsocket *self)
{
  if (self->close_sent || self->close_received)
    return;
  self->paused = FALSE;
  read_more (self);
}

guint64
pst_websocket_get_bytes_in (PstWebsocket *self)
{
  return self->bytes_in;
}

guint64
pst_websocket_get_bytes_out (PstWebsocket *self)
{
  return self->bytes_out;
}
