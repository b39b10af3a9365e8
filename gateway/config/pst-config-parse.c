/* pst-config-parse.c: reading gateway-config.xml into the PstConfig views
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "pst-config-private.h"

static const char * const gateway_namespaces[] = {
  "http://xmlns.kaazing.org/2016/06/gateway",
  "http://xmlns.kaazing.org/2015/11/gateway",
  "http://xmlns.kaazing.org/2014/09/gateway",
};

const char *
pst_config_gateway_ns_uri (guint i)
{
  return i < G_N_ELEMENTS (gateway_namespaces) ? gateway_namespaces[i] : NULL;
}

static gboolean
ns_is_ours (xmlNsPtr ns)
{
  if (ns == NULL || ns->href == NULL)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (gateway_namespaces); i++)
    if (strcmp ((const char *)ns->href, gateway_namespaces[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
pst_config_node_is (xmlNodePtr  node,
                    const char *name)
{
  return node != NULL && node->type == XML_ELEMENT_NODE &&
         ns_is_ours (node->ns) &&
         strcmp ((const char *)node->name, name) == 0;
}

xmlNodePtr
pst_config_node_child (xmlNodePtr  node,
                       const char *name)
{
  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    if (pst_config_node_is (child, name))
      return child;
  return NULL;
}

/* The element's text, trimmed; CDATA included, comments not. */
char *
pst_config_node_text (xmlNodePtr node)
{
  GString *text = g_string_new (NULL);

  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    if ((child->type == XML_TEXT_NODE || child->type == XML_CDATA_SECTION_NODE) &&
        child->content != NULL)
      g_string_append (text, (const char *)child->content);
  g_strstrip (text->str);
  return g_string_free (text, FALSE);
}

static guint
node_line (xmlNodePtr node)
{
  long line = xmlGetLineNo (node);
  return line > 0 ? (guint)line : 0;
}

/* ------------------------------------------------------------------ */
/* Parsing the text                                                    */

typedef struct {
  gboolean have_error;
  int      line;
  int      column;
  char    *message;
  gboolean doctype;
} ParseState;

static void
structured_error (void *user_data, xmlErrorPtr error)
{
  ParseState *state = ((xmlParserCtxtPtr)user_data)->_private;

  if (state->have_error || error->level < XML_ERR_ERROR)
    return;
  state->have_error = TRUE;
  state->line = error->line;
  state->column = error->int2;
  state->message = g_strchomp (g_strdup (error->message != NULL ? error->message : "?"));
}

/* A document type declaration is refused before its internal subset is
 * read: entity declarations are how XML bombs and external entities come
 * in, and a gateway config never needs one. */
static void
internal_subset (void          *ctx,
                 const xmlChar *name,
                 const xmlChar *external_id,
                 const xmlChar *system_id)
{
  xmlParserCtxtPtr ctxt = ctx;
  ParseState *state = ctxt->_private;

  if (!state->have_error)
    {
      state->have_error = TRUE;
      state->doctype = TRUE;
      state->line = ctxt->input != NULL ? ctxt->input->line : 1;
      state->column = 1;
      state->message = g_strdup (_("a <!DOCTYPE> declaration is not allowed in a gateway configuration; remove it"));
    }
  xmlStopParser (ctxt);
}

static void
index_lines (PstConfig *self)
{
  gsize start = 0;

  g_clear_pointer (&self->line_offsets, g_array_unref);
  self->line_offsets = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_array_append_val (self->line_offsets, start);
  for (gsize i = 0; i < self->text_len; i++)
    if (self->text[i] == '\n')
      {
        gsize next = i + 1;
        g_array_append_val (self->line_offsets, next);
      }
}

