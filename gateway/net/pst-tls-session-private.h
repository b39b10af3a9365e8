/* pst-tls-session-private.h: PstTlsSession's state, shared by both legs and the streams
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gnutls/gnutls.h>

#include "pst-tls-session.h"

G_BEGIN_DECLS

struct _PstTlsSession
{
  GIOStream          parent_instance;
  GSocketConnection *base;
  GSocket           *socket;          /* the base's */
  int                fd;
  gnutls_session_t   session;
  GInputStream      *input;
  GOutputStream     *output;
  gboolean           handshaken;
  gsize              pending_len;     /* bytes of the record GnuTLS holds after E_AGAIN */
  /* read-ahead: what the last large recv () brought beyond what GnuTLS
   * asked for; allocated only while it holds bytes */
  guint8            *ahead;
  guint              ahead_pos;
  guint              ahead_len;
  gboolean           pull_blocked;    /* the last pull met EAGAIN on the socket */
  gboolean           pull_short;      /* the last recv () brought less than asked: the socket was empty */
  guint64            pull_in;         /* the poller dispatch of that recv () */
  gboolean           drained;         /* ...in this dispatch, and every byte since went out: the next read would block */
};

static inline gboolean
pst_tls_would_block (int ret)
{
  return ret == GNUTLS_E_AGAIN || ret == GNUTLS_E_INTERRUPTED;
}

/* pst-tls-session.c */
/* The process-wide priority (G_TLS_GNUTLS_PRIORITY, from ssl.protocols
 * and ssl.ciphers, pst-tls-priority.c), or GnuTLS's default. */
int           pst_tls_session_set_priority  (gnutls_session_t session);
/* Takes ownership of session (made with GNUTLS_NONBLOCK): its transport
 * becomes base's socket (with the read-ahead), and the streams are made. */
void          pst_tls_session_attach        (PstTlsSession     *self,
                                             GSocketConnection *base,
                                             gnutls_session_t   session);
/* One TLS read or write, never blocking (G_IO_ERROR_WOULD_BLOCK); self
 * may be NULL (closed). */
gssize        pst_tls_session_recv          (PstTlsSession  *self,
                                             void           *buffer,
                                             gsize           count,
                                             GError        **error);
gssize        pst_tls_session_send          (PstTlsSession  *self,
                                             const void     *buffer,
                                             gsize           count,
                                             GError        **error);
/* Whether a read would give something without the socket: decrypted
 * bytes in GnuTLS, or read-ahead bytes. */
gboolean      pst_tls_session_has_pending   (PstTlsSession  *self);

/* pst-tls-session-streams.c: the pollable streams; they point back at
 * the connection until it detaches them (closed or finalized). */
GInputStream  *pst_tls_session_input_new     (PstTlsSession *conn);
GOutputStream *pst_tls_session_output_new    (PstTlsSession *conn);
void           pst_tls_session_input_detach  (GInputStream  *stream);
void           pst_tls_session_output_detach (GOutputStream *stream);

G_END_DECLS
