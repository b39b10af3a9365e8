/* pst-listen-plan.c: which accepts share a listener, what it binds, and its TLS settings
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-listen-plan.h"

/* One address an accept binds. */
typedef struct {
  char         *text;   /* "127.0.0.1:9000", "[::1]:9000"; "name:9000" when not looked up */
  GInetAddress *inet;   /* NULL when not looked up */
  guint16       port;
} Bind;

typedef struct {
  PstListenGroup  pub;
  GPtrArray      *binds;   /* Bind, sorted by text */
  char           *shown;   /* the binds for messages: "127.0.0.1:9000, [::1]:9000" */
} Group;

struct _PstListenPlan
{
  PstConfig          *config;
  PstListenPlanFlags  flags;
  GPtrArray          *groups;       /* Group */
  GPtrArray          *routes;       /* PstListenRoute, owns them */
  GPtrArray          *diagnostics;  /* PstDiagnostic */
  GHashTable         *resolved;     /* lower-case name → GList of GInetAddress, or NULL + error */
  GHashTable         *failures;     /* lower-case name → message */
  guint               unplanned;    /* accepts left out as invalid */
};

static void
bind_free (Bind *bind)
{
  g_free (bind->text);
  g_clear_object (&bind->inet);
  g_free (bind);
}

static void
route_free (PstListenRoute *route)
{
  g_clear_object (&route->service);
  g_clear_pointer (&route->url, pst_url_free);
  g_free (route);
}

static void
tls_clear (PstListenTls *tls)
{
  g_clear_pointer (&tls->verify_client, g_free);
  g_clear_pointer (&tls->protocols, g_free);
  g_clear_pointer (&tls->ciphers, g_free);
  g_clear_pointer (&tls->keystore, g_free);
}

static void
group_free (Group *group)
{
  g_free (group->pub.key);
  g_list_free_full (group->pub.addresses, g_object_unref);
  g_ptr_array_unref (group->pub.routes);
  tls_clear (&group->pub.settings);
  g_ptr_array_unref (group->binds);
  g_free (group->shown);
  g_free (group);
}

static void
address_list_free (gpointer list)
{
  g_list_free_full (list, g_object_unref);
}

static const char *
service_label (PstService *service)
{
  const char *name = pst_service_get_name (service);
  return name != NULL && *name != '\0' ? name : _("(unnamed)");
}

/* ------------------------------------------------------------------ */
/* Addresses                                                           */

/* Host and port an accept binds: its {scheme}.bind option ("PORT" is
 * every IPv4 address, "HOST:PORT", "[V6]:PORT"), else the URL's. */
static gboolean
bind_host_port (PstOptions *options, const PstUrl *url, char **host, guint16 *port)
{
  g_autofree char *option = g_strdup_printf ("%s.bind", url->scheme);
  const char *bind = pst_options_get (options, option);
  const char *colon;
  guint64 number;

  if (bind == NULL)
    {
      *host = g_strdup (url->host);
      *port = url->port;
      return TRUE;
    }
  colon = strrchr (bind, ':');
  if (colon == NULL)
    {
      *host = g_strdup ("0.0.0.0");
      colon = bind - 1;
    }
  else
    {
      *host = g_strndup (bind, colon - bind);
      if ((*host)[0] == '[' && strlen (*host) >= 2)
        {
          char *inner = g_strndup (*host + 1, strlen (*host) - 2);
          g_free (*host);
          *host = inner;
        }
    }
  if (**host == '\0' || !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &number, NULL))
    {
      g_clear_pointer (host, g_free);
      return FALSE;   /* validation reports the option */
    }
  *port = number;
  return TRUE;
}

static int
compare_binds (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Bind **) a)->text, (*(Bind **) b)->text);
}

static void
add_bind (GPtrArray *binds, GInetAddress *inet, const char *name, guint16 port)
{
  Bind *bind = g_new0 (Bind, 1);

  bind->port = port;
  if (inet != NULL)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (inet, port);
      bind->inet = g_object_ref (inet);
      bind->text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
    }
  else
    bind->text = g_strdup_printf ("%s:%u", name, port);
  for (guint i = 0; i < binds->len; i++)
    if (strcmp (((Bind *) binds->pdata[i])->text, bind->text) == 0)
      {
        bind_free (bind);
        return;
      }
  g_ptr_array_add (binds, bind);
}

/* The addresses "localhost" and literal addresses bind without a
 * lookup; other names are looked up once per plan (with RESOLVE). */
