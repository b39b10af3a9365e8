/* test-io-close.c: pst_io_close_async on real loopback TCP: a close with
 * bytes from the peer left unread still delivers every queued byte, then
 * a clean end (no reset); the lingering close (pst-linger.c) against a
 * peer that keeps sending, one that never reads nor ends, and 500 at once
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "pst-io-close.h"
#include "pst-linger.h"
#include "pst-metrics.h"
#include "pst-tls-client.h"
#include "pst-tls-server.h"

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (pst_io_close_finish (G_IO_STREAM (source), result, NULL));
  *done = TRUE;
}

/* Reads the peer's side to its end: every byte must come, then a clean
 * end, never a reset. */
static void
assert_peer_reads_all (GSocket *peer, gsize sent)
{
  g_autofree guint8 *buf = g_malloc (64 * 1024);
  gsize got = 0;

  for (;;)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_socket_receive (peer, (gchar *) buf, 64 * 1024, NULL, &local);

      if (n < 0)
        g_error ("the peer read %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes, then: %s",
                 got, sent, local->message);
      if (n == 0)
        break;
      got += n;
    }
  g_assert_cmpuint (got, ==, sent);
}

/* Fills what the kernel takes on our side (the peer does not read yet),
 * with the peer's few bytes unread on ours, then closes: the peer must
 * read all of it and then the end.  Without discarding what is unread,
 * close () resets the connection and the queued bytes are lost (ops-drain:
 * a TLS 1.3 back-end's late session tickets on a paused pump). */
static void
test_unread_then_close (gconstpointer data)
{
  gsize peer_bytes = GPOINTER_TO_SIZE (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GSocket) ours = NULL;
  g_autoptr(GIOStream) conn = NULL;
  g_autofree guint8 *buf = g_malloc (64 * 1024);
  guint8 request[4096];
  gsize sent = 0;
  gboolean done = FALSE;
  gint64 deadline;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  bound = g_socket_get_local_address (listener, &error);
  g_assert_no_error (error);
  peer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (peer, bound, NULL, &error));
  ours = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (peer, 10);
  conn = G_IO_STREAM (g_socket_connection_factory_create_connection (ours));

  /* the peer's bytes, which nobody on our side reads */
  memset (request, 'r', sizeof request);
  g_assert_cmpint (g_socket_send (peer, (const gchar *) request, peer_bytes, NULL, &error), ==, (gssize) peer_bytes);
  /* ours: as much as the kernel takes without the peer reading */
  memset (buf, 'x', 64 * 1024);
  g_socket_set_blocking (ours, FALSE);
  for (int i = 0; i < 4096; i++)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_socket_send (ours, (const gchar *) buf, 64 * 1024, NULL, &local);

      if (n < 0)
        {
          g_assert_error (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          break;
        }
      sent += n;
    }
  g_assert_cmpuint (sent, >, 64 * 1024);
  /* the peer's bytes have arrived (bounded wait) */
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_socket_get_available_bytes (ours) < (gssize) peer_bytes && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  g_assert_cmpint (g_socket_get_available_bytes (ours), ==, (gssize) peer_bytes);

  pst_io_close_async (conn, 3000, closed_cb, &done);
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (done);

  assert_peer_reads_all (peer, sent);
}

/* ---- the lingering close ------------------------------------------------ */

typedef struct {
  GSocket       *listener;
  GSocketAddress *bound;
} Listener;

static void
listener_init (Listener *l)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);

  l->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_set_listen_backlog (l->listener, 1024);
  g_assert_true (g_socket_bind (l->listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (l->listener, &error));
  l->bound = g_socket_get_local_address (l->listener, &error);
  g_assert_no_error (error);
}

static void
listener_clear (Listener *l)
{
  g_clear_object (&l->listener);
  g_clear_object (&l->bound);
}

/* peer: the far end (blocking, 10 s timeout); returns our end as a stream */
static GIOStream *
pair_new (Listener *l, GSocket **peer)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) ours = NULL;

  *peer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (*peer, l->bound, NULL, &error));
  ours = g_socket_accept (l->listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (*peer, 10);
  return G_IO_STREAM (g_socket_connection_factory_create_connection (ours));
}

