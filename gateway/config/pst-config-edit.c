/* pst-config-edit.c: edits for the editor, made on the kept libxml2 document
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

/* Canonical child order, used to place an element that does not exist yet. */
static const char * const service_order[] = {
  "name", "description", "accept", "connect", "balance", "type", "properties",
  "accept-options", "connect-options", "realm-name", "authorization-constraint",
  "mime-mapping", "cross-site-constraint", NULL
};
static const char * const root_order[] = {
  "properties", "service", "service-defaults", "security", NULL
};
static const char * const security_order[] = { "keystore", "truststore", "realm", NULL };
static const char * const store_order[] = { "type", "file", "password-file", NULL };
static const char * const property_order[] = { "name", "value", NULL };
static const char * const service_properties_order[] = {
  "directory", "welcome-file", "error-pages-directory", "options", "location", NULL
};

/* ------------------------------------------------------------------ */
/* Whitespace-keeping tree helpers                                     */

static gboolean
is_blank_text (xmlNodePtr node)
{
  if (node == NULL || node->type != XML_TEXT_NODE)
    return FALSE;
  for (const xmlChar *p = node->content; p != NULL && *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

/* The indentation in front of @node ("    "), "" when unknown. */
static char *
indent_of (xmlNodePtr node)
{
  const char *text, *nl;

  if (!is_blank_text (node->prev))
    return g_strdup ("");
  text = (const char *)node->prev->content;
  nl = strrchr (text, '\n');
  return g_strdup (nl != NULL ? nl + 1 : text);
}

static const char *
indent_unit (PstConfig *self)
{
  xmlNodePtr root = xmlDocGetRootElement (self->doc);
  static char unit[9];

  for (xmlNodePtr child = root->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE)
      {
        g_autofree char *indent = indent_of (child);
        gsize len = strlen (indent);
        if (len > 0 && len < sizeof unit && indent[strspn (indent, " \t")] == '\0')
          {
            memcpy (unit, indent, len + 1);
            return unit;
          }
        break;
      }
  return "  ";
}

static xmlNodePtr
first_element (xmlNodePtr parent)
{
  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE)
      return child;
  return NULL;
}

static xmlNodePtr
last_element (xmlNodePtr parent)
{
  for (xmlNodePtr child = parent->last; child != NULL; child = child->prev)
    if (child->type == XML_ELEMENT_NODE)
      return child;
  return NULL;
}

/* The separator in front of @parent's first element child ("\n    "),
 * or one made from @parent's own indentation. */
static xmlNodePtr block_start (xmlNodePtr node);

static char *
child_separator (PstConfig *self, xmlNodePtr parent)
{
  xmlNodePtr first = first_element (parent);
  g_autofree char *indent = NULL;

  if (first != NULL)
    first = block_start (first);
  if (first != NULL && is_blank_text (first->prev))
    return g_strdup ((const char *)first->prev->content);
  indent = indent_of (parent);
  return g_strdup_printf ("\n%s%s", indent, indent_unit (self));
}

static xmlNodePtr
new_text (PstConfig *self, const char *text)
{
  return xmlNewDocText (self->doc, (const xmlChar *)text);
}

static xmlNodePtr
new_element (PstConfig  *self,
             xmlNodePtr  parent,
             const char *name,
             const char *text)
{
  xmlNodePtr node = xmlNewDocNode (self->doc, parent->ns, (const xmlChar *)name, NULL);

  if (text != NULL)
    xmlAddChild (node, new_text (self, text));
  return node;
}

/* libxml2 merges a text node added next to another text node (and frees
 * it), so sequences are inserted with a non-text node at each end that
 * touches existing text: these two helpers insert in an order where every
 * text node lands between two elements or comments. */
static void
insert_nodes_after (xmlNodePtr anchor, xmlNodePtr *nodes, guint n)
{
  for (guint i = n; i > 0; i--)
    xmlAddNextSibling (anchor, nodes[i - 1]);
}

static void
insert_nodes_before (xmlNodePtr anchor, xmlNodePtr *nodes, guint n)
{
  for (guint i = 0; i < n; i++)
    xmlAddPrevSibling (anchor, nodes[i]);
}

/* Links @child into @parent after @after (NULL: before the first element),
 * indented like its siblings. */
static void
insert_child (PstConfig  *self,
              xmlNodePtr  parent,
              xmlNodePtr  child,
              xmlNodePtr  after)
{
  xmlNodePtr first = first_element (parent);

  if (first == NULL)
    {
      g_autofree char *indent = indent_of (parent);
      g_autofree char *open = g_strdup_printf ("\n%s%s", indent, indent_unit (self));
      g_autofree char *close = g_strdup_printf ("\n%s", indent);
      xmlNodePtr next;

      for (xmlNodePtr node = parent->children; node != NULL; node = next)
        {
          next = node->next;
          if (is_blank_text (node))
            {
              xmlUnlinkNode (node);
              xmlFreeNode (node);
            }
        }
      xmlAddChild (parent, new_text (self, open));
      xmlAddChild (parent, child);
      xmlAddChild (parent, new_text (self, close));
      return;
    }

  {
    g_autofree char *sep = child_separator (self, parent);
    if (after != NULL)
      {
        xmlNodePtr nodes[] = { new_text (self, sep), child };
        insert_nodes_after (after, nodes, G_N_ELEMENTS (nodes));
      }
    else
      {
        /* before the comments that describe the first element, too */
        xmlNodePtr nodes[] = { child, new_text (self, sep) };
        insert_nodes_before (block_start (first), nodes, G_N_ELEMENTS (nodes));
      }
  }
}

static int
order_of (const char * const *order, const char *name)
{
  if (order == NULL)
    return G_MAXINT;
  for (int i = 0; order[i] != NULL; i++)
    if (strcmp (order[i], name) == 0)
      return i;
  return G_MAXINT;
}

/* Links @child where the canonical @order puts it. */
static void
insert_ordered (PstConfig          *self,
                xmlNodePtr          parent,
                xmlNodePtr          child,
                const char * const *order)
{
  int rank = order_of (order, (const char *)child->name);
  xmlNodePtr after = NULL;

  for (xmlNodePtr node = parent->children; node != NULL; node = node->next)
    if (node->type == XML_ELEMENT_NODE && node != child &&
        order_of (order, (const char *)node->name) <= rank)
      after = node;
  if (after == NULL && rank == G_MAXINT)
    after = last_element (parent);
  insert_child (self, parent, child, after);
}

/* Unlinks and frees @node with the indentation in front of it. */
static void
remove_node (xmlNodePtr node)
{
  if (is_blank_text (node->prev))
    {
      xmlNodePtr ws = node->prev;
      xmlUnlinkNode (ws);
      xmlFreeNode (ws);
    }
  xmlUnlinkNode (node);
  xmlFreeNode (node);
}

/* Replaces the text of a leaf element, keeping comments inside it. */
static void
set_text (PstConfig *self, xmlNodePtr node, const char *text)
{
  xmlNodePtr next;

  for (xmlNodePtr child = node->children; child != NULL; child = next)
    {
      next = child->next;
      if (child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE)
        {
          xmlUnlinkNode (child);
          xmlFreeNode (child);
        }
    }
  if (node->children == NULL)
    xmlAddChild (node, new_text (self, text));
  else
    xmlAddPrevSibling (node->children, new_text (self, text));
}

static xmlNodePtr
find_or_add (PstConfig          *self,
             xmlNodePtr          parent,
             const char         *name,
             const char * const *order)
{
  xmlNodePtr node = pst_config_node_child (parent, name);

  if (node == NULL)
    {
      node = new_element (self, parent, name, NULL);
      insert_ordered (self, parent, node, order);
    }
  return node;
}

/* Sets (value != NULL) or removes the leaf @name of @parent. */
static void
set_leaf (PstConfig          *self,
          xmlNodePtr          parent,
          const char         *name,
          const char         *value,
          const char * const *order)
{
  xmlNodePtr node = pst_config_node_child (parent, name);

  if (value == NULL)
    {
      if (node != NULL)
        remove_node (node);
      return;
    }
  if (node != NULL)
    set_text (self, node, value);
  else
    insert_ordered (self, parent, new_element (self, parent, name, value), order);
}

/* ------------------------------------------------------------------ */
/* Finding things                                                      */

static xmlNodePtr
root (PstConfig *self)
{
  return xmlDocGetRootElement (self->doc);
}

static xmlNodePtr
nth_child (xmlNodePtr parent, const char *name, guint n)
{
  guint i = 0;

  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    if (pst_config_node_is (child, name) && i++ == n)
      return child;
  return NULL;
}

static xmlNodePtr
find_service (PstConfig *self, guint index, GError **error)
{
  xmlNodePtr node = nth_child (root (self), "service", index);

  if (node == NULL)
    g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                 _("there is no service number %u (the file has %u)"),
                 index + 1, self->services->len);
  return node;
}

