/* pst-stream-pump.c: bounded reading and writing of raw bytes on a stream
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-head-limit-stream.h"
#include "pst-io-close.h"
#include "pst-poller.h"
#include "pst-prefix-stream.h"
#include "pst-stream-pump.h"

/* The byte side of a proxy (tcp:// and ssl:// back-ends, tcp/ssl accepts):
 * a 64 KiB read buffer shared by every pump of the thread, a write queue
 * its owner watches to pause the other side, and reading that stops when
 * told to.
 *
 * Memory per idle connection: a pump holds no buffer while nothing is in
 * flight.  Reads are non-blocking and the sink consumes every byte (parses
 * it, or copies it into the other side's queue) before it returns, so one
 * buffer per thread serves every pump; the rare stream that cannot poll
 * gets a buffer of its own only while its async read is pending.
 *
 * Waiting: a stream over a socket (plain, TLS, the stream SoupServer
 * hands over after an upgrade) waits on its thread's PstPoller, one
 * epoll-backed GSource for every connection, so an idle connection costs
 * the main loop nothing.  Bytes may sit above the socket (GnuTLS records
 * already decrypted, a wrapper's buffer): reads go on until the stream
 * says WOULD_BLOCK before waiting on the socket again, and a read started
 * or resumed tries at once.  A stream with no socket (a test's memory
 * stream) waits with GIO's pollable sources: one pump, two ways of
 * waiting. */

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
  gboolean           short_drains;  /* a short read leaves nothing above the socket */
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

/* Pumps whose owner has let go of them (pst_stream_pump_close) but whose
 * last bytes are still being written: a draining gateway waits for them
 * before it exits.  Process-wide, as the process exit is. */
static gint n_flushing;

static void
flushing_done (PstStreamPump *self)
{
  if (!self->flushing)
    return;
  self->flushing = FALSE;
  g_atomic_int_add (&n_flushing, -1);
}

guint
pst_stream_pump_get_n_flushing (void)
{
  return (guint) g_atomic_int_get (&n_flushing);
}

static void read_more (PstStreamPump *self);
static void drop_tail (PstStreamPump *self);
static void stop_watching (PstStreamPump *self);
static void write_more (PstStreamPump *self);

PstStreamPump *
pst_stream_pump_new (GIOStream *stream, gsize high_water, const PstStreamPumpSink *sink, gpointer user_data)
{
  PstStreamPump *self = g_new0 (PstStreamPump, 1);

  self->ref_count = 1;
  self->stream = g_object_ref (stream);
  self->cancellable = g_cancellable_new ();
  self->sink = *sink;
  self->user_data = user_data;
  self->high_water = high_water ? high_water : 1024 * 1024;
  g_queue_init (&self->out_q);
  return self;
}

PstStreamPump *
pst_stream_pump_ref (PstStreamPump *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pst_stream_pump_unref (PstStreamPump *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  flushing_done (self);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  drop_tail (self);
  g_clear_error (&self->end_error);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stream);
  g_free (self->iov);
  g_free (self->rbuf);
  g_free (self);
}

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

static void
pump_thread_free (gpointer data)
{
  PumpThread *t = data;

  g_ptr_array_unref (t->pumps);
  for (guint i = 0; i < t->n_blocks; i++)
    g_free (t->blocks[i]);
  g_free (t->rbuf);
  g_free (t);
}

static GPrivate pump_thread_key = G_PRIVATE_INIT (pump_thread_free);

static PumpThread *
pump_thread (void)
{
  PumpThread *t = g_private_get (&pump_thread_key);

  if (G_UNLIKELY (t == NULL))
    {
      t = g_new0 (PumpThread, 1);
      t->pumps = g_ptr_array_new ();
      g_private_set (&pump_thread_key, t);
    }
  return t;
}

/* The thread's read buffer, or one of our own if it is in use further up
 * the stack (a sink that made another pump read at once: no path does
 * today, so this costs nothing in practice). */
static guint8 *
borrow_read_buffer (PumpThread *t)
{
  if (t->rbuf_busy)
    return g_malloc (READ_SIZE);
  if (t->rbuf == NULL)
    t->rbuf = g_malloc (READ_SIZE);
  t->rbuf_busy = TRUE;
  return t->rbuf;
}

