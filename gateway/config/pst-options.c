/* pst-options.c: accept-options / connect-options of a service
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-options.h"

typedef struct {
  char  *value;
  guint  line;
} Option;

struct _PstOptions
{
  GObject      parent_instance;
  PstOptions  *parent;
  GHashTable  *options;   /* name → Option */
  GPtrArray   *names;     /* insertion order */
};

G_DEFINE_FINAL_TYPE (PstOptions, pst_options, G_TYPE_OBJECT)

static void
option_free (gpointer data)
{
  Option *option = data;

  g_free (option->value);
  g_free (option);
}

static void
pst_options_dispose (GObject *object)
{
  PstOptions *self = PST_OPTIONS (object);

  g_clear_object (&self->parent);

  G_OBJECT_CLASS (pst_options_parent_class)->dispose (object);
}

static void
pst_options_finalize (GObject *object)
{
  PstOptions *self = PST_OPTIONS (object);

  g_hash_table_unref (self->options);
  g_ptr_array_unref (self->names);

  G_OBJECT_CLASS (pst_options_parent_class)->finalize (object);
}

static void
pst_options_class_init (PstOptionsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pst_options_dispose;
  object_class->finalize = pst_options_finalize;
}

static void
pst_options_init (PstOptions *self)
{
  self->options = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, option_free);
  self->names = g_ptr_array_new_with_free_func (g_free);
}

/**
 * pst_options_new:
 * @parent: (nullable): options to fall back to (the service-defaults)
 *
 * Returns: (transfer full): an empty option set
 */
PstOptions *
pst_options_new (PstOptions *parent)
{
  PstOptions *self;

  g_return_val_if_fail (parent == NULL || PST_IS_OPTIONS (parent), NULL);

  self = g_object_new (PST_TYPE_OPTIONS, NULL);
  if (parent != NULL)
    self->parent = g_object_ref (parent);
  return self;
}

static const Option *
lookup (PstOptions *self,
        const char *name)
{
  for (PstOptions *o = self; o != NULL; o = o->parent)
    {
      const Option *option = g_hash_table_lookup (o->options, name);
      if (option != NULL)
        return option;
    }
  return NULL;
}

/**
 * pst_options_get:
 * @self: options
 * @name: e.g. "ssl.encryption"
 *
 * Returns: (nullable): the value set here or in a parent
 */
