/* pst-config.c: the gateway-config.xml model (libxml2 document kept for round-trips)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>
#include <libxml/xmlsave.h>

#include "pst-config-private.h"
#include "pst-config-resources.h"

G_DEFINE_QUARK (pst-config-error-quark, pst_config_error)

G_DEFINE_FINAL_TYPE (PstConfig, pst_config, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pst_config_finalize (GObject *object)
{
  PstConfig *self = PST_CONFIG (object);

  pst_config_clear_views (self);
  g_clear_pointer (&self->doc, xmlFreeDoc);
  g_free (self->path);
  g_free (self->display_path);
  g_free (self->directory);
  g_free (self->text);
  g_clear_pointer (&self->line_offsets, g_array_unref);

  G_OBJECT_CLASS (pst_config_parent_class)->finalize (object);
}

static void
pst_config_class_init (PstConfigClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pst_config_finalize;

  /**
   * PstConfig::changed:
   * @self: the config
   *
   * Emitted after every edit, once the service views are rebuilt.
   */
  signals[CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pst_config_init (PstConfig *self)
{
}

void
pst_config_emit_changed (PstConfig *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
set_path (PstConfig  *self,
          const char *path)
{
  g_autofree char *cwd = g_get_current_dir ();

  g_free (self->display_path);
  g_free (self->path);
  g_free (self->directory);
  if (path == NULL)
    {
      self->display_path = g_strdup ("gateway-config.xml");
      self->path = g_build_filename (cwd, "gateway-config.xml", NULL);
    }
  else
    {
      self->display_path = g_strdup (path);
      self->path = g_canonicalize_filename (path, cwd);
    }
  self->directory = g_path_get_dirname (self->path);
}

/**
 * pst_config_new_from_data:
 * @data: the XML text
 * @len: its length in bytes
 * @path: (nullable): the file it stands for: names it in messages and
 *   anchors relative paths
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Returns: (transfer full) (nullable): the config, or %NULL when the text
 *   is not well-formed or not a gateway-config document
 */
PstConfig *
pst_config_new_from_data (const char  *data,
                          gsize        len,
                          const char  *path,
                          GError     **error)
{
  g_autoptr(PstConfig) self = NULL;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  self = g_object_new (PST_TYPE_CONFIG, NULL);
  set_path (self, path);
  if (!pst_config_load_text (self, data != NULL ? data : "", len, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * pst_config_read_file:
 * @path: a gateway-config.xml
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Reads the file's bytes with the checks pst_config_new_from_file() makes
 * (a file, not a folder, not larger than a configuration may be), for a
 * caller that keeps the very bytes it validated (a master hands them to
 * its workers).
 *
 * Returns: (transfer full) (nullable): the bytes
 */
GBytes *
pst_config_read_file (const char  *path,
                      GError     **error)
{
  GStatBuf st;
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO,
                   _("%s: error: cannot read the configuration: %s; pass an existing file with --config"),
                   path, g_strerror (saved));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO,
                   _("%s: error: this is a folder, not a configuration file; pass the gateway-config.xml inside it"),
                   path);
      return NULL;
    }
  if (st.st_size > PST_CONFIG_MAX_SIZE)
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_MALFORMED,
                   _("%s:1:1: error: the file is %lu bytes, larger than the %d bytes a configuration may have"),
                   path, (unsigned long) st.st_size, PST_CONFIG_MAX_SIZE);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &len, &local_error))
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO,
                   _("%s: error: cannot read the configuration: %s"),
                   path, local_error->message);
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&data), len);
}

/**
 * pst_config_new_from_file:
 * @path: a gateway-config.xml
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Returns: (transfer full) (nullable): the config
 */
PstConfig *
pst_config_new_from_file (const char  *path,
                          GError     **error)
{
  g_autoptr(GBytes) bytes = pst_config_read_file (path, error);
  gsize len = 0;
  const char *data;

  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);
  return pst_config_new_from_data (data, len, path, error);
}

/**
 * pst_config_get_default_text:
 *
 * Returns: the shipped conf/gateway-config.xml, embedded at build time
 */
