/* test-tls-client.c: PstTlsClient (the back-end leg's TLS) against openssl s_server on loopback
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

#include "pst-tls-client.h"

#define WAIT_S 20   /* every wait below is bounded by this */

typedef struct {
  char        *dir;
  guint16      port;
  GSubprocess *server;
} Fixture;

static guint16
free_port (void)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (s, any, TRUE, NULL));
  bound = g_socket_get_local_address (s, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
run (const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p, NULL, &error));
  g_assert_no_error (error);
}

static void
pump_until (gboolean *done)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!*done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_true (*done);
}

static GSocketConnection *
dial (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *conn;

  g_socket_client_set_enable_proxy (client, FALSE);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return conn;
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* openssl s_server -rev: every line comes back reversed, over TLS 1.3
 * with session tickets (OpenSSL's default). */
static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL, *cert = NULL, *accept = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  gint64 deadline;

  f->dir = g_dir_make_tmp ("postern-tls-client-XXXXXX", &error);
  g_assert_no_error (error);
  key = g_build_filename (f->dir, "key.pem", NULL);
  cert = g_build_filename (f->dir, "cert.pem", NULL);
  run ((const char *const[]) { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                               "-addext", "subjectAltName=DNS:localhost", NULL });
  f->port = free_port ();
  accept = g_strdup_printf ("127.0.0.1:%u", f->port);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* a failed assertion skips teardown: the server must not outlive us */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  f->server = g_subprocess_launcher_spawnv (launcher, (const char *const[]) { "openssl", "s_server", "-accept", accept,
                                                                            "-cert", cert, "-key", key, "-rev",
                                                                            "-tls1_3", "-quiet", NULL }, &error);
  g_assert_no_error (error);
  /* listening once a connection gets through (bounded) */
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  for (;;)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) probe = NULL;

      g_socket_client_set_enable_proxy (client, FALSE);
      probe = g_socket_client_connect_to_host (client, "127.0.0.1", f->port, NULL, NULL);
      if (probe != NULL)
        break;
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_usleep (50 * 1000);
    }
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_subprocess_force_exit (f->server);
  g_subprocess_wait (f->server, NULL, NULL);
  g_clear_object (&f->server);
  for (const char *const *n = (const char *const[]) { "key.pem", "cert.pem", NULL }; *n; n++)
    {
      g_autofree char *path = g_build_filename (f->dir, *n, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static PstTlsClient *
handshake (guint16 port, guint timeout_s, GError **error)
{
  g_autoptr(GSocketConnection) conn = dial (port);
  g_autoptr(PstTlsClient) tls = pst_tls_client_new (conn, "localhost", port, error);
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  g_assert_nonnull (tls);
  pst_tls_session_handshake_async (PST_TLS_SESSION (tls), timeout_s, NULL, done_cb, &result);
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  if (!pst_tls_session_handshake_finish (PST_TLS_SESSION (tls), result, error))
    return NULL;
  return g_steal_pointer (&tls);
}

/* One line out, its reverse back: through the pollable streams GIO's
 * async helpers use, as the pumps do. */
static void
echo_line (PstTlsClient *tls, const char *line, const char *expect)
{
  g_autoptr(GAsyncResult) wrote = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) got = g_string_new (NULL);
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (tls));
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  g_assert_true (G_IS_POLLABLE_INPUT_STREAM (in));
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (tls)), line, strlen (line),
                                   G_PRIORITY_DEFAULT, NULL, done_cb, &wrote);
  while (wrote == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (g_output_stream_write_all_finish (g_io_stream_get_output_stream (G_IO_STREAM (tls)), wrote,
                                                   NULL, &error));
  while (strchr (got->str, '\n') == NULL && g_get_monotonic_time () < deadline)
    {
      char buf[256];
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buf, sizeof buf,
                                                           NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          g_main_context_iteration (NULL, FALSE);
          g_usleep (1000);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (got, buf, n);
    }
  g_assert_cmpstr (got->str, ==, expect);
}

static char *
subject_of (GTlsCertificate *cert)
{
  char *subject = NULL;

  g_object_get (cert, "subject-name", &subject, NULL);
  return subject;
}

static void
test_handshake_echo_resume (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) first = handshake (f->port, 10, &error);
  g_autoptr(PstTlsClient) second = NULL;
  g_autoptr(GTlsCertificate) chain1 = NULL;
  g_autoptr(GTlsCertificate) chain2 = NULL;
  g_autofree char *subject1 = NULL, *subject2 = NULL;

  g_assert_no_error (error);
  g_assert_false (pst_tls_session_is_resumed (PST_TLS_SESSION (first)));
  chain1 = pst_tls_session_dup_peer_chain (PST_TLS_SESSION (first));
  g_assert_nonnull (chain1);
  subject1 = subject_of (chain1);
  g_assert_nonnull (strstr (subject1, "CN=localhost"));
  /* the ticket comes with the first reads */
  echo_line (first, "hello back-end\n", "dne-kcab olleh\n");
  g_assert_true (g_io_stream_close (G_IO_STREAM (first), NULL, &error));
  g_assert_no_error (error);

  /* resumed, and the chain to check is still there */
  second = handshake (f->port, 10, &error);
  g_assert_no_error (error);
  g_assert_true (pst_tls_session_is_resumed (PST_TLS_SESSION (second)));
  chain2 = pst_tls_session_dup_peer_chain (PST_TLS_SESSION (second));
  g_assert_nonnull (chain2);
  subject2 = subject_of (chain2);
  g_assert_cmpstr (subject1, ==, subject2);
  g_assert_true (g_tls_certificate_is_same (chain1, chain2));
  echo_line (second, "again\n", "niaga\n");
}