static xmlNodePtr
find_property (PstConfig *self, const char *name)
{
  for (xmlNodePtr props = root (self)->children; props != NULL; props = props->next)
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

static gboolean
check_value (const char *value, const char *what, GError **error)
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

static gboolean
check_element_name (const char *name, GError **error)
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
static gboolean
commit (PstConfig *self, GError **error)
{
  g_autofree char *xml = NULL;
  gsize len;

  xml = pst_config_to_xml (self, &len);
  if (!pst_config_load_text (self, xml, len, error))
    return FALSE;
  pst_config_emit_changed (self);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Accept and connect                                                  */

static gboolean
set_url (PstConfig *self, guint service, const char *element, guint i,
         const char *value, GError **error)
{
  xmlNodePtr svc, node;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!check_value (value, element, error) || (svc = find_service (self, service, error)) == NULL)
    return FALSE;
  node = nth_child (svc, element, i);
  if (node == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("service %u has no <%s> number %u"), service + 1, element, i + 1);
      return FALSE;
    }
  set_text (self, node, value);
  return commit (self, error);
}

static gboolean
add_url (PstConfig *self, guint service, const char *element,
         const char *value, GError **error)
{
  xmlNodePtr svc;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!check_value (value, element, error) || (svc = find_service (self, service, error)) == NULL)
    return FALSE;
  insert_ordered (self, svc, new_element (self, svc, element, value), service_order);
  return commit (self, error);
}

