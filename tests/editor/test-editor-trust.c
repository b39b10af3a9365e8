/* test-editor-trust.c: the editor's Trust page under Xvfb — the doctor's report and its fixes, for real
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <adwaita.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "editor-test-util.h"
#include "pst-cert-util.h"
#include "pst-document.h"
#include "pst-keystore.h"
#include "pst-store-entry.h"
#include "pst-trust-dialog.h"
#include "pst-trust-doctor.h"
#include "pst-trust-page.h"
#include "pst-trust-row.h"
#include "pst-trusted-dialog.h"
#include "pst-window.h"

/* The doctor probes Java, Python, curl and NSS: bounded, but not instant. */
#define DOCTOR_WAIT_MS 90000

static char *scratch_home;

/* The widget named name (a report row is named by its key) under widget. */
static GtkWidget *
find_named (GtkWidget  *widget,
            const char *name)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found;

      if (g_strcmp0 (gtk_widget_get_name (child), name) == 0)
        return child;
      if ((found = find_named (child, name)) != NULL)
        return found;
    }
  return NULL;
}

/* The scratch set-up: a local CA, a keystore with localhost from it, a
 * config with a second accept host that has no certificate yet, and an
 * empty NSS database in the (isolated) HOME, as Chromium makes it. */
typedef struct {
  char         *dir;
  char         *config;
  char         *nssdb;
  PstWindow    *window;
  PstTrustPage *page;
  guint         refreshes;
} Fixture;

static void
busy_changed_cb (PstTrustPage *page,
                 GParamSpec   *pspec,
                 Fixture      *fx)
{
  if (!pst_trust_page_get_busy (page))
    fx->refreshes++;
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  const char *postern = PST_TEST_POSTERN;
  g_autofree char *xml = NULL;
  g_autofree char *sql = NULL;
  g_autofree char *out = NULL;
  guint16 port = pst_test_free_port ();

  fx->dir = pst_test_make_dir ("postern-trust-XXXXXX");
  /* G_TEST_OPTION_ISOLATE_DIRS gave this test its own HOME */
  /* main() pointed HOME at a scratch folder: never the real user's NSS database */
  g_assert_true (g_str_equal (g_get_home_dir (), scratch_home));
  fx->nssdb = g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fx->nssdb, 0700), ==, 0);
  sql = g_strconcat ("sql:", fx->nssdb, NULL);
  {
    const char *argv[] = { "certutil", "-N", "-d", sql, "--empty-password", NULL };
    g_free (pst_test_run_tool (fx->dir, argv));
  }
  {
    const char *argv[] = { postern, "cert", "generate", "--ca", "devca.p12", "--keystore", "keystore.p12",
                           "localhost", NULL };
    out = pst_test_run_tool (fx->dir, argv);
  }

  xml = g_strdup_printf (
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <service>\n"
    "    <name>echo</name>\n"
    "    <accept>wss://localhost:%u/echo</accept>\n"
    "    <accept>wss://app.localhost:%u/echo</accept>\n"
    "    <type>echo</type>\n"
    "  </service>\n"
    "  <security>\n"
    "    <keystore><type>PKCS12</type><file>keystore.p12</file><password-file>keystore.pw</password-file></keystore>\n"
    "  </security>\n"
    "</gateway-config>\n", port, port);
  fx->config = pst_test_write_config (fx->dir, xml);
  fx->window = pst_test_open_window (fx->config, NULL);
  fx->page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "trust_page");
  g_signal_connect (fx->page, "notify::busy", G_CALLBACK (busy_changed_cb), fx);
  pst_test_iterate (50);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  if (fx->window != NULL)
    {
      g_signal_handlers_disconnect_by_data (fx->page, fx);
      gtk_window_destroy (GTK_WINDOW (fx->window));
    }
  pst_test_iterate (50);
  pst_test_remove_tree (fx->dir);
  pst_test_remove_tree (fx->nssdb);
  g_free (fx->dir);
  g_free (fx->config);
  g_free (fx->nssdb);
}

static PstTrustRow *
row_for (PstTrustPage *page,
         const char   *key)
{
  GListModel *rows = pst_trust_page_get_rows (page);

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(PstTrustRow) row = g_list_model_get_item (rows, i);

      if (g_str_equal (pst_trust_row_get_key (row), key))
        return row;
    }
  return NULL;
}

typedef struct {
  Fixture *fx;
  guint    after;
} Refreshed;

static gboolean
refreshed (gpointer data)
{
  Refreshed *r = data;

  return r->fx->refreshes > r->after && !pst_trust_page_get_busy (r->fx->page) &&
         g_list_model_get_n_items (pst_trust_page_get_rows (r->fx->page)) > 0;
}

/* Waits until the page has a report newer than the one counted in after. */
static void
wait_report (Fixture *fx,
             guint    after)
{
  Refreshed r = { fx, after };

  g_assert_true (pst_test_wait_for (refreshed, &r, DOCTOR_WAIT_MS));
}

