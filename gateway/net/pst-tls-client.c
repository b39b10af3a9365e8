/* pst-tls-client.c: the back-end leg's TLS, straight on GnuTLS
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gnutls/gnutls.h>
#include <glib/gi18n-lib.h>

#include "pst-tls-client.h"
#include "pst-tls-session-private.h"

#define CACHE_MAX    1024    /* back-ends whose last session ticket is kept */

/* ---- process-wide: credentials, one ticket per back-end ------------------ */

static gnutls_certificate_credentials_t shared_creds;
static int shared_status;
static GMutex cache_lock;
static GHashTable *ticket_cache;            /* "name:port" → GBytes */

static gboolean
shared_init (GError **error)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      shared_status = gnutls_certificate_allocate_credentials (&shared_creds);
      ticket_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_bytes_unref);
      g_once_init_leave (&done, 1);
    }
  if (shared_status < 0)
    {
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not create TLS connection: %s"),
                   gnutls_strerror (shared_status));
      return FALSE;
    }
  return TRUE;
}

static GBytes *
cache_lookup (const char *key)
{
  GBytes *data;

  g_mutex_lock (&cache_lock);
  data = g_hash_table_lookup (ticket_cache, key);
  if (data != NULL)
    g_bytes_ref (data);
  g_mutex_unlock (&cache_lock);
  return data;
}

static void
cache_store (const char *key, gnutls_session_t session)
{
  gnutls_datum_t datum = { NULL, 0 };

  if (gnutls_session_get_data2 (session, &datum) < 0)
    return;
  g_mutex_lock (&cache_lock);
  if (g_hash_table_size (ticket_cache) >= CACHE_MAX && !g_hash_table_contains (ticket_cache, key))
    g_hash_table_remove_all (ticket_cache);
  g_hash_table_insert (ticket_cache, g_strdup (key),
                       g_bytes_new_with_free_func (datum.data, datum.size, gnutls_free, datum.data));
  g_mutex_unlock (&cache_lock);
}

/* ---- PstTlsClient -------------------------------------------------------- */

struct _PstTlsClient
{
  PstTlsSession  parent_instance;
  char          *cache_key;
};

G_DEFINE_FINAL_TYPE (PstTlsClient, pst_tls_client, PST_TYPE_TLS_SESSION)

/* TLS 1.2: the session is resumable now; TLS 1.3 tickets come later. */
static gboolean
pst_tls_client_handshaken (PstTlsSession *session, GError **error)
{
  PstTlsClient *self = PST_TLS_CLIENT (session);

  if (self->cache_key != NULL && !gnutls_session_is_resumed (session->session) &&
      gnutls_protocol_get_version (session->session) != GNUTLS_TLS1_3)
    cache_store (self->cache_key, session->session);
  return TRUE;
}

static void
pst_tls_client_finalize (GObject *object)
{
  g_free (PST_TLS_CLIENT (object)->cache_key);
  G_OBJECT_CLASS (pst_tls_client_parent_class)->finalize (object);
}

static void
pst_tls_client_class_init (PstTlsClientClass *klass)
{
  PstTlsSessionClass *session_class = (PstTlsSessionClass *) klass;

  G_OBJECT_CLASS (klass)->finalize = pst_tls_client_finalize;
  session_class->handshaken = pst_tls_client_handshaken;
  session_class->handshake_name = "[postern] back-end TLS handshake";
}

static void
pst_tls_client_init (PstTlsClient *self)
{
}

/* TLS 1.3 tickets come after the handshake, with the first reads. */
static int
ticket_cb (gnutls_session_t session, unsigned int htype, unsigned when, unsigned int incoming,
           const gnutls_datum_t *msg)
{
  PstTlsClient *self = gnutls_session_get_ptr (session);

  /* (a TLS 1.2 ticket, within the handshake, is stored when it ends) */
  if (self != NULL && ((PstTlsSession *) self)->handshaken && self->cache_key != NULL)
    cache_store (self->cache_key, session);
  return 0;
}

PstTlsClient *
pst_tls_client_new (GSocketConnection *base, const char *server_name, guint16 port, GError **error)
{
  g_autoptr(PstTlsClient) self = NULL;
  g_autoptr(GBytes) ticket = NULL;
  gnutls_session_t session = NULL;
  int ret;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);
  if (!shared_init (error))
    return NULL;

  ret = gnutls_init (&session, GNUTLS_CLIENT | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL);
  if (ret == 0)
    ret = pst_tls_session_set_priority (session);
  if (ret == 0)
    ret = gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, shared_creds);
  if (ret == 0 && server_name != NULL && !g_hostname_is_ip_address (server_name))
    ret = gnutls_server_name_set (session, GNUTLS_NAME_DNS, server_name, strlen (server_name));
  if (ret < 0)
    {
      g_clear_pointer (&session, gnutls_deinit);
      g_set_error (error, G_TLS_ERROR, G_TLS_ERROR_MISC, _("Could not create TLS connection: %s"),
                   gnutls_strerror (ret));
      return NULL;
    }
  self = g_object_new (PST_TYPE_TLS_CLIENT, NULL);
  gnutls_session_set_ptr (session, self);
  pst_tls_session_attach (PST_TLS_SESSION (self), base, session);
  if (server_name != NULL)
    {
      self->cache_key = g_strdup_printf ("%s:%u", server_name, port);
      ticket = cache_lookup (self->cache_key);
      if (ticket != NULL)
        gnutls_session_set_data (session, g_bytes_get_data (ticket, NULL), g_bytes_get_size (ticket));
      gnutls_handshake_set_hook_function (session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                          GNUTLS_HOOK_POST, ticket_cb);
    }
  return g_steal_pointer (&self);
}
