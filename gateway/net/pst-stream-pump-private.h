/* pst-stream-pump-private.h: PstStreamPump's state, shared by its core, reader and writer
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-poller.h"
#include "pst-stream-pump.h"

G_BEGIN_DECLS

#define READ_SIZE (64 * 1024)
/* Reads per wake-up, then the pump yields to the other ready connections
 * and is called again at the next dispatch (fairness under load). */
#define READS_PER_WAKE 4
/* A pollable read goes on filling the buffer while this much room is
 * left: a TLS stream hands out one record (16 KiB at most) per read, and
 * each read must be able to take a whole record — what GnuTLS keeps of a
 * record does not make the stream's GSource fire (glib-networking 2.74
 * polls the socket only), so it would sit there until the peer sends
 * more. */
#define READ_ROOM (16 * 1024)
#define MAX_IOV   32
/* What a queued chunk costs besides its bytes: the GBytes, the queue
 * link and two malloc headers.  Limits count this, so a flood of tiny
 * writes (pongs, empty frames) is bounded like a few large ones. */
#define CHUNK_OVERHEAD 96
/* Small writes (frames of a few bytes: pongs, empty messages) made while
 * the socket is busy are gathered into one buffer, so their number does
 * not multiply the overhead. */
#define COALESCE_MAX   512
/* Copied writes are gathered in blocks of up to BLOCK_SIZE: a frame's
 * header goes with its payload, and what a TLS stream is given (it writes
 * one record per call, GTlsOutputStream has no writev) is whole 16 KiB
 * records rather than a record per write plus a short one for the rest. */
#define BLOCK_SIZE     (64 * 1024)
/* A tail starts small (most are one pong or one short message) and grows
 * up to BLOCK_SIZE; it is freed once written. */
#define TAIL_START     1024
/* Blocks of BLOCK_SIZE that were written are kept for the next writes,
 * up to this many per thread: malloc would otherwise hand back and take
 * again the top of the heap at every turn (brk() and page faults) once
 * a few blocks are queued. */
#define BLOCKS_KEPT    8
/* A TLS close sends close_notify to a peer that may not read: bounded. */
#define CLOSE_DEADLINE_MS 3000

struct _PstStreamPump
{
  gint               ref_count;
  GIOStream         *stream;
  GCancellable      *cancellable;
  PstStreamPumpSink  sink;
  gpointer           user_data;
  gsize              high_water;
  guint8            *rbuf;          /* non-pollable streams: while a read is pending */
  gboolean           reading, paused, started, stopped, closing, closed;
  GSource           *read_source;   /* GIO's way: watching for input */
  GSource           *write_source;  /* GIO's way: waiting to write */
  PstPollerWatch    *watch;         /* streams over a socket (holds a reference on us) */
  gboolean           no_watch;      /* none possible, or epoll refused the socket */
  gboolean           want_in, want_out;   /* what the watch waits for */
  gboolean           short_drains;  /* a bare socket: a short read leaves it empty */
  gboolean           waited;        /* read_more has asked the watch for input once */
  gboolean           out_woken;     /* write_more runs for a writable wake-up */
  gboolean           in_write;      /* write_more is on the stack */
  GQueue             out_q;
  gsize              head_off;      /* bytes of out_q's head already written */
  guint8            *tail;          /* copied writes not yet in out_q (always last) */
  gsize              tail_len, tail_cap;
  gboolean           deferred;      /* in the thread's list of pumps to write */
  gboolean           end_pending;   /* a fill read met the end after some bytes */
  GError            *end_error;     /* …and this error (NULL: a clean end) */
  gsize              queued;        /* bytes, and CHUNK_OVERHEAD per chunk */
  gboolean           writing, congested;
  GOutputVector     *iov;           /* while an async write is in flight */
  guint64            bytes_in, bytes_out;
  gboolean           flushing;      /* closed by its owner, queue not yet out */
};

/* What the pumps of one thread share: the read buffer (one is enough,
 * as every read is consumed before the next; see the top of this file)
 * and the writes held while a wake-up reads (see pump_thread_hold).
 * Looked up once per wake-up and once per write, not per read. */
typedef struct {
  guint8    *rbuf;
  gboolean   rbuf_busy;   /* a read into it is being consumed up the stack */
  guint      depth;       /* holds open */
  GPtrArray *pumps;       /* pumps with writes held */
  guint8    *blocks[BLOCKS_KEPT];   /* written blocks, for the next writes */
  guint      n_blocks;
} PumpThread;

/* core (pst-stream-pump.c): the thread's share, the watch, closing */
PumpThread *pst_pump_thread              (void);
void        pst_pump_thread_hold         (PumpThread *t);
void        pst_pump_thread_release      (PumpThread *t);
guint8     *pst_pump_borrow_read_buffer  (PumpThread *t);
void        pst_pump_return_read_buffer  (PumpThread *t, guint8 *buf);
gboolean    pst_pump_has_watch           (PstStreamPump *self);
gboolean    pst_pump_input_can_poll      (PstStreamPump *self);
void        pst_pump_sync_watch          (PstStreamPump *self);
void        pst_pump_finish_close        (PstStreamPump *self);
void        pst_pump_count_gio_wait      (void);
/* reader (pst-stream-pump-read.c) */
gboolean    pst_pump_can_read            (PstStreamPump *self);
void        pst_pump_read_more           (PstStreamPump *self);
void        pst_pump_stop_watching       (PstStreamPump *self);
void        pst_pump_start_gio_read      (PstStreamPump *self);
/* A readable wake-up (or a scheduled call).  TRUE: call again at the
 * next dispatch. */
gboolean    pst_pump_watch_read          (PstStreamPump *self, GIOCondition ready);
/* writer (pst-stream-pump-write.c) */
void        pst_pump_write_more          (PstStreamPump *self);
void        pst_pump_start_gio_write     (PstStreamPump *self);
void        pst_pump_drop_tail           (PstStreamPump *self);

G_END_DECLS
