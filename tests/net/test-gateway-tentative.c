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

/* A master's gateway serving OLD_PORT; a reload would move it to NEW_PORT. */
typedef struct {
  PstGateway *gateway;
  guint16     old_port;
  guint16     new_port;
  PstRuntime *old_rt;
  PstRuntime *new_rt;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->gateway = pst_gateway_new ();
  f->old_port = free_port ();
  f->new_port = free_port ();
  f->old_rt = echo_runtime (f->old_port);
  f->new_rt = echo_runtime (f->new_port);
  pst_gateway_set_bind_only (f->gateway, TRUE);
  g_assert_true (pst_gateway_apply (f->gateway, f->old_rt, &error));
  g_assert_no_error (error);
  g_assert_true (listening (f->old_port));
  g_assert_false (listening (f->new_port));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->gateway);
  g_clear_object (&f->old_rt);
  g_clear_object (&f->new_rt);
}

static void
test_revert (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *old_url = g_strdup_printf ("ws://127.0.0.1:%u/echo", f->old_port);
  g_autofree char *url = NULL;

  g_assert_true (pst_gateway_apply_tentative (f->gateway, f->new_rt, &error));
  g_assert_no_error (error);
  /* Both sets bound while the reload's workers start */
  g_assert_true (listening (f->old_port));
  g_assert_true (listening (f->new_port));
  g_assert_cmpuint (n_sockets (pst_gateway_dup_sockets (f->gateway)), ==, 1);
  g_assert_cmpuint (n_sockets (pst_gateway_dup_previous_sockets (f->gateway)), ==, 1);

  /* They failed: the previous set, URLs and sockets, is in force again. */
  pst_gateway_revert (f->gateway);
  g_assert_true (listening (f->old_port));
  g_assert_false (listening (f->new_port));
  url = first_url (f->gateway);
  g_assert_cmpstr (url, ==, old_url);
  g_assert_cmpuint (n_sockets (pst_gateway_dup_sockets (f->gateway)), ==, 1);
  /* Nothing pending: a second revert changes nothing. */
  pst_gateway_revert (f->gateway);
  g_assert_true (listening (f->old_port));
}

static void
test_confirm (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstRuntime) same_rt = echo_runtime (f->new_port);
  g_autofree char *new_url = g_strdup_printf ("ws://127.0.0.1:%u/echo", f->new_port);
  g_autofree char *url = NULL;

  g_assert_true (pst_gateway_apply_tentative (f->gateway, f->new_rt, &error));
  g_assert_no_error (error);
  /* They accept: the previous set's own sockets close. */
  pst_gateway_confirm (f->gateway);
  g_assert_false (listening (f->old_port));
  g_assert_true (listening (f->new_port));
  url = first_url (f->gateway);
  g_assert_cmpstr (url, ==, new_url);

  /* A reload keeping the address keeps its socket, whatever comes next. */
  g_assert_true (pst_gateway_apply_tentative (f->gateway, same_rt, &error));
  g_assert_no_error (error);
  pst_gateway_revert (f->gateway);
  g_assert_true (listening (f->new_port));
  g_assert_true (pst_gateway_apply_tentative (f->gateway, same_rt, &error));
  pst_gateway_confirm (f->gateway);
  g_assert_true (listening (f->new_port));
}

static void
test_stop (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  /* A stop during a tentative apply closes both sets. */
  g_assert_true (pst_gateway_apply_tentative (f->gateway, f->new_rt, &error));
  g_assert_no_error (error);
  g_assert_true (listening (f->new_port));
  pst_gateway_stop (f->gateway);
  g_assert_false (listening (f->old_port));
  g_assert_false (listening (f->new_port));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add ("/gateway/tentative/revert", Fixture, NULL, fixture_set_up, test_revert, fixture_tear_down);
  g_test_add ("/gateway/tentative/confirm", Fixture, NULL, fixture_set_up, test_confirm, fixture_tear_down);
  g_test_add ("/gateway/tentative/stop", Fixture, NULL, fixture_set_up, test_stop, fixture_tear_down);
  return g_test_run ();
}
