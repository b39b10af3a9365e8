/* pst-config-edit-tree.c: libxml2 helpers for edits: canonical order, indentation, text nodes
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-config-private.h"

/* Canonical child order, used to place an element that does not exist yet. */
const char * const pst_edit_service_order[] = {
  "name", "description", "accept", "connect", "balance", "type", "properties",
  "accept-options", "connect-options", "realm-name", "authorization-constraint",
  "mime-mapping", "cross-site-constraint", NULL
};
const char * const pst_edit_root_order[] = {
  "properties", "service", "service-defaults", "security", NULL
};
const char * const pst_edit_service_properties_order[] = {
  "directory", "welcome-file", "error-pages-directory", "options", "location", NULL
};

/* ------------------------------------------------------------------ */
/* Whitespace-keeping tree helpers                                     */

gboolean
pst_edit_is_blank_text (xmlNodePtr node)
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

  if (!pst_edit_is_blank_text (node->prev))
    return g_strdup ("");
  text = (const char *)node->prev->content;
  nl = strrchr (text, '\n');
  return g_strdup (nl != NULL ? nl + 1 : text);
}

const char *
pst_edit_indent_unit (PstConfig *self)
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

xmlNodePtr
pst_edit_first_element (xmlNodePtr parent)
{
  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE)
      return child;
  return NULL;
}

xmlNodePtr
pst_edit_last_element (xmlNodePtr parent)
{
  for (xmlNodePtr child = parent->last; child != NULL; child = child->prev)
    if (child->type == XML_ELEMENT_NODE)
      return child;
  return NULL;
}

/* A service and the comments right above it, which describe it. */
xmlNodePtr
pst_edit_block_start (xmlNodePtr node)
{
  xmlNodePtr start = node;

  while (pst_edit_is_blank_text (start->prev) && start->prev->prev != NULL &&
         start->prev->prev->type == XML_COMMENT_NODE &&
         strchr ((const char *)start->prev->content, '\n') != NULL &&
         strstr ((const char *)start->prev->content, "\n\n") == NULL)
    start = start->prev->prev;
  return start;
}

/* The separator in front of @parent's first element child ("\n    "),
 * or one made from @parent's own indentation. */
static char *
child_separator (PstConfig *self, xmlNodePtr parent)
{
  xmlNodePtr first = pst_edit_first_element (parent);
  g_autofree char *indent = NULL;

  if (first != NULL)
    first = pst_edit_block_start (first);
  if (first != NULL && pst_edit_is_blank_text (first->prev))
    return g_strdup ((const char *)first->prev->content);
  indent = indent_of (parent);
  return g_strdup_printf ("\n%s%s", indent, pst_edit_indent_unit (self));
}

xmlNodePtr
pst_edit_new_text (PstConfig *self, const char *text)
{
  return xmlNewDocText (self->doc, (const xmlChar *)text);
}

xmlNodePtr
pst_edit_new_element (PstConfig  *self,
                      xmlNodePtr  parent,
                      const char *name,
                      const char *text)
{
  xmlNodePtr node = xmlNewDocNode (self->doc, parent->ns, (const xmlChar *)name, NULL);

  if (text != NULL)
    xmlAddChild (node, pst_edit_new_text (self, text));
  return node;
}

/* libxml2 merges a text node added next to another text node (and frees
 * it), so sequences are inserted with a non-text node at each end that
 * touches existing text: these two helpers insert in an order where every
 * text node lands between two elements or comments. */
void
pst_edit_insert_nodes_after (xmlNodePtr anchor, xmlNodePtr *nodes, guint n)
{
  for (guint i = n; i > 0; i--)
    xmlAddNextSibling (anchor, nodes[i - 1]);
}

void
pst_edit_insert_nodes_before (xmlNodePtr anchor, xmlNodePtr *nodes, guint n)
{
  for (guint i = 0; i < n; i++)
    xmlAddPrevSibling (anchor, nodes[i]);
}

/* Links @child into @parent after @after (NULL: before the first element),
 * indented like its siblings. */
