/* fuzz-upgrade-request.c: the client's WebSocket upgrade head the gateway answers itself
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-upgrade-request.h"

/* A request head arrives in reads of any size: an answer given on a
 * prefix must be the one given on the whole, and OK only on a head that
 * ends in its blank line.  The first two bytes choose the prefix. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *full = NULL;
  g_autofree char *part = NULL;
  PstUpgradeRequest r_full = { 0 }, r_part = { 0 };
  PstUpgradeRequestResult res_full, res_part;
  gsize cut;

  if (size < 2)
    return 0;
  cut = ((gsize) data[0] << 8 | data[1]);
  data += 2;
  size -= 2;
  cut = cut % (size + 1);

  full = (char *) fuzz_copy (data, size);
  res_full = pst_upgrade_request_parse (full, size, &r_full);
  if (res_full == PST_UPGRADE_REQUEST_OK)
    {
      FUZZ_CHECK (r_full.head_len >= 4 && r_full.head_len <= size);
      FUZZ_CHECK (r_full.head_len <= PST_UPGRADE_REQUEST_MAX);
      FUZZ_CHECK (memcmp (full + r_full.head_len - 4, "\r\n\r\n", 4) == 0);
      FUZZ_CHECK (g_str_has_prefix (full, "GET /"));
      FUZZ_CHECK (r_full.path[0] == '/' && strpbrk (r_full.path, "%?# \r\n") == NULL);
      FUZZ_CHECK (r_full.host[0] != '\0' && strpbrk (r_full.host, ":/ \r\n") == NULL);
      FUZZ_CHECK (strlen (r_full.key) == 24);
      FUZZ_CHECK (r_full.origin == NULL || strpbrk (r_full.origin, "\r\n") == NULL);
    }
  else
    FUZZ_CHECK (r_full.path == NULL && r_full.host == NULL && r_full.key == NULL);

  part = (char *) fuzz_copy (data, cut);
  res_part = pst_upgrade_request_parse (part, cut, &r_part);
  if (res_part != PST_UPGRADE_REQUEST_NEED_MORE)
    {
      FUZZ_CHECK (res_part == res_full);
      if (res_part == PST_UPGRADE_REQUEST_OK)
        {
          FUZZ_CHECK (r_part.head_len == r_full.head_len);
          FUZZ_CHECK (g_strcmp0 (r_part.path, r_full.path) == 0);
          FUZZ_CHECK (g_strcmp0 (r_part.host, r_full.host) == 0);
          FUZZ_CHECK (g_strcmp0 (r_part.key, r_full.key) == 0);
          FUZZ_CHECK (g_strcmp0 (r_part.origin, r_full.origin) == 0);
        }
    }
  pst_upgrade_request_clear (&r_full);
  pst_upgrade_request_clear (&r_part);
  return 0;
}