void
pst_config_clear_views (PstConfig *self)
{
  g_clear_pointer (&self->services, g_ptr_array_unref);
  g_clear_pointer (&self->property_raw, g_hash_table_unref);
  g_clear_pointer (&self->property_values, g_hash_table_unref);
  g_clear_pointer (&self->property_lines, g_hash_table_unref);
  g_clear_pointer (&self->property_names, g_ptr_array_unref);
  g_clear_object (&self->defaults);
  g_clear_pointer (&self->parse_diagnostics, g_ptr_array_unref);
  g_clear_pointer (&self->keystore.type, g_free);
  g_clear_pointer (&self->keystore.file, g_free);
  g_clear_pointer (&self->keystore.password_file, g_free);
  g_clear_pointer (&self->truststore.type, g_free);
  g_clear_pointer (&self->truststore.file, g_free);
  g_clear_pointer (&self->truststore.password_file, g_free);
  memset (&self->keystore, 0, sizeof self->keystore);
  memset (&self->truststore, 0, sizeof self->truststore);
  memset (&self->keystore_lines, 0, sizeof self->keystore_lines);
  memset (&self->truststore_lines, 0, sizeof self->truststore_lines);
}

static void build_views (PstConfig *self);

/* Parses @data and, on success, replaces the document and every view. */
gboolean
pst_config_load_text (PstConfig   *self,
                      const char  *data,
                      gsize        len,
                      GError     **error)
{
  xmlParserCtxtPtr ctxt;
  xmlDocPtr doc;
  xmlNodePtr root;
  ParseState state = { 0 };
  const char *p;
  int options;

  if (len > PST_CONFIG_MAX_SIZE)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED,
                   _("%s:1:1: error: the file is %lu bytes, larger than the %d bytes a configuration may have"),
                   self->display_path, (unsigned long) len, PST_CONFIG_MAX_SIZE);
      return FALSE;
    }

  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    g_error ("out of memory");
  ctxt->_private = &state;
  ctxt->sax->serror = structured_error;
  ctxt->sax->internalSubset = internal_subset;
  /* No network, no entity substitution, no DTD loading or validation;
   * big line numbers so that lines past 65535 are right. */
  options = XML_PARSE_NONET | XML_PARSE_BIG_LINES | XML_PARSE_NOWARNING | XML_PARSE_NOERROR;
  doc = xmlCtxtReadMemory (ctxt, data, (int)len, self->path, NULL, options);
  if (!state.have_error && (doc == NULL || !ctxt->wellFormed))
    {
      state.have_error = TRUE;
      state.line = ctxt->input != NULL ? ctxt->input->line : 1;
      state.column = ctxt->input != NULL ? ctxt->input->col : 1;
      state.message = g_strdup (_("the file is not well-formed XML"));
    }
  xmlFreeParserCtxt (ctxt);

  if (state.have_error)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED,
                   "%s:%d:%d: error: %s%s", self->display_path,
                   MAX (state.line, 1), MAX (state.column, 1), state.message,
                   state.doctype ? "" : _("; fix the XML syntax there"));
      g_free (state.message);
      g_clear_pointer (&doc, xmlFreeDoc);
      return FALSE;
    }

  root = xmlDocGetRootElement (doc);
  if (root == NULL || !pst_config_node_is (root, "gateway-config"))
    {
      const char *name = root != NULL ? (const char *)root->name : "";
      const char *href = root != NULL && root->ns != NULL ? (const char *)root->ns->href : NULL;

      if (root != NULL && strcmp (name, "gateway-config") == 0 && href != NULL)
        g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_ROOT,
                     _("%s:%ld:1: error: <gateway-config> is in the unknown namespace “%s”; use %s"),
                     self->display_path, xmlGetLineNo (root), href, gateway_namespaces[0]);
      else
        g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_ROOT,
                     _("%s:%ld:1: error: the root element is <%s>, not <gateway-config>; this is not a gateway configuration"),
                     self->display_path, root != NULL ? xmlGetLineNo (root) : 1L, name);
      xmlFreeDoc (doc);
      return FALSE;
    }

  g_clear_pointer (&self->doc, xmlFreeDoc);
  self->doc = doc;
  g_free (self->text);
  self->text = g_strndup (data, len);
  self->text_len = len;
  index_lines (self);

  p = self->text;
  if (g_str_has_prefix (p, "\xEF\xBB\xBF"))
    p += 3;
  self->has_declaration = g_str_has_prefix (p, "<?xml") && strstr (p, "?>") != NULL;
  self->ends_with_newline = len > 0 && data[len - 1] == '\n';

  build_views (self);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Property substitution                                               */

