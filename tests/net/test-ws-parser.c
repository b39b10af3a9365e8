/* test-ws-parser.c: the RFC 6455 frame parser: every split of the input gives the same events
 * SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <glib.h>

#include "pst-ws-parser.h"

/* ---- building frames ------------------------------------------------------ */

static void
add_frame_full (GByteArray *out, guint8 b0, gboolean masked, const void *payload, guint64 len,
                gboolean force64)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 b1 = masked ? 0x80 : 0;

  g_byte_array_append (out, &b0, 1);
  if (len < 126 && !force64)
    {
      b1 |= (guint8) len;
      g_byte_array_append (out, &b1, 1);
    }
  else if (len <= 0xffff && !force64)
    {
      guint8 ext[2] = { len >> 8, len & 0xff };
      b1 |= 126;
      g_byte_array_append (out, &b1, 1);
      g_byte_array_append (out, ext, 2);
    }
  else
    {
      guint8 ext[8];
      for (int i = 0; i < 8; i++)
        ext[i] = (len >> (8 * (7 - i))) & 0xff;
      b1 |= 127;
      g_byte_array_append (out, &b1, 1);
      g_byte_array_append (out, ext, 8);
    }
  if (masked)
    g_byte_array_append (out, key, 4);
  if (payload != NULL)
    for (guint64 i = 0; i < len; i++)
      {
        guint8 b = ((const guint8 *) payload)[i] ^ (masked ? key[i & 3] : 0);
        g_byte_array_append (out, &b, 1);
      }
}

static void
add_frame (GByteArray *out, guint8 b0, const void *payload, gsize len)
{
  add_frame_full (out, b0, TRUE, payload, len, FALSE);
}

#define FIN 0x80

/* ---- recording events ----------------------------------------------------- */

typedef struct {
  GString  *log;
  GString  *data;     /* payload of the open message, merged across chunks */
  gboolean  open;
} Rec;

static void
flush_data (Rec *r)
{
  if (r->data->len == 0)
    return;
  g_string_append (r->log, "data:");
  if (r->data->len <= 64)
    for (gsize i = 0; i < r->data->len; i++)
      g_string_append_printf (r->log, "%02x", (guint8) r->data->str[i]);
  else
    {
      guint32 h = 2166136261u;   /* FNV-1a: long payloads compare by length and hash */
      for (gsize i = 0; i < r->data->len; i++)
        h = (h ^ (guint8) r->data->str[i]) * 16777619u;
      g_string_append_printf (r->log, "%zu bytes %08x", r->data->len, h);
    }
  g_string_append_c (r->log, ';');
  g_string_truncate (r->data, 0);
}

static void
rec_start (gpointer user_data, PstWsOpcode op)
{
  Rec *r = user_data;

  g_assert_false (r->open);
  r->open = TRUE;
  g_string_append_printf (r->log, "start:%d;", op);
}

static void
rec_data (gpointer user_data, const guint8 *data, gsize len, gboolean fin)
{
  Rec *r = user_data;

  g_assert_true (r->open);
  g_string_append_len (r->data, (const char *) data, len);
  if (fin)
    {
      flush_data (r);
      g_string_append (r->log, "fin;");
      r->open = FALSE;
    }
}

static void
rec_control (gpointer user_data, PstWsOpcode op, const guint8 *payload, gsize len)
{
  Rec *r = user_data;

  g_string_append_printf (r->log, "ctl:%d:%zu;", op, len);
}

static void
rec_close (gpointer user_data, guint code, const char *reason, gsize len)
{
  Rec *r = user_data;

  g_assert_cmpuint (strlen (reason), <=, len);
  g_string_append_printf (r->log, "close:%u:%s;", code, reason);
}

static void
rec_frame (gpointer user_data, PstWsOpcode op, gboolean fin, guint64 length)
{
  Rec *r = user_data;

  g_string_append_printf (r->log, "frame:%d:%d:%" G_GUINT64_FORMAT ";", op, fin, length);
}

static const PstWsParserSink rec_sink = {
  .message_start = rec_start,
  .message_data = rec_data,
  .control = rec_control,
  .close = rec_close,
  .frame = rec_frame,
};

