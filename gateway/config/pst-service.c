/* pst-service.c: one <service> of gateway-config.xml
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-service-private.h"

typedef struct {
  char  *value;
  char  *raw;
  guint  line;
} Item;

struct _PstService
{
  GObject      parent_instance;
  guint        index;
  guint        line;
  char        *config_directory;
  char        *name;
  guint        name_line;
  char        *description;
  char        *type;
  guint        type_line;
  GArray      *accepts;      /* Item */
  GArray      *connects;     /* Item */
  GHashTable  *properties;   /* name → Item */
  GPtrArray   *property_names;
  PstOptions  *accept_options;
  PstOptions  *connect_options;
  GStrv        allow_origins;
};

G_DEFINE_FINAL_TYPE (PstService, pst_service, G_TYPE_OBJECT)

static void
item_clear (gpointer data)
{
  Item *item = data;

  g_free (item->value);
  g_free (item->raw);
}

static void
item_free (gpointer data)
{
  item_clear (data);
  g_free (data);
}

static void
pst_service_dispose (GObject *object)
{
  PstService *self = PST_SERVICE (object);

  g_clear_object (&self->accept_options);
  g_clear_object (&self->connect_options);

  G_OBJECT_CLASS (pst_service_parent_class)->dispose (object);
}

static void
pst_service_finalize (GObject *object)
{
  PstService *self = PST_SERVICE (object);

  g_free (self->config_directory);
  g_free (self->name);
  g_free (self->description);
  g_free (self->type);
  g_array_unref (self->accepts);
  g_array_unref (self->connects);
  g_hash_table_unref (self->properties);
  g_ptr_array_unref (self->property_names);
  g_strfreev (self->allow_origins);

  G_OBJECT_CLASS (pst_service_parent_class)->finalize (object);
}

static void
pst_service_class_init (PstServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_service_dispose;
  object_class->finalize = pst_service_finalize;
}

static void
pst_service_init (PstService *self)
{
  self->accepts = g_array_new (FALSE, TRUE, sizeof (Item));
  g_array_set_clear_func (self->accepts, item_clear);
  self->connects = g_array_new (FALSE, TRUE, sizeof (Item));
  g_array_set_clear_func (self->connects, item_clear);
  self->properties = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, item_free);
  self->property_names = g_ptr_array_new_with_free_func (g_free);
}

PstService *
pst_service_new (guint       index,
                 guint       line,
                 const char *config_directory,
                 PstOptions *defaults)
{
  PstService *self = g_object_new (PST_TYPE_SERVICE, NULL);

  self->index = index;
  self->line = line;
  self->config_directory = g_strdup (config_directory);
  self->accept_options = pst_options_new (defaults);
  self->connect_options = pst_options_new (NULL);
  return self;
}

void
pst_service_set_name (PstService *self, const char *name, guint line)
{
  g_free (self->name);
  self->name = g_strdup (name);
  self->name_line = line;
}

void
pst_service_set_description (PstService *self, const char *description)
{
  g_free (self->description);
  self->description = g_strdup (description);
}

void
pst_service_set_service_type (PstService *self, const char *type, guint line)
{
  g_free (self->type);
  self->type = g_strdup (type);
  self->type_line = line;
}

static void
add_item (GArray *array, const char *value, const char *raw, guint line)
{
  Item item = { g_strdup (value), g_strdup (raw != NULL ? raw : value), line };

  g_array_append_val (array, item);
}

void
pst_service_add_accept (PstService *self, const char *value, const char *raw, guint line)
{
  add_item (self->accepts, value, raw, line);
}

void
pst_service_add_connect (PstService *self, const char *value, const char *raw, guint line)
{
  add_item (self->connects, value, raw, line);
}

void
pst_service_set_property (PstService *self, const char *name, const char *value, guint line)
{
  Item *item = g_new0 (Item, 1);

  item->value = g_strdup (value);
  item->line = line;
  if (!g_hash_table_contains (self->properties, name))
    g_ptr_array_add (self->property_names, g_strdup (name));
  g_hash_table_replace (self->properties, g_strdup (name), item);
}

void
pst_service_take_allow_origins (PstService *self, GStrv origins)
{
  g_strfreev (self->allow_origins);
  self->allow_origins = origins;
}

/**
 * pst_service_get_name:
 * @self: a service
 *
 * Returns: (nullable): the `<name>`, property-substituted
 */
