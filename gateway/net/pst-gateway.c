/* pst-gateway.c: the running gateway: listeners keyed by bind address, and the current snapshot
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <glib/gi18n-lib.h>

#ifdef __GLIBC__   /* (defined by the libc headers string.h brought in) */
#include <malloc.h>
#endif

#include "pst-conn-limits.h"
#include "pst-gateway.h"
#include "pst-linger.h"
#include "pst-listen-plan.h"
#include "pst-listener.h"
#include "pst-stream-pump.h"
#include "pst-systemd.h"

struct _PstGateway
{
  GObject     parent_instance;
  PstRuntime *runtime;
  GHashTable *listeners;   /* key → PstListener */
  GPtrArray  *retired;     /* PstListener dropped by a reload, until their connections end */
  GPtrArray  *urls;
  PstConnLimits *limits;   /* open connections, all listeners, old and new */
  PstMetrics *metrics;     /* for the gateway's life: reloads keep the counts */
  GPtrArray  *inherited;   /* GSocket from socket activation, used instead of binding */
  gulong      released_id;
  guint       closed_since_trim;
  guint       trim_id;
  gboolean    bind_only;   /* a master's: binds and validates, its workers accept */
  /* A master's tentative apply: the set in force before it, still bound
   * until its new workers accept (confirm) or fail (revert). */
  GHashTable *kept_listeners;
  PstRuntime *kept_runtime;
  GPtrArray  *kept_urls;
};

/* glibc keeps what a burst of connections freed in its heaps (buffers of
 * 16-64 KiB sit below its mmap threshold, and one live block near the top
 * pins everything under it): after 1,000 clients vanish the RSS would stay
 * at its peak.  malloc_trim() hands the free pages back.  It runs once the
 * burst has settled, at most every TRIM_DELAY_S, after enough closes to be
 * worth a walk of the heaps. */
#define TRIM_AFTER_CLOSES 256
#define TRIM_DELAY_S      2

G_DEFINE_TYPE (PstGateway, pst_gateway, G_TYPE_OBJECT)

static void
pst_gateway_dispose (GObject *object)
{
  PstGateway *self = PST_GATEWAY (object);

  pst_gateway_stop (self);
  g_clear_handle_id (&self->trim_id, g_source_remove);
  if (self->limits != NULL)
    g_clear_signal_handler (&self->released_id, self->limits);
  g_clear_pointer (&self->listeners, g_hash_table_unref);
  g_clear_pointer (&self->kept_listeners, g_hash_table_unref);
  g_clear_object (&self->kept_runtime);
  g_clear_pointer (&self->kept_urls, g_ptr_array_unref);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_clear_pointer (&self->urls, g_ptr_array_unref);
  g_clear_object (&self->limits);
  g_clear_object (&self->runtime);
  g_clear_object (&self->metrics);
  g_clear_pointer (&self->inherited, g_ptr_array_unref);
  G_OBJECT_CLASS (pst_gateway_parent_class)->dispose (object);
}

static void
pst_gateway_class_init (PstGatewayClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pst_gateway_dispose;
}

static gboolean
trim_cb (gpointer user_data)
{
  PstGateway *self = user_data;

  self->trim_id = 0;
  self->closed_since_trim = 0;
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  return G_SOURCE_REMOVE;
}

/* A connection closed: after a burst of closes, give the memory back. */
static void
released_cb (PstConnLimits *limits,
             PstGateway    *self)
{
  /* (the source holds no reference: dispose removes it) */
  if (++self->closed_since_trim >= TRIM_AFTER_CLOSES && self->trim_id == 0)
    self->trim_id = g_timeout_add_seconds (TRIM_DELAY_S, trim_cb, self);
}

static void
pst_gateway_init (PstGateway *self)
{
  struct rlimit rl;
  guint max = 10000;

  /* Two descriptors per proxied connection, and some to spare. */
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
    max = rl.rlim_cur > 128 ? (guint) MIN ((rl.rlim_cur - 64) / 2, G_MAXUINT) : 32;
  self->limits = pst_conn_limits_new (max);
  self->released_id = g_signal_connect (self->limits, "released", G_CALLBACK (released_cb), self);
  self->listeners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->retired = g_ptr_array_new_with_free_func (g_object_unref);
  self->metrics = pst_metrics_new ();
}

PstGateway *
pst_gateway_new (void)
{
  return g_object_new (PST_TYPE_GATEWAY, NULL);
}

typedef struct {
  char      *key;
  gboolean   tls;
  GList     *addresses;   /* GSocketAddress */
  GPtrArray *routes;      /* PstRoute */
  GTlsAuthenticationMode client_auth;   /* the group's agreed ssl.verify-client */
} Plan;