static void
return_read_buffer (PumpThread *t, guint8 *buf)
{
  if (buf == t->rbuf)
    t->rbuf_busy = FALSE;
  else
    g_free (buf);
}

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;

  pst_io_close_finish (G_IO_STREAM (source), result, NULL);
  flushing_done (self);
  pst_stream_pump_unref (self);
}

/* ---- the poller's watch ------------------------------------------------- */

/* Process-wide: waits handed to GIO's sources because the stream said
 * WOULD_BLOCK while its socket was ready (glib-networking does while
 * another operation holds the TLS connection). */
static gint n_gio_waits;

guint
pst_stream_pump_get_n_gio_waits (void)
{
  return (guint) g_atomic_int_get (&n_gio_waits);
}

static gboolean watch_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data);

static gboolean
input_can_poll (PstStreamPump *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->stream);

  return G_IS_POLLABLE_INPUT_STREAM (in) && g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (in));
}

static gboolean
output_can_poll (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);

  return G_IS_POLLABLE_OUTPUT_STREAM (out) && g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));
}

/* Whether a read shorter than asked proves that no layer above the socket
 * holds bytes any more, so the pump may wait on the socket without a
 * last read that would only say WOULD_BLOCK (one syscall per wake-up).
 * True of a plain socket, of our prefix and head-limit wrappers and of
 * libsoup's SoupFilterInputStream (each returns what it buffered before
 * reading on); never of TLS, where GnuTLS may hold whole records. */
static gboolean
short_read_drains (GIOStream *stream)
{
  GType soup_filter = g_type_from_name ("SoupFilterInputStream");

  for (int depth = 0; stream != NULL && depth < 8; depth++)
    {
      GInputStream *in;

      if (G_IS_TLS_CONNECTION (stream))
        return FALSE;
      if (G_IS_SOCKET_CONNECTION (stream))
        return TRUE;
      in = g_io_stream_get_input_stream (stream);
      if (!PST_IS_PREFIX_STREAM (in) && !PST_IS_HEAD_LIMIT_STREAM (in) &&
          !(soup_filter != 0 && g_type_is_a (G_OBJECT_TYPE (in), soup_filter)))
        return FALSE;
      stream = pst_io_base_stream (stream);
    }
  return FALSE;
}

/* The watch, made on first use when a socket lies under the stream. */
static gboolean
has_watch (PstStreamPump *self)
{
  GSocket *socket;

  if (self->watch != NULL)
    return TRUE;
  if (self->no_watch || self->closed)
    return FALSE;
  socket = pst_io_find_socket (self->stream);
  if (socket == NULL || g_socket_get_fd (socket) < 0 || !input_can_poll (self) || !output_can_poll (self))
    {
      self->no_watch = TRUE;
      return FALSE;
    }
  self->watch = pst_poller_watch_new (pst_poller_get_default (), g_socket_get_fd (socket), watch_cb,
                                      pst_stream_pump_ref (self));
  self->short_drains = short_read_drains (self->stream);
  return TRUE;
}

static void
drop_watch (PstStreamPump *self)
{
  if (self->watch == NULL)
    return;
  g_clear_pointer (&self->watch, pst_poller_watch_free);
  self->want_in = self->want_out = FALSE;
  pst_stream_pump_unref (self);   /* the watch's; callers hold their own */
}

static void start_gio_read (PstStreamPump *self);
static void start_gio_write (PstStreamPump *self);

/* The mask follows want_in and want_out.  If epoll refuses the socket
 * the pump waits GIO's way from then on. */
static void
sync_watch (PstStreamPump *self)
{
  gboolean in = self->want_in, out = self->want_out;

  if (self->watch == NULL)
    return;
  if (pst_poller_watch_set_mask (self->watch, (in ? G_IO_IN : 0) | (out ? G_IO_OUT : 0)))
    return;
  g_debug ("pump %p: the poller refused its socket; waiting with GIO's sources", (void *) self);
  pst_stream_pump_ref (self);
  drop_watch (self);
  self->no_watch = TRUE;
  if (in)
    start_gio_read (self);
  if (out)
    start_gio_write (self);
  pst_stream_pump_unref (self);
}

/* ---- reading ------------------------------------------------------------ */

