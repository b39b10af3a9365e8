/* pst-config-edit-services.c: edits of service fields and of whole services (add, move, …)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

/* ------------------------------------------------------------------ */
/* Service fields                                                      */

static gboolean
set_service_leaf (PstConfig *self, guint service, const char *element,
                  const char *value, gboolean may_remove, GError **error)
{
  xmlNodePtr svc;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (may_remove && value != NULL && *value == '\0')
    value = NULL;
  if ((value != NULL || !may_remove) && !pst_edit_check_value (value, element, error))
    return FALSE;
  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  pst_edit_set_leaf (self, svc, element, value, pst_edit_service_order);
  return pst_edit_commit (self, error);
}

gboolean
pst_config_set_service_name (PstConfig *self, guint service, const char *name, GError **error)
{
  return set_service_leaf (self, service, "name", name, FALSE, error);
}

gboolean
pst_config_set_service_description (PstConfig *self, guint service, const char *description,
                                    GError **error)
{
  return set_service_leaf (self, service, "description", description, TRUE, error);
}

gboolean
pst_config_set_service_type (PstConfig *self, guint service, const char *type, GError **error)
{
  return set_service_leaf (self, service, "type", type, FALSE, error);
}

gboolean
pst_config_set_service_text (PstConfig *self, guint service, const char *field,
                             const char *value, GError **error)
{
  g_return_val_if_fail (field != NULL, FALSE);

  if (strcmp (field, "name") == 0)
    return pst_config_set_service_name (self, service, value, error);
  if (strcmp (field, "description") == 0)
    return pst_config_set_service_description (self, service, value, error);
  if (strcmp (field, "type") == 0)
    return pst_config_set_service_type (self, service, value, error);
  g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
               _("a service has no text field “%s” (it has name, description and type)"), field);
  return FALSE;
}

gboolean
pst_config_set_service_property (PstConfig *self, guint service, const char *name,
                                 const char *value, GError **error)
{
  xmlNodePtr svc, props;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_element_name (name, error) ||
      (value != NULL && !pst_edit_check_value (value, name, error)) ||
      (svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;

  props = pst_config_node_child (svc, "properties");
  if (value == NULL && props == NULL)
    return pst_edit_commit (self, error);
  if (props == NULL)
    props = pst_edit_find_or_add (self, svc, "properties", pst_edit_service_order);
  pst_edit_set_leaf (self, props, name, value, pst_edit_service_properties_order);
  if (pst_edit_first_element (props) == NULL)
    pst_edit_remove_node (props);
  return pst_edit_commit (self, error);
}

/* ------------------------------------------------------------------ */
/* Whole services                                                      */

static GPtrArray *
unlink_block (xmlNodePtr node)
{
  GPtrArray *nodes = g_ptr_array_new ();
  xmlNodePtr start = pst_edit_block_start (node), next;

  if (pst_edit_is_blank_text (start->prev))
    {
      xmlNodePtr ws = start->prev;
      xmlUnlinkNode (ws);
      xmlFreeNode (ws);
    }
  for (xmlNodePtr cur = start; ; cur = next)
    {
      next = cur->next;
      xmlUnlinkNode (cur);
      g_ptr_array_add (nodes, cur);
      if (cur == node)
        break;
    }
  return nodes;
}

static char *
service_separator (PstConfig *self)
{
  xmlNodePtr first = pst_edit_nth_child (pst_edit_root (self), "service", 0);

  if (first != NULL)
    {
      xmlNodePtr start = pst_edit_block_start (first);
      if (pst_edit_is_blank_text (start->prev))
        return g_strdup ((const char *)start->prev->content);
    }
  return g_strdup_printf ("\n\n%s", pst_edit_indent_unit (self));
}

gboolean
pst_config_add_service (PstConfig *self, const char *name, const char *type,
                        guint *out_index, GError **error)
{
  xmlNodePtr svc, last;
  g_autofree char *accept = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_value (name, "service name", error) ||
      !pst_edit_check_value (type, "service type", error))
    return FALSE;

  svc = pst_edit_new_element (self, pst_edit_root (self), "service", NULL);
  last = pst_edit_nth_child (pst_edit_root (self), "service",
                             self->services->len > 0 ? self->services->len - 1 : 0);
  if (last != NULL)
    {
      g_autofree char *sep = service_separator (self);
      xmlNodePtr nodes[] = { pst_edit_new_text (self, sep), svc };
      pst_edit_insert_nodes_after (last, nodes, G_N_ELEMENTS (nodes));
    }
  else
    pst_edit_insert_ordered (self, pst_edit_root (self), svc, pst_edit_root_order);

  if (strcmp (type, "directory") == 0 || strcmp (type, "status") == 0)
    accept = g_strdup_printf ("http://localhost:8000/%s/", name);
  else
    accept = g_strdup_printf ("ws://localhost:8000/%s", name);
  pst_edit_insert_ordered (self, svc, pst_edit_new_element (self, svc, "name", name),
                           pst_edit_service_order);
  pst_edit_insert_ordered (self, svc, pst_edit_new_element (self, svc, "accept", accept),
                           pst_edit_service_order);
  if (strcmp (type, "proxy") == 0)
    pst_edit_insert_ordered (self, svc,
                             pst_edit_new_element (self, svc, "connect", "tcp://localhost:5000"),
                             pst_edit_service_order);
  pst_edit_insert_ordered (self, svc, pst_edit_new_element (self, svc, "type", type),
                           pst_edit_service_order);
  if (strcmp (type, "directory") == 0)
    {
      xmlNodePtr props = pst_edit_find_or_add (self, svc, "properties", pst_edit_service_order);
      pst_edit_set_leaf (self, props, "directory", "web", pst_edit_service_properties_order);
    }

  if (out_index != NULL)
    *out_index = self->services->len;
  return pst_edit_commit (self, error);
}

