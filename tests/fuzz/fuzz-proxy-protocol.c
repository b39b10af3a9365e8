/* fuzz-proxy-protocol.c: the PROXY v1/v2 header parser, fed in pieces and whole: same outcome either way
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-proxy-protocol.h"

/* Feeds the stream in the pieces the cut lengths give (the last piece
 * takes what they leave); returns where the header ended in the stream. */
static gsize
feed_pieces (PstProxyParser *parser, const guint8 *stream, gsize stream_len,
             const guint8 *cut_lengths, guint cuts)
{
  gsize pos = 0;

  for (guint i = 0; i <= cuts; i++)
    {
      gsize n = i < cuts ? MIN (cut_lengths[i], stream_len - pos) : stream_len - pos;
      gsize used = G_MAXSIZE;
      PstProxyStatus status = pst_proxy_parser_feed (parser, stream + pos, n, &used);

      FUZZ_CHECK (used <= n);
      if (status != PST_PROXY_NEED_MORE)
        return pos + used;
      FUZZ_CHECK (used == n);
      pos += n;
    }
  return pos;
}

static void
check_result (const PstProxyParser *p, gsize end, gsize stream_len)
{
  switch (p->status)
    {
    case PST_PROXY_NEED_MORE:
      FUZZ_CHECK (end == stream_len);
      FUZZ_CHECK (p->error == NULL);
      break;
    case PST_PROXY_ERROR:
      FUZZ_CHECK (p->error != NULL && !p->has_addresses);
      break;
    case PST_PROXY_DONE:
      FUZZ_CHECK (p->error == NULL);
      FUZZ_CHECK (p->consumed == end && end <= stream_len);
      FUZZ_CHECK (p->version == 1 || p->version == 2);
      FUZZ_CHECK (p->version == 1 ? p->consumed <= PST_PROXY_V1_MAX : p->consumed <= PST_PROXY_HEADER_MAX);
      FUZZ_CHECK (!p->has_addresses || p->family == G_SOCKET_FAMILY_IPV4 || p->family == G_SOCKET_FAMILY_IPV6);
      break;
    }
}

/* Input: a count byte (pieces - 1, up to 15), one length byte per cut,
 * then the stream. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  PstProxyParser *split, *whole;
  guint cuts;
  guint8 *stream;
  gsize stream_len, end_split, end_whole;

  if (size < 1)
    return 0;
  cuts = data[0] & 15;
  if (size < 1 + (gsize) cuts)
    return 0;
  stream_len = size - 1 - cuts;
  stream = fuzz_copy (data + 1 + cuts, stream_len);
  split = g_new (PstProxyParser, 1);
  whole = g_new (PstProxyParser, 1);
  pst_proxy_parser_init (split);
  pst_proxy_parser_init (whole);

  end_split = feed_pieces (split, stream, stream_len, data + 1, cuts);
  end_whole = feed_pieces (whole, stream, stream_len, NULL, 0);
  check_result (split, end_split, stream_len);
  check_result (whole, end_whole, stream_len);

  FUZZ_CHECK (split->status == whole->status);
  FUZZ_CHECK (split->error == whole->error);
  if (whole->status == PST_PROXY_DONE)
    {
      FUZZ_CHECK (end_split == end_whole);
      FUZZ_CHECK (split->has_addresses == whole->has_addresses);
      FUZZ_CHECK (split->version == whole->version);
      if (whole->has_addresses)
        {
          gsize n = whole->family == G_SOCKET_FAMILY_IPV4 ? 4 : 16;
          g_autoptr(GInetSocketAddress) src = pst_proxy_parser_dup_source (whole);
          g_autoptr(GInetSocketAddress) dst = pst_proxy_parser_dup_destination (whole);
          guint8 built[PST_PROXY_V2_MAX_BUILT];
          gsize built_len;

          FUZZ_CHECK (split->family == whole->family);
          FUZZ_CHECK (memcmp (split->src, whole->src, n) == 0 && memcmp (split->dst, whole->dst, n) == 0);
          FUZZ_CHECK (split->src_port == whole->src_port && split->dst_port == whole->dst_port);
          /* What we would tell a back-end about it reads back the same. */
          built_len = pst_proxy_protocol_build_v2 (src, dst, built);
          pst_proxy_parser_init (split);
          FUZZ_CHECK (pst_proxy_parser_feed (split, built, built_len, NULL) == PST_PROXY_DONE);
          FUZZ_CHECK (split->consumed == built_len && split->has_addresses);
          FUZZ_CHECK (split->family == whole->family);
          FUZZ_CHECK (memcmp (split->src, whole->src, n) == 0 && memcmp (split->dst, whole->dst, n) == 0);
          FUZZ_CHECK (split->src_port == whole->src_port && split->dst_port == whole->dst_port);
        }
    }
  g_free (split);
  g_free (whole);
  g_free (stream);
  return 0;
}