void
pst_edit_insert_child (PstConfig  *self,
                       xmlNodePtr  parent,
                       xmlNodePtr  child,
                       xmlNodePtr  after)
{
  xmlNodePtr first = pst_edit_first_element (parent);

  if (first == NULL)
    {
      g_autofree char *indent = indent_of (parent);
      g_autofree char *open = g_strdup_printf ("\n%s%s", indent, pst_edit_indent_unit (self));
      g_autofree char *close = g_strdup_printf ("\n%s", indent);
      xmlNodePtr next;

      for (xmlNodePtr node = parent->children; node != NULL; node = next)
        {
          next = node->next;
          if (pst_edit_is_blank_text (node))
            {
              xmlUnlinkNode (node);
              xmlFreeNode (node);
            }
        }
      xmlAddChild (parent, pst_edit_new_text (self, open));
      xmlAddChild (parent, child);
      xmlAddChild (parent, pst_edit_new_text (self, close));
      return;
    }

  {
    g_autofree char *sep = child_separator (self, parent);
    if (after != NULL)
      {
        xmlNodePtr nodes[] = { pst_edit_new_text (self, sep), child };
        pst_edit_insert_nodes_after (after, nodes, G_N_ELEMENTS (nodes));
      }
    else
      {
        /* before the comments that describe the first element, too */
        xmlNodePtr nodes[] = { child, pst_edit_new_text (self, sep) };
        pst_edit_insert_nodes_before (pst_edit_block_start (first), nodes, G_N_ELEMENTS (nodes));
      }
  }
}

int
pst_edit_order_of (const char * const *order, const char *name)
{
  if (order == NULL)
    return G_MAXINT;
  for (int i = 0; order[i] != NULL; i++)
    if (strcmp (order[i], name) == 0)
      return i;
  return G_MAXINT;
}

/* Links @child where the canonical @order puts it. */
void
pst_edit_insert_ordered (PstConfig          *self,
                         xmlNodePtr          parent,
                         xmlNodePtr          child,
                         const char * const *order)
{
  int rank = pst_edit_order_of (order, (const char *)child->name);
  xmlNodePtr after = NULL;

  for (xmlNodePtr node = parent->children; node != NULL; node = node->next)
    if (node->type == XML_ELEMENT_NODE && node != child &&
        pst_edit_order_of (order, (const char *)node->name) <= rank)
      after = node;
  if (after == NULL && rank == G_MAXINT)
    after = pst_edit_last_element (parent);
  pst_edit_insert_child (self, parent, child, after);
}

/* Unlinks and frees @node with the indentation in front of it. */
void
pst_edit_remove_node (xmlNodePtr node)
{
  if (pst_edit_is_blank_text (node->prev))
    {
      xmlNodePtr ws = node->prev;
      xmlUnlinkNode (ws);
      xmlFreeNode (ws);
    }
  xmlUnlinkNode (node);
  xmlFreeNode (node);
}

/* Replaces the text of a leaf element, keeping comments inside it. */
void
pst_edit_set_text (PstConfig *self, xmlNodePtr node, const char *text)
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
    xmlAddChild (node, pst_edit_new_text (self, text));
  else
    xmlAddPrevSibling (node->children, pst_edit_new_text (self, text));
}

xmlNodePtr
pst_edit_find_or_add (PstConfig          *self,
                      xmlNodePtr          parent,
                      const char         *name,
                      const char * const *order)
{
  xmlNodePtr node = pst_config_node_child (parent, name);

  if (node == NULL)
    {
      node = pst_edit_new_element (self, parent, name, NULL);
      pst_edit_insert_ordered (self, parent, node, order);
    }
  return node;
}

/* Sets (value != NULL) or removes the leaf @name of @parent. */
void
pst_edit_set_leaf (PstConfig          *self,
                   xmlNodePtr          parent,
                   const char         *name,
                   const char         *value,
                   const char * const *order)
{
  xmlNodePtr node = pst_config_node_child (parent, name);

  if (value == NULL)
    {
      if (node != NULL)
        pst_edit_remove_node (node);
      return;
    }
  if (node != NULL)
    pst_edit_set_text (self, node, value);
  else
    pst_edit_insert_ordered (self, parent, pst_edit_new_element (self, parent, name, value),
                             order);
}

/* ------------------------------------------------------------------ */
/* Finding things                                                      */

xmlNodePtr
pst_edit_root (PstConfig *self)
{
  return xmlDocGetRootElement (self->doc);
}

xmlNodePtr
pst_edit_nth_child (xmlNodePtr parent, const char *name, guint n)
{
  guint i = 0;

  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    if (pst_config_node_is (child, name) && i++ == n)
      return child;
  return NULL;
}