const char *
pst_config_get_default_text (void)
{
  static GBytes *bytes = NULL;

  if (g_once_init_enter (&bytes))
    {
      GBytes *data = g_resource_lookup_data (pst_config_get_resource (),
                                             "/org/postern/config/gateway-config.xml",
                                             G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_assert (data != NULL);
      g_once_init_leave (&bytes, data);
    }
  /* GResource data is always followed by a NUL byte. */
  return g_bytes_get_data (bytes, NULL);
}

const char *
pst_config_get_path (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return self->path;
}

/**
 * pst_config_get_display_path:
 * @self: a config
 *
 * Returns: the path as it was given, used in diagnostics
 */
const char *
pst_config_get_display_path (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return self->display_path;
}

const char *
pst_config_get_directory (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return self->directory;
}

/**
 * pst_config_resolve_path:
 * @self: a config
 * @relative: a path as written in the file
 *
 * Returns: (transfer full): @relative resolved against the config's folder
 */
char *
pst_config_resolve_path (PstConfig  *self,
                         const char *relative)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (relative != NULL, NULL);

  return g_canonicalize_filename (relative, self->directory);
}

guint
pst_config_get_n_services (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), 0);
  return self->services->len;
}

/**
 * pst_config_get_service:
 * @self: a config
 * @i: index among the services
 *
 * Returns: (transfer none): the service; valid until the next edit
 */
PstService *
pst_config_get_service (PstConfig *self,
                        guint      i)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (i < self->services->len, NULL);
  return g_ptr_array_index (self->services, i);
}

/**
 * pst_config_find_service:
 * @self: a config
 * @name: a service name
 *
 * Returns: (transfer none) (nullable): the first service with that name
 */
PstService *
pst_config_find_service (PstConfig  *self,
                         const char *name)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < self->services->len; i++)
    {
      PstService *service = g_ptr_array_index (self->services, i);
      if (g_strcmp0 (pst_service_get_name (service), name) == 0)
        return service;
    }
  return NULL;
}

const PstStoreRef *
pst_config_get_keystore (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return &self->keystore;
}

const PstStoreRef *
pst_config_get_truststore (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return &self->truststore;
}

/**
 * pst_config_get_property:
 * @self: a config
 * @name: a `<property>` name
 *
 * Returns: (nullable): its value, with `${…}` inside it substituted
 */
const char *
pst_config_get_property (PstConfig  *self,
                         const char *name)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->property_values, name);
}

/**
 * pst_config_get_property_raw:
 * @self: a config
 * @name: a `<property>` name
 *
 * Returns: (nullable): its value as written
 */
const char *
pst_config_get_property_raw (PstConfig  *self,
                             const char *name)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->property_raw, name);
}

/**
 * pst_config_dup_property_names:
 * @self: a config
 *
 * Returns: (transfer full): the property names in document order
 */
GStrv
pst_config_dup_property_names (PstConfig *self)
{
  GStrv names;

  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);

  names = g_new0 (char *, self->property_names->len + 1);
  for (guint i = 0; i < self->property_names->len; i++)
    names[i] = g_strdup (g_ptr_array_index (self->property_names, i));
  return names;
}

/**
 * pst_config_get_defaults:
 * @self: a config
 *
 * Returns: (transfer none): service-defaults/accept-options, the parent
 *   of every service's accept options
 */
PstOptions *
pst_config_get_defaults (PstConfig *self)
{
  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);
  return self->defaults;
}

/* libxml2 keeps no column on nodes: find the element's "<" on its line. */
guint
pst_config_column (PstConfig  *self,
                   guint       line,
                   const char *element)
{
  gsize start, end;
  g_autofree char *needle = NULL;
  const char *found;

  if (line == 0 || self->line_offsets == NULL || line > self->line_offsets->len)
    return 1;
  start = g_array_index (self->line_offsets, gsize, line - 1);
  end = line < self->line_offsets->len
          ? g_array_index (self->line_offsets, gsize, line)
          : self->text_len;

  if (element == NULL)
    {
      const char *lt = memchr (self->text + start, '<', end - start);
      return lt != NULL ? (guint)(lt - (self->text + start)) + 1 : 1;
    }

  needle = g_strconcat ("<", element, NULL);
  for (found = self->text + start;
       (found = g_strstr_len (found, end - (found - self->text), needle)) != NULL;
       found++)
    {
      /* "<accept" must not match "<accept-options", but may have a prefix. */
      char next = found[strlen (needle)];
      if (next == '>' || next == '/' || g_ascii_isspace (next) || next == '\0')
        return g_utf8_strlen (self->text + start, found - (self->text + start)) + 1;
    }
  /* A namespace prefix ("<k:accept") */
  g_free (needle);
  needle = g_strconcat (":", element, NULL);
  found = g_strstr_len (self->text + start, end - start, needle);
  if (found != NULL)
    {
      const char *lt = found;
      while (lt > self->text + start && *lt != '<')
        lt--;
      if (*lt == '<')
        return g_utf8_strlen (self->text + start, lt - (self->text + start)) + 1;
    }
  return 1;
}

