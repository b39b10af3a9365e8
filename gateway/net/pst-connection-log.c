/* pst-connection-log.c: a connection's open and close lines as structured log records
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-connection-private.h"
#include "pst-log-writer.h"

/* What a peer chose (SNI, a close reason, a certificate subject) is
 * kept raw for machines (the JSON writer escapes it) but bounded. */
#define RAW_FIELD_MAX 1024

static char *
bounded (const char *text)
{
  return text != NULL ? g_strndup (text, RAW_FIELD_MAX) : NULL;
}

void
pst_connection_log (PstConnection *self, const char *event, const char *message)
{
  g_autofree char *tls_version = NULL;
  g_autofree char *sni = bounded (self->sni);
  g_autofree char *subject = bounded (self->client_subject);
  g_autofree char *reason = NULL;
  g_autofree char *bytes_in = NULL, *bytes_out = NULL, *duration = NULL, *code = NULL;
  const char *tls_cipher = NULL;
  gboolean closing = g_str_equal (event, "close");

  /* tls_info is "TLSv1.3/TLS_AES_128_GCM_SHA256" */
  if (self->tls_info != NULL)
    {
      const char *slash = strchr (self->tls_info, '/');

      tls_version = slash ? g_strndup (self->tls_info, slash - self->tls_info) : g_strdup (self->tls_info);
      tls_cipher = slash ? slash + 1 : NULL;
    }
  if (closing)
    {
      reason = bounded (self->close_reason ? self->close_reason : "");
      bytes_in = g_strdup_printf ("%" G_GUINT64_FORMAT, self->bytes_in);
      bytes_out = g_strdup_printf ("%" G_GUINT64_FORMAT, self->bytes_out);
      duration = g_strdup_printf ("%.3f", (g_get_monotonic_time () - self->started_us) / 1e6);
      code = g_strdup_printf ("%u", self->close_code);
    }
  pst_log_event (self->quiet && !self->failed ? G_LOG_LEVEL_DEBUG : G_LOG_LEVEL_MESSAGE, event, message,
                 "SERVICE", self->service,
                 "CLIENT", self->peer,
                 "VIA", self->via,   /* the balancer, behind the PROXY protocol */
                 "BACKEND", self->backend,
                 "TLS_VERSION", tls_version,
                 "TLS_CIPHER", tls_cipher,
                 "SNI", sni,
                 "CLIENT_CERT", subject,
                 "BYTES_IN", bytes_in,
                 "BYTES_OUT", bytes_out,
                 "DURATION_S", duration,
                 "CLOSE_CODE", code,
                 "CLOSE_REASON", reason,
                 NULL);
}