/* Feed input in the pieces that cuts[] (sorted offsets) make; the events. */
static char *
run_split (const guint8 *input, gsize len, gboolean server, guint64 max, const gsize *cuts, guint n_cuts)
{
  g_autofree guint8 *copy = g_memdup2 (input, len);
  PstWsParser parser;
  Rec rec = { g_string_new (NULL), g_string_new (NULL), FALSE };
  gsize at = 0;

  pst_ws_parser_init (&parser, server, max, &rec_sink, &rec);
  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize end = i < n_cuts ? cuts[i] : len;
      /* After an error the parser keeps skipping, looking for a close. */
      pst_ws_parser_feed (&parser, copy + at, end - at);
      at = end;
    }
  flush_data (&rec);
  if (parser.state == PST_WS_PARSER_FAILED)
    g_string_append_printf (rec.log, "error:%u;%s", parser.error_code,
                            parser.peer_closed ? "peer-closed;" : "");
  else if (parser.state == PST_WS_PARSER_CLOSED)
    g_string_append (rec.log, "closed;");
  g_string_free (rec.data, TRUE);
  return g_string_free (rec.log, FALSE);
}

/* The property: one piece, every two-piece split, one byte at a time, and
 * seeded random many-piece splits all give the same events. */
static char *
check_splits (const guint8 *input, gsize len, gboolean server, guint64 max)
{
  char *whole = run_split (input, len, server, max, NULL, 0);
  g_autofree gsize *cuts = g_new (gsize, len + 1);
  GRand *rand = g_rand_new_with_seed (len * 7919 + 1);

  /* Every two-piece split; for large inputs, every one near the frame
   * headers and a stride through the payload. */
  for (gsize i = 1; i < len; i += (len > 4096 && i > 512 && i + 512 < len) ? 97 : 1)
    {
      g_autofree char *two = run_split (input, len, server, max, &i, 1);
      if (g_strcmp0 (two, whole) != 0)
        g_error ("split at %zu: %s\n  whole: %s", i, two, whole);
    }
  if (len > 1)
    {
      g_autofree char *bytes = NULL;

      for (gsize i = 1; i < len; i++)
        cuts[i - 1] = i;
      bytes = run_split (input, len, server, max, cuts, len - 1);
      g_assert_cmpstr (bytes, ==, whole);
    }
  for (int round = 0; round < 50 && len > 2; round++)
    {
      guint n = 0;
      g_autofree char *events = NULL;

      for (gsize i = 1; i < len; i++)
        if (g_rand_int_range (rand, 0, 8) == 0)
          cuts[n++] = i;
      events = run_split (input, len, server, max, cuts, n);
      g_assert_cmpstr (events, ==, whole);
    }
  g_rand_free (rand);
  return whole;
}

/* ---- the corpus ----------------------------------------------------------- */

typedef struct {
  const char *name;
  gboolean    server;
  guint64     max;
  GByteArray *bytes;
  const char *expect;   /* a substring of the events, e.g. "error:1002;" */
} Case;

