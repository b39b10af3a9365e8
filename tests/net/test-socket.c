/* test-socket.c: PstSocket on real loopback TCP (IPv4 and IPv6): an accepted socket and a dialled one
 * work as GSocket does, without GIO's probing; TCP_NODELAY handed down by a listening socket
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE   /* accept4 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gio/gio.h>

#include "pst-socket.h"

/* A listening GSocket on the loopback of family, port chosen by the kernel. */
static GSocket *
listen_on (GSocketFamily family, GSocketAddress **bound)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (family);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *listening = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  if (!g_socket_bind (listening, any, TRUE, &error))
    {
      g_object_unref (listening);
      return NULL;   /* no IPv6 loopback here */
    }
  g_assert_true (g_socket_listen (listening, &error));
  *bound = g_socket_get_local_address (listening, &error);
  g_assert_no_error (error);
  return listening;
}

/* Waits (bounded) until fd is readable. */
static void
wait_readable (GSocket *socket)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_socket_condition_timed_wait (socket, G_IO_IN, 5 * G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);
}

static void
test_accepted_and_dialled (gconstpointer data)
{
  GSocketFamily family = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) listening = listen_on (family, &bound);
  g_autoptr(GSocket) dialled = NULL;
  g_autoptr(GSocket) accepted = NULL;
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  char buf[16] = { 0 };
  gsize written = 0;
  int fd;

  if (listening == NULL)
    {
      /* not a skip: the IPv4 case always runs; this family has no loopback */
      g_test_message ("no loopback for family %d", family);
      return;
    }
  /* dialled: non-blocking from socket() on; connect as GIO does */
  dialled = pst_socket_new_tcp (family, &error);
  g_assert_no_error (error);
  g_assert_true (PST_IS_SOCKET (dialled));
  g_assert_true ((fcntl (g_socket_get_fd (dialled), F_GETFL) & O_NONBLOCK) != 0);
  g_assert_true ((fcntl (g_socket_get_fd (dialled), F_GETFD) & FD_CLOEXEC) != 0);
  g_socket_set_blocking (dialled, FALSE);
  if (!g_socket_connect (dialled, bound, NULL, &error))
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PENDING);
      g_clear_error (&error);
      g_assert_true (g_socket_condition_timed_wait (dialled, G_IO_OUT, 5 * G_USEC_PER_SEC, NULL, &error));
      g_assert_true (g_socket_check_connect_result (dialled, &error));
    }
  g_assert_no_error (error);
  g_assert_true (g_socket_is_connected (dialled));

  /* accepted: as the listener takes clients */
  wait_readable (listening);
  fd = accept4 (g_socket_get_fd (listening), (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  accepted = pst_socket_new_accepted (fd, peer.ss_family);
  g_assert_cmpint (g_socket_get_fd (accepted), ==, fd);
  g_assert_cmpint (g_socket_get_family (accepted), ==, family);
  g_assert_cmpint (g_socket_get_socket_type (accepted), ==, G_SOCKET_TYPE_STREAM);
  g_assert_cmpint (g_socket_get_protocol (accepted), ==, G_SOCKET_PROTOCOL_TCP);
  conn = g_socket_connection_factory_create_connection (accepted);
  g_assert_true (G_IS_TCP_CONNECTION (conn));
  local = g_socket_connection_get_local_address (conn, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  /* not connected for GSocketConnection (see pst-socket.h): the peer's
   * address comes from accept4, or from the GSocket itself */
  g_assert_false (g_socket_is_connected (accepted));
  g_assert_null (g_socket_connection_get_remote_address (conn, &error));
  g_assert_no_error (error);
  remote = g_socket_get_remote_address (accepted, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)), >, 0);

  /* bytes both ways, through the streams as the gateway uses them */
  g_assert_cmpint (g_socket_send (dialled, "ping", 4, NULL, &error), ==, 4);
  g_assert_no_error (error);
  wait_readable (accepted);
  g_assert_cmpint (g_pollable_input_stream_read_nonblocking (
                     G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (conn))),
                     buf, sizeof buf, NULL, &error), ==, 4);
  g_assert_no_error (error);
  g_assert_cmpmem (buf, 4, "ping", 4);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), "pong", 4,
                                            &written, NULL, &error));
  g_assert_cmpuint (written, ==, 4);
  wait_readable (dialled);
  g_assert_cmpint (g_socket_receive (dialled, buf, sizeof buf, NULL, &error), ==, 4);
  g_assert_cmpmem (buf, 4, "pong", 4);
  /* nothing more: would block, non-blocking at the kernel's level */
  g_assert_cmpint (g_socket_receive_with_blocking (accepted, buf, sizeof buf, FALSE, NULL, &error), ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_clear_error (&error);

  /* closing closes the descriptor */
  g_assert_true (g_io_stream_close (G_IO_STREAM (conn), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_socket_is_closed (accepted));
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, -1);
  g_assert_cmpint (errno, ==, EBADF);
  wait_readable (dialled);
  g_assert_cmpint (g_socket_receive (dialled, buf, sizeof buf, NULL, &error), ==, 0);
}

/* The listener sets TCP_NODELAY on its listening socket and checks the
 * first client: on Linux it is handed down (no setsockopt per client). */
static void
test_nodelay_inherited (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) listening = listen_on (G_SOCKET_FAMILY_IPV4, &bound);
  g_autoptr(GSocket) dialled = pst_socket_new_tcp (G_SOCKET_FAMILY_IPV4, &error);
  g_autoptr(GSocket) accepted = NULL;
  gint value = 0;
  int fd;

  g_assert_nonnull (listening);
  g_assert_true (g_socket_set_option (listening, IPPROTO_TCP, TCP_NODELAY, 1, &error));
  g_socket_set_blocking (dialled, TRUE);
  g_assert_true (g_socket_connect (dialled, bound, NULL, &error));
  wait_readable (listening);
  fd = accept4 (g_socket_get_fd (listening), NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  g_assert_cmpint (fd, >=, 0);
  accepted = pst_socket_new_accepted (fd, G_SOCKET_FAMILY_IPV4);
  g_assert_true (g_socket_get_option (accepted, IPPROTO_TCP, TCP_NODELAY, &value, &error));
  g_assert_cmpint (value, !=, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/socket/ipv4", GINT_TO_POINTER (G_SOCKET_FAMILY_IPV4), test_accepted_and_dialled);
  g_test_add_data_func ("/socket/ipv6", GINT_TO_POINTER (G_SOCKET_FAMILY_IPV6), test_accepted_and_dialled);
  g_test_add_func ("/socket/nodelay-inherited", test_nodelay_inherited);
  return g_test_run ();
}
