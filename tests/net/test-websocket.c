/* test-websocket.c: RFC 6455 framing of PstWebsocket, driven with raw frames over a socket pair
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/socket.h>
#include <gio/gio.h>

#include "pst-websocket.h"

typedef struct {
  GSocket      *client;      /* the test's raw end */
  PstWebsocket *ws;          /* the server end, echoing */
  gboolean      closed;
  gushort       close_code;
  PstWsOpcode   opcode;
} Fixture;

static void
sink_start (PstWebsocket *ws, PstWsOpcode op, gpointer data)
{
  Fixture *f = data;

  f->opcode = op;
}

static void
sink_data (PstWebsocket *ws, const guint8 *d, gsize len, gboolean fin, gpointer data)
{
  Fixture *f = data;

  pst_websocket_send_fragment (ws, f->opcode, d, len, fin);
}

static void
sink_closed (PstWebsocket *ws, gushort code, const char *reason, gpointer data)
{
  Fixture *f = data;

  f->closed = TRUE;
  f->close_code = code;
}

static const PstWebsocketSink sink = {
  .message_start = sink_start, .message_data = sink_data, .closed = sink_closed,
};

static void
setup (Fixture *f, gconstpointer max_size)
{
  int fds[2];
  g_autoptr(GSocket) server = NULL;
  g_autoptr(GIOStream) stream = NULL;
  PstWebsocketOptions options = { .server = TRUE, .max_message_size = GPOINTER_TO_UINT (max_size) };

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, fds), ==, 0);
  f->client = g_socket_new_from_fd (fds[0], NULL);
  g_socket_set_blocking (f->client, FALSE);
  server = g_socket_new_from_fd (fds[1], NULL);
  stream = G_IO_STREAM (g_socket_connection_factory_create_connection (server));
  f->ws = pst_websocket_new (stream, &options, &sink, f);
  pst_websocket_start (f->ws);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_socket_close (f->client, NULL);
  while (!f->closed && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  pst_websocket_unref (f->ws);
  g_object_unref (f->client);
}

static void
send_frame (Fixture *f, guint8 op, gboolean fin, gboolean mask, const void *payload, gsize len)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  guint8 b[10];
  const guint8 key[4] = { 0x12, 0x34, 0x56, 0x78 };

  b[0] = (fin ? 0x80 : 0) | op;
  g_byte_array_append (frame, b, 1);
  if (len < 126)
    {
      b[0] = (mask ? 0x80 : 0) | len;
      g_byte_array_append (frame, b, 1);
    }
  else if (len < 65536)
    {
      b[0] = (mask ? 0x80 : 0) | 126; b[1] = len >> 8; b[2] = len & 0xff;
      g_byte_array_append (frame, b, 3);
    }
  else
    {
      b[0] = (mask ? 0x80 : 0) | 127;
      for (int i = 0; i < 8; i++)
        b[1 + i] = ((guint64) len >> (8 * (7 - i))) & 0xff;
      g_byte_array_append (frame, b, 9);
    }
  if (mask)
    g_byte_array_append (frame, key, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 c = ((const guint8 *) payload)[i] ^ (mask ? key[i & 3] : 0);
      g_byte_array_append (frame, &c, 1);
    }
  for (gsize off = 0; off < frame->len;)
    {
      gssize n = g_socket_send (f->client, (const char *) frame->data + off, frame->len - off, NULL, NULL);
      if (n > 0)
        off += n;
      g_main_context_iteration (NULL, FALSE);
    }
}

/* Reads one frame (bounded wait); returns payload, sets op/fin. */
static GBytes *
recv_frame (Fixture *f, guint8 *op, gboolean *fin)
{
  static GByteArray *pending;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  if (pending == NULL)
    pending = g_byte_array_new ();
  while (g_get_monotonic_time () < deadline)
    {
      guint8 buf[65536];
      gssize n;

      if (pending->len >= 2)
        {
          guint64 len = pending->data[1] & 0x7f;
          gsize hdr = 2;

          g_assert_false (pending->data[1] & 0x80);   /* server frames are not masked */
          if (len == 126)
            hdr = 4;
          else if (len == 127)
            hdr = 10;
          if (pending->len >= hdr)
            {
              if (len == 126)
                len = (pending->data[2] << 8) | pending->data[3];
              else if (len == 127)
                {
                  len = 0;
                  for (int i = 0; i < 8; i++)
                    len = (len << 8) | pending->data[2 + i];
                }
              if (pending->len >= hdr + len)
                {
                  GBytes *payload = g_bytes_new (pending->data + hdr, len);
                  *op = pending->data[0] & 0x0f;
                  *fin = (pending->data[0] & 0x80) != 0;
                  g_byte_array_remove_range (pending, 0, hdr + len);
                  return payload;
                }
            }
        }
      g_main_context_iteration (NULL, FALSE);
      n = g_socket_receive (f->client, (char *) buf, sizeof buf, NULL, NULL);
      if (n > 0)
        g_byte_array_append (pending, buf, n);
      else if (n == 0)
        break;
      else
        g_usleep (500);
    }
  g_byte_array_set_size (pending, 0);
  return NULL;
}

