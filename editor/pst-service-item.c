/* pst-service-item.c: a stable sidebar item for the service at one position
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-service-item.h"

/* The library rebuilds its PstService views after every edit; the sidebar
 * keeps one of these per position so that selection and focus survive. */
struct _PstServiceItem
{
  GObject     parent_instance;
  guint       index;
  PstService *service;
  char       *name;
  char       *service_type;
  guint       n_errors;
  guint       n_warnings;
};

G_DEFINE_FINAL_TYPE (PstServiceItem, pst_service_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INDEX,
  PROP_SERVICE,
  PROP_NAME,
  PROP_SERVICE_TYPE,
  PROP_N_ERRORS,
  PROP_N_WARNINGS,
  PROP_STATUS_ICON,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
status_icon (PstServiceItem *self)
{
  if (self->n_errors > 0)
    return "dialog-error-symbolic";
  if (self->n_warnings > 0)
    return "dialog-warning-symbolic";
  return NULL;
}

static void
pst_service_item_finalize (GObject *object)
{
  PstServiceItem *self = PST_SERVICE_ITEM (object);

  g_clear_object (&self->service);
  g_free (self->name);
  g_free (self->service_type);
  G_OBJECT_CLASS (pst_service_item_parent_class)->finalize (object);
}

static void
pst_service_item_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PstServiceItem *self = PST_SERVICE_ITEM (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      g_value_set_uint (value, self->index);
      break;
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_SERVICE_TYPE:
      g_value_set_string (value, self->service_type);
      break;
    case PROP_N_ERRORS:
      g_value_set_uint (value, self->n_errors);
      break;
    case PROP_N_WARNINGS:
      g_value_set_uint (value, self->n_warnings);
      break;
    case PROP_STATUS_ICON:
      g_value_set_string (value, status_icon (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_service_item_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PstServiceItem *self = PST_SERVICE_ITEM (object);

  switch (prop_id)
    {
    case PROP_INDEX:
      self->index = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_service_item_class_init (PstServiceItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pst_service_item_finalize;
  object_class->get_property = pst_service_item_get_property;
  object_class->set_property = pst_service_item_set_property;

  properties[PROP_INDEX] =
    g_param_spec_uint ("index", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVICE] =
    g_param_spec_object ("service", NULL, NULL, PST_TYPE_SERVICE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVICE_TYPE] =
    g_param_spec_string ("service-type", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_ERRORS] =
    g_param_spec_uint ("n-errors", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_N_WARNINGS] =
    g_param_spec_uint ("n-warnings", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS_ICON] =
    g_param_spec_string ("status-icon", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pst_service_item_init (PstServiceItem *self)
{
}

PstServiceItem *
pst_service_item_new (guint index)
{
  return g_object_new (PST_TYPE_SERVICE_ITEM, "index", index, NULL);
}

guint
pst_service_item_get_index (PstServiceItem *self)
{
  g_return_val_if_fail (PST_IS_SERVICE_ITEM (self), 0);
  return self->index;
}

PstService *
pst_service_item_get_service (PstServiceItem *self)
{
  g_return_val_if_fail (PST_IS_SERVICE_ITEM (self), NULL);
  return self->service;
}

const char *
pst_service_item_get_name (PstServiceItem *self)
{
  g_return_val_if_fail (PST_IS_SERVICE_ITEM (self), NULL);
  return self->name;
}

const char *
pst_service_item_get_service_type (PstServiceItem *self)
{
  g_return_val_if_fail (PST_IS_SERVICE_ITEM (self), NULL);
  return self->service_type;
}

static void
update_string (PstServiceItem *self,
               char          **field,
               const char     *value,
               GParamSpec     *pspec)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

/* Always notifies ::service (the object is new after every edit, and pages
 * re-read their fields from it); name and type only when they changed. */
void
pst_service_item_set_service (PstServiceItem *self,
                              PstService     *service)
{
  const char *name;

  g_return_if_fail (PST_IS_SERVICE_ITEM (self));

  g_object_freeze_notify (G_OBJECT (self));
  g_set_object (&self->service, service);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICE]);

  name = service != NULL ? pst_service_get_name (service) : NULL;
  if (name == NULL || *name == '\0')
    name = _("Unnamed service");
  update_string (self, &self->name, name, properties[PROP_NAME]);
  update_string (self, &self->service_type,
                 service != NULL ? pst_service_get_service_type (service) : NULL,
                 properties[PROP_SERVICE_TYPE]);
  g_object_thaw_notify (G_OBJECT (self));
}

void
pst_service_item_set_counts (PstServiceItem *self,
                             guint           n_errors,
                             guint           n_warnings)
{
  const char *old_icon;

  g_return_if_fail (PST_IS_SERVICE_ITEM (self));

  old_icon = status_icon (self);
  g_object_freeze_notify (G_OBJECT (self));
  if (self->n_errors != n_errors)
    {
      self->n_errors = n_errors;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ERRORS]);
    }
  if (self->n_warnings != n_warnings)
    {
      self->n_warnings = n_warnings;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_WARNINGS]);
    }
  if (g_strcmp0 (old_icon, status_icon (self)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS_ICON]);
  g_object_thaw_notify (G_OBJECT (self));
}
