/* pst-config-edit-urls.c: edits of a service's accept and connect URLs
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

static gboolean
set_url (PstConfig *self, guint service, const char *element, guint i,
         const char *value, GError **error)
{
  xmlNodePtr svc, node;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_value (value, element, error) ||
      (svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  node = pst_edit_nth_child (svc, element, i);
  if (node == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("service %u has no <%s> number %u"), service + 1, element, i + 1);
      return FALSE;
    }
  pst_edit_set_text (self, node, value);
  return pst_edit_commit (self, error);
}

static gboolean
add_url (PstConfig *self, guint service, const char *element,
         const char *value, GError **error)
{
  xmlNodePtr svc;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!pst_edit_check_value (value, element, error) ||
      (svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  pst_edit_insert_ordered (self, svc, pst_edit_new_element (self, svc, element, value),
                           pst_edit_service_order);
  return pst_edit_commit (self, error);
}

static gboolean
remove_url (PstConfig *self, guint service, const char *element, guint i, GError **error)
{
  xmlNodePtr svc, node;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = pst_edit_find_service (self, service, error)) == NULL)
    return FALSE;
  node = pst_edit_nth_child (svc, element, i);
  if (node == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("service %u has no <%s> number %u"), service + 1, element, i + 1);
      return FALSE;
    }
  pst_edit_remove_node (node);
  return pst_edit_commit (self, error);
}

/**
 * pst_config_set_accept:
 * @self: a config
 * @service: service index
 * @i: accept index within the service
 * @value: the new URL, as written (may contain `${…}`)
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Changes the text of one `<accept>`; nothing else in the file changes.
 *
 * Returns: %TRUE on success
 */
gboolean
pst_config_set_accept (PstConfig *self, guint service, guint i, const char *value, GError **error)
{
  return set_url (self, service, "accept", i, value, error);
}

gboolean
pst_config_add_accept (PstConfig *self, guint service, const char *value, GError **error)
{
  return add_url (self, service, "accept", value, error);
}

gboolean
pst_config_remove_accept (PstConfig *self, guint service, guint i, GError **error)
{
  return remove_url (self, service, "accept", i, error);
}

gboolean
pst_config_set_connect (PstConfig *self, guint service, guint i, const char *value, GError **error)
{
  return set_url (self, service, "connect", i, value, error);
}

gboolean
pst_config_add_connect (PstConfig *self, guint service, const char *value, GError **error)
{
  return add_url (self, service, "connect", value, error);
}

gboolean
pst_config_remove_connect (PstConfig *self, guint service, guint i, GError **error)
{
  return remove_url (self, service, "connect", i, error);
}
