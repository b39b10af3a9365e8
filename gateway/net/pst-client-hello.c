/* pst-client-hello.c: read the SNI host name from a peeked TLS ClientHello
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-client-hello.h"

/* GTlsServerConnection has no SNI callback: the certificate must be chosen
 * before the handshake, so the gateway peeks at the ClientHello. */

typedef struct {
  const guint8 *p;
  gsize         left;
} Reader;

static gboolean
take (Reader *r, gsize n, const guint8 **out)
{
  if (r->left < n)
    return FALSE;
  if (out != NULL)
    *out = r->p;
  r->p += n;
  r->left -= n;
  return TRUE;
}

static gboolean
take_uint (Reader *r, gsize n, guint32 *out)
{
  const guint8 *p;

  if (!take (r, n, &p))
    return FALSE;
  *out = 0;
  for (gsize i = 0; i < n; i++)
    *out = (*out << 8) | p[i];
  return TRUE;
}

static gboolean
take_vector (Reader *r, gsize len_bytes, Reader *sub)
{
  guint32 len;

  if (!take_uint (r, len_bytes, &len))
    return FALSE;
  sub->p = r->p;
  sub->left = len;
  return take (r, len, NULL);
}

static char *
parse_server_name (Reader ext)
{
  Reader list, name;
  guint32 type;

  if (!take_vector (&ext, 2, &list))
    return NULL;
  while (list.left > 0)
    {
      if (!take_uint (&list, 1, &type) || !take_vector (&list, 2, &name))
        return NULL;
      if (type == 0 && name.left > 0 && name.left < 256 &&
          memchr (name.p, '\0', name.left) == NULL)
        {
          char *host = g_ascii_strdown ((const char *) name.p, name.left);
          if (!g_str_is_ascii (host))
            {
              g_free (host);
              return NULL;
            }
          return host;
        }
    }
  return NULL;
}

PstHelloResult
pst_client_hello_parse (const guint8 *data, gsize len, char **sni)
{
  Reader rec = { data, len }, hs, body, skip, exts;
  guint32 content_type, version, rec_len, hs_type, hs_len;

  *sni = NULL;
  if (len >= 1 && data[0] != 0x16)
    return PST_HELLO_NOT_TLS;
  if (!take_uint (&rec, 1, &content_type) || !take_uint (&rec, 2, &version) ||
      !take_uint (&rec, 2, &rec_len))
    return PST_HELLO_NEED_MORE;
  if ((version >> 8) != 3 || rec_len == 0 || rec_len > 16384 + 2048)
    return PST_HELLO_NOT_TLS;
  if (rec.left < rec_len)
    return PST_HELLO_NEED_MORE;
  hs.p = rec.p;
  hs.left = rec_len;
  if (!take_uint (&hs, 1, &hs_type) || hs_type != 1 || !take_uint (&hs, 3, &hs_len))
    return PST_HELLO_NOT_TLS;
  /* A ClientHello longer than its first record: parse what is there. */
  body.p = hs.p;
  body.left = MIN (hs.left, hs_len);
  if (!take (&body, 2 + 32, NULL) ||          /* client_version, random */
      !take_vector (&body, 1, &skip) ||       /* session_id */
      !take_vector (&body, 2, &skip) ||       /* cipher_suites */
      !take_vector (&body, 1, &skip))         /* compression_methods */
    return PST_HELLO_OK;
  if (!take_vector (&body, 2, &exts))
    return PST_HELLO_OK;                      /* no extensions, no SNI */
  while (exts.left > 0)
    {
      guint32 type;
      Reader ext;

      if (!take_uint (&exts, 2, &type) || !take_vector (&exts, 2, &ext))
        break;
      if (type == 0)
        {
          *sni = parse_server_name (ext);
          break;
        }
    }
  return PST_HELLO_OK;
}

gboolean
pst_client_hello_sni_is_host_name (const char *sni)
{
  gsize len = sni != NULL ? strlen (sni) : 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (sni[i]) && sni[i] != '-' && sni[i] != '.')
      return FALSE;
  return TRUE;
}
