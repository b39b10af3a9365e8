/* fuzz-client-hello.c: the SNI reader on a peeked ClientHello, whole and cut short
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-client-hello.h"

/* The reader is given what has been peeked so far, again and again as
 * more arrives.  So: once a prefix gives an answer, every longer input
 * must give the same one (and the same name).  The first two bytes choose
 * the prefix; each call gets an exact-size copy so that ASan sees any
 * read past len. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *sni_full = NULL;
  g_autofree char *sni_part = NULL;
  g_autofree guint8 *full = NULL;
  g_autofree guint8 *part = NULL;
  PstHelloResult r_full, r_part;
  gsize cut;

  if (size < 2)
    return 0;
  cut = ((gsize) data[0] << 8 | data[1]);
  data += 2;
  size -= 2;
  cut = size > 0 ? cut % (size + 1) : 0;

  full = fuzz_copy (data, size);
  r_full = pst_client_hello_parse (full, size, &sni_full);
  FUZZ_CHECK (r_full == PST_HELLO_NEED_MORE || r_full == PST_HELLO_OK || r_full == PST_HELLO_NOT_TLS);
  if (r_full != PST_HELLO_OK)
    FUZZ_CHECK (sni_full == NULL);
  if (sni_full != NULL)
    {
      /* a host name to look up in the key store: short, ASCII, lower case */
      FUZZ_CHECK (strlen (sni_full) > 0 && strlen (sni_full) < 256);
      FUZZ_CHECK (g_str_is_ascii (sni_full));
      for (const char *p = sni_full; *p != '\0'; p++)
        FUZZ_CHECK (!g_ascii_isupper (*p));
    }

  part = fuzz_copy (data, cut);
  r_part = pst_client_hello_parse (part, cut, &sni_part);
  if (r_part != PST_HELLO_NEED_MORE)
    {
      FUZZ_CHECK (r_part == r_full);
      FUZZ_CHECK (g_strcmp0 (sni_part, sni_full) == 0);
    }
  return 0;
}
