/* pst-stream-pump.h: bounded reading and writing of raw bytes on a stream
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PstStreamPump PstStreamPump;

typedef struct {
  /* a chunk was read, in the pump's reused buffer: yours to change (unmask,
   * say) until you return; copy what you keep */
  void (*data)    (PstStreamPump *pump, guint8 *data, gsize len, gpointer user_data);
  /* reading ended: error NULL for a clean end of stream */
  void (*eof)     (PstStreamPump *pump, const GError *error, gpointer user_data);
  /* the write queue dropped below half the high-water mark */
  void (*drained) (PstStreamPump *pump, gpointer user_data);
  /* a write failed; the pump stops */
  void (*failed)  (PstStreamPump *pump, const GError *error, gpointer user_data);
  /* everything queued has been written (optional) */
  void (*empty)   (PstStreamPump *pump, gpointer user_data);
} PstStreamPumpSink;

PstStreamPump *pst_stream_pump_new        (GIOStream *stream, gsize high_water,
                                           const PstStreamPumpSink *sink, gpointer user_data);
PstStreamPump *pst_stream_pump_ref        (PstStreamPump *self);
void           pst_stream_pump_unref      (PstStreamPump *self);
void           pst_stream_pump_start      (PstStreamPump *self);
void           pst_stream_pump_pause      (PstStreamPump *self);
void           pst_stream_pump_resume     (PstStreamPump *self);
void           pst_stream_pump_write      (PstStreamPump *self, const guint8 *data, gsize len);
/* queues bytes itself (a reference, no copy) */
void           pst_stream_pump_write_bytes (PstStreamPump *self, GBytes *bytes);
gsize          pst_stream_pump_get_queued (PstStreamPump *self);
gboolean       pst_stream_pump_is_congested (PstStreamPump *self);
/* Stop reading, write what is queued, then close the stream. */
void           pst_stream_pump_close      (PstStreamPump *self);
/* Stop all I/O now: drop what is queued, no more callbacks; the stream is
 * left for the caller to close. */
void           pst_stream_pump_stop       (PstStreamPump *self);
GIOStream     *pst_stream_pump_get_stream (PstStreamPump *self);
/* Pumps closed by their owner still writing their queue (process-wide) */
guint          pst_stream_pump_get_n_flushing (void);
/* Waits handed from the poller to GIO's sources because a stream would
 * block on a ready socket (process-wide) */
guint          pst_stream_pump_get_n_gio_waits (void);
guint64        pst_stream_pump_get_bytes_in  (PstStreamPump *self);
guint64        pst_stream_pump_get_bytes_out (PstStreamPump *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstStreamPump, pst_stream_pump_unref)

G_END_DECLS
