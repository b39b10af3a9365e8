/* fuzz-ws-parser.c: the RFC 6455 frame parser, fed in pieces and whole: same events either way
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-ws-parser.h"

/* What a parser reported, normalized so that how the bytes were split
 * does not show: a message's data is concatenated and recorded when it
 * ends.  Data of a message that never ends is left out, because a parser
 * may fail on a later byte of a piece it was given whole before it hands
 * over the earlier ones. */
typedef struct {
  GString    *events;
  GByteArray *message;
  gboolean    open;
  guint8      opcode;
} Record;

/* UTF-8 by GLib's account, which is independent of the parser's own
 * validator; GLib refuses U+0000, which RFC 3629 allows, so the text is
 * checked between NULs. */
static gboolean
valid_utf8 (const char *text, gsize len)
{
  const char *end;

  if (len == 0)
    return TRUE;   /* text may then be NULL (an empty GByteArray) */
  end = text + len;
  while (text < end)
    {
      const char *nul = memchr (text, '\0', end - text);
      const char *stop = nul != NULL ? nul : end;

      if (!g_utf8_validate_len (text, stop - text, NULL))
        return FALSE;
      text = nul != NULL ? nul + 1 : end;
    }
  return TRUE;
}

static void
on_message_start (gpointer user_data, PstWsOpcode opcode)
{
  Record *r = user_data;

  FUZZ_CHECK (!r->open);
  FUZZ_CHECK (opcode == PST_WS_OP_TEXT || opcode == PST_WS_OP_BINARY);
  r->open = TRUE;
  r->opcode = opcode;
  g_byte_array_set_size (r->message, 0);
}

static void
on_message_data (gpointer user_data, const guint8 *data, gsize len, gboolean fin)
{
  Record *r = user_data;

  FUZZ_CHECK (r->open);
  g_byte_array_append (r->message, data, len);
  if (fin)
    {
      g_string_append_printf (r->events, "M%u:%u:", r->opcode, r->message->len);
      g_string_append_len (r->events, (const char *) r->message->data, r->message->len);
      g_string_append_c (r->events, '\n');
      if (r->opcode == PST_WS_OP_TEXT)
        FUZZ_CHECK (valid_utf8 ((const char *) r->message->data, r->message->len));
      r->open = FALSE;
    }
}

static void
on_control (gpointer user_data, PstWsOpcode opcode, const guint8 *payload, gsize len)
{
  Record *r = user_data;

  FUZZ_CHECK (opcode == PST_WS_OP_PING || opcode == PST_WS_OP_PONG);
  FUZZ_CHECK (len <= 125);
  g_string_append_printf (r->events, "C%u:%" G_GSIZE_FORMAT ":", opcode, len);
  g_string_append_len (r->events, (const char *) payload, len);
  g_string_append_c (r->events, '\n');
}

static void
on_close (gpointer user_data, guint code, const char *reason, gsize len)
{
  Record *r = user_data;

  FUZZ_CHECK (len <= 123);
  FUZZ_CHECK (reason != NULL && reason[len] == '\0');
  FUZZ_CHECK (valid_utf8 (reason, len));
  FUZZ_CHECK (code == PST_WS_CLOSE_NO_STATUS || pst_ws_close_code_is_valid (code));
  g_string_append_printf (r->events, "X%u:%" G_GSIZE_FORMAT ":", code, len);
  g_string_append_len (r->events, reason, len);
  g_string_append_c (r->events, '\n');
}

static void
on_frame (gpointer user_data, PstWsOpcode opcode, gboolean fin, guint64 length)
{
  Record *r = user_data;

  g_string_append_printf (r->events, "F%u:%d:%" G_GUINT64_FORMAT "\n", opcode, fin ? 1 : 0, length);
}

static const PstWsParserSink sink = {
  on_message_start, on_message_data, on_control, on_close, on_frame,
};

static const guint64 max_sizes[8] = { 0, 1, 125, 126, 1000, 65535, 65536, G_MAXUINT64 };

static void
finish (PstWsParser *parser, Record *r, gboolean last_ok)
{
  FUZZ_CHECK (last_ok == (parser->state != PST_WS_PARSER_FAILED));
  if (parser->state == PST_WS_PARSER_FAILED)
    {
      FUZZ_CHECK (parser->error_code != 0 && parser->error_reason != NULL);
      FUZZ_CHECK (pst_ws_close_code_is_valid (parser->error_code));
    }
  g_string_append_printf (r->events, "state %u error %u\n", parser->state, parser->error_code);
}

/* Input: a mode byte (bit 0: server side, bits 1-3: maximum message
 * size), a count byte (pieces - 1, up to 15), one length byte per cut,
 * then the stream.  The last piece takes what the cuts leave. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  Record split = { g_string_new (NULL), g_byte_array_new (), FALSE, 0 };
  Record whole = { g_string_new (NULL), g_byte_array_new (), FALSE, 0 };
  PstWsParser a, b;
  gboolean expect_masked;
  guint64 max_size;
  guint cuts;
  const guint8 *cut_lengths;
  guint8 *stream;
  gsize stream_len, pos = 0;
  gboolean ok = TRUE;

  if (size < 2)
    goto out;
  expect_masked = data[0] & 1;
  max_size = max_sizes[(data[0] >> 1) & 7];
  cuts = data[1] & 15;
  if (size < 2 + (gsize) cuts)
    goto out;
  cut_lengths = data + 2;
  stream_len = size - 2 - cuts;

  pst_ws_parser_init (&a, expect_masked, max_size, &sink, &split);
  pst_ws_parser_init (&b, expect_masked, max_size, &sink, &whole);

  /* The parser unmasks in place: each gets its own copy. */
  stream = fuzz_copy (data + 2 + cuts, stream_len);
  for (guint i = 0; i <= cuts; i++)
    {
      gsize n = i < cuts ? MIN (cut_lengths[i], stream_len - pos) : stream_len - pos;

      ok = pst_ws_parser_feed (&a, stream + pos, n);
      pos += n;
      if (!ok)
        break;
    }
  finish (&a, &split, ok);
  g_free (stream);

  stream = fuzz_copy (data + 2 + cuts, stream_len);
  ok = pst_ws_parser_feed (&b, stream, stream_len);
  finish (&b, &whole, ok);
  g_free (stream);

  if (!g_str_equal (split.events->str, whole.events->str))
    {
      fprintf (stderr, "in pieces:\n%s\nwhole:\n%s\n", split.events->str, whole.events->str);
      FUZZ_CHECK (!"the same bytes in pieces and whole give different events");
    }

out:
  g_string_free (split.events, TRUE);
  g_string_free (whole.events, TRUE);
  g_byte_array_free (split.message, TRUE);
  g_byte_array_free (whole.message, TRUE);
  return 0;
}
