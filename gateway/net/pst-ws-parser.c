/* pst-ws-parser.c: RFC 6455 frame parsing as a pure, incremental state machine
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-ws-parser.h"

/* No I/O and no allocation: bytes in, events out, and at most one protocol
 * error, after which the parser ignores everything.  Each phase has its own
 * state; a header is checked completely before the state leaves HEADER, so
 * no path refuses a frame while leaving the parser inside it.  Events do
 * not depend on how the input was split (tests/net/test-ws-parser.c checks
 * that over a corpus, one byte at a time up to one piece). */

gboolean
pst_ws_close_code_is_valid (guint code)
{
  return (code >= 1000 && code <= 1003) ||
         (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

gsize
pst_ws_utf8_validate (PstWsUtf8 *s, const guint8 *data, gsize len)
{
  gsize i = 0;

  while (i < len)
    {
      guint8 b = data[i];

      if (s->need == 0)
        {
          /* ASCII runs, eight bytes at a time */
          while (i + 8 <= len)
            {
              guint64 w;
              memcpy (&w, data + i, 8);
              if (w & G_GUINT64_CONSTANT (0x8080808080808080))
                break;
              i += 8;
            }
          if (i >= len)
            break;
          b = data[i];
          if (b < 0x80)
            {
              i++;
              continue;
            }
          s->lo = 0x80;
          s->hi = 0xbf;
          if (b >= 0xc2 && b <= 0xdf)
            s->need = 1;
          else if (b == 0xe0)
            s->need = 2, s->lo = 0xa0;
          else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
            s->need = 2;
          else if (b == 0xed)
            s->need = 2, s->hi = 0x9f;           /* no surrogates */
          else if (b == 0xf0)
            s->need = 3, s->lo = 0x90;           /* no overlongs */
          else if (b >= 0xf1 && b <= 0xf3)
            s->need = 3;
          else if (b == 0xf4)
            s->need = 3, s->hi = 0x8f;           /* ≤ U+10FFFF */
          else
            return i;                            /* 80–C1, F5–FF */
          i++;
          continue;
        }
      if (b < s->lo || b > s->hi)
        return i;
      s->need--;
      s->lo = 0x80;
      s->hi = 0xbf;
      i++;
    }
  return len;
}

gboolean
pst_ws_utf8_feed (PstWsUtf8 *s, const guint8 *data, gsize len)
{
  return pst_ws_utf8_validate (s, data, len) == len;
}

gboolean
pst_ws_utf8_complete (const PstWsUtf8 *s)
{
  return s->need == 0;
}

/* ---- frames --------------------------------------------------------------- */

void
pst_ws_parser_init (PstWsParser *p, gboolean expect_masked, guint64 max_message_size,
                    const PstWsParserSink *sink, gpointer user_data)
{
  memset (p, 0, sizeof *p);
  p->expect_masked = expect_masked;
  p->max_message_size = max_message_size;
  p->sink = *sink;
  p->user_data = user_data;
  p->state = PST_WS_PARSER_HEADER;
}

static gboolean
fail (PstWsParser *p, guint code, const char *reason)
{
  p->state = PST_WS_PARSER_FAILED;
  p->error_code = code;
  p->error_reason = reason;
  /* A bad close frame is still the peer's close: it waits for ours. */
  if ((p->hdr[0] & 0x0f) == PST_WS_OP_CLOSE)
    p->peer_closed = TRUE;
  return FALSE;
}

/* Bytes the header needs, from what is known of it (at least 2 bytes). */
static gsize
header_size (const guint8 *hdr)
{
  guint8 l7 = hdr[1] & 0x7f;

  return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((hdr[1] & 0x80) ? 4 : 0);
}

/* The payload length a complete header declares (may have its top bit set). */
static guint64
header_length (const guint8 *hdr)
{
  guint64 len = hdr[1] & 0x7f;

  if (len == 126)
    return ((guint64) hdr[2] << 8) | hdr[3];
  if (len == 127)
    {
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | hdr[2 + i];
    }
  return len;
}

/* Copy header bytes, never a payload byte; TRUE once the header is whole. */
static gboolean
gather_header (PstWsParser *p, const guint8 **data, gsize *len)
{
  gsize need = p->hdr_len < 2 ? 2 : header_size (p->hdr);
  gsize take = MIN (*len, need - p->hdr_len);

  memcpy (p->hdr + p->hdr_len, *data, take);
  p->hdr_len += take;
  *data += take;
  *len -= take;
  return p->hdr_len >= 2 && p->hdr_len >= header_size (p->hdr);
}

/* Bulk payload goes through here byte for byte (a client must mask every
 * frame): eight bytes at a time on aligned words, which the compiler turns
 * into vector code; only the ends are done byte by byte. */
guint
pst_ws_mask (guint8 *dst, const guint8 *src, gsize len, const guint8 key[4], guint phase)
{
  gsize i = 0;

  phase &= 3;
  while (i < len && ((guintptr) (dst + i) & 7) != 0)
    {
      dst[i] = src[i] ^ key[phase];
      phase = (phase + 1) & 3;
      i++;
    }
  if (len - i >= 8)
    {
      guint8 k8[8];
      guint64 k;

      for (guint j = 0; j < 8; j++)
        k8[j] = key[(phase + j) & 3];
      memcpy (&k, k8, sizeof k);
      /* 8 and 32 are multiples of 4: the phase is the same after each
       * word; four words per turn let the compiler use vector registers */
      for (; i + 32 <= len; i += 32)
        {
          guint64 w[4];

          memcpy (w, src + i, sizeof w);
          w[0] ^= k;
          w[1] ^= k;
          w[2] ^= k;
          w[3] ^= k;
          memcpy (dst + i, w, sizeof w);
        }
      for (; i + 8 <= len; i += 8)
        {
          guint64 w;

          memcpy (&w, src + i, sizeof w);
          w ^= k;
          memcpy (dst + i, &w, sizeof w);
        }
    }
  for (; i < len; i++)
    {
      dst[i] = src[i] ^ key[phase];
      phase = (phase + 1) & 3;
    }
  return phase;
}

static void
unmask (PstWsParser *p, guint8 *data, gsize len)
{
  if (!p->masked)
    return;
  p->mask_off = pst_ws_mask (data, data, len, p->mask, p->mask_off);
}

/* Everything about the frame is checked here, before the state changes. */
static gboolean
accept_header (PstWsParser *p)
{
  guint8 b0 = p->hdr[0], b1 = p->hdr[1];
  guint8 op = b0 & 0x0f;
  gboolean fin = (b0 & 0x80) != 0;
  gboolean masked = (b1 & 0x80) != 0;
  guint64 len = header_length (p->hdr);
  gsize at = header_size (p->hdr) - (masked ? 4 : 0);

  /* On a failure below, the frame's payload is what to skip. */
  p->skip = len;
  p->hdr_len = 0;
  if (len >> 63)
    {
      p->skip = G_MAXUINT64;   /* nothing after it can be trusted */
      return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "frame length has its top bit set");
    }
  if (b0 & 0x70)
    return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)");
  if (masked != p->expect_masked)
    return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR,
                 p->expect_masked ? "client frames must be masked" : "server frames must not be masked");

  if (op >= 0x8)
    {
      if (op > PST_WS_OP_PONG)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "reserved control opcode");
      if (!fin)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
      if (len > 125)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "control frame longer than 125 bytes");
    }
  else
    {
      if (op > PST_WS_OP_BINARY)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "reserved data opcode");
      if (op == PST_WS_OP_CONTINUATION && !p->in_message)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "continuation frame without a message");
      if (op != PST_WS_OP_CONTINUATION && p->in_message)
        return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "new message before the last one ended");
      if (p->max_message_size > 0 &&
          len > p->max_message_size - (op == PST_WS_OP_CONTINUATION ? p->message_size : 0))
        return fail (p, PST_WS_CLOSE_TOO_BIG, "message too big");
    }

  /* Valid: take it. */
  p->opcode = op;
  p->fin = fin;
  p->masked = masked;
  if (masked)
    memcpy (p->mask, p->hdr + at, 4);
  p->mask_off = 0;
  p->remaining = len;
  p->skip = 0;
  if (p->sink.frame != NULL)
    p->sink.frame (p->user_data, op, fin, len);

  if (op >= 0x8)
    {
      p->ctl_len = 0;
      p->state = PST_WS_PARSER_CONTROL;
      return TRUE;
    }
  if (op != PST_WS_OP_CONTINUATION)
    {
      p->in_message = TRUE;
      p->message_opcode = op;
      p->message_size = 0;
      memset (&p->utf8, 0, sizeof p->utf8);
      if (p->sink.message_start != NULL)
        p->sink.message_start (p->user_data, op);
    }
  p->message_size += len;
  p->state = PST_WS_PARSER_DATA;
  return TRUE;
}

