/* test-gateway-tentative.c: a master's reload applied tentatively: both listener sets bound, then confirmed or reverted
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-gateway.h"
#include "pst-runtime.h"

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, 0, NULL);
  g_autoptr(GInetAddress) any = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (any, 0);
  g_autoptr(GSocketAddress) local = NULL;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  local = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

/* A TCP connect to 127.0.0.1:PORT is taken (someone listens). */
static gboolean
listening (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;

  g_socket_client_set_timeout (client, 5);
  g_socket_client_set_enable_proxy (client, FALSE);   /* no GSettings proxy lookup */
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, NULL);
  return connection != NULL;
}

static PstRuntime *
echo_runtime (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strdup_printf (
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <service><name>echo</name><accept>ws://127.0.0.1:%u/echo</accept><type>echo</type></service>\n"
    "</gateway-config>\n", port);
  g_autoptr(PstConfig) config = pst_config_new_from_data (text, strlen (text), "/tmp/tentative/gateway-config.xml",
                                                          &error);
  PstRuntime *runtime;

  g_assert_no_error (error);
  runtime = pst_runtime_new (config, NULL, &error);
  g_assert_no_error (error);
  return runtime;
}

static char *
first_url (PstGateway *gateway)
{
  g_auto(GStrv) urls = pst_gateway_dup_urls (gateway);

  g_assert_cmpuint (g_strv_length (urls), ==, 1);
  return g_strdup (urls[0]);
}

static guint
n_sockets (GPtrArray *sockets)
{
  guint n = sockets->len;

  g_ptr_array_unref (sockets);
  return n;
}

static void
test_revert (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstGateway) gateway = pst_gateway_new ();
  guint16 old_port = free_port (), new_port = free_port ();
  g_autoptr(PstRuntime) old_rt = echo_runtime (old_port);
  g_autoptr(PstRuntime) new_rt = echo_runtime (new_port);
  g_autofree char *old_url = g_strdup_printf ("ws://127.0.0.1:%u/echo", old_port);
  g_autofree char *url = NULL;

  pst_gateway_set_bind_only (gateway, TRUE);
  g_assert_true (pst_gateway_apply (gateway, old_rt, &error));
  g_assert_no_error (error);
  g_assert_true (listening (old_port));
  g_assert_false (listening (new_port));

  g_assert_true (pst_gateway_apply_tentative (gateway, new_rt, &error));
  g_assert_no_error (error);
  /* Both sets bound while the reload's workers start */
  g_assert_true (listening (old_port));
  g_assert_true (listening (new_port));
  g_assert_cmpuint (n_sockets (pst_gateway_dup_sockets (gateway)), ==, 1);
  g_assert_cmpuint (n_sockets (pst_gateway_dup_previous_sockets (gateway)), ==, 1);

  /* They failed: the previous set, URLs and sockets, is in force again. */
  pst_gateway_revert (gateway);
  g_assert_true (listening (old_port));
  g_assert_false (listening (new_port));
  url = first_url (gateway);
  g_assert_cmpstr (url, ==, old_url);
  g_assert_cmpuint (n_sockets (pst_gateway_dup_sockets (gateway)), ==, 1);
  /* Nothing pending: a second revert changes nothing. */
  pst_gateway_revert (gateway);
  g_assert_true (listening (old_port));
}

static void
test_confirm (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstGateway) gateway = pst_gateway_new ();
  guint16 old_port = free_port (), new_port = free_port ();
  g_autoptr(PstRuntime) old_rt = echo_runtime (old_port);
  g_autoptr(PstRuntime) new_rt = echo_runtime (new_port);
  g_autoptr(PstRuntime) same_rt = echo_runtime (new_port);
  g_autofree char *new_url = g_strdup_printf ("ws://127.0.0.1:%u/echo", new_port);
  g_autofree char *url = NULL;

  pst_gateway_set_bind_only (gateway, TRUE);
  g_assert_true (pst_gateway_apply (gateway, old_rt, &error));
  g_assert_true (pst_gateway_apply_tentative (gateway, new_rt, &error));
  g_assert_no_error (error);
  /* They accept: the previous set's own sockets close. */
  pst_gateway_confirm (gateway);
  g_assert_false (listening (old_port));
  g_assert_true (listening (new_port));
  url = first_url (gateway);
  g_assert_cmpstr (url, ==, new_url);

  /* A reload keeping the address keeps its socket, whatever comes next. */
  g_assert_true (pst_gateway_apply_tentative (gateway, same_rt, &error));
  g_assert_no_error (error);
  pst_gateway_revert (gateway);
  g_assert_true (listening (new_port));
  g_assert_true (pst_gateway_apply_tentative (gateway, same_rt, &error));
  pst_gateway_confirm (gateway);
  g_assert_true (listening (new_port));

  /* A stop during a tentative apply closes both sets. */
  g_assert_true (pst_gateway_apply_tentative (gateway, old_rt, &error));
  g_assert_true (listening (old_port));
  pst_gateway_stop (gateway);
  g_assert_false (listening (old_port));
  g_assert_false (listening (new_port));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/gateway/tentative/revert", test_revert);
  g_test_add_func ("/gateway/tentative/confirm", test_confirm);
  return g_test_run ();
}
