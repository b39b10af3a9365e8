/* pst-backend.c: dial a back-end: TCP, TLS verified against the truststore, WebSocket handshake
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <glib/gi18n-lib.h>

#include "pst-backend.h"
#include "pst-poller.h"
#include "pst-prefix-stream.h"
#include "pst-socket.h"
#include "pst-tls-client.h"
#include "pst-trust-database.h"
#include "pst-upgrade-response.h"

#define CONNECT_TIMEOUT_S   10
#define MAX_RESPONSE_HEAD   (16 * 1024)
/* How long the address a back-end host name was last reached at is dialled
 * directly, without resolving the name again (see remember_reached). */
#define REACHED_TTL_US      (30 * G_USEC_PER_SEC)

G_DEFINE_QUARK (pst-backend-error-quark, pst_backend_error)

typedef struct {
  GTlsDatabase         *trust;
  char                 *truststore;
  gboolean              tls;
  PstUrl               *url;
  char                 *where;        /* "ssl://host:port" for messages */
  GIOStream            *stream;
  GSocket              *socket;       /* for its timeout */
  GBufferedInputStream *buffered;
  char                 *key;          /* Sec-WebSocket-Key */
  char                 *request;
  GTlsCertificateFlags  cert_errors;
  GTlsCertificate      *peer_cert;    /* a refused chain, for the message */
  GBytes               *preamble;
  GSocketConnection    *tcp;          /* while the preamble is written */
  gint64                started_us;   /* for the connect latency */
  GSocketClient        *client;
  char                 *reached_key;  /* "host port" when the host is a name */
  gboolean              direct;       /* dialled the remembered address */
  /* a direct dial (an address known): our own connect, see dial_address */
  GSocket              *connecting;
  PstPollerWatch       *watch;
  guint                 connect_timer;
  GCancellable         *cancellable;
  gulong                cancel_id;
  gboolean              timed_out;
  char                 *address_text;
} Dial;

/* Host names are resolved once, not per connection: the address that
 * answered is dialled directly for REACHED_TTL_US (a DNS change is seen
 * within that), and forgotten as soon as a dial to it fails (the name is
 * then resolved again at once, for that very connection).  "localhost",
 * which resolves to ::1 and 127.0.0.1, thus costs one connect(), not one
 * refused on ::1 and then one on 127.0.0.1.  IP literals never go near the
 * resolver.  Worker processes each keep their own; the lock is for threads. */
typedef struct {
  GSocketAddress *address;
  gint64          expires_us;   /* monotonic */
} Reached;

G_LOCK_DEFINE_STATIC (reached);
static GHashTable *reached;   /* reached_key -> Reached */

static void
reached_free (Reached *r)
{
  g_clear_object (&r->address);
  g_free (r);
}

static GSocketAddress *
lookup_reached (const char *key)
{
  GSocketAddress *address = NULL;
  Reached *r;

  G_LOCK (reached);
  r = reached != NULL ? g_hash_table_lookup (reached, key) : NULL;
  if (r != NULL && g_get_monotonic_time () < r->expires_us)
    address = g_object_ref (r->address);
  else if (r != NULL)
    g_hash_table_remove (reached, key);
  G_UNLOCK (reached);
  return address;
}

static void
remember_reached (const char *key, GSocketAddress *address)
{
  Reached *r = g_new0 (Reached, 1);

  r->address = g_object_ref (address);
  r->expires_us = g_get_monotonic_time () + REACHED_TTL_US;
  G_LOCK (reached);
  if (reached == NULL)
    reached = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) reached_free);
  /* bounded by the back-ends of the config (and of its reloads) */
  if (g_hash_table_size (reached) >= 1024)
    g_hash_table_remove_all (reached);
  g_hash_table_replace (reached, g_strdup (key), r);
  G_UNLOCK (reached);
}

static void
forget_reached (const char *key)
{
  G_LOCK (reached);
  if (reached != NULL)
    g_hash_table_remove (reached, key);
  G_UNLOCK (reached);
}