const char *
pst_options_get (PstOptions *self,
                 const char *name)
{
  const Option *option;

  g_return_val_if_fail (PST_IS_OPTIONS (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  option = lookup (self, name);
  return option != NULL ? option->value : NULL;
}

guint
pst_options_get_line (PstOptions *self,
                      const char *name)
{
  const Option *option;

  g_return_val_if_fail (PST_IS_OPTIONS (self), 0);
  g_return_val_if_fail (name != NULL, 0);

  option = lookup (self, name);
  return option != NULL ? option->line : 0;
}

void
pst_options_set (PstOptions *self,
                 const char *name,
                 const char *value,
                 guint       line)
{
  Option *option;

  g_return_if_fail (PST_IS_OPTIONS (self));
  g_return_if_fail (name != NULL);

  if (value == NULL)
    {
      if (g_hash_table_remove (self->options, name))
        for (guint i = 0; i < self->names->len; i++)
          if (strcmp (g_ptr_array_index (self->names, i), name) == 0)
            {
              g_ptr_array_remove_index (self->names, i);
              break;
            }
      return;
    }

  option = g_new0 (Option, 1);
  option->value = g_strdup (value);
  option->line = line;
  if (!g_hash_table_contains (self->options, name))
    g_ptr_array_add (self->names, g_strdup (name));
  g_hash_table_replace (self->options, g_strdup (name), option);
}

/**
 * pst_options_dup_names:
 * @self: options
 *
 * Returns: (transfer full): the names set here (not in the parent), in
 *   document order
 */
GStrv
pst_options_dup_names (PstOptions *self)
{
  GStrvBuilder *builder;
  GStrv names;

  g_return_val_if_fail (PST_IS_OPTIONS (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->names->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->names, i));
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return names;
}

gboolean
pst_options_get_ssl_encryption (PstOptions *self)
{
  const char *value;

  g_return_val_if_fail (PST_IS_OPTIONS (self), TRUE);

  /* Anything but an explicit "disabled" keeps TLS on: a typo must not
   * silently turn encryption off (validation reports the typo). */
  value = pst_options_get (self, "ssl.encryption");
  return value == NULL || g_ascii_strcasecmp (value, "disabled") != 0;
}

gboolean
pst_options_get_proxy_protocol (PstOptions *self)
{
  const char *value;

  g_return_val_if_fail (PST_IS_OPTIONS (self), FALSE);

  /* Only an explicit "true": on accept, a typo then fails every
   * connection loudly rather than trusting headers by accident
   * (validation reports the typo anyway). */
  value = pst_options_get (self, "tcp.proxy-protocol");
  return value != NULL && g_ascii_strcasecmp (value, "true") == 0;
}

const char *
pst_options_get_verify_client (PstOptions *self)
{
  const char *value;

  g_return_val_if_fail (PST_IS_OPTIONS (self), "none");

  value = pst_options_get (self, "ssl.verify-client");
  if (value == NULL)
    return "none";
  if (g_ascii_strcasecmp (value, "required") == 0)
    return "required";
  if (g_ascii_strcasecmp (value, "optional") == 0)
    return "optional";
  if (g_ascii_strcasecmp (value, "none") == 0)
    return "none";
  /* Unknown text: the strictest reading (validation reports it). */
  return "required";
}

gboolean
pst_options_get_duration_ms (PstOptions *self,
                             const char *name,
                             guint64     default_ms,
                             guint64    *out_ms)
{
  const char *value;

  g_return_val_if_fail (PST_IS_OPTIONS (self), FALSE);
  g_return_val_if_fail (out_ms != NULL, FALSE);

  value = pst_options_get (self, name);
  if (value == NULL)
    {
      *out_ms = default_ms;
      return TRUE;
    }
  return pst_parse_duration_ms (value, out_ms);
}

gboolean
pst_options_get_size (PstOptions *self,
                      const char *name,
                      guint64     default_bytes,
                      guint64    *out_bytes)
{
  const char *value;

  g_return_val_if_fail (PST_IS_OPTIONS (self), FALSE);
  g_return_val_if_fail (out_bytes != NULL, FALSE);

  value = pst_options_get (self, name);
  if (value == NULL)
    {
      *out_bytes = default_bytes;
      return TRUE;
    }
  return pst_parse_size (value, out_bytes);
}

/* Splits "  1800 seconds " into 1800 and "seconds" (lower-cased). */
static gboolean
split_number_unit (const char  *text,
                   guint64     *number,
                   char       **unit)
{
  const char *p = text;
  const char *digits;
  g_autofree char *num = NULL;

  while (g_ascii_isspace (*p))
    p++;
  digits = p;
  while (g_ascii_isdigit (*p))
    p++;
  if (p == digits || p - digits > 15)
    return FALSE;
  num = g_strndup (digits, p - digits);
  if (!g_ascii_string_to_unsigned (num, 10, 0, G_MAXUINT64, number, NULL))
    return FALSE;
  while (g_ascii_isspace (*p))
    p++;
  *unit = g_ascii_strdown (p, -1);
  g_strchomp (*unit);
  return TRUE;
}

static gboolean
unit_in (const char *unit, const char * const *names)
{
  for (; *names != NULL; names++)
    if (strcmp (unit, *names) == 0)
      return TRUE;
  return FALSE;
}

/**
 * pst_parse_duration_ms:
 * @text: "30", "30s", "1800 seconds", "3min", "1500ms", "2 hours"…
 * @out_ms: (out): the duration in milliseconds
 *
 * A number without a unit is in seconds, as in Kaazing's format.
 *
 * Returns: %FALSE when @text is not a duration
 */
gboolean
pst_parse_duration_ms (const char *text,
                       guint64    *out_ms)
{
  static const char * const ms[] = { "ms", "msec", "msecs", "millisecond", "milliseconds", NULL };
  static const char * const s[] = { "", "s", "sec", "secs", "second", "seconds", NULL };
  static const char * const m[] = { "m", "min", "mins", "minute", "minutes", NULL };
  static const char * const h[] = { "h", "hr", "hrs", "hour", "hours", NULL };
  guint64 number, factor;
  g_autofree char *unit = NULL;

  g_return_val_if_fail (out_ms != NULL, FALSE);

  if (text == NULL || !split_number_unit (text, &number, &unit))
    return FALSE;
  if (unit_in (unit, ms))
    factor = 1;
  else if (unit_in (unit, s))
    factor = 1000;
  else if (unit_in (unit, m))
    factor = 60 * 1000;
  else if (unit_in (unit, h))
    factor = 60 * 60 * 1000;
  else
    return FALSE;
  *out_ms = number * factor;
  return TRUE;
}

/**
 * pst_parse_size:
 * @text: "2048", "128k", "64KB", "1m", "1 MB"…
 * @out_bytes: (out): the size in bytes
 *
 * A number without a unit is in bytes; k and m are 1024-based, as in
 * Kaazing's format.
 *
 * Returns: %FALSE when @text is not a size
 */
gboolean
pst_parse_size (const char *text,
                guint64    *out_bytes)
{
  static const char * const b[] = { "", "b", NULL };
  static const char * const k[] = { "k", "kb", "kib", NULL };
  static const char * const m[] = { "m", "mb", "mib", NULL };
  static const char * const g[] = { "g", "gb", "gib", NULL };
  guint64 number, factor;
  g_autofree char *unit = NULL;

  g_return_val_if_fail (out_bytes != NULL, FALSE);

  if (text == NULL || !split_number_unit (text, &number, &unit))
    return FALSE;
  if (unit_in (unit, b))
    factor = 1;
  else if (unit_in (unit, k))
    factor = 1024;
  else if (unit_in (unit, m))
    factor = 1024 * 1024;
  else if (unit_in (unit, g))
    factor = 1024 * 1024 * 1024;
  else
    return FALSE;
  *out_bytes = number * factor;
  return TRUE;
}
