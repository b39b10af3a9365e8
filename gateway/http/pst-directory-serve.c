/* pst-directory-serve.c: answering one request of a directory service
 * SPDX-License-Identifier: Apache-2.0 */
#define _GNU_SOURCE 1   /* O_PATH */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "pst-directory-private.h"

/* Longest decoded request path we look at; longer ones are refused. */
#define MAX_PATH_LEN 4000
/* Error pages larger than this are not used (the built-in one is sent). */
#define MAX_ERROR_PAGE (256 * 1024)

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decoding happens exactly once, here.  Whatever would change meaning after
 * a decode (an encoded '/', '\\', '.', '%' — the last one is how double
 * encoding hides) or has no business in a file name (NUL, controls,
 * backslash) is refused outright rather than "cleaned": a request that
 * needs cleaning is not one a browser following our links would send. */
PstPathVerdict
pst_directory_check_path (const char  *rel_path,
                          char       **out_rel,
                          gboolean    *out_trailing_slash)
{
  g_autoptr(GString) decoded = g_string_new (NULL);
  g_autoptr(GString) clean = g_string_new (NULL);
  g_auto(GStrv) segments = NULL;
  PstPathVerdict verdict = PST_PATH_OK;
  gsize raw_len;

  g_return_val_if_fail (out_rel != NULL, PST_PATH_FORBIDDEN);
  *out_rel = NULL;
  if (out_trailing_slash != NULL)
    *out_trailing_slash = FALSE;

  if (rel_path == NULL)
    rel_path = "";
  raw_len = strlen (rel_path);
  if (raw_len > MAX_PATH_LEN)
    return PST_PATH_FORBIDDEN;

  for (const char *p = rel_path; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      if (c == '%')
        {
          int hi = hex_value (p[1]);
          int lo = hi >= 0 ? hex_value (p[2]) : -1;

          if (hi < 0 || lo < 0)
            return PST_PATH_FORBIDDEN;
          c = (guchar) (hi * 16 + lo);
          p += 2;
          if (c == '/' || c == '\\' || c == '.' || c == '%')
            return PST_PATH_FORBIDDEN;
        }
      if (c < 0x20 || c == 0x7f || c == '\\')
        return PST_PATH_FORBIDDEN;
      g_string_append_c (decoded, (char) c);
    }

  segments = g_strsplit (decoded->str, "/", -1);
  for (guint i = 0; segments[i] != NULL; i++)
    {
      const char *seg = segments[i];

      if (*seg == '\0')
        continue;
      if (strcmp (seg, ".") == 0 || strcmp (seg, "..") == 0)
        return PST_PATH_FORBIDDEN;
      if (*seg == '.')
        verdict = PST_PATH_HIDDEN;   /* keep looking: a later ".." still forbids */
      if (clean->len > 0)
        g_string_append_c (clean, '/');
      g_string_append (clean, seg);
    }
  if (verdict != PST_PATH_OK)
    return verdict;

  if (out_trailing_slash != NULL)
    *out_trailing_slash = raw_len > 0 && rel_path[raw_len - 1] == '/';
  *out_rel = g_string_free (g_steal_pointer (&clean), FALSE);
  return PST_PATH_OK;
}

