/* pst-upgrade-response.h: check a back-end's answer to a WebSocket upgrade request
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PST_UPGRADE_NEED_MORE,    /* no blank line ending the head yet */
  PST_UPGRADE_OK,           /* 101 with the right Sec-WebSocket-Accept */
  PST_UPGRADE_REFUSED,      /* the status line is not "HTTP/1.1 101" */
  PST_UPGRADE_BAD_ACCEPT,   /* 101, but no or a wrong Sec-WebSocket-Accept */
} PstUpgradeResult;

/* The Sec-WebSocket-Accept value a server must answer to key (RFC 6455 §4.2.2). */
char *pst_upgrade_accept_for_key (const char *key);

/* Pure: looks at the len bytes received so far (not NUL-terminated; a NUL
 * ends the search as it would end the text).  On anything but NEED_MORE,
 * *head_len (optional) is the size of the head including its blank line,
 * and on REFUSED *status_line (optional) is a copy of the first line for
 * the error message. */
PstUpgradeResult pst_upgrade_response_parse (const char  *data,
                                             gsize        len,
                                             const char  *key,
                                             gsize       *head_len,
                                             char       **status_line);

G_END_DECLS