static gboolean
remove_url (PstConfig *self, guint service, const char *element, guint i, GError **error)
{
  xmlNodePtr svc, node;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = find_service (self, service, error)) == NULL)
    return FALSE;
  node = nth_child (svc, element, i);
  if (node == NULL)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_NOT_FOUND,
                   _("service %u has no <%s> number %u"), service + 1, element, i + 1);
      return FALSE;
    }
  remove_node (node);
  return commit (self, error);
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
  if ((value != NULL || !may_remove) && !check_value (value, element, error))
    return FALSE;
  if ((svc = find_service (self, service, error)) == NULL)
    return FALSE;
  set_leaf (self, svc, element, value, service_order);
  return commit (self, error);
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

  if (!check_element_name (name, error) ||
      (value != NULL && !check_value (value, name, error)) ||
      (svc = find_service (self, service, error)) == NULL)
    return FALSE;

  props = pst_config_node_child (svc, "properties");
  if (value == NULL && props == NULL)
    return commit (self, error);
  if (props == NULL)
    props = find_or_add (self, svc, "properties", service_order);
  set_leaf (self, props, name, value, service_properties_order);
  if (first_element (props) == NULL)
    remove_node (props);
  return commit (self, error);
}

static gboolean
set_option (PstConfig *self, guint service, const char *element, const char *name,
            const char *value, GError **error)
{
  xmlNodePtr svc, options;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!check_element_name (name, error) ||
      (value != NULL && !check_value (value, name, error)) ||
      (svc = find_service (self, service, error)) == NULL)
    return FALSE;

  options = pst_config_node_child (svc, element);
  if (value == NULL && options == NULL)
    return commit (self, error);
  if (options == NULL)
    options = find_or_add (self, svc, element, service_order);
  set_leaf (self, options, name, value, NULL);
  if (first_element (options) == NULL)
    remove_node (options);
  return commit (self, error);
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
    if (!check_value (origins[i], "allow-origin", error))
      return FALSE;
  if ((svc = find_service (self, service, error)) == NULL)
    return FALSE;

  if (origins == NULL)
    {
      for (xmlNodePtr node = svc->children; node != NULL; node = next)
        {
          next = node->next;
          if (pst_config_node_is (node, "cross-site-constraint"))
            remove_node (node);
        }
      return commit (self, error);
    }

  constraint = find_or_add (self, svc, "cross-site-constraint", service_order);
  for (xmlNodePtr node = constraint->children; node != NULL; node = next)
    {
      next = node->next;
      if (pst_config_node_is (node, "allow-origin"))
        remove_node (node);
    }
  for (guint i = 0; origins[i] != NULL; i++)
    insert_child (self, constraint, new_element (self, constraint, "allow-origin", origins[i]),
                  last_element (constraint));
  return commit (self, error);
}

