/* pst-config-uses.c: where a global property is referred to with ${name}, and renaming those references
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"

/* An element of the gateway namespace (foreign ones are neither
 * substituted by the parser nor reported here). */
static gboolean
is_ours (xmlNodePtr node)
{
  return node->type == XML_ELEMENT_NODE &&
         pst_config_node_is (node, (const char *)node->name);
}

/* Calls @func on every ${…} of @text, scanned the way the parser
 * substitutes them (from "${" to the next "}"); stops when it returns
 * FALSE. */
typedef gboolean (*RefFunc) (const char *start, const char *end, gpointer data);

static void
foreach_reference (const char *text, RefFunc func, gpointer data)
{
  const char *p = text;

  while ((p = strstr (p, "${")) != NULL)
    {
      const char *end = strchr (p + 2, '}');

      if (end == NULL || !func (p, end, data))
        break;
      p = end + 1;
    }
}

typedef struct {
  const char *name;
  gboolean    found;
} Match;

static gboolean
match_cb (const char *start, const char *end, gpointer data)
{
  Match *match = data;
  gsize len = end - start - 2;

  if (strlen (match->name) == len && strncmp (start + 2, match->name, len) == 0)
    match->found = TRUE;
  return !match->found;
}

static gboolean
refers_to (const char *text, const char *name)
{
  Match match = { name, FALSE };

  foreach_reference (text, match_cb, &match);
  return match.found;
}

static guint
node_line (xmlNodePtr node)
{
  long line = xmlGetLineNo (node);

  return line > 0 ? (guint)line : 0;
}

/* Every element below @parent whose own text refers to @name, with its
 * path below the owner in @path. */
static void
collect (GPtrArray          *uses,
         xmlNodePtr          parent,
         PstPropertyUseKind  kind,
         const char         *owner,
         GString            *path,
         const char         *name)
{
  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    {
      gsize len = path->len;
      g_autofree char *text = NULL;

      if (!is_ours (child))
        continue;
      if (path->len > 0)
        g_string_append_c (path, '/');
      g_string_append (path, (const char *)child->name);

      text = pst_config_node_text (child);
      if (refers_to (text, name))
        {
          PstPropertyUse *use = g_new0 (PstPropertyUse, 1);

          use->kind = kind;
          use->owner = g_strdup (owner);
          use->element = g_strdup (path->str);
          use->line = node_line (child);
          g_ptr_array_add (uses, use);
        }
      collect (uses, child, kind, owner, path, name);
      g_string_truncate (path, len);
    }
}

static char *
child_text (xmlNodePtr node, const char *name)
{
  xmlNodePtr child = pst_config_node_child (node, name);

  return child != NULL ? pst_config_node_text (child) : NULL;
}

/**
 * pst_config_dup_property_uses:
 * @self: a config
 * @name: a global property's name (need not be defined)
 *
 * Finds the elements whose text refers to `${name}`: service fields and
 * options, other properties' values, store paths, service defaults.
 * Comments are not uses.  Line numbers are those of the text a save
 * would write.
 *
 * Returns: (transfer full) (element-type PstPropertyUse): the uses in
 *   document order, empty when there are none
 */
