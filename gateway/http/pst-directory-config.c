/* pst-directory-config.c: directory service settings, location patterns and Cache-Control
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-directory-private.h"

G_DEFINE_QUARK (pst-directory-error-quark, pst_directory_error)
G_DEFINE_BOXED_TYPE (PstDirectoryConfig, pst_directory_config,
                     pst_directory_config_ref, pst_directory_config_unref)

/* A cap on durations so that arithmetic on them cannot overflow. */
#define MAX_DURATION ((gint64) 100 * 365 * 24 * 3600)

static void
location_free (gpointer data)
{
  PstDirectoryLocation *loc = data;

  g_strfreev (loc->patterns);
  g_strfreev (loc->directives);
  g_free (loc);
}

static char *
dup_real_folder (const char *path,
                 const char *what,
                 GError    **error)
{
  g_autofree char *real = NULL;
  struct stat st;

  real = realpath (path, NULL);
  if (real == NULL || stat (real, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY,
                   _("The %s “%s” cannot be used: %s. Create the folder or correct the path."),
                   what, path, g_strerror (saved));
      return NULL;
    }
  if (!S_ISDIR (st.st_mode))
    {
      g_set_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY,
                   _("The %s “%s” is not a folder. Point it at the folder to serve."),
                   what, path);
      return NULL;
    }
  return g_steal_pointer (&real);
}

/**
 * pst_directory_config_new:
 * @directory: an absolute path to the folder to serve
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): a new configuration serving @directory
 */
PstDirectoryConfig *
pst_directory_config_new (const char  *directory,
                          GError     **error)
{
  PstDirectoryConfig *self;
  char *root;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (directory == NULL || *directory == '\0')
    {
      g_set_error_literal (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY,
                           _("A directory service needs a “directory” property naming the folder to serve."));
      return NULL;
    }
  root = dup_real_folder (directory, _("directory"), error);
  if (root == NULL)
    return NULL;

  self = g_new0 (PstDirectoryConfig, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->root = root;
  self->locations = g_ptr_array_new_with_free_func (location_free);
  return self;
}

/**
 * pst_directory_config_ref:
 * @self: a #PstDirectoryConfig
 *
 * Returns: (transfer full): @self
 */
PstDirectoryConfig *
pst_directory_config_ref (PstDirectoryConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * pst_directory_config_unref:
 * @self: (transfer full): a #PstDirectoryConfig
 */
void
pst_directory_config_unref (PstDirectoryConfig *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_free (self->root);
  g_free (self->welcome_file);
  g_free (self->error_pages);
  g_ptr_array_unref (self->locations);
  g_free (self);
}

const char *
pst_directory_config_get_directory (PstDirectoryConfig *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  return self->root;
}

gboolean
pst_directory_config_get_indexes (PstDirectoryConfig *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->indexes;
}

void
pst_directory_config_set_indexes (PstDirectoryConfig *self,
                                  gboolean            indexes)
{
  g_return_if_fail (self != NULL);
  self->indexes = !!indexes;
}

/**
 * pst_directory_config_set_welcome_file:
 * @self: a #PstDirectoryConfig
 * @name: (nullable): a file name relative to each folder, such as "index.html"
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @name is a plain relative path
 */
gboolean
pst_directory_config_set_welcome_file (PstDirectoryConfig *self,
                                       const char         *name,
                                       GError            **error)
{
  g_autofree char *checked = NULL;
  gboolean trailing = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);

  if (name == NULL || *name == '\0')
    {
      g_clear_pointer (&self->welcome_file, g_free);
      return TRUE;
    }
  /* The same rules as a request path, so a welcome file cannot name
   * anything a client could not have asked for. */
  if (pst_directory_check_path (name, &checked, &trailing) != PST_PATH_OK ||
      *checked == '\0' || trailing || name[0] == '/')
    {
      g_set_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE,
                   _("The welcome-file “%s” must be a file name relative to the served folder, "
                     "such as “index.html”, without “..”, hidden names or a leading “/”."),
                   name);
      return FALSE;
    }
  g_free (self->welcome_file);
  self->welcome_file = g_steal_pointer (&checked);
  return TRUE;
}

/**
 * pst_directory_config_set_error_pages_directory:
 * @self: a #PstDirectoryConfig
 * @directory: (nullable): an absolute path to a folder holding pages such as 404.html
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @directory is a folder (or %NULL)
 */
gboolean
pst_directory_config_set_error_pages_directory (PstDirectoryConfig *self,
                                                const char         *directory,
                                                GError            **error)
{
  char *real;

  g_return_val_if_fail (self != NULL, FALSE);

  if (directory == NULL || *directory == '\0')
    {
      g_clear_pointer (&self->error_pages, g_free);
      return TRUE;
    }
  real = dup_real_folder (directory, _("error-pages-directory"), error);
  if (real == NULL)
    return FALSE;
  g_free (self->error_pages);
  self->error_pages = real;
  return TRUE;
}