/* Clicks the fix button of the row shown for key. */
static void
click_fix (Fixture    *fx,
           const char *key)
{
  GtkWidget *row = find_named (GTK_WIDGET (fx->page), key);
  GtkWidget *button;

  g_assert_nonnull (row);
  button = pst_test_find_descendant (row, GTK_TYPE_BUTTON, FALSE);
  g_assert_nonnull (button);
  g_assert_cmpstr (gtk_actionable_get_action_name (GTK_ACTIONABLE (button)), ==, "trust.fix");
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");   /* what a click does (activate waits 250 ms) */
}

static void
test_fix_classify (void)
{
  g_assert_cmpint (pst_trust_fix_classify (NULL), ==, PST_TRUST_FIX_NONE);
  g_assert_cmpint (pst_trust_fix_classify ("postern cert install-ca devca.p12 --nss"), ==, PST_TRUST_FIX_NSS);
  g_assert_cmpint (pst_trust_fix_classify ("postern cert install-ca 'my ca.p12' --nss"), ==, PST_TRUST_FIX_NSS);
  g_assert_cmpint (pst_trust_fix_classify ("sudo postern cert install-ca devca.p12 --system"), ==, PST_TRUST_FIX_ROOT);
  g_assert_cmpint (pst_trust_fix_classify ("sudo JAVA_HOME=/usr/lib/jvm/x postern cert install-ca devca.p12 --java"),
                   ==, PST_TRUST_FIX_ROOT);
  g_assert_cmpint (pst_trust_fix_classify ("postern cert generate --keystore ks.p12 --ca devca.p12 a.test"),
                   ==, PST_TRUST_FIX_GENERATE);
  g_assert_cmpint (pst_trust_fix_classify ("postern cert fetch truststore.p12 localhost:9443"), ==, PST_TRUST_FIX_FETCH);
  /* anything a shell must run is copied, never run by the editor */
  g_assert_cmpint (pst_trust_fix_classify ("postern cert export ks.p12 a --out a.pem && certutil -A -d x -i a.pem"),
                   ==, PST_TRUST_FIX_COPY);
  g_assert_cmpint (pst_trust_fix_classify ("export NODE_EXTRA_CA_CERTS=/tmp/ca.pem"), ==, PST_TRUST_FIX_COPY);
  g_assert_cmpint (pst_trust_fix_classify ("SSL_CERT_FILE=x postern cert install-ca devca.p12 --nss"), ==,
                   PST_TRUST_FIX_COPY);
  g_assert_cmpint (pst_trust_fix_classify ("postern cert 'unterminated"), ==, PST_TRUST_FIX_COPY);
}

/* Shown, the page runs the doctor off the main thread; Install puts the
 * local CA in the scratch NSS database (checked with certutil), Generate
 * makes the missing accept host's certificate from the local CA, and the
 * report is made again after each. */
static void
test_page_fixes (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *nss_key = g_strconcat ("nss:", fx->nssdb, NULL);
  g_autofree char *sql = g_strconcat ("sql:", fx->nssdb, NULL);
  g_autofree char *keystore_path = g_build_filename (fx->dir, "keystore.p12", NULL);
  g_autofree char *ca_path = g_build_filename (fx->dir, "devca.p12", NULL);
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(PstKeystore) ca_store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *ca_subject = NULL;
  g_autofree char *issuer = NULL;
  PstTrustRow *row;
  PstStoreEntry *entry;
  guint seen;

  /* not run before the page is looked at */
  g_assert_cmpuint (g_list_model_get_n_items (pst_trust_page_get_rows (fx->page)), ==, 0);
  pst_window_show_page (fx->window, "trust");
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (fx->page)));
  g_assert_true (pst_trust_page_get_busy (fx->page));
  wait_report (fx, 0);

  row = row_for (fx->page, "host:localhost");
  g_assert_nonnull (row);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_OK);
  row = row_for (fx->page, "host:app.localhost");
  g_assert_nonnull (row);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_FAIL);
  g_assert_cmpint (pst_trust_fix_classify (pst_trust_row_get_fix (row)), ==, PST_TRUST_FIX_GENERATE);
  row = row_for (fx->page, nss_key);
  g_assert_nonnull (row);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_FAIL);
  g_assert_cmpint (pst_trust_fix_classify (pst_trust_row_get_fix (row)), ==, PST_TRUST_FIX_NSS);
  g_assert_false (pst_trust_report_is_trusted (pst_trust_page_get_rows (fx->page)));

  /* Install, for real, in the scratch NSS database */
  seen = fx->refreshes;
  click_fix (fx, nss_key);
  g_assert_true (pst_trust_page_get_busy (fx->page));
  wait_report (fx, seen);
  g_assert_cmpstr (pst_trust_page_get_message (fx->page), ==,
                   _("The local CA is now trusted by the browsers’ NSS databases."));
  row = row_for (fx->page, nss_key);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_OK);
  {
    const char *argv[] = { "certutil", "-L", "-d", sql, NULL };
    listing = pst_test_run_tool (fx->dir, argv);
  }
  ca_store = pst_keystore_open (ca_path, NULL, &error);
  g_assert_no_error (error);
  ca_subject = pst_cert_dup_common_name (pst_store_entry_get_certificate (pst_local_ca_find (ca_store)));
  g_assert_nonnull (strstr (listing, ca_subject));
  g_assert_nonnull (strstr (listing, "C,,"));

  /* Generate the missing certificate: the Problems panel follows too */
  g_assert_true (pst_test_wait_for (pst_test_validated, pst_window_get_document (fx->window), 30000));
  g_assert_cmpuint (pst_document_get_n_errors (pst_window_get_document (fx->window)), >, 0);
  seen = fx->refreshes;
  click_fix (fx, "host:app.localhost");
  wait_report (fx, seen);
  row = row_for (fx->page, "host:app.localhost");
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_OK);
  keystore = pst_keystore_open (keystore_path, NULL, &error);
  g_assert_no_error (error);
  entry = pst_keystore_lookup (keystore, "app.localhost");
  g_assert_nonnull (entry);
  g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_KEY);
  issuer = pst_store_entry_dup_issuer (entry);
  g_assert_nonnull (strstr (issuer, ca_subject));
  g_assert_true (pst_trust_report_is_trusted (pst_trust_page_get_rows (fx->page)));
  g_assert_true (pst_test_wait_for (pst_test_validated, pst_window_get_document (fx->window), 30000));
  g_assert_cmpuint (pst_document_get_n_errors (pst_window_get_document (fx->window)), ==, 0);
}

