/* test-proxy-protocol.c: PROXY v1/v2 headers fed whole, at every two-piece split and byte by byte
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-proxy-protocol.h"

#define SIG "\r\n\r\n\0\r\nQUIT\n"   /* 12 bytes: length given explicitly below */

typedef struct {
  const char     *name;
  const char     *bytes;
  gsize           len;         /* 0: strlen (bytes) */
  PstProxyStatus  status;
  gsize           header_len;  /* for DONE */
  const char     *src;         /* "ip:port" for DONE with addresses, NULL without */
  const char     *dst;
} Case;

/* Built once by build_cases: v2 headers are easier to write as code. */
static GPtrArray *cases;
static GPtrArray *owned;

static void
add_case (const char *name, const guint8 *bytes, gsize len, PstProxyStatus status,
          gsize header_len, const char *src, const char *dst)
{
  Case *c = g_new0 (Case, 1);
  guint8 *copy = g_malloc0 (len + 1);   /* never NULL, even when empty */

  if (len > 0)
    memcpy (copy, bytes, len);

  g_ptr_array_add (owned, copy);
  c->name = name;
  c->bytes = (const char *) copy;
  c->len = len;
  c->status = status;
  c->header_len = header_len;
  c->src = src;
  c->dst = dst;
  g_ptr_array_add (cases, c);
}

static void
add_text (const char *name, const char *text, PstProxyStatus status, gsize header_len,
          const char *src, const char *dst)
{
  add_case (name, (const guint8 *) text, strlen (text), status, header_len, src, dst);
}

/* A v2 header: fixed part, then body (len bytes), then trailing bytes. */
static void
add_v2 (const char *name, guint8 ver_cmd, guint8 fam, const guint8 *body, gsize body_len,
        gsize declared, PstProxyStatus status, const char *src, const char *dst)
{
  g_autoptr(GByteArray) b = g_byte_array_new ();
  guint8 fixed[4] = { ver_cmd, fam, declared >> 8, declared & 0xFF };

  g_byte_array_append (b, (const guint8 *) SIG, 12);
  g_byte_array_append (b, fixed, 4);
  if (body_len > 0)
    g_byte_array_append (b, body, body_len);
  /* what follows the header: a TLS record start */
  g_byte_array_append (b, (const guint8 *) "\x16\x03\x01", 3);
  add_case (name, b->data, b->len, status, 16 + declared, src, dst);
}

