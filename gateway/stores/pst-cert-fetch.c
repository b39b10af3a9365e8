/* pst-cert-fetch.c: the certificate chain a TLS server presents (to decide whether to trust it)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-cert-fetch.h"

#define FETCH_TIMEOUT_SECONDS 10
#define FETCH_MAX_DEPTH       16

typedef struct {
  char                 *host_and_port;
  guint                 timeout_seconds;
  GSocketConnectable   *address;
  GCancellable         *cancellable;       /* ours: the caller's or the timeout cancel it */
  GCancellable         *caller_cancellable;
  gulong                caller_handler;
  GSource              *timeout;
  gboolean              timed_out;
  GIOStream            *tls;
  GTlsCertificateFlags  errors;            /* what the system database found wrong */
  GPtrArray            *chain;             /* GBytes, leaf first */
} Fetch;

static void
fetch_free (gpointer data)
{
  Fetch *fetch = data;

  if (fetch->caller_handler != 0)
    g_cancellable_disconnect (fetch->caller_cancellable, fetch->caller_handler);
  g_clear_object (&fetch->caller_cancellable);
  if (fetch->timeout != NULL)
    {
      g_source_destroy (fetch->timeout);
      g_clear_pointer (&fetch->timeout, g_source_unref);
    }
  g_clear_object (&fetch->cancellable);
  g_clear_object (&fetch->tls);
  g_clear_object (&fetch->address);
  g_clear_pointer (&fetch->chain, g_ptr_array_unref);
  g_free (fetch->host_and_port);
  g_free (fetch);
}

static void
caller_cancelled_cb (GCancellable *caller,
                     gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static gboolean
timeout_cb (gpointer user_data)
{
  Fetch *fetch = user_data;

  fetch->timed_out = TRUE;
  g_cancellable_cancel (fetch->cancellable);
  g_clear_pointer (&fetch->timeout, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* A cancellation by our timer becomes TIMED_OUT; the caller's stays
 * CANCELLED (and silent); anything else gets the step's prefix. */
static void
return_error (GTask      *task,
              GError     *error,
              const char *prefix)
{
  Fetch *fetch = g_task_get_task_data (task);

  if (fetch->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   _("%s did not complete a TLS handshake within %d seconds; "
                     "check the host name and the port"),
                   fetch->host_and_port, (int) fetch->timeout_seconds);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && prefix != NULL)
    g_prefix_error (&error, "%s", prefix);
  g_task_return_error (task, error);
}

/* We only look at the certificates here: the user decides about trust. */
static gboolean
accept_certificate_cb (GTlsConnection       *connection,
                       GTlsCertificate      *peer_cert,
                       GTlsCertificateFlags  errors,
                       gpointer              user_data)
{
  Fetch *fetch = user_data;

  fetch->errors = errors;
  return TRUE;
}

static void
closed_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);

  /* the chain is what was asked for; a failed close_notify changes nothing */
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
  g_task_return_pointer (task, g_steal_pointer (&fetch->chain), (GDestroyNotify) g_ptr_array_unref);
}

static void
handshake_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autofree char *prefix = NULL;
  GError *error = NULL;
  GTlsCertificate *cert;

  if (!g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &error))
    {
      prefix = g_strdup_printf (_("TLS handshake with %s failed (is it a TLS port?): "), fetch->host_and_port);
      return_error (task, error, prefix);
      return;
    }

  fetch->chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  /* issuer links follow the order the server sent; bounded in case of a loop */
  cert = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (source));
  for (guint depth = 0; cert != NULL && depth < FETCH_MAX_DEPTH; depth++, cert = g_tls_certificate_get_issuer (cert))
    {
      g_autoptr(GByteArray) der = NULL;

      g_object_get (cert, "certificate", &der, NULL);
      if (der != NULL)
        g_ptr_array_add (fetch->chain, g_bytes_new (der->data, der->len));
    }
  if (fetch->chain->len == 0)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED,
                               _("%s sent no certificate"), fetch->host_and_port);
      return;
    }
  g_io_stream_close_async (fetch->tls, G_PRIORITY_DEFAULT, fetch->cancellable, closed_cb,
                           g_steal_pointer (&task));
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Fetch *fetch = g_task_get_task_data (task);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *prefix = NULL;
  GError *error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (connection == NULL)
    {
      prefix = g_strdup_printf (_("cannot connect to %s: "), fetch->host_and_port);
      return_error (task, error, prefix);
      return;
    }
  fetch->tls = g_tls_client_connection_new (G_IO_STREAM (connection), fetch->address, &error);
  if (fetch->tls == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_signal_connect (fetch->tls, "accept-certificate", G_CALLBACK (accept_certificate_cb), fetch);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (fetch->tls), G_PRIORITY_DEFAULT, fetch->cancellable,
                                    handshake_cb, g_steal_pointer (&task));
}