static void
plan_free (Plan *plan)
{
  g_free (plan->key);
  g_list_free_full (plan->addresses, g_object_unref);
  g_ptr_array_unref (plan->routes);
  g_free (plan);
}

void
pst_gateway_set_inherited_sockets (PstGateway *self, GPtrArray *sockets)
{
  g_clear_pointer (&self->inherited, g_ptr_array_unref);
  self->inherited = sockets ? g_ptr_array_ref (sockets) : NULL;
}

static gboolean
same_address (GSocketAddress *a, GSocketAddress *b)
{
  return G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b) &&
         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)) ==
         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b)) &&
         g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                               g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
}

/* The inherited socket already bound to ADDRESS, if any. */
static GSocket *
find_inherited (PstGateway *self, GSocketAddress *address)
{
  for (guint i = 0; self->inherited != NULL && i < self->inherited->len; i++)
    {
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (self->inherited->pdata[i], NULL);

      if (local != NULL && same_address (local, address))
        return self->inherited->pdata[i];
    }
  return NULL;
}

/* Every socket the service manager passed must serve an accept URL:
 * one left over is a .socket unit and a config that disagree. */
static gboolean
check_inherited (PstGateway *self, GPtrArray *order, GError **error);

/* Listeners of FROM that STILL lacks stop accepting; their connections
 * go on with their snapshot, kept until they end so that a stop can
 * still close them. */
static void
retire_missing (PstGateway *self, GHashTable *from, GHashTable *still)
{
  GHashTableIter iter;
  gpointer k, v;

  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (!g_hash_table_contains (still, k))
      {
        pst_listener_stop (v);
        g_ptr_array_add (self->retired, g_object_ref (v));
      }
  for (guint i = self->retired->len; i > 0; i--)
    if (pst_listener_get_n_connections (self->retired->pdata[i - 1]) == 0)
      g_ptr_array_remove_index_fast (self->retired, i - 1);
}

static gboolean
apply (PstGateway *self, PstRuntime *runtime, gboolean tentative, GError **error)
{
  PstConfig *config = pst_runtime_get_config (runtime);
  g_autoptr(PstListenPlan) listen_plan = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new_with_free_func ((GDestroyNotify) plan_free);
  g_autoptr(GHashTable) next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *all_routes;

  /* Connections count into the gateway's figures, kept across reloads. */
  pst_runtime_set_metrics (runtime, self->metrics);
  /* The same plan `postern check` validates: one listener per resolved
   * address set, its TLS settings agreed by every route on it.  Each
   * route's handler (and whether its type can be served at all) is decided
   * once, in pst_route_new. */
  listen_plan = pst_listen_plan_new (config, PST_LISTEN_PLAN_RESOLVE);
  if (!pst_listen_plan_check (listen_plan, error))
    return FALSE;
  for (guint g = 0; g < pst_listen_plan_get_n_groups (listen_plan); g++)
    {
      const PstListenGroup *group = pst_listen_plan_get_group (listen_plan, g);
      Plan *plan = g_new0 (Plan, 1);

      plan->key = g_strdup (group->key);
      plan->tls = group->tls;
      if (g_strcmp0 (group->settings.verify_client, "required") == 0)
        plan->client_auth = G_TLS_AUTHENTICATION_REQUIRED;
      else if (g_strcmp0 (group->settings.verify_client, "optional") == 0)
        plan->client_auth = G_TLS_AUTHENTICATION_REQUESTED;
      else
        plan->client_auth = G_TLS_AUTHENTICATION_NONE;
      plan->addresses = g_list_copy_deep (group->addresses, (GCopyFunc) (void (*) (void)) g_object_ref, NULL);
      plan->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) pst_route_free);
      for (guint r = 0; r < group->routes->len; r++)
        {
          PstListenRoute *planned = group->routes->pdata[r];
          PstRoute *route = pst_route_new (planned->service, pst_url_copy (planned->url),
                                           planned->tls, error);

          if (route == NULL)
            {
              plan_free (plan);
              return FALSE;
            }
          g_ptr_array_add (plan->routes, route);
        }
      g_ptr_array_add (order, plan);
    }
  all_routes = pst_listen_plan_get_routes (listen_plan);
  for (guint r = 0; r < all_routes->len; r++)
    g_ptr_array_add (urls, pst_url_to_string (((PstListenRoute *) all_routes->pdata[r])->url));

  if (!check_inherited (self, order, error))
    return FALSE;

  /* Bind what is new first, so that a failure leaves the running set alone. */
  for (guint i = 0; i < order->len; i++)
    {
      Plan *plan = order->pdata[i];
      PstListener *listener = g_hash_table_lookup (self->listeners, plan->key);

      if (listener != NULL)
        {
          g_hash_table_insert (next, g_strdup (plan->key), g_object_ref (listener));
          continue;
        }
      listener = pst_listener_new (plan->key, plan->tls);
      pst_listener_set_limits (listener, self->limits);
      g_hash_table_insert (next, g_strdup (plan->key), listener);
      for (GList *l = plan->addresses; l != NULL; l = l->next)
        if (find_inherited (self, l->data) != NULL
            ? !pst_listener_add_socket (listener, find_inherited (self, l->data), error)
            : !pst_listener_add_address (listener, l->data, error))
          {
            /* Unbind what this attempt bound; keep the running ones. */
            GHashTableIter iter;
            gpointer k, v;
            g_hash_table_iter_init (&iter, next);
            while (g_hash_table_iter_next (&iter, &k, &v))
              if (!g_hash_table_contains (self->listeners, k))
                pst_listener_stop (v);
            return FALSE;
          }
    }

  /* Commit: new connections get the new snapshot; established ones keep
   * theirs.  Tentative: the previous set stays bound beside the new one. */
  if (tentative)
    {
      self->kept_listeners = g_hash_table_ref (self->listeners);
      self->kept_runtime = self->runtime != NULL ? g_object_ref (self->runtime) : NULL;
      self->kept_urls = self->urls != NULL ? g_ptr_array_ref (self->urls) : NULL;
    }
  else
    retire_missing (self, self->listeners, next);
  for (guint i = 0; i < order->len; i++)
    {
      Plan *plan = order->pdata[i];
      PstListener *listener = g_hash_table_lookup (next, plan->key);
      gboolean is_new = !g_hash_table_contains (self->listeners, plan->key);

      pst_listener_set_snapshot (listener, runtime, plan->routes);
      pst_listener_set_client_auth (listener, plan->client_auth);
      if (is_new && !self->bind_only)
        pst_listener_start (listener);
    }
  g_hash_table_unref (self->listeners);
  self->listeners = g_steal_pointer (&next);
  g_set_object (&self->runtime, runtime);
  g_clear_pointer (&self->urls, g_ptr_array_unref);
  self->urls = g_steal_pointer (&urls);
  return TRUE;
}

