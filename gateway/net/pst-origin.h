/* pst-origin.h: cross-site-constraint checks for browser WebSocket upgrades
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-service.h"

G_BEGIN_DECLS

/* origin: the request's Origin header (NULL: not a browser, allowed).
 * Without a cross-site-constraint only the accept URL's own origin is
 * allowed (wss://h:p ↔ https://h:p); "*" allows every origin. */
gboolean pst_origin_allowed   (PstService *service, const PstUrl *accept, const char *origin);
/* "https://host:port" with the default port left out, lower case; NULL if unparsable */
char    *pst_origin_normalize (const char *origin);

G_END_DECLS
