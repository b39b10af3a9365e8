/* pst-upgrade-response.c: check a back-end's answer to a WebSocket upgrade request
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "pst-upgrade-response.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

char *
pst_upgrade_accept_for_key (const char *key)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) WS_GUID, -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

/* Kept apart from the socket code so that it can be fuzzed: it sees bytes
 * a back-end chose, before anything else checked them. */
PstUpgradeResult
pst_upgrade_response_parse (const char  *data,
                            gsize        len,
                            const char  *key,
                            gsize       *head_len,
                            char       **status_line)
{
  g_autofree char *text = NULL;
  g_autofree char *expected = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean accepted = FALSE;
  const char *end;

  if (status_line != NULL)
    *status_line = NULL;
  end = g_strstr_len (data, len, "\r\n\r\n");
  if (end == NULL)
    return PST_UPGRADE_NEED_MORE;
  if (head_len != NULL)
    *head_len = end + 4 - data;

  text = g_strndup (data, end - data);
  lines = g_strsplit (text, "\r\n", -1);
  /* An empty head splits into no lines at all. */
  if (lines[0] == NULL || !g_str_has_prefix (lines[0], "HTTP/1.1 101"))
    {
      if (status_line != NULL)
        *status_line = g_strdup (lines[0] != NULL ? lines[0] : "");
      return PST_UPGRADE_REFUSED;
    }

  expected = pst_upgrade_accept_for_key (key);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');

      if (colon != NULL && colon - lines[i] == strlen ("Sec-WebSocket-Accept") &&
          g_ascii_strncasecmp (lines[i], "Sec-WebSocket-Accept", colon - lines[i]) == 0)
        {
          g_autofree char *value = g_strstrip (g_strdup (colon + 1));

          accepted = g_str_equal (value, expected);
        }
    }
  return accepted ? PST_UPGRADE_OK : PST_UPGRADE_BAD_ACCEPT;
}