static void
finish_close (PstStreamPump *self)
{
  if (self->closed)
    return;
  self->closed = TRUE;
  pst_stream_pump_ref (self);
  /* the watch goes before the descriptor is closed */
  drop_watch (self);
  stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  g_cancellable_cancel (self->cancellable);
  pst_io_close_async (self->stream, CLOSE_DEADLINE_MS, closed_cb, pst_stream_pump_ref (self));
  pst_stream_pump_unref (self);
}

/* While a pump's wake-up reads (up to READS_PER_WAKE chunks), the
 * writes that causes on other pumps (a frame's pieces, the payloads of
 * several frames parsed from one read, the chunks of several reads) are
 * held and written once the reading is over: one write of everything,
 * not one per piece.  A TLS stream writes one record per write call, so
 * every held write also saves a short record (and its send()) at the
 * end of each piece.  Per thread, as the pumps are. */
static void
pump_thread_hold (PumpThread *t)
{
  t->depth++;
}

static void
pump_thread_release (PumpThread *t)
{
  if (--t->depth > 0)
    return;
  /* A write may cause more (drained → the other side reads): those go
   * out at once, the depth being 0 now. */
  while (t->pumps->len > 0)
    {
      g_autoptr(GPtrArray) pumps = g_steal_pointer (&t->pumps);

      t->pumps = g_ptr_array_new ();
      for (guint i = 0; i < pumps->len; i++)
        {
          PstStreamPump *pump = pumps->pdata[i];

          pump->deferred = FALSE;
          write_more (pump);
          pst_stream_pump_unref (pump);
        }
    }
}

/* FALSE when reading ended (EOF or error; the owner is told). */
static gboolean
got_bytes (PstStreamPump *self, guint8 *buf, gssize n, const GError *error)
{
  if (n <= 0)
    {
      self->stopped = TRUE;
      if (self->sink.eof != NULL)
        self->sink.eof (self, error, self->user_data);
      return FALSE;
    }
  self->bytes_in += n;
  if (self->sink.data != NULL)
    self->sink.data (self, buf, n, self->user_data);
  return TRUE;
}

/* A non-blocking read that fills buf (READ_SIZE) while a whole TLS
 * record still fits, or until the stream would block: what was read goes
 * on in one piece (one frame, whole records on the other side).  An end
 * (EOF or error) met after some bytes is kept for the next call, so the
 * bytes go out first and the end is not lost.  *drained: the stream said
 * WOULD_BLOCK after those bytes, so the next read would only say it
 * again (a recv() that returns EAGAIN): the caller waits instead. */
static gssize
read_chunk (PstStreamPump *self, GPollableInputStream *in, guint8 *buf, gboolean *drained, GError **error)
{
  gsize got = 0;

  *drained = FALSE;
  if (self->end_pending)
    {
      self->end_pending = FALSE;
      if (self->end_error == NULL)
        return 0;
      g_propagate_error (error, g_steal_pointer (&self->end_error));
      return -1;
    }
  while (READ_SIZE - got >= READ_ROOM)
    {
      GError *local = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (in, buf + got, READ_SIZE - got, NULL, &local);

      if (n > 0)
        {
          got += n;
          continue;
        }
      if (got == 0)
        {
          if (local != NULL)
            g_propagate_error (error, local);
          return n;
        }
      if (n < 0 && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (local);
          *drained = TRUE;
        }
      else
        {
          self->end_pending = TRUE;
          self->end_error = local;
        }
      break;
    }
  return got;
}

static void
read_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;
  g_autoptr(GError) error = NULL;
  gssize n;

  g_autofree guint8 *buf = g_steal_pointer (&self->rbuf);

  self->reading = FALSE;
  n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  if (self->stopped || self->closed)
    {
      pst_stream_pump_unref (self);
      return;
    }
  pump_thread_hold (pump_thread ());
  if (got_bytes (self, buf, n, error))
    read_more (self);
  pump_thread_release (pump_thread ());
  pst_stream_pump_unref (self);
}

static gboolean
can_read (PstStreamPump *self)
{
  return !self->paused && !self->stopped && !self->closing && !self->closed && self->started;
}

static void
stop_watching (PstStreamPump *self)
{
  if (self->read_source == NULL)
    return;
  g_source_destroy (self->read_source);
  g_clear_pointer (&self->read_source, g_source_unref);
}