static GPtrArray *
binds_for (PstListenPlan *self, const char *host, guint16 port, char **failure)
{
  g_autoptr(GPtrArray) binds = g_ptr_array_new_with_free_func ((GDestroyNotify) bind_free);
  g_autoptr(GInetAddress) literal = g_inet_address_new_from_string (host);
  g_autofree char *name = g_ascii_strdown (host, -1);

  if (literal != NULL)
    add_bind (binds, literal, NULL, port);
  else if (strcmp (name, "localhost") == 0)
    {
      g_autoptr(GInetAddress) v4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GInetAddress) v6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
      add_bind (binds, v4, NULL, port);
      add_bind (binds, v6, NULL, port);
    }
  else if ((self->flags & PST_LISTEN_PLAN_RESOLVE) == 0)
    add_bind (binds, NULL, name, port);
  else
    {
      GList *addresses;

      if (!g_hash_table_contains (self->resolved, name))
        {
          g_autoptr(GResolver) resolver = g_resolver_get_default ();
          g_autoptr(GError) error = NULL;

          addresses = g_resolver_lookup_by_name (resolver, host, NULL, &error);
          g_hash_table_insert (self->resolved, g_strdup (name), addresses);
          if (addresses == NULL)
            g_hash_table_insert (self->failures, g_strdup (name), g_strdup (error->message));
        }
      addresses = g_hash_table_lookup (self->resolved, name);
      if (addresses == NULL)
        {
          *failure = g_strdup (g_hash_table_lookup (self->failures, name));
          return NULL;
        }
      for (GList *l = addresses; l != NULL; l = l->next)
        add_bind (binds, l->data, NULL, port);
    }
  g_ptr_array_sort (binds, compare_binds);
  return g_steal_pointer (&binds);
}

/* A wildcard takes the port on every address of its family; GLib's IPv6
 * sockets are dual-stack, so "::" takes the IPv4 ones too. */
static gboolean
covers (const Bind *any, const Bind *other)
{
  return g_inet_address_get_is_any (any->inet) &&
         (g_inet_address_get_family (any->inet) == g_inet_address_get_family (other->inet) ||
          g_inet_address_get_family (any->inet) == G_SOCKET_FAMILY_IPV6);
}

static gboolean
binds_overlap (const Bind *a, const Bind *b)
{
  if (a->port != b->port)
    return FALSE;
  if (strcmp (a->text, b->text) == 0)
    return TRUE;
  if (a->inet == NULL || b->inet == NULL)
    return FALSE;
  return covers (a, b) || covers (b, a);
}

static gboolean
sets_overlap (GPtrArray *a, GPtrArray *b)
{
  for (guint i = 0; i < a->len; i++)
    for (guint j = 0; j < b->len; j++)
      if (binds_overlap (a->pdata[i], b->pdata[j]))
        return TRUE;
  return FALSE;
}

static gboolean
sets_equal (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (strcmp (((Bind *) a->pdata[i])->text, ((Bind *) b->pdata[i])->text) != 0)
      return FALSE;
  return TRUE;
}

static char *
binds_to_string (GPtrArray *binds)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < binds->len; i++)
    g_string_append_printf (text, "%s%s", i ? ", " : "", ((Bind *) binds->pdata[i])->text);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* ------------------------------------------------------------------ */
/* TLS settings                                                        */