static GPtrArray *
corpus (void)
{
  GPtrArray *cases = g_ptr_array_new ();
  guint8 big[300];
  const char *utf8 = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";
  GByteArray *b;

#define CASE(n, srv, mx, exp) \
  do { Case *c = g_new0 (Case, 1); c->name = n; c->server = srv; c->max = mx; c->expect = exp; \
       c->bytes = b = g_byte_array_new (); g_ptr_array_add (cases, c); } while (0)

  for (gsize i = 0; i < sizeof big; i++)
    big[i] = (guint8) (i * 31 + 7);

  CASE ("text", TRUE, 0, "start:1;data:68656c6c6f;fin;");
  add_frame (b, FIN | 1, "hello", 5);
  CASE ("binary 126 and 65536", TRUE, 0, "frame:2:1:65536;");
  add_frame (b, FIN | 2, big, 126);
  {
    g_autofree guint8 *large = g_malloc0 (65536);
    add_frame (b, FIN | 2, large, 65536);
  }
  CASE ("64-bit length for a small frame", TRUE, 0, "start:2;data:0102;fin;");
  add_frame_full (b, FIN | 2, TRUE, "\x01\x02", 2, TRUE);
  CASE ("unmasked, client side", FALSE, 0, "start:1;data:6869;fin;");
  add_frame_full (b, FIN | 1, FALSE, "hi", 2, FALSE);
  CASE ("empty messages and empty fragments", TRUE, 0, "start:1;frame:0:0:0;frame:0:1:0;fin;");
  add_frame (b, FIN | 1, NULL, 0);
  add_frame (b, FIN | 2, NULL, 0);
  add_frame (b, 1, NULL, 0);
  add_frame (b, 0, NULL, 0);
  add_frame (b, FIN | 0, NULL, 0);
  CASE ("fragments with pings between", TRUE, 0, "data:616263646566;fin;");
  add_frame (b, 1, "ab", 2);
  add_frame (b, FIN | 9, "p1", 2);
  add_frame (b, 0, "cd", 2);
  add_frame (b, FIN | 10, NULL, 0);
  add_frame (b, FIN | 0, "ef", 2);
  CASE ("UTF-8 split across fragments", TRUE, 0, "fin;");
  for (gsize i = 0; i < strlen (utf8); i++)
    add_frame (b, (i + 1 == strlen (utf8) ? FIN : 0) | (i == 0 ? 1 : 0), utf8 + i, 1);
  CASE ("ping 125 bytes", TRUE, 0, "ctl:9:125;");
  add_frame (b, FIN | 9, big, 125);
  CASE ("close with code and reason", TRUE, 0, "close:1000:bye;closed;");
  add_frame (b, FIN | 8, "\x03\xe8" "bye", 5);
  add_frame (b, FIN | 1, "ignored", 7);
  CASE ("empty close", TRUE, 0, "close:1005:;closed;");
  add_frame (b, FIN | 8, NULL, 0);
  CASE ("close 4999", TRUE, 0, "close:4999:;");
  add_frame (b, FIN | 8, "\x13\x87", 2);

  /* hostile */
  CASE ("reserved control opcode, header then a byte", TRUE, 0, "error:1002;");
  add_frame (b, FIN | 0xb, "xy", 2);
  for (int op = 3; op <= 0xf; op++)
    if (op < 8 || op > 10)
      {
        CASE ("reserved opcode", TRUE, 0, "error:1002;");
        add_frame (b, FIN | op, "abc", 3);
      }
  CASE ("ping of 126 bytes, payload later", TRUE, 0, "error:1002;");
  add_frame (b, FIN | 9, big, 126);
  add_frame (b, FIN | 1, big, 200);
  CASE ("ping of 300 bytes with a 64-bit length", TRUE, 0, "error:1002;");
  add_frame_full (b, FIN | 9, TRUE, big, 300, TRUE);
  CASE ("fragmented ping", TRUE, 0, "error:1002;");
  add_frame (b, 9, "a", 1);
  add_frame (b, FIN | 0, "b", 1);
  CASE ("fragmented close", TRUE, 0, "error:1002;");
  add_frame (b, 8, "\x03\xe8", 2);
  for (int bit = 0x10; bit <= 0x40; bit <<= 1)
    {
      CASE ("reserved bit", TRUE, 0, "error:1002;");
      add_frame (b, FIN | 1, "ok", 2);
      add_frame (b, FIN | bit | 1, "no", 2);
    }
  CASE ("reserved bit on a ping", TRUE, 0, "error:1002;");
  add_frame (b, FIN | 0x40 | 9, NULL, 0);
  CASE ("unmasked client frame", TRUE, 0, "error:1002;");
  add_frame_full (b, FIN | 1, FALSE, "hi", 2, FALSE);
  CASE ("masked server frame", FALSE, 0, "error:1002;");
  add_frame (b, FIN | 1, "hi", 2);
  CASE ("continuation without a message", TRUE, 0, "error:1002;");
  add_frame (b, FIN | 0, "x", 1);
  CASE ("new message inside a message", TRUE, 0, "error:1002;");
  add_frame (b, 1, "a", 1);
  add_frame (b, FIN | 1, "b", 1);
  CASE ("length with the top bit", TRUE, 0, "error:1002;");
  {
    guint8 h[] = { FIN | 2, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
    g_byte_array_append (b, h, sizeof h);
  }
  CASE ("close with 1 byte", TRUE, 0, "error:1002;");
  add_frame (b, FIN | 8, "\x03", 1);
  {
    static const guint bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535 };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        guint8 p[2] = { bad[i] >> 8, bad[i] & 0xff };
        CASE ("invalid close code", TRUE, 0, "error:1002;");
        add_frame (b, FIN | 8, p, 2);
      }
  }
  CASE ("close reason not UTF-8", TRUE, 0, "error:1007;");
  add_frame (b, FIN | 8, "\x03\xe8\xff", 3);
  CASE ("close reason truncated UTF-8", TRUE, 0, "error:1007;");
  add_frame (b, FIN | 8, "\x03\xe8\xe2\x82", 4);
  {
    static const char *bad_utf8[] = {
      "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
      "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80",
      "ok\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited",
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad_utf8); i++)
      {
        CASE ("invalid UTF-8 in text", TRUE, 0, "error:1007;");
        add_frame (b, FIN | 1, bad_utf8[i], strlen (bad_utf8[i]));
      }
  }
  CASE ("text ends inside a code point", TRUE, 0, "data:e282;error:1007;");
  add_frame (b, FIN | 1, "\xe2\x82", 2);
  CASE ("invalid UTF-8 in a first fragment (fail fast)", TRUE, 0, "data:61;error:1007;");
  add_frame (b, 1, "a\xff", 2);
  CASE ("too big in one frame", TRUE, 16, "error:1009;");
  add_frame (b, FIN | 2, big, 17);
  CASE ("too big, then the rest of it, then the peer's close", TRUE, 16, "error:1009;peer-closed;");
  add_frame (b, FIN | 2, big, 200);
  add_frame (b, FIN | 9, "x", 1);
  add_frame (b, FIN | 8, "\x03\xe8", 2);
  CASE ("bad UTF-8 mid-frame, the peer's close after it", TRUE, 0, "error:1007;peer-closed;");
  add_frame (b, FIN | 1, "abc\xff\xfe and more text", strlen ("abc\xff\xfe and more text"));
  add_frame (b, FIN | 8, NULL, 0);
  CASE ("reserved opcode, a frame, the peer's close", TRUE, 0, "error:1002;peer-closed;");
  add_frame (b, FIN | 5, big, 130);
  add_frame (b, FIN | 2, big, 3);
  add_frame (b, FIN | 8, "\x03\xe8", 2);
  CASE ("invalid close code is the peer's close", TRUE, 0, "error:1002;peer-closed;");
  add_frame (b, FIN | 8, "\x03\xed", 2);
  CASE ("after a bad length nothing is trusted", TRUE, 0, "error:1002;");
  {
    guint8 h[] = { FIN | 2, 0x80 | 127, 0xff, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
    g_byte_array_append (b, h, sizeof h);
    add_frame (b, FIN | 8, NULL, 0);
  }
  CASE ("too big in fragments", TRUE, 16, "data:");
  add_frame (b, 2, big, 10);
  add_frame (b, FIN | 0, big, 7);
  CASE ("exactly the limit", TRUE, 16, "fin;");
  add_frame (b, 2, big, 10);
  add_frame (b, FIN | 0, big, 6);
#undef CASE
  return cases;
}

