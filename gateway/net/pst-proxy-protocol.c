/* pst-proxy-protocol.c: an incremental PROXY protocol (v1 text, v2 binary) header parser, and a v2 writer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <arpa/inet.h>
#include <glib/gi18n-lib.h>

#include "pst-proxy-protocol.h"

/* haproxy's doc/proxy-protocol.txt is the specification. */
static const char v1_signature[] = "PROXY ";
static const guint8 v2_signature[12] = {
  0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

enum { V2_LOCAL = 0, V2_PROXY = 1 };
enum { V2_AF_UNSPEC = 0, V2_AF_INET = 1, V2_AF_INET6 = 2, V2_AF_UNIX = 3 };
enum { V2_UNSPEC = 0, V2_STREAM = 1, V2_DGRAM = 2 };

/* Why a header was refused: shown in the log line next to the peer. */
static const char e_not_proxy[]  = N_("the connection does not start with a PROXY protocol header (v1 “PROXY ” or the v2 signature)");
static const char e_v1_long[]    = N_("the PROXY v1 line is longer than 107 bytes");
static const char e_v1_char[]    = N_("the PROXY v1 line holds a byte that is not printable ASCII");
static const char e_v1_crlf[]    = N_("the PROXY v1 line does not end with CRLF");
static const char e_v1_proto[]   = N_("the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN");
static const char e_v1_fields[]  = N_("the PROXY v1 line does not hold two addresses and two ports separated by single spaces");
static const char e_v1_address[] = N_("a PROXY v1 address is not a valid IPv4 (TCP4) or IPv6 (TCP6) address");
static const char e_v1_port[]    = N_("a PROXY v1 port is not a number from 0 to 65535");
static const char e_v2_version[] = N_("the PROXY v2 header has a version other than 2");
static const char e_v2_command[] = N_("the PROXY v2 header has a command other than LOCAL or PROXY");
static const char e_v2_family[]  = N_("the PROXY v2 header has an unknown address family or transport");
static const char e_v2_dgram[]   = N_("the PROXY v2 header describes a datagram (UDP) connection, not TCP");
static const char e_v2_short[]   = N_("the PROXY v2 address block is shorter than its address family needs");
static const char e_v2_long[]    = N_("the PROXY v2 header is longer than 4096 bytes, far more than a load balancer sends");
static const char e_v2_tlv[]     = N_("a PROXY v2 TLV runs past the end of the header");

void
pst_proxy_parser_init (PstProxyParser *parser)
{
  g_return_if_fail (parser != NULL);

  /* The buffer is written before it is read: clearing it is not needed. */
  memset (parser, 0, G_STRUCT_OFFSET (PstProxyParser, buf));
  parser->status = PST_PROXY_NEED_MORE;
}

static void
fail (PstProxyParser *p, const char *reason)
{
  p->status = PST_PROXY_ERROR;
  p->error = reason;
  p->has_addresses = FALSE;
}

/* A decimal port: 1 to 5 digits, at most 65535. */
static gboolean
parse_port (const char *text, guint16 *out)
{
  guint value = 0;
  gsize n = 0;

  for (; text[n] != '\0'; n++)
    {
      if (n == 5 || !g_ascii_isdigit (text[n]))
        return FALSE;
      value = value * 10 + (text[n] - '0');
    }
  if (n == 0 || value > 65535)
    return FALSE;
  *out = (guint16) value;
  return TRUE;
}

/* buf holds the whole line, CRLF included. */
static void
finish_v1 (PstProxyParser *p)
{
  char *line = (char *) p->buf + strlen (v1_signature);
  char *fields[4];
  guint n = 0;
  int af;
  gsize addr_len;

  p->buf[p->consumed - 2] = '\0';   /* the CR: the line is ours to cut */
  if (g_str_has_prefix (line, "UNKNOWN") && (line[7] == '\0' || line[7] == ' '))
    {
      /* Whatever follows UNKNOWN is to be ignored (the specification). */
      p->has_addresses = FALSE;
      p->status = PST_PROXY_DONE;
      return;
    }
  if (g_str_has_prefix (line, "TCP4 "))
    af = AF_INET, addr_len = 4, p->family = G_SOCKET_FAMILY_IPV4;
  else if (g_str_has_prefix (line, "TCP6 "))
    af = AF_INET6, addr_len = 16, p->family = G_SOCKET_FAMILY_IPV6;
  else
    {
      fail (p, e_v1_proto);
      return;
    }
  /* Exactly four non-empty fields, single spaces between them. */
  fields[n++] = line + 5;
  for (char *c = line + 5; *c != '\0'; c++)
    if (*c == ' ')
      {
        if (n == G_N_ELEMENTS (fields))
          {
            fail (p, e_v1_fields);
            return;
          }
        *c = '\0';
        fields[n++] = c + 1;
      }
  for (guint i = 0; i < n; i++)
    if (*fields[i] == '\0')
      n = 0;
  if (n != G_N_ELEMENTS (fields))
    {
      fail (p, e_v1_fields);
      return;
    }
  {
    guint8 src[16], dst[16];

    if (inet_pton (af, fields[0], src) != 1 || inet_pton (af, fields[1], dst) != 1)
      {
        fail (p, e_v1_address);
        return;
      }
    if (!parse_port (fields[2], &p->src_port) || !parse_port (fields[3], &p->dst_port))
      {
        fail (p, e_v1_port);
        return;
      }
    memcpy (p->src, src, addr_len);
    memcpy (p->dst, dst, addr_len);
  }
  p->has_addresses = TRUE;
  p->status = PST_PROXY_DONE;
}

/* At byte 16 of a v2 header: what its fixed part allows. */
static void
check_v2_fixed (PstProxyParser *p)
{
  guint command = p->buf[12] & 0x0F;
  guint family = p->buf[13] >> 4;
  guint transport = p->buf[13] & 0x0F;
  gsize len = ((gsize) p->buf[14] << 8) | p->buf[15];
  static const gsize needs[4] = { 0, 12, 36, 216 };

  if (16 + len > PST_PROXY_HEADER_MAX)
    {
      fail (p, e_v2_long);
      return;
    }
  p->need = 16 + len;
  /* LOCAL: the protocol block and addresses are to be ignored. */
  if (command == V2_PROXY)
    {
      if (family > V2_AF_UNIX || transport > V2_DGRAM)
        {
          fail (p, e_v2_family);
          return;
        }
      if (transport == V2_DGRAM)
        {
          fail (p, e_v2_dgram);
          return;
        }
      if (len < needs[family])
        {
          fail (p, e_v2_short);
          return;
        }
    }
}

/* buf holds the whole header. */
static void
finish_v2 (PstProxyParser *p)
{
  guint command = p->buf[12] & 0x0F;
  guint family = p->buf[13] >> 4;
  guint transport = p->buf[13] & 0x0F;
  gsize at = 16;

  p->status = PST_PROXY_DONE;
  p->has_addresses = FALSE;
  /* LOCAL (a health check of the balancer itself), AF_UNSPEC, AF_UNIX or
   * an unspecified transport: the connection's own addresses stay. */
  if (command != V2_PROXY || transport != V2_STREAM ||
      (family != V2_AF_INET && family != V2_AF_INET6))
    return;
  if (family == V2_AF_INET)
    {
      p->family = G_SOCKET_FAMILY_IPV4;
      memcpy (p->src, p->buf + 16, 4);
      memcpy (p->dst, p->buf + 20, 4);
      at = 24;
    }
  else
    {
      p->family = G_SOCKET_FAMILY_IPV6;
      memcpy (p->src, p->buf + 16, 16);
      memcpy (p->dst, p->buf + 32, 16);
      at = 48;
    }
  p->src_port = (p->buf[at] << 8) | p->buf[at + 1];
  p->dst_port = (p->buf[at + 2] << 8) | p->buf[at + 3];
  at += 4;
  /* TLVs (ALPN, authority, CRC, SSL details…) are not used, but a header
   * whose TLVs do not tile the rest exactly is malformed. */
  while (at < p->need)
    {
      gsize value_len;

      if (p->need - at < 3)
        {
          fail (p, e_v2_tlv);
          return;
        }
      value_len = ((gsize) p->buf[at + 1] << 8) | p->buf[at + 2];
      if (p->need - at - 3 < value_len)
        {
          fail (p, e_v2_tlv);
          return;
        }
      at += 3 + value_len;
    }
  p->has_addresses = TRUE;
}

/* One byte of a v1 line or of a v2 fixed part (16 bytes). */
static void
step (PstProxyParser *p, guint8 b)
{
  gsize at = p->consumed;

  p->buf[p->consumed++] = b;
  if (at == 0)
    {
      if (b == (guint8) v1_signature[0])
        p->version = 1;
      else if (b == v2_signature[0])
        p->version = 2;
      else
        fail (p, e_not_proxy);
      return;
    }
  if (p->version == 1)
    {
      if (at < strlen (v1_signature))
        {
          if (b != (guint8) v1_signature[at])
            fail (p, e_not_proxy);
        }
      else if (b == '\n')
        {
          if (p->buf[at - 1] != '\r')
            fail (p, e_v1_crlf);
          else
            finish_v1 (p);
        }
      else if (p->buf[at - 1] == '\r')
        fail (p, e_v1_crlf);
      else if (b != '\r' && (b < 0x20 || b > 0x7E))
        fail (p, e_v1_char);
      else if (p->consumed == PST_PROXY_V1_MAX)
        fail (p, e_v1_long);   /* 107 bytes and still no LF */
      return;
    }
  if (at < sizeof v2_signature)
    {
      if (b != v2_signature[at])
        fail (p, e_not_proxy);
    }
  else if (at == 12)
    {
      if ((b >> 4) != 2)
        fail (p, e_v2_version);
      else if ((b & 0x0F) > V2_PROXY)
        fail (p, e_v2_command);
    }
  else if (at == 15)
    {
      check_v2_fixed (p);
      if (p->status == PST_PROXY_NEED_MORE && p->need == 16)
        finish_v2 (p);
    }
}

/**
 * pst_proxy_parser_feed:
 * @parser: a parser set up with pst_proxy_parser_init()
 * @data: (array length=len): the next bytes of the connection
 * @len: their number
 * @used: (out) (optional): how many of them are part of the header
 *
 * Returns: PST_PROXY_DONE once the whole header was seen (results are set),
 *   PST_PROXY_ERROR as soon as the bytes cannot be a header we accept
 *   (parser->error says why), PST_PROXY_NEED_MORE otherwise
 */
PstProxyStatus
pst_proxy_parser_feed (PstProxyParser *parser,
                       const guint8   *data,
                       gsize           len,
                       gsize          *used)
{
  gsize i = 0;

  g_return_val_if_fail (parser != NULL, PST_PROXY_ERROR);
  g_return_val_if_fail (data != NULL || len == 0, PST_PROXY_ERROR);

  while (i < len && parser->status == PST_PROXY_NEED_MORE)
    {
      if (parser->need > 0)
        {
          /* The v2 body: copied as it comes, checked once complete. */
          gsize n = MIN (len - i, parser->need - parser->consumed);

          memcpy (parser->buf + parser->consumed, data + i, n);
          parser->consumed += n;
          i += n;
          if (parser->consumed == parser->need)
            finish_v2 (parser);
        }
      else
        step (parser, data[i++]);
    }
  if (used != NULL)
    *used = i;
  return parser->status;
}

static GInetSocketAddress *
dup_address (const PstProxyParser *parser, const guint8 *bytes, guint16 port)
{
  g_autoptr(GInetAddress) inet = NULL;

  if (parser->status != PST_PROXY_DONE || !parser->has_addresses)
    return NULL;
  inet = g_inet_address_new_from_bytes (bytes, parser->family);
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (inet, port));
}