gboolean
pst_gateway_apply (PstGateway *self, PstRuntime *runtime, GError **error)
{
  g_return_val_if_fail (PST_IS_GATEWAY (self), FALSE);
  /* A tentative apply pending: this one settles it. */
  pst_gateway_confirm (self);
  return apply (self, runtime, FALSE, error);
}

gboolean
pst_gateway_apply_tentative (PstGateway *self, PstRuntime *runtime, GError **error)
{
  g_return_val_if_fail (PST_IS_GATEWAY (self), FALSE);
  g_return_val_if_fail (self->bind_only, FALSE);
  pst_gateway_confirm (self);
  return apply (self, runtime, TRUE, error);
}

void
pst_gateway_confirm (PstGateway *self)
{
  g_return_if_fail (PST_IS_GATEWAY (self));
  if (self->kept_listeners == NULL)
    return;
  retire_missing (self, self->kept_listeners, self->listeners);
  g_clear_pointer (&self->kept_listeners, g_hash_table_unref);
  g_clear_object (&self->kept_runtime);
  g_clear_pointer (&self->kept_urls, g_ptr_array_unref);
}

void
pst_gateway_revert (PstGateway *self)
{
  GHashTableIter iter;
  gpointer k, v;

  g_return_if_fail (PST_IS_GATEWAY (self));
  if (self->kept_listeners == NULL)
    return;
  /* Bind-only: no connection on them; what the previous set shares with
   * the new one was bound once and stays. */
  g_hash_table_iter_init (&iter, self->listeners);
  while (g_hash_table_iter_next (&iter, &k, &v))
    if (!g_hash_table_contains (self->kept_listeners, k))
      pst_listener_stop (v);
  g_hash_table_unref (self->listeners);
  self->listeners = g_steal_pointer (&self->kept_listeners);
  g_clear_object (&self->runtime);
  self->runtime = g_steal_pointer (&self->kept_runtime);
  g_clear_pointer (&self->urls, g_ptr_array_unref);
  self->urls = g_steal_pointer (&self->kept_urls);
}