/* ------------------------------------------------------------------ */
/* Whole services                                                      */

/* A service and the comments right above it, which describe it. */
static xmlNodePtr
block_start (xmlNodePtr node)
{
  xmlNodePtr start = node;

  while (is_blank_text (start->prev) && start->prev->prev != NULL &&
         start->prev->prev->type == XML_COMMENT_NODE &&
         strchr ((const char *)start->prev->content, '\n') != NULL &&
         strstr ((const char *)start->prev->content, "\n\n") == NULL)
    start = start->prev->prev;
  return start;
}

static GPtrArray *
unlink_block (xmlNodePtr node)
{
  GPtrArray *nodes = g_ptr_array_new ();
  xmlNodePtr start = block_start (node), next;

  if (is_blank_text (start->prev))
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
  xmlNodePtr first = nth_child (root (self), "service", 0);

  if (first != NULL)
    {
      xmlNodePtr start = block_start (first);
      if (is_blank_text (start->prev))
        return g_strdup ((const char *)start->prev->content);
    }
  return g_strdup_printf ("\n\n%s", indent_unit (self));
}

gboolean
pst_config_add_service (PstConfig *self, const char *name, const char *type,
                        guint *out_index, GError **error)
{
  xmlNodePtr svc, last;
  g_autofree char *accept = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!check_value (name, "service name", error) || !check_value (type, "service type", error))
    return FALSE;

  svc = new_element (self, root (self), "service", NULL);
  last = nth_child (root (self), "service", self->services->len > 0 ? self->services->len - 1 : 0);
  if (last != NULL)
    {
      g_autofree char *sep = service_separator (self);
      xmlNodePtr nodes[] = { new_text (self, sep), svc };
      insert_nodes_after (last, nodes, G_N_ELEMENTS (nodes));
    }
  else
    insert_ordered (self, root (self), svc, root_order);

  if (strcmp (type, "directory") == 0)
    accept = g_strdup_printf ("http://localhost:8000/%s/", name);
  else
    accept = g_strdup_printf ("ws://localhost:8000/%s", name);
  insert_ordered (self, svc, new_element (self, svc, "name", name), service_order);
  insert_ordered (self, svc, new_element (self, svc, "accept", accept), service_order);
  if (strcmp (type, "proxy") == 0)
    insert_ordered (self, svc, new_element (self, svc, "connect", "tcp://localhost:5000"), service_order);
  insert_ordered (self, svc, new_element (self, svc, "type", type), service_order);
  if (strcmp (type, "directory") == 0)
    {
      xmlNodePtr props = find_or_add (self, svc, "properties", service_order);
      set_leaf (self, props, "directory", "web", service_properties_order);
    }

  if (out_index != NULL)
    *out_index = self->services->len;
  return commit (self, error);
}