static void
assert_frame (Fixture *f, guint8 want_op, gboolean want_fin, const char *want)
{
  guint8 op;
  gboolean fin;
  g_autoptr(GBytes) payload = recv_frame (f, &op, &fin);

  g_assert_nonnull (payload);
  g_assert_cmpint (op, ==, want_op);
  g_assert_cmpint (fin, ==, want_fin);
  if (want != NULL)
    {
      gsize len;
      const char *data = g_bytes_get_data (payload, &len);
      g_assert_cmpmem (data, len, want, strlen (want));
    }
}

static void
assert_close (Fixture *f, gushort want_code)
{
  guint8 op;
  gboolean fin;
  g_autoptr(GBytes) payload = recv_frame (f, &op, &fin);
  const guint8 *p;
  gsize len;

  g_assert_nonnull (payload);
  g_assert_cmpint (op, ==, PST_WS_OP_CLOSE);
  p = g_bytes_get_data (payload, &len);
  g_assert_cmpuint (len, >=, 2);
  g_assert_cmpuint ((p[0] << 8) | p[1], ==, want_code);
}

static void
test_text (Fixture *f, gconstpointer data)
{
  send_frame (f, PST_WS_OP_TEXT, TRUE, TRUE, "hello", 5);
  assert_frame (f, PST_WS_OP_TEXT, TRUE, "hello");
  send_frame (f, PST_WS_OP_BINARY, TRUE, TRUE, "\0\1\2", 3);
  assert_frame (f, PST_WS_OP_BINARY, TRUE, NULL);
}

static void
test_fragments_and_ping (Fixture *f, gconstpointer data)
{
  send_frame (f, PST_WS_OP_TEXT, FALSE, TRUE, "hel", 3);
  send_frame (f, PST_WS_OP_PING, TRUE, TRUE, "p1", 2);
  send_frame (f, PST_WS_OP_CONTINUATION, TRUE, TRUE, "lo", 2);
  assert_frame (f, PST_WS_OP_TEXT, FALSE, "hel");
  assert_frame (f, PST_WS_OP_PONG, TRUE, "p1");
  assert_frame (f, PST_WS_OP_CONTINUATION, TRUE, "lo");
}

static void
test_large (Fixture *f, gconstpointer data)
{
  gsize len = 300 * 1024;
  g_autofree guint8 *big = g_malloc (len);
  guint8 op;
  gboolean fin;
  g_autoptr(GBytes) echoed = NULL;

  for (gsize i = 0; i < len; i++)
    big[i] = (i * 7 + 3) & 0xff;
  g_autoptr(GByteArray) whole = g_byte_array_new ();

  /* The echo may come back in several fragments (one per read). */
  send_frame (f, PST_WS_OP_BINARY, TRUE, TRUE, big, len);
  do
    {
      g_clear_pointer (&echoed, g_bytes_unref);
      echoed = recv_frame (f, &op, &fin);
      g_assert_nonnull (echoed);
      g_assert_cmpint (op, ==, whole->len == 0 ? PST_WS_OP_BINARY : PST_WS_OP_CONTINUATION);
      g_byte_array_append (whole, g_bytes_get_data (echoed, NULL), g_bytes_get_size (echoed));
    }
  while (!fin && whole->len < len);
  g_assert_true (fin);
  g_assert_cmpmem (whole->data, whole->len, big, len);
}

static void
test_unmasked (Fixture *f, gconstpointer data)
{
  send_frame (f, PST_WS_OP_TEXT, TRUE, FALSE, "x", 1);
  assert_close (f, PST_WS_CLOSE_PROTOCOL_ERROR);
}

static void
test_too_big (Fixture *f, gconstpointer data)
{
  send_frame (f, PST_WS_OP_TEXT, FALSE, TRUE, "0123456789", 10);
  assert_frame (f, PST_WS_OP_TEXT, FALSE, "0123456789");
  send_frame (f, PST_WS_OP_CONTINUATION, TRUE, TRUE, "0123456789", 10);
  assert_close (f, PST_WS_CLOSE_TOO_BIG);
}

static void
test_bad_continuation (Fixture *f, gconstpointer data)
{
  send_frame (f, PST_WS_OP_CONTINUATION, TRUE, TRUE, "x", 1);
  assert_close (f, PST_WS_CLOSE_PROTOCOL_ERROR);
}

