/* test-metrics.c: PstMetrics: counts, merging, TLS failure causes, health, the exposition text
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "pst-metrics.h"

/* The value of the one line "name{labels} value" (labels: NULL for none). */
static double
sample (const char *text, const char *name, const char *labels)
{
  g_autofree char *prefix = labels ? g_strdup_printf ("\n%s{%s} ", name, labels)
                                   : g_strdup_printf ("\n%s ", name);
  const char *at = strstr (text, prefix);
  const char *again;

  g_assert_nonnull (at);
  again = strstr (at + 1, prefix);
  g_assert_null (again);
  return g_ascii_strtod (at + strlen (prefix), NULL);
}

static void
test_escape_label (void)
{
  static const struct { const char *in, *out; } cases[] = {
    { "echo", "echo" },
    { "a\"b", "a\\\"b" },
    { "back\\slash", "back\\\\slash" },
    { "line\nbreak", "line\\nbreak" },
    { "\\\"\n", "\\\\\\\"\\n" },
    { "é ✓\t", "é ✓\t" },   /* UTF-8 and tabs pass as they are */
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = pst_metrics_escape_label (cases[i].in);
      g_assert_cmpstr (got, ==, cases[i].out);
    }
}

static void
test_counts (void)
{
  g_autoptr(PstMetrics) m = pst_metrics_new ();
  g_autofree char *text = NULL;

  pst_metrics_connection_opened (m, "echo");
  pst_metrics_connection_opened (m, "echo");
  pst_metrics_connection_opened (m, "odd \"name\"\n");
  pst_metrics_connection_closed (m, "echo", 100, 200, 1000);
  pst_metrics_connection_closed (m, "echo", 1, 2, 1011);
  pst_metrics_connection_closed (m, "odd \"name\"\n", 5, 6, 0);   /* not a WebSocket: no code */
  /* no name, no count (nor a crash); no gateway, nothing */
  pst_metrics_connection_opened (m, NULL);
  pst_metrics_connection_closed (m, NULL, 1, 1, 1000);
  pst_metrics_connection_opened (NULL, "echo");
  pst_metrics_tls_failure (NULL, PST_TLS_LEG_CLIENT, PST_TLS_FAILURE_OTHER);

  text = pst_metrics_render (m, NULL);
  g_assert_true (g_str_has_prefix (text, "# HELP postern_connections_open "));
  g_assert_cmpfloat (sample (text, "postern_connections_total", "service=\"echo\""), ==, 2);
  g_assert_cmpfloat (sample (text, "postern_connections_open", "service=\"echo\""), ==, 0);
  g_assert_cmpfloat (sample (text, "postern_received_bytes_total", "service=\"echo\""), ==, 101);
  g_assert_cmpfloat (sample (text, "postern_sent_bytes_total", "service=\"echo\""), ==, 202);
  g_assert_cmpfloat (sample (text, "postern_websocket_closes_total", "service=\"echo\",code=\"1000\""), ==, 1);
  g_assert_cmpfloat (sample (text, "postern_websocket_closes_total", "service=\"echo\",code=\"1011\""), ==, 1);
  g_assert_cmpfloat (sample (text, "postern_connections_total", "service=\"odd \\\"name\\\"\\n\""), ==, 1);
  g_assert_null (strstr (text, "code=\"0\""));
  g_assert_null (strstr (text, "service=\"\""));
  /* one family per TYPE line, nothing twice */
  g_assert_nonnull (strstr (text, "# TYPE postern_websocket_closes_total counter\n"));
  g_assert_cmpint (text[strlen (text) - 1], ==, '\n');
}

