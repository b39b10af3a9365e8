/* pst-url.h: accept and connect URLs (ws, wss, http, https, tcp, ssl)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char     *scheme;   /* lower case: ws, wss, http, https, tcp, ssl, udp… */
  char     *host;     /* without brackets for IPv6 */
  guint16   port;     /* the scheme's default when absent (ws/http 80, wss/https 443) */
  char     *path;     /* "/" when absent; never NULL */
  gboolean  secure;   /* wss, https, ssl */
} PstUrl;

#define PST_URL_ERROR (pst_url_error_quark ())
typedef enum {
  PST_URL_ERROR_SYNTAX,   /* not scheme://host[:port][/path] */
  PST_URL_ERROR_PORT,     /* port 0, above 65535, not a number, or missing for tcp/ssl */
} PstUrlError;
GQuark   pst_url_error_quark (void);

PstUrl  *pst_url_parse          (const char *text, GError **error);
PstUrl  *pst_url_copy           (const PstUrl *url);
void     pst_url_free           (PstUrl *url);
/* "wss://localhost:9000/echo", IPv6 hosts bracketed */
char    *pst_url_to_string      (const PstUrl *url);
/* "localhost:9000" / "[::1]:9000" */
char    *pst_url_dup_authority  (const PstUrl *url);
gboolean pst_url_scheme_is_secure (const char *scheme);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstUrl, pst_url_free)

G_END_DECLS
