/* pst-metrics-render.c: the figures in the Prometheus text exposition format 0.0.4
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pst-keystore.h"
#include "pst-linger.h"
#include "pst-metrics.h"
#include "pst-poller.h"
#include "pst-process-stats.h"
#include "pst-runtime.h"
#include "pst-stream-pump.h"

char *
pst_metrics_escape_label (const char *value)
{
  GString *out = g_string_new (NULL);

  for (const char *p = value ? value : ""; *p != '\0'; p++)
    switch (*p)
      {
      case '\\': g_string_append (out, "\\\\"); break;
      case '"':  g_string_append (out, "\\\""); break;
      case '\n': g_string_append (out, "\\n"); break;
      default:   g_string_append_c (out, *p); break;
      }
  return g_string_free (out, FALSE);
}

static void
family (GString *out, const char *name, const char *type, const char *help)
{
  /* help texts are ours: no backslash or newline to escape */
  g_string_append_printf (out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
append_double (GString *out, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (out, g_ascii_dtostr (buf, sizeof buf, value));
}

static void
sample_u64 (GString *out, const char *name, const char *labels, guint64 value)
{
  g_string_append_printf (out, "%s%s%s%s %" G_GUINT64_FORMAT "\n",
                          name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "", value);
}

static void
sample_double (GString *out, const char *name, const char *labels, double value)
{
  g_string_append_printf (out, "%s%s%s%s ", name, labels ? "{" : "", labels ? labels : "", labels ? "}" : "");
  append_double (out, value);
  g_string_append_c (out, '\n');
}

static const PstServiceFigures zero_figures;

typedef struct {
  char                    *name;
  char                    *label;     /* service="…", escaped */
  const PstServiceFigures *figures;   /* zero_figures when none yet */
  gboolean                 proxy;
} Row;

static void
row_free (Row *row)
{
  g_free (row->name);
  g_free (row->label);
  g_free (row);
}

static int
row_compare (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Row * const *) a)->name, (*(Row * const *) b)->name);
}

/* Every service of the running config (at zero until it sees a client)
 * and every one that had clients under an earlier config, once each. */
static GPtrArray *
collect_rows (const PstMetricsData *data, PstRuntime *runtime)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) row_free);
  PstConfig *config = runtime ? pst_runtime_get_config (runtime) : NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, data->services);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Row *row = g_new0 (Row, 1);
      g_autofree char *escaped = pst_metrics_escape_label (key);

      row->name = g_strdup (key);
      row->label = g_strdup_printf ("service=\"%s\"", escaped);
      row->figures = value;
      row->proxy = ((const PstServiceFigures *) value)->latency_count > 0 ||
                   ((const PstServiceFigures *) value)->connect_failures > 0;
      g_ptr_array_add (rows, row);
    }
  for (guint s = 0; config != NULL && s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);
      const char *name = pst_service_get_name (service) ? pst_service_get_name (service) : "";
      gboolean proxy = pst_service_get_n_connects (service) > 0;
      Row *row = NULL;

      for (guint r = 0; r < rows->len && row == NULL; r++)
        if (g_str_equal (((Row *) rows->pdata[r])->name, name))
          row = rows->pdata[r];
      if (row == NULL)
        {
          g_autofree char *escaped = pst_metrics_escape_label (name);

          row = g_new0 (Row, 1);
          row->name = g_strdup (name);
          row->label = g_strdup_printf ("service=\"%s\"", escaped);
          row->figures = &zero_figures;
          g_ptr_array_add (rows, row);
        }
      row->proxy |= proxy;
    }
  g_ptr_array_sort (rows, row_compare);
  return rows;
}

static int
code_compare (gconstpointer a, gconstpointer b)
{
  guint x = GPOINTER_TO_UINT (*(gpointer const *) a), y = GPOINTER_TO_UINT (*(gpointer const *) b);

  return x < y ? -1 : x > y;
}

