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

/* TRUE when sni is a DNS host name as TLS servers take one (letters,
 * digits, '-' and '.', at most 253 bytes): GnuTLS refuses the handshake of
 * any other ("a:b", a control character), so it is no host to advise a
 * client to open. */
gboolean       pst_client_hello_sni_is_host_name (const char *sni);

G_END_DECLS