static void
direct_stop (Dial *dial)
{
  g_clear_pointer (&dial->watch, pst_poller_watch_free);
  g_clear_handle_id (&dial->connect_timer, pst_poller_timeout_remove);
  if (dial->cancel_id != 0)
    g_cancellable_disconnect (dial->cancellable, dial->cancel_id);
  dial->cancel_id = 0;
  g_clear_object (&dial->cancellable);
}

static void
dial_free (Dial *dial)
{
  direct_stop (dial);
  g_clear_object (&dial->connecting);
  g_free (dial->address_text);
  g_clear_object (&dial->trust);
  g_free (dial->truststore);
  g_clear_pointer (&dial->url, pst_url_free);
  g_clear_object (&dial->stream);
  g_clear_object (&dial->socket);
  g_clear_object (&dial->buffered);
  g_clear_object (&dial->peer_cert);
  g_clear_pointer (&dial->preamble, g_bytes_unref);
  g_clear_object (&dial->tcp);
  g_clear_object (&dial->client);
  g_free (dial->reached_key);
  g_free (dial->where);
  g_free (dial->key);
  g_free (dial->request);
  g_free (dial);
}

const char *
pst_backend_short_reason (const GError *error)
{
  if (error == NULL || error->domain != PST_BACKEND_ERROR)
    return "back-end unavailable";
  switch (error->code)
    {
    case PST_BACKEND_ERROR_TLS:       return "back-end certificate refused";
    case PST_BACKEND_ERROR_HANDSHAKE: return "back-end refused the WebSocket upgrade";
    case PST_BACKEND_ERROR_TIMEOUT:   return "back-end did not answer in time";
    default:                          return "back-end unavailable";
    }
}