typedef struct {
  GStrv argv;
} RootCall;

static void
root_runner (const char * const *argv,
             gpointer            user_data)
{
  RootCall *call = user_data;

  g_strfreev (call->argv);
  call->argv = g_strdupv ((GStrv) argv);
}

static gboolean
dialog_shown (gpointer data)
{
  return pst_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG, NULL) != NULL;
}

/* The system store needs root: the page explains it first, and runs
 * pkexec only when the user agrees (what it would run is observed). */
static void
test_root_needs_consent (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *ca_path = g_build_filename (fx->dir, "devca.p12", NULL);
  RootCall call = { NULL };
  AdwMessageDialog *dialog;
  PstTrustRow *row;

  pst_trust_page_set_root_runner (fx->page, root_runner, &call);
  pst_window_show_page (fx->window, "trust");
  wait_report (fx, 0);
  row = row_for (fx->page, "system");
  g_assert_nonnull (row);
  if (pst_trust_row_get_status (row) == PST_TRUST_STATUS_OK)
    {
      /* this machine's system store already trusts a CA made just now: impossible */
      g_assert_not_reached ();
    }
  g_assert_cmpint (pst_trust_fix_classify (pst_trust_row_get_fix (row)), ==, PST_TRUST_FIX_ROOT);

  /* Cancel: nothing runs */
  click_fix (fx, "system");
  g_assert_true (pst_test_wait_for (dialog_shown, NULL, 5000));
  dialog = pst_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG, NULL);
  g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), "update-ca-certificates"));
  adw_message_dialog_response (dialog, "cancel");
  pst_test_iterate (100);
  g_assert_null (call.argv);

  /* Agree: pkexec with the absolute store path */
  click_fix (fx, "system");
  g_assert_true (pst_test_wait_for (dialog_shown, NULL, 5000));
  adw_message_dialog_response (pst_test_find_toplevel (ADW_TYPE_MESSAGE_DIALOG, NULL), "run");
  pst_test_iterate (100);
  g_assert_nonnull (call.argv);
  g_assert_cmpstr (call.argv[0], ==, "pkexec");
  g_assert_true (g_strv_contains ((const char * const *) call.argv, "install-ca"));
  g_assert_true (g_strv_contains ((const char * const *) call.argv, "--system"));
  g_assert_true (g_strv_contains ((const char * const *) call.argv, ca_path));
  g_strfreev (call.argv);
}

/* Never blocks: a configuration whose stores are slow to open (PKCS#12
 * made by openssl with 1,000,000 PBKDF2 rounds, a keystore and a truststore)
 * is opened in a shown window; while its validation runs the frame clock
 * keeps ticking: the main thread never works 100 ms between two frames.
 * On this shared machine (load 8-10 on 2 cores) the scheduler alone holds
 * any thread back for longer than that, so the wall-clock gaps are
 * reported, and measured against the thread's CPU time and its wait for a
 * CPU (/proc schedstat).  Validating on the main thread costs it 250 ms or
 * more of CPU (asserted), which no measure here could miss. */

typedef struct {
  gint64   last;
  gint64   max_gap;
  gint64   first_frame;  /* the first frame after the document was set */
  gint64   max_gap_at;   /* when the longest gap ended */
  gint64   last_wait;    /* the main thread's run-queue wait so far (ns) */
  gint64   max_ready;    /* longest gap minus the time spent waiting for a CPU */
  gint64   last_cpu;     /* the main thread's CPU time so far (us) */
  gint64   max_cpu;      /* most CPU the main thread used between two frames */
  guint    ticks;
  gboolean arm;          /* start measuring at the next frame */
  gboolean measuring;
} Ticks;

/* How long this thread has waited, runnable, for a CPU (ns): the second
 * field of its schedstat.  The machine is shared (load 8-10 on 2 cores
 * here), so a gap in the frames can be the scheduler's. */
