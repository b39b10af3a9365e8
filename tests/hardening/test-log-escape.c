/* test-log-escape.c: pst_log_escape() and the WebSocket idle default of a route
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "pst-connection.h"
#include "pst-log-escape.h"

static void
check (const char *in, gssize len, const char *want)
{
  g_autofree char *got = pst_log_escape (in, len);

  g_assert_cmpstr (got, ==, want);
}

static void
test_plain (void)
{
  check ("localhost", -1, "localhost");
  check ("CN=Client, O=Example", -1, "CN=Client, O=Example");
  check ("", -1, "");
  check (NULL, -1, "-");
  check ("café ✓", -1, "café ✓");   /* valid UTF-8 stays readable */
}

static void
test_controls (void)
{
  /* A forged second log line would start after the newline. */
  check ("bye\nclose echo client=1.2.3.4:1 code=1000", -1, "bye\\x0Aclose echo client=1.2.3.4:1 code=1000");
  check ("a\rb\tc\x1b[31m", -1, "a\\x0Db\\x09c\\x1B[31m");
  check ("\x7f", -1, "\\x7F");
  check ("nul\0after", 9, "nul\\x00after");
  check ("\xc2\x85", -1, "\\xC2\\x85");          /* U+0085 NEXT LINE */
  check ("a\xe2\x80\xa8z", -1, "a\\xE2\\x80\\xA8z");  /* U+2028 LINE SEPARATOR */
}

static void
test_quotes (void)
{
  check ("reason=\"forged\"", -1, "reason=\\\"forged\\\"");
  check ("back\\slash", -1, "back\\\\slash");
}

static void
test_invalid_utf8 (void)
{
  check ("\xff\xfe ok", -1, "\\xFF\\xFE ok");
  check ("\xe2\x82", -1, "\\xE2\\x82");   /* truncated sequence */
}

static void
test_length_cap (void)
{
  g_autofree char *long_text = g_strnfill (10000, 'a');
  g_autofree char *got = pst_log_escape (long_text, -1);
  g_autofree char *escapes = NULL;
  g_autofree char *got2 = NULL;
  GString *many = g_string_new (NULL);

  g_assert_true (g_str_has_suffix (got, "…"));
  g_assert_cmpuint (strlen (got), <=, PST_LOG_FIELD_MAX + strlen ("…"));
  /* The cut never splits an escape. */
  for (int i = 0; i < 1000; i++)
    g_string_append_c (many, '\n');
  escapes = g_string_free (many, FALSE);
  got2 = pst_log_escape (escapes, -1);
  g_assert_true (g_str_has_suffix (got2, "\\x0A…"));
  g_assert_cmpuint (strlen (got2), <=, PST_LOG_FIELD_MAX + strlen ("…"));
}

/* ws.inactivity.timeout: 120 s unless set; an explicit 0 means none. */
static void
test_websocket_idle_default (void)
{
  const char *cases[][2] = { { "", "120000" }, { "<ws.inactivity.timeout>0</ws.inactivity.timeout>", "0" },
                             { "<ws.inactivity.timeout>5s</ws.inactivity.timeout>", "5000" } };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("postern-idle-XXXXXX", &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (dir, "gateway-config.xml", NULL);
      g_autofree char *xml = g_strdup_printf (
          "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
          "  <service><name>echo</name><accept>ws://localhost:8001/echo</accept><type>echo</type>\n"
          "    <accept-options>%s</accept-options></service>\n"
          "</gateway-config>\n", cases[i][0]);
      g_autoptr(PstConfig) config = NULL;
      g_autoptr(PstUrl) url = NULL;
      PstWebsocketOptions options = { 0 };
      PstRoute *route;

      g_assert_true (g_file_set_contents (path, xml, -1, NULL));
      config = pst_config_new_from_file (path, &error);
      g_assert_no_error (error);
      url = pst_url_parse ("ws://localhost:8001/echo", &error);
      g_assert_no_error (error);
      route = pst_route_new (pst_config_get_service (config, 0), g_steal_pointer (&url), FALSE, &error);
      g_assert_no_error (error);
      g_assert_nonnull (route->start_websocket);
      g_assert_null (route->serve_http);
      pst_route_websocket_options (route, TRUE, &options);
      g_assert_cmpuint (options.inactivity_ms, ==, g_ascii_strtoull (cases[i][1], NULL, 10));
      pst_route_free (route);
      g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log-escape/plain", test_plain);
  g_test_add_func ("/log-escape/controls", test_controls);
  g_test_add_func ("/log-escape/quotes", test_quotes);
  g_test_add_func ("/log-escape/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/log-escape/length-cap", test_length_cap);
  g_test_add_func ("/route/websocket-idle-default", test_websocket_idle_default);
  return g_test_run ();
}
