/* pst-directory-config.h: an immutable snapshot of one directory service's settings
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define PST_DIRECTORY_ERROR (pst_directory_error_quark ())
typedef enum {
  PST_DIRECTORY_ERROR_NO_DIRECTORY,   /* `directory` missing, not found or not a folder */
  PST_DIRECTORY_ERROR_BAD_VALUE,      /* welcome-file, options, location… malformed */
} PstDirectoryError;
GQuark pst_directory_error_quark (void);

/* PstDirectoryConfig: what a directory service serves and how.  Built once
 * (per config snapshot), then only read; reference-counted so that a running
 * response can outlive a reload.
 *
 * Location patterns (`location.N.patterns`, several separated by spaces or
 * commas) are matched against the served file's path relative to the
 * directory, without a leading slash ("index.html", "css/site.css"):
 *   - `*` matches any run of characters except `/`, `?` one character
 *     except `/`; every other character matches itself (case-sensitive);
 *   - `**` as a whole path segment matches zero or more segments, so
 *     `img/` then `**` is everything below img, and `**`, a slash, `*.html`
 *     is every HTML file at any depth (spelt out because a C comment
 *     cannot hold those patterns);
 *   - a pattern without `/` matches the file's base name in any folder
 *     (`*.js` matches "app.js" and "lib/app.js"); a pattern with a `/`
 *     anywhere, a leading one included, is matched against the whole
 *     relative path (a slash then `*.js` is only the top folder's scripts).
 * The first location (in N order) with a matching pattern gives the
 * Cache-Control header.  Its value is sent as written except `max-age`,
 * which takes a duration — seconds, or a number with a unit
 * ("1 year", "2 hours 30 minutes"; second, minute, hour, day, week, month
 * = 30 days, year = 365 days, singular or plural) — optionally prefixed
 * `m+` to mean "that long after the file's last modification" (the
 * max-age then counts down and stops at 0). */
typedef struct _PstDirectoryConfig PstDirectoryConfig;

#define PST_TYPE_DIRECTORY_CONFIG (pst_directory_config_get_type ())
GType pst_directory_config_get_type (void) G_GNUC_CONST;

PstDirectoryConfig *pst_directory_config_new   (const char  *directory,
                                                GError     **error);
PstDirectoryConfig *pst_directory_config_ref   (PstDirectoryConfig *self);
void                pst_directory_config_unref (PstDirectoryConfig *self);

/* Setters: only while building, before the first serve. */
gboolean pst_directory_config_set_welcome_file          (PstDirectoryConfig *self,
                                                         const char         *name,
                                                         GError            **error);
gboolean pst_directory_config_set_error_pages_directory (PstDirectoryConfig *self,
                                                         const char         *directory,
                                                         GError            **error);
/* `options`: a space- or comma-separated list; "indexes" is the one known. */
gboolean pst_directory_config_set_options               (PstDirectoryConfig *self,
                                                         const char         *options,
                                                         GError            **error);
void     pst_directory_config_set_indexes               (PstDirectoryConfig *self,
                                                         gboolean            indexes);
gboolean pst_directory_config_add_location              (PstDirectoryConfig *self,
                                                         const char         *patterns,
                                                         const char         *cache_control,
                                                         GError            **error);

const char *pst_directory_config_get_directory (PstDirectoryConfig *self);  /* real path */
gboolean    pst_directory_config_get_indexes   (PstDirectoryConfig *self);

/* The Cache-Control value for rel_path (decoded, no leading slash), or NULL. */
char *pst_directory_config_dup_cache_control (PstDirectoryConfig *self,
                                              const char         *rel_path,
                                              gint64              mtime,
                                              gint64              now);

/* Serves msg from the directory; rel_path as for pst_directory_serve(). */
void pst_directory_config_serve (PstDirectoryConfig *self,
                                 SoupServerMessage  *msg,
                                 const char         *rel_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstDirectoryConfig, pst_directory_config_unref)

G_END_DECLS
