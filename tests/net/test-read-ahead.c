/* test-read-ahead.c: PstReadAhead over a real loopback socket: bytes, readiness, end, close
 * SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <gio/gio.h>

#include "pst-read-ahead.h"

typedef struct {
  GSocketConnection *near;   /* wrapped */
  GSocketConnection *far;    /* the peer, written to directly */
  GIOStream         *wrapped;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
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
  f->far = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (bound), NULL, &error);
  g_assert_no_error (error);
  f->near = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  f->wrapped = pst_read_ahead_wrap (G_IO_STREAM (f->near));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->wrapped);
  g_clear_object (&f->near);
  g_clear_object (&f->far);
}

static void
send_all (Fixture *f, const void *data, gsize len)
{
  g_autoptr(GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (f->far)), data, len, NULL, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
fired_cb (GObject *stream, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Does a source made now fire within ms? */
static gboolean
fires_within (GPollableInputStream *in, guint ms)
{
  g_autoptr(GSource) source = g_pollable_input_stream_create_source (in, NULL);
  gboolean fired = FALSE, late = FALSE;
  guint id;

  g_source_set_callback (source, (GSourceFunc) (void (*)(void)) fired_cb, &fired, NULL);
  g_source_attach (source, NULL);
  id = g_timeout_add (ms, timeout_cb, &late);
  while (!fired && !late)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (source);
  if (!late)
    g_source_remove (id);
  return fired;
}

/* Wait (bounded) until the socket is readable. */
static void
wait_readable (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_connection_get_socket (f->near);

  g_assert_true (g_socket_condition_timed_wait (socket, G_IO_IN, 5 * G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);
}

/* A small read takes everything there is; the rest is served from hand,
 * and the source is ready while bytes are in hand although the socket is
 * empty (glib-networking keeps the source it made earlier). */
static void
test_bytes_in_hand (Fixture *f, gconstpointer data)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (f->wrapped));
  guint8 msg[3000], got[3000];
  g_autoptr(GError) error = NULL;
  gsize have = 0;
  gssize n;

  for (guint i = 0; i < sizeof msg; i++)
    msg[i] = (guint8) (i * 7 + 3);
  g_assert_true (g_pollable_input_stream_can_poll (in));
  g_assert_false (fires_within (in, 50));
  send_all (f, msg, sizeof msg);
  wait_readable (f);
  g_usleep (20000);   /* all 3000 bytes arrived on loopback */

  /* a 5-byte read (a TLS record header), then reads of every size up to 97 */
  n = g_pollable_input_stream_read_nonblocking (in, got, 5, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 5);
  have = 5;
  g_assert_true (g_pollable_input_stream_is_readable (in));
  g_assert_true (fires_within (in, 1000));
  while (have < sizeof msg)
    {
      gsize want = MIN ((gsize) 1 + have % 97, sizeof msg - have);

      n = g_pollable_input_stream_read_nonblocking (in, got + have, want, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      have += n;
    }
  g_assert_cmpmem (got, sizeof got, msg, sizeof msg);
  /* nothing in hand, nothing on the socket */
  n = g_pollable_input_stream_read_nonblocking (in, got, 5, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_assert_cmpint (n, ==, -1);
  g_assert_false (fires_within (in, 50));
}

/* Small reads (read ahead) and large ones (straight from the socket)
 * mixed, the end seen after the last byte; then blocking reads. */
static void
test_direct_and_end (Fixture *f, gconstpointer data)
{
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (f->wrapped));
  g_autofree guint8 *msg = g_malloc (100000);
  g_autofree guint8 *got = g_malloc (100000);
  g_autoptr(GError) error = NULL;
  gsize have = 0;
  gssize n;

  for (guint i = 0; i < 100000; i++)
    msg[i] = (guint8) (i * 13 + 1);
  send_all (f, msg, 100000);
  g_io_stream_close (G_IO_STREAM (f->far), NULL, &error);
  g_assert_no_error (error);
  for (guint rounds = 0; have < 100000; rounds++)
    {
      gsize want = rounds % 2 ? 7 : 20000;

      g_assert_cmpuint (rounds, <, 100000);
      n = g_pollable_input_stream_read_nonblocking (in, got + have, MIN (want, 100000 - have), NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          wait_readable (f);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      have += n;
    }
  g_assert_cmpmem (got, 100000, msg, 100000);
  wait_readable (f);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (in, got, 5, NULL, &error), ==, 0);
  g_assert_no_error (error);
  g_assert_cmpint (g_input_stream_read (G_INPUT_STREAM (in), got, 5, NULL, &error), ==, 0);
  g_assert_no_error (error);
}

/* Closing the wrapper closes the socket: the peer sees the end. */
static void
test_close (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  guint8 b;

  g_io_stream_close (f->wrapped, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_is_closed (g_socket_connection_get_socket (f->near)));
  g_socket_set_timeout (g_socket_connection_get_socket (f->far), 5);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (f->far)), &b, 1, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/read-ahead/bytes-in-hand", Fixture, NULL, fixture_set_up, test_bytes_in_hand, fixture_tear_down);
  g_test_add ("/read-ahead/direct-and-end", Fixture, NULL, fixture_set_up, test_direct_and_end, fixture_tear_down);
  g_test_add ("/read-ahead/close", Fixture, NULL, fixture_set_up, test_close, fixture_tear_down);
  return g_test_run ();
}