/* What one expansion did. */
typedef struct {
  gboolean  substituted;  /* at least one ${…} was replaced */
  char     *overflow;     /* the property whose value took it past the cap */
} Expansion;

/* Replaces every ${name} with the resolved property value.  An unknown
 * name is kept as written and, when @diagnostics is given, reported as an
 * error at @line; a name that is defined but cannot be resolved (a cycle)
 * was reported at its definition and is kept as written.  Returns NULL
 * (and sets @ex->overflow) rather than build more than
 * PST_PROPERTY_MAX_VALUE bytes: values that refer to each other several
 * times grow exponentially ("billion laughs"). */
static char *
expand (PstConfig  *self,
        const char *text,
        guint       line,
        const char *service,
        GPtrArray  *diagnostics,
        Expansion  *ex)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = text;

  while (*p != '\0')
    {
      const char *start = strstr (p, "${");
      const char *end;
      g_autofree char *name = NULL;
      const char *value;

      if (start == NULL)
        {
          g_string_append (out, p);
          break;
        }
      g_string_append_len (out, p, start - p);
      end = strchr (start + 2, '}');
      if (end == NULL)
        {
          g_string_append (out, start);
          break;
        }
      name = g_strndup (start + 2, end - start - 2);
      value = g_hash_table_lookup (self->property_values, name);
      if (value != NULL)
        {
          if (out->len + strlen (value) > PST_PROPERTY_MAX_VALUE)
            {
              ex->overflow = g_steal_pointer (&name);
              return NULL;
            }
          g_string_append (out, value);
          ex->substituted = TRUE;
        }
      else
        {
          g_string_append_len (out, start, end + 1 - start);
          if (diagnostics != NULL && !g_hash_table_contains (self->property_raw, name))
            pst_config_add_diagnostic (self, diagnostics, PST_SEVERITY_ERROR, line, NULL,
                                       service, "property",
                                       _("undefined property “${%s}”; define it under <properties> or fix its name"),
                                       name);
        }
      p = end + 1;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The names @text refers to with ${…}. */
static GPtrArray *
references (const char *text)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while ((p = strstr (p, "${")) != NULL)
    {
      const char *end = strchr (p + 2, '}');
      if (end == NULL)
        break;
      g_ptr_array_add (names, g_strndup (p + 2, end - p - 2));
      p = end + 1;
    }
  return names;
}

/* Text of @node with properties substituted; diagnostics go to the parse list. */
static char *
node_value (PstConfig  *self,
            xmlNodePtr  node,
            const char *service)
{
  g_autofree char *raw = pst_config_node_text (node);
  Expansion ex = { 0 };
  char *value;

  value = expand (self, raw, node_line (node), service, self->parse_diagnostics, &ex);
  if (value == NULL)
    {
      /* Kept as written: checks skip text with ${…} left in it. */
      pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR, node_line (node),
                                 (const char *) node->name, service, "property",
                                 _("<%s> would be longer than %u KiB once “${%s}” is substituted; shorten the property or refer to it fewer times"),
                                 (const char *) node->name, PST_PROPERTY_MAX_VALUE / 1024, ex.overflow);
      g_free (ex.overflow);
      return g_steal_pointer (&raw);
    }
  if (ex.substituted)
    {
      self->substituted_total += strlen (value);
      if (self->substituted_total > PST_PROPERTY_MAX_TOTAL)
        {
          /* Reported once: every later text is past the cap too. */
          if (!self->substituted_overflow)
            pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR, node_line (node),
                                       (const char *) node->name, service, "property",
                                       _("the text of this file passes %u KiB here once properties are substituted; refer to long properties fewer times"),
                                       PST_PROPERTY_MAX_TOTAL / 1024);
          self->substituted_overflow = TRUE;
          g_free (value);
          return g_steal_pointer (&raw);
        }
    }
  return value;
}

/* ------------------------------------------------------------------ */
/* Known elements                                                      */