static char *
join_names (GPtrArray *names)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; names != NULL && i < names->len; i++)
    {
      GBytes *b = names->pdata[i];
      gsize len;
      const char *s = g_bytes_get_data (b, &len);
      g_string_append_printf (out, "%s%.*s", i ? ", " : "", (int) len, s);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* What failed in the back-end's certificate, and what to do about it. */
static void
return_certificate_error (GTask *task, Dial *dial)
{
  const char *truststore = dial->truststore;
  g_autofree char *issuer = NULL;
  g_autofree char *authority = pst_url_dup_authority (dial->url);
  GTlsCertificateFlags flags = dial->cert_errors;
  char *message;

  if (dial->peer_cert != NULL)
    g_object_get (dial->peer_cert, "issuer-name", &issuer, NULL);

  if (flags & G_TLS_CERTIFICATE_UNKNOWN_CA)
    {
      if (truststore != NULL)
        message = g_strdup_printf (_("back-end %s: certificate not trusted: issuer “%s” is not in truststore %s — "
                                     "to trust it: postern cert fetch %s %s"),
                                   dial->where, issuer ? issuer : "?", truststore, truststore, authority);
      else
        message = g_strdup_printf (_("back-end %s: certificate not trusted: issuer “%s” is not in the system's CA "
                                     "database and the config has no truststore — add a <truststore> and run: "
                                     "postern cert fetch STORE %s"),
                                   dial->where, issuer ? issuer : "?", authority);
    }
  else if (flags & G_TLS_CERTIFICATE_EXPIRED)
    {
      g_autoptr(GDateTime) after = NULL;
      g_autofree char *when = NULL;

      g_object_get (dial->peer_cert, "not-valid-after", &after, NULL);
      when = after ? g_date_time_format (after, "%Y-%m-%d") : g_strdup ("?");
      message = g_strdup_printf (_("back-end %s: certificate expired on %s — renew the back-end's certificate "
                                   "(e.g. postern cert generate) and trust the new one"),
                                 dial->where, when);
    }
  else if (flags & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    message = g_strdup_printf (_("back-end %s: certificate is not valid yet — check the clocks of both machines"),
                               dial->where);
  else if (flags & G_TLS_CERTIFICATE_BAD_IDENTITY)
    {
      g_autoptr(GPtrArray) dns = NULL;
      g_autofree char *names = NULL;

      if (dial->peer_cert != NULL)
        g_object_get (dial->peer_cert, "dns-names", &dns, NULL);
      names = join_names (dns);
      message = g_strdup_printf (_("back-end %s: host-name mismatch: the certificate is for “%s”, not “%s” — "
                                   "connect with one of its names, or reissue it with a SAN for %s"),
                                 dial->where, names && *names ? names : "?", dial->url->host, dial->url->host);
    }
  else
    message = g_strdup_printf (_("back-end %s: certificate refused (flags 0x%x)"), dial->where, flags);

  g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TLS, "%s", message);
  g_free (message);
}

/* GSocketClient's timeout stays on the socket it made, where it would end
 * any read or write that waits longer (a quiet back-end after 10 s): it
 * bounds the set-up only. */
static void
ready (Dial *dial)
{
  if (dial->socket != NULL)
    g_socket_set_timeout (dial->socket, 0);
}

static void
response_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gssize n = g_buffered_input_stream_fill_finish (G_BUFFERED_INPUT_STREAM (source), result, &error);
  gsize avail;
  gsize head_len = 0;
  const char *head;
  g_autofree char *status_line = NULL;
  PstUpgradeResult verdict;

  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TIMEOUT,
                                 _("back-end %s: no answer to the WebSocket upgrade within %d s "
                                   "(is the back-end hung, or not a WebSocket server?)"),
                                 dial->where, CONNECT_TIMEOUT_S);
      else
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_HANDSHAKE,
                                 _("back-end %s: WebSocket upgrade failed: %s"), dial->where, error->message);
      return;
    }
  head = g_buffered_input_stream_peek_buffer (dial->buffered, &avail);
  verdict = pst_upgrade_response_parse (head, avail, dial->key, &head_len, &status_line);
  if (verdict == PST_UPGRADE_NEED_MORE)
    {
      if (n == 0 || avail >= MAX_RESPONSE_HEAD)
        {
          g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_HANDSHAKE,
                                   _("back-end %s: no valid WebSocket upgrade response"), dial->where);
          return;
        }
      GCancellable *cancellable = g_task_get_cancellable (task);

      /* (the cancellable first: argument order is unspecified in C) */
      g_buffered_input_stream_fill_async (dial->buffered, -1, G_PRIORITY_DEFAULT,
                                          cancellable, response_cb, g_steal_pointer (&task));
      return;
    }
  if (verdict == PST_UPGRADE_REFUSED)
    {
      g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_HANDSHAKE,
                               _("back-end %s: WebSocket upgrade refused: “%s”"), dial->where, status_line);
      return;
    }
  if (verdict == PST_UPGRADE_BAD_ACCEPT)
    {
      g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_HANDSHAKE,
                               _("back-end %s: bad Sec-WebSocket-Accept in the upgrade response"), dial->where);
      return;
    }
  /* Nothing past the head (the usual case): the connection's own stream,
   * which is pollable.  A GBufferedInputStream is not: every read on it
   * would take a thread of GLib's small pool, and under load the proxy
   * stalls waiting for one. */
  if (avail == head_len)
    {
      g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (dial->buffered), FALSE);
      ready (dial);
      g_task_return_pointer (task, g_object_ref (dial->stream), g_object_unref);
      return;
    }
  /* Frames sent with the 101 come first, then the connection's own
   * (pollable) stream: the buffer's read_async would hold them back until
   * more bytes arrive. */
  {
    g_autoptr(GBytes) frames = g_bytes_new (head + head_len, avail - head_len);

    g_filter_input_stream_set_close_base_stream (G_FILTER_INPUT_STREAM (dial->buffered), FALSE);
    ready (dial);
    g_task_return_pointer (task, pst_prefix_stream_wrap (dial->stream, frames), g_object_unref);
  }
}

static void
request_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_HANDSHAKE,
                               _("back-end %s: %s"), dial->where, error->message);
      return;
    }
  GCancellable *cancellable = g_task_get_cancellable (task);

  dial->buffered = G_BUFFERED_INPUT_STREAM (g_buffered_input_stream_new_sized (
      g_io_stream_get_input_stream (dial->stream), MAX_RESPONSE_HEAD));
  g_buffered_input_stream_fill_async (dial->buffered, -1, G_PRIORITY_DEFAULT,
                                      cancellable, response_cb, g_steal_pointer (&task));
}