/* As much as the kernel takes on our side without the peer reading. */
static gsize
fill (GIOStream *conn)
{
  GSocket *ours = g_socket_connection_get_socket (G_SOCKET_CONNECTION (conn));
  g_autofree guint8 *buf = g_malloc (64 * 1024);
  gsize sent = 0;

  memset (buf, 'x', 64 * 1024);
  g_socket_set_blocking (ours, FALSE);
  for (int i = 0; i < 4096; i++)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_socket_send (ours, (const gchar *) buf, 64 * 1024, NULL, &local);

      if (n < 0)
        {
          g_assert_error (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          break;
        }
      sent += n;
    }
  g_assert_cmpuint (sent, >, 64 * 1024);
  return sent;
}

/* The value of the one line "name value" of /metrics. */
static double
metric (const char *name)
{
  g_autoptr(PstMetrics) m = pst_metrics_new ();
  g_autofree char *text = pst_metrics_render (m, NULL);
  g_autofree char *prefix = g_strdup_printf ("\n%s ", name);
  const char *at = strstr (text, prefix);

  g_assert_nonnull (at);
  g_assert_null (strstr (at + 1, prefix));
  return g_ascii_strtod (at + strlen (prefix), NULL);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* not the listing's own */
}

static void
count_closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  guint *done = user_data;

  g_assert_true (pst_io_close_finish (G_IO_STREAM (source), result, NULL));
  (*done)++;
}

/* Iterates the default context until *counter reaches want or the
 * (bounded) wait ends; returns the seconds waited. */
static double
iterate_until (volatile guint *counter, guint want, double max_s)
{
  gint64 t0 = g_get_monotonic_time ();
  gint64 deadline = t0 + (gint64) (max_s * G_USEC_PER_SEC);

  while (*counter < want && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
  return (g_get_monotonic_time () - t0) / 1e6;
}

static double
iterate_until_lingering (guint at_most, double max_s)
{
  gint64 t0 = g_get_monotonic_time ();
  gint64 deadline = t0 + (gint64) (max_s * G_USEC_PER_SEC);

  while (pst_linger_get_n_open () > at_most && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
  return (g_get_monotonic_time () - t0) / 1e6;
}

typedef struct {
  GSocket  *peer;
  double    send_s;
  guint64   peer_sent;
  guint64   got;
  gboolean  reset;
  char     *error;
  guint     finished;   /* atomic */
} Sender;

/* The peer: keeps sending for send_s after our close, then reads all
 * that we sent and the end, then closes. */
static gpointer
sender_thread (gpointer data)
{
  Sender *s = data;
  g_autofree guint8 *buf = g_malloc (64 * 1024);
  gint64 until = g_get_monotonic_time () + (gint64) (s->send_s * G_USEC_PER_SEC);
  g_autoptr(GError) error = NULL;

  memset (buf, 'r', 64 * 1024);
  while (g_get_monotonic_time () < until)
    {
      gssize n = g_socket_send (s->peer, (const gchar *) buf, 16 * 1024, NULL, &error);

      if (n < 0)
        break;
      s->peer_sent += n;
    }
  while (error == NULL)
    {
      gssize n = g_socket_receive (s->peer, (gchar *) buf, 64 * 1024, NULL, &error);

      if (n <= 0)
        break;
      s->got += n;
    }
  if (error != NULL)
    {
      s->reset = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      s->error = g_strdup (error->message);
    }
  g_socket_close (s->peer, NULL);
  g_atomic_int_set (&s->finished, 1);
  return NULL;
}

/* A peer that keeps sending for 2 s after our close still receives every
 * byte we had queued, then our end (not a reset); the lingering socket
 * goes at the peer's end, not at a deadline. */
static void
test_linger_peer_keeps_sending (void)
{
  Listener l = { 0 };
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GIOStream) conn = NULL;
  g_autoptr(GThread) thread = NULL;
  Sender s = { 0 };
  guint done = 0;
  guint64 cut0;
  gsize sent;
  double waited;

  pst_linger_close_all ();
  pst_linger_set_limits (10000, 5000, PST_LINGER_MAX);
  listener_init (&l);
  conn = pair_new (&l, &peer);
  sent = fill (conn);
  g_assert_cmpint (g_socket_send (peer, "early", 5, NULL, NULL), ==, 5);
  cut0 = pst_linger_get_n_cut ();

  pst_io_close_async (conn, 3000, count_closed_cb, &done);
  iterate_until (&done, 1, 5);
  g_assert_cmpuint (done, ==, 1);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 1);

  s.peer = peer;
  s.send_s = 2.0;
  thread = g_thread_new ("peer", sender_thread, &s);
  iterate_until (&s.finished, 1, 30);
  g_assert_cmpuint (g_atomic_int_get (&s.finished), ==, 1);
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("the peer sent %" G_GUINT64_FORMAT " bytes in 2 s after our close, read %" G_GUINT64_FORMAT
                  " of %" G_GSIZE_FORMAT, s.peer_sent, s.got, sent);
  g_assert_null (s.error);
  g_assert_false (s.reset);
  g_assert_cmpuint (s.peer_sent, >, 1024 * 1024);
  g_assert_cmpuint (s.got, ==, sent);
  /* its end ends the lingering at once (the idle time is 5 s) */
  waited = iterate_until_lingering (0, 5);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);
  g_assert_cmpfloat (waited, <, 2.0);
  g_assert_cmpuint (pst_linger_get_n_cut (), ==, cut0);
  g_free (s.error);
  listener_clear (&l);
}