typedef enum {
  READ_WAIT,        /* the stream would block: wait for the socket */
  READ_AGAIN,       /* the budget is used up, the stream may hold more */
  READ_DONE,        /* paused, stopped or ended */
} ReadOutcome;

/* Reads until the stream would block, at most READS_PER_WAKE times;
 * what the sink writes on other pumps goes out once the reads are done.
 * *blocked_first: the very first read would block. */
static ReadOutcome
read_some (PstStreamPump *self, gboolean *blocked_first)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream));
  PumpThread *t = pump_thread ();
  ReadOutcome outcome = READ_AGAIN;
  guint8 *buf;

  *blocked_first = FALSE;
  pst_stream_pump_ref (self);
  pump_thread_hold (t);
  buf = borrow_read_buffer (t);
  for (int i = 0; i < READS_PER_WAKE && outcome == READ_AGAIN; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean drained;
      gssize n;

      if (!can_read (self))
        {
          outcome = READ_DONE;
          break;
        }
      n = read_chunk (self, in, buf, &drained, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          *blocked_first = i == 0;
          outcome = READ_WAIT;
        }
      else if (!got_bytes (self, buf, n, error))
        outcome = READ_DONE;
      else if (drained || (self->short_drains && self->watch != NULL && n < READ_SIZE && !self->end_pending))
        outcome = READ_WAIT;
    }
  return_read_buffer (t, buf);
  pump_thread_release (t);
  if (outcome != READ_DONE && !can_read (self))
    outcome = READ_DONE;
  pst_stream_pump_unref (self);
  return outcome;
}

/* GIO's way (no socket, or one wait handed over): one watch while
 * reading, reads until the stream would block. */
static gboolean
readable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;
  gboolean blocked_first;
  ReadOutcome outcome = read_some (self, &blocked_first);

  if (outcome != READ_DONE && self->read_source != NULL && self->watch == NULL)
    return G_SOURCE_CONTINUE;
  stop_watching (self);
  if (outcome != READ_DONE && self->watch != NULL)
    {
      /* the handed-over wait is over: back to the poller */
      self->want_in = TRUE;
      sync_watch (self);
      if (outcome == READ_AGAIN && self->watch != NULL)
        pst_poller_watch_schedule (self->watch);
    }
  return G_SOURCE_REMOVE;
}

static void
start_gio_read (PstStreamPump *self)
{
  GInputStream *in = g_io_stream_get_input_stream (self->stream);

  if (self->read_source != NULL)
    return;
  self->read_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (in), NULL);
  g_source_set_callback (self->read_source, (GSourceFunc) (void (*)(void)) readable_cb,
                         pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
  g_source_attach (self->read_source, g_main_context_get_thread_default ());
}

/* A readable wake-up (or a scheduled call).  TRUE: call again at the
 * next dispatch. */
static gboolean
watch_read (PstStreamPump *self, GIOCondition ready)
{
  gboolean blocked_first;
  ReadOutcome outcome = read_some (self, &blocked_first);

  if (outcome == READ_DONE)
    {
      self->want_in = FALSE;
      return FALSE;
    }
  if (outcome == READ_AGAIN)
    return TRUE;
  /* Woken for a readable socket, yet the stream would block from the
   * start, and its socket is still readable: not bytes in flight but the
   * TLS connection busy with another operation.  A level-triggered watch
   * would spin; GIO's source knows when that ends. */
  if (blocked_first && (ready & G_IO_IN) &&
      g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (self->stream))))
    {
      g_atomic_int_inc (&n_gio_waits);
      g_debug ("pump %p: the stream would block on a readable socket; this wait goes to GIO", (void *) self);
      self->want_in = FALSE;
      start_gio_read (self);
    }
  return FALSE;
}

static void
read_more (PstStreamPump *self)
{
  if (self->reading || self->read_source != NULL || self->want_in || !can_read (self))
    return;
  if (has_watch (self))
    {
      /* Bytes may already wait above the socket: try at once (at the next
       * dispatch, not on this stack). */
      self->want_in = TRUE;
      sync_watch (self);
      if (self->watch != NULL)
        pst_poller_watch_schedule (self->watch);
      return;
    }
  if (input_can_poll (self))
    {
      start_gio_read (self);
      return;
    }
  self->reading = TRUE;
  if (self->rbuf == NULL)
    self->rbuf = g_malloc (READ_SIZE);
  g_input_stream_read_async (g_io_stream_get_input_stream (self->stream), self->rbuf, READ_SIZE,
                             G_PRIORITY_DEFAULT, self->cancellable, read_cb, pst_stream_pump_ref (self));
}