/* The current data frame's payload is all read. */
static gboolean
end_data_frame (PstWsParser *p)
{
  p->state = PST_WS_PARSER_HEADER;
  if (!p->fin)
    return TRUE;
  if (p->message_opcode == PST_WS_OP_TEXT && !pst_ws_utf8_complete (&p->utf8))
    return fail (p, PST_WS_CLOSE_BAD_DATA, "text message ends inside a UTF-8 sequence");
  p->in_message = FALSE;
  if (p->sink.message_data != NULL)
    p->sink.message_data (p->user_data, NULL, 0, TRUE);
  return TRUE;
}

static gboolean
end_control_frame (PstWsParser *p)
{
  if (p->opcode != PST_WS_OP_CLOSE)
    {
      p->state = PST_WS_PARSER_HEADER;
      if (p->sink.control != NULL)
        p->sink.control (p->user_data, p->opcode, p->ctl, p->ctl_len);
      return TRUE;
    }
  if (p->ctl_len == 1)
    return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "close frame with a 1-byte payload");
  if (p->ctl_len == 0)
    {
      p->state = PST_WS_PARSER_CLOSED;
      if (p->sink.close != NULL)
        p->sink.close (p->user_data, PST_WS_CLOSE_NO_STATUS, "", 0);
      return TRUE;
    }
  {
    guint code = ((guint) p->ctl[0] << 8) | p->ctl[1];
    PstWsUtf8 utf8 = { 0 };
    char reason[124];

    if (!pst_ws_close_code_is_valid (code))
      return fail (p, PST_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
    if (!pst_ws_utf8_feed (&utf8, p->ctl + 2, p->ctl_len - 2) || !pst_ws_utf8_complete (&utf8))
      return fail (p, PST_WS_CLOSE_BAD_DATA, "close reason is not valid UTF-8");
    memcpy (reason, p->ctl + 2, p->ctl_len - 2);
    reason[p->ctl_len - 2] = '\0';
    p->state = PST_WS_PARSER_CLOSED;
    if (p->sink.close != NULL)
      p->sink.close (p->user_data, code, reason, p->ctl_len - 2);
  }
  return TRUE;
}

