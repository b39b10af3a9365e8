/* fuzz-certutil.c: the trust doctor's readers of `certutil -L` listings and of PEM certificates
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-trust-doctor-private.h"

static guint
count (const guint8 *data, size_t size, const char *needle)
{
  guint n = 0;
  const char *p = (const char *) data, *end = (const char *) data + size;

  while (p < end && (p = g_strstr_len (p, end - p, needle)) != NULL)
    {
      n++;
      p += strlen (needle);
    }
  return n;
}

/* A nickname is one non-empty UTF-8 line without blanks at its end; a
 * trust field is three comma-separated runs of letters.  A listing cut
 * after a line end answers the rows of the lines before the cut. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree guint8 *copy = fuzz_copy (data, size);
  g_autoptr(GPtrArray) entries = pst_trust_parse_certutil_list ((const char *) copy, size);
  g_autoptr(GPtrArray) certs = pst_trust_parse_pem_certs ((const char *) copy, size);
  const guint8 *last_nl = NULL;

  for (size_t i = 0; i < size; i++)
    if (copy[i] == '\n')
      last_nl = copy + i;
  for (guint i = 0; i < entries->len; i++)
    {
      PstNssEntry *e = entries->pdata[i];
      gsize len = strlen (e->nickname);
      guint commas = 0;

      FUZZ_CHECK (len > 0 && g_utf8_validate (e->nickname, -1, NULL));
      FUZZ_CHECK (strchr (e->nickname, '\n') == NULL && !g_ascii_isspace (e->nickname[len - 1]));
      for (const char *t = e->trust; *t != '\0'; t++)
        {
          FUZZ_CHECK (*t == ',' || g_ascii_isalpha (*t));
          commas += *t == ',';
        }
      FUZZ_CHECK (commas == 2);
    }
  if (last_nl != NULL)
    {
      gsize cut = last_nl - copy + 1;
      g_autoptr(GPtrArray) head = pst_trust_parse_certutil_list ((const char *) copy, cut);

      FUZZ_CHECK (head->len <= entries->len);
      for (guint i = 0; i < head->len; i++)
        {
          PstNssEntry *a = head->pdata[i], *b = entries->pdata[i];
          FUZZ_CHECK (strcmp (a->nickname, b->nickname) == 0 && strcmp (a->trust, b->trust) == 0);
        }
    }

  FUZZ_CHECK (certs->len <= count (copy, size, "-----END CERTIFICATE-----"));
  for (guint i = 0; i < certs->len; i++)
    FUZZ_CHECK (g_bytes_get_size (certs->pdata[i]) > 0);
  return 0;
}

