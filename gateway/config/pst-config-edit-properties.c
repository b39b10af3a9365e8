/* pst-config-edit-properties.c: edits of the global properties: set, rename, remove
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

static const char * const property_order[] = { "name", "value", NULL };

static xmlNodePtr
find_property (PstConfig *self, const char *name)
{
  for (xmlNodePtr props = pst_edit_root (self)->children; props != NULL; props = props->next)
    {
      if (!pst_config_node_is (props, "properties"))
        continue;
      for (xmlNodePtr prop = props->children; prop != NULL; prop = prop->next)
        {
          xmlNodePtr name_node = pst_config_node_child (prop, "name");
          g_autofree char *text = NULL;

          if (!pst_config_node_is (prop, "property") || name_node == NULL)
            continue;
          text = pst_config_node_text (name_node);
          if (strcmp (text, name) == 0)
            return prop;
        }
    }
  return NULL;
}

gboolean
pst_config_set_property (PstConfig *self, const char *name, const char *value, GError **error)
{
  xmlNodePtr prop, props;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_value (name, "property name", error))
    return FALSE;
  if (value == NULL || !g_utf8_validate (value, -1, NULL))
    return pst_edit_check_value (NULL, "property value", error);

  prop = find_property (self, name);
  if (prop != NULL)
    {
      pst_edit_set_leaf (self, prop, "value", value, property_order);
      return pst_edit_commit (self, error);
    }

  props = pst_edit_find_or_add (self, pst_edit_root (self), "properties", pst_edit_root_order);
  prop = pst_edit_new_element (self, props, "property", NULL);
  pst_edit_insert_child (self, props, prop, pst_edit_last_element (props));
  pst_edit_insert_child (self, prop, pst_edit_new_element (self, prop, "name", name), NULL);
  pst_edit_insert_child (self, prop, pst_edit_new_element (self, prop, "value", value),
                         pst_edit_last_element (prop));
  return pst_edit_commit (self, error);
}

static gboolean
rename_property (PstConfig *self, const char *name, const char *new_name,
                 gboolean references, GError **error)
{
  xmlNodePtr prop;

  if (!pst_edit_check_value (new_name, "property name", error))
    return FALSE;
  prop = find_property (self, name);
  if (prop == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("there is no property “%s”"), name);
      return FALSE;
    }
  if (strcmp (name, new_name) != 0 && find_property (self, new_name) != NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("a property “%s” exists already; choose another name"), new_name);
      return FALSE;
    }
  if (references)
    {
      /* a name with a brace could not be referred to any more */
      if (strpbrk (new_name, "${}") != NULL)
        {
          g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                       _("“%s” cannot be used as ${name}; leave out “$”, “{” and “}”"),
                       new_name);
          return FALSE;
        }
      pst_config_rewrite_references (self, name, new_name);
    }
  pst_edit_set_leaf (self, prop, "name", new_name, property_order);
  return pst_edit_commit (self, error);
}

/**
 * pst_config_rename_property:
 * @self: a config
 * @name: the property's name
 * @new_name: its new name
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Renames the property only: `${name}` elsewhere keeps the old name (see
 * pst_config_dup_property_uses() to warn about them).
 *
 * Returns: %TRUE on success
 */
gboolean
pst_config_rename_property (PstConfig *self, const char *name, const char *new_name,
                            GError **error)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return rename_property (self, name, new_name, FALSE, error);
}

/**
 * pst_config_rename_property_and_references:
 * @self: a config
 * @name: the property's name
 * @new_name: its new name
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Renames the property and rewrites every `${name}` in the text of the
 * configuration's elements to `${new_name}`, as one edit (one ::changed).
 * Comments are left as written.
 *
 * Returns: %TRUE on success; on failure nothing changed
 */
gboolean
pst_config_rename_property_and_references (PstConfig *self, const char *name,
                                           const char *new_name, GError **error)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  return rename_property (self, name, new_name, TRUE, error);
}

gboolean
pst_config_remove_property (PstConfig *self, const char *name, GError **error)
{
  xmlNodePtr prop;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  prop = find_property (self, name);
  if (prop == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("there is no property “%s”"), name);
      return FALSE;
    }
  pst_edit_remove_node (prop);
  return pst_edit_commit (self, error);
}
