/* pst-upgrade-request.c: recognise a plain WebSocket upgrade request head
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-upgrade-request.h"

#define MAX_HEADERS 64

static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* unreserved, sub-delims, ':' '@' and '/': no '%', '?', '#' */
static gboolean
is_path_char (guchar c)
{
  return g_ascii_isalnum (c) || (c != 0 && strchr ("-._~!$&'()*+,;=:@/", c) != NULL);
}

static gboolean
is_value_char (guchar c)
{
  return (c >= 0x20 && c < 0x7f) || c == '\t';
}

static gboolean
name_is (const char *name, gsize len, const char *want)
{
  return strlen (want) == len && g_ascii_strncasecmp (name, want, len) == 0;
}

static gboolean
value_is (const char *value, gsize len, const char *want)
{
  return name_is (value, len, want);
}

/* a comma-separated list holding token (case-insensitive) */
static gboolean
list_has (const char *value, gsize len, const char *token)
{
  gsize i = 0;

  while (i < len)
    {
      gsize start, end;

      while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
        i++;
      start = i;
      while (i < len && value[i] != ',')
        i++;
      end = i;
      while (end > start && (value[end - 1] == ' ' || value[end - 1] == '\t'))
        end--;
      if (end > start && value_is (value + start, end - start, token))
        return TRUE;
    }
  return FALSE;
}

static gboolean
valid_key (const char *key, gsize len)
{
  if (len != 24 || key[22] != '=' || key[23] != '=')
    return FALSE;
  for (gsize i = 0; i < 22; i++)
    if (!g_ascii_isalnum (key[i]) && key[i] != '+' && key[i] != '/')
      return FALSE;
  return TRUE;   /* 22 characters and "==": 16 bytes */
}

/* a host name or IPv4 address, then ":" and 1-5 digits at most */
static gboolean
split_host (const char *value, gsize len, gsize *host_len)
{
  gsize i = 0;

  while (i < len && (g_ascii_isalnum (value[i]) || value[i] == '.' || value[i] == '-'))
    i++;
  if (i == 0)
    return FALSE;
  *host_len = i;
  if (i == len)
    return TRUE;
  if (value[i] != ':' || len - i - 1 < 1 || len - i - 1 > 5)
    return FALSE;
  for (i++; i < len; i++)
    if (!g_ascii_isdigit (value[i]))
      return FALSE;
  return TRUE;
}

typedef struct {
  const char *value;
  gsize       len;
  guint       count;
} Field;

enum { F_HOST, F_UPGRADE, F_CONNECTION, F_VERSION, F_KEY, F_ORIGIN, N_FIELDS };

static const char *const field_names[N_FIELDS] = {
  "Host", "Upgrade", "Connection", "Sec-WebSocket-Version", "Sec-WebSocket-Key", "Origin",
};

/* Headers that mean a body or an interim answer: the full server's. */
static const char *const refused_names[] = {
  "Content-Length", "Transfer-Encoding", "Expect",
};