typedef enum {
  CTX_ROOT,
  CTX_PROPERTIES,
  CTX_PROPERTY,
  CTX_SERVICE,
  CTX_SERVICE_PROPERTIES,
  CTX_LOCATION,
  CTX_OPTIONS,
  CTX_CROSS_SITE,
  CTX_DEFAULTS,
  CTX_SECURITY,
  CTX_STORE,
  CTX_LEAF,
} Context;

static const struct {
  Context     parent;
  const char *name;
  Context     context;
} known_elements[] = {
  { CTX_ROOT, "properties", CTX_PROPERTIES },
  { CTX_ROOT, "service", CTX_SERVICE },
  { CTX_ROOT, "service-defaults", CTX_DEFAULTS },
  { CTX_ROOT, "security", CTX_SECURITY },
  { CTX_PROPERTIES, "property", CTX_PROPERTY },
  { CTX_PROPERTY, "name", CTX_LEAF },
  { CTX_PROPERTY, "value", CTX_LEAF },
  { CTX_SERVICE, "name", CTX_LEAF },
  { CTX_SERVICE, "description", CTX_LEAF },
  { CTX_SERVICE, "accept", CTX_LEAF },
  { CTX_SERVICE, "connect", CTX_LEAF },
  { CTX_SERVICE, "type", CTX_LEAF },
  { CTX_SERVICE, "properties", CTX_SERVICE_PROPERTIES },
  { CTX_SERVICE, "accept-options", CTX_OPTIONS },
  { CTX_SERVICE, "connect-options", CTX_OPTIONS },
  { CTX_SERVICE, "cross-site-constraint", CTX_CROSS_SITE },
  { CTX_SERVICE_PROPERTIES, "directory", CTX_LEAF },
  { CTX_SERVICE_PROPERTIES, "welcome-file", CTX_LEAF },
  { CTX_SERVICE_PROPERTIES, "error-pages-directory", CTX_LEAF },
  { CTX_SERVICE_PROPERTIES, "options", CTX_LEAF },
  { CTX_SERVICE_PROPERTIES, "location", CTX_LOCATION },
  { CTX_LOCATION, "patterns", CTX_LEAF },
  { CTX_LOCATION, "cache-control", CTX_LEAF },
  { CTX_CROSS_SITE, "allow-origin", CTX_LEAF },
  { CTX_DEFAULTS, "accept-options", CTX_OPTIONS },
  { CTX_SECURITY, "keystore", CTX_STORE },
  { CTX_SECURITY, "truststore", CTX_STORE },
  { CTX_STORE, "type", CTX_LEAF },
  { CTX_STORE, "file", CTX_LEAF },
  { CTX_STORE, "password-file", CTX_LEAF },
  { CTX_STORE, "password-keyring", CTX_LEAF },
};

static const char * const known_options[] = {
  "ssl.encryption", "ssl.verify-client", "ssl.protocols", "ssl.ciphers",
  "tcp.bind", "ssl.bind", "http.bind", "https.bind", "ws.bind", "wss.bind",
  "ws.maximum.message.size", "ws.inactivity.timeout", "http.keepalive.timeout",
  "tcp.maximum.connections.per.address", "tcp.proxy-protocol",
  NULL
};

/* Elements whose whole point is to restrict access: ignoring them would
 * open what the author meant to close, so they are errors, not warnings. */
static const char * const loosening_elements[] = {
  "authorization-constraint", "auth-constraint", "realm-name", "realm",
  "require-role", "require-valid-user", "login-module", "login-modules",
  "authentication", "http.realm", "socks.ssl.verify-client",
  NULL
};

static gboolean
known_option (const char *name)
{
  return g_strv_contains (known_options, name);
}

