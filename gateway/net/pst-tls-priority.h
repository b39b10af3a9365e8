/* pst-tls-priority.h: ssl.protocols / ssl.ciphers → the process-wide GnuTLS priority
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-config.h"

G_BEGIN_DECLS

/* TLS 1.2 and 1.3 only; GnuTLS's NORMAL suites (no RC4, 3DES, export, NULL, anon). */
#define PST_TLS_DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* protocols: "TLSv1.2, TLSv1.3" (Kaazing/Java names); ciphers: OpenSSL or
 * GnuTLS names ("HIGH", "!aNULL", "ECDHE-RSA-AES128-GCM-SHA256",
 * "AES-256-GCM", …).  Either may be NULL.  An unknown name is an error
 * that names it. */
char *pst_tls_priority_from_options (const char *protocols, const char *ciphers, GError **error);

/* The priority the config asks for (the first service that sets
 * ssl.protocols or ssl.ciphers; `check` reports services that disagree). */
char *pst_tls_priority_for_config   (PstConfig *config, GError **error);

/* Sets G_TLS_GNUTLS_PRIORITY, which glib-networking reads once, before its
 * first TLS connection: call before any TLS connection exists. */
void  pst_tls_priority_apply        (const char *priority);

G_END_DECLS