static void
render_services (GString *out, GPtrArray *rows)
{
  family (out, "postern_connections_open", "gauge", "Client connections open now, per service.");
  for (guint r = 0; r < rows->len; r++)
    {
      const Row *row = rows->pdata[r];
      sample_u64 (out, "postern_connections_open", row->label,
                  row->figures->opened - MIN (row->figures->closed, row->figures->opened));
    }
  family (out, "postern_connections_total", "counter", "Client connections served, per service.");
  for (guint r = 0; r < rows->len; r++)
    sample_u64 (out, "postern_connections_total", ((Row *) rows->pdata[r])->label,
                ((Row *) rows->pdata[r])->figures->opened);
  family (out, "postern_received_bytes_total", "counter",
          "Bytes received from clients, per service, counted when a connection closes.");
  for (guint r = 0; r < rows->len; r++)
    sample_u64 (out, "postern_received_bytes_total", ((Row *) rows->pdata[r])->label,
                ((Row *) rows->pdata[r])->figures->bytes_in);
  family (out, "postern_sent_bytes_total", "counter",
          "Bytes sent to clients, per service, counted when a connection closes.");
  for (guint r = 0; r < rows->len; r++)
    sample_u64 (out, "postern_sent_bytes_total", ((Row *) rows->pdata[r])->label,
                ((Row *) rows->pdata[r])->figures->bytes_out);

  family (out, "postern_websocket_closes_total", "counter",
          "WebSocket sessions closed, per service and close code.");
  for (guint r = 0; r < rows->len; r++)
    {
      const Row *row = rows->pdata[r];
      g_autoptr(GPtrArray) codes = NULL;

      if (row->figures->close_codes == NULL)
        continue;
      {
        /* (g_hash_table_get_keys_as_ptr_array is GLib 2.76) */
        g_autoptr(GList) keys = g_hash_table_get_keys (row->figures->close_codes);

        codes = g_ptr_array_new ();
        for (GList *l = keys; l != NULL; l = l->next)
          g_ptr_array_add (codes, l->data);
      }
      g_ptr_array_sort (codes, code_compare);
      for (guint c = 0; c < codes->len; c++)
        {
          g_autofree char *labels = g_strdup_printf ("%s,code=\"%u\"", row->label,
                                                     GPOINTER_TO_UINT (codes->pdata[c]));
          guint64 *n = g_hash_table_lookup (row->figures->close_codes, codes->pdata[c]);
          sample_u64 (out, "postern_websocket_closes_total", labels, *n);
        }
    }

  family (out, "postern_backend_connect_duration_seconds", "histogram",
          "Time to connect to a back-end (TCP, TLS and WebSocket handshakes), per proxy service.");
  for (guint r = 0; r < rows->len; r++)
    {
      const Row *row = rows->pdata[r];
      guint64 cumulative = 0;
      g_autofree char *inf = g_strdup_printf ("%s,le=\"+Inf\"", row->label);

      if (!row->proxy)
        continue;
      for (guint b = 0; b < PST_METRICS_N_BUCKETS; b++)
        {
          char bound[G_ASCII_DTOSTR_BUF_SIZE];
          g_autofree char *labels = NULL;

          cumulative += row->figures->latency_buckets[b];
          /* "0.0025", not dtostr's round-trip "0.0025000000000000001" */
          g_ascii_formatd (bound, sizeof bound, "%g", pst_metrics_latency_bounds[b]);
          labels = g_strdup_printf ("%s,le=\"%s\"", row->label, bound);
          sample_u64 (out, "postern_backend_connect_duration_seconds_bucket", labels, cumulative);
        }
      sample_u64 (out, "postern_backend_connect_duration_seconds_bucket", inf, row->figures->latency_count);
      sample_double (out, "postern_backend_connect_duration_seconds_sum", row->label, row->figures->latency_sum);
      sample_u64 (out, "postern_backend_connect_duration_seconds_count", row->label, row->figures->latency_count);
    }
  family (out, "postern_backend_connect_failures_total", "counter",
          "Back-end connections that could not be made (refused, timed out, TLS refused), per proxy service.");
  for (guint r = 0; r < rows->len; r++)
    if (((Row *) rows->pdata[r])->proxy)
      sample_u64 (out, "postern_backend_connect_failures_total", ((Row *) rows->pdata[r])->label,
                  ((Row *) rows->pdata[r])->figures->connect_failures);
}