static gboolean
watch_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  PstStreamPump *self = user_data;
  gboolean again = FALSE;

  pst_stream_pump_ref (self);
  if (self->want_out && (ready & (G_IO_OUT | G_IO_HUP | G_IO_ERR)))
    {
      self->want_out = FALSE;
      self->out_woken = TRUE;
      write_more (self);
      self->out_woken = FALSE;
    }
  if (self->watch == watch && self->want_in)
    again = watch_read (self, ready);
  if (self->watch == watch)
    sync_watch (self);
  else
    again = FALSE;
  pst_stream_pump_unref (self);
  return again;
}

void
pst_stream_pump_start (PstStreamPump *self)
{
  self->started = TRUE;
  read_more (self);
}

void
pst_stream_pump_pause (PstStreamPump *self)
{
  self->paused = TRUE;
  if (self->want_in)
    {
      self->want_in = FALSE;
      sync_watch (self);
    }
}

void
pst_stream_pump_resume (PstStreamPump *self)
{
  self->paused = FALSE;
  read_more (self);
}

static guint8 *
block_take (void)
{
  PumpThread *t = pump_thread ();

  if (t->n_blocks > 0)
    return t->blocks[--t->n_blocks];
  return g_malloc (BLOCK_SIZE);
}

/* A written block (GBytes' free function): kept if there is room. */
static void
block_release (gpointer block)
{
  PumpThread *t = pump_thread ();

  if (t->n_blocks < BLOCKS_KEPT)
    t->blocks[t->n_blocks++] = block;
  else
    g_free (block);
}

static void
drop_tail (PstStreamPump *self)
{
  if (self->tail == NULL)
    return;
  if (self->tail_cap == BLOCK_SIZE)
    block_release (g_steal_pointer (&self->tail));
  else
    g_clear_pointer (&self->tail, g_free);
  self->tail_len = self->tail_cap = 0;
}

static void
flush_tail (PstStreamPump *self)
{
  GBytes *bytes;

  if (self->tail == NULL)
    return;
  bytes = g_bytes_new_with_free_func (self->tail, self->tail_len,
                                      self->tail_cap == BLOCK_SIZE ? block_release : g_free, self->tail);
  g_queue_push_tail (&self->out_q, bytes);
  self->tail = NULL;
  self->tail_len = self->tail_cap = 0;
}

static void
write_failed (PstStreamPump *self, const GError *error)
{
  drop_tail (self);
  g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
  self->head_off = 0;
  self->queued = 0;
  if (!self->closed && error != NULL && self->sink.failed != NULL)
    self->sink.failed (self, error, self->user_data);
  finish_close (self);
}

/* Drop what was written (whole buffers in order, and part of the next:
 * a TLS stream takes 16 KiB per write, so that is the usual case). */
static void
consumed (PstStreamPump *self, gsize written)
{
  self->bytes_out += written;
  while (written > 0)
    {
      GBytes *head = g_queue_peek_head (&self->out_q);
      gsize len = g_bytes_get_size (head) - self->head_off;

      if (len > written)
        {
          self->head_off += written;
          self->queued -= written;
          break;
        }
      g_queue_pop_head (&self->out_q);
      g_bytes_unref (head);
      self->head_off = 0;
      self->queued -= len + CHUNK_OVERHEAD;   /* the chunk is gone */
      written -= len;
    }
  if (self->congested && self->queued < self->high_water / 2)
    {
      self->congested = FALSE;
      if (self->sink.drained != NULL && !self->closed)
        self->sink.drained (self, self->user_data);
    }
  if (self->queued == 0 && self->sink.empty != NULL && !self->closed)
    self->sink.empty (self, self->user_data);
}

static void
writev_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PstStreamPump *self = user_data;
  g_autoptr(GError) error = NULL;
  gsize written = 0;

  self->writing = FALSE;
  g_clear_pointer (&self->iov, g_free);
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, &written, &error) ||
      self->closed)
    write_failed (self, error);
  else
    {
      consumed (self, written);
      write_more (self);
    }
  pst_stream_pump_unref (self);
}