static void
check_unknown (PstConfig  *self,
               xmlNodePtr  node,
               Context     context,
               const char *service)
{
  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    {
      const char *name = (const char *)child->name;
      gboolean found = FALSE;
      Context child_context = CTX_LEAF;
      guint line = node_line (child);

      if (child->type != XML_ELEMENT_NODE)
        continue;

      if (ns_is_ours (child->ns))
        {
          if (context == CTX_OPTIONS && known_option (name))
            {
              found = TRUE;
              child_context = CTX_LEAF;
            }
          for (gsize i = 0; !found && i < G_N_ELEMENTS (known_elements); i++)
            if (known_elements[i].parent == context && strcmp (known_elements[i].name, name) == 0)
              {
                found = TRUE;
                child_context = known_elements[i].context;
              }
        }

      if (found)
        {
          if (child_context == CTX_SERVICE)
            {
              xmlNodePtr name_node = pst_config_node_child (child, "name");
              g_autofree char *service_name = name_node != NULL ? pst_config_node_text (name_node) : NULL;
              check_unknown (self, child, child_context, service_name);
            }
          else
            check_unknown (self, child, child_context, service);
        }
      else if (ns_is_ours (child->ns) && g_strv_contains (loosening_elements, name))
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR, line, name,
                                   service, name,
                                   _("<%s> is not supported yet; the gateway would be less secure if it ignored it, so remove it (and protect the service another way, e.g. ssl.verify-client)"),
                                   name);
      else if (!ns_is_ours (child->ns))
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_WARNING, line, name,
                                   service, name,
                                   _("<%s> in namespace “%s” is not part of the gateway configuration and is ignored; remove it"),
                                   name, child->ns->href);
      else if (context == CTX_OPTIONS)
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_WARNING, line, name,
                                   service, name,
                                   _("option <%s> is not supported and is ignored; remove it or check its spelling (supported: ssl.encryption, ssl.verify-client, ssl.protocols, ssl.ciphers, *.bind, ws.maximum.message.size, ws.inactivity.timeout, http.keepalive.timeout, tcp.maximum.connections.per.address, tcp.proxy-protocol)"),
                                   name);
      else if (context == CTX_LEAF)
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_WARNING, line, name,
                                   service, name,
                                   _("<%s> inside <%s> is not expected and is ignored; remove it"),
                                   name, (const char *)node->name);
      else
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_WARNING, line, name,
                                   service, name,
                                   _("<%s> is not supported inside <%s> and is ignored; remove it or check its spelling"),
                                   name, (const char *)node->name);
    }
}

/* ------------------------------------------------------------------ */
/* Building the views                                                  */

static void
build_properties (PstConfig  *self,
                  xmlNodePtr  properties)
{
  for (xmlNodePtr node = properties->children; node != NULL; node = node->next)
    {
      xmlNodePtr name_node, value_node;
      g_autofree char *name = NULL;

      if (!pst_config_node_is (node, "property"))
        continue;
      name_node = pst_config_node_child (node, "name");
      value_node = pst_config_node_child (node, "value");
      name = name_node != NULL ? pst_config_node_text (name_node) : NULL;
      if (name == NULL || *name == '\0')
        {
          pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR,
                                     node_line (node), "property", NULL, "property",
                                     _("<property> has no <name>; give it one or remove it"));
          continue;
        }
      if (g_hash_table_contains (self->property_raw, name))
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_WARNING,
                                   node_line (node), "property", NULL, "property",
                                   _("property “%s” is defined twice; this later value wins, remove one of them"),
                                   name);
      else
        g_ptr_array_add (self->property_names, g_strdup (name));
      g_hash_table_replace (self->property_raw, g_strdup (name),
                            value_node != NULL ? pst_config_node_text (value_node) : g_strdup (""));
      g_hash_table_replace (self->property_lines, g_strdup (name),
                            GUINT_TO_POINTER (node_line (value_node != NULL ? value_node : node)));
    }
}

typedef enum {
  PROP_UNKNOWN,
  PROP_VISITING,
  PROP_DONE,
  PROP_FAILED,   /* too large or too deep (reported), or uses one that is */
  PROP_CYCLE,    /* refers to itself, or to a property that does */
  PROP_DEEP,     /* the walk from the current property went too deep */
} PropState;

static guint
property_line (PstConfig *self, const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->property_lines, name));
}

/* Resolves @name depth-first.  The depth is capped, so a long chain is
 * an error (at the property it starts from) rather than a deep stack. */
