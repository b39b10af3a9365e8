/* pst-config-edit-options.c: edits of accept and connect options and of allowed origins
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-config-private.h"

static gboolean
set_option (PstConfig *self, guint service, const char *element, const char *name,
            const char *value, GError **error)
{
  xmlNodePtr svc, options;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_element_name (name, error) ||
      (value != NULL && !pst_edit_check_value (value, name, error)) ||
      (svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;

  options = pst_config_node_child (svc, element);
  if (value == NULL && options == NULL)
    return pst_edit_commit (self, error);
  if (options == NULL)
    options = pst_edit_find_or_add (self, svc, element, pst_edit_service_order);
  pst_edit_set_leaf (self, options, name, value, NULL);
  if (pst_edit_first_element (options) == NULL)
    pst_edit_remove_node (options);
  return pst_edit_commit (self, error);
}

gboolean
pst_config_set_accept_option (PstConfig *self, guint service, const char *name,
                              const char *value, GError **error)
{
  return set_option (self, service, "accept-options", name, value, error);
}

gboolean
pst_config_set_connect_option (PstConfig *self, guint service, const char *name,
                               const char *value, GError **error)
{
  return set_option (self, service, "connect-options", name, value, error);
}

gboolean
pst_config_set_allow_origins (PstConfig *self, guint service, const char * const *origins,
                              GError **error)
{
  xmlNodePtr svc, constraint, next;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  for (guint i = 0; origins != NULL && origins[i] != NULL; i++)
    if (!pst_edit_check_value (origins[i], "allow-origin", error))
      return FALSE;
  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;

  if (origins == NULL)
    {
      for (xmlNodePtr node = svc->children; node != NULL; node = next)
        {
          next = node->next;
          if (pst_config_node_is (node, "cross-site-constraint"))
            pst_edit_remove_node (node);
        }
      return pst_edit_commit (self, error);
    }

  constraint = pst_edit_find_or_add (self, svc, "cross-site-constraint", pst_edit_service_order);
  for (xmlNodePtr node = constraint->children; node != NULL; node = next)
    {
      next = node->next;
      if (pst_config_node_is (node, "allow-origin"))
        pst_edit_remove_node (node);
    }
  for (guint i = 0; origins[i] != NULL; i++)
    pst_edit_insert_child (self, constraint,
                           pst_edit_new_element (self, constraint, "allow-origin", origins[i]),
                           pst_edit_last_element (constraint));
  return pst_edit_commit (self, error);
}