static GStrv
split_list (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) parts = g_strsplit_set (text, " \t\r\n,", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      g_strv_builder_add (builder, parts[i]);
  return g_strv_builder_end (builder);
}

gboolean
pst_directory_config_set_options (PstDirectoryConfig *self,
                                  const char         *options,
                                  GError            **error)
{
  g_auto(GStrv) words = NULL;
  gboolean indexes = FALSE;

  g_return_val_if_fail (self != NULL, FALSE);

  words = split_list (options != NULL ? options : "");
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (words[i], "indexes") == 0)
        indexes = TRUE;
      else
        {
          g_set_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE,
                       _("Unknown directory option “%s”: the only option is “indexes” "
                         "(list folders without a welcome file)."), words[i]);
          return FALSE;
        }
    }
  self->indexes = indexes;
  return TRUE;
}

static gint64
unit_seconds (const char *unit,
              gsize       len)
{
  static const struct { const char *name; gint64 seconds; } units[] = {
    { "s", 1 }, { "sec", 1 }, { "second", 1 },
    { "m", 60 }, { "min", 60 }, { "minute", 60 },
    { "h", 3600 }, { "hour", 3600 },
    { "d", 86400 }, { "day", 86400 },
    { "w", 7 * 86400 }, { "week", 7 * 86400 },
    { "month", 30 * 86400 },
    { "y", 365 * 86400 }, { "year", 365 * 86400 },
  };

  /* accept a plural 's' on the long names */
  if (len > 2 && unit[len - 1] == 's')
    {
      gint64 s = unit_seconds (unit, len - 1);
      if (s > 0)
        return s;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (units); i++)
    if (strlen (units[i].name) == len && g_ascii_strncasecmp (units[i].name, unit, len) == 0)
      return units[i].seconds;
  return -1;
}

/* "3600", "1 year", "2 hours 30 minutes", "1d" */
static gboolean
parse_duration (const char *text,
                gint64     *out)
{
  const char *p = text;
  gint64 total = 0;
  gboolean any = FALSE;

  while (*p != '\0')
    {
      guint64 n;
      char *end;
      const char *unit;
      gint64 mult = 1;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        break;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      errno = 0;
      n = g_ascii_strtoull (p, &end, 10);
      if (errno != 0 || n > (guint64) MAX_DURATION)
        return FALSE;
      p = end;
      while (g_ascii_isspace (*p))
        p++;
      unit = p;
      while (g_ascii_isalpha (*p))
        p++;
      if (p > unit)
        {
          mult = unit_seconds (unit, p - unit);
          if (mult < 0)
            return FALSE;
        }
      if ((gint64) n > MAX_DURATION / mult)
        return FALSE;
      total += (gint64) n * mult;
      if (total > MAX_DURATION)
        return FALSE;
      any = TRUE;
    }
  *out = total;
  return any;
}

static gboolean
valid_header_text (const char *s)
{
  for (; *s != '\0'; s++)
    if ((guchar) *s < 0x20 || (guchar) *s == 0x7f)
      return FALSE;
  return TRUE;
}

gboolean
pst_directory_config_add_location (PstDirectoryConfig *self,
                                   const char         *patterns,
                                   const char         *cache_control,
                                   GError            **error)
{
  g_autoptr(GStrvBuilder) directives = g_strv_builder_new ();
  g_auto(GStrv) parts = NULL;
  g_auto(GStrv) pats = NULL;
  PstDirectoryLocation *loc;
  gboolean seen_max_age = FALSE, from_mtime = FALSE;
  gint64 max_age = 0;

  g_return_val_if_fail (self != NULL, FALSE);

  pats = split_list (patterns != NULL ? patterns : "");
  if (pats[0] == NULL)
    {
      g_set_error_literal (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE,
                           _("A location needs at least one pattern, such as “**/*.html” or “*.js”."));
      return FALSE;
    }
  if (cache_control == NULL || !valid_header_text (cache_control))
    {
      g_set_error_literal (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE,
                           _("A location needs a cache-control value on one line, such as “max-age=1 day”."));
      return FALSE;
    }

  parts = g_strsplit (cache_control, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *d = g_strstrip (parts[i]);

      if (*d == '\0')
        continue;
      if (g_ascii_strncasecmp (d, "max-age", 7) == 0 &&
          (d[7] == '=' || g_ascii_isspace (d[7])))
        {
          char *v = d + 7;

          while (g_ascii_isspace (*v))
            v++;
          if (*v != '=' || seen_max_age)
            goto bad;
          v++;
          while (g_ascii_isspace (*v))
            v++;
          if (g_ascii_strncasecmp (v, "m+", 2) == 0)
            {
              from_mtime = TRUE;
              v += 2;
            }
          if (!parse_duration (v, &max_age))
            goto bad;
          seen_max_age = TRUE;
          g_strv_builder_add (directives, "");
        }
      else
        g_strv_builder_add (directives, d);
    }

  loc = g_new0 (PstDirectoryLocation, 1);
  loc->patterns = g_steal_pointer (&pats);
  loc->directives = g_strv_builder_end (directives);
  loc->max_age_from_mtime = from_mtime;
  loc->max_age = max_age;
  g_ptr_array_add (self->locations, loc);
  return TRUE;

bad:
  g_set_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE,
               _("The cache-control value “%s” has a max-age that is not a duration. "
                 "Write seconds or a number with a unit, optionally after “m+” "
                 "(“max-age=3600”, “max-age=1 year”, “max-age=m+1 day”)."),
               cache_control);
  return FALSE;
}