void
pst_config_add_diagnostic (PstConfig   *self,
                           GPtrArray   *diagnostics,
                           PstSeverity  severity,
                           guint        line,
                           const char  *element,
                           const char  *service,
                           const char  *field,
                           const char  *format,
                           ...)
{
  va_list args;
  g_autofree char *message = NULL;
  PstDiagnostic *diagnostic;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  diagnostic = pst_diagnostic_new (severity, self->display_path, line,
                                   pst_config_column (self, line, element), message);
  pst_diagnostic_set_context (diagnostic, service, field);
  g_ptr_array_add (diagnostics, diagnostic);
}

/**
 * pst_diagnostics_have_errors:
 * @diagnostics: (element-type PstDiagnostic) (nullable): findings
 *
 * Returns: %TRUE when one of them is an error
 */
gboolean
pst_diagnostics_have_errors (GPtrArray *diagnostics)
{
  if (diagnostics == NULL)
    return FALSE;
  for (guint i = 0; i < diagnostics->len; i++)
    if (pst_diagnostic_get_severity (g_ptr_array_index (diagnostics, i)) == PST_SEVERITY_ERROR)
      return TRUE;
  return FALSE;
}

/**
 * pst_config_to_xml:
 * @self: a config
 * @len: (out) (optional): length of the text
 *
 * Serialises the kept document as it is: comments, unknown elements,
 * order and whitespace stay.  An unedited document gives back the text
 * it was read from, except where libxml2 normalises (`<a></a>` becomes
 * `<a/>`, `&quot;` in text becomes `"`, attributes get double quotes,
 * whitespace between top-level nodes becomes one newline).
 *
 * Returns: (transfer full): the XML text
 */
char *
pst_config_to_xml (PstConfig *self,
                   gsize     *len)
{
  xmlBufferPtr buffer;
  xmlSaveCtxtPtr save;
  const char *encoding;
  GString *out;

  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);

  out = g_string_new (NULL);

  /* libxml2 rewrites the declaration (and adds encoding="…" to it), so
   * the original one is written as it was, and the body after it. */
  if (self->has_declaration)
    {
      const char *end = strstr (self->text, "?>");
      g_assert (end != NULL);
      g_string_append_len (out, self->text, end + 2 - self->text);
      g_string_append_c (out, '\n');
    }

  encoding = self->doc->encoding != NULL ? (const char *)self->doc->encoding : "UTF-8";
  buffer = xmlBufferCreate ();
  save = xmlSaveToBuffer (buffer, encoding, XML_SAVE_NO_DECL);
  xmlSaveDoc (save, self->doc);
  xmlSaveClose (save);
  g_string_append_len (out, (const char *)xmlBufferContent (buffer), xmlBufferLength (buffer));
  xmlBufferFree (buffer);

  if (!self->ends_with_newline && out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);

  if (len != NULL)
    *len = out->len;
  return g_string_free (out, FALSE);
}

/**
 * pst_config_save:
 * @self: a config
 * @path: (nullable): where to write; %NULL for the file it was read from
 * @error: return location for a #PST_CONFIG_ERROR
 *
 * Writes the document atomically (a crash leaves the old file or the
 * new one, never half of it).
 *
 * Returns: %TRUE on success
 */
gboolean
pst_config_save (PstConfig   *self,
                 const char  *path,
                 GError     **error)
{
  g_autofree char *xml = NULL;
  gsize len;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (PST_IS_CONFIG (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (path == NULL)
    path = self->path;
  xml = pst_config_to_xml (self, &len);
  if (!g_file_set_contents (path, xml, len, &local_error))
    {
      g_set_error (error, PST_CONFIG_ERROR, PST_CONFIG_ERROR_IO,
                   _("%s: error: cannot save the configuration: %s"),
                   path, local_error->message);
      return FALSE;
    }
  return TRUE;
}