static PropState
resolve_property (PstConfig  *self,
                  GHashTable *states,
                  const char *name,
                  guint       depth)
{
  gpointer key, raw;
  PropState state = GPOINTER_TO_INT (g_hash_table_lookup (states, name));
  g_autoptr(GPtrArray) refs = NULL;
  Expansion ex = { 0 };
  char *value;

  if (state == PROP_VISITING)
    return PROP_CYCLE;
  if (state != PROP_UNKNOWN)
    return state;
  if (depth >= PST_PROPERTY_MAX_DEPTH)
    return PROP_DEEP;
  if (!g_hash_table_lookup_extended (self->property_raw, name, &key, &raw))
    return PROP_DONE;   /* not a property: undefined, reported at its use */

  g_hash_table_insert (states, key, GINT_TO_POINTER (PROP_VISITING));
  refs = references (raw);
  for (guint j = 0; j < refs->len; j++)
    {
      const char *ref = g_ptr_array_index (refs, j);
      PropState got;

      if (!g_hash_table_contains (self->property_raw, ref))
        continue;
      got = resolve_property (self, states, ref, depth + 1);
      if (got == PROP_DONE)
        continue;
      if (got == PROP_DEEP)
        g_hash_table_remove (states, key);   /* may still resolve from a shallower start */
      else
        g_hash_table_insert (states, key, GINT_TO_POINTER (got));
      return got;
    }

  value = expand (self, raw, 0, NULL, NULL, &ex);
  if (value == NULL)
    {
      pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR,
                                 property_line (self, key), NULL, NULL, "property",
                                 _("property “%s” would be longer than %u KiB once “${%s}” is substituted in it; properties that repeat other properties grow exponentially, so give it a shorter value"),
                                 (const char *) key, PST_PROPERTY_MAX_VALUE / 1024, ex.overflow);
      g_free (ex.overflow);
      g_hash_table_insert (states, key, GINT_TO_POINTER (PROP_FAILED));
      return PROP_FAILED;
    }
  if (ex.substituted)
    self->substituted_total += strlen (value);
  if (self->substituted_total > PST_PROPERTY_MAX_TOTAL)
    {
      /* Reported once: every later one is past the cap too. */
      if (!self->substituted_overflow)
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR,
                                   property_line (self, key), NULL, NULL, "property",
                                   _("property “%s” takes the substituted text of this file past %u KiB; give it a shorter value or refer to long properties fewer times"),
                                   (const char *) key, PST_PROPERTY_MAX_TOTAL / 1024);
      self->substituted_overflow = TRUE;
      g_free (value);
      g_hash_table_insert (states, key, GINT_TO_POINTER (PROP_FAILED));
      return PROP_FAILED;
    }
  g_hash_table_replace (self->property_values, g_strdup (key), value);
  g_hash_table_insert (states, key, GINT_TO_POINTER (PROP_DONE));
  return PROP_DONE;
}

/* Resolves properties that refer to other properties; what refers to
 * itself, directly or not, is a cycle. */
static void
resolve_properties (PstConfig *self)
{
  g_autoptr(GHashTable) states = g_hash_table_new (g_str_hash, g_str_equal);
  const char *first_deep = NULL;
  guint n_deep = 0;

  for (guint i = 0; i < self->property_names->len; i++)
    {
      const char *name = g_ptr_array_index (self->property_names, i);

      if (resolve_property (self, states, name, 0) == PROP_DEEP)
        {
          gpointer key;

          /* A long chain makes every link near its top too deep: one
           * error for the first, a count for the others. */
          if (n_deep++ == 0)
            {
              first_deep = name;
              pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR,
                                         property_line (self, name), NULL, NULL, "property",
                                         _("property “%s” nests ${…} more than %u levels deep; refer to fewer properties in a chain"),
                                         name, PST_PROPERTY_MAX_DEPTH);
            }
          g_hash_table_lookup_extended (self->property_raw, name, &key, NULL);
          g_hash_table_insert (states, key, GINT_TO_POINTER (PROP_FAILED));
        }
    }
  if (n_deep > 1)
    pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR,
                               property_line (self, first_deep), NULL, NULL, "property",
                               g_dngettext (GETTEXT_PACKAGE,
                                            "%u more property after “%s” nests ${…} more than %u levels deep too",
                                            "%u more properties after “%s” nest ${…} more than %u levels deep too",
                                            n_deep - 1),
                               n_deep - 1, first_deep, PST_PROPERTY_MAX_DEPTH);

  for (guint i = 0; i < self->property_names->len; i++)
    {
      const char *name = g_ptr_array_index (self->property_names, i);
      const char *raw = g_hash_table_lookup (self->property_raw, name);
      guint line = property_line (self, name);
      PropState state = GPOINTER_TO_INT (g_hash_table_lookup (states, name));
      g_autofree char *unused = NULL;
      Expansion ex = { 0 };

      if (state == PROP_CYCLE)
        pst_config_add_diagnostic (self, self->parse_diagnostics, PST_SEVERITY_ERROR, line, NULL,
                                   NULL, "property",
                                   _("property “%s” refers to itself (directly or through other properties); give it a plain value"),
                                   name);
      else if (state == PROP_DONE)
        {
          /* reports undefined names at the property's own line */
          unused = expand (self, raw, line, NULL, self->parse_diagnostics, &ex);
          g_free (ex.overflow);
        }
    }
}

