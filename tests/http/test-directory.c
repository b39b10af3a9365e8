/* test-directory.c: the directory service against a real SoupServer on loopback
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "pst-config.h"
#include "pst-directory.h"
#include "pst-directory-private.h"

#define SECRET "TOP-SECRET-7f3a9c-never-served"
#define BIG_SIZE (50 * 1024 * 1024)
#define CLIENT_TIMEOUT_US (60 * G_USEC_PER_SEC)

typedef struct {
  char               *tmp;       /* holds www/, errors/ and secret.txt */
  char               *www;
  char               *errors;
  PstDirectoryConfig *config;
  SoupServer         *server;
  guint               port;
  char               *shrink_after_serve;  /* truncate this file once its response started */
  PstService         *service;             /* set: serve through pst_directory_serve() */
} Fixture;

/* g_test_expect_message() does not see structured logging (GLib 2.74):
 * an expected warning is matched by our own writer instead. */
static const char *expected_warning;
static gint expected_seen;

static GLogWriterOutput
log_writer (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if ((level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE)) && expected_warning != NULL &&
      g_strcmp0 (domain, "postern") == 0 && message != NULL &&
      g_pattern_match_simple (expected_warning, message))
    {
      g_atomic_int_inc (&expected_seen);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* ---- the tree ------------------------------------------------------------ */

static void
write_file (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static void
make_link (const char *target,
           const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

static void
remove_tree (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      GDir *dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      if (dir != NULL)
        g_dir_close (dir);
      g_assert_cmpint (g_rmdir (path), ==, 0);
    }
  else
    g_assert_cmpint (g_unlink (path), ==, 0);   /* symlinks themselves, never targets */
}

static void
server_cb (SoupServer        *server,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  Fixture *f = user_data;

  /* the raw, still-encoded path, as the gateway hands it over */
  const char *path_raw = g_uri_get_path (soup_server_message_get_uri (msg));

  if (f->service != NULL)
    pst_directory_serve (f->service, msg, path_raw);
  else
    pst_directory_config_serve (f->config, msg, path_raw);
  if (f->shrink_after_serve != NULL)
    g_assert_cmpint (truncate (f->shrink_after_serve, 1024 * 1024), ==, 0);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *sub = NULL;
  g_autofree char *deep = NULL;
  g_autofree char *secret_abs = NULL;
  g_autofree char *style_abs = NULL;
  GSList *uris;

  f->tmp = g_dir_make_tmp ("pst-dir-XXXXXX", &error);
  g_assert_no_error (error);
  f->www = g_build_filename (f->tmp, "www", NULL);
  f->errors = g_build_filename (f->tmp, "errors", NULL);
  sub = g_build_filename (f->www, "sub", NULL);
  deep = g_build_filename (sub, "deep", NULL);
  g_assert_cmpint (g_mkdir_with_parents (deep, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->errors, 0755), ==, 0);

  write_file (f->tmp, "secret.txt", SECRET);
  write_file (f->www, "index.html", "<h1>welcome</h1>");
  write_file (f->www, "style.css", "body{}");
  write_file (f->www, "app.js", "console.log(1)");
  write_file (f->www, "data.json", "{\"a\":1}");
  write_file (f->www, "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
  write_file (f->www, "pic.png", "\x89PNG\r\n\x1a\n");
  {
    g_autofree char *wasm = g_build_filename (f->www, "mod.wasm", NULL);
    g_file_set_contents (wasm, "\0asm\1\0\0\0", 8, &error);
    g_assert_no_error (error);
  }
  write_file (f->www, "empty.txt", "");
  write_file (f->www, "readme.txt", "plain");
  write_file (f->www, "postern-ca.pem", "-----BEGIN CERTIFICATE-----\n");
  write_file (f->www, "ca.crt", "crt");
  write_file (f->www, ".hidden", SECRET);
  write_file (f->www, "a <b>&\"c\".txt", "weird");
  write_file (sub, "page.html", "<p>page</p>");
  write_file (sub, "100%.txt", "percent");
  write_file (deep, "x.js", "deep()");
  write_file (f->errors, "404.html", "<p>custom not found</p>");

  secret_abs = g_build_filename (f->tmp, "secret.txt", NULL);
  style_abs = g_build_filename (f->www, "style.css", NULL);
  make_link ("index.html", f->www, "link-in.html");
  make_link (style_abs, f->www, "link-in-abs.css");
  make_link ("sub", f->www, "link-sub");
  make_link ("../secret.txt", f->www, "link-out.txt");
  make_link (secret_abs, f->www, "link-out-abs.txt");
  make_link ("..", f->www, "dirlink-out");
  make_link ("../../secret.txt", sub, "up.txt");
  make_link ("/", f->www, "root");

  f->config = pst_directory_config_new (f->www, &error);
  g_assert_no_error (error);

  /* raw-paths: without it SoupServer percent-decodes the path before any
   * handler sees it (so "%2f" arrives as "/"); the gateway serves with it
   * on, and the "decoded-paths" variant checks we stay safe without it */
  f->server = soup_server_new ("server-header", "postern-test",
                               "raw-paths", data == NULL, NULL);
  soup_server_add_handler (f->server, NULL, server_cb, f, NULL);
  soup_server_listen_local (f->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (f->server);
  g_assert_nonnull (uris);
  f->port = g_uri_get_port (uris->data);
  g_assert_cmpuint (f->port, >, 0);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  soup_server_disconnect (f->server);
  g_clear_object (&f->server);
  f->service = NULL;   /* owned by the test's PstConfig */
  g_clear_pointer (&f->config, pst_directory_config_unref);
  /* let the server's pending sources run down before the next test */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  remove_tree (f->tmp);
  g_free (f->tmp);
  g_free (f->www);
  g_free (f->errors);
  g_free (f->shrink_after_serve);
}

/* For LeakSanitizer (the sanitized build, `make check-asan`); in other
 * builds nothing calls it.  libsoup 3.2.2's own listener, which only this
 * test uses to accept (the gateway accepts with GSocketService and hands
 * streams to soup_server_accept_iostream()), keeps a reference to every
 * socket it accepts and to its local address: not ours to free. */
const char *__lsan_default_suppressions (void);

const char *
__lsan_default_suppressions (void)
{
  return "leak:g_socket_accept\n"
         "leak:g_socket_get_local_address\n";
}

/* ---- clients, each in its own thread while this one runs the server ------- */

typedef struct {
  /* in */
  guint        port;
  const char  *method;
  const char  *path;
  const char  *raw_target;     /* raw socket request with this target */
  const char  *header_name;
  const char  *header_value;
  gboolean     hash_body;      /* SHA-256 the body instead of keeping it */
  goffset      abort_after;    /* > 0: stop reading after this many bytes */
  /* out */
  guint               status;
  SoupMessageHeaders *headers;
  GBytes             *body;
  char               *raw;     /* raw response, for raw requests */
  char               *sha256;
  goffset             length;
  GError             *error;
  gint                done;
} Request;

static void
request_clear (Request *r)
{
  g_clear_pointer (&r->headers, soup_message_headers_unref);
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->raw, g_free);
  g_clear_pointer (&r->sha256, g_free);
  g_clear_error (&r->error);
  memset (r, 0, sizeof *r);
}

static void
session_request (Request *r)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *uri = g_strdup_printf ("http://127.0.0.1:%u%s", r->port, r->path);
  g_autoptr(SoupMessage) msg = soup_message_new (r->method, uri);
  g_autoptr(GInputStream) in = NULL;

  g_assert_nonnull (msg);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (r->header_name != NULL)
    soup_message_headers_replace (soup_message_get_request_headers (msg),
                                  r->header_name, r->header_value);

  if (!r->hash_body && r->abort_after == 0)
    {
      r->body = soup_session_send_and_read (session, msg, NULL, &r->error);
    }
  else
    {
      g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
      g_autofree guchar *buf = g_malloc (256 * 1024);

      in = soup_session_send (session, msg, NULL, &r->error);
      while (in != NULL)
        {
          gssize n = g_input_stream_read (in, buf, 256 * 1024, NULL, &r->error);

          if (n <= 0)
            break;
          g_checksum_update (sum, buf, n);
          r->length += n;
          if (r->abort_after > 0 && r->length >= r->abort_after)
            break;
        }
      if (in != NULL)
        g_input_stream_close (in, NULL, NULL);
      r->sha256 = g_strdup (g_checksum_get_string (sum));
    }
  r->status = soup_message_get_status (msg);
  r->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
}

static void
raw_request (Request *r)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GString) response = g_string_new (NULL);
  g_autofree char *request = NULL;
  char buf[16384];

  g_socket_client_set_timeout (client, 30);
  conn = g_socket_client_connect_to_host (client, "127.0.0.1", r->port, NULL, &r->error);
  if (conn == NULL)
    return;
  request = g_strdup_printf ("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n",
                             r->method, r->raw_target, r->port);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)),
                                  request, strlen (request), NULL, NULL, &r->error))
    return;
  for (guint i = 0; i < 1000 && response->len < 4 * 1024 * 1024; i++)
    {
      gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)),
                                      buf, sizeof buf, NULL, &r->error);
      if (n <= 0)
        break;
      g_string_append_len (response, buf, n);
    }
  g_clear_error (&r->error);   /* a reset after the response is fine */
  if (g_str_has_prefix (response->str, "HTTP/1."))
    r->status = (guint) g_ascii_strtoull (response->str + 9, NULL, 10);
  r->raw = g_strndup (response->str, response->len);   /* NULs cut it short: fine */
}

