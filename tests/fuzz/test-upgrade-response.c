/* test-upgrade-response.c: the back-end upgrade-response check taken out of pst-backend.c
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "pst-upgrade-response.h"

#define KEY    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="   /* RFC 6455 §1.3 */

static PstUpgradeResult
parse (const char *text, gsize *head_len, char **status)
{
  return pst_upgrade_response_parse (text, strlen (text), KEY, head_len, status);
}

static void
test_accept_for_key (void)
{
  g_autofree char *accept = pst_upgrade_accept_for_key (KEY);

  g_assert_cmpstr (accept, ==, ACCEPT);
}

static void
test_ok (void)
{
  const char *text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "sec-websocket-accept:  " ACCEPT " \r\n\r\n\x81\x02hi";
  g_autofree char *status = NULL;
  gsize head_len = 0;

  g_assert_cmpint (parse (text, &head_len, &status), ==, PST_UPGRADE_OK);
  /* the frame after the head stays for the WebSocket reader */
  g_assert_cmpstr (text + head_len, ==, "\x81\x02hi");
  g_assert_null (status);
}

static void
test_need_more (void)
{
  g_autofree char *status = NULL;

  g_assert_cmpint (parse ("HTTP/1.1 101 Switching Protocols\r\n", NULL, &status), ==, PST_UPGRADE_NEED_MORE);
  g_assert_cmpint (parse ("", NULL, &status), ==, PST_UPGRADE_NEED_MORE);
  g_assert_null (status);
}

static void
test_refused (void)
{
  g_autofree char *status = NULL;
  g_autofree char *empty = NULL;

  g_assert_cmpint (parse ("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", NULL, &status), ==,
                   PST_UPGRADE_REFUSED);
  g_assert_cmpstr (status, ==, "HTTP/1.1 403 Forbidden");
  /* an empty head has no status line at all: refused, not a NULL in the message */
  g_assert_cmpint (parse ("\r\n\r\n", NULL, &empty), ==, PST_UPGRADE_REFUSED);
  g_assert_cmpstr (empty, ==, "");
}

static void
test_bad_accept (void)
{
  g_assert_cmpint (parse ("HTTP/1.1 101 x\r\n\r\n", NULL, NULL), ==, PST_UPGRADE_BAD_ACCEPT);
  g_assert_cmpint (parse ("HTTP/1.1 101 x\r\nSec-WebSocket-Accept: AAAA\r\n\r\n", NULL, NULL), ==,
                   PST_UPGRADE_BAD_ACCEPT);
  /* a longer header name that starts like it is not it */
  g_assert_cmpint (parse ("HTTP/1.1 101 x\r\nSec-WebSocket-Accept-X: " ACCEPT "\r\n\r\n", NULL, NULL), ==,
                   PST_UPGRADE_BAD_ACCEPT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/upgrade-response/accept-for-key", test_accept_for_key);
  g_test_add_func ("/upgrade-response/ok", test_ok);
  g_test_add_func ("/upgrade-response/need-more", test_need_more);
  g_test_add_func ("/upgrade-response/refused", test_refused);
  g_test_add_func ("/upgrade-response/bad-accept", test_bad_accept);
  return g_test_run ();
}
