/* pst-config-edit-stores.c: edits of the keystore and truststore fields
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

static const char * const security_order[] = { "keystore", "truststore", "realm", NULL };
static const char * const store_order[] = { "type", "file", "password-file", "password-keyring", NULL };

static const char *
store_element (PstStoreKind kind)
{
  return kind == PST_STORE_KIND_TRUSTSTORE ? "truststore" : "keystore";
}

gboolean
pst_config_set_store_field (PstConfig *self, PstStoreKind kind, const char *field,
                            const char *value, GError **error)
{
  xmlNodePtr security, store;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (field != NULL, FALSE);

  if (pst_edit_order_of (store_order, field) == G_MAXINT)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("a store has no field “%s” (it has type, file, password-file and password-keyring)"), field);
      return FALSE;
    }
  if (value != NULL && !pst_edit_check_value (value, field, error))
    return FALSE;

  security = pst_config_node_child (pst_edit_root (self), "security");
  store = security != NULL ? pst_config_node_child (security, store_element (kind)) : NULL;
  if (value == NULL && store == NULL)
    return pst_edit_commit (self, error);
  if (security == NULL)
    security = pst_edit_find_or_add (self, pst_edit_root (self), "security", pst_edit_root_order);
  if (store == NULL)
    store = pst_edit_find_or_add (self, security, store_element (kind), security_order);
  pst_edit_set_leaf (self, store, field, value, store_order);
  return pst_edit_commit (self, error);
}

gboolean
pst_config_remove_store (PstConfig *self, PstStoreKind kind, GError **error)
{
  xmlNodePtr security, store;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  security = pst_config_node_child (pst_edit_root (self), "security");
  store = security != NULL ? pst_config_node_child (security, store_element (kind)) : NULL;
  if (store != NULL)
    pst_edit_remove_node (store);
  return pst_edit_commit (self, error);
}