static gpointer
client_thread (gpointer data)
{
  Request *r = data;
  GMainContext *ctx = g_main_context_new ();

  g_main_context_push_thread_default (ctx);
  if (r->raw_target != NULL)
    raw_request (r);
  else
    session_request (r);
  g_main_context_pop_thread_default (ctx);
  g_main_context_unref (ctx);

  g_atomic_int_set (&r->done, 1);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gboolean
tick_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs r in a thread, serving from this one, for at most CLIENT_TIMEOUT_US. */
static void
run_request (Fixture *f,
             Request *r)
{
  GThread *thread;
  gint64 deadline = g_get_monotonic_time () + CLIENT_TIMEOUT_US;
  guint tick = g_timeout_add (100, tick_cb, NULL);

  r->port = f->port;
  g_atomic_int_set (&r->done, 0);
  if (r->method == NULL)
    r->method = "GET";
  thread = g_thread_new ("client", client_thread, r);
  while (!g_atomic_int_get (&r->done) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (g_atomic_int_get (&r->done));
  g_thread_join (thread);
  g_source_remove (tick);
}

static void
get (Fixture    *f,
     Request    *r,
     const char *method,
     const char *path)
{
  r->method = method;
  r->path = path;
  run_request (f, r);
  g_assert_no_error (r->error);
}

static void
get_allowing_error (Fixture    *f,
                    Request    *r,
                    const char *path)
{
  r->method = "GET";
  r->path = path;
  run_request (f, r);
}

static const char *
header (Request    *r,
        const char *name)
{
  return soup_message_headers_get_one (r->headers, name);
}

static void
assert_body (Request    *r,
             const char *expected)
{
  g_assert_nonnull (r->body);
  g_assert_cmpmem (g_bytes_get_data (r->body, NULL), g_bytes_get_size (r->body),
                   expected, strlen (expected));
}

static gboolean
body_contains (Request    *r,
               const char *needle)
{
  g_autofree char *text = NULL;

  if (r->body == NULL)
    return FALSE;
  text = g_strndup (g_bytes_get_data (r->body, NULL), g_bytes_get_size (r->body));
  return strstr (text, needle) != NULL;
}

/* ---- tests ---------------------------------------------------------------- */

static void
test_types (Fixture       *f,
            gconstpointer  data)
{
  static const struct { const char *path; const char *type; const char *body; } cases[] = {
    { "/index.html", "text/html; charset=utf-8", "<h1>welcome</h1>" },
    { "/style.css", "text/css; charset=utf-8", "body{}" },
    { "/app.js", "text/javascript; charset=utf-8", "console.log(1)" },
    { "/data.json", "application/json", "{\"a\":1}" },
    { "/logo.svg", "image/svg+xml", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>" },
    { "/pic.png", "image/png", "\x89PNG\r\n\x1a\n" },
    { "/readme.txt", "text/plain; charset=utf-8", "plain" },
    { "/postern-ca.pem", "application/x-x509-ca-cert", "-----BEGIN CERTIFICATE-----\n" },
    { "/ca.crt", "application/x-x509-ca-cert", "crt" },
    { "/sub/page.html", "text/html; charset=utf-8", "<p>page</p>" },
    { "/a%20%3Cb%3E%26%22c%22.txt", "text/plain; charset=utf-8", "weird" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Request r = { 0 };

      get (f, &r, "GET", cases[i].path);
      g_test_message ("%s -> %u %s", cases[i].path, r.status, header (&r, "Content-Type"));
      g_assert_cmpuint (r.status, ==, 200);
      g_assert_cmpstr (header (&r, "Content-Type"), ==, cases[i].type);
      g_assert_cmpstr (header (&r, "X-Content-Type-Options"), ==, "nosniff");
      assert_body (&r, cases[i].body);
      request_clear (&r);
    }

  {
    Request r = { 0 };

    get (f, &r, "GET", "/mod.wasm");
    g_assert_cmpuint (r.status, ==, 200);
    g_assert_cmpstr (header (&r, "Content-Type"), ==, "application/wasm");
    g_assert_cmpmem (g_bytes_get_data (r.body, NULL), g_bytes_get_size (r.body), "\0asm\1\0\0\0", 8);
    request_clear (&r);

    get (f, &r, "GET", "/empty.txt");
    g_assert_cmpuint (r.status, ==, 200);
    g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
    g_assert_cmpint (soup_message_headers_get_content_length (r.headers), ==, 0);
    request_clear (&r);
  }
}

static void
test_head (Fixture       *f,
           gconstpointer  data)
{
  Request r = { 0 };

  get (f, &r, "HEAD", "/style.css");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (soup_message_headers_get_content_length (r.headers), ==, strlen ("body{}"));
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/css; charset=utf-8");
  g_assert_nonnull (header (&r, "ETag"));
  g_assert_nonnull (header (&r, "Last-Modified"));
  g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
  request_clear (&r);

  get (f, &r, "HEAD", "/missing");
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
  request_clear (&r);
}

static void
test_methods (Fixture       *f,
              gconstpointer  data)
{
  static const char *methods[] = { "POST", "PUT", "DELETE", "OPTIONS" };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      Request r = { 0 };

      get (f, &r, methods[i], "/index.html");
      g_assert_cmpuint (r.status, ==, 405);
      g_assert_cmpstr (header (&r, "Allow"), ==, "GET, HEAD");
      g_assert_false (body_contains (&r, "welcome"));
      request_clear (&r);
    }
}

static void
test_welcome (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Request r = { 0 };

  pst_directory_config_set_welcome_file (f->config, "index.html", &error);
  g_assert_no_error (error);

  get (f, &r, "GET", "/");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/html; charset=utf-8");
  assert_body (&r, "<h1>welcome</h1>");
  request_clear (&r);

  /* a folder without its slash is redirected, so that relative links work */
  get (f, &r, "GET", "/sub");
  g_assert_cmpuint (r.status, ==, 301);
  g_assert_true (g_str_has_suffix (header (&r, "Location"), "/sub/"));
  request_clear (&r);

  /* no welcome file in sub/ and no indexes */
  get (f, &r, "GET", "/sub/");
  g_assert_cmpuint (r.status, ==, 404);
  request_clear (&r);

  /* welcome file names are checked like request paths */
  g_assert_false (pst_directory_config_set_welcome_file (f->config, "../secret.txt", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (pst_directory_config_set_welcome_file (f->config, "/etc/passwd", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
}

static void
test_indexes (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Request r = { 0 };

  /* off by default: a folder without welcome file is not found */
  get (f, &r, "GET", "/");
  g_assert_cmpuint (r.status, ==, 404);
  request_clear (&r);

  g_assert_true (pst_directory_config_set_options (f->config, "indexes", &error));
  g_assert_no_error (error);
  g_assert_true (pst_directory_config_get_indexes (f->config));

  get (f, &r, "GET", "/");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/html; charset=utf-8");
  g_assert_true (body_contains (&r, "href=\"index.html\""));
  g_assert_true (body_contains (&r, "href=\"sub/\""));
  g_assert_true (body_contains (&r, "href=\"link-in.html\""));
  /* names are escaped, in the text and in the link */
  g_assert_true (body_contains (&r, "a &lt;b&gt;&amp;&quot;c&quot;.txt"));
  g_assert_true (body_contains (&r, "href=\"a%20%3Cb%3E%26%22c%22.txt\""));
  g_assert_false (body_contains (&r, "<b>"));
  /* hidden files and links leading out are not listed */
  g_assert_false (body_contains (&r, ".hidden"));
  g_assert_false (body_contains (&r, "link-out"));
  g_assert_false (body_contains (&r, "dirlink-out"));
  g_assert_false (body_contains (&r, "\"root/\""));
  g_assert_false (body_contains (&r, SECRET));
  request_clear (&r);

  get (f, &r, "GET", "/sub/");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (body_contains (&r, "href=\"../\""));
  g_assert_true (body_contains (&r, "href=\"page.html\""));
  g_assert_true (body_contains (&r, "href=\"deep/\""));
  g_assert_false (body_contains (&r, "up.txt"));
  g_assert_false (body_contains (&r, "100%"));   /* could not be requested */
  request_clear (&r);

  /* the welcome file wins over the listing */
  pst_directory_config_set_welcome_file (f->config, "index.html", &error);
  g_assert_no_error (error);
  get (f, &r, "GET", "/");
  assert_body (&r, "<h1>welcome</h1>");
  request_clear (&r);

  g_assert_false (pst_directory_config_set_options (f->config, "indexes bogus", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
}

static void
test_etag (Fixture       *f,
           gconstpointer  data)
{
  Request r = { 0 };
  g_autofree char *etag = NULL;
  g_autofree char *weak = NULL;
  g_autofree char *list = NULL;

  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 200);
  etag = g_strdup (header (&r, "ETag"));
  g_assert_nonnull (etag);
  g_assert_true (etag[0] == '"' && g_str_has_suffix (etag, "\""));
  request_clear (&r);

  r.header_name = "If-None-Match";
  r.header_value = etag;
  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 304);
  g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
  g_assert_cmpstr (header (&r, "ETag"), ==, etag);
  request_clear (&r);

  weak = g_strconcat ("W/", etag, NULL);
  list = g_strconcat ("\"nope\", ", weak, NULL);
  r.header_name = "If-None-Match";
  r.header_value = list;
  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 304);
  request_clear (&r);

  r.header_name = "If-None-Match";
  r.header_value = "\"other\"";
  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 200);
  assert_body (&r, "body{}");
  request_clear (&r);

  /* the ETag changes with the file */
  write_file (f->www, "style.css", "body{color:red}");
  r.header_name = "If-None-Match";
  r.header_value = etag;
  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "ETag"), !=, etag);
  assert_body (&r, "body{color:red}");
  request_clear (&r);
}

static void
test_if_modified_since (Fixture       *f,
                        gconstpointer  data)
{
  Request r = { 0 };
  g_autofree char *last_modified = NULL;

  get (f, &r, "GET", "/app.js");
  g_assert_cmpuint (r.status, ==, 200);
  last_modified = g_strdup (header (&r, "Last-Modified"));
  g_assert_nonnull (last_modified);
  request_clear (&r);

  r.header_name = "If-Modified-Since";
  r.header_value = last_modified;
  get (f, &r, "GET", "/app.js");
  g_assert_cmpuint (r.status, ==, 304);
  g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
  request_clear (&r);

  r.header_name = "If-Modified-Since";
  r.header_value = "Sat, 01 Jan 2000 00:00:00 GMT";
  get (f, &r, "GET", "/app.js");
  g_assert_cmpuint (r.status, ==, 200);
  assert_body (&r, "console.log(1)");
  request_clear (&r);

  r.header_name = "If-Modified-Since";
  r.header_value = "not a date";
  get (f, &r, "GET", "/app.js");
  g_assert_cmpuint (r.status, ==, 200);
  request_clear (&r);
}

static void
test_cache_control (Fixture       *f,
                    gconstpointer  data)
{
  static const struct { const char *path; const char *expected; } cases[] = {
    { "/index.html", "max-age=3600" },
    { "/sub/page.html", "max-age=3600" },
    { "/app.js", "public, max-age=31536000" },
    { "/sub/deep/x.js", "public, max-age=31536000" },
    { "/logo.svg", "no-cache" },
    { "/style.css", NULL },
    { "/readme.txt", NULL },
  };
  g_autoptr(GError) error = NULL;

  g_assert_true (pst_directory_config_add_location (f->config, "**/*.html", "max-age=1 hour", &error));
  g_assert_true (pst_directory_config_add_location (f->config, "*.js", "public, max-age=1 year", &error));
  g_assert_true (pst_directory_config_add_location (f->config, "/*.svg, /*.png", "no-cache", &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Request r = { 0 };

      get (f, &r, "GET", cases[i].path);
      g_assert_cmpuint (r.status, ==, 200);
      g_assert_cmpstr (header (&r, "Cache-Control"), ==, cases[i].expected);
      request_clear (&r);
    }

  /* the 304 carries it too */
  {
    Request r = { 0 };
    g_autofree char *etag = NULL;

    get (f, &r, "GET", "/app.js");
    etag = g_strdup (header (&r, "ETag"));
    request_clear (&r);
    r.header_name = "If-None-Match";
    r.header_value = etag;
    get (f, &r, "GET", "/app.js");
    g_assert_cmpuint (r.status, ==, 304);
    g_assert_cmpstr (header (&r, "Cache-Control"), ==, "public, max-age=31536000");
    request_clear (&r);
  }
}

static void
test_error_pages (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Request r = { 0 };

  get (f, &r, "GET", "/nothing-here.html");
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_true (body_contains (&r, "404 Not Found"));
  g_assert_cmpstr (header (&r, "X-Content-Type-Options"), ==, "nosniff");
  request_clear (&r);

  g_assert_true (pst_directory_config_set_error_pages_directory (f->config, f->errors, &error));
  g_assert_no_error (error);

  get (f, &r, "GET", "/nothing-here.html");
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/html; charset=utf-8");
  assert_body (&r, "<p>custom not found</p>");
  request_clear (&r);

  /* a status without its page falls back to the built-in one (GUri would
   * normalise %2e%2e away; an encoded slash reaches us as it is) */
  get (f, &r, "GET", "/sub%2fpage.html");
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_true (body_contains (&r, "403 Forbidden"));
  request_clear (&r);

  g_assert_false (pst_directory_config_set_error_pages_directory (f->config, "/nonexistent/x", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY);
}

/* Every way out we know of, sent byte for byte on a raw socket (a client
 * library would normalise most of them away before they reach us). */
static void
test_traversal (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *secret_abs = g_build_filename (f->tmp, "secret.txt", NULL);
  g_autofree char *absolute = g_strdup_printf ("/%s", secret_abs);
  g_autofree char *absolute_form = g_strdup_printf ("http://127.0.0.1:%u/../secret.txt", f->port);
  g_autofree char *absolute_form2 = g_strdup_printf ("http://127.0.0.1:%u/%%2e%%2e/secret.txt", f->port);
  const char *targets[] = {
    "/../secret.txt",
    "/../../../../../../etc/passwd",
    "/sub/../../secret.txt",
    "/./../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/%252e%252e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/%25252e%25252e/secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2f..%2fsecret.txt",
    "/sub%2f..%2f..%2fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5csecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/%00../secret.txt",
    "/index.html%00",
    "//..//secret.txt",
    absolute,
    "//etc/passwd",
    absolute_form,
    absolute_form2,
    "/link-out.txt",
    "/link-out-abs.txt",
    "/dirlink-out/secret.txt",
    "/sub/up.txt",
    "/root/etc/passwd",
    "/link-sub/up.txt",
    "/.hidden",
    "/%2ehidden",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      Request r = { 0 };

      r.raw_target = targets[i];
      run_request (f, &r);
      g_test_message ("%s -> %u", targets[i], r.status);
      g_assert_no_error (r.error);
      g_assert_nonnull (r.raw);
      if (r.status != 400 && r.status != 403 && r.status != 404)
        g_error ("%s answered %u:\n%s", targets[i], r.status, r.raw);
      g_assert_null (strstr (r.raw, SECRET));
      g_assert_null (strstr (r.raw, "root:"));
      g_assert_null (strstr (r.raw, "<h1>welcome</h1>"));   /* not even an inside file */
      request_clear (&r);
    }

  /* and a SoupSession says the same */
  {
    Request r = { 0 };

    get (f, &r, "GET", "/link-out.txt");
    g_assert_cmpuint (r.status, ==, 403);
    g_assert_false (body_contains (&r, SECRET));
    request_clear (&r);
  }
}

/* The Location of a raw response, or NULL. */
static char *
raw_location (const char *raw)
{
  g_auto(GStrv) lines = g_strsplit (raw, "\r\n", -1);

  for (guint i = 1; lines[i] != NULL && *lines[i] != '\0'; i++)
    if (g_ascii_strncasecmp (lines[i], "Location:", 9) == 0)
      return g_strstrip (g_strdup (lines[i] + 9));
  return NULL;
}

/* A folder redirect must stay on this host: a Location starting with "//"
 * (or "/\", which browsers read the same way) is protocol-relative and
 * would send the browser to the host named by the first segment. */
static void
test_redirect_same_host (Fixture       *f,
                         gconstpointer  data)
{
  static const struct { const char *target; const char *location; } redirected[] = {
    { "//sub", "/sub/" },
    { "///sub", "/sub/" },
    { "//sub?a=1", "/sub/?a=1" },
    { "//sub/deep", "/sub/deep/" },
    { "/sub//deep", "/sub//deep/" },
  };
  const char *refused[] = {
    "/\\sub",
    "/\\\\sub",
    "\\\\sub",
    "/%2F%2Fsub",
    "/%2f%2fsub",
    "/%2f/sub",
    "/%2F/sub",
    "//%2f/sub",
    "/%5c%5csub",
    "/%5C/sub",
    "/%252f%252fsub",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (redirected); i++)
    {
      Request r = { 0 };
      g_autofree char *location = NULL;

      r.raw_target = redirected[i].target;
      run_request (f, &r);
      g_assert_no_error (r.error);
      g_assert_nonnull (r.raw);
      location = raw_location (r.raw);
      g_test_message ("%s -> %u %s", redirected[i].target, r.status,
                      location != NULL ? location : "(no Location)");
      g_assert_cmpuint (r.status, ==, 301);
      g_assert_cmpstr (location, ==, redirected[i].location);
      request_clear (&r);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      Request r = { 0 };
      g_autofree char *location = NULL;

      r.raw_target = refused[i];
      run_request (f, &r);
      g_assert_no_error (r.error);
      g_assert_nonnull (r.raw);
      location = raw_location (r.raw);
      g_test_message ("%s -> %u %s", refused[i], r.status,
                      location != NULL ? location : "(no Location)");
      if (r.status != 400 && r.status != 403 && r.status != 404)
        g_error ("%s answered %u:\n%s", refused[i], r.status, r.raw);
      g_assert_null (location);
      request_clear (&r);
    }
}

static void
test_symlinks_inside (Fixture       *f,
                      gconstpointer  data)
{
  static const struct { const char *path; const char *body; } cases[] = {
    { "/link-in.html", "<h1>welcome</h1>" },
    { "/link-in-abs.css", "body{}" },
    { "/link-sub/page.html", "<p>page</p>" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Request r = { 0 };

      get (f, &r, "GET", cases[i].path);
      g_assert_cmpuint (r.status, ==, 200);
      assert_body (&r, cases[i].body);
      request_clear (&r);
    }
}

/* Serving a root that is itself reached through a symlink still works,
 * and everything is checked against the real folder. */
static void
test_root_symlink (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *alias = g_build_filename (f->tmp, "alias", NULL);
  Request r = { 0 };

  make_link ("www", f->tmp, "alias");
  pst_directory_config_unref (f->config);
  f->config = pst_directory_config_new (alias, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (pst_directory_config_get_directory (f->config), "/www"));

  get (f, &r, "GET", "/index.html");
  g_assert_cmpuint (r.status, ==, 200);
  request_clear (&r);
  get (f, &r, "GET", "/link-out.txt");
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_false (body_contains (&r, SECRET));
  request_clear (&r);
}

static void
test_not_regular (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *fifo = g_build_filename (f->www, "pipe", NULL);
  Request r = { 0 };

  /* a FIFO would block an open(); it must be refused without opening */
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  get (f, &r, "GET", "/pipe");
  g_assert_cmpuint (r.status, ==, 404);
  request_clear (&r);
}

static void
write_big_file (const char *path,
                char      **out_sha256)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GRand) rand = g_rand_new_with_seed (4242);
  g_autofree guint32 *buf = g_new (guint32, 16384);
  FILE *fp = fopen (path, "wb");

  g_assert_nonnull (fp);
  for (gsize done = 0; done < BIG_SIZE; done += 16384 * 4)
    {
      for (guint i = 0; i < 16384; i++)
        buf[i] = g_rand_int (rand);
      g_checksum_update (sum, (guchar *) buf, 16384 * 4);
      g_assert_cmpuint (fwrite (buf, 4, 16384, fp), ==, 16384);
    }
  g_assert_cmpint (fclose (fp), ==, 0);
  *out_sha256 = g_strdup (g_checksum_get_string (sum));
}

static void
test_stream_big (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->www, "big.bin", NULL);
  g_autofree char *expected = NULL;
  Request r = { 0 };

  write_big_file (path, &expected);

  r.hash_body = TRUE;
  get (f, &r, "GET", "/big.bin");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (soup_message_headers_get_content_length (r.headers), ==, BIG_SIZE);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "application/octet-stream");
  g_assert_cmpint (r.length, ==, BIG_SIZE);
  g_assert_cmpstr (r.sha256, ==, expected);
  request_clear (&r);

  /* HEAD on the big file: its length, no body */
  get (f, &r, "HEAD", "/big.bin");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (soup_message_headers_get_content_length (r.headers), ==, BIG_SIZE);
  g_assert_cmpuint (g_bytes_get_size (r.body), ==, 0);
  request_clear (&r);

  /* a client that goes away half-way must not upset the server… */
  r.abort_after = 1024 * 1024;
  get (f, &r, "GET", "/big.bin");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpint (r.length, >=, 1024 * 1024);
  g_assert_cmpint (r.length, <, BIG_SIZE);
  request_clear (&r);

  /* …which still serves the whole file afterwards */
  r.hash_body = TRUE;
  get (f, &r, "GET", "/big.bin");
  g_assert_cmpint (r.length, ==, BIG_SIZE);
  g_assert_cmpstr (r.sha256, ==, expected);
  request_clear (&r);
}

/* A file that shrinks while it is sent must not look complete. */
static void
test_stream_truncated (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->www, "shrink.bin", NULL);
  g_autofree char *expected = NULL;
  Request r = { 0 };

  write_big_file (path, &expected);
  f->shrink_after_serve = g_strdup (path);
  r.hash_body = TRUE;
  g_atomic_int_set (&expected_seen, 0);
  expected_warning = "*shrink.bin*shorter than*";
  get_allowing_error (f, &r, "/shrink.bin");
  expected_warning = NULL;
  g_assert_cmpuint (g_atomic_int_get (&expected_seen), ==, 1);
  g_test_message ("got %" G_GINT64_FORMAT " bytes, error %s", (gint64) r.length,
                  r.error != NULL ? r.error->message : "none");
  g_assert_cmpint (r.length, <, BIG_SIZE);
  g_assert_nonnull (r.error);   /* the client sees a broken body, not a short file */
  request_clear (&r);
}

/* The whole path from gateway-config.xml: properties (with ${…}), paths
 * relative to the config's folder, locations as the parser numbers them. */
static void
test_service (Fixture       *f,
              gconstpointer  data)
{
  static const char xml_template[] =
    "<?xml version=\"1.0\"?>\n"
    "<gateway-config xmlns=\"http://xmlns.kaazing.org/2016/06/gateway\">\n"
    "  <properties><property><name>site</name><value>www</value></property></properties>\n"
    "  <service>\n"
    "    <name>site</name>\n"
    "    <accept>http://localhost:8000/</accept>\n"
    "    <type>directory</type>\n"
    "    <properties>\n"
    "      <directory>../${site}</directory>\n"
    "      <options>indexes</options>\n"
    "      <welcome-file>index.html</welcome-file>\n"
    "      <error-pages-directory>../errors</error-pages-directory>\n"
    "      <location><patterns>**/*.html</patterns><cache-control>max-age=1 day</cache-control></location>\n"
    "      <location><patterns>*.js *.css</patterns><cache-control>public, max-age=2 hours</cache-control></location>\n"
    "    </properties>\n"
    "  </service>\n"
    "  <service>\n"
    "    <name>broken</name>\n"
    "    <accept>http://localhost:8001/</accept>\n"
    "    <type>directory</type>\n"
    "    <properties><directory>../nowhere</directory></properties>\n"
    "  </service>\n"
    "</gateway-config>\n";
  g_autofree char *conf_dir = g_build_filename (f->tmp, "conf", NULL);
  g_autofree char *conf_path = g_build_filename (conf_dir, "gateway-config.xml", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstConfig) config = NULL;
  g_autoptr(PstDirectoryConfig) dconf = NULL;
  Request r = { 0 };

  g_assert_cmpint (g_mkdir (conf_dir, 0755), ==, 0);
  config = pst_config_new_from_data (xml_template, strlen (xml_template), conf_path, &error);
  g_assert_no_error (error);
  f->service = pst_config_find_service (config, "site");
  g_assert_nonnull (f->service);

  dconf = pst_directory_config_new_from_service (f->service, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (pst_directory_config_get_directory (dconf), "/www"));
  g_assert_true (pst_directory_config_get_indexes (dconf));

  get (f, &r, "GET", "/");
  g_assert_cmpuint (r.status, ==, 200);
  assert_body (&r, "<h1>welcome</h1>");
  g_assert_cmpstr (header (&r, "Cache-Control"), ==, "max-age=86400");
  request_clear (&r);

  get (f, &r, "GET", "/sub/deep/x.js");
  g_assert_cmpstr (header (&r, "Cache-Control"), ==, "public, max-age=7200");
  request_clear (&r);

  get (f, &r, "GET", "/sub/");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_true (body_contains (&r, "page.html"));
  request_clear (&r);

  get (f, &r, "GET", "/gone.html");
  g_assert_cmpuint (r.status, ==, 404);
  assert_body (&r, "<p>custom not found</p>");
  request_clear (&r);

  get (f, &r, "GET", "/link-out.txt");
  g_assert_cmpuint (r.status, ==, 403);
  g_assert_false (body_contains (&r, SECRET));
  request_clear (&r);

  /* a service whose folder is missing (yet) answers 404, as `postern check`
   * warns, and says why in the log */
  f->service = pst_config_find_service (config, "broken");
  g_assert_null (pst_directory_config_new_from_service (f->service, &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY);
  g_atomic_int_set (&expected_seen, 0);
  expected_warning = "*service broken*nowhere*";
  get (f, &r, "GET", "/");
  expected_warning = NULL;
  g_assert_cmpuint (r.status, ==, 404);
  g_assert_cmpuint (g_atomic_int_get (&expected_seen), ==, 1);
  request_clear (&r);
}

/* The shipped welcome page, served by the directory service as the default
 * config does: welcome file, types, and nothing that reaches outside. */
static void
test_shipped_page (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *web = g_build_filename (PST_SOURCE_DIR, "data", "web", NULL);
  g_autoptr(GError) error = NULL;
  Request r = { 0 };

  pst_directory_config_unref (f->config);
  f->config = pst_directory_config_new (web, &error);
  g_assert_no_error (error);
  pst_directory_config_set_welcome_file (f->config, "index.html", &error);
  g_assert_no_error (error);

  get (f, &r, "GET", "/");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/html; charset=utf-8");
  g_assert_true (body_contains (&r, "<output id=\"status\" data-state=\"pending\""));
  g_assert_true (body_contains (&r, "href=\"/postern-ca.pem\""));
  g_assert_false (body_contains (&r, "src=\"http"));
  g_assert_false (body_contains (&r, "href=\"http"));
  g_assert_false (body_contains (&r, "src=\"//"));
  request_clear (&r);

  get (f, &r, "GET", "/app.js");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/javascript; charset=utf-8");
  g_assert_true (body_contains (&r, "new WebSocket"));
  request_clear (&r);

  get (f, &r, "GET", "/style.css");
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpstr (header (&r, "Content-Type"), ==, "text/css; charset=utf-8");
  g_assert_true (body_contains (&r, "prefers-color-scheme: dark"));
  request_clear (&r);
}

/* ---- units without a server ------------------------------------------------ */

static void
test_check_path (void)
{
  static const struct { const char *in; PstPathVerdict verdict; const char *out; gboolean slash; } cases[] = {
    { "", PST_PATH_OK, "", FALSE },
    { "/", PST_PATH_OK, "", TRUE },
    { "/a/b.html", PST_PATH_OK, "a/b.html", FALSE },
    { "//a///b/", PST_PATH_OK, "a/b", TRUE },
    { "/a%20b", PST_PATH_OK, "a b", FALSE },
    { "/caf%C3%A9", PST_PATH_OK, "caf\xc3\xa9", FALSE },
    { "/a.b.c", PST_PATH_OK, "a.b.c", FALSE },
    { "/a..b", PST_PATH_OK, "a..b", FALSE },
    { "/..", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/../x", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a/./b", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a/../b", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/%2e%2e/x", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/%2E./x", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%2fb", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%2Fb", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%5cb", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a\\b", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/%252e%252e", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/100%25", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%00b", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%0ab", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a\tb", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%2", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/a%zz", PST_PATH_FORBIDDEN, NULL, FALSE },
    { "/.git/config", PST_PATH_HIDDEN, NULL, FALSE },
    { "/a/.env", PST_PATH_HIDDEN, NULL, FALSE },
    { "/.x/../y", PST_PATH_FORBIDDEN, NULL, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      gboolean slash = FALSE;
      PstPathVerdict v = pst_directory_check_path (cases[i].in, &out, &slash);

      g_test_message ("%s -> %d %s", cases[i].in, v, out);
      g_assert_cmpint (v, ==, cases[i].verdict);
      g_assert_cmpstr (out, ==, cases[i].out);
      if (v == PST_PATH_OK)
        g_assert_cmpint (slash, ==, cases[i].slash);
    }

  {
    g_autofree char *longp = g_strnfill (5000, 'a');
    g_autofree char *out = NULL;

    g_assert_cmpint (pst_directory_check_path (longp, &out, NULL), ==, PST_PATH_FORBIDDEN);
  }
}

static void
test_glob (void)
{
  static const struct { const char *pattern; const char *path; gboolean match; } cases[] = {
    { "*.js", "app.js", TRUE },
    { "*.js", "lib/app.js", TRUE },
    { "*.js", "app.json", FALSE },
    { "/*.js", "app.js", TRUE },
    { "/*.js", "lib/app.js", FALSE },
    { "**/*.html", "index.html", TRUE },
    { "**/*.html", "a/b/c/page.html", TRUE },
    { "**/*.html", "a/b/c/page.htm", FALSE },
    { "img/**", "img/a.png", TRUE },
    { "img/**", "img/x/y/a.png", TRUE },
    { "img/**", "imgs/a.png", FALSE },
    { "a/**/b", "a/b", TRUE },
    { "a/**/b", "a/x/y/b", TRUE },
    { "a/**/b", "a/x/y/c", FALSE },
    { "**", "anything/at/all", TRUE },
    { "**/**/*.css", "x.css", TRUE },
    { "?.txt", "a.txt", TRUE },
    { "?.txt", "ab.txt", FALSE },
    { "a?c/*", "abc/d", TRUE },
    { "a?c/*", "a/c/d", FALSE },
    { "*", "a/b", TRUE },          /* base name */
    { "x/*", "x/a/b", FALSE },     /* * stays in its segment */
    { "*a*b*", "xxaxxbxx", TRUE },
    { "*a*b", "xxaxxbxxc", FALSE },
    { "index.html", "index.html", TRUE },
    { "Index.html", "index.html", FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s ~ %s", cases[i].pattern, cases[i].path);
      g_assert_cmpint (pst_path_glob_match (cases[i].pattern, cases[i].path), ==, cases[i].match);
    }
}

static void
test_cache_control_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pst-cc-XXXXXX", &error);
  g_autoptr(PstDirectoryConfig) config = NULL;
  static const struct { const char *pattern; const char *value; } good[] = {
    { "a.1", "max-age=3600" },
    { "a.2", "max-age=1 year" },
    { "a.3", "max-age = 2 hours 30 minutes, must-revalidate" },
    { "a.4", "private, max-age=m+1 day" },
    { "a.5", "no-store" },
    { "a.6", "max-age=1d" },
  };
  static const char *bad[] = {
    "max-age=soon", "max-age=1 fortnight", "max-age=", "max-age=1,max-age=2",
    "max-age=99999999999999999999", "no-cache\r\nX-Evil: 1",
  };
  char *v;

  g_assert_no_error (error);
  config = pst_directory_config_new (dir, &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      pst_directory_config_add_location (config, good[i].pattern, good[i].value, &error);
      g_assert_no_error (error);
    }

  v = pst_directory_config_dup_cache_control (config, "a.1", 0, 0);
  g_assert_cmpstr (v, ==, "max-age=3600");
  g_free (v);
  v = pst_directory_config_dup_cache_control (config, "x/a.2", 0, 0);
  g_assert_cmpstr (v, ==, "max-age=31536000");
  g_free (v);
  v = pst_directory_config_dup_cache_control (config, "a.3", 0, 0);
  g_assert_cmpstr (v, ==, "max-age=9000, must-revalidate");
  g_free (v);
  /* m+: one day after the modification, an hour of it already gone */
  v = pst_directory_config_dup_cache_control (config, "a.4", 1000000, 1000000 + 3600);
  g_assert_cmpstr (v, ==, "private, max-age=82800");
  g_free (v);
  /* …and never negative */
  v = pst_directory_config_dup_cache_control (config, "a.4", 1000000, 1000000 + 3 * 86400);
  g_assert_cmpstr (v, ==, "private, max-age=0");
  g_free (v);
  v = pst_directory_config_dup_cache_control (config, "a.5", 0, 0);
  g_assert_cmpstr (v, ==, "no-store");
  g_free (v);
  v = pst_directory_config_dup_cache_control (config, "a.6", 0, 0);
  g_assert_cmpstr (v, ==, "max-age=86400");
  g_free (v);
  g_assert_null (pst_directory_config_dup_cache_control (config, "b", 0, 0));

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("bad: %s", bad[i]);
      g_assert_false (pst_directory_config_add_location (config, "x", bad[i], &error));
      g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
      g_clear_error (&error);
    }
  g_assert_false (pst_directory_config_add_location (config, "  ", "no-cache", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
  g_clear_error (&error);

  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_config_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PstDirectoryConfig) config = NULL;
  g_autofree char *file = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pst-cfg-XXXXXX", &error);

  g_assert_no_error (error);
  g_assert_null (pst_directory_config_new ("/nonexistent/folder", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY);
  g_clear_error (&error);
  g_assert_null (pst_directory_config_new (NULL, &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY);
  g_clear_error (&error);

  file = g_build_filename (dir, "f", NULL);
  write_file (dir, "f", "x");
  g_assert_null (pst_directory_config_new (file, &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_NO_DIRECTORY);
  g_clear_error (&error);

  config = pst_directory_config_new (dir, &error);
  g_assert_no_error (error);
  g_assert_true (pst_directory_config_set_welcome_file (config, "sub/index.html", &error));
  g_assert_false (pst_directory_config_set_welcome_file (config, ".index.html", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_false (pst_directory_config_set_welcome_file (config, "a%2f..", &error));
  g_assert_error (error, PST_DIRECTORY_ERROR, PST_DIRECTORY_ERROR_BAD_VALUE);
  g_clear_error (&error);
  g_assert_true (pst_directory_config_set_options (config, NULL, &error));
  g_assert_false (pst_directory_config_get_indexes (config));
  g_assert_true (pst_directory_config_set_options (config, " INDEXES ", &error));
  g_assert_true (pst_directory_config_get_indexes (config));

  g_assert_cmpint (g_unlink (file), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_mime (void)
{
  static const struct { const char *name; const char *type; } cases[] = {
    { "a.HTML", "text/html; charset=utf-8" },
    { "x/y.mjs", "text/javascript; charset=utf-8" },
    { "k.pem", "application/x-x509-ca-cert" },
    { "m.wasm", "application/wasm" },
    { "noext", "application/octet-stream" },
    { "trailingdot.", "application/octet-stream" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *t = pst_directory_guess_type (cases[i].name);
      g_assert_cmpstr (t, ==, cases[i].type);
    }
}

int
main (int   argc,
      char *argv[])
{
  /* loopback only: no proxy lookup (the GNOME resolver wants GSettings
   * schemas, which isolated XDG dirs do not have) */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "dummy", TRUE);
  g_log_set_writer_func (log_writer, NULL, NULL);
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  g_test_add_func ("/directory/check-path", test_check_path);
  g_test_add_func ("/directory/glob", test_glob);
  g_test_add_func ("/directory/cache-control-values", test_cache_control_values);
  g_test_add_func ("/directory/config-errors", test_config_errors);
  g_test_add_func ("/directory/mime", test_mime);
  ADD ("/directory/types", test_types);
  ADD ("/directory/head", test_head);
  ADD ("/directory/methods", test_methods);
  ADD ("/directory/welcome", test_welcome);
  ADD ("/directory/indexes", test_indexes);
  ADD ("/directory/etag", test_etag);
  ADD ("/directory/if-modified-since", test_if_modified_since);
  ADD ("/directory/cache-control", test_cache_control);
  ADD ("/directory/error-pages", test_error_pages);
  ADD ("/directory/traversal", test_traversal);
  g_test_add ("/directory/traversal-decoded-paths", Fixture, GINT_TO_POINTER (1),
              fixture_setup, test_traversal, fixture_teardown);
  ADD ("/directory/redirect-same-host", test_redirect_same_host);
  ADD ("/directory/symlinks-inside", test_symlinks_inside);
  ADD ("/directory/root-symlink", test_root_symlink);
  ADD ("/directory/not-regular", test_not_regular);
  ADD ("/directory/stream-big", test_stream_big);
  ADD ("/directory/stream-truncated", test_stream_truncated);
  ADD ("/directory/service", test_service);
  ADD ("/directory/shipped-page", test_shipped_page);
#undef ADD

  return g_test_run ();
}