static gboolean
is_beneath (const char *root,
            const char *path)
{
  gsize n = strlen (root);

  if (strcmp (root, "/") == 0)
    return path[0] == '/';
  return strncmp (root, path, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Where the kernel says fd really is; NULL if /proc is not there. */
static char *
fd_real_path (int fd)
{
  char link[64];
  char buf[PATH_MAX + 1];
  ssize_t n;

  g_snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, buf, sizeof buf - 1);
  if (n < 0 || n >= (ssize_t) sizeof buf - 1)
    return NULL;
  buf[n] = '\0';
  return g_strdup (buf);
}

/* Symlinks inside the folder are followed (a site may link its own files);
 * the check is on where the object finally is.  It is opened first with
 * O_PATH, which neither reads nor triggers anything (FIFOs, devices), its
 * real location is read back from the kernel for that very descriptor (no
 * window between check and use), and only then is it reopened for reading. */
int
pst_directory_open_beneath (const char  *root,
                            const char  *rel,
                            struct stat *st)
{
  g_autofree char *path = NULL;
  g_autofree char *real = NULL;
  int pfd, fd, saved;

  path = *rel != '\0' ? g_build_filename (root, rel, NULL) : g_strdup (root);
  pfd = open (path, O_PATH | O_CLOEXEC);
  if (pfd < 0)
    {
      saved = errno;
      errno = (saved == EACCES || saved == EPERM) ? EACCES : ENOENT;
      return -1;
    }

  real = fd_real_path (pfd);
  if (real == NULL)
    real = realpath (path, NULL);   /* no /proc: best effort */
  if (real == NULL || !is_beneath (root, real))
    {
      close (pfd);
      errno = real == NULL ? ENOENT : EXDEV;
      return -1;
    }

  if (fstat (pfd, st) != 0 || !(S_ISREG (st->st_mode) || S_ISDIR (st->st_mode)))
    {
      close (pfd);
      errno = ENODEV;
      return -1;
    }

  {
    char link[64];
    struct stat st2;

    g_snprintf (link, sizeof link, "/proc/self/fd/%d", pfd);
    fd = open (link, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == ENOENT)
      fd = open (real, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
    saved = errno;
    close (pfd);
    if (fd < 0)
      {
        errno = (saved == EACCES || saved == EPERM) ? EACCES : ENOENT;
        return -1;
      }
    /* the reopened descriptor must be the object that was checked */
    if (fstat (fd, &st2) != 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino)
      {
        close (fd);
        errno = EXDEV;
        return -1;
      }
    *st = st2;
  }
  return fd;
}

char *
pst_directory_guess_type (const char *name)
{
  static const struct { const char *ext; const char *type; } types[] = {
    { "html", "text/html; charset=utf-8" },
    { "htm", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "txt", "text/plain; charset=utf-8" },
    { "md", "text/markdown; charset=utf-8" },
    { "xml", "application/xml" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "ico", "image/vnd.microsoft.icon" },
    { "wasm", "application/wasm" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "pdf", "application/pdf" },
    /* browsers offer to import a CA for this type */
    { "pem", "application/x-x509-ca-cert" },
    { "crt", "application/x-x509-ca-cert" },
    { "cer", "application/x-x509-ca-cert" },
    { "der", "application/x-x509-ca-cert" },
  };
  const char *base = strrchr (name, '/');
  const char *dot;
  g_autofree char *content_type = NULL;
  gboolean uncertain = FALSE;
  char *mime;

  base = base != NULL ? base + 1 : name;
  dot = strrchr (base, '.');
  if (dot != NULL && dot[1] != '\0')
    {
      for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
        if (g_ascii_strcasecmp (dot + 1, types[i].ext) == 0)
          return g_strdup (types[i].type);
    }

  content_type = g_content_type_guess (base, NULL, 0, &uncertain);
  mime = content_type != NULL ? g_content_type_get_mime_type (content_type) : NULL;
  if (mime == NULL || uncertain)
    {
      g_free (mime);
      return g_strdup ("application/octet-stream");
    }
  return mime;
}

static void
set_body (SoupServerMessage *msg,
          const char        *type,
          GBytes            *body)
{
  SoupMessageBody *response = soup_server_message_get_response_body (msg);

  soup_message_body_truncate (response);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Content-Type", type);
  if (g_bytes_get_size (body) > 0)   /* libsoup refuses empty chunks */
    soup_message_body_append_bytes (response, body);
  soup_message_body_complete (response);
}

/* Reads a small regular file in one go (its size is known and bounded). */
static GBytes *
read_small (int     fd,
            goffset size)
{
  char *buf = g_malloc (size > 0 ? size : 1);
  gsize done = 0;

  while (done < (gsize) size)
    {
      ssize_t n = read (fd, buf + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          g_free (buf);
          return NULL;
        }
      done += n;
    }
  return g_bytes_new_take (buf, done);
}

static void
send_error (PstDirectoryConfig *self,
            SoupServerMessage  *msg,
            guint               status)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GBytes) body = NULL;

  soup_server_message_set_status (msg, status, NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_remove (headers, "ETag");
  soup_message_headers_remove (headers, "Last-Modified");

  if (self->error_pages != NULL)
    {
      g_autofree char *name = g_strdup_printf ("%u.html", status);
      struct stat st;
      int fd = pst_directory_open_beneath (self->error_pages, name, &st);

      if (fd >= 0)
        {
          if (S_ISREG (st.st_mode) && st.st_size <= MAX_ERROR_PAGE)
            body = read_small (fd, st.st_size);
          close (fd);
        }
    }
  if (body == NULL)
    {
      const char *phrase = soup_status_get_phrase (status);
      g_autofree char *escaped = g_markup_escape_text (phrase != NULL ? phrase : "", -1);
      char *text = g_strdup_printf ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                                    "<title>%u %s</title></head>\n"
                                    "<body><h1>%u %s</h1></body></html>\n",
                                    status, escaped, status, escaped);
      body = g_bytes_new_take (text, strlen (text));
    }
  set_body (msg, "text/html; charset=utf-8", body);
}