static void
build_options (PstConfig  *self,
               PstOptions *options,
               xmlNodePtr  node,
               const char *service)
{
  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    {
      g_autofree char *value = NULL;

      if (child->type != XML_ELEMENT_NODE || !ns_is_ours (child->ns) ||
          !known_option ((const char *)child->name))
        continue;
      value = node_value (self, child, service);
      pst_options_set (options, (const char *)child->name, value, node_line (child));
    }
}

static void
build_service_properties (PstConfig  *self,
                          PstService *service,
                          xmlNodePtr  node,
                          const char *name)
{
  guint n_locations = 0;

  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    {
      if (child->type != XML_ELEMENT_NODE || !ns_is_ours (child->ns))
        continue;
      if (pst_config_node_is (child, "location"))
        {
          n_locations++;
          for (xmlNodePtr leaf = child->children; leaf != NULL; leaf = leaf->next)
            if (pst_config_node_is (leaf, "patterns") || pst_config_node_is (leaf, "cache-control"))
              {
                g_autofree char *key = g_strdup_printf ("location.%u.%s", n_locations, leaf->name);
                g_autofree char *value = node_value (self, leaf, name);
                pst_service_set_property (service, key, value, node_line (leaf));
              }
        }
      else if (pst_config_node_is (child, "directory") ||
               pst_config_node_is (child, "welcome-file") ||
               pst_config_node_is (child, "error-pages-directory") ||
               pst_config_node_is (child, "options"))
        {
          g_autofree char *value = node_value (self, child, name);
          pst_service_set_property (service, (const char *)child->name, value, node_line (child));
        }
    }
}

static PstService *
build_service (PstConfig  *self,
               xmlNodePtr  node,
               guint       index)
{
  PstService *service = pst_service_new (index, node_line (node), self->directory, self->defaults);
  xmlNodePtr name_node = pst_config_node_child (node, "name");
  g_autofree char *name = NULL;
  g_autoptr(GStrvBuilder) origins = NULL;

  if (name_node != NULL)
    {
      name = node_value (self, name_node, NULL);
      pst_service_set_name (service, name, node_line (name_node));
    }

  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    {
      if (child->type != XML_ELEMENT_NODE || !ns_is_ours (child->ns))
        continue;

      if (pst_config_node_is (child, "description"))
        {
          g_autofree char *value = node_value (self, child, name);
          pst_service_set_description (service, value);
        }
      else if (pst_config_node_is (child, "type"))
        {
          g_autofree char *value = node_value (self, child, name);
          pst_service_set_service_type (service, value, node_line (child));
        }
      else if (pst_config_node_is (child, "accept") || pst_config_node_is (child, "connect"))
        {
          g_autofree char *raw = pst_config_node_text (child);
          g_autofree char *value = node_value (self, child, name);
          if (pst_config_node_is (child, "accept"))
            pst_service_add_accept (service, value, raw, node_line (child));
          else
            pst_service_add_connect (service, value, raw, node_line (child));
        }
      else if (pst_config_node_is (child, "properties"))
        build_service_properties (self, service, child, name);
      else if (pst_config_node_is (child, "accept-options"))
        build_options (self, pst_service_get_accept_options (service), child, name);
      else if (pst_config_node_is (child, "connect-options"))
        build_options (self, pst_service_get_connect_options (service), child, name);
      else if (pst_config_node_is (child, "cross-site-constraint"))
        {
          if (origins == NULL)
            origins = g_strv_builder_new ();
          for (xmlNodePtr leaf = child->children; leaf != NULL; leaf = leaf->next)
            if (pst_config_node_is (leaf, "allow-origin"))
              {
                g_autofree char *value = node_value (self, leaf, name);
                g_strv_builder_add (origins, value);
              }
        }
    }

  if (origins != NULL)
    pst_service_take_allow_origins (service, g_strv_builder_end (origins));
  return service;
}