/* Glob for one path segment: '*' and '?' never cross '/', since the caller
 * hands over single segments. */
static gboolean
segment_match (const char *p, const char *pend,
               const char *s, const char *send)
{
  const char *star_p = NULL, *star_s = NULL;

  while (s < send)
    {
      if (p < pend && *p == '*')
        {
          star_p = ++p;
          star_s = s;
        }
      else if (p < pend && (*p == '?' || *p == *s))
        {
          p++;
          s++;
        }
      else if (star_p != NULL)
        {
          p = star_p;
          s = ++star_s;
        }
      else
        return FALSE;
    }
  while (p < pend && *p == '*')
    p++;
  return p == pend;
}

static gboolean
segments_match (char **pat, char **path)
{
  if (*pat == NULL)
    return *path == NULL;
  if (strcmp (*pat, "**") == 0)
    {
      /* zero or more segments; collapse runs of ** first */
      while (pat[1] != NULL && strcmp (pat[1], "**") == 0)
        pat++;
      for (char **rest = path; ; rest++)
        {
          if (segments_match (pat + 1, rest))
            return TRUE;
          if (*rest == NULL)
            return FALSE;
        }
    }
  if (*path == NULL)
    return FALSE;
  if (!segment_match (*pat, *pat + strlen (*pat), *path, *path + strlen (*path)))
    return FALSE;
  return segments_match (pat + 1, path + 1);
}

/* See pst-directory-config.h for the rules. */
gboolean
pst_path_glob_match (const char *pattern,
                     const char *path)
{
  g_auto(GStrv) pat = NULL;
  g_auto(GStrv) segs = NULL;

  gboolean anchored = strchr (pattern, '/') != NULL;

  while (*pattern == '/')
    pattern++;
  while (*path == '/')
    path++;

  if (!anchored)
    {
      const char *base = strrchr (path, '/');

      base = base != NULL ? base + 1 : path;
      if (strcmp (pattern, "**") == 0)
        return TRUE;
      return segment_match (pattern, pattern + strlen (pattern), base, base + strlen (base));
    }

  pat = g_strsplit (pattern, "/", -1);
  segs = *path != '\0' ? g_strsplit (path, "/", -1) : g_new0 (char *, 1);
  return segments_match (pat, segs);
}

char *
pst_directory_config_dup_cache_control (PstDirectoryConfig *self,
                                        const char         *rel_path,
                                        gint64              mtime,
                                        gint64              now)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (rel_path != NULL, NULL);

  for (guint i = 0; i < self->locations->len; i++)
    {
      PstDirectoryLocation *loc = g_ptr_array_index (self->locations, i);
      GString *out;

      for (guint j = 0; loc->patterns[j] != NULL; j++)
        if (pst_path_glob_match (loc->patterns[j], rel_path))
          goto found;
      continue;

    found:
      out = g_string_new (NULL);
      for (guint j = 0; loc->directives[j] != NULL; j++)
        {
          if (out->len > 0)
            g_string_append (out, ", ");
          if (*loc->directives[j] != '\0')
            g_string_append (out, loc->directives[j]);
          else
            {
              gint64 age = loc->max_age;

              if (loc->max_age_from_mtime)
                age = CLAMP (mtime + loc->max_age - now, 0, MAX_DURATION);
              g_string_append_printf (out, "max-age=%" G_GINT64_FORMAT, age);
            }
        }
      if (out->len == 0)
        {
          g_string_free (out, TRUE);
          return NULL;
        }
      return g_string_free (out, FALSE);
    }
  return NULL;
}