GInetSocketAddress *
pst_proxy_parser_dup_source (const PstProxyParser *parser)
{
  g_return_val_if_fail (parser != NULL, NULL);
  return dup_address (parser, parser->src, parser->src_port);
}

GInetSocketAddress *
pst_proxy_parser_dup_destination (const PstProxyParser *parser)
{
  g_return_val_if_fail (parser != NULL, NULL);
  return dup_address (parser, parser->dst, parser->dst_port);
}

/* 16 bytes of address, IPv4 ones mapped (::ffff:a.b.c.d). */
static void
address_as_v6 (GInetAddress *inet, guint8 *out)
{
  const guint8 *bytes = g_inet_address_to_bytes (inet);

  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    {
      memcpy (out, bytes, 16);
      return;
    }
  memset (out, 0, 10);
  out[10] = out[11] = 0xFF;
  memcpy (out + 12, bytes, 4);
}

gsize
pst_proxy_protocol_build_v2 (GInetSocketAddress *source,
                             GInetSocketAddress *destination,
                             guint8             *out)
{
  GInetAddress *src, *dst;
  guint16 sport, dport;
  gsize at = 16;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (source), 0);
  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (destination), 0);
  g_return_val_if_fail (out != NULL, 0);

  src = g_inet_socket_address_get_address (source);
  dst = g_inet_socket_address_get_address (destination);
  sport = g_inet_socket_address_get_port (source);
  dport = g_inet_socket_address_get_port (destination);
  memcpy (out, v2_signature, sizeof v2_signature);
  out[12] = 0x20 | V2_PROXY;
  if (g_inet_address_get_family (src) == G_SOCKET_FAMILY_IPV4 &&
      g_inet_address_get_family (dst) == G_SOCKET_FAMILY_IPV4)
    {
      out[13] = (V2_AF_INET << 4) | V2_STREAM;
      memcpy (out + at, g_inet_address_to_bytes (src), 4);
      memcpy (out + at + 4, g_inet_address_to_bytes (dst), 4);
      at += 8;
    }
  else
    {
      out[13] = (V2_AF_INET6 << 4) | V2_STREAM;
      address_as_v6 (src, out + at);
      address_as_v6 (dst, out + at + 16);
      at += 32;
    }
  out[at++] = sport >> 8;
  out[at++] = sport & 0xFF;
  out[at++] = dport >> 8;
  out[at++] = dport & 0xFF;
  out[14] = (at - 16) >> 8;
  out[15] = (at - 16) & 0xFF;
  return at;
}