PstUpgradeRequestResult
pst_upgrade_request_parse (const char *data, gsize len, PstUpgradeRequest *req)
{
  static const char get[] = "GET /";
  static const char version[] = " HTTP/1.1\r\n";
  const char *end = NULL;
  const char *p, *path, *line;
  gsize path_len, host_len = 0;
  Field fields[N_FIELDS] = { { NULL, 0, 0 } };
  guint n_headers = 0;

  /* Early: not even the start of a GET. */
  if (memcmp (data, get, MIN (len, sizeof get - 1)) != 0)
    return PST_UPGRADE_REQUEST_OTHER;
  for (gsize i = 0; i + 3 < len && i + 4 <= PST_UPGRADE_REQUEST_MAX; i++)
    {
      if (data[i] == '\0')
        return PST_UPGRADE_REQUEST_OTHER;
      if (data[i] == '\r' && data[i + 1] == '\n' && data[i + 2] == '\r' && data[i + 3] == '\n')
        {
          end = data + i + 4;
          break;
        }
    }
  if (end == NULL)
    {
      if (len >= PST_UPGRADE_REQUEST_MAX || memchr (data, '\0', len) != NULL)
        return PST_UPGRADE_REQUEST_OTHER;
      return PST_UPGRADE_REQUEST_NEED_MORE;
    }

  /* the request line */
  path = data + sizeof get - 2;
  for (p = path; p < end && is_path_char (*p); p++)
    ;
  path_len = p - path;
  if ((gsize) (end - p) < sizeof version - 1 || memcmp (p, version, sizeof version - 1) != 0)
    return PST_UPGRADE_REQUEST_OTHER;
  /* "." and ".." segments: the full server's URI rules apply */
  for (gsize i = 0; i < path_len; i++)
    if (path[i] == '/' && i + 1 < path_len && path[i + 1] == '.')
      return PST_UPGRADE_REQUEST_OTHER;
  line = p + sizeof version - 1;

  /* the headers, up to the blank line */
  while (line < end - 2)
    {
      const char *name = line, *colon, *value, *eol;
      gsize name_len, value_len;

      if (++n_headers > MAX_HEADERS)
        return PST_UPGRADE_REQUEST_OTHER;
      for (colon = name; colon < end && is_tchar (*colon); colon++)
        ;
      name_len = colon - name;
      if (name_len == 0 || colon >= end || *colon != ':')
        return PST_UPGRADE_REQUEST_OTHER;
      value = colon + 1;
      while (value < end && (*value == ' ' || *value == '\t'))
        value++;
      for (eol = value; eol < end && is_value_char (*eol); eol++)
        ;
      if (eol + 1 >= end || eol[0] != '\r' || eol[1] != '\n')
        return PST_UPGRADE_REQUEST_OTHER;
      line = eol + 2;
      while (eol > value && (eol[-1] == ' ' || eol[-1] == '\t'))
        eol--;
      value_len = eol - value;
      for (guint f = 0; f < G_N_ELEMENTS (refused_names); f++)
        if (name_is (name, name_len, refused_names[f]))
          return PST_UPGRADE_REQUEST_OTHER;
      for (guint f = 0; f < N_FIELDS; f++)
        if (name_is (name, name_len, field_names[f]))
          {
            if (fields[f].count++ > 0)
              return PST_UPGRADE_REQUEST_OTHER;   /* which one counts is the full server's call */
            fields[f].value = value;
            fields[f].len = value_len;
          }
    }
  if (line != end - 2)
    return PST_UPGRADE_REQUEST_OTHER;

  if (fields[F_HOST].count == 0 || !split_host (fields[F_HOST].value, fields[F_HOST].len, &host_len) ||
      fields[F_UPGRADE].count == 0 || !value_is (fields[F_UPGRADE].value, fields[F_UPGRADE].len, "websocket") ||
      fields[F_CONNECTION].count == 0 || !list_has (fields[F_CONNECTION].value, fields[F_CONNECTION].len, "upgrade") ||
      fields[F_VERSION].count == 0 || !value_is (fields[F_VERSION].value, fields[F_VERSION].len, "13") ||
      fields[F_KEY].count == 0 || !valid_key (fields[F_KEY].value, fields[F_KEY].len))
    return PST_UPGRADE_REQUEST_OTHER;

  req->head_len = end - data;
  req->path = g_strndup (path, path_len);
  req->host = g_strndup (fields[F_HOST].value, host_len);
  req->key = g_strndup (fields[F_KEY].value, fields[F_KEY].len);
  req->origin = fields[F_ORIGIN].count > 0 ? g_strndup (fields[F_ORIGIN].value, fields[F_ORIGIN].len) : NULL;
  return PST_UPGRADE_REQUEST_OK;
}

void
pst_upgrade_request_clear (PstUpgradeRequest *req)
{
  g_clear_pointer (&req->path, g_free);
  g_clear_pointer (&req->host, g_free);
  g_clear_pointer (&req->key, g_free);
  g_clear_pointer (&req->origin, g_free);
  req->head_len = 0;
}