static void
test_corpus_splits (void)
{
  g_autoptr(GPtrArray) cases = corpus ();

  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = cases->pdata[i];
      g_autofree char *events = NULL;

      events = check_splits (c->bytes->data, c->bytes->len, c->server, c->max);
      if (strstr (events, c->expect) == NULL)
        g_error ("case “%s”: expected “%s” in %s", c->name, c->expect, events);
      g_byte_array_unref (c->bytes);
      g_free (c);
    }
}

static void
test_too_big_fragments (void)
{
  guint8 data[40] = { 0 };
  g_autoptr(GByteArray) b = g_byte_array_new ();
  g_autofree char *events = NULL;

  add_frame (b, 2, data, 10);
  add_frame (b, FIN | 0, data, 7);
  events = check_splits (b->data, b->len, TRUE, 16);
  g_assert_true (g_str_has_suffix (events, "error:1009;"));
}

/* The bugs of issue 9, as bytes. */
static void
test_regressions (void)
{
  /* A reserved control opcode: header in one read, a byte later. */
  guint8 hdr[] = { FIN | 0xb, 0x80 | 1, 1, 2, 3, 4 };
  guint8 more[] = { 0x55 };
  PstWsParser p;
  Rec rec = { g_string_new (NULL), g_string_new (NULL), FALSE };

  pst_ws_parser_init (&p, TRUE, 0, &rec_sink, &rec);
  g_assert_false (pst_ws_parser_feed (&p, hdr, sizeof hdr));
  g_assert_cmpint (p.state, ==, PST_WS_PARSER_FAILED);
  g_assert_cmpuint (p.error_code, ==, 1002);
  g_assert_false (pst_ws_parser_feed (&p, more, 1));

  /* A 126-byte ping: its payload never lands in the control buffer. */
  {
    g_autoptr(GByteArray) b = g_byte_array_new ();
    guint8 junk[70000];

    memset (junk, 0x41, sizeof junk);
    add_frame (b, FIN | 9, junk, 126);
    pst_ws_parser_init (&p, TRUE, 0, &rec_sink, &rec);
    g_assert_false (pst_ws_parser_feed (&p, b->data, 8));
    g_assert_false (pst_ws_parser_feed (&p, junk, sizeof junk));
    g_assert_cmpuint (p.ctl_len, ==, 0);
    g_assert_cmpuint (p.error_code, ==, 1002);
  }
  g_string_free (rec.log, TRUE);
  g_string_free (rec.data, TRUE);
}