static void
test_close_handshake (Fixture *f, gconstpointer data)
{
  const guint8 close[] = { 0x03, 0xe8, 'b', 'y', 'e' };
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  send_frame (f, PST_WS_OP_CLOSE, TRUE, TRUE, close, sizeof close);
  assert_close (f, PST_WS_CLOSE_NORMAL);
  while (!f->closed && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (f->closed);
  g_assert_cmpuint (f->close_code, ==, PST_WS_CLOSE_NORMAL);
}

/* Every WebSocket of a thread reads into one shared buffer: the parser's
 * state between reads (a header cut anywhere, the mask key, the offset
 * into the payload, UTF-8 validation) must be its own.  N connections get
 * the first p bytes of a frame, are all read, then get the rest; each
 * must echo exactly its own text, for every cut p. */
#define SHARED_N 6

static GBytes *
masked_text_frame (guint index)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GString) text = g_string_new (NULL);
  const guint8 key[4] = { 0x9a, 0x0b + index, 0x3c, 0xd4 };
  guint8 hdr[4];

  /* 2-byte UTF-8 characters too, so a cut can fall inside one */
  while (text->len < 200)
    g_string_append_printf (text, "conn %u \xc3\xa9 ", index);
  hdr[0] = 0x80 | PST_WS_OP_TEXT;
  hdr[1] = 0x80 | 126;
  hdr[2] = text->len >> 8;
  hdr[3] = text->len & 0xff;
  g_byte_array_append (frame, hdr, 4);
  g_byte_array_append (frame, key, 4);
  for (gsize i = 0; i < text->len; i++)
    {
      guint8 c = text->str[i] ^ key[i & 3];
      g_byte_array_append (frame, &c, 1);
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&frame));
}

static void
send_all (GSocket *socket, const guint8 *data, gsize len)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (len > 0 && g_get_monotonic_time () < deadline)
    {
      gssize n = g_socket_send (socket, (const char *) data, len, NULL, NULL);
      if (n > 0)
        {
          data += n;
          len -= n;
        }
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpuint (len, ==, 0);
}

/* The echoed message's payload, fragments joined (bounded wait). */
static GByteArray *
recv_message (GSocket *socket, gsize want)
{
  g_autoptr(GByteArray) in = g_byte_array_new ();
  GByteArray *payload = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gboolean fin = FALSE;

  while (!fin && g_get_monotonic_time () < deadline)
    {
      guint8 buf[4096];
      gssize n;
      gsize hdr, len;

      while (in->len >= 2 && !fin)
        {
          len = in->data[1] & 0x7f;
          hdr = len == 126 ? 4 : 2;
          g_assert_cmpuint (len, <, 127);
          if (in->len < hdr)
            break;
          if (len == 126)
            len = (in->data[2] << 8) | in->data[3];
          if (in->len < hdr + len)
            break;
          fin = (in->data[0] & 0x80) != 0;
          g_byte_array_append (payload, in->data + hdr, len);
          g_byte_array_remove_range (in, 0, hdr + len);
        }
      if (fin)
        break;
      g_main_context_iteration (NULL, FALSE);
      n = g_socket_receive (socket, (char *) buf, sizeof buf, NULL, NULL);
      if (n > 0)
        g_byte_array_append (in, buf, n);
      else if (n == 0)
        break;
      else
        g_usleep (200);
    }
  g_assert_true (fin);
  g_assert_cmpuint (payload->len, ==, want);
  return payload;
}

static void
test_shared_read_buffer (void)
{
  Fixture f[SHARED_N];
  GBytes *frames[SHARED_N];
  gsize frame_len;

  memset (f, 0, sizeof f);
  for (guint i = 0; i < SHARED_N; i++)
    {
      setup (&f[i], NULL);
      frames[i] = masked_text_frame (i);
    }
  frame_len = g_bytes_get_size (frames[0]);
  for (guint i = 1; i < SHARED_N; i++)
    g_assert_cmpuint (g_bytes_get_size (frames[i]), ==, frame_len);
  for (gsize cut = 1; cut < frame_len; cut++)
    {
      for (guint i = 0; i < SHARED_N; i++)
        send_all (f[i].client, g_bytes_get_data (frames[i], NULL), cut);
      for (int k = 0; k < 20; k++)   /* every connection reads its part */
        g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < SHARED_N; i++)
        send_all (f[i].client, (const guint8 *) g_bytes_get_data (frames[i], NULL) + cut, frame_len - cut);
      for (guint i = 0; i < SHARED_N; i++)
        {
          g_autoptr(GByteArray) got = recv_message (f[i].client, frame_len - 8);
          g_autoptr(GString) want = g_string_new (NULL);

          while (want->len < 200)
            g_string_append_printf (want, "conn %u \xc3\xa9 ", i);
          g_assert_cmpmem (got->data, got->len, want->str, want->len);
          g_assert_false (f[i].closed);
        }
    }
  for (guint i = 0; i < SHARED_N; i++)
    {
      g_bytes_unref (frames[i]);
      teardown (&f[i], NULL);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
#define ADD(path, func, max) \
  g_test_add (path, Fixture, GUINT_TO_POINTER (max), setup, func, teardown)
  ADD ("/websocket/text-and-binary", test_text, 0);
  ADD ("/websocket/fragments-and-ping", test_fragments_and_ping, 0);
  ADD ("/websocket/large-frame", test_large, 0);
  ADD ("/websocket/unmasked-client-frame", test_unmasked, 0);
  ADD ("/websocket/message-too-big", test_too_big, 15);
  ADD ("/websocket/continuation-without-message", test_bad_continuation, 0);
  ADD ("/websocket/close-handshake", test_close_handshake, 0);
  g_test_add_func ("/websocket/shared-read-buffer", test_shared_read_buffer);
  return g_test_run ();
}