static gint64
run_queue_wait_ns (void)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%ld/schedstat", (long) syscall (SYS_gettid));
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  fields = g_strsplit (g_strstrip (text), " ", -1);
  return g_strv_length (fields) >= 2 ? g_ascii_strtoll (fields[1], NULL, 10) : 0;
}

static gboolean
frame_tick_cb (GtkWidget     *widget,
               GdkFrameClock *clock,
               gpointer       user_data)
{
  Ticks *ticks = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 wait = run_queue_wait_ns ();
  gint64 cpu = pst_test_thread_cpu_us ();

  if (ticks->measuring && !ticks->arm && ticks->last != 0)
    {
      ticks->max_ready = MAX (ticks->max_ready, (now - ticks->last) - (wait - ticks->last_wait) / 1000);
      ticks->max_cpu = MAX (ticks->max_cpu, cpu - ticks->last_cpu);
    }
  ticks->last_wait = wait;
  ticks->last_cpu = cpu;

  if (ticks->arm)
    {
      ticks->arm = FALSE;
      ticks->measuring = TRUE;
      ticks->first_frame = now;
      ticks->max_gap = 0;
      ticks->max_ready = 0;
      ticks->max_cpu = 0;
      ticks->ticks = 0;
    }
  else if (ticks->measuring && ticks->last != 0 && now - ticks->last > ticks->max_gap)
    {
      ticks->max_gap = now - ticks->last;
      ticks->max_gap_at = now;
    }
  ticks->last = now;
  ticks->ticks++;
  return G_SOURCE_CONTINUE;
}

static gboolean
ten_more_ticks (gpointer data)
{
  Ticks *ticks = data;
  static guint first;

  if (first == 0)
    first = ticks->ticks + 1;
  return ticks->ticks >= first + 10;
}

static void
make_heavy_store (const char *dir,
                  const char *name,
                  gboolean    with_key)
{
  g_autofree char *out = g_strconcat (name, ".p12", NULL);
  g_autofree char *pw = g_strconcat (name, ".pw", NULL);
  g_autofree char *pw_path = g_build_filename (dir, pw, NULL);
  g_autoptr(GError) error = NULL;
  const char *with[] = { "openssl", "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-name", "localhost",
                         "-passout", "file:keystore.pw", "-iter", "1000000", "-out", out, NULL };
  const char *without[] = { "openssl", "pkcs12", "-export", "-nokeys", "-in", "cert.pem", "-name", "anchor",
                            "-passout", "file:keystore.pw", "-iter", "1000000", "-out", out, NULL };

  g_free (pst_test_run_tool (dir, with_key ? with : without));
  if (!with_key)
    {
      g_autofree char *source = g_build_filename (dir, "keystore.pw", NULL);
      g_autofree char *text = NULL;

      g_file_get_contents (source, &text, NULL, &error);
      g_assert_no_error (error);
      g_file_set_contents_full (pw_path, text, -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
      g_assert_no_error (error);
    }
}

static void
test_never_blocks (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("postern-heavy-XXXXXX", &error);
  g_autofree char *config_path = NULL;
  g_autofree char *pw_path = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(GPtrArray) diagnostics = NULL;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GFile) file = NULL;
  PstWindow *window;
  Ticks ticks = { 0 };
  gint64 start, sync_us;
  guint tick_id;
  const char *req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", "key.pem", "-out", "cert.pem", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost", "-days", "365", NULL };
  const char *xml =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <service>\n"
    "    <name>echo</name>\n"
    "    <accept>wss://localhost:9443/echo</accept>\n"
    "    <type>echo</type>\n"
    "  </service>\n"
    "  <security>\n"
    "    <keystore><type>PKCS12</type><file>keystore.p12</file><password-file>keystore.pw</password-file></keystore>\n"
    "    <truststore><type>PKCS12</type><file>truststore.p12</file><password-file>truststore.pw</password-file></truststore>\n"
    "  </security>\n"
    "</gateway-config>\n";

  g_assert_no_error (error);
  g_free (pst_test_run_tool (dir, req));
  pw_path = g_build_filename (dir, "keystore.pw", NULL);
  g_file_set_contents_full (pw_path, "heavy-secret", -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  make_heavy_store (dir, "keystore", TRUE);
  make_heavy_store (dir, "truststore", FALSE);
  config_path = g_build_filename (dir, "gateway-config.xml", NULL);
  g_file_set_contents (config_path, xml, -1, &error);
  g_assert_no_error (error);

  /* the baseline: validating on this thread takes long enough to see */
  config = pst_config_new_from_file (config_path, &error);
  g_assert_no_error (error);
  start = pst_test_thread_cpu_us ();
  diagnostics = pst_config_validate (config);
  sync_us = pst_test_thread_cpu_us () - start;
  g_test_message ("validation on the calling thread: %" G_GINT64_FORMAT " ms of its CPU", sync_us / 1000);
  g_assert_false (pst_diagnostics_have_errors (diagnostics));
  g_assert_cmpint (sync_us, >=, 250 * G_TIME_SPAN_MILLISECOND);

  /* a light document first: the window's first layout (fonts loaded,
   * text shaped) is slow on its own and is not what is measured here */
  {
    g_autofree char *light_path = g_build_filename (dir, "light.xml", NULL);
    g_autoptr(GFile) light_file = g_file_new_for_path (light_path);
    g_autoptr(PstDocument) light = NULL;

    g_file_set_contents (light_path,
                         "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
                         "  <service><name>echo</name><accept>ws://localhost:9080/echo</accept><type>echo</type></service>\n"
                         "</gateway-config>\n", -1, &error);
    g_assert_no_error (error);
    light = pst_document_new_for_file (light_file, &error);
    g_assert_no_error (error);
    window = pst_window_new (NULL);
    pst_window_set_document (window, light);
    gtk_window_present (GTK_WINDOW (window));
    tick_id = gtk_widget_add_tick_callback (GTK_WIDGET (window), frame_tick_cb, &ticks, NULL);
    g_assert_true (pst_test_wait_for (pst_test_validated, light, 10000));
    /* settled: ten frames drawn after the first layout */
    g_assert_true (pst_test_wait_for (ten_more_ticks, &ticks, 20000));
  }

  start = g_get_monotonic_time ();
  file = g_file_new_for_path (config_path);
  document = pst_document_new_for_file (file, &error);
  g_assert_no_error (error);
  pst_window_set_document (window, document);
  g_assert_true (pst_document_get_validation_pending (document));
  /* The new document's first layout (services, pages, the XML view) is
   * GTK's work whatever validation does: measured from the frame after it. */
  ticks.arm = TRUE;
  g_assert_true (pst_test_wait_for (pst_test_validated, document, 30000));
  ticks.measuring = FALSE;
  g_test_message ("validation in the background: %" G_GINT64_FORMAT " ms; first frame after %" G_GINT64_FORMAT
                  " ms, then %u frames, longest gap %" G_GINT64_FORMAT " ms (at %" G_GINT64_FORMAT
                  " ms), longest without the wait for a CPU %" G_GINT64_FORMAT " ms, most CPU between frames %"
                  G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000, (ticks.first_frame - start) / 1000,
                  ticks.ticks, ticks.max_gap / 1000, (ticks.max_gap_at - start) / 1000, ticks.max_ready / 1000,
                  ticks.max_cpu / 1000);
  /* the validation was still running for most of the measured time */
  g_assert_true (ticks.first_frame != 0);
  g_assert_cmpint (g_get_monotonic_time () - ticks.first_frame, >=, 150 * G_TIME_SPAN_MILLISECOND);
  /* it ran, and found what the synchronous run found */
  g_assert_cmpuint (g_list_model_get_n_items (pst_document_get_diagnostics (document)), ==, diagnostics->len);
  g_assert_cmpuint (pst_document_get_n_errors (document), ==, 0);
  g_assert_cmpuint (ticks.ticks, >=, 3);
  /* the main thread never worked 100 ms without drawing a frame, as
   * validating on it would (the baseline above took 250 ms or more of its
   * CPU); nor did it wait long for anything but a CPU (a blocking call
   * would); Xvfb, starved too, can make GTK wait a little */
  g_assert_cmpint (ticks.max_cpu, <=, 100 * G_TIME_SPAN_MILLISECOND);
  g_assert_cmpint (ticks.max_ready, <=, 200 * G_TIME_SPAN_MILLISECOND);

  gtk_widget_remove_tick_callback (GTK_WIDGET (window), tick_id);
  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (50);
  pst_test_remove_tree (dir);
}