static void
test_utf8 (void)
{
  static const struct { const char *s; gboolean ok; } v[] = {
    { "", TRUE }, { "plain ascii text that is long enough for words", TRUE },
    { "\x7f", TRUE }, { "\xc2\x80", TRUE }, { "\xdf\xbf", TRUE }, { "\xe0\xa0\x80", TRUE },
    { "\xef\xbf\xbf", TRUE }, { "\xed\x9f\xbf", TRUE }, { "\xee\x80\x80", TRUE },
    { "\xf0\x90\x80\x80", TRUE }, { "\xf4\x8f\xbf\xbf", TRUE },
    { "\xc0\xaf", FALSE }, { "\xe0\x80\xaf", FALSE }, { "\xed\xa0\x80", FALSE },
    { "\xed\xbf\xbf", FALSE }, { "\xf4\x90\x80\x80", FALSE }, { "\xf8\x88\x80\x80\x80", FALSE },
    { "\xfe", FALSE }, { "abc\x80", FALSE }, { "\xc2\x41", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (v); i++)
    {
      PstWsUtf8 s = { 0 };
      gsize len = strlen (v[i].s);
      gboolean ok = pst_ws_utf8_feed (&s, (const guint8 *) v[i].s, len) && pst_ws_utf8_complete (&s);

      g_assert_cmpint (ok, ==, v[i].ok);
      /* and byte by byte: the same verdict */
      memset (&s, 0, sizeof s);
      ok = TRUE;
      for (gsize j = 0; j < len && ok; j++)
        ok = pst_ws_utf8_feed (&s, (const guint8 *) v[i].s + j, 1);
      ok = ok && pst_ws_utf8_complete (&s);
      g_assert_cmpint (ok, ==, v[i].ok);
      /* GLib agrees */
      g_assert_cmpint (g_utf8_validate_len (v[i].s, len, NULL), ==, v[i].ok);
    }
}

/* pst_ws_mask against the byte-by-byte definition (RFC 6455 §5.3): every
 * start alignment, phase and length around the word size, in place and
 * into another buffer, and a long run. */
static void
test_mask (void)
{
  static const guint8 key[4] = { 0x9c, 0x01, 0xe7, 0x5a };
  guint8 src[4096 + 16], dst[4096 + 16], want[4096 + 16];

  for (gsize i = 0; i < sizeof src; i++)
    src[i] = (guint8) (i * 31 + 7);
  for (guint align = 0; align < 16; align++)
    for (guint phase = 0; phase < 4; phase++)
      for (gsize len = 0; len < 4096; len = len < 80 ? len + 1 : len * 3 + 1)
        {
          guint end;

          for (gsize i = 0; i < len; i++)
            want[i] = src[align + i] ^ key[(phase + i) & 3];
          memset (dst, 0xee, sizeof dst);
          end = pst_ws_mask (dst + align, src + align, len, key, phase);
          g_assert_cmpuint (end, ==, (phase + len) & 3);
          g_assert_cmpmem (dst + align, len, want, len);
          g_assert_cmpuint (dst[align + len], ==, 0xee);   /* nothing written past the end */
          memcpy (dst, src, sizeof dst);
          pst_ws_mask (dst + align, dst + align, len, key, phase);
          g_assert_cmpmem (dst + align, len, want, len);
        }
}

static void
test_close_codes (void)
{
  for (guint code = 0; code < 70000; code++)
    {
      gboolean valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                       (code >= 3000 && code <= 4999);
      g_assert_cmpint (pst_ws_close_code_is_valid (code), ==, valid);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/ws-parser/utf8", test_utf8);
  g_test_add_func ("/ws-parser/close-codes", test_close_codes);
  g_test_add_func ("/ws-parser/mask", test_mask);
  g_test_add_func ("/ws-parser/regressions", test_regressions);
  g_test_add_func ("/ws-parser/too-big-fragments", test_too_big_fragments);
  g_test_add_func ("/ws-parser/corpus-every-split", test_corpus_splits);
  return g_test_run ();
}
