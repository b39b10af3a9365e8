/* pst-gateway.c: the running gateway: listeners keyed by bind address, and the current snapshot
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <sys/resource.h>
#include <glib/gi18n-lib.h>

#include "pst-conn-limits.h"
#include "pst-gateway.h"
#include "pst-listener.h"

struct _PstGateway
{
  GObject     parent_instance;
  PstRuntime *runtime;
  GHashTable *listeners;   /* key → PstListener */
  GPtrArray  *retired;     /* PstListener dropped by a reload, until their connections end */
  GPtrArray  *urls;
  PstConnLimits *limits;   /* open connections, all listeners, old and new */
};

G_DEFINE_TYPE (PstGateway, pst_gateway, G_TYPE_OBJECT)

static void
pst_gateway_dispose (GObject *object)
{
  PstGateway *self = PST_GATEWAY (object);

  pst_gateway_stop (self);
  g_clear_pointer (&self->listeners, g_hash_table_unref);
  g_clear_pointer (&self->retired, g_ptr_array_unref);
  g_clear_pointer (&self->urls, g_ptr_array_unref);
  g_clear_object (&self->limits);
  g_clear_object (&self->runtime);
  G_OBJECT_CLASS (pst_gateway_parent_class)->dispose (object);
}

static void
pst_gateway_class_init (PstGatewayClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = pst_gateway_dispose;
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
  self->listeners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->retired = g_ptr_array_new_with_free_func (g_object_unref);
}

PstGateway *
pst_gateway_new (void)
{
  return g_object_new (PST_TYPE_GATEWAY, NULL);
}

/* Addresses to bind for an accept: its {scheme}.bind option, else the
 * URL's host ("localhost" → 127.0.0.1 and ::1, other names resolved). */
static GList *
bind_addresses (PstService *service, const PstUrl *url, GError **error)
{
  g_autofree char *option = g_strdup_printf ("%s.bind", url->scheme);
  const char *bind = pst_options_get (pst_service_get_accept_options (service), option);
  g_autofree char *host = g_strdup (url->host);
  guint16 port = url->port;
  GInetAddress *literal;
  GList *addresses = NULL;

  if (bind != NULL)
    {
      const char *colon = strrchr (bind, ':');
      guint64 p;

      if (colon == NULL)
        {
          g_free (host);
          host = g_strdup ("0.0.0.0");
          colon = bind - 1;
        }
      else
        {
          g_free (host);
          host = g_strndup (bind, colon - bind);
          if (host[0] == '[')
            {
              char *inner = g_strndup (host + 1, strlen (host) - 2);
              g_free (host);
              host = inner;
            }
        }
      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &p, NULL))
        {
          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                       _("service %s: %s “%s” is not HOST:PORT or PORT"),
                       pst_service_get_name (service), option, bind);
          return NULL;
        }
      port = p;
    }

  literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    addresses = g_list_append (NULL, literal);
  else if (g_ascii_strcasecmp (host, "localhost") == 0)
    {
      addresses = g_list_append (addresses, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
      addresses = g_list_append (addresses, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6));
    }
  else
    {
      g_autoptr(GResolver) resolver = g_resolver_get_default ();
      g_autoptr(GError) local_error = NULL;

      addresses = g_resolver_lookup_by_name (resolver, host, NULL, &local_error);
      if (addresses == NULL)
        {
          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_BIND,
                       _("service %s: cannot resolve the accept host “%s”: %s (use an address, or set %s)"),
                       pst_service_get_name (service), host, local_error->message, option);
          return NULL;
        }
    }
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      GInetAddress *inet = l->data;
      l->data = g_inet_socket_address_new (inet, port);
      g_object_unref (inet);
    }
  return addresses;
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

typedef struct {
  char      *key;
  gboolean   tls;
  GList     *addresses;   /* GSocketAddress */
  GPtrArray *routes;      /* PstRoute */
} Plan;

static void
plan_free (Plan *plan)
{
  g_free (plan->key);
  g_list_free_full (plan->addresses, g_object_unref);
  g_ptr_array_unref (plan->routes);
  g_free (plan);
}