/* A peer that never reads nor ends: its socket is closed once it has
 * been silent for the idle time, and the descriptor is released; closed
 * then (nothing unread), our queued bytes still reach it, then the end. */
static void
test_linger_silent_peer (void)
{
  Listener l = { 0 };
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GIOStream) conn = NULL;
  guint done = 0, fds0;
  guint64 cut0;
  gsize sent;
  double waited;

  pst_linger_close_all ();
  pst_linger_set_limits (10000, 500, PST_LINGER_MAX);
  listener_init (&l);
  conn = pair_new (&l, &peer);
  sent = fill (conn);
  fds0 = count_fds ();
  cut0 = pst_linger_get_n_cut ();

  pst_io_close_async (conn, 3000, count_closed_cb, &done);
  iterate_until (&done, 1, 5);
  g_assert_cmpuint (done, ==, 1);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 1);
  g_assert_cmpuint (count_fds (), ==, fds0);   /* the stream's descriptor is closed, ours held */
  g_assert_cmpfloat (metric ("postern_lingering_closes"), ==, 1);

  waited = iterate_until_lingering (0, 5);
  g_test_message ("a silent peer's socket was closed after %.2f s", waited);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);
  g_assert_cmpfloat (waited, >=, 0.4);
  g_assert_cmpfloat (waited, <, 3.0);
  g_assert_cmpuint (pst_linger_get_n_cut (), ==, cut0 + 1);
  g_assert_cmpuint (count_fds (), ==, fds0 - 1);
  g_assert_cmpfloat (metric ("postern_lingering_closes"), ==, 0);
  g_assert_cmpfloat (metric ("postern_lingering_closes_cut_total"), ==, cut0 + 1);

  assert_peer_reads_all (peer, sent);
  listener_clear (&l);
}

/* A quiet peer that holds every byte of ours (acknowledged) loses nothing
 * to a reset if it sends later: the socket is closed at once, no linger
 * (the common back-end close, six system calls saved); the peer reads
 * our bytes, then the end. */
static void
test_linger_not_needed (void)
{
  Listener l = { 0 };
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GIOStream) conn = NULL;
  GOutputStream *out;
  guint8 buf[4096];
  guint done = 0, fds0;

  pst_linger_close_all ();
  pst_linger_set_limits (10000, 5000, PST_LINGER_MAX);
  listener_init (&l);
  conn = pair_new (&l, &peer);
  out = g_io_stream_get_output_stream (conn);
  memset (buf, 'q', sizeof buf);
  g_assert_true (g_output_stream_write_all (out, buf, sizeof buf, NULL, NULL, NULL));
  for (int i = 0; i < 200; i++)   /* loopback acknowledges at once; bounded */
    {
      int unacked = -1;

      g_assert_cmpint (ioctl (g_socket_get_fd (pst_io_find_socket (conn)), SIOCOUTQ, &unacked), ==, 0);
      if (unacked == 0)
        break;
      g_usleep (10000);
    }
  fds0 = count_fds ();
  pst_io_close_async (conn, 3000, count_closed_cb, &done);
  iterate_until (&done, 1, 5);
  g_assert_cmpuint (done, ==, 1);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);
  g_assert_cmpuint (count_fds (), ==, fds0 - 1);
  assert_peer_reads_all (peer, sizeof buf);
  listener_clear (&l);
}

/* A peer that sends without end is dropped at the total time, however
 * busy it keeps the socket. */