/* Takes ownership of the task. */
static void
connected (GTask *owned_task)
{
  g_autoptr(GTask) task = owned_task;
  Dial *dial = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  guint8 nonce[16];
  g_autofree char *authority = NULL;

  if (!g_str_equal (dial->url->scheme, "ws") && !g_str_equal (dial->url->scheme, "wss"))
    {
      ready (dial);
      g_task_return_pointer (task, g_object_ref (dial->stream), g_object_unref);
      return;
    }
  for (gsize i = 0; i < sizeof nonce; i++)
    nonce[i] = g_random_int_range (0, 256);
  dial->key = g_base64_encode (nonce, sizeof nonce);
  authority = pst_url_dup_authority (dial->url);
  dial->request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                                   "Host: %s\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Sec-WebSocket-Key: %s\r\n"
                                   "Sec-WebSocket-Version: 13\r\n"
                                   "User-Agent: Postern/" PACKAGE_VERSION "\r\n"
                                   "\r\n",
                                   dial->url->path, authority, dial->key);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (dial->stream),
                                   dial->request, strlen (dial->request), G_PRIORITY_DEFAULT,
                                   cancellable, request_written_cb, g_steal_pointer (&task));
}

/* The back-end's chain against the snapshot's trust (the truststore's
 * anchors, or the system's CAs parsed once), with the host name or IP
 * address of the URL and the validity dates: 0 when it passes. */
static GTlsCertificateFlags
check_chain (Dial *dial, GTlsCertificate *peer)
{
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GTlsDatabase) fallback = NULL;
  GTlsDatabase *db = dial->trust;

  if (peer == NULL)
    return G_TLS_CERTIFICATE_GENERIC_ERROR;
  /* No snapshot trust only when the system's CAs could not be read (said
   * at load): GIO's default database then, as before. */
  if (db == NULL)
    db = fallback = g_tls_backend_get_default_database (g_tls_backend_get_default ());
  if (db == NULL)
    return G_TLS_CERTIFICATE_UNKNOWN_CA;
  identity = g_network_address_new (dial->url->host, dial->url->port);
  return g_tls_database_verify_chain (db, peer, G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity,
                                     NULL, G_TLS_DATABASE_VERIFY_NONE, NULL, NULL);
}

/* The chain is checked after every handshake: a resumed one shows no
 * certificate to GnuTLS, and a certificate removed from the truststore
 * (then SIGHUP) or one that has since expired must not pass on an old
 * session.  The chain (the server's, or the resumed session's) is parsed
 * for this check only: no connection keeps a certificate. */
static gboolean
verify_chain (Dial *dial, PstTlsClient *tls)
{
  g_autoptr(GTlsCertificate) peer = NULL;
  GTlsCertificateFlags flags;

  /* The same chain verified for the same host within the last minute by
   * this snapshot's trust: looked up on the DER GnuTLS holds, no PEM, no
   * GTlsCertificate (issue 10).  Anything else is built and verified. */
  if (dial->trust != NULL && PST_IS_TRUST_DATABASE (dial->trust))
    {
      guint n = 0;
      const gnutls_datum_t *der = pst_tls_session_get_peer_der (PST_TLS_SESSION (tls), &n);

      if (pst_trust_database_lookup_verified_der (PST_TRUST_DATABASE (dial->trust), der, n,
                                                  G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER,
                                                  dial->url->host))
        return TRUE;
    }
  peer = pst_tls_session_dup_peer_chain (PST_TLS_SESSION (tls));
  flags = check_chain (dial, peer);

  if (flags == 0)
    return TRUE;
  dial->cert_errors = flags;
  g_set_object (&dial->peer_cert, peer);
  return FALSE;
}