static void
test_histogram (void)
{
  g_autoptr(PstMetrics) m = pst_metrics_new ();
  g_autofree char *text = NULL;

  pst_metrics_backend_connected (m, "p", 0.001);   /* le is inclusive */
  pst_metrics_backend_connected (m, "p", 0.002);
  pst_metrics_backend_connected (m, "p", 0.3);
  pst_metrics_backend_connected (m, "p", 11);      /* past the last bound: +Inf only */
  pst_metrics_backend_connected (m, "p", -1);      /* a clock step back counts as 0 */
  pst_metrics_backend_failed (m, "p");
  text = pst_metrics_render (m, NULL);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"0.001\""), ==, 2);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"0.0025\""), ==, 3);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"0.25\""), ==, 3);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"0.5\""), ==, 4);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"10\""), ==, 4);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_bucket",
                             "service=\"p\",le=\"+Inf\""), ==, 5);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_duration_seconds_count", "service=\"p\""), ==, 5);
  g_assert_cmpfloat (fabs (sample (text, "postern_backend_connect_duration_seconds_sum", "service=\"p\"") - 11.303),
                     <, 1e-9);
  g_assert_cmpfloat (sample (text, "postern_backend_connect_failures_total", "service=\"p\""), ==, 1);
}

static void
test_merge (void)
{
  PstMetricsData a, b;
  PstServiceFigures *fa, *fb;
  GString *out = g_string_new (NULL);

  pst_metrics_data_init (&a);
  pst_metrics_data_init (&b);
  a.start_unix = 200;
  b.start_unix = 100;
  a.last_reload_unix = 50;
  b.last_reload_unix = 70;
  a.reloads_success = 1;
  b.reloads_failure = 2;
  fa = pst_metrics_data_service (&a, "echo");
  fb = pst_metrics_data_service (&b, "echo");
  fa->opened = 3;
  fb->opened = 4;
  fb->closed = 4;
  fa->latency_buckets[0] = 1;
  fb->latency_buckets[0] = 2;
  fa->latency_count = 1;
  fb->latency_count = 2;
  pst_metrics_data_service (&b, "only-b")->opened = 7;
  a.tls_failures[PST_TLS_LEG_BACKEND][PST_TLS_FAILURE_EXPIRED] = 1;
  b.tls_failures[PST_TLS_LEG_BACKEND][PST_TLS_FAILURE_EXPIRED] = 2;

  pst_metrics_data_merge (&a, &b);
  g_assert_cmpuint (fa->opened, ==, 7);
  g_assert_cmpuint (fa->closed, ==, 4);
  g_assert_cmpuint (fa->latency_buckets[0], ==, 3);
  g_assert_cmpuint (fa->latency_count, ==, 3);
  g_assert_cmpuint (pst_metrics_data_service (&a, "only-b")->opened, ==, 7);
  g_assert_cmpuint (a.tls_failures[PST_TLS_LEG_BACKEND][PST_TLS_FAILURE_EXPIRED], ==, 3);
  g_assert_cmpint (a.start_unix, ==, 100);
  g_assert_cmpint (a.last_reload_unix, ==, 70);
  g_assert_cmpuint (a.reloads_success, ==, 1);
  g_assert_cmpuint (a.reloads_failure, ==, 2);

  pst_metrics_render_data (out, &a, FALSE, NULL);
  g_assert_cmpfloat (sample (out->str, "postern_connections_open", "service=\"echo\""), ==, 3);
  g_assert_cmpfloat (sample (out->str, "postern_process_start_time_seconds", NULL), ==, 100);
  g_string_free (out, TRUE);
  pst_metrics_data_clear (&a);
  pst_metrics_data_clear (&b);
}