static gboolean
source_fired_cb (GObject *stream, gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* A record that a short recv () brought, read whole: the next read says
 * WOULD_BLOCK without a recv () (it would only meet EAGAIN), even when
 * more came meanwhile; the stream's source then fires at once for what
 * came, and the read after it returns it: nothing is lost or waits. */
static void
test_drained_read (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = handshake (f->port, 10, &error);
  GPollableInputStream *in;
  g_autoptr(GSource) source = NULL;
  g_autoptr(GString) got = g_string_new (NULL);
  g_autoptr(GIOStream) base = NULL;
  gboolean fired = FALSE;
  gint64 deadline;
  char buf[256];
  gssize n;

  g_assert_no_error (error);
  in = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (G_IO_STREAM (tls)));
  echo_line (tls, "first\n", "tsrif\n");
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (tls)), "second\n", 7,
                                            NULL, NULL, &error));
  g_assert_no_error (error);
  /* the reply is in our socket now */
  g_object_get (tls, "base-io-stream", &base, NULL);
  g_assert_true (G_IS_SOCKET_CONNECTION (base));
  g_assert_true (g_socket_condition_timed_wait (g_socket_connection_get_socket (G_SOCKET_CONNECTION (base)), G_IO_IN,
                                                WAIT_S * G_USEC_PER_SEC, NULL, &error));
  g_assert_no_error (error);
  n = g_pollable_input_stream_read_nonblocking (in, buf, sizeof buf, NULL, &error);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
  g_assert_cmpint (n, ==, -1);
  g_clear_error (&error);
  source = g_pollable_input_stream_create_source (in, NULL);
  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) source_fired_cb, &fired, NULL);
  g_source_attach (source, NULL);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (!fired && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (fired);
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (strchr (got->str, '\n') == NULL && g_get_monotonic_time () < deadline)
    {
      n = g_pollable_input_stream_read_nonblocking (in, buf, sizeof buf, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          g_usleep (1000);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (got, buf, n);
    }
  g_assert_cmpstr (got->str, ==, "dnoces\n");
}

/* 16 MB of lines out while their reverses come back: the sockets fill, so
 * writes meet GNUTLS_E_AGAIN (WOULD_BLOCK, then the same bytes again once
 * writable), and every byte must still arrive, in order. */
typedef struct {
  GString *expect;
  GString *got;
  gboolean wrote;
  GError  *error;
} Bulk;

static void
bulk_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Bulk *b = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &b->error);
  b->wrote = TRUE;
}

static void
test_bulk_both_ways (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = handshake (f->port, 10, &error);
  g_autoptr(GString) out = g_string_new (NULL);
  GInputStream *in;
  Bulk b = { g_string_new (NULL), g_string_new (NULL), FALSE, NULL };
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  g_autofree char *buf = g_malloc (64 * 1024);

  g_assert_no_error (error);
  for (guint i = 0; i < 16000; i++)
    {
      g_autofree char *line = g_strdup_printf ("%05u-%0990u", i, i * 7919u);
      g_autofree char *rev = g_utf8_strreverse (line, -1);

      g_string_append_printf (out, "%s\n", line);
      g_string_append_printf (b.expect, "%s\n", rev);
    }
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (tls)), out->str, out->len,
                                   G_PRIORITY_DEFAULT, NULL, bulk_written_cb, &b);
  /* nobody reads for a while: s_server's replies fill our receive buffer,
   * it stops reading, and our writes would block */
  for (gint64 until = g_get_monotonic_time () + 300 * 1000; g_get_monotonic_time () < until; )
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  /* (16 MB is more than the kernel buffers here take: so far, every run) */
  g_test_message ("writes blocked while nobody read: %s", b.wrote ? "no" : "yes");
  in = g_io_stream_get_input_stream (G_IO_STREAM (tls));
  while (b.got->len < b.expect->len && g_get_monotonic_time () < deadline)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buf, 64 * 1024,
                                                           NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          if (!g_main_context_iteration (NULL, FALSE))
            g_usleep (500);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (b.got, buf, n);
    }
  pump_until (&b.wrote);
  g_assert_no_error (b.error);
  g_assert_cmpuint (b.got->len, ==, b.expect->len);
  g_assert_true (memcmp (b.got->str, b.expect->str, b.expect->len) == 0);
  g_string_free (b.got, TRUE);
  g_string_free (b.expect, TRUE);
}