static void
test_linger_total_time (void)
{
  Listener l = { 0 };
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GIOStream) conn = NULL;
  g_autoptr(GThread) thread = NULL;
  Sender s = { 0 };
  guint done = 0;
  guint64 cut0;
  double waited;

  pst_linger_close_all ();
  pst_linger_set_limits (1000, 500, PST_LINGER_MAX);
  listener_init (&l);
  conn = pair_new (&l, &peer);
  fill (conn);   /* bytes of ours in flight: what a reset would lose */
  cut0 = pst_linger_get_n_cut ();
  s.peer = peer;
  s.send_s = 4.0;
  thread = g_thread_new ("peer", sender_thread, &s);

  pst_io_close_async (conn, 3000, count_closed_cb, &done);
  iterate_until (&done, 1, 5);
  g_assert_cmpuint (done, ==, 1);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 1);
  waited = iterate_until_lingering (0, 5);
  g_test_message ("a peer sending without pause was dropped %.2f s after our close", waited);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);
  g_assert_cmpfloat (waited, >=, 0.9);
  g_assert_cmpfloat (waited, <, 2.5);
  g_assert_cmpuint (pst_linger_get_n_cut (), ==, cut0 + 1);
  iterate_until (&s.finished, 1, 10);
  g_thread_join (g_steal_pointer (&thread));
  g_assert_cmpuint (s.peer_sent, >, 0);
  g_free (s.error);
  listener_clear (&l);
}

/* 500 closes at once of peers that never read nor end: the closes end at
 * once, the lingering sockets hold one descriptor each (no more than the
 * bound) and all are gone by the deadline. */
static void
test_linger_flood (gconstpointer data)
{
  guint max = GPOINTER_TO_UINT (data);
  enum { N = 500 };
  Listener l = { 0 };
  GSocket *peers[N];
  GIOStream *conns[N];
  struct rlimit rl;
  guint done = 0, fds0, fds_open, most = 0;
  gint64 t0;
  double closing_s, waited;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  rl.rlim_cur = rl.rlim_max;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &rl), ==, 0);
  g_assert_cmpuint (rl.rlim_cur, >, 3 * N + 64);
  pst_linger_close_all ();
  pst_linger_set_limits (5000, 2000, max);
  listener_init (&l);
  for (guint i = 0; i < N; i++)
    {
      g_autoptr(GError) error = NULL;

      conns[i] = pair_new (&l, &peers[i]);
      g_assert_cmpint (g_socket_send (peers[i], "unread", 6, NULL, &error), ==, 6);
      g_assert_cmpint (g_socket_send (g_socket_connection_get_socket (G_SOCKET_CONNECTION (conns[i])),
                                      "queued", 6, NULL, &error), ==, 6);
    }
  fds0 = count_fds ();

  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < N; i++)
    pst_io_close_async (conns[i], 3000, count_closed_cb, &done);
  while (done < N && g_get_monotonic_time () < t0 + 10 * G_USEC_PER_SEC)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (500);
      most = MAX (most, pst_linger_get_n_open ());
    }
  closing_s = (g_get_monotonic_time () - t0) / 1e6;
  g_assert_cmpuint (done, ==, N);
  for (guint i = 0; i < N; i++)
    g_object_unref (conns[i]);
  fds_open = count_fds ();
  most = MAX (most, pst_linger_get_n_open ());
  g_test_message ("%d closes took %.3f s; %u lingering at most, %u descriptors (%u before)", N, closing_s,
                  most, fds_open, fds0);
  g_assert_cmpfloat (closing_s, <, 2.0);
  g_assert_cmpuint (most, ==, MIN (N, max));
  g_assert_cmpuint (pst_linger_get_n_open (), ==, MIN (N, max));
  /* each stream's descriptor is closed; one held per lingering socket */
  g_assert_cmpuint (fds_open, ==, fds0 - N + MIN (N, max));

  waited = iterate_until_lingering (0, 10);
  g_test_message ("all gone %.2f s later", waited);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);
  g_assert_cmpfloat (waited, <, 5.0);
  g_assert_cmpuint (count_fds (), ==, fds0 - N);
  for (guint i = 0; i < N; i++)
    g_object_unref (peers[i]);
  listener_clear (&l);
}

/* ---- the TLS back-end leg -------------------------------------------------- */

typedef struct {
  gboolean        is_server;  /* the peer: glib-networking's server (else its client) */
  GSocket        *listener;
  GSocketAddress *bound;
  GTlsCertificate *cert;
  guint           ready;     /* atomic: handshake done */
  guint           closed;    /* atomic: our close is done */
  guint64         peer_sent;
  guint64         got;       /* application bytes read before close_notify */
  gboolean        close_notify;
  gboolean        eof;       /* the socket's end after close_notify (not a reset) */
  char           *error;
  guint           finished;  /* atomic */
} TlsPeer;

