/* pst-upgrade-request.h: recognise a plain WebSocket upgrade request head
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PST_UPGRADE_REQUEST_NEED_MORE,  /* a prefix of such a head, not ended yet */
  PST_UPGRADE_REQUEST_OK,         /* a complete, plain upgrade request head */
  PST_UPGRADE_REQUEST_OTHER,      /* anything else: for the full HTTP server */
} PstUpgradeRequestResult;

/* The size past which a head is left to the full HTTP server. */
#define PST_UPGRADE_REQUEST_MAX 8192

typedef struct {
  gsize  head_len;   /* the head, its blank line included */
  char  *path;       /* the raw request path ("/" then path characters only) */
  char  *host;       /* the Host header without its port */
  char  *key;        /* Sec-WebSocket-Key */
  char  *origin;     /* NULL when the request has none */
} PstUpgradeRequest;

/* Pure: looks at the len bytes received so far.  OK only for the common,
 * unambiguous shape that needs no answer but 101: "GET /path HTTP/1.1",
 * CRLF lines, token header names, each of Host, Upgrade (websocket),
 * Connection (with an upgrade token), Sec-WebSocket-Version (13),
 * Sec-WebSocket-Key (16 bytes in base64) and Origin at most once, no
 * body, no query, percent-escape or dot segment in the path, a plain
 * host name or IPv4 Host.  Everything else is OTHER (an error, a page, an
 * unusual request: the full server answers it as it always did).  On OK,
 * *req is filled (free with pst_upgrade_request_clear). */
PstUpgradeRequestResult pst_upgrade_request_parse (const char        *data,
                                                   gsize              len,
                                                   PstUpgradeRequest *req);
void                    pst_upgrade_request_clear (PstUpgradeRequest *req);

G_END_DECLS
