/* test-client-hello.c: SNI from real ClientHellos written by GnuTLS through GIO
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "pst-client-hello.h"

static void
handshake_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  gboolean *done = user_data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, NULL);
  *done = TRUE;
}

/* Starts a real TLS client handshake on one end of a socket pair and
 * returns the bytes it sent (the ClientHello).  The handshake runs in a
 * GIO worker thread: it is ended (the server end hangs up) and waited
 * for before returning, so no thread outlives the test (LeakSanitizer's
 * tracer crashed on one at exit). */
static GBytes *
capture_client_hello (const char *server_name)
{
  int fds[2];
  g_autoptr(GSocket) client_sock = NULL, server_sock = NULL;
  g_autoptr(GIOStream) client_conn = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) got = g_byte_array_new ();
  guint8 buf[4096];
  /* generous: the worker thread is slow to start under ASan on a loaded machine */
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gboolean done = FALSE;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  client_sock = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  server_sock = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  client_conn = G_IO_STREAM (g_socket_connection_factory_create_connection (client_sock));
  tls = g_tls_client_connection_new (client_conn,
                                     server_name ? g_network_address_new (server_name, 443) : NULL,
                                     &error);
  g_assert_no_error (error);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    handshake_done_cb, &done);

  /* Collect until a whole record is there (bounded). */
  g_socket_set_blocking (server_sock, FALSE);
  while (g_get_monotonic_time () < deadline)
    {
      gssize n;

      g_main_context_iteration (NULL, FALSE);
      n = g_socket_receive (server_sock, (char *) buf, sizeof buf, NULL, NULL);
      if (n > 0)
        g_byte_array_append (got, buf, n);
      if (got->len >= 5 && got->len >= 5u + ((got->data[3] << 8) | got->data[4]))
        break;
      g_usleep (1000);
    }
  g_assert_cmpuint (got->len, >, 5);
  g_socket_close (server_sock, NULL);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!done && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_true (done);
  return g_byte_array_free_to_bytes (g_steal_pointer (&got));
}

static void
test_sni_present (void)
{
  g_autoptr(GBytes) hello = capture_client_hello ("gateway.example.test");
  g_autofree char *sni = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (hello, &len);

  g_assert_cmpint (pst_client_hello_parse (data, len, &sni), ==, PST_HELLO_OK);
  g_assert_cmpstr (sni, ==, "gateway.example.test");
}

static void
test_sni_absent (void)
{
  /* No server identity, no SNI.  (glib-networking 2.74 sends even an IP
   * address as SNI, against RFC 6066: the gateway looks those up too.) */
  g_autoptr(GBytes) hello = capture_client_hello (NULL);
  g_autofree char *sni = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (hello, &len);

  g_assert_cmpint (pst_client_hello_parse (data, len, &sni), ==, PST_HELLO_OK);
  g_assert_null (sni);
}

static void
test_truncations (void)
{
  g_autoptr(GBytes) hello = capture_client_hello ("a.test");
  gsize len;
  const guint8 *data = g_bytes_get_data (hello, &len);

  /* Every prefix is either "need more" or a complete parse; never a crash
   * (ASan checks the bounds). */
  for (gsize i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, i);
      g_autofree char *sni = NULL;
      PstHelloResult r = pst_client_hello_parse (copy, i, &sni);
      g_assert_cmpint (r, ==, PST_HELLO_NEED_MORE);
    }
}

/* The gateway peeks whatever has arrived, which may be the ClientHello
 * cut anywhere or followed by more: every cut is "need more", and the
 * whole record gives the same name whatever follows it in the buffer. */
static void
test_splits (void)
{
  g_autoptr(GBytes) hello = capture_client_hello ("split.example.test");
  gsize len;
  const guint8 *data = g_bytes_get_data (hello, &len);

  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autofree guint8 *buf = g_malloc (len + 64);
      g_autofree char *head_sni = NULL;
      g_autofree char *sni = NULL;

      /* the bytes before the cut and after it, from separate reads */
      memcpy (buf, data, cut);
      g_assert_cmpint (pst_client_hello_parse (buf, cut, &head_sni), ==,
                       cut < len ? PST_HELLO_NEED_MORE : PST_HELLO_OK);
      memcpy (buf + cut, data + cut, len - cut);
      memset (buf + len, cut & 0xff, 64);   /* whatever the client sends next */
      g_assert_cmpint (pst_client_hello_parse (buf, len + cut % 65, &sni), ==, PST_HELLO_OK);
      g_assert_cmpstr (sni, ==, "split.example.test");
    }
}

