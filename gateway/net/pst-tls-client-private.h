/* pst-tls-client-private.h: PstTlsClient's state, shared by the connection and its streams
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gnutls/gnutls.h>

#include "pst-tls-client.h"

G_BEGIN_DECLS

struct _PstTlsClient
{
  GIOStream          parent_instance;
  GSocketConnection *base;
  GSocket           *socket;          /* the base's */
  gnutls_session_t   session;
  GInputStream      *input;
  GOutputStream     *output;
  char              *cache_key;
  gboolean           handshaken;
  gsize              pending_len;     /* bytes of the record GnuTLS holds after E_AGAIN */
};

static inline gboolean
pst_tls_would_block (int ret)
{
  return ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED;
}

/* pst-tls-client.c: one TLS read or write, never blocking
 * (G_IO_ERROR_WOULD_BLOCK); self may be NULL (closed). */
gssize        pst_tls_client_recv          (PstTlsClient  *self,
                                            void          *buffer,
                                            gsize          count,
                                            GError       **error);
gssize        pst_tls_client_send          (PstTlsClient  *self,
                                            const void    *buffer,
                                            gsize          count,
                                            GError       **error);

/* pst-tls-client-streams.c: the pollable streams; they point back at
 * the connection until it detaches them (closed or finalized). */
GInputStream  *pst_tls_client_input_new     (PstTlsClient  *conn);
GOutputStream *pst_tls_client_output_new    (PstTlsClient  *conn);
void           pst_tls_client_input_detach  (GInputStream  *stream);
void           pst_tls_client_output_detach (GOutputStream *stream);

G_END_DECLS
