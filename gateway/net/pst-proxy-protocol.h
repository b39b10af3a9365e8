/* pst-proxy-protocol.h: an incremental PROXY protocol (v1 text, v2 binary) header parser, and a v2 writer
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The longest v1 line the specification allows, CRLF included. */
#define PST_PROXY_V1_MAX       107
/* The longest v2 header we take (16-byte fixed part included): the
 * specification allows 16 + 65535, but a load balancer in front of us
 * sends addresses and a few TLVs, never kilobytes. */
#define PST_PROXY_HEADER_MAX   4096
/* A v2 header with IPv6 addresses and no TLVs: what we write */
#define PST_PROXY_V2_MAX_BUILT (16 + 36)

typedef enum {
  PST_PROXY_NEED_MORE,
  PST_PROXY_DONE,
  PST_PROXY_ERROR,
} PstProxyStatus;

/* The parser: a plain struct (no allocation) the caller owns.  Fields
 * above the line are results; the ones below are private. */
typedef struct {
  /* Results, meaningful once a feed returned PST_PROXY_DONE: */
  guint8         version;         /* 1 or 2 */
  /* FALSE for a v2 LOCAL command (health checks), v1 UNKNOWN, and
   * v2 AF_UNSPEC or AF_UNIX: the real peer's address stays. */
  gboolean       has_addresses;
  GSocketFamily  family;          /* G_SOCKET_FAMILY_IPV4 or _IPV6 when has_addresses */
  guint8         src[16];         /* network order; 4 bytes for IPv4 */
  guint8         dst[16];
  guint16        src_port;
  guint16        dst_port;
  gsize          consumed;        /* header length in bytes, over all feeds */
  const char    *error;           /* after PST_PROXY_ERROR: why, N_()-marked, static */

  /* private */
  PstProxyStatus status;
  gsize          need;            /* v2: 16 + its length field, once known */
  guint8         buf[PST_PROXY_HEADER_MAX];
} PstProxyParser;

void           pst_proxy_parser_init (PstProxyParser *parser);
/* Feeds the next len bytes of the stream.  *used (nullable) is set to how
 * many of them belong to the header: once DONE, data + *used is the first
 * byte after it.  After DONE or ERROR, further feeds change nothing. */
PstProxyStatus pst_proxy_parser_feed (PstProxyParser *parser,
                                      const guint8   *data,
                                      gsize           len,
                                      gsize          *used);

/* (transfer full) (nullable): the header's source / destination as socket
 * addresses, NULL without addresses. */
GInetSocketAddress *pst_proxy_parser_dup_source      (const PstProxyParser *parser);
GInetSocketAddress *pst_proxy_parser_dup_destination (const PstProxyParser *parser);

/* Writes a v2 PROXY header for a TCP connection from source to
 * destination into out (PST_PROXY_V2_MAX_BUILT bytes): both IPv4, or both
 * IPv6 (an IPv4 one is written as IPv4-mapped IPv6 when the other is
 * IPv6).  Returns its length. */
gsize pst_proxy_protocol_build_v2 (GInetSocketAddress *source,
                                   GInetSocketAddress *destination,
                                   guint8             *out);

G_END_DECLS