static gboolean
writable_cb (GObject *stream, gpointer user_data)
{
  PstStreamPump *self = user_data;

  g_clear_pointer (&self->write_source, g_source_unref);
  write_more (self);   /* a watch, if any, takes the next wait */
  return G_SOURCE_REMOVE;
}

static void
start_gio_write (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);

  if (self->write_source != NULL)
    return;
  self->write_source = g_pollable_output_stream_create_source (G_POLLABLE_OUTPUT_STREAM (out), NULL);
  g_source_set_callback (self->write_source, (GSourceFunc) (void (*)(void)) writable_cb,
                         pst_stream_pump_ref (self), (GDestroyNotify) pst_stream_pump_unref);
  g_source_attach (self->write_source, g_main_context_get_thread_default ());
}

static guint
gather (PstStreamPump *self, GOutputVector *iov)
{
  guint n = 0;

  for (GList *l = self->out_q.head; l != NULL && n < MAX_IOV; l = l->next, n++)
    {
      gsize len;
      const guint8 *data = g_bytes_get_data (l->data, &len);
      gsize skip = n == 0 ? self->head_off : 0;

      iov[n].buffer = data + skip;
      iov[n].size = len - skip;
    }
  return n;
}

/* Pollable outputs are written at once until they would block, then the
 * watch (or GIO's source) waits for room; OUT interest lasts only while
 * something waits to be written. */
static void
write_more (PstStreamPump *self)
{
  GOutputStream *out = g_io_stream_get_output_stream (self->stream);
  gboolean pollable = G_IS_POLLABLE_OUTPUT_STREAM (out) &&
                      g_pollable_output_stream_can_poll (G_POLLABLE_OUTPUT_STREAM (out));

  gboolean first = TRUE;

  if (self->writing || self->write_source != NULL || self->want_out || self->closed || self->in_write)
    return;
  flush_tail (self);
  self->in_write = TRUE;
  while (pollable && !g_queue_is_empty (&self->out_q) && !self->closed)
    {
      g_autoptr(GError) error = NULL;
      GOutputVector iov[MAX_IOV];
      gsize written = 0;
      GPollableReturn ret = g_pollable_output_stream_writev_nonblocking (G_POLLABLE_OUTPUT_STREAM (out),
                                                                          iov, gather (self, iov),
                                                                          &written, NULL, &error);
      if (ret == G_POLLABLE_RETURN_WOULD_BLOCK)
        {
          /* Woken for a writable socket, nothing written, and the socket
           * still writable: the TLS connection is busy with another
           * operation; a level-triggered watch would spin, GIO's source
           * knows when that ends. */
          gboolean busy = self->out_woken && first &&
                          g_pollable_output_stream_is_writable (G_POLLABLE_OUTPUT_STREAM (out));

          self->in_write = FALSE;
          if (!busy && has_watch (self))
            {
              self->want_out = TRUE;
              sync_watch (self);   /* (or GIO's source, if epoll refuses) */
              return;
            }
          if (busy)
            {
              g_atomic_int_inc (&n_gio_waits);
              g_debug ("pump %p: the stream would block on a writable socket; this wait goes to GIO",
                       (void *) self);
            }
          start_gio_write (self);
          return;
        }
      first = FALSE;
      if (ret == G_POLLABLE_RETURN_FAILED)
        {
          self->in_write = FALSE;
          write_failed (self, error);
          return;
        }
      consumed (self, written);   /* may queue more (drained → the other side writes) */
      flush_tail (self);          /* …and what it queued comes after */
    }
  self->in_write = FALSE;
  if (self->closed)
    return;
  if (g_queue_is_empty (&self->out_q))
    {
      if (self->closing)
        finish_close (self);
      return;
    }
  /* The vector must outlive this call: it is ours only while the write
   * is in flight (an idle pump holds none). */
  self->writing = TRUE;
  self->iov = g_new (GOutputVector, MAX_IOV);
  g_output_stream_writev_all_async (out, self->iov, gather (self, self->iov), G_PRIORITY_DEFAULT,
                                    self->cancellable, writev_cb, pst_stream_pump_ref (self));
}

static void
queued_more (PstStreamPump *self)
{
  if (self->queued >= self->high_water)
    self->congested = TRUE;
  if (!self->deferred)
    {
      PumpThread *t = pump_thread ();

      if (t->depth > 0)
        {
          self->deferred = TRUE;
          g_ptr_array_add (t->pumps, pst_stream_pump_ref (self));
          return;
        }
    }
  else
    return;
  write_more (self);
}