static void
build_cases (void)
{
  static const guint8 inet[12] = { 192, 0, 2, 1, 198, 51, 100, 2, 0xDC, 0x04, 0x01, 0xBB };
  guint8 inet6[36] = { 0 };
  guint8 unix_block[216] = { 0 };
  guint8 tlvs[12 + 13];
  guint8 big[4096 - 16];
  g_autofree char *longest = NULL;
  g_autofree char *too_long = NULL;

  cases = g_ptr_array_new_with_free_func (g_free);
  owned = g_ptr_array_new_with_free_func (g_free);

  /* v1 */
  add_text ("v1-tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n",
            PST_PROXY_DONE, 45, "192.0.2.1:56324", "198.51.100.2:443");
  add_text ("v1-tcp6", "PROXY TCP6 2001:db8::1 ::1 1 65535\r\n\x16\x03\x01",
            PST_PROXY_DONE, 36, "2001:db8::1:1", "::1:65535");
  add_text ("v1-tcp6-mapped", "PROXY TCP6 ::ffff:127.0.0.2 ::1 0 8080\r\n",
            PST_PROXY_DONE, 40, "::ffff:127.0.0.2:0", "::1:8080");
  add_text ("v1-unknown", "PROXY UNKNOWN\r\n", PST_PROXY_DONE, 15, NULL, NULL);
  add_text ("v1-unknown-fields", "PROXY UNKNOWN ffff:f::1 ::2 1 2\r\nx", PST_PROXY_DONE, 33, NULL, NULL);
  /* 107 bytes, CRLF included: the longest line allowed */
  longest = g_strdup_printf ("PROXY UNKNOWN %s\r\n", "0123456789012345678901234567890123456789"
                             "012345678901234567890123456789012345678901234567890");
  g_assert_cmpuint (strlen (longest), ==, PST_PROXY_V1_MAX);
  add_text ("v1-longest", longest, PST_PROXY_DONE, PST_PROXY_V1_MAX, NULL, NULL);
  too_long = g_strdup_printf ("PROXY UNKNOWN %s\r\n", "0123456789012345678901234567890123456789"
                              "0123456789012345678901234567890123456789012345678901");
  add_text ("v1-too-long", too_long, PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-proto", "PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-double-space", "PROXY TCP4 1.2.3.4  1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-extra-field", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-missing-port", "PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-bad-address", "PROXY TCP4 256.2.3.4 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-family-mismatch", "PROXY TCP4 ::1 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-port-range", "PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-port-sign", "PROXY TCP4 1.2.3.4 1.2.3.4 -1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-lf-only", "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-cr-alone", "PROXY TCP4 1.2.3.4\r 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-binary", "PROXY TCP4 1.2.3.4\x01 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-empty", "PROXY \r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("v1-truncated", "PROXY TCP4 192.0.2.1 198.51", PST_PROXY_NEED_MORE, 0, NULL, NULL);
  add_text ("v1-lowercase", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  /* not a header at all: what clients send when nobody is in front */
  add_case ("tls-client-hello", (const guint8 *) "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11,
            PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("http-get", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("http-post", "POST / HTTP/1.1\r\n", PST_PROXY_ERROR, 0, NULL, NULL);
  add_text ("empty", "", PST_PROXY_NEED_MORE, 0, NULL, NULL);
  add_case ("v2-bad-signature", (const guint8 *) "\r\n\r\n\0\r\nQUIT\r", 12, PST_PROXY_ERROR, 0, NULL, NULL);

  /* v2 */
  add_v2 ("v2-inet", 0x21, 0x11, inet, 12, 12, PST_PROXY_DONE, "192.0.2.1:56324", "198.51.100.2:443");
  inet6[0] = 0x20; inet6[1] = 0x01; inet6[2] = 0x0d; inet6[3] = 0xb8; inet6[15] = 7;
  inet6[31] = 1;
  inet6[32] = 0xFF; inet6[33] = 0xFF; inet6[34] = 0; inet6[35] = 80;
  add_v2 ("v2-inet6", 0x21, 0x21, inet6, 36, 36, PST_PROXY_DONE, "2001:db8::7:65535", "::1:80");
  add_v2 ("v2-local-empty", 0x20, 0x00, NULL, 0, 0, PST_PROXY_DONE, NULL, NULL);
  add_v2 ("v2-local-with-block", 0x20, 0x11, inet, 12, 12, PST_PROXY_DONE, NULL, NULL);
  add_v2 ("v2-local-odd-family", 0x20, 0xFF, inet, 5, 5, PST_PROXY_DONE, NULL, NULL);
  add_v2 ("v2-unspec", 0x21, 0x00, inet, 7, 7, PST_PROXY_DONE, NULL, NULL);
  add_v2 ("v2-unix", 0x21, 0x31, unix_block, 216, 216, PST_PROXY_DONE, NULL, NULL);
  add_v2 ("v2-inet-unspec-transport", 0x21, 0x10, inet, 12, 12, PST_PROXY_DONE, NULL, NULL);
  /* TLVs: ALPN "h2" (5 bytes), a NOOP holding 2 bytes (5), an empty one (3) */
  memcpy (tlvs, inet, 12);
  memcpy (tlvs + 12, "\x01\x00\x02h2\x04\x00\x02\x00\x00\x05\x00\x00", 13);
  add_v2 ("v2-tlvs", 0x21, 0x11, tlvs, 12 + 13, 12 + 13, PST_PROXY_DONE, "192.0.2.1:56324", "198.51.100.2:443");
  add_v2 ("v2-tlv-overrun", 0x21, 0x11, tlvs, 12 + 9, 12 + 9, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-tlv-stub", 0x21, 0x11, tlvs, 12 + 2, 12 + 2, PST_PROXY_ERROR, NULL, NULL);
  /* the biggest we take: one NOOP TLV filling 4096 bytes */
  memset (big, 0, sizeof big);
  memcpy (big, inet, 12);
  big[12] = 0x04;
  big[13] = (sizeof big - 15) >> 8;
  big[14] = (sizeof big - 15) & 0xFF;
  add_v2 ("v2-biggest", 0x21, 0x11, big, sizeof big, sizeof big, PST_PROXY_DONE, "192.0.2.1:56324", "198.51.100.2:443");
  add_v2 ("v2-too-big", 0x21, 0x11, big, 0, sizeof big + 1, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-largest-declared", 0x21, 0x11, big, 0, 65535, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-version-1", 0x11, 0x11, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-version-3", 0x31, 0x11, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-command-2", 0x22, 0x11, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-dgram", 0x21, 0x12, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-family-4", 0x21, 0x41, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-transport-3", 0x21, 0x13, inet, 12, 12, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-inet-short", 0x21, 0x11, inet, 11, 11, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-inet6-short", 0x21, 0x21, inet6, 35, 35, PST_PROXY_ERROR, NULL, NULL);
  add_v2 ("v2-unix-short", 0x21, 0x31, unix_block, 215, 215, PST_PROXY_ERROR, NULL, NULL);
  /* a header whose body has not all arrived */
  add_case ("v2-truncated", (const guint8 *) SIG "\x21\x11\x00\x0c\xc0\x00", 18,
            PST_PROXY_NEED_MORE, 0, NULL, NULL);
}

static char *
address_text (GInetSocketAddress *address)
{
  g_autofree char *ip = NULL;

  if (address == NULL)
    return NULL;
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (address));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (address));
}

/* Feeds c->bytes in the pieces cut at cuts[0..n_cuts), checks the outcome. */
static void
run_pieces (const Case *c, const gsize *cuts, guint n_cuts, const char *how)
{
  PstProxyParser parser;
  PstProxyStatus status = PST_PROXY_NEED_MORE;
  gsize start = 0, end_of_header = 0;

  pst_proxy_parser_init (&parser);
  for (guint i = 0; i <= n_cuts; i++)
    {
      gsize stop = i < n_cuts ? cuts[i] : c->len;
      gsize used = 0;

      status = pst_proxy_parser_feed (&parser, (const guint8 *) c->bytes + start, stop - start, &used);
      g_assert_cmpuint (used, <=, stop - start);
      if (status != PST_PROXY_NEED_MORE)
        {
          end_of_header = start + used;
          break;
        }
      g_assert_cmpuint (used, ==, stop - start);
      start = stop;
    }
  if (status != c->status)
    g_error ("%s (%s): status %d, expected %d (%s)", c->name, how, status, c->status,
             parser.error ? parser.error : "no error");
  if (status == PST_PROXY_ERROR)
    {
      g_assert_nonnull (parser.error);
      g_assert_false (parser.has_addresses);
      /* a later feed changes nothing */
      g_assert_cmpint (pst_proxy_parser_feed (&parser, (const guint8 *) "PROXY", 5, NULL), ==, PST_PROXY_ERROR);
      return;
    }
  if (status == PST_PROXY_NEED_MORE)
    return;
  g_assert_cmpuint (end_of_header, ==, c->header_len);
  g_assert_cmpuint (parser.consumed, ==, c->header_len);
  g_assert_null (parser.error);
  g_assert_cmpint (parser.has_addresses, ==, c->src != NULL);
  {
    g_autoptr(GInetSocketAddress) src = pst_proxy_parser_dup_source (&parser);
    g_autoptr(GInetSocketAddress) dst = pst_proxy_parser_dup_destination (&parser);
    g_autofree char *src_text = address_text (src);
    g_autofree char *dst_text = address_text (dst);

    g_assert_cmpstr (src_text, ==, c->src);
    g_assert_cmpstr (dst_text, ==, c->dst);
  }
  {
    gsize used = 99;
    g_assert_cmpint (pst_proxy_parser_feed (&parser, (const guint8 *) "x", 1, &used), ==, PST_PROXY_DONE);
    g_assert_cmpuint (used, ==, 0);
  }
}

static void
test_whole (void)
{
  for (guint i = 0; i < cases->len; i++)
    run_pieces (cases->pdata[i], NULL, 0, "whole");
}

static void
test_two_pieces (void)
{
  guint runs = 0;

  for (guint i = 0; i < cases->len; i++)
    {
      const Case *c = cases->pdata[i];

      for (gsize cut = 0; cut <= c->len; cut++)
        {
          run_pieces (c, &cut, 1, "two pieces");
          runs++;
        }
    }
  g_test_message ("%u two-piece feeds", runs);
}

static void
test_byte_by_byte (void)
{
  for (guint i = 0; i < cases->len; i++)
    {
      const Case *c = cases->pdata[i];
      g_autofree gsize *cuts = g_new (gsize, c->len + 1);

      for (gsize k = 0; k < c->len; k++)
        cuts[k] = k + 1;
      run_pieces (c, cuts, c->len, "byte by byte");
    }
}

static void
test_reasons (void)
{
  static const struct { const char *bytes; const char *words; } want[] = {
    { "\x16\x03\x01", "does not start with a PROXY" },
    { "PROXY TCP4 1.2.3.4 1.2.3.4 1 99999\r\n", "port" },
    { "PROXY TCP9 1\r\n", "TCP4, TCP6 or UNKNOWN" },
    { SIG "\x21\x11\x10\x00", "4096" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      PstProxyParser parser;
      gsize len = g_str_has_prefix (want[i].bytes, "\r") ? 16 : strlen (want[i].bytes);

      pst_proxy_parser_init (&parser);
      g_assert_cmpint (pst_proxy_parser_feed (&parser, (const guint8 *) want[i].bytes, len, NULL),
                       ==, PST_PROXY_ERROR);
      g_assert_nonnull (strstr (parser.error, want[i].words));
    }
}

/* What the gateway writes to a back-end reads back as the same addresses. */
static void
test_build_round_trip (void)
{
  static const char *const pairs[][2] = {
    { "127.0.0.2", "127.0.0.1" },
    { "2001:db8::5", "::1" },
    { "192.0.2.9", "::1" },   /* mixed: written as IPv4-mapped IPv6 */
  };
  static const char *const expect_src[] = { "127.0.0.2:40000", "2001:db8::5:40000", "::ffff:192.0.2.9:40000" };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autoptr(GSocketAddress) src = g_inet_socket_address_new_from_string (pairs[i][0], 40000);
      g_autoptr(GSocketAddress) dst = g_inet_socket_address_new_from_string (pairs[i][1], 9443);
      guint8 out[PST_PROXY_V2_MAX_BUILT];
      gsize len = pst_proxy_protocol_build_v2 (G_INET_SOCKET_ADDRESS (src), G_INET_SOCKET_ADDRESS (dst), out);
      PstProxyParser parser;
      gsize used = 0;
      g_autoptr(GInetSocketAddress) got = NULL;
      g_autofree char *text = NULL;

      g_assert_cmpuint (len, ==, i == 0 ? 28 : 52);
      pst_proxy_parser_init (&parser);
      g_assert_cmpint (pst_proxy_parser_feed (&parser, out, len, &used), ==, PST_PROXY_DONE);
      g_assert_cmpuint (used, ==, len);
      got = pst_proxy_parser_dup_source (&parser);
      text = address_text (got);
      g_assert_cmpstr (text, ==, expect_src[i]);
      g_assert_cmpuint (parser.dst_port, ==, 9443);
    }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  build_cases ();
  g_test_add_func ("/proxy-protocol/whole", test_whole);
  g_test_add_func ("/proxy-protocol/two-pieces", test_two_pieces);
  g_test_add_func ("/proxy-protocol/byte-by-byte", test_byte_by_byte);
  g_test_add_func ("/proxy-protocol/reasons", test_reasons);
  g_test_add_func ("/proxy-protocol/build-round-trip", test_build_round_trip);
  status = g_test_run ();
  g_ptr_array_unref (cases);
  g_ptr_array_unref (owned);
  return status;
}