static gboolean
accept_any_cb (GTlsConnection *conn, GTlsCertificate *cert, GTlsCertificateFlags errors, gpointer user_data)
{
  return TRUE;   /* the test's self-signed certificate */
}

/* glib-networking's end (server or client): after the handshake it sends
 * a little (unread on our side), waits for our close, keeps sending for
 * 2 s, then reads all we sent, our close_notify, and the socket's end. */
static gpointer
tls_peer_thread (gpointer data)
{
  TlsPeer *p = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autofree guint8 *buf = g_malloc (64 * 1024);
  gint64 until;

  if (p->is_server)
    socket = g_socket_accept (p->listener, NULL, &error);
  else if ((socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error)) != NULL &&
           !g_socket_connect (socket, p->bound, NULL, &error))
    g_clear_object (&socket);
  if (socket == NULL)
    goto out;
  g_socket_set_timeout (socket, 10);
  conn = g_socket_connection_factory_create_connection (socket);
  if (p->is_server)
    tls = g_tls_server_connection_new (G_IO_STREAM (conn), p->cert, &error);
  else if ((tls = g_tls_client_connection_new (G_IO_STREAM (conn), NULL, &error)) != NULL)
    g_signal_connect (tls, "accept-certificate", G_CALLBACK (accept_any_cb), NULL);
  if (tls == NULL || !g_tls_connection_handshake (G_TLS_CONNECTION (tls), NULL, &error))
    goto out;
  memset (buf, 'r', 64 * 1024);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (tls), buf, 300, NULL, NULL, &error))
    goto out;
  g_atomic_int_set (&p->ready, 1);
  until = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (!g_atomic_int_get (&p->closed) && g_get_monotonic_time () < until)
    g_usleep (1000);
  until = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < until)
    {
      gssize n = g_output_stream_write (g_io_stream_get_output_stream (tls), buf, 16 * 1024, NULL, &error);

      if (n < 0)
        goto out;
      p->peer_sent += n;
    }
  for (;;)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (tls), buf, 64 * 1024, NULL, &error);

      if (n < 0)
        goto out;
      if (n == 0)
        break;
      p->got += n;
    }
  p->close_notify = TRUE;
  /* under TLS, the socket: our FIN, not a reset */
  p->eof = g_socket_receive (socket, (gchar *) buf, 64 * 1024, NULL, &error) == 0;

out:
  if (error != NULL)
    p->error = g_strdup (error->message);
  g_atomic_int_set (&p->finished, 1);
  return NULL;
}

static void
handshake_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Both legs' TLS: the back-end leg's (PstTlsClient, the peer a server)
 * and the accept leg's (PstTlsServer, the peer a client).  1 MB written
 * to a peer that does not read yet, its bytes unread on our side, then
 * our close (close_notify) while it keeps sending for 2 s: it still reads
 * all of it, the close_notify, and the socket's end. */