static char *
plan_key (GList *addresses, gboolean tls)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) key = g_string_new (tls ? "tls|" : "plain|");

  for (GList *l = addresses; l != NULL; l = l->next)
    g_ptr_array_add (names, g_socket_connectable_to_string (l->data));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (key, "%s%s", i ? "," : "", (char *) names->pdata[i]);
  return g_string_free (g_steal_pointer (&key), FALSE);
}

gboolean
pst_gateway_apply (PstGateway *self, PstRuntime *runtime, GError **error)
{
  PstConfig *config = pst_runtime_get_config (runtime);
  g_autoptr(GHashTable) plans = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) plan_free);
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(GHashTable) next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  g_autoptr(GPtrArray) urls = g_ptr_array_new_with_free_func (g_free);

  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);
      const char *type = pst_service_get_service_type (service);

      if (!g_str_equal (type, "echo") && !g_str_equal (type, "directory") && !g_str_equal (type, "proxy"))
        {
          g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID,
                       _("service %s: type “%s” cannot be served by this build yet"),
                       pst_service_get_name (service), type);
          return FALSE;
        }
      for (guint a = 0; a < pst_service_get_n_accepts (service); a++)
        {
          g_autoptr(PstUrl) url = pst_url_parse (pst_service_get_accept (service, a), error);
          GList *addresses;
          gboolean tls;
          g_autofree char *key = NULL;
          Plan *plan;
          PstRoute *route;

          if (url == NULL)
            return FALSE;
          addresses = bind_addresses (service, url, error);
          if (addresses == NULL)
            return FALSE;
          tls = url->secure && pst_options_get_ssl_encryption (pst_service_get_accept_options (service));
          key = plan_key (addresses, tls);
          plan = g_hash_table_lookup (plans, key);
          if (plan == NULL)
            {
              plan = g_new0 (Plan, 1);
              plan->key = g_strdup (key);
              plan->tls = tls;
              plan->addresses = addresses;
              plan->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) pst_route_free);
              g_hash_table_insert (plans, plan->key, plan);
              g_ptr_array_add (order, plan);
            }
          else
            g_list_free_full (addresses, g_object_unref);
          g_ptr_array_add (urls, pst_url_to_string (url));
          route = pst_route_new (service, g_steal_pointer (&url), tls, error);
          if (route == NULL)
            return FALSE;
          g_ptr_array_add (plan->routes, route);
        }
    }

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
        if (!pst_listener_add_address (listener, l->data, error))
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

  /* Commit: new connections get the new snapshot; established ones keep theirs. */
  {
    GHashTableIter iter;
    gpointer k, v;

    g_hash_table_iter_init (&iter, self->listeners);
    while (g_hash_table_iter_next (&iter, &k, &v))
      if (!g_hash_table_contains (next, k))
        {
          /* Its connections go on with their snapshot; it is kept until
           * they end, so that a stop can still close them. */
          pst_listener_stop (v);
          g_ptr_array_add (self->retired, g_object_ref (v));
        }
    for (guint i = self->retired->len; i > 0; i--)
      if (pst_listener_get_n_connections (self->retired->pdata[i - 1]) == 0)
        g_ptr_array_remove_index_fast (self->retired, i - 1);
  }
  for (guint i = 0; i < order->len; i++)
    {
      Plan *plan = order->pdata[i];
      PstListener *listener = g_hash_table_lookup (next, plan->key);
      gboolean is_new = !g_hash_table_contains (self->listeners, plan->key);

      pst_listener_set_snapshot (listener, runtime, plan->routes);
      if (is_new)
        pst_listener_start (listener);
    }
  g_hash_table_unref (self->listeners);
  self->listeners = g_steal_pointer (&next);
  g_set_object (&self->runtime, runtime);
  g_clear_pointer (&self->urls, g_ptr_array_unref);
  self->urls = g_steal_pointer (&urls);
  return TRUE;
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

void
pst_gateway_stop (PstGateway *self)
{
  GHashTableIter iter;
  gpointer v;

  if (self->listeners == NULL)
    return;
  g_hash_table_iter_init (&iter, self->listeners);
  while (g_hash_table_iter_next (&iter, NULL, &v))
    pst_listener_shutdown (v);
  for (guint i = 0; self->retired != NULL && i < self->retired->len; i++)
    pst_listener_shutdown (self->retired->pdata[i]);
}
