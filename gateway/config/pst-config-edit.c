/* pst-config-edit.c: what every edit shares: finding a service, checking values, committing
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

xmlNodePtr
pst_edit_find_service (PstConfig *self, guint index, GError **error)
{
  xmlNodePtr node = pst_edit_nth_child (pst_edit_root (self), "service", index);

  if (node == NULL)
    g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                 _("there is no service number %u (the file has %u)"),
                 index + 1, self->services->len);
  return node;
}

gboolean
pst_edit_check_value (const char *value, const char *what, GError **error)
{
  if (value == NULL || *value == '\0')
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("the %s cannot be empty"), what);
      return FALSE;
    }
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("the %s is not valid UTF-8"), what);
      return FALSE;
    }
  return TRUE;
}

gboolean
pst_edit_check_element_name (const char *name, GError **error)
{
  if (name == NULL || xmlValidateNCName ((const xmlChar *)name, 0) != 0)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("“%s” cannot be an element name"), name != NULL ? name : "");
      return FALSE;
    }
  return TRUE;
}

/* Every edit ends here: the document is serialised and read back so that
 * line numbers, columns and views match what a save would write. */
gboolean
pst_edit_commit (PstConfig *self, GError **error)
{
  g_autofree char *xml = NULL;
  gsize len;

  xml = pst_config_to_xml (self, &len);
  if (!pst_config_load_text (self, xml, len, error))
    return FALSE;
  pst_config_emit_changed (self);
  return TRUE;
}