/**
 * pst_cert_fetch_chain_with_timeout_async:
 * @host_and_port: "host:port" or "[v6]:port" (443 when no port is given)
 * @timeout_seconds: bound on the whole operation; 0 for the default (10)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the chain is there, or not
 * @user_data: data for @callback
 *
 * Connects to @host_and_port, does a TLS handshake that accepts any
 * certificate, and collects the certificates the server presented; no
 * application data is sent.  The whole operation fails with
 * %G_IO_ERROR_TIMED_OUT after @timeout_seconds.  Nothing blocks: the steps run
 * in the thread-default main context of the caller.
 */
void
pst_cert_fetch_chain_with_timeout_async (const char          *host_and_port,
                                         guint                timeout_seconds,
                                         GCancellable        *cancellable,
                                         GAsyncReadyCallback  callback,
                                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketClient) client = NULL;
  GError *error = NULL;
  Fetch *fetch;

  g_return_if_fail (host_and_port != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pst_cert_fetch_chain_with_timeout_async);
  g_task_set_name (task, "pst_cert_fetch_chain_with_timeout_async");
  fetch = g_new0 (Fetch, 1);
  fetch->host_and_port = g_strdup (host_and_port);
  fetch->timeout_seconds = timeout_seconds > 0 ? timeout_seconds : FETCH_TIMEOUT_SECONDS;
  fetch->cancellable = g_cancellable_new ();
  g_task_set_task_data (task, fetch, fetch_free);

  fetch->address = g_network_address_parse (host_and_port, 443, &error);
  if (fetch->address == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               _("“%s” is not HOST:PORT (%s)"), host_and_port, error->message);
      g_error_free (error);
      return;
    }

  if (cancellable != NULL)
    {
      fetch->caller_cancellable = g_object_ref (cancellable);
      fetch->caller_handler = g_cancellable_connect (cancellable, G_CALLBACK (caller_cancelled_cb),
                                                     g_object_ref (fetch->cancellable), g_object_unref);
    }
  fetch->timeout = g_timeout_source_new_seconds (fetch->timeout_seconds);
  g_source_set_callback (fetch->timeout, timeout_cb, fetch, NULL);
  g_source_set_name (fetch->timeout, "pst_cert_fetch_chain timeout");
  g_source_attach (fetch->timeout, g_task_get_context (task));

  client = g_socket_client_new ();
  /* only a backstop: the overall timer above ends the fetch first */
  g_socket_client_set_timeout (client, fetch->timeout_seconds + 5);
  g_socket_client_connect_async (client, fetch->address, fetch->cancellable, connected_cb,
                                 g_steal_pointer (&task));
}

/**
 * pst_cert_fetch_chain_async:
 * @host_and_port: "host:port" or "[v6]:port" (443 when no port is given)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the chain is there, or not
 * @user_data: data for @callback
 *
 * pst_cert_fetch_chain_with_timeout_async() with the default 10 seconds.
 */
void
pst_cert_fetch_chain_async (const char          *host_and_port,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  pst_cert_fetch_chain_with_timeout_async (host_and_port, 0, cancellable, callback, user_data);
}

/**
 * pst_cert_fetch_chain_finish_full:
 * @result: the result given to the callback
 * @out_errors: (out) (optional): what the system's trust database found
 *   wrong with the chain; 0 when the system trusts the server already
 * @error: return location for a #GIOError or #GTlsError
 *
 * Returns: (transfer full) (element-type GBytes) (nullable): the DER
 *   certificates, leaf first
 */
GPtrArray *
pst_cert_fetch_chain_finish_full (GAsyncResult          *result,
                                  GTlsCertificateFlags  *out_errors,
                                  GError               **error)
{
  Fetch *fetch;

  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pst_cert_fetch_chain_with_timeout_async, NULL);

  fetch = g_task_get_task_data (G_TASK (result));
  if (out_errors != NULL)
    *out_errors = fetch->errors;
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * pst_cert_fetch_chain_finish:
 * @result: the result given to the callback
 * @error: return location for a #GIOError or #GTlsError
 *
 * Returns: (transfer full) (element-type GBytes) (nullable): the DER
 *   certificates, leaf first
 */
GPtrArray *
pst_cert_fetch_chain_finish (GAsyncResult  *result,
                             GError       **error)
{
  return pst_cert_fetch_chain_finish_full (result, NULL, error);
}