static char *
without_blanks (const char *value)
{
  GString *out;

  if (value == NULL)
    return NULL;
  out = g_string_new (NULL);
  for (const char *p = value; *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

static void
route_settings (PstListenPlan *self, PstListenRoute *route, PstListenTls *tls)
{
  PstOptions *options = pst_service_get_accept_options (route->service);

  tls->verify_client = g_strdup (pst_options_get_verify_client (options));
  tls->protocols = without_blanks (pst_options_get (options, "ssl.protocols"));
  tls->ciphers = without_blanks (pst_options_get (options, "ssl.ciphers"));
  tls->keystore = g_strdup (pst_config_get_keystore (self->config)->file);
}

/* The first setting on which @a and @b differ, or NULL. */
static const char *
settings_differ (const PstListenTls *a, const PstListenTls *b, const char **va, const char **vb)
{
  static const char *const names[] = { "ssl.verify-client", "ssl.protocols", "ssl.ciphers", "keystore" };
  const char *const values_a[] = { a->verify_client, a->protocols, a->ciphers, a->keystore };
  const char *const values_b[] = { b->verify_client, b->protocols, b->ciphers, b->keystore };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (values_a[i], values_b[i]) != 0)
      {
        *va = values_a[i] != NULL ? values_a[i] : (i == 3 ? _("(none)") : _("(default)"));
        *vb = values_b[i] != NULL ? values_b[i] : (i == 3 ? _("(none)") : _("(default)"));
        return names[i];
      }
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Planning                                                            */

#define ERROR(line, field, service, ...) \
  pst_config_add_diagnostic (self->config, self->diagnostics, PST_SEVERITY_ERROR, \
                             line, "accept", service, field, __VA_ARGS__)

static Group *
group_new (PstListenPlan *self, PstListenRoute *route, GPtrArray *binds)
{
  Group *group = g_new0 (Group, 1);
  g_autoptr(GString) key = g_string_new (route->tls ? "tls|" : "plain|");

  for (guint i = 0; i < binds->len; i++)
    {
      Bind *bind = binds->pdata[i];
      g_string_append_printf (key, "%s%s", i ? "," : "", bind->text);
      if (bind->inet != NULL)
        group->pub.addresses = g_list_append (group->pub.addresses,
                                              g_inet_socket_address_new (bind->inet, bind->port));
    }
  group->pub.key = g_string_free (g_steal_pointer (&key), FALSE);
  group->pub.tls = route->tls;
  group->pub.routes = g_ptr_array_new ();
  route_settings (self, route, &group->pub.settings);
  group->binds = g_ptr_array_ref (binds);
  group->shown = binds_to_string (binds);
  g_ptr_array_add (self->groups, group);
  return group;
}

/* Joins @route to @group, or reports why it cannot. */
static gboolean
join (PstListenPlan *self, Group *group, PstListenRoute *route, const char *text)
{
  PstListenRoute *first = group->pub.routes->pdata[0];
  g_autofree char *first_text = pst_url_to_string (first->url);
  const char *name = service_label (route->service);
  const char *va = NULL, *vb = NULL;
  const char *setting;

  if (first->tls != route->tls)
    {
      ERROR (route->line, "accept", name,
             _("%s (service “%s”) is %s but %s (service “%s”, line %u) uses the same address %s %s; one port cannot be both, so use another port (or set ssl.encryption to disabled on the secure one behind a TLS offloader)"),
             text, name, route->tls ? _("TLS") : _("plain"), first_text, service_label (first->service),
             first->line, group->shown, first->tls ? _("with TLS") : _("without TLS"));
      return FALSE;
    }
  /* The PROXY header comes before anything that tells the routes apart. */
  if (pst_options_get_proxy_protocol (pst_service_get_accept_options (first->service)) !=
      pst_options_get_proxy_protocol (pst_service_get_accept_options (route->service)))
    {
      gboolean mine = pst_options_get_proxy_protocol (pst_service_get_accept_options (route->service));

      ERROR (route->line, "tcp.proxy-protocol", name,
             _("%s (service “%s”) has tcp.proxy-protocol “%s” but %s (service “%s”, line %u) on the same address %s has “%s”; both share one listener and the PROXY header comes before the host name or path is known, so give both services the same tcp.proxy-protocol or use another port"),
             text, name, mine ? "true" : "false", first_text, service_label (first->service), first->line,
             group->shown, mine ? "false" : "true");
      return FALSE;
    }
  if (route->tls)
    {
      PstListenTls mine = { 0 };

      route_settings (self, route, &mine);
      setting = settings_differ (&mine, &group->pub.settings, &va, &vb);
      if (setting != NULL)
        {
          ERROR (route->line, setting, name,
                 _("%s (service “%s”) has %s “%s” but %s (service “%s”, line %u) on the same address %s has “%s”; both share one listener and its TLS handshake happens before the host name or path is known, so give both services the same %s or use another port"),
                 text, name, setting, va, first_text, service_label (first->service), first->line,
                 group->shown, vb, setting);
          tls_clear (&mine);
          return FALSE;
        }
      tls_clear (&mine);
    }
  g_ptr_array_add (group->pub.routes, route);
  return TRUE;
}

static void
plan_accept (PstListenPlan *self, PstService *service, guint i)
{
  const char *text = pst_service_get_accept (service, i);
  PstOptions *options = pst_service_get_accept_options (service);
  g_autoptr(PstUrl) url = NULL;
  g_autoptr(GPtrArray) binds = NULL;
  g_autofree char *host = NULL;
  g_autofree char *failure = NULL;
  g_autofree char *shown_url = NULL;
  PstListenRoute *route;
  Group *found = NULL;
  guint16 port;

  if (text == NULL || strstr (text, "${") != NULL ||
      (url = pst_url_parse (text, NULL)) == NULL ||
      !bind_host_port (options, url, &host, &port))
    {
      self->unplanned++;   /* validation says why */
      return;
    }

  route = g_new0 (PstListenRoute, 1);
  route->service = g_object_ref (service);
  route->line = pst_service_get_accept_line (service, i);
  route->tls = url->secure && pst_options_get_ssl_encryption (options);
  route->url = g_steal_pointer (&url);
  g_ptr_array_add (self->routes, route);
  shown_url = pst_url_to_string (route->url);

  binds = binds_for (self, host, port, &failure);
  if (binds == NULL)
    {
      g_autofree char *option = g_strdup_printf ("%s.bind", route->url->scheme);
      ERROR (route->line, "accept", service_label (service),
             _("cannot resolve the accept host “%s”: %s; use an address, fix the name, or set %s to the address to listen on"),
             host, failure, option);
      return;
    }

  for (guint g = 0; g < self->groups->len; g++)
    {
      Group *group = self->groups->pdata[g];

      if (!sets_overlap (group->binds, binds))
        continue;
      if (found == NULL && sets_equal (group->binds, binds))
        {
          found = group;
          continue;
        }
      {
        /* Overlapping but different sets: one address would be bound
         * twice, or the listener would be keyed apart from its twin. */
        PstListenRoute *first = group->pub.routes->pdata[0];
        g_autofree char *first_text = pst_url_to_string (first->url);
        g_autofree char *mine = binds_to_string (binds);
        g_autofree char *option = g_strdup_printf ("%s.bind", route->url->scheme);

        ERROR (route->line, "accept", service_label (service),
               _("%s (service “%s”) listens on %s but %s (service “%s”, line %u) listens on %s: the addresses overlap without being the same, so one listener cannot serve both; use the same host name (or the same %s) in both, or another port"),
               shown_url, service_label (service), mine, first_text, service_label (first->service),
               first->line, group->shown, option);
        return;
      }
    }
  if (found == NULL)
    {
      found = group_new (self, route, binds);
      g_ptr_array_add (found->pub.routes, route);
      return;
    }
  join (self, found, route, shown_url);
}

/**
 * pst_listen_plan_new:
 * @config: a config
 * @flags: whether host names are looked up
 *
 * The one place that decides which accepts share a listener: `postern
 * check` (through validation) and `postern run` (pst_gateway_apply) both
 * use it, so they group the same way and refuse the same conflicts.
 *
 * Returns: (transfer full): the plan
 */
PstListenPlan *
pst_listen_plan_new (PstConfig *config, PstListenPlanFlags flags)
{
  PstListenPlan *self;

  g_return_val_if_fail (PST_IS_CONFIG (config), NULL);

  self = g_new0 (PstListenPlan, 1);
  self->config = g_object_ref (config);
  self->flags = flags;
  self->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) group_free);
  self->routes = g_ptr_array_new_with_free_func ((GDestroyNotify) route_free);
  self->diagnostics = g_ptr_array_new_with_free_func (g_object_unref);
  self->resolved = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, address_list_free);
  self->failures = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint s = 0; s < pst_config_get_n_services (config); s++)
    {
      PstService *service = pst_config_get_service (config, s);

      for (guint a = 0; a < pst_service_get_n_accepts (service); a++)
        plan_accept (self, service, a);
    }
  return self;
}