/* "Make It Trusted": from New to a trusted wss:// echo in at most five
 * clicks, up to the point where the browser would open (the URI launch is
 * observed through the dialog's seam).  Clicks are the signals a click
 * emits on the very buttons (and the sidebar row) a user would press. */

static gboolean
string_set (gpointer data)
{
  return *(char **) data != NULL;
}

static void
uri_launched_cb (GtkWindow  *parent,
                 const char *uri,
                 gpointer    user_data)
{
  char **out = user_data;

  g_free (*out);
  *out = g_strdup (uri);
}

static gboolean
trusted_dialog_shown (gpointer data)
{
  return pst_test_find_toplevel (PST_TYPE_TRUSTED_DIALOG, NULL) != NULL;
}

static void
click (GtkWidget *button,
       guint     *clicks)
{
  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
  (*clicks)++;
}

static void
test_make_trusted (void)
{
  g_autofree char *nssdb = g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL);
  g_autofree char *sql = g_strconcat ("sql:", nssdb, NULL);
  g_autofree char *folder = g_build_filename (g_get_home_dir (), "Postern", NULL);
  g_autofree char *config_path = g_build_filename (folder, "gateway-config.xml", NULL);
  g_autofree char *ca_path = g_build_filename (folder, "devca.p12", NULL);
  g_autofree char *keystore_path = g_build_filename (folder, "keystore.db", NULL);
  g_autofree char *uri = NULL;
  g_autofree char *expected_uri = NULL;
  g_autofree char *port_text = NULL;
  g_autofree char *secure_port_text = NULL;
  g_autofree char *listing = NULL;
  g_autofree char *ca_name = NULL;
  g_autofree char *issuer = NULL;
  g_autofree char *echo = NULL;
  g_autofree char *page = NULL;
  g_autofree char *wss = NULL;
  g_autoptr(PstKeystore) ca_store = NULL;
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(GError) error = NULL;
  PstStoreEntry *entry;
  PstWindow *window;
  PstDocument *document;
  GtkListBox *pages_list;
  GtkWidget *row;
  guint16 port = pst_test_free_port (), secure_port = pst_test_free_port ();
  guint clicks = 0;

  g_assert_cmpint (g_mkdir_with_parents (nssdb, 0700), ==, 0);
  {
    const char *argv[] = { "certutil", "-N", "-d", sql, "--empty-password", NULL };
    g_free (pst_test_run_tool (g_get_home_dir (), argv));
  }
  pst_trusted_dialog_set_uri_launcher (uri_launched_cb, &uri);

  window = pst_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  pst_test_iterate (100);

  /* 1: New Configuration, on the window's empty page */
  click (pst_test_find_action_button (GTK_WIDGET (window), "win.new-document", TRUE), &clicks);
  document = pst_window_get_document (window);
  g_assert_nonnull (document);
  g_assert_null (pst_document_get_file (document));
  /* set-up, not a click: free ports instead of the shipped 8000 and 9000 */
  port_text = g_strdup_printf ("%u", port);
  secure_port_text = g_strdup_printf ("%u", secure_port);
  pst_config_set_property (pst_document_get_config (document), "gateway.port", port_text, &error);
  g_assert_no_error (error);
  pst_config_set_property (pst_document_get_config (document), "gateway.secure.port", secure_port_text, &error);
  g_assert_no_error (error);
  pst_test_iterate (50);

  /* 2: Trust, in the sidebar (what a click on the row does) */
  pages_list = pst_test_template_child (window, PST_TYPE_WINDOW, "pages_list");
  row = find_named (GTK_WIDGET (pages_list), "trust");
  g_assert_true (GTK_IS_LIST_BOX_ROW (row));
  gtk_list_box_select_row (pages_list, GTK_LIST_BOX_ROW (row));
  clicks++;
  pst_test_iterate (50);

  /* 3: Make It Trusted… on the Trust page */
  click (pst_test_find_action_button (pst_test_template_child (window, PST_TYPE_WINDOW, "trust_page"), "win.make-trusted", TRUE), &clicks);
  g_assert_true (pst_test_wait_for (trusted_dialog_shown, NULL, 5000));

  /* 4: Make It Trusted, in the dialog (browsers and run are ticked by default) */
  click (pst_test_template_child (pst_test_find_toplevel (PST_TYPE_TRUSTED_DIALOG, NULL), PST_TYPE_TRUSTED_DIALOG, "apply_button"), &clicks);
  g_assert_true (pst_test_wait_for (string_set, &uri, 60000));
  g_test_message ("%u clicks from New to opening %s", clicks, uri);
  g_assert_cmpuint (clicks, <=, 5);
  expected_uri = g_strdup_printf ("https://localhost:%u/", secure_port);
  g_assert_cmpstr (uri, ==, expected_uri);

  /* the files it made */
  g_assert_true (g_file_test (config_path, G_FILE_TEST_IS_REGULAR));
  {
    g_autoptr(GFile) saved = g_file_new_for_path (config_path);
    g_assert_true (g_file_equal (pst_document_get_file (document), saved));
  }
  ca_store = pst_keystore_open (ca_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pst_local_ca_find (ca_store));
  ca_name = pst_cert_dup_common_name (pst_store_entry_get_certificate (pst_local_ca_find (ca_store)));
  keystore = pst_keystore_open (keystore_path, NULL, &error);
  g_assert_no_error (error);
  entry = pst_keystore_lookup (keystore, "localhost");
  g_assert_nonnull (entry);
  g_assert_cmpint (pst_store_entry_get_kind (entry), ==, PST_ENTRY_KEY);
  g_assert_true (pst_store_entry_matches_host (entry, "localhost"));
  issuer = pst_store_entry_dup_issuer (entry);
  g_assert_nonnull (strstr (issuer, ca_name));
  {
    const char *argv[] = { "certutil", "-L", "-d", sql, NULL };
    listing = pst_test_run_tool (g_get_home_dir (), argv);
  }
  g_assert_nonnull (strstr (listing, ca_name));
  g_assert_nonnull (strstr (listing, "C,,"));

  /* the gateway the editor started answers, verified with the CA only */
  {
    const char *argv[] = { PST_TEST_POSTERN, "cert", "export", "devca.p12", "postern-dev-ca", "--out", "ca.pem", NULL };
    g_free (pst_test_run_tool (folder, argv));
  }
  {
    const char *argv[] = { "curl", "-sS", "--fail", "--max-time", "10", "--cacert", "ca.pem", uri, NULL };
    page = pst_test_run_tool (folder, argv);
    g_assert_nonnull (strstr (page, "<html"));
  }
  wss = g_strdup_printf ("wss://localhost:%u/echo", secure_port);
  {
    const char *script =
      "import asyncio, ssl, sys, websockets\n"
      "async def main():\n"
      "    context = ssl.create_default_context(cafile=sys.argv[2])\n"
      "    async with websockets.connect(sys.argv[1], ssl=context, open_timeout=10) as ws:\n"
      "        await ws.send('trusted in five clicks')\n"
      "        print(await asyncio.wait_for(ws.recv(), 10))\n"
      "asyncio.run(main())\n";
    const char *argv[] = { "/usr/bin/python3", "-c", script, wss, "ca.pem", NULL };
    echo = pst_test_run_tool (folder, argv);
  }
  g_assert_cmpstr (g_strstrip (echo), ==, "trusted in five clicks");

  pst_trusted_dialog_set_uri_launcher (NULL, NULL);
  gtk_window_destroy (GTK_WINDOW (window));
  pst_test_iterate (200);
  pst_test_remove_tree (folder);
  pst_test_remove_tree (nssdb);
}