GPtrArray *
pst_config_dup_property_uses (PstConfig  *self,
                              const char *name)
{
  g_autoptr(GPtrArray) uses = NULL;
  g_autoptr(GString) path = NULL;
  xmlNodePtr root;

  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  uses = g_ptr_array_new_with_free_func ((GDestroyNotify)pst_property_use_free);
  path = g_string_new (NULL);
  root = xmlDocGetRootElement (self->doc);

  for (xmlNodePtr top = root->children; top != NULL; top = top->next)
    {
      if (!is_ours (top))
        continue;

      if (pst_config_node_is (top, "service"))
        {
          g_autofree char *service = child_text (top, "name");

          collect (uses, top, PST_PROPERTY_USE_SERVICE,
                   service != NULL && *service != '\0' ? service : NULL, path, name);
        }
      else if (pst_config_node_is (top, "properties"))
        {
          for (xmlNodePtr prop = top->children; prop != NULL; prop = prop->next)
            {
              g_autofree char *owner = NULL;

              if (!pst_config_node_is (prop, "property"))
                continue;
              owner = child_text (prop, "name");
              collect (uses, prop, PST_PROPERTY_USE_PROPERTY, owner, path, name);
            }
        }
      else if (pst_config_node_is (top, "security"))
        {
          /* "keystore, file" says more than "security, keystore/file" */
          for (xmlNodePtr store = top->children; store != NULL; store = store->next)
            if (is_ours (store))
              collect (uses, store, PST_PROPERTY_USE_OTHER, (const char *)store->name, path, name);
        }
      else
        collect (uses, top, PST_PROPERTY_USE_OTHER, (const char *)top->name, path, name);
    }
  return g_steal_pointer (&uses);
}

void
pst_property_use_free (PstPropertyUse *use)
{
  if (use == NULL)
    return;
  g_free (use->owner);
  g_free (use->element);
  g_free (use);
}

/**
 * pst_property_use_to_string:
 * @use: a use from pst_config_dup_property_uses()
 *
 * Returns: (transfer full): a translated one-line description, such as
 *   “service “echo”, accept (line 34)”
 */
char *
pst_property_use_to_string (const PstPropertyUse *use)
{
  g_autofree char *owner = NULL;

  g_return_val_if_fail (use != NULL, NULL);

  switch (use->kind)
    {
    case PST_PROPERTY_USE_SERVICE:
      if (use->owner != NULL)
        owner = g_strdup_printf (_("service “%s”"), use->owner);
      else
        owner = g_strdup (_("a service without a name"));
      break;
    case PST_PROPERTY_USE_PROPERTY:
      owner = g_strdup_printf (_("property “%s”"), use->owner != NULL ? use->owner : "");
      break;
    case PST_PROPERTY_USE_OTHER:
    default:
      owner = g_strdup (use->owner);
      break;
    }
  /* TRANSLATORS: where a property is used: "service “echo”, accept (line 34)" */
  return g_strdup_printf (_("%s, %s (line %u)"), owner, use->element, use->line);
}

/* ------------------------------------------------------------------ */
/* Renaming references                                                 */

typedef struct {
  const char *name;
  const char *new_name;
  GString    *out;
  const char *copied;   /* end of what is in out */
  guint       n;
} Rewrite;

static gboolean
rewrite_cb (const char *start, const char *end, gpointer data)
{
  Rewrite *rw = data;
  gsize len = end - start - 2;

  if (strlen (rw->name) == len && strncmp (start + 2, rw->name, len) == 0)
    {
      g_string_append_len (rw->out, rw->copied, start - rw->copied);
      g_string_append_printf (rw->out, "${%s}", rw->new_name);
      rw->copied = end + 1;
      rw->n++;
    }
  return TRUE;
}

static guint
rewrite_tree (xmlNodePtr parent, const char *name, const char *new_name)
{
  guint n = 0;

  for (xmlNodePtr child = parent->children; child != NULL; child = child->next)
    {
      if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
          child->content != NULL && is_ours (parent))
        {
          const char *text = (const char *)child->content;
          g_autoptr(GString) out = g_string_new (NULL);
          Rewrite rw = { name, new_name, out, text, 0 };

          foreach_reference (text, rewrite_cb, &rw);
          if (rw.n > 0)
            {
              g_string_append (out, rw.copied);
              /* a text node's content is stored as is, not parsed */
              xmlNodeSetContent (child, (const xmlChar *)out->str);
              n += rw.n;
            }
        }
      else if (child->type == XML_ELEMENT_NODE)
        n += rewrite_tree (child, name, new_name);
    }
  return n;
}

guint
pst_config_rewrite_references (PstConfig  *self,
                               const char *name,
                               const char *new_name)
{
  return rewrite_tree (xmlDocGetRootElement (self->doc), name, new_name);
}