gboolean
pst_config_duplicate_service (PstConfig *self, guint service, guint *out_index, GError **error)
{
  xmlNodePtr svc, copy, name;
  g_autofree char *sep = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = find_service (self, service, error)) == NULL)
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
    xmlNodePtr nodes[] = { new_text (self, sep), copy };
    insert_nodes_after (svc, nodes, G_N_ELEMENTS (nodes));
  }
  name = pst_config_node_child (copy, "name");
  if (name != NULL)
    {
      g_autofree char *old = pst_config_node_text (name);
      g_autofree char *new_name = g_strdup_printf ("%s-copy", old);
      set_text (self, name, new_name);
    }
  if (out_index != NULL)
    *out_index = service + 1;
  return commit (self, error);
}

gboolean
pst_config_remove_service (PstConfig *self, guint service, GError **error)
{
  xmlNodePtr svc;
  g_autoptr(GPtrArray) nodes = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = find_service (self, service, error)) == NULL)
    return FALSE;
  nodes = unlink_block (svc);
  for (guint i = 0; i < nodes->len; i++)
    xmlFreeNode (g_ptr_array_index (nodes, i));
  return commit (self, error);
}

gboolean
pst_config_move_service (PstConfig *self, guint service, guint new_index, GError **error)
{
  xmlNodePtr svc, target;
  g_autoptr(GPtrArray) nodes = NULL;
  g_autofree char *sep = NULL;
  guint n = self->services->len;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if ((svc = find_service (self, service, error)) == NULL)
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
  g_ptr_array_insert (nodes, new_index == n - 1 ? 0 : -1, new_text (self, sep));

  if (new_index == n - 1)
    {
      target = nth_child (root (self), "service", n - 2);
      insert_nodes_after (target, (xmlNodePtr *)nodes->pdata, nodes->len);
    }
  else
    {
      target = block_start (nth_child (root (self), "service", new_index));
      insert_nodes_before (target, (xmlNodePtr *)nodes->pdata, nodes->len);
    }
  return commit (self, error);
}

/* ------------------------------------------------------------------ */
/* Global properties                                                   */

gboolean
pst_config_set_property (PstConfig *self, const char *name, const char *value, GError **error)
{
  xmlNodePtr prop, props;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  if (!check_value (name, "property name", error))
    return FALSE;
  if (value == NULL || !g_utf8_validate (value, -1, NULL))
    return check_value (NULL, "property value", error);

  prop = find_property (self, name);
  if (prop != NULL)
    {
      set_leaf (self, prop, "value", value, property_order);
      return commit (self, error);
    }

  props = find_or_add (self, root (self), "properties", root_order);
  prop = new_element (self, props, "property", NULL);
  insert_child (self, props, prop, last_element (props));
  insert_child (self, prop, new_element (self, prop, "name", name), NULL);
  insert_child (self, prop, new_element (self, prop, "value", value), last_element (prop));
  return commit (self, error);
}

static gboolean
rename_property (PstConfig *self, const char *name, const char *new_name,
                 gboolean references, GError **error)
{
  xmlNodePtr prop;

  if (!check_value (new_name, "property name", error))
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
  set_leaf (self, prop, "name", new_name, property_order);
  return commit (self, error);
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
  remove_node (prop);
  return commit (self, error);
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */

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

  if (order_of (store_order, field) == G_MAXINT)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_INVALID,
                   _("a store has no field “%s” (it has type, file and password-file)"), field);
      return FALSE;
    }
  if (value != NULL && !check_value (value, field, error))
    return FALSE;

  security = pst_config_node_child (root (self), "security");
  store = security != NULL ? pst_config_node_child (security, store_element (kind)) : NULL;
  if (value == NULL && store == NULL)
    return commit (self, error);
  if (security == NULL)
    security = find_or_add (self, root (self), "security", root_order);
  if (store == NULL)
    store = find_or_add (self, security, store_element (kind), security_order);
  set_leaf (self, store, field, value, store_order);
  return commit (self, error);
}

gboolean
pst_config_remove_store (PstConfig *self, PstStoreKind kind, GError **error)
{
  xmlNodePtr security, store;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);

  security = pst_config_node_child (root (self), "security");
  store = security != NULL ? pst_config_node_child (security, store_element (kind)) : NULL;
  if (store != NULL)
    remove_node (store);
  return commit (self, error);
}