static gboolean
etag_matches (const char *header,
              const char *etag)
{
  g_auto(GStrv) tags = g_strsplit (header, ",", -1);

  /* weak comparison (RFC 9110 §13.1.2): W/ is ignored */
  for (guint i = 0; tags[i] != NULL; i++)
    {
      const char *t = g_strstrip (tags[i]);

      if (strcmp (t, "*") == 0)
        return TRUE;
      if (g_str_has_prefix (t, "W/"))
        t += 2;
      if (strcmp (t, etag) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
not_modified (SoupServerMessage *msg,
              const char        *etag,
              const struct stat *st)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  const char *inm = soup_message_headers_get_one (req, "If-None-Match");
  const char *ims;

  /* If-None-Match wins over If-Modified-Since when both are present. */
  if (inm != NULL)
    return etag_matches (inm, etag);

  ims = soup_message_headers_get_one (req, "If-Modified-Since");
  if (ims != NULL)
    {
      g_autoptr(GDateTime) since = soup_date_time_new_from_http_string (ims);

      if (since != NULL && (gint64) st->st_mtim.tv_sec <= g_date_time_to_unix (since))
        return TRUE;
    }
  return FALSE;
}

static void
serve_file (PstDirectoryConfig *self,
            SoupServerMessage  *msg,
            int                 fd,
            const struct stat  *st,
            const char         *rel)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autoptr(GDateTime) mtime = NULL;
  g_autofree char *etag = NULL;
  g_autofree char *last_modified = NULL;
  g_autofree char *cache_control = NULL;
  g_autofree char *type = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  etag = g_strdup_printf ("\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%lx\"",
                          (gint64) st->st_size, (gint64) st->st_mtim.tv_sec,
                          (unsigned long) st->st_mtim.tv_nsec);
  mtime = g_date_time_new_from_unix_utc (MIN ((gint64) st->st_mtim.tv_sec, now));
  last_modified = soup_date_time_to_string (mtime, SOUP_DATE_HTTP);
  cache_control = pst_directory_config_dup_cache_control (self, rel, st->st_mtim.tv_sec, now);

  soup_message_headers_replace (headers, "ETag", etag);
  soup_message_headers_replace (headers, "Last-Modified", last_modified);
  if (cache_control != NULL)
    soup_message_headers_replace (headers, "Cache-Control", cache_control);

  if (not_modified (msg, etag, st))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_MODIFIED, NULL);
      /* libsoup would otherwise add "Content-Length: 0", which on a 304
       * claims the file is empty (RFC 9110 §8.6) */
      soup_message_headers_set_content_length (headers, st->st_size);
      close (fd);
      return;
    }

  type = pst_directory_guess_type (rel);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);

  if (soup_server_message_get_method (msg) == SOUP_METHOD_HEAD ||
      st->st_size > PST_DIRECTORY_SMALL_FILE)
    {
      /* libsoup keeps an explicit Content-Length and sends no body for HEAD */
      soup_message_headers_replace (headers, "Content-Type", type);
      soup_message_headers_set_content_length (headers, st->st_size);
      if (soup_server_message_get_method (msg) == SOUP_METHOD_HEAD)
        close (fd);
      else
        pst_directory_stream_file (msg, fd, st->st_size);   /* takes fd */
      return;
    }

  {
    g_autoptr(GBytes) body = read_small (fd, st->st_size);

    close (fd);
    if (body == NULL)
      {
        send_error (self, msg, SOUP_STATUS_INTERNAL_SERVER_ERROR);
        return;
      }
    set_body (msg, type, body);
  }
}

/* The folder's own URL with its slash, as a path-absolute reference.  The
 * leading run of slashes is collapsed to one: "//host/x/" would be
 * protocol-relative (another host), and soup_server_message_set_redirect()
 * would even resolve it into "http://host/x/", so Location is set here as
 * it is, without resolving. */