/* A back-end the truststore does not trust (openssl s_server, a
 * certificate made by openssl): Trust… opens the fetch dialog on its
 * address, the fingerprint shown is the one openssl computes, and once
 * confirmed the report says the truststore trusts it. */

static gboolean
dialog_has_certificates (gpointer data)
{
  return pst_trust_dialog_get_n_certificates (data) > 0;
}

static gboolean
fetch_dialog_shown (gpointer data)
{
  return pst_test_find_toplevel (PST_TYPE_TRUST_DIALOG, NULL) != NULL;
}

/* TRUE if a row under widget has text in its subtitle */
static gboolean
has_subtitle_with (GtkWidget  *widget,
                   const char *text)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (ADW_IS_ACTION_ROW (child))
        {
          const char *subtitle = adw_action_row_get_subtitle (ADW_ACTION_ROW (child));
          g_autofree char *folded = g_ascii_strup (subtitle != NULL ? subtitle : "", -1);

          if (strstr (folded, text) != NULL)
            return TRUE;
        }
      if (has_subtitle_with (child, text))
        return TRUE;
    }
  return FALSE;
}

static void
test_backend_trust (void)
{
  Fixture fixture = { 0 }, *fx = &fixture;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PstDocument) document = NULL;
  g_autoptr(GFile) file = NULL;
  g_autoptr(PstKeystore) truststore = NULL;
  g_autofree char *xml = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *key = NULL;
  g_autofree char *fingerprint_line = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *truststore_path = NULL;
  PstTrustDialog *dialog;
  PstTrustRow *row;
  guint16 port = pst_test_free_port ();
  guint seen;
  const char *req[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", "backend.key", "-out", "backend.pem", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "30", NULL };
  const char *fp[] = { "openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", "backend.pem", NULL };

  fx->dir = pst_test_make_dir ("postern-trust-XXXXXX");
  fx->nssdb = g_build_filename (g_get_home_dir (), ".pki", "nssdb", NULL);
  g_free (pst_test_run_tool (fx->dir, req));
  fingerprint_line = pst_test_run_tool (fx->dir, fp);
  /* "sha256 Fingerprint=AB:CD:…" */
  g_assert_nonnull (strchr (fingerprint_line, '='));
  fingerprint = g_ascii_strup (g_strstrip (strchr (fingerprint_line, '=') + 1), -1);

  accept = g_strdup_printf ("127.0.0.1:%u", port);
  {
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                                                         G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                         G_SUBPROCESS_FLAGS_STDERR_SILENCE);
    g_subprocess_launcher_set_cwd (launcher, fx->dir);
    server = g_subprocess_launcher_spawn (launcher, &error, "openssl", "s_server", "-accept", accept,
                                          "-cert", "backend.pem", "-key", "backend.key", "-quiet", NULL);
    g_assert_no_error (error);
  }
  /* s_server listens within moments: wait until a TCP connect works */
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    gboolean up = FALSE;

    while (!up && g_get_monotonic_time () < end)
      {
        g_autoptr(GSocketClient) client = g_socket_client_new ();
        g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, accept, 0, NULL, NULL);

        up = connection != NULL;
        if (!up)
          pst_test_iterate (50);
      }
    g_assert_true (up);
  }

  xml = g_strdup_printf (
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <service>\n"
    "    <name>relay</name>\n"
    "    <accept>ws://localhost:%u/relay</accept>\n"
    "    <connect>ssl://127.0.0.1:%u</connect>\n"
    "    <type>proxy</type>\n"
    "  </service>\n"
    "  <security>\n"
    "    <truststore><type>PKCS12</type><file>truststore.p12</file><password-file>truststore.pw</password-file></truststore>\n"
    "  </security>\n"
    "</gateway-config>\n", pst_test_free_port (), port);
  fx->config = g_build_filename (fx->dir, "gateway-config.xml", NULL);
  g_file_set_contents (fx->config, xml, -1, &error);
  g_assert_no_error (error);
  file = g_file_new_for_path (fx->config);
  document = pst_document_new_for_file (file, &error);
  g_assert_no_error (error);
  fx->window = pst_window_new (NULL);
  pst_window_set_document (fx->window, document);
  gtk_window_present (GTK_WINDOW (fx->window));
  fx->page = pst_test_template_child (fx->window, PST_TYPE_WINDOW, "trust_page");
  g_signal_connect (fx->page, "notify::busy", G_CALLBACK (busy_changed_cb), fx);

  pst_window_show_page (fx->window, "trust");
  wait_report (fx, 0);
  key = g_strdup_printf ("backend:%s:trusted", accept);
  row = row_for (fx->page, key);
  g_assert_nonnull (row);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_FAIL);
  g_assert_cmpint (pst_trust_fix_classify (pst_trust_row_get_fix (row)), ==, PST_TRUST_FIX_FETCH);

  /* Trust…: the fetch dialog, on the back-end's address */
  seen = fx->refreshes;
  click_fix (fx, key);
  g_assert_true (pst_test_wait_for (fetch_dialog_shown, NULL, 5000));
  dialog = pst_test_find_toplevel (PST_TYPE_TRUST_DIALOG, NULL);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "trust.fetch", NULL));
  g_assert_true (pst_test_wait_for (dialog_has_certificates, dialog, 15000));
  g_assert_cmpuint (pst_trust_dialog_get_n_certificates (dialog), ==, 1);
  /* the fingerprint to compare is on screen, as openssl computes it */
  g_assert_true (has_subtitle_with (GTK_WIDGET (dialog), fingerprint));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (dialog), "trust.confirm", NULL));
  wait_report (fx, seen);
  row = row_for (fx->page, key);
  g_assert_cmpint (pst_trust_row_get_status (row), ==, PST_TRUST_STATUS_OK);
  truststore_path = g_build_filename (fx->dir, "truststore.p12", NULL);
  truststore = pst_keystore_open (truststore_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pst_keystore_get_n_entries (truststore), ==, 1);

  g_subprocess_force_exit (server);
  g_subprocess_wait (server, NULL, NULL);
  g_signal_handlers_disconnect_by_data (fx->page, fx);
  gtk_window_destroy (GTK_WINDOW (fx->window));
  pst_test_iterate (50);
  pst_test_remove_tree (fx->dir);
  g_free (fx->dir);
  g_free (fx->config);
  g_free (fx->nssdb);
}