const char *
pst_service_get_name (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return self->name;
}

/**
 * pst_service_get_description:
 * @self: a service
 *
 * Returns: (nullable): the `<description>`
 */
const char *
pst_service_get_description (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return self->description;
}

/**
 * pst_service_get_service_type:
 * @self: a service
 *
 * Returns: (nullable): the `<type>` ("echo", "directory", "proxy", or
 *   whatever was written; validation reports unknown ones)
 */
const char *
pst_service_get_service_type (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return self->type;
}

guint
pst_service_get_line (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->line;
}

guint
pst_service_get_index (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->index;
}

guint
pst_service_get_type_line (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->type_line;
}

guint
pst_service_get_name_line (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->name_line;
}

guint
pst_service_get_n_accepts (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->accepts->len;
}

const char *
pst_service_get_accept (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (i < self->accepts->len, NULL);
  return g_array_index (self->accepts, Item, i).value;
}

const char *
pst_service_get_accept_raw (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (i < self->accepts->len, NULL);
  return g_array_index (self->accepts, Item, i).raw;
}

guint
pst_service_get_accept_line (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  g_return_val_if_fail (i < self->accepts->len, 0);
  return g_array_index (self->accepts, Item, i).line;
}

guint
pst_service_get_n_connects (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  return self->connects->len;
}

const char *
pst_service_get_connect (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (i < self->connects->len, NULL);
  return g_array_index (self->connects, Item, i).value;
}

const char *
pst_service_get_connect_raw (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (i < self->connects->len, NULL);
  return g_array_index (self->connects, Item, i).raw;
}

guint
pst_service_get_connect_line (PstService *self, guint i)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  g_return_val_if_fail (i < self->connects->len, 0);
  return g_array_index (self->connects, Item, i).line;
}

/**
 * pst_service_get_property:
 * @self: a service
 * @name: "directory", "welcome-file", "location.1.patterns"…
 *
 * Returns: (nullable): the property-substituted value
 */
const char *
pst_service_get_property (PstService *self, const char *name)
{
  Item *item;

  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  item = g_hash_table_lookup (self->properties, name);
  return item != NULL ? item->value : NULL;
}

guint
pst_service_get_property_line (PstService *self, const char *name)
{
  Item *item;

  g_return_val_if_fail (PST_IS_SERVICE (self), 0);
  g_return_val_if_fail (name != NULL, 0);

  item = g_hash_table_lookup (self->properties, name);
  return item != NULL ? item->line : 0;
}

/**
 * pst_service_dup_property_names:
 * @self: a service
 *
 * Returns: (transfer full): the property names in document order
 */
GStrv
pst_service_dup_property_names (PstService *self)
{
  GStrv names;

  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);

  names = g_new0 (char *, self->property_names->len + 1);
  for (guint i = 0; i < self->property_names->len; i++)
    names[i] = g_strdup (g_ptr_array_index (self->property_names, i));
  return names;
}

/**
 * pst_service_get_accept_options:
 * @self: a service
 *
 * Returns: (transfer none): the accept-options, falling back to the
 *   service-defaults
 */
PstOptions *
pst_service_get_accept_options (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return self->accept_options;
}

/**
 * pst_service_get_connect_options:
 * @self: a service
 *
 * Returns: (transfer none): the connect-options
 */
PstOptions *
pst_service_get_connect_options (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return self->connect_options;
}

/**
 * pst_service_get_allow_origins:
 * @self: a service
 *
 * Returns: (nullable) (array zero-terminated=1): the allowed origins, or
 *   %NULL when the service has no cross-site-constraint (same origin only)
 */
const char * const *
pst_service_get_allow_origins (PstService *self)
{
  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  return (const char * const *)self->allow_origins;
}

/**
 * pst_service_dup_resolved_path:
 * @self: a service
 * @property: e.g. "directory"
 *
 * Returns: (transfer full) (nullable): the absolute path, or %NULL when
 *   the property is unset
 */
char *
pst_service_dup_resolved_path (PstService *self, const char *property)
{
  const char *value;

  g_return_val_if_fail (PST_IS_SERVICE (self), NULL);
  g_return_val_if_fail (property != NULL, NULL);

  value = pst_service_get_property (self, property);
  if (value == NULL || *value == '\0')
    return NULL;
  return g_canonicalize_filename (value, self->config_directory);
}