static void
test_linger_tls (gconstpointer data)
{
  gboolean accept_leg = GPOINTER_TO_INT (data);
  Listener l = { 0 };
  TlsPeer p = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("postern-io-close-XXXXXX", &error);
  g_autofree char *key = g_build_filename (dir, "key.pem", NULL);
  g_autofree char *cert = g_build_filename (dir, "cert.pem", NULL);
  g_autoptr(GSubprocess) req = NULL;
  g_autoptr(GThread) thread = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(PstTlsSession) tls = NULL;
  g_autoptr(GAsyncResult) hs = NULL;
  g_autofree guint8 *buf = g_malloc0 (64 * 1024);
  GOutputStream *out;
  guint done = 0;
  gsize written = 0;
  guint16 port;
  gint64 deadline;

  g_assert_no_error (error);
  req = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                          "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                          "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                          "-addext", "subjectAltName=DNS:localhost", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (req, NULL, &error));
  p.cert = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);

  pst_linger_close_all ();
  pst_linger_set_limits (10000, 5000, PST_LINGER_MAX);
  listener_init (&l);
  p.is_server = !accept_leg;
  p.listener = l.listener;
  p.bound = l.bound;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (l.bound));
  thread = g_thread_new ("tls-peer", tls_peer_thread, &p);
  if (accept_leg)
    {
      socket = g_socket_accept (l.listener, NULL, &error);
      g_assert_no_error (error);
      conn = g_socket_connection_factory_create_connection (socket);
      tls = PST_TLS_SESSION (pst_tls_server_new (conn, p.cert, NULL, G_TLS_AUTHENTICATION_NONE, NULL, &error));
    }
  else
    {
      socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_true (g_socket_connect (socket, l.bound, NULL, &error));
      conn = g_socket_connection_factory_create_connection (socket);
      tls = PST_TLS_SESSION (pst_tls_client_new (conn, "localhost", port, &error));
    }
  g_assert_no_error (error);
  pst_tls_session_handshake_async (tls, 10, NULL, handshake_done_cb, &hs);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while ((hs == NULL || !g_atomic_int_get (&p.ready)) && !g_atomic_int_get (&p.finished) &&
         g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (500);
  g_assert_null (p.error);
  g_assert_nonnull (hs);
  g_assert_true (pst_tls_session_handshake_finish (tls, hs, &error));
  g_assert_no_error (error);
  /* its 300 bytes have arrived, unread (on the accept leg PstTlsServer
   * may have read them with the client's Finished: unread above) */
  if (!accept_leg)
    {
      while (g_socket_get_available_bytes (socket) < 300 && g_get_monotonic_time () < deadline)
        g_usleep (1000);
      g_assert_cmpint (g_socket_get_available_bytes (socket), >=, 300);
    }

  /* 1 MB: the kernel takes it (part in our send queue, the peer not
   * reading), with room left for the close_notify */
  out = g_io_stream_get_output_stream (G_IO_STREAM (tls));
  while (written < 1024 * 1024 && g_get_monotonic_time () < deadline)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), buf, 16 * 1024,
                                                             NULL, &local);

      if (n < 0)
        {
          g_assert_error (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_usleep (1000);
          continue;
        }
      written += n;
    }
  g_assert_cmpuint (written, ==, 1024 * 1024);

  pst_io_close_async (G_IO_STREAM (tls), 3000, count_closed_cb, &done);
  iterate_until (&done, 1, 5);
  g_assert_cmpuint (done, ==, 1);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 1);
  g_atomic_int_set (&p.closed, 1);
  iterate_until (&p.finished, 1, 30);
  g_assert_cmpuint (g_atomic_int_get (&p.finished), ==, 1);
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("%s leg, TLS peer: sent %" G_GUINT64_FORMAT " bytes after our close, read %" G_GUINT64_FORMAT
                  " of %" G_GSIZE_FORMAT ", close_notify %s, end %s", accept_leg ? "accept" : "back-end", p.peer_sent, p.got, written,
                  p.close_notify ? "yes" : "no", p.eof ? "yes" : "no");
  g_assert_null (p.error);
  g_assert_cmpuint (p.peer_sent, >, 64 * 1024);
  g_assert_cmpuint (p.got, ==, written);
  g_assert_true (p.close_notify);
  g_assert_true (p.eof);
  iterate_until_lingering (0, 5);
  g_assert_cmpuint (pst_linger_get_n_open (), ==, 0);

  g_clear_object (&p.cert);
  g_unlink (key);
  g_unlink (cert);
  g_rmdir (dir);
  listener_clear (&l);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_data_func ("/io-close/unread-1-byte", GSIZE_TO_POINTER (1), test_unread_then_close);
  g_test_add_data_func ("/io-close/unread-tickets", GSIZE_TO_POINTER (255), test_unread_then_close);
  g_test_add_data_func ("/io-close/unread-4k", GSIZE_TO_POINTER (4096), test_unread_then_close);
  g_test_add_func ("/io-close/linger/peer-keeps-sending", test_linger_peer_keeps_sending);
  g_test_add_func ("/io-close/linger/silent-peer", test_linger_silent_peer);
  g_test_add_func ("/io-close/linger/not-needed", test_linger_not_needed);
  g_test_add_func ("/io-close/linger/total-time", test_linger_total_time);
  g_test_add_data_func ("/io-close/linger/tls-backend-leg", GINT_TO_POINTER (FALSE), test_linger_tls);
  g_test_add_data_func ("/io-close/linger/tls-accept-leg", GINT_TO_POINTER (TRUE), test_linger_tls);
  g_test_add_data_func ("/io-close/linger/flood-500", GUINT_TO_POINTER (PST_LINGER_MAX), test_linger_flood);
  g_test_add_data_func ("/io-close/linger/flood-500-bound-100", GUINT_TO_POINTER (100), test_linger_flood);
  return g_test_run ();
}