static gboolean
nss_has_any_cert (gpointer data)
{
  g_autofree char *sql = g_strconcat ("sql:", (const char *) data, NULL);
  const char *argv[] = { "certutil", "-L", "-d", sql, NULL };
  g_autofree char *out = pst_test_run_tool (g_get_home_dir (), argv);

  return strstr (out, "C,,") != NULL;
}

/* Closing never waits for, or trips over, work still running: the
 * window goes while the doctor runs, and while a fix runs. */
static void
test_close_while_busy (Fixture       *fx,
                       gconstpointer  data)
{
  g_autofree char *nss_key = g_strconcat ("nss:", fx->nssdb, NULL);
  PstWindow *window;

  pst_window_show_page (fx->window, "trust");
  g_assert_true (pst_trust_page_get_busy (fx->page));
  /* a second window on the same document, closed while its doctor runs */
  window = pst_window_new (NULL);
  pst_window_set_document (window, pst_window_get_document (fx->window));
  gtk_window_present (GTK_WINDOW (window));
  pst_window_show_page (window, "trust");
  g_assert_true (pst_trust_page_get_busy (pst_test_template_child (window, PST_TYPE_WINDOW, "trust_page")));
  gtk_window_destroy (GTK_WINDOW (window));

  /* the first one: closed while its NSS install runs; the install
   * (a worker thread) still ends, and nobody is called back */
  wait_report (fx, 0);
  click_fix (fx, nss_key);
  g_assert_true (pst_trust_page_get_busy (fx->page));
  g_signal_handlers_disconnect_by_data (fx->page, fx);
  gtk_window_destroy (GTK_WINDOW (fx->window));
  fx->window = NULL;
  g_assert_true (pst_test_wait_for (nss_has_any_cert, fx->nssdb, 30000));
  pst_test_iterate (200);
}