static void
render_certificates (GString *out, PstRuntime *runtime)
{
  PstKeystore *keystore = runtime ? pst_runtime_get_keystore (runtime) : NULL;
  guint n = keystore ? pst_keystore_get_n_entries (keystore) : 0;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) after = g_array_new (FALSE, FALSE, sizeof (gint64));
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = 0; i < n; i++)
    {
      PstStoreEntry *entry = pst_keystore_get_entry (keystore, i);
      GDateTime *not_after = pst_store_entry_get_not_after (entry);
      const char *alias = pst_store_entry_get_alias (entry);
      g_autofree char *escaped = NULL;
      gint64 when;

      if (not_after == NULL || alias == NULL || g_hash_table_contains (seen, alias))
        continue;
      g_hash_table_add (seen, (gpointer) alias);
      escaped = pst_metrics_escape_label (alias);
      g_ptr_array_add (labels, g_strdup_printf ("alias=\"%s\"", escaped));
      when = g_date_time_to_unix (not_after);
      g_array_append_val (after, when);
    }
  family (out, "postern_certificate_expiry_seconds", "gauge",
          "Seconds until the keystore entry's certificate expires (negative: expired).");
  for (guint i = 0; i < labels->len; i++)
    g_string_append_printf (out, "postern_certificate_expiry_seconds{%s} %" G_GINT64_FORMAT "\n",
                            (char *) labels->pdata[i], g_array_index (after, gint64, i) - now);
  family (out, "postern_certificate_not_after_timestamp_seconds", "gauge",
          "The keystore entry's certificate notAfter, in seconds since the Unix epoch.");
  for (guint i = 0; i < labels->len; i++)
    g_string_append_printf (out, "postern_certificate_not_after_timestamp_seconds{%s} %" G_GINT64_FORMAT "\n",
                            (char *) labels->pdata[i], g_array_index (after, gint64, i));
}

/* Totals under the names a single process has always used, so that
 * dashboards keep working: memory and descriptors summed over the
 * gateway's processes, CPU too (with the master's waited-for children:
 * workers gone, so that the counter never goes back); then, for a master's
 * gateway, each process on its own. */
static void
render_process (GString *out, const PstMetricsData *data, gboolean draining,
                const PstMetricsProcess *processes, guint n_processes)
{
  struct rlimit rl;
  PstProcessStats total = { 0 };
  g_autofree PstProcessStats *each = g_new0 (PstProcessStats, MAX (n_processes, 1));
  g_autofree gboolean *read = g_new0 (gboolean, MAX (n_processes, 1));
  const char *names[] = { "postern_processes_open_fds", "postern_processes_resident_memory_bytes",
                          "postern_processes_cpu_seconds_total" };
  const char *helps[] = { "Open file descriptors of each of the gateway's processes.",
                          "Resident memory of each of the gateway's processes.",
                          "User and system CPU time of each of the gateway's processes." };

  if (n_processes == 0)
    {
      pst_process_stats_read (0, &total);
      total.cpu_seconds += total.children_cpu_seconds;
    }
  for (guint i = 0; i < n_processes; i++)
    {
      read[i] = pst_process_stats_read (processes[i].pid, &each[i]);
      total.open_fds += each[i].open_fds;
      total.resident_bytes += each[i].resident_bytes;
      total.cpu_seconds += each[i].cpu_seconds + (i == 0 ? each[i].children_cpu_seconds : 0);
    }

  family (out, "postern_reloads_total", "counter", "Configuration reloads (SIGHUP), by outcome.");
  sample_u64 (out, "postern_reloads_total", "outcome=\"success\"", data->reloads_success);
  sample_u64 (out, "postern_reloads_total", "outcome=\"failure\"", data->reloads_failure);
  family (out, "postern_last_reload_timestamp_seconds", "gauge",
          "When the last reload was attempted, in seconds since the Unix epoch (0: never).");
  sample_u64 (out, "postern_last_reload_timestamp_seconds", NULL, (guint64) MAX (data->last_reload_unix, 0));
  family (out, "postern_draining", "gauge", "1 while the gateway is stopping, else 0.");
  sample_u64 (out, "postern_draining", NULL, draining ? 1 : 0);
  family (out, "postern_process_open_fds", "gauge",
          "Open file descriptors of the gateway's processes (master and workers), summed.");
  sample_u64 (out, "postern_process_open_fds", NULL, total.open_fds);
  family (out, "postern_lingering_closes", "gauge",
          "Sockets in a lingering close: our end sent, the peer's last bytes read and dropped until its end "
          "(one descriptor each).");
  sample_u64 (out, "postern_lingering_closes", NULL, pst_linger_get_n_open ());
  family (out, "postern_lingering_closes_cut_total", "counter",
          "Lingering closes ended by their idle or total time, or the count bound, not by the peer's end.");
  sample_u64 (out, "postern_lingering_closes_cut_total", NULL, pst_linger_get_n_cut ());
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    {
      family (out, "postern_process_max_fds", "gauge",
              "Each gateway process's limit of open file descriptors.");
      sample_u64 (out, "postern_process_max_fds", NULL, (guint64) rl.rlim_cur);
    }
  family (out, "postern_process_resident_memory_bytes", "gauge",
          "Resident memory of the gateway's processes (master and workers), summed.");
  sample_u64 (out, "postern_process_resident_memory_bytes", NULL, total.resident_bytes);
  family (out, "postern_process_cpu_seconds_total", "counter",
          "User and system CPU time of the gateway's processes, the workers gone included.");
  sample_double (out, "postern_process_cpu_seconds_total", NULL, total.cpu_seconds);
  family (out, "postern_process_start_time_seconds", "gauge",
          "When the gateway process started, in seconds since the Unix epoch.");
  sample_u64 (out, "postern_process_start_time_seconds", NULL, (guint64) MAX (data->start_unix, 0));
  if (n_processes == 0)
    return;
  family (out, "postern_processes", "gauge", "The gateway's processes now: the master and its workers.");
  sample_u64 (out, "postern_processes", NULL, n_processes);
  for (guint f = 0; f < G_N_ELEMENTS (names); f++)
    {
      family (out, names[f], f == 2 ? "counter" : "gauge", helps[f]);
      for (guint i = 0; i < n_processes; i++)
        {
          g_autofree char *escaped = NULL;
          g_autofree char *labels = NULL;

          if (!read[i])
            continue;   /* gone since the list was made */
          escaped = pst_metrics_escape_label (processes[i].label);
          labels = g_strdup_printf ("process=\"%s\",pid=\"%d\"", escaped, processes[i].pid);
          if (f == 0)
            sample_u64 (out, names[f], labels, each[i].open_fds);
          else if (f == 1)
            sample_u64 (out, names[f], labels, each[i].resident_bytes);
          else
            sample_double (out, names[f], labels, each[i].cpu_seconds);
        }
    }
}

