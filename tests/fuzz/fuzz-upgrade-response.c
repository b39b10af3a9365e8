/* fuzz-upgrade-response.c: the back-end's WebSocket upgrade response check
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-upgrade-response.h"

/* RFC 6455's sample key; its accept is s3pPLMBiTxaQ9kYGzzhZRbK+xOo=,
 * which the seeds carry so that the OK path is reached. */
#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* The back-end's bytes arrive in reads of any size: an answer given on a
 * prefix must be the one given on the whole.  The first two bytes choose
 * the prefix. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *full = NULL;
  g_autofree char *part = NULL;
  g_autofree char *status_full = NULL;
  g_autofree char *status_part = NULL;
  gsize head_full = 0, head_part = 0, cut;
  PstUpgradeResult r_full, r_part;

  if (size < 2)
    return 0;
  cut = ((gsize) data[0] << 8 | data[1]);
  data += 2;
  size -= 2;
  cut = cut % (size + 1);

  full = (char *) fuzz_copy (data, size);
  r_full = pst_upgrade_response_parse (full, size, KEY, &head_full, &status_full);
  if (r_full != PST_UPGRADE_NEED_MORE)
    {
      FUZZ_CHECK (head_full >= 4 && head_full <= size);
      FUZZ_CHECK (memcmp (full + head_full - 4, "\r\n\r\n", 4) == 0);
    }
  FUZZ_CHECK ((r_full == PST_UPGRADE_REFUSED) == (status_full != NULL));
  if (r_full == PST_UPGRADE_OK)
    FUZZ_CHECK (g_str_has_prefix (full, "HTTP/1.1 101"));

  part = (char *) fuzz_copy (data, cut);
  r_part = pst_upgrade_response_parse (part, cut, KEY, &head_part, &status_part);
  if (r_part != PST_UPGRADE_NEED_MORE)
    {
      FUZZ_CHECK (r_part == r_full);
      FUZZ_CHECK (head_part == head_full);
      FUZZ_CHECK (g_strcmp0 (status_part, status_full) == 0);
    }
  return 0;
}