static void
test_corruptions (void)
{
  g_autoptr(GBytes) hello = capture_client_hello ("b.test");
  gsize len;
  const guint8 *data = g_bytes_get_data (hello, &len);
  GRand *rand = g_rand_new_with_seed (42);

  for (int round = 0; round < 2000; round++)
    {
      g_autofree guint8 *copy = g_memdup2 (data, len);
      g_autofree char *sni = NULL;

      for (int flips = 0; flips < 4; flips++)
        copy[g_rand_int_range (rand, 5, len)] = g_rand_int_range (rand, 0, 256);
      pst_client_hello_parse (copy, len, &sni);
      if (sni != NULL)
        g_assert_true (g_str_is_ascii (sni));
    }
  g_rand_free (rand);
}

/* A ClientHello by hand (TLS 1.2 record, one cipher suite, one SNI
 * extension naming name): a client can send any bytes there. */
static GByteArray *
hand_made_hello (const char *name)
{
  GByteArray *out = g_byte_array_new ();
  gsize n = strlen (name);
  gsize ext_len = 2 + 1 + 2 + n;                 /* list length, type, name length, name */
  gsize exts_len = 4 + ext_len;                  /* extension type and length */
  gsize body_len = 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + exts_len;
  gsize rec_len = 4 + body_len;
  guint8 random[32];
  const guint8 record[] = { 0x16, 0x03, 0x01, rec_len >> 8, rec_len & 0xff,
                            0x01, 0x00, body_len >> 8, body_len & 0xff, 0x03, 0x03 };
  const guint8 middle[] = { 0x00, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00,   /* session id, suites, compression */
                            exts_len >> 8, exts_len & 0xff, 0x00, 0x00, ext_len >> 8, ext_len & 0xff,
                            (ext_len - 2) >> 8, (ext_len - 2) & 0xff, 0x00, n >> 8, n & 0xff };

  memset (random, 0x5a, sizeof random);
  g_byte_array_append (out, record, sizeof record);
  g_byte_array_append (out, random, sizeof random);
  g_byte_array_append (out, middle, sizeof middle);
  g_byte_array_append (out, (const guint8 *) name, n);
  return out;
}

/* A server name that is no host name ("a:b", a line break) is read as it
 * was sent, whole and cut at every byte, and classified as no host name:
 * the log escapes it and builds no URL from it. */
static void
test_hostile_names (void)
{
  const char *hostile[] = { "a:b", "x\ny", "[::1]", "a b", "a_b", "\x01", "host\"quote" };
  const char *hosts[] = { "localhost", "gateway.example.test", "127.0.0.1", "xn--caf-dma.test", "a-b.c" };

  for (guint i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_autoptr(GByteArray) hello = hand_made_hello (hostile[i]);

      for (gsize cut = 0; cut <= hello->len; cut++)
        {
          g_autofree char *sni = NULL;

          g_assert_cmpint (pst_client_hello_parse (hello->data, cut, &sni), ==,
                           cut < hello->len ? PST_HELLO_NEED_MORE : PST_HELLO_OK);
          if (cut == hello->len)
            {
              g_assert_cmpstr (sni, ==, hostile[i]);
              g_assert_false (pst_client_hello_sni_is_host_name (sni));
            }
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    {
      g_autoptr(GByteArray) hello = hand_made_hello (hosts[i]);
      g_autofree char *sni = NULL;

      g_assert_cmpint (pst_client_hello_parse (hello->data, hello->len, &sni), ==, PST_HELLO_OK);
      g_assert_cmpstr (sni, ==, hosts[i]);
      g_assert_true (pst_client_hello_sni_is_host_name (sni));
    }
  g_assert_false (pst_client_hello_sni_is_host_name (NULL));
  g_assert_false (pst_client_hello_sni_is_host_name (""));
}

static void
test_not_tls (void)
{
  const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  g_autofree char *sni = NULL;

  g_assert_cmpint (pst_client_hello_parse ((const guint8 *) http, strlen (http), &sni), ==, PST_HELLO_NOT_TLS);
  g_assert_null (sni);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/client-hello/sni", test_sni_present);
  g_test_add_func ("/client-hello/no-sni", test_sni_absent);
  g_test_add_func ("/client-hello/truncations", test_truncations);
  g_test_add_func ("/client-hello/splits", test_splits);
  g_test_add_func ("/client-hello/corruptions", test_corruptions);
  g_test_add_func ("/client-hello/not-tls", test_not_tls);
  g_test_add_func ("/client-hello/hostile-names", test_hostile_names);
  return g_test_run ();
}
