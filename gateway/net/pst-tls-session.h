/* pst-tls-session.h: TLS straight on GnuTLS over a socket, for both legs
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <gnutls/gnutls.h>

G_BEGIN_DECLS

/* What PstTlsClient (the back-end leg) and PstTlsServer (the accept leg)
 * share: a GIOStream speaking TLS over a connected socket, with pollable
 * input and output, a handshake run on the caller's main context (no
 * thread), a close that sends close_notify once without waiting, and the
 * socket read in large pieces (one recv () per record, not two: header
 * and body).  Abstract: make one with pst_tls_client_new () or
 * pst_tls_server_new (). */
typedef struct _PstTlsSession      PstTlsSession;
typedef struct _PstTlsSessionClass PstTlsSessionClass;

struct _PstTlsSessionClass
{
  GIOStreamClass parent_class;
  /* after a successful handshake, before the caller hears of it: FALSE
   * (and an error) fails the handshake */
  gboolean (*handshaken) (PstTlsSession *self, GError **error);
  /* the name of the handshake's GTask */
  const char *handshake_name;
};

#define PST_TYPE_TLS_SESSION    (pst_tls_session_get_type ())
#define PST_TLS_SESSION(o)      (G_TYPE_CHECK_INSTANCE_CAST ((o), PST_TYPE_TLS_SESSION, PstTlsSession))
#define PST_IS_TLS_SESSION(o)   (G_TYPE_CHECK_INSTANCE_TYPE ((o), PST_TYPE_TLS_SESSION))
#define PST_TLS_SESSION_GET_CLASS(o) (G_TYPE_INSTANCE_GET_CLASS ((o), PST_TYPE_TLS_SESSION, PstTlsSessionClass))

GType            pst_tls_session_get_type         (void) G_GNUC_CONST;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstTlsSession, g_object_unref)

/* Fails with G_IO_ERROR_TIMED_OUT after timeout_s seconds (0: no
 * deadline of its own; the caller's cancellable ends it). */
void             pst_tls_session_handshake_async  (PstTlsSession        *self,
                                                   guint                 timeout_s,
                                                   GCancellable         *cancellable,
                                                   GAsyncReadyCallback   callback,
                                                   gpointer              user_data);
gboolean         pst_tls_session_handshake_finish (PstTlsSession        *self,
                                                   GAsyncResult         *result,
                                                   GError              **error);
/* The chain the peer sent (or the resumed session's), leaf first, as a
 * GTlsCertificate made now (the caller drops it after checking); NULL if
 * there is none. */
GTlsCertificate *pst_tls_session_dup_peer_chain   (PstTlsSession        *self);
/* The same chain as GnuTLS holds it: DER, leaf first, *n certificates;
 * owned by the session (valid until the next handshake or the session's
 * end); NULL if there is none.  Copies and parses nothing. */
const gnutls_datum_t *pst_tls_session_get_peer_der (PstTlsSession   *self,
                                                    guint           *n);
gboolean         pst_tls_session_is_resumed       (PstTlsSession        *self);
/* "TLSv1.3/TLS_AES_128_GCM_SHA256" (protocol / IANA suite name), after
 * the handshake. */
char            *pst_tls_session_dup_info         (PstTlsSession        *self);

G_END_DECLS