int
main (int argc, char **argv)
{
  int status;

  /* G_TEST_OPTION_ISOLATE_DIRS moves the XDG folders, not HOME, and the NSS
   * databases live under HOME: set it before GLib reads it */
  scratch_home = g_dir_make_tmp ("postern-trust-home-XXXXXX", NULL);
  g_assert_nonnull (scratch_home);
  g_setenv ("HOME", scratch_home, TRUE);

  pst_test_init (&argc, &argv);

  g_test_add_func ("/editor-trust/fix-classify", test_fix_classify);
  g_test_add_func ("/editor-trust/never-blocks", test_never_blocks);
  g_test_add_func ("/editor-trust/make-trusted", test_make_trusted);
  g_test_add ("/editor-trust/page-fixes", Fixture, NULL, fixture_setup, test_page_fixes, fixture_teardown);
  g_test_add_func ("/editor-trust/backend-trust", test_backend_trust);
  g_test_add ("/editor-trust/close-while-busy", Fixture, NULL, fixture_setup, test_close_while_busy,
              fixture_teardown);
  g_test_add ("/editor-trust/root-needs-consent", Fixture, NULL, fixture_setup, test_root_needs_consent,
              fixture_teardown);
  status = g_test_run ();
  {
    g_autofree char *pki = g_build_filename (scratch_home, ".pki", NULL);
    pst_test_remove_tree (pki);
    pst_test_remove_tree (scratch_home);
  }
  g_free (scratch_home);
  return status;
}