/* The main loop of the context answering (the gateway's): what one of its
 * iterations walks should not grow with idle connections (issue 10). */
static void
render_event_loop (GString *out)
{
  PstPoller *poller = pst_poller_get_default ();
  PstPollerStats stats;

  pst_poller_get_stats (poller, &stats);
  family (out, "postern_event_sources", "gauge",
          "GSources attached to the gateway's main context (each is visited at every loop iteration).");
  sample_u64 (out, "postern_event_sources", NULL, pst_poller_count_context_sources (poller));
  family (out, "postern_event_watches", "gauge",
          "Sockets waited on through the gateway's epoll set (visited only when ready).");
  sample_u64 (out, "postern_event_watches", NULL, stats.registered);
  family (out, "postern_event_timers", "gauge", "Connection timers on the gateway's timer heap.");
  sample_u64 (out, "postern_event_timers", NULL, stats.timers);
  family (out, "postern_event_gio_waits_total", "counter",
          "Waits handed to GIO's sources because a stream would block on a ready socket.");
  sample_u64 (out, "postern_event_gio_waits_total", NULL, pst_stream_pump_get_n_gio_waits ());
}

void
pst_metrics_render_data (GString *out, const PstMetricsData *data, gboolean draining, PstRuntime *runtime)
{
  pst_metrics_render_data_for (out, data, draining, runtime, NULL, 0);
}

void
pst_metrics_render_data_for (GString *out, const PstMetricsData *data, gboolean draining, PstRuntime *runtime,
                             const PstMetricsProcess *processes, guint n_processes)
{
  g_autoptr(GPtrArray) rows = collect_rows (data, runtime);

  render_services (out, rows);
  family (out, "postern_tls_handshake_failures_total", "counter",
          "TLS handshakes that failed, by leg (client, backend) and cause.");
  for (guint l = 0; l < PST_TLS_N_LEGS; l++)
    for (guint f = 0; f < PST_TLS_N_FAILURES; f++)
      {
        g_autofree char *labels = g_strdup_printf ("leg=\"%s\",cause=\"%s\"",
                                                   pst_tls_leg_label (l), pst_tls_failure_label (f));
        sample_u64 (out, "postern_tls_handshake_failures_total", labels, data->tls_failures[l][f]);
      }
  render_certificates (out, runtime);
  render_process (out, data, draining, processes, n_processes);
  render_event_loop (out);
}

void
pst_metrics_render_workers (GString *out, guint up, guint wanted)
{
  family (out, "postern_workers", "gauge", "Worker processes the master runs (--workers).");
  sample_u64 (out, "postern_workers", NULL, wanted);
  family (out, "postern_workers_up", "gauge", "Worker processes accepting connections now.");
  sample_u64 (out, "postern_workers_up", NULL, up);
}