/* FAILED: skip frames by their lengths until a close frame's header. */
static void
drain (PstWsParser *p, const guint8 *data, gsize len)
{
  while (len > 0 && !p->peer_closed)
    {
      if (p->skip > 0)
        {
          gsize n = (gsize) MIN ((guint64) len, p->skip);

          if (p->skip != G_MAXUINT64)
            p->skip -= n;
          data += n;
          len -= n;
          continue;
        }
      if (!gather_header (p, &data, &len))
        continue;
      p->hdr_len = 0;
      if ((p->hdr[0] & 0x0f) == PST_WS_OP_CLOSE)
        {
          p->peer_closed = TRUE;
          return;
        }
      p->skip = (header_length (p->hdr) >> 63) ? G_MAXUINT64 : header_length (p->hdr);
    }
}

gboolean
pst_ws_parser_feed (PstWsParser *p, guint8 *data, gsize len)
{
  while (len > 0)
    {
      switch (p->state)
        {
        case PST_WS_PARSER_HEADER:
          {
            const guint8 *rest = data;
            gboolean whole = gather_header (p, &rest, &len);

            data += rest - data;
            if (!whole)
              continue;
            if (accept_header (p) && p->remaining == 0)
              {
                if (p->state == PST_WS_PARSER_DATA)
                  end_data_frame (p);
                else
                  end_control_frame (p);
              }
          }
          break;

        case PST_WS_PARSER_DATA:
          {
            gsize n = (gsize) MIN ((guint64) len, p->remaining);
            gboolean last = n == p->remaining && p->fin;
            gsize good = n;

            /* Whatever is valid goes out before an error, so the events
             * are the same however the input was split. */
            unmask (p, data, n);
            if (p->message_opcode == PST_WS_OP_TEXT)
              good = pst_ws_utf8_validate (&p->utf8, data, n);
            if (good < n || (last && p->message_opcode == PST_WS_OP_TEXT && !pst_ws_utf8_complete (&p->utf8)))
              {
                if (good > 0 && p->sink.message_data != NULL)
                  p->sink.message_data (p->user_data, data, good, FALSE);
                fail (p, PST_WS_CLOSE_BAD_DATA,
                      good < n ? "text message is not valid UTF-8"
                               : "text message ends inside a UTF-8 sequence");
                p->skip = p->remaining - n;
                data += n;
                len -= n;
                break;
              }
            p->remaining -= n;
            if (p->sink.message_data != NULL)
              p->sink.message_data (p->user_data, data, n, last);
            data += n;
            len -= n;
            if (p->remaining == 0)
              {
                p->state = PST_WS_PARSER_HEADER;
                if (last)
                  p->in_message = FALSE;
              }
          }
          break;

        case PST_WS_PARSER_CONTROL:
          {
            gsize n = (gsize) MIN ((guint64) len, p->remaining);

            g_assert (p->ctl_len + n <= sizeof p->ctl);
            memcpy (p->ctl + p->ctl_len, data, n);
            unmask (p, p->ctl + p->ctl_len, n);
            p->ctl_len += n;
            p->remaining -= n;
            data += n;
            len -= n;
            if (p->remaining == 0)
              end_control_frame (p);
          }
          break;

        case PST_WS_PARSER_CLOSED:
          return TRUE;   /* nothing may follow a close frame */

        case PST_WS_PARSER_FAILED:
        default:
          drain (p, data, len);
          return FALSE;
        }
    }
  return p->state != PST_WS_PARSER_FAILED;
}
