/* pst-client-hello.h: read the SNI host name from a peeked TLS ClientHello
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PST_HELLO_NEED_MORE,   /* not enough bytes yet */
  PST_HELLO_OK,          /* parsed; *sni set (NULL when the client sent none) */
  PST_HELLO_NOT_TLS,     /* not a TLS handshake at all (plain HTTP on a TLS port?) */
} PstHelloResult;

/* Parses the first record of a ClientHello.  Never reads past len. */
PstHelloResult pst_client_hello_parse (const guint8 *data, gsize len, char **sni);

G_END_DECLS