static void
redirect_to_folder (SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);
  const char *path = g_uri_get_path (uri);
  const char *query = g_uri_get_query (uri);
  g_autofree char *location = NULL;

  while (*path == '/' || *path == '\\')
    path++;
  location = g_strconcat ("/", path, "/",
                          query != NULL ? "?" : "", query != NULL ? query : "", NULL);
  soup_server_message_set_status (msg, SOUP_STATUS_MOVED_PERMANENTLY, NULL);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Location", location);
}

static void
serve_folder (PstDirectoryConfig *self,
              SoupServerMessage  *msg,
              int                 dir_fd,
              const char         *rel)
{
  if (self->welcome_file != NULL)
    {
      g_autofree char *welcome = NULL;
      struct stat st;
      int fd;

      welcome = *rel != '\0' ? g_strconcat (rel, "/", self->welcome_file, NULL)
                             : g_strdup (self->welcome_file);
      fd = pst_directory_open_beneath (self->root, welcome, &st);
      if (fd >= 0 && S_ISREG (st.st_mode))
        {
          close (dir_fd);
          serve_file (self, msg, fd, &st, welcome);
          return;
        }
      if (fd >= 0)
        close (fd);
      else if (errno == EXDEV || errno == EACCES)
        {
          close (dir_fd);
          send_error (self, msg, SOUP_STATUS_FORBIDDEN);
          return;
        }
    }

  if (!self->indexes)
    {
      close (dir_fd);
      send_error (self, msg, SOUP_STATUS_NOT_FOUND);
      return;
    }

  {
    g_autoptr(GBytes) listing = pst_directory_build_listing (self->root, rel, dir_fd);

    close (dir_fd);
    if (listing == NULL)
      {
        send_error (self, msg, SOUP_STATUS_FORBIDDEN);
        return;
      }
    soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                  "Cache-Control", "no-cache");
    set_body (msg, "text/html; charset=utf-8", listing);
  }
}

/**
 * pst_directory_config_serve:
 * @self: a #PstDirectoryConfig
 * @msg: the request, from a #SoupServer handler
 * @rel_path: the request path below the accept URL's path, percent-encoded
 *   as received ("/a/b.html"; "" or "/" for the folder itself)
 *
 * Answers @msg from the folder.  Returns with the response set, or (large
 * files) with @msg streaming its body from a worker thread's reads.
 */
void
pst_directory_config_serve (PstDirectoryConfig *self,
                            SoupServerMessage  *msg,
                            const char         *rel_path)
{
  SoupMessageHeaders *headers;
  const char *method;
  g_autofree char *rel = NULL;
  gboolean trailing = FALSE;
  PstPathVerdict verdict;
  struct stat st;
  int fd;

  g_return_if_fail (self != NULL);
  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));

  headers = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (headers, "X-Content-Type-Options", "nosniff");

  method = soup_server_message_get_method (msg);
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (headers, "Allow", "GET, HEAD");
      send_error (self, msg, SOUP_STATUS_METHOD_NOT_ALLOWED);
      return;
    }

  verdict = pst_directory_check_path (rel_path, &rel, &trailing);
  if (verdict != PST_PATH_OK)
    {
      g_debug ("directory %s: refused request path “%s” (%s)", self->root, rel_path,
               verdict == PST_PATH_HIDDEN ? "hidden name" : "not a plain path");
      send_error (self, msg, verdict == PST_PATH_HIDDEN ? SOUP_STATUS_NOT_FOUND
                                                       : SOUP_STATUS_FORBIDDEN);
      return;
    }

  fd = pst_directory_open_beneath (self->root, rel, &st);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == EXDEV)
        g_debug ("directory %s: “%s” leads outside the folder", self->root, rel);
      send_error (self, msg, (saved == EXDEV || saved == EACCES) ? SOUP_STATUS_FORBIDDEN
                                                                 : SOUP_STATUS_NOT_FOUND);
      return;
    }

  if (S_ISDIR (st.st_mode))
    {
      GUri *uri = soup_server_message_get_uri (msg);
      const char *path = uri != NULL ? g_uri_get_path (uri) : "/";

      if (!trailing && !g_str_has_suffix (path, "/"))
        {
          close (fd);
          redirect_to_folder (msg);
          return;
        }
      serve_folder (self, msg, fd, rel);
      return;
    }

  serve_file (self, msg, fd, &st, rel);
}