static void
handshake_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!pst_tls_session_handshake_finish (PST_TLS_SESSION (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        /* A peer that takes the TCP connection and then says nothing (a
         * hung process, a plain server waiting for a request): that is
         * not a certificate problem, and the message must not say so. */
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TIMEOUT,
                                 _("back-end %s: no TLS handshake within %d s: it accepted the TCP "
                                   "connection but did not answer (is the back-end hung, or not a "
                                   "TLS server? use tcp:// or ws:// for a plain one)"),
                                 dial->where, CONNECT_TIMEOUT_S);
      else
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TLS,
                                 _("back-end %s: TLS handshake failed: %s (is it a TLS server? "
                                   "use tcp:// or ws:// for a plain one)"),
                                 dial->where, error->message);
      return;
    }
  if (!verify_chain (dial, PST_TLS_CLIENT (source)))
    {
      return_certificate_error (task, dial);
      return;
    }
  connected (g_steal_pointer (&task));
}

/* TCP is up and the preamble (if any) is out: TLS, or straight on. */
static void
tcp_ready (GTask *owned_task, GSocketConnection *owned_conn)
{
  g_autoptr(GTask) task = owned_task;
  g_autoptr(GSocketConnection) conn = owned_conn;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean tls = dial->tls;

  if (!tls)
    {
      dial->stream = G_IO_STREAM (g_steal_pointer (&conn));
      connected (g_steal_pointer (&task));
      return;
    }

  {
    /* Our own GnuTLS client (pst-tls-client.c), not a GTlsClientConnection:
     * the same TLS for a fraction of the memory per held connection. */
    PstTlsClient *tls_conn = pst_tls_client_new (conn, dial->url->host, dial->url->port, &error);

    if (tls_conn == NULL)
      {
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TLS,
                                 "back-end %s: %s", dial->where, error->message);
        return;
      }
    dial->stream = G_IO_STREAM (tls_conn);
    GCancellable *cancellable = g_task_get_cancellable (task);

    pst_tls_session_handshake_async (PST_TLS_SESSION (tls_conn), CONNECT_TIMEOUT_S, cancellable, handshake_cb, g_steal_pointer (&task));
  }
}

static void
preamble_written_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      /* CANCELLED stays itself: the session is over and says nothing. */
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else
        g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_CONNECT,
                                 _("back-end %s: cannot send the PROXY protocol header: %s"),
                                 dial->where, error->message);
      return;
    }
  tcp_ready (g_steal_pointer (&task), g_steal_pointer (&dial->tcp));
}

static void socket_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data);

/* TCP connected (conn), or not (error): on to the preamble, TLS, the
 * handshake; or resolve again once; or fail. */
static void
tcp_connected (GTask *owned_task, GSocketConnection *owned_conn, GError *owned_error)
{
  g_autoptr(GTask) task = owned_task;
  Dial *dial = g_task_get_task_data (task);
  g_autoptr(GError) error = owned_error;
  g_autoptr(GSocketConnection) conn = owned_conn;

  if (conn == NULL && dial->reached_key != NULL)
    forget_reached (dial->reached_key);
  /* The remembered address no longer answers (the name may point
   * elsewhere now): resolve it again, once.  Not after a timeout: the
   * connection's bound would double. */
  if (conn == NULL && dial->direct &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      g_autoptr(GSocketConnectable) name = g_network_address_new (dial->url->host, dial->url->port);
      GCancellable *cancellable = g_task_get_cancellable (task);

      dial->direct = FALSE;
      g_socket_client_connect_async (dial->client, name, cancellable, socket_connected_cb, g_steal_pointer (&task));
      return;
    }
  if (conn == NULL)
    {
      g_task_return_new_error (task, PST_BACKEND_ERROR, PST_BACKEND_ERROR_CONNECT,
                               _("back-end %s: cannot connect: %s (is the back-end running?)"),
                               dial->where, error->message);
      return;
    }
  if (dial->reached_key != NULL && !dial->direct)
    {
      g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (conn, NULL);

      if (remote != NULL)
        remember_reached (dial->reached_key, remote);
    }
  g_socket_set_option (g_socket_connection_get_socket (conn), IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  dial->socket = g_object_ref (g_socket_connection_get_socket (conn));
  if (dial->preamble != NULL)
    {
      GCancellable *cancellable = g_task_get_cancellable (task);
      gsize len;
      gconstpointer data = g_bytes_get_data (dial->preamble, &len);

      dial->tcp = g_steal_pointer (&conn);
      g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (dial->tcp)),
                                       data, len, G_PRIORITY_DEFAULT, cancellable,
                                       preamble_written_cb, g_steal_pointer (&task));
      return;
    }
  tcp_ready (g_steal_pointer (&task), g_steal_pointer (&conn));
}

