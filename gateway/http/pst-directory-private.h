/* pst-directory-private.h: internals of the directory service shared by its files and tests
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/stat.h>
#include "pst-directory-config.h"

G_BEGIN_DECLS

struct _PstDirectoryConfig {
  gatomicrefcount  ref_count;
  char            *root;            /* realpath of `directory`, no trailing slash */
  char            *welcome_file;    /* decoded relative path, or NULL */
  char            *error_pages;     /* realpath of `error-pages-directory`, or NULL */
  gboolean         indexes;
  GPtrArray       *locations;       /* of PstDirectoryLocation */
};

typedef struct {
  GStrv    patterns;
  GStrv    directives;          /* "" marks where max-age goes */
  gboolean max_age_from_mtime;  /* m+: counted from the last modification */
  gint64   max_age;             /* seconds */
} PstDirectoryLocation;

/* Outcome of checking a request path before touching the file system. */
typedef enum {
  PST_PATH_OK,
  PST_PATH_FORBIDDEN,       /* `..`, encoded separators or dots, NUL, backslash, … */
  PST_PATH_HIDDEN,          /* a segment starts with '.': treated as absent */
} PstPathVerdict;

/* Decodes rel_path once and checks it.  On PST_PATH_OK, *out_rel is the
 * decoded path without leading or doubled slashes ("" for the root) and
 * *out_trailing_slash says whether the request ended in '/'. */
PstPathVerdict pst_directory_check_path (const char  *rel_path,
                                         char       **out_rel,
                                         gboolean    *out_trailing_slash);

/* Opens root/rel (rel already checked) and makes sure the object opened is
 * root itself or below it, after every symlink.  Returns an fd (O_CLOEXEC)
 * with *st filled, or -1 with errno (ENOENT, EACCES, EXDEV for "leads
 * out", ENODEV for "not a regular file or folder"). */
int  pst_directory_open_beneath (const char  *root,
                                 const char  *rel,
                                 struct stat *st);

gboolean pst_path_glob_match (const char *pattern,
                              const char *path);

/* "text/html; charset=utf-8" etc. for a file name. */
char *pst_directory_guess_type (const char *name);

/* An HTML listing of the open folder dir_fd, which is root/rel.  Entries
 * that are hidden, lead out of root or could not be requested are left out. */
GBytes *pst_directory_build_listing (const char *root,
                                     const char *rel,
                                     int         dir_fd);

/* Streams the open regular file fd (owned) of size bytes as msg's body. */
void pst_directory_stream_file (SoupServerMessage *msg,
                                int                fd,
                                goffset            size);

/* Files up to this size are read at once; larger ones are streamed. */
#define PST_DIRECTORY_SMALL_FILE (64 * 1024)
#define PST_DIRECTORY_CHUNK      (64 * 1024)

G_END_DECLS