static gboolean
check_inherited (PstGateway *self, GPtrArray *order, GError **error)
{
  for (guint i = 0; self->inherited != NULL && i < self->inherited->len; i++)
    {
      GSocket *socket = self->inherited->pdata[i];
      g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);
      gboolean used = FALSE;

      for (guint p = 0; p < order->len && !used; p++)
        for (GList *l = ((Plan *) order->pdata[p])->addresses; l != NULL && !used; l = l->next)
          used = local != NULL && same_address (local, l->data);
      if (!used)
        {
          g_autofree char *what = pst_systemd_describe_socket (socket);

          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                       _("the inherited listening socket %s matches no accept URL of the configuration: "
                         "add an accept URL on that address and port, or remove it from the .socket unit"),
                       what);
          return FALSE;
        }
    }
  return TRUE;
}

void
pst_gateway_set_bind_only (PstGateway *self, gboolean bind_only)
{
  g_return_if_fail (PST_IS_GATEWAY (self));
  self->bind_only = bind_only;
}

/**
 * pst_gateway_dup_sockets:
 *
 * Returns: (transfer container) (element-type GSocket): every listening
 *   socket of the current configuration
 */
static GPtrArray *
dup_sockets (GHashTable *listeners)
{
  GPtrArray *sockets = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer v;

  if (listeners == NULL)
    return sockets;
  g_hash_table_iter_init (&iter, listeners);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    {
      GPtrArray *own = pst_listener_get_sockets (v);

      for (guint i = 0; own != NULL && i < own->len; i++)
        g_ptr_array_add (sockets, g_object_ref (own->pdata[i]));
    }
  return sockets;
}

GPtrArray *
pst_gateway_dup_sockets (PstGateway *self)
{
  g_return_val_if_fail (PST_IS_GATEWAY (self), NULL);
  return dup_sockets (self->listeners);
}

GPtrArray *
pst_gateway_dup_previous_sockets (PstGateway *self)
{
  g_return_val_if_fail (PST_IS_GATEWAY (self), NULL);
  return dup_sockets (self->kept_listeners != NULL ? self->kept_listeners : self->listeners);
}

GStrv
pst_gateway_dup_urls (PstGateway *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; self->urls != NULL && i < self->urls->len; i++)
    g_strv_builder_add (builder, self->urls->pdata[i]);
  return g_strv_builder_end (builder);
}

guint
pst_gateway_get_n_connections (PstGateway *self)
{
  return self->limits != NULL ? pst_conn_limits_get_live (self->limits) : 0;
}

gboolean
pst_gateway_is_idle (PstGateway *self)
{
  /* A session that ended may still be writing its last bytes to a
   * back-end (its pump flushes after the connection is gone), or waiting
   * for a peer's end behind them (a lingering close: exiting would close
   * it with a reset that drops what the kernel has not sent yet). */
  return pst_gateway_get_n_connections (self) == 0 && pst_stream_pump_get_n_flushing () == 0 &&
         pst_linger_get_n_open () == 0;
}

void
pst_gateway_stop (PstGateway *self)
{
  GHashTableIter iter;
  gpointer v;

  if (self->listeners == NULL)
    return;
  /* Stopping settles a tentative apply: the previous set's own listeners
   * join the retired ones, shut below. */
  pst_gateway_confirm (self);
  pst_metrics_set_draining (self->metrics, TRUE);
  pst_conn_limits_set_accepting (self->limits, FALSE);
  g_hash_table_iter_init (&iter, self->listeners);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    pst_listener_drain (v);
  for (guint i = 0; self->retired != NULL && i < self->retired->len; i++)
    pst_listener_shutdown (self->retired->pdata[i]);
  /* Inherited sockets are shared (a service manager, a master and other
   * workers): our copies must not keep queueing connections nobody here
   * will accept. */
  g_clear_pointer (&self->inherited, g_ptr_array_unref);
}

void
pst_gateway_set_shared_counts (PstGateway *self, PstSharedCounts *shared)
{
  g_return_if_fail (PST_IS_GATEWAY (self));
  pst_conn_limits_set_shared (self->limits, shared);
}

void
pst_gateway_stop_accepting (PstGateway *self)
{
  GHashTableIter iter;
  gpointer v;

  g_return_if_fail (PST_IS_GATEWAY (self));
  pst_conn_limits_set_accepting (self->limits, FALSE);
  if (self->listeners != NULL)
    {
      g_hash_table_iter_init (&iter, self->listeners);
      while (g_hash_table_iter_next (&iter, NULL, &v))
        pst_listener_stop (v);
    }
  g_clear_pointer (&self->inherited, g_ptr_array_unref);
}

/**
 * pst_gateway_get_metrics:
 *
 * Returns: (transfer none): the gateway's figures, kept across reloads.
 */
PstMetrics *
pst_gateway_get_metrics (PstGateway *self)
{
  g_return_val_if_fail (PST_IS_GATEWAY (self), NULL);
  return self->metrics;
}