static void
test_causes (void)
{
  static const struct { GQuark domain; int code; const char *message; PstTlsFailure want; } errors[] = {
    { 0, G_TLS_ERROR_CERTIFICATE_REQUIRED, "x", PST_TLS_FAILURE_NO_CLIENT_CERTIFICATE },
    { 0, G_TLS_ERROR_NOT_TLS, "x", PST_TLS_FAILURE_PROTOCOL },
    { 0, G_TLS_ERROR_MISC, "Peer sent fatal TLS alert: CA is unknown", PST_TLS_FAILURE_UNKNOWN_CA },
    { 0, G_TLS_ERROR_MISC, "Peer sent fatal TLS alert: Certificate is expired", PST_TLS_FAILURE_EXPIRED },
    { 0, G_TLS_ERROR_MISC, "Peer sent fatal TLS alert: Certificate is required",
      PST_TLS_FAILURE_NO_CLIENT_CERTIFICATE },
    { 0, G_TLS_ERROR_MISC, "Peer sent fatal TLS alert: Protocol version is not supported",
      PST_TLS_FAILURE_PROTOCOL },
    { 0, G_TLS_ERROR_HANDSHAKE, "Peer failed to perform TLS handshake", PST_TLS_FAILURE_PROTOCOL },
    /* a TLS 1.3 client refusing our certificate (its alert unreadable) */
    { 0, G_TLS_ERROR_NOT_TLS, "Peer failed to perform TLS handshake: Decryption has failed.",
      PST_TLS_FAILURE_OTHER },
  };

  g_assert_cmpint (pst_tls_failure_from_flags (G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_EXPIRED), ==,
                   PST_TLS_FAILURE_UNKNOWN_CA);
  g_assert_cmpint (pst_tls_failure_from_flags (G_TLS_CERTIFICATE_EXPIRED), ==, PST_TLS_FAILURE_EXPIRED);
  g_assert_cmpint (pst_tls_failure_from_flags (G_TLS_CERTIFICATE_NOT_ACTIVATED), ==, PST_TLS_FAILURE_EXPIRED);
  g_assert_cmpint (pst_tls_failure_from_flags (G_TLS_CERTIFICATE_BAD_IDENTITY), ==, PST_TLS_FAILURE_NAME_MISMATCH);
  g_assert_cmpint (pst_tls_failure_from_flags (G_TLS_CERTIFICATE_REVOKED), ==, PST_TLS_FAILURE_OTHER);
  g_assert_cmpint (pst_tls_failure_from_error (NULL), ==, PST_TLS_FAILURE_OTHER);
  for (guint i = 0; i < G_N_ELEMENTS (errors); i++)
    {
      g_autoptr(GError) error = g_error_new_literal (G_TLS_ERROR, errors[i].code, errors[i].message);
      g_assert_cmpstr (pst_tls_failure_label (pst_tls_failure_from_error (error)), ==,
                       pst_tls_failure_label (errors[i].want));
    }
}

static void
test_health (void)
{
  g_autoptr(PstMetrics) m = pst_metrics_new ();
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "gw.xml:3:5: error: bad");
  g_autofree char *why = NULL;
  g_autofree char *text = NULL;

  g_assert_true (pst_metrics_check_health (m, &why));
  g_assert_null (why);
  pst_metrics_reload_done (m, error);
  g_assert_false (pst_metrics_check_health (m, &why));
  g_assert_nonnull (strstr (why, "gw.xml:3:5: error: bad"));
  g_clear_pointer (&why, g_free);
  pst_metrics_reload_done (m, NULL);
  g_assert_true (pst_metrics_check_health (m, NULL));
  text = pst_metrics_render (m, NULL);
  g_assert_cmpfloat (sample (text, "postern_reloads_total", "outcome=\"success\""), ==, 1);
  g_assert_cmpfloat (sample (text, "postern_reloads_total", "outcome=\"failure\""), ==, 1);
  g_assert_cmpfloat (fabs (sample (text, "postern_last_reload_timestamp_seconds", NULL)
                           - g_get_real_time () / G_USEC_PER_SEC), <, 5);
  g_assert_cmpfloat (sample (text, "postern_draining", NULL), ==, 0);
  pst_metrics_set_draining (m, TRUE);
  g_assert_false (pst_metrics_check_health (m, &why));
  g_assert_nonnull (strstr (why, "draining"));
  g_clear_pointer (&text, g_free);
  text = pst_metrics_render (m, NULL);
  g_assert_cmpfloat (sample (text, "postern_draining", NULL), ==, 1);
  g_assert_cmpfloat (sample (text, "postern_process_open_fds", NULL), >, 2);
  g_assert_cmpfloat (sample (text, "postern_process_resident_memory_bytes", NULL), >, 1024 * 1024);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/metrics/escape-label", test_escape_label);
  g_test_add_func ("/metrics/counts", test_counts);
  g_test_add_func ("/metrics/histogram", test_histogram);
  g_test_add_func ("/metrics/merge", test_merge);
  g_test_add_func ("/metrics/tls-causes", test_causes);
  g_test_add_func ("/metrics/health", test_health);
  return g_test_run ();
}
