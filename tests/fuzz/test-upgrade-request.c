/* test-upgrade-request.c: the client upgrade heads the gateway answers without SoupServer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "pst-upgrade-request.h"

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define BASE "Host: localhost:8000\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n"

static PstUpgradeRequestResult
parse (const char *text, PstUpgradeRequest *req)
{
  return pst_upgrade_request_parse (text, strlen (text), req);
}

/* Every prefix of an OK head says NEED_MORE, the head and anything longer
 * says OK with the same fields: the head may arrive in any pieces. */
static void
check_every_split (const char *text, const char *path, const char *host, const char *origin)
{
  gsize len = strlen (text);
  PstUpgradeRequest whole = { 0 };

  g_assert_cmpint (parse (text, &whole), ==, PST_UPGRADE_REQUEST_OK);
  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autofree char *part = g_strndup (text, cut);
      PstUpgradeRequest req = { 0 };
      PstUpgradeRequestResult r = pst_upgrade_request_parse (part, cut, &req);

      if (cut < whole.head_len)
        g_assert_cmpint (r, ==, PST_UPGRADE_REQUEST_NEED_MORE);
      else
        {
          g_assert_cmpint (r, ==, PST_UPGRADE_REQUEST_OK);
          g_assert_cmpuint (req.head_len, ==, whole.head_len);
          g_assert_cmpstr (req.path, ==, path);
          g_assert_cmpstr (req.host, ==, host);
          g_assert_cmpstr (req.key, ==, KEY);
          g_assert_cmpstr (req.origin, ==, origin);
        }
      pst_upgrade_request_clear (&req);
    }
  pst_upgrade_request_clear (&whole);
}

static void
test_ok (void)
{
  const char *text = "GET /echo HTTP/1.1\r\n" BASE "Origin: http://localhost:8000\r\n\r\n\x81\x82" "ab";
  PstUpgradeRequest req = { 0 };

  g_assert_cmpint (parse (text, &req), ==, PST_UPGRADE_REQUEST_OK);
  /* the first frame after the head stays in the socket for the session */
  g_assert_cmpstr (text + req.head_len, ==, "\x81\x82" "ab");
  pst_upgrade_request_clear (&req);
  check_every_split (text, "/echo", "localhost", "http://localhost:8000");
  check_every_split ("GET / HTTP/1.1\r\nhost:127.0.0.1\r\nupgrade:  WebSocket \r\nconnection:upgrade\r\n"
                     "sec-websocket-version:13\r\nsec-websocket-key:" KEY "\r\nX-Other: \t\r\n\r\n",
                     "/", "127.0.0.1", NULL);
  check_every_split ("GET /a/b;c=d/@:x HTTP/1.1\r\n" BASE "Sec-WebSocket-Protocol: chat\r\n"
                     "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                     "/a/b;c=d/@:x", "localhost", NULL);
}

/* Everything else is left to SoupServer, which answers it as before. */
static void
test_other (void)
{
  static const char *const others[] = {
    "POST /echo HTTP/1.1\r\n" BASE "\r\n",
    "GET /echo HTTP/1.0\r\n" BASE "\r\n",
    "GET http://localhost/echo HTTP/1.1\r\n" BASE "\r\n",
    "GET /echo?x=1 HTTP/1.1\r\n" BASE "\r\n",
    "GET /e%63ho HTTP/1.1\r\n" BASE "\r\n",
    "GET /a/../echo HTTP/1.1\r\n" BASE "\r\n",
    "GET /./echo HTTP/1.1\r\n" BASE "\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "Host: other\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "Origin: a\r\nOrigin: b\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "Content-Length: 2\r\n\r\nab",
    "GET /echo HTTP/1.1\r\n" BASE "Transfer-Encoding: chunked\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "Expect: 100-continue\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE " folded\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "Bad Name: x\r\n\r\n",
    "GET /echo HTTP/1.1\r\n" BASE "X: caf\xc3\xa9\r\n\r\n",
    "GET /echo HTTP/1.1\n" BASE "\r\n",
    "GET /echo HTTP/1.1\r\nHost: [::1]:80\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h:123456\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket, h2c\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n\r\n",
    "GET /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
    "GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "GET /echo HTTP/1.1\r\n\r\n",
    "\x16\x03\x01\x02\x00",   /* a TLS ClientHello on a plain port */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    {
      PstUpgradeRequest req = { 0 };

      g_test_message ("case %u", i);
      g_assert_cmpint (parse (others[i], &req), ==, PST_UPGRADE_REQUEST_OTHER);
      g_assert_null (req.path);
    }
}

static void
test_limits (void)
{
  GString *big = g_string_new ("GET /echo HTTP/1.1\r\n" BASE);
  PstUpgradeRequest req = { 0 };
  const char nul[] = "GET /echo HTTP/1.1\r\nHost: a\0b\r\n\r\n";

  while (big->len < PST_UPGRADE_REQUEST_MAX)
    g_string_append (big, "X-Filler: 0123456789012345678901234567890123456789\r\n");
  /* no end within the bound: SoupServer's (and its head limit's) */
  g_assert_cmpint (pst_upgrade_request_parse (big->str, big->len, &req), ==, PST_UPGRADE_REQUEST_OTHER);
  g_string_truncate (big, PST_UPGRADE_REQUEST_MAX - 1);
  g_assert_cmpint (pst_upgrade_request_parse (big->str, big->len, &req), ==, PST_UPGRADE_REQUEST_NEED_MORE);
  g_string_free (big, TRUE);
  /* a NUL, ended or not */
  g_assert_cmpint (pst_upgrade_request_parse (nul, sizeof nul - 1, &req), ==, PST_UPGRADE_REQUEST_OTHER);
  g_assert_cmpint (pst_upgrade_request_parse (nul, 28, &req), ==, PST_UPGRADE_REQUEST_OTHER);
  /* the start of something else is known at once */
  g_assert_cmpint (pst_upgrade_request_parse ("GE", 2, &req), ==, PST_UPGRADE_REQUEST_NEED_MORE);
  g_assert_cmpint (pst_upgrade_request_parse ("", 0, &req), ==, PST_UPGRADE_REQUEST_NEED_MORE);
  g_assert_cmpint (pst_upgrade_request_parse ("GEX", 3, &req), ==, PST_UPGRADE_REQUEST_OTHER);
  g_assert_null (req.path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/upgrade-request/ok-every-split", test_ok);
  g_test_add_func ("/upgrade-request/other", test_other);
  g_test_add_func ("/upgrade-request/limits", test_limits);
  return g_test_run ();
}