void
pst_stream_pump_append (PstStreamPump *self, const guint8 *data, gsize len)
{
  if (self->closing || self->closed)
    return;
  while (len > 0)
    {
      gsize n;

      if (self->tail == NULL)
        {
          /* sized for this write: a pong stays small, bulk gets a block */
          self->tail_cap = len <= COALESCE_MAX ? TAIL_START : len >= BLOCK_SIZE / 4 ? BLOCK_SIZE : len;
          self->tail = self->tail_cap == BLOCK_SIZE ? block_take () : g_malloc (self->tail_cap);
          self->queued += CHUNK_OVERHEAD;
        }
      n = MIN (len, BLOCK_SIZE - self->tail_len);
      if (self->tail_len + n > self->tail_cap)
        {
          gsize cap = MIN (BLOCK_SIZE, MAX (self->tail_cap * 2, self->tail_len + n));

          if (cap == BLOCK_SIZE)
            {
              guint8 *block = block_take ();

              memcpy (block, self->tail, self->tail_len);
              g_free (self->tail);
              self->tail = block;
            }
          else
            self->tail = g_realloc (self->tail, cap);
          self->tail_cap = cap;
        }
      memcpy (self->tail + self->tail_len, data, n);
      self->tail_len += n;
      self->queued += n;
      data += n;
      len -= n;
      if (self->tail_len >= BLOCK_SIZE)
        flush_tail (self);
    }
}

void
pst_stream_pump_commit (PstStreamPump *self)
{
  if (self->closing || self->closed)
    return;
  queued_more (self);
}

void
pst_stream_pump_write (PstStreamPump *self, const guint8 *data, gsize len)
{
  if (len == 0 || self->closing || self->closed)
    return;
  pst_stream_pump_append (self, data, len);
  queued_more (self);
}

/* Takes a reference: the caller's buffer is queued as it is. */
void
pst_stream_pump_write_bytes (PstStreamPump *self, GBytes *bytes)
{
  gsize len = g_bytes_get_size (bytes);

  if (len == 0 || self->closing || self->closed)
    return;
  flush_tail (self);   /* keeps the order of writes */
  g_queue_push_tail (&self->out_q, g_bytes_ref (bytes));
  self->queued += len + CHUNK_OVERHEAD;
  queued_more (self);
}

gsize
pst_stream_pump_get_queued (PstStreamPump *self)
{
  return self->queued;
}

void
pst_stream_pump_stop (PstStreamPump *self)
{
  flushing_done (self);
  memset (&self->sink, 0, sizeof self->sink);
  self->closed = self->stopped = TRUE;
  pst_stream_pump_ref (self);
  drop_watch (self);
  stop_watching (self);
  if (self->write_source != NULL)
    {
      g_source_destroy (self->write_source);
      g_clear_pointer (&self->write_source, g_source_unref);
    }
  /* An async write in flight still points into the queue: it is dropped
   * when that write returns. */
  drop_tail (self);
  if (!self->writing)
    {
      g_queue_clear_full (&self->out_q, (GDestroyNotify) g_bytes_unref);
      self->head_off = 0;
      self->queued = 0;
    }
  g_cancellable_cancel (self->cancellable);
  pst_stream_pump_unref (self);
}

gboolean
pst_stream_pump_is_congested (PstStreamPump *self)
{
  return self->congested;
}

void
pst_stream_pump_close (PstStreamPump *self)
{
  if (self->closing)
    return;
  /* The owner is done with us (it may be gone before the queue is
   * flushed): no more callbacks. */
  memset (&self->sink, 0, sizeof self->sink);
  self->closing = TRUE;
  if (!self->closed)
    {
      self->flushing = TRUE;
      g_atomic_int_inc (&n_flushing);
    }
  self->stopped = TRUE;
  write_more (self);
}

GIOStream *
pst_stream_pump_get_stream (PstStreamPump *self)
{
  return self->stream;
}

guint64
pst_stream_pump_get_bytes_in (PstStreamPump *self)
{
  return self->bytes_in;
}

guint64
pst_stream_pump_get_bytes_out (PstStreamPump *self)
{
  return self->bytes_out;
}
