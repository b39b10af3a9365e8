/* test-io-close.c: pst_io_close_async on real loopback TCP: a close with
 * bytes from the peer left unread still delivers every queued byte, then
 * a clean end (no reset)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-io-close.h"

static void
closed_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_assert_true (pst_io_close_finish (G_IO_STREAM (source), result, NULL));
  *done = TRUE;
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
  gsize sent = 0, got = 0;
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_data_func ("/io-close/unread-1-byte", GSIZE_TO_POINTER (1), test_unread_then_close);
  g_test_add_data_func ("/io-close/unread-tickets", GSIZE_TO_POINTER (255), test_unread_then_close);
  g_test_add_data_func ("/io-close/unread-4k", GSIZE_TO_POINTER (4096), test_unread_then_close);
  return g_test_run ();
}