gboolean
pst_config_duplicate_service (PstConfig *self, guint service, guint *out_index, GError **error)
{
  xmlNodePtr svc, copy, name;
  g_autofree char *sep = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  /* xmlDocCopyNode would re-declare the namespace on the copy; the DOM
   * wrapper clone reuses the declarations in scope at the new parent. */
  copy = NULL;
  if (xmlDOMWrapCloneNode (NULL, self->doc, svc, &copy, self->doc, svc->parent, 1, 0) != 0 ||
      copy == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("cannot copy service %u"), service + 1);
      return FALSE;
    }
  sep = service_separator (self);
  {
    xmlNodePtr nodes[] = { pst_edit_new_text (self, sep), copy };
    pst_edit_insert_nodes_after (svc, nodes, G_N_ELEMENTS (nodes));
  }
  name = pst_config_node_child (copy, "name");
  if (name != NULL)
    {
      g_autofree char *old = pst_config_node_text (name);
      g_autofree char *new_name = g_strdup_printf ("%s-copy", old);
      pst_edit_set_text (self, name, new_name);
    }
  if (out_index != NULL)
    *out_index = service + 1;
  return pst_edit_commit (self, error);
}

gboolean
pst_config_remove_service (PstConfig *self, guint service, GError **error)
{
  xmlNodePtr svc;
  g_autoptr(GPtrArray) nodes = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  nodes = unlink_block (svc);
  for (guint i = 0; i < nodes->len; i++)
    xmlFreeNode (g_ptr_array_index (nodes, i));
  return pst_edit_commit (self, error);
}

gboolean
pst_config_move_service (PstConfig *self, guint service, guint new_index, GError **error)
{
  xmlNodePtr svc, target;
  g_autoptr(GPtrArray) nodes = NULL;
  g_autofree char *sep = NULL;
  guint n = self->services->len;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  if (new_index >= n)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("cannot move a service to position %u; there are %u services"),
                   new_index + 1, n);
      return FALSE;
    }
  if (new_index == service)
    return TRUE;

  sep = service_separator (self);
  nodes = unlink_block (svc);
  g_ptr_array_insert (nodes, new_index == n - 1 ? 0 : -1, pst_edit_new_text (self, sep));

  if (new_index == n - 1)
    {
      target = pst_edit_nth_child (pst_edit_root (self), "service", n - 2);
      pst_edit_insert_nodes_after (target, (xmlNodePtr *)nodes->pdata, nodes->len);
    }
  else
    {
      target = pst_edit_block_start (pst_edit_nth_child (pst_edit_root (self), "service",
                                                         new_index));
      pst_edit_insert_nodes_before (target, (xmlNodePtr *)nodes->pdata, nodes->len);
    }
  return pst_edit_commit (self, error);
}