static void
socket_connected_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError *error = NULL;
  GSocketConnection *conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  tcp_connected (user_data, conn, error);
}

/* A known address (an IP literal, or where the name was last reached)
 * is dialled without GSocketClient: its asynchronous connect adds a GLib
 * source for the socket, which costs four context wake-ups (eventfd
 * writes, empty iterations) and a few GTasks per connection.  Ours waits
 * on the poller.  The socket keeps CONNECT_TIMEOUT_S as its timeout for
 * the rest of the set-up, as GSocketClient's did (see ready()). */
static void
direct_done (GTask *owned_task, GError *error)
{
  Dial *dial = g_task_get_task_data (owned_task);
  g_autoptr(GSocket) socket = g_steal_pointer (&dial->connecting);

  /* connected: the registration goes on with the socket (its TLS
   * handshake or its pump adopts it); the dial read nothing */
  if (error == NULL && dial->watch != NULL)
    pst_poller_watch_park (g_steal_pointer (&dial->watch), socket, TRUE);
  direct_stop (dial);
  if (error != NULL)
    {
      /* worded (and translated) as GSocketClient's, which the logs said so far */
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && dial->address_text != NULL)
        g_prefix_error (&error, g_dgettext ("glib20", "Could not connect to %s: "), dial->address_text);
      tcp_connected (owned_task, NULL, error);
      return;
    }
  tcp_connected (owned_task, g_socket_connection_factory_create_connection (socket), NULL);
}

static gboolean
direct_writable_cb (PstPollerWatch *watch, GIOCondition ready, gpointer user_data)
{
  GTask *task = user_data;
  Dial *dial = g_task_get_task_data (task);
  GError *error = NULL;

  if (g_cancellable_set_error_if_cancelled (dial->cancellable, &error))
    ;
  else if (dial->timed_out)
    g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, g_dgettext ("glib20", "Socket I/O timed out"));
  else if (ready == 0)
    return FALSE;   /* not for us: keep waiting */
  else
    g_socket_check_connect_result (dial->connecting, &error);
  direct_done (task, error);
  return FALSE;
}

static gboolean
direct_timeout_cb (gpointer user_data)
{
  Dial *dial = g_task_get_task_data (user_data);

  dial->connect_timer = 0;
  dial->timed_out = TRUE;
  pst_poller_watch_schedule (dial->watch);
  return G_SOURCE_REMOVE;
}

/* (the cancelling thread: this poller's, as every caller's is) */
static void
direct_cancelled_cb (GCancellable *cancellable, gpointer user_data)
{
  Dial *dial = g_task_get_task_data (user_data);

  if (dial->watch != NULL)
    pst_poller_watch_schedule (dial->watch);
}