/* Lines out until a write would block, then no more writes: every line
 * reported written must reach the server (none may wait inside GnuTLS for
 * a later write that never comes), and the refused one must not. */
static void
test_write_blocks_then_stops (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = handshake (f->port, 10, &error);
  g_autoptr(GString) expect = g_string_new (NULL);
  g_autoptr(GString) got = g_string_new (NULL);
  GOutputStream *out;
  GInputStream *in;
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  g_autofree char *buf = g_malloc (64 * 1024);
  gboolean blocked = FALSE;

  g_assert_no_error (error);
  out = g_io_stream_get_output_stream (G_IO_STREAM (tls));
  for (guint i = 0; i < 100000 && !blocked; i++)
    {
      g_autofree char *line = g_strdup_printf ("%06u-%01000u\n", i, i);
      gsize len = strlen (line);
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), line, len, NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          blocked = TRUE;
          break;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, (gssize) len);   /* short of a record: all or nothing */
      line[len - 1] = '\0';
      {
        g_autofree char *rev = g_utf8_strreverse (line, -1);

        g_string_append_printf (expect, "%s\n", rev);
      }
    }
  g_assert_true (blocked);
  in = g_io_stream_get_input_stream (G_IO_STREAM (tls));
  while (got->len < expect->len && g_get_monotonic_time () < deadline)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (in), buf, 64 * 1024,
                                                           NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          g_usleep (500);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (got, buf, n);
    }
  g_assert_cmpuint (got->len, ==, expect->len);
  g_assert_true (memcmp (got->str, expect->str, expect->len) == 0);
}

/* The back-end goes away: writes end with an error (GnuTLS sends without
 * MSG_NOSIGNAL; GSocket's class init ignores SIGPIPE process-wide). */
static void
test_write_after_peer_gone (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = handshake (f->port, 10, &error);
  GOutputStream *out;
  gboolean failed = FALSE;

  g_assert_no_error (error);
  echo_line (tls, "before\n", "erofeb\n");
  g_subprocess_force_exit (f->server);
  g_assert_true (g_subprocess_wait (f->server, NULL, NULL));
  out = g_io_stream_get_output_stream (G_IO_STREAM (tls));
  for (int i = 0; i < 200 && !failed; i++)
    {
      GError *local = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (G_POLLABLE_OUTPUT_STREAM (out), "after\n", 6,
                                                             NULL, &local);

      if (n < 0 && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        failed = TRUE;
      g_clear_error (&local);
      g_usleep (10 * 1000);
    }
  g_assert_true (failed);
}

/* A peer that takes the TCP connection and never answers the ClientHello. */
static void
test_handshake_deadline (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocket) mute = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = NULL;
  gint64 t0;

  g_assert_true (g_socket_bind (mute, any, TRUE, NULL));
  g_assert_true (g_socket_listen (mute, NULL));
  bound = g_socket_get_local_address (mute, NULL);
  t0 = g_get_monotonic_time ();
  tls = handshake (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), 1, &error);
  g_assert_null (tls);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - t0, <, 5 * G_USEC_PER_SEC);
}

/* A plain server: a clear error, not a hang. */
static void
plain_reply_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GSocketConnection *conn = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, NULL);
  static const char reply[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n";

  g_assert_nonnull (conn);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), reply, sizeof reply - 1,
                             NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  g_object_unref (conn);
  *(gboolean *) user_data = TRUE;
}

static void
test_not_tls (Fixture *f, gconstpointer data)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PstTlsClient) tls = NULL;
  gboolean answered = FALSE;
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_listener_accept_async (listener, NULL, plain_reply_cb, &answered);
  tls = handshake (port, 10, &error);
  pump_until (&answered);
  g_assert_null (tls);
  g_assert_true (error->domain == G_TLS_ERROR || error->domain == G_IO_ERROR);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/tls-client/handshake-echo-resume", Fixture, NULL, setup, test_handshake_echo_resume, teardown);
  g_test_add ("/tls-client/drained-read", Fixture, NULL, setup, test_drained_read, teardown);
  g_test_add ("/tls-client/bulk-both-ways", Fixture, NULL, setup, test_bulk_both_ways, teardown);
  g_test_add ("/tls-client/write-blocks-then-stops", Fixture, NULL, setup, test_write_blocks_then_stops, teardown);
  g_test_add ("/tls-client/write-after-peer-gone", Fixture, NULL, setup, test_write_after_peer_gone, teardown);
  g_test_add ("/tls-client/handshake-deadline", Fixture, NULL, setup, test_handshake_deadline, teardown);
  g_test_add ("/tls-client/not-tls", Fixture, NULL, setup, test_not_tls, teardown);
  return g_test_run ();
}
