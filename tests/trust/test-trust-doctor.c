/* test-trust-doctor.c: the trust doctor's library API as the editor will use it (GListModel, async, cancel)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <gio/gio.h>

#include "pst-config.h"
#include "pst-trust-doctor.h"

static const char config_text[] =
  "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
  "  <service><name>echo</name><accept>wss://doctor.test:9443/</accept><type>echo</type></service>\n"
  "  <service><name>p</name><accept>ws://doctor.test:9080/</accept>\n"
  "    <connect>ssl://127.0.0.1:%u</connect><type>proxy</type></service>\n"
  "  <security><keystore><file>missing-keystore.db</file></keystore></security>\n"
  "</gateway-config>\n";

typedef struct {
  GListModel *rows;
  GError     *error;
  gboolean    done;
} Result;

static void
done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->rows = pst_trust_doctor_run_finish (result, &r->error);
  r->done = TRUE;
}

/* A port nothing listens on: bound, then closed */
static guint16
closed_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static PstConfig *
make_config (void)
{
  /* never written: the folder only anchors the keystore's relative path */
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "gateway-config.xml", NULL);
  g_autofree char *text = g_strdup_printf (config_text, closed_port ());
  g_autoptr(GError) error = NULL;
  PstConfig *config = pst_config_new_from_data (text, strlen (text), path, &error);

  g_assert_no_error (error);
  return config;
}

static PstTrustRow *
find (GListModel *rows, const char *key)
{
  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);

      if (g_str_equal (pst_trust_row_get_key (row), key))
        return row;   /* the model keeps a reference */
    }
  return NULL;
}

static void
test_report (void)
{
  g_autoptr(PstConfig) config = make_config ();
  Result r = { 0 };
  guint iterations = 0;
  PstTrustRow *row;
  g_autofree char *status = NULL;
  gboolean needed = FALSE;
  int last_section = -1;

  pst_trust_doctor_run_async (config, 5, NULL, done_cb, &r);
  /* the work is in a thread: the caller's context keeps turning */
  while (!r.done)
    {
      g_main_context_iteration (NULL, TRUE);
      iterations++;
    }
  g_assert_no_error (r.error);
  g_assert_true (G_IS_LIST_MODEL (r.rows));
  g_assert_true (g_list_model_get_item_type (r.rows) == PST_TYPE_TRUST_ROW);
  g_assert_false (pst_trust_report_is_trusted (r.rows));

  /* sections in report order */
  for (guint i = 0; i < g_list_model_get_n_items (r.rows); i++)
    {
      g_autoptr(PstTrustRow) item = g_list_model_get_item (r.rows, i);

      g_assert_cmpint ((int) pst_trust_row_get_section (item), >=, last_section);
      last_section = pst_trust_row_get_section (item);
    }

  row = find (r.rows, "keystore");
  g_assert_nonnull (row);
  g_object_get (row, "status", &status, "needed", &needed, NULL);
  g_assert_cmpstr (status, ==, "fail");
  g_assert_true (needed);
  g_assert_true (g_str_has_prefix (pst_trust_row_get_fix (row), "postern cert generate --keystore "));
  g_assert_true (g_str_has_suffix (pst_trust_row_get_fix (row), " doctor.test"));

  /* the ws:// accept needs no certificate; the wss:// one is doctor.test */
  g_assert_null (find (r.rows, "host:doctor.test"));   /* no keystore to look in */
  row = NULL;
  for (guint i = 0; i < g_list_model_get_n_items (r.rows); i++)
    {
      g_autoptr(PstTrustRow) item = g_list_model_get_item (r.rows, i);
      if (g_str_has_suffix (pst_trust_row_get_key (item), ":reachable"))
        row = item;
    }
  g_assert_nonnull (row);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_FAIL);
  g_assert_true (pst_trust_row_is_blocking (row));
  g_assert_nonnull (strstr (pst_trust_row_get_detail (row), "127.0.0.1"));
  g_object_unref (r.rows);
}

/* More back-ends than probes in flight (32): each gets its row */
static void
test_many_backends (void)
{
  g_autoptr(GString) text = g_string_new ("<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
                                          "  <service><name>p</name><accept>ws://doctor.test:9080/</accept>\n");
  g_autoptr(GHashTable) ports = g_hash_table_new (NULL, NULL);
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), "many.xml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  Result r = { 0 };
  guint reachable = 0;

  while (g_hash_table_size (ports) < 70)
    g_hash_table_add (ports, GUINT_TO_POINTER (closed_port ()));
  {
    GHashTableIter iter;
    gpointer port;

    g_hash_table_iter_init (&iter, ports);
    while (g_hash_table_iter_next (&iter, &port, NULL))
      g_string_append_printf (text, "    <connect>ssl://127.0.0.1:%u</connect>\n", GPOINTER_TO_UINT (port));
  }
  g_string_append (text, "    <type>proxy</type></service>\n</gateway-config>\n");
  config = pst_config_new_from_data (text->str, text->len, path, &error);
  g_assert_no_error (error);

  pst_trust_doctor_run_async (config, 5, NULL, done_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (r.error);
  for (guint i = 0; i < g_list_model_get_n_items (r.rows); i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (r.rows, i);

      if (g_str_has_suffix (pst_trust_row_get_key (row), ":reachable"))
        {
          reachable++;
          g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_FAIL);
          g_assert_nonnull (strstr (pst_trust_row_get_detail (row), "refused"));
        }
    }
  g_assert_cmpuint (reachable, ==, 70);
  g_object_unref (r.rows);
}

static void
test_cancelled (void)
{
  g_autoptr(PstConfig) config = make_config ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result r = { 0 };

  g_cancellable_cancel (cancellable);
  pst_trust_doctor_run_async (config, 5, cancellable, done_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (r.rows);
  g_clear_error (&r.error);
}

int
main (int argc, char **argv)
{
  /* isolated XDG dirs hold no GSettings schemas for GNOME's proxy resolver */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  g_test_add_func ("/trust/doctor/report", test_report);
  g_test_add_func ("/trust/doctor/many-backends", test_many_backends);
  g_test_add_func ("/trust/doctor/cancelled", test_cancelled);
  return g_test_run ();
}
