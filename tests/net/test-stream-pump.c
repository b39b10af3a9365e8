/* test-stream-pump.c: PstStreamPump relaying between real loopback sockets: bytes, order, backpressure
 * SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <gio/gio.h>

#include "pst-prefix-stream.h"
#include "pst-stream-pump.h"

/* Two loopback connections and a relay between them, as the proxy's byte
 * sides: what a_far writes, pump A reads and pump B writes to b_far.
 * The variant "filtered" puts our prefix stream over both near ends (what
 * a WebSocket upgrade's leftover bytes are read through). */

#define HIGH_WATER (256 * 1024)
#define READ_SIZE  (64 * 1024)

typedef struct {
  GSocketConnection *a_far, *a_near, *b_near, *b_far;
  PstStreamPump     *a, *b;
  gsize              max_queued;   /* the most B held after a write */
  gboolean           a_ended;
  gboolean           wrapped;
} Fixture;

static void
connect_pair (GSocketConnection **far, GSocketConnection **near)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);   /* no GSettings lookup */
  g_socket_listener_add_address (listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &bound, &error);
  g_assert_no_error (error);
  *far = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (bound), NULL, &error);
  g_assert_no_error (error);
  *near = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
}

static void
a_data (PstStreamPump *pump, guint8 *data, gsize len, gpointer user_data)
{
  Fixture *f = user_data;

  pst_stream_pump_write (f->b, data, len);
  f->max_queued = MAX (f->max_queued, pst_stream_pump_get_queued (f->b));
  if (pst_stream_pump_is_congested (f->b))
    pst_stream_pump_pause (f->a);
}

static void
a_eof (PstStreamPump *pump, const GError *error, gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_no_error ((GError *) error);
  f->a_ended = TRUE;
  pst_stream_pump_close (f->b);   /* writes the queue, then closes */
}

static void
b_drained (PstStreamPump *pump, gpointer user_data)
{
  Fixture *f = user_data;

  pst_stream_pump_resume (f->a);
}

static void
b_failed (PstStreamPump *pump, const GError *error, gpointer user_data)
{
  g_assert_no_error ((GError *) error);
}

static const PstStreamPumpSink a_sink = { .data = a_data, .eof = a_eof };
static const PstStreamPumpSink b_sink = { .drained = b_drained, .failed = b_failed };

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  gboolean wrapped = GPOINTER_TO_INT (data);
  g_autoptr(GIOStream) a = NULL, b = NULL;

  f->wrapped = wrapped;
  connect_pair (&f->a_far, &f->a_near);
  connect_pair (&f->b_far, &f->b_near);
  a = wrapped ? pst_prefix_stream_wrap (G_IO_STREAM (f->a_near), NULL) : g_object_ref (G_IO_STREAM (f->a_near));
  b = wrapped ? pst_prefix_stream_wrap (G_IO_STREAM (f->b_near), NULL) : g_object_ref (G_IO_STREAM (f->b_near));
  f->a = pst_stream_pump_new (a, HIGH_WATER, &a_sink, f);
  f->b = pst_stream_pump_new (b, HIGH_WATER, &b_sink, f);
  pst_stream_pump_start (f->b);
  pst_stream_pump_pause (f->b);   /* B's peer sends nothing; only writes */
  pst_stream_pump_start (f->a);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  pst_stream_pump_stop (f->a);
  pst_stream_pump_stop (f->b);
  g_clear_pointer (&f->a, pst_stream_pump_unref);
  g_clear_pointer (&f->b, pst_stream_pump_unref);
  /* let the closes started by the pumps finish */
  for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_clear_object (&f->a_near);
  g_clear_object (&f->b_near);
  g_clear_object (&f->a_far);
  g_clear_object (&f->b_far);
}

static guint8
pattern (guint64 i)
{
  return (guint8) ((i * 2654435761u) >> 13);
}

/* The sender: total bytes in pieces of every size from 1 byte to a bit
 * over a block, with pauses now and then (so reads meet WOULD_BLOCK
 * mid-stream), then a clean end. */
typedef struct {
  GOutputStream *out;
  GSocket       *socket;
  guint64        total;
  gboolean       pausing;
} Sender;

static gpointer
sender_thread (gpointer data)
{
  Sender *s = data;
  g_autofree guint8 *buf = g_malloc (70000);
  guint64 sent = 0;
  guint32 seed = 12345;

  while (sent < s->total)
    {
      g_autoptr(GError) error = NULL;
      gsize len;

      seed = seed * 1103515245 + 12345;
      len = MIN ((seed >> 8) % 70000 + 1, s->total - sent);
      if ((seed >> 4) % 4 == 0)
        len = (seed >> 6) % 40 + 1;   /* many small pieces too */
      for (gsize i = 0; i < len; i++)
        buf[i] = pattern (sent + i);
      g_output_stream_write_all (s->out, buf, len, NULL, NULL, &error);
      g_assert_no_error (error);
      sent += len;
      if (s->pausing && (seed >> 12) % 8 == 0)
        g_usleep (1000);
    }
  g_socket_shutdown (s->socket, FALSE, TRUE, NULL);
  return NULL;
}

/* The receiver: reads to the end, checking every byte; slow: sleeps
 * between small reads for the first slow_bytes. */
typedef struct {
  GInputStream *in;
  guint64       got;
  guint64       slow_bytes;
  guint64       stop_at;      /* 0: read to the end of the stream */
  gboolean      bad;
  gint          done;
} Receiver;