static void
dial_address (GTask *owned_task, GSocketAddress *address)
{
  g_autoptr(GTask) task = owned_task;
  Dial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  /* non-blocking from socket() on: no fcntl pair as with g_socket_new */
  g_autoptr(GSocket) socket = pst_socket_new_tcp (g_socket_address_get_family (address), &error);

  if (socket == NULL || g_task_return_error_if_cancelled (task))
    {
      if (socket == NULL)
        tcp_connected (g_steal_pointer (&task), NULL, error);
      return;
    }
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_timeout (socket, CONNECT_TIMEOUT_S);
  g_free (dial->address_text);
  dial->address_text = G_IS_INET_SOCKET_ADDRESS (address)
    ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address))) : NULL;
  dial->connecting = g_object_ref (socket);
  if (g_socket_connect (socket, address, NULL, &error))
    {
      direct_done (g_steal_pointer (&task), NULL);
      return;
    }
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      direct_done (g_steal_pointer (&task), error);
      return;
    }
  g_clear_error (&error);
  dial->watch = pst_poller_watch_new (pst_poller_get_default (), g_socket_get_fd (socket),
                                      direct_writable_cb, task);
  if (!pst_poller_watch_set_mask (dial->watch, G_IO_OUT))
    {
      g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "epoll refused the socket");
      direct_done (g_steal_pointer (&task), error);
      return;
    }
  dial->connect_timer = pst_poller_timeout_add (CONNECT_TIMEOUT_S * 1000, direct_timeout_cb, task);
  if (g_task_get_cancellable (task) != NULL)
    {
      dial->cancellable = g_object_ref (g_task_get_cancellable (task));
      dial->cancel_id = g_cancellable_connect (dial->cancellable, G_CALLBACK (direct_cancelled_cb), task, NULL);
    }
  g_steal_pointer (&task);   /* the watch's now, until direct_done */
}

void
pst_backend_connect_async (const PstUrl        *url,
                           gboolean             tls,
                           GBytes              *preamble,
                           GTlsDatabase        *trust,
                           const char          *truststore,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnectable) connectable = NULL;
  Dial *dial = g_new0 (Dial, 1);

  g_task_set_source_tag (task, pst_backend_connect_async);
  g_task_set_name (task, "[postern] back-end connect");
  dial->trust = trust ? g_object_ref (trust) : NULL;
  dial->truststore = g_strdup (truststore);
  dial->tls = tls;
  dial->preamble = preamble != NULL ? g_bytes_ref (preamble) : NULL;
  dial->url = pst_url_copy (url);
  dial->where = pst_url_to_string (url);
  dial->started_us = g_get_monotonic_time ();
  g_task_set_task_data (task, dial, (GDestroyNotify) dial_free);

  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  /* A gateway dials its back-ends directly, not through a desktop proxy
   * (and GIO's proxy lookup needs GSettings schemas a server may lack). */
  g_socket_client_set_enable_proxy (client, FALSE);
  dial->client = g_object_ref (client);
  if (g_hostname_is_ip_address (url->host))
    connectable = G_SOCKET_CONNECTABLE (g_inet_socket_address_new_from_string (url->host, url->port));
  else
    {
      g_autoptr(GSocketAddress) known = NULL;

      dial->reached_key = g_strdup_printf ("%s %u", url->host, url->port);
      known = lookup_reached (dial->reached_key);
      dial->direct = known != NULL;
      connectable = known != NULL ? G_SOCKET_CONNECTABLE (g_steal_pointer (&known)) : NULL;
    }
  if (G_IS_INET_SOCKET_ADDRESS (connectable))
    {
      dial_address (g_steal_pointer (&task), G_SOCKET_ADDRESS (connectable));
      return;
    }
  if (connectable == NULL)
    connectable = g_network_address_new (url->host, url->port);
  g_socket_client_connect_async (client, connectable, cancellable, socket_connected_cb, g_steal_pointer (&task));
}

GIOStream *
pst_backend_connect_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
pst_backend_connect_record (GAsyncResult *result, const GError *error,
                            PstMetrics *metrics, const char *service)
{
  Dial *dial;

  g_return_if_fail (g_task_is_valid (result, NULL));
  g_return_if_fail (g_task_get_source_tag (G_TASK (result)) == pst_backend_connect_async);
  dial = g_task_get_task_data (G_TASK (result));
  if (metrics == NULL || dial == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (error == NULL)
    {
      pst_metrics_backend_connected (metrics, service,
                                     (g_get_monotonic_time () - dial->started_us) / (double) G_USEC_PER_SEC);
      return;
    }
  pst_metrics_backend_failed (metrics, service);
  if (g_error_matches (error, PST_BACKEND_ERROR, PST_BACKEND_ERROR_TLS))
    pst_metrics_tls_failure (metrics, PST_TLS_LEG_BACKEND,
                             dial->cert_errors != 0 ? pst_tls_failure_from_flags (dial->cert_errors)
                                                    : pst_tls_failure_from_error (error));
}