static void
build_store (PstConfig     *self,
             xmlNodePtr     node,
             PstStoreRef   *ref,
             PstStoreLines *lines)
{
  ref->line = node_line (node);
  for (xmlNodePtr child = node->children; child != NULL; child = child->next)
    {
      g_autofree char *value = NULL;

      if (child->type != XML_ELEMENT_NODE || !ns_is_ours (child->ns))
        continue;
      value = node_value (self, child, NULL);
      if (pst_config_node_is (child, "type"))
        {
          g_free (ref->type);
          ref->type = g_steal_pointer (&value);
          lines->type_line = node_line (child);
        }
      else if (pst_config_node_is (child, "file") && *value != '\0')
        {
          g_free (ref->file);
          ref->file = pst_config_resolve_path (self, value);
          lines->file_line = node_line (child);
        }
      else if (pst_config_node_is (child, "password-file") && *value != '\0')
        {
          g_free (ref->password_file);
          ref->password_file = pst_config_resolve_path (self, value);
          lines->password_file_line = node_line (child);
        }
      else if (pst_config_node_is (child, "password-keyring"))
        {
          g_strstrip (value);
          ref->password_keyring = g_ascii_strcasecmp (value, "true") == 0;
          lines->password_keyring_invalid = !ref->password_keyring && g_ascii_strcasecmp (value, "false") != 0;
          lines->password_keyring_line = node_line (child);
        }
    }
}

static void
build_views (PstConfig *self)
{
  xmlNodePtr root = xmlDocGetRootElement (self->doc);

  pst_config_clear_views (self);
  self->services = g_ptr_array_new_with_free_func (g_object_unref);
  self->property_raw = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->property_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->property_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->property_names = g_ptr_array_new_with_free_func (g_free);
  self->defaults = pst_options_new (NULL);
  self->parse_diagnostics = g_ptr_array_new_with_free_func (g_object_unref);
  self->substituted_total = 0;
  self->substituted_overflow = FALSE;

  check_unknown (self, root, CTX_ROOT, NULL);

  for (xmlNodePtr node = root->children; node != NULL; node = node->next)
    if (pst_config_node_is (node, "properties"))
      build_properties (self, node);
  resolve_properties (self);

  for (xmlNodePtr node = root->children; node != NULL; node = node->next)
    if (pst_config_node_is (node, "service-defaults"))
      {
        xmlNodePtr options = pst_config_node_child (node, "accept-options");
        if (options != NULL)
          build_options (self, self->defaults, options, NULL);
      }

  for (xmlNodePtr node = root->children; node != NULL; node = node->next)
    {
      if (pst_config_node_is (node, "service"))
        g_ptr_array_add (self->services, build_service (self, node, self->services->len));
      else if (pst_config_node_is (node, "security"))
        {
          xmlNodePtr keystore = pst_config_node_child (node, "keystore");
          xmlNodePtr truststore = pst_config_node_child (node, "truststore");
          if (keystore != NULL)
            build_store (self, keystore, &self->keystore, &self->keystore_lines);
          if (truststore != NULL)
            build_store (self, truststore, &self->truststore, &self->truststore_lines);
        }
    }
}