static gpointer
receiver_thread (gpointer data)
{
  Receiver *r = data;
  g_autofree guint8 *buf = g_malloc (READ_SIZE);

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gsize want = r->got < r->slow_bytes ? 4096 : READ_SIZE;
      gssize n = g_input_stream_read (r->in, buf, want, NULL, &error);

      g_assert_no_error (error);
      if (n <= 0)
        break;
      for (gssize i = 0; i < n; i++)
        if (buf[i] != pattern (r->got + i))
          r->bad = TRUE;
      r->got += n;
      if (r->stop_at != 0 && r->got >= r->stop_at)
        break;
      if (r->got < r->slow_bytes)
        g_usleep (2000);
    }
  g_atomic_int_set (&r->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
relay (Fixture *f, guint64 total, gboolean pausing, guint64 slow_bytes)
{
  Sender s = { g_io_stream_get_output_stream (G_IO_STREAM (f->a_far)),
               g_socket_connection_get_socket (f->a_far), total, pausing };
  /* A wrapper's close closes its streams, not the socket under it (the
   * connection that owns the socket does that, here the fixture at tear-down):
   * the wrapped variant's receiver stops at the last byte instead of at the
   * socket's end. */
  Receiver r = { g_io_stream_get_input_stream (G_IO_STREAM (f->b_far)), 0, slow_bytes,
                 f->wrapped ? total : 0, FALSE, 0 };
  gboolean late = FALSE;
  guint id = g_timeout_add_seconds (60, deadline_cb, &late);
  GThread *st = g_thread_new ("sender", sender_thread, &s);
  GThread *rt = g_thread_new ("receiver", receiver_thread, &r);

  while (!g_atomic_int_get (&r.done) && !late)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (late);
  g_source_remove (id);
  g_thread_join (st);
  g_thread_join (rt);
  g_assert_true (f->a_ended);
  g_assert_false (r.bad);
  g_assert_cmpuint (r.got, ==, total);
  g_assert_cmpuint (pst_stream_pump_get_bytes_in (f->a), ==, total);
  g_assert_cmpuint (pst_stream_pump_get_bytes_out (f->b), ==, total);
}

/* Every byte, in order, whatever the pieces the sender writes. */
static void
test_pieces (Fixture *f, gconstpointer data)
{
  relay (f, 24 * 1024 * 1024, FALSE, 0);
}

/* The same with pauses: reads meet WOULD_BLOCK after some bytes, the
 * pump waits for the socket, and nothing is stranded above it. */
static void
test_pauses (Fixture *f, gconstpointer data)
{
  relay (f, 4 * 1024 * 1024, TRUE, 0);
}

/* A slow reader: B's queue stays bounded (high water, plus what one read
 * brings before the sink pauses A, plus a chunk's bookkeeping), and
 * everything still arrives. */
static void
test_slow_reader (Fixture *f, gconstpointer data)
{
  relay (f, 8 * 1024 * 1024, FALSE, 1024 * 1024);
  g_assert_cmpuint (f->max_queued, >=, HIGH_WATER);   /* the bound was reached */
  g_assert_cmpuint (f->max_queued, <=, HIGH_WATER + READ_SIZE + 4096);
}

/* One byte at a time, each waited for at the far end: every small read
 * is written at once (no write waits for a later read). */
static void
test_ping_pong (Fixture *f, gconstpointer data)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (f->a_far));
  GSocket *far = g_socket_connection_get_socket (f->b_far);

  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GError) error = NULL;
      guint8 c = pattern (i), got = 0;
      gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
      gssize n = -1;

      g_output_stream_write_all (out, &c, 1, NULL, NULL, &error);
      g_assert_no_error (error);
      while (n < 0 && g_get_monotonic_time () < end)
        {
          g_clear_error (&error);
          g_main_context_iteration (NULL, FALSE);
          n = g_socket_receive_with_blocking (far, (gchar *) &got, 1, FALSE, NULL, &error);
          if (n < 0)
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
        }
      g_assert_cmpint (n, ==, 1);
      g_assert_cmpuint (got, ==, c);
    }
}

static gboolean
spin_until_ended (Fixture *f, guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (!f->a_ended && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  return f->a_ended;
}

/* Bytes and the peer's end in one burst, while A is paused: nothing is
 * read meanwhile, and once resumed A reads every byte and then sees the
 * end, though the socket reports them only once (edge-triggered: what
 * came during the pause is kept for the resume, and a short read does
 * not hide an end behind it). */
static void
test_end_behind_bytes (Fixture *f, gconstpointer data)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (f->a_far));
  g_autoptr(GError) error = NULL;
  guint8 buf[3000];

  for (gsize i = 0; i < sizeof buf; i++)
    buf[i] = pattern (i);
  pst_stream_pump_pause (f->a);
  g_output_stream_write_all (out, buf, sizeof buf, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_shutdown (g_socket_connection_get_socket (f->a_far), FALSE, TRUE, &error);
  g_assert_no_error (error);
  g_assert_false (spin_until_ended (f, 100));
  g_assert_cmpuint (pst_stream_pump_get_bytes_in (f->a), ==, 0);
  pst_stream_pump_resume (f->a);
  g_assert_true (spin_until_ended (f, 5000));
  g_assert_cmpuint (pst_stream_pump_get_bytes_in (f->a), ==, sizeof buf);
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    void (*func) (Fixture *, gconstpointer);
  } tests[] = {
    { "pieces", test_pieces },
    { "pauses", test_pauses },
    { "slow-reader", test_slow_reader },
    { "ping-pong", test_ping_pong },
    { "end-behind-bytes", test_end_behind_bytes },
  };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (tests); i++)
    for (int wrapped = 0; wrapped <= 1; wrapped++)
      {
        g_autofree char *path = g_strdup_printf ("/stream-pump/%s/%s", wrapped ? "filtered" : "socket",
                                                 tests[i].name);

        g_test_add (path, Fixture, GINT_TO_POINTER (wrapped), fixture_set_up, tests[i].func, fixture_tear_down);
      }
  return g_test_run ();
}