void
pst_listen_plan_free (PstListenPlan *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->groups);
  g_ptr_array_unref (self->routes);
  g_ptr_array_unref (self->diagnostics);
  g_hash_table_unref (self->resolved);
  g_hash_table_unref (self->failures);
  g_object_unref (self->config);
  g_free (self);
}

GPtrArray *
pst_listen_plan_get_diagnostics (PstListenPlan *self)
{
  return self->diagnostics;
}

guint
pst_listen_plan_get_n_groups (PstListenPlan *self)
{
  return self->groups->len;
}

const PstListenGroup *
pst_listen_plan_get_group (PstListenPlan *self, guint i)
{
  g_return_val_if_fail (i < self->groups->len, NULL);
  return &((Group *) self->groups->pdata[i])->pub;
}

GPtrArray *
pst_listen_plan_get_routes (PstListenPlan *self)
{
  return self->routes;
}

gboolean
pst_listen_plan_check (PstListenPlan *self, GError **error)
{
  g_autoptr(GString) message = NULL;

  if (self->diagnostics->len == 0 && self->unplanned == 0)
    return TRUE;
  message = g_string_new (NULL);
  for (guint i = 0; i < self->diagnostics->len; i++)
    {
      g_autofree char *line = pst_diagnostic_to_string (self->diagnostics->pdata[i]);
      g_string_append_printf (message, "%s%s", i ? "\n" : "", line);
    }
  if (self->unplanned > 0)
    g_string_append_printf (message, "%s%s", message->len ? "\n" : "",
                            _("some <accept> URLs are not valid; run “postern check” for the details"));
  g_set_error_literal (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID, message->str);
  return FALSE;
}
