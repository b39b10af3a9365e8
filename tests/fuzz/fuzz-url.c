/* fuzz-url.c: the accept/connect URL parser, and a round trip through its printer
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-target.h"
#include "pst-url.h"

/* A URL that parses must print as one that parses to the same thing:
 * the editor writes back what it read. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(PstUrl) url = pst_url_parse (text, &error);
  g_autoptr(PstUrl) again = NULL;
  g_autoptr(PstUrl) copy = NULL;
  g_autofree char *printed = NULL;
  g_autofree char *authority = NULL;

  if (url == NULL)
    {
      FUZZ_CHECK (error != NULL && error->domain == PST_URL_ERROR);
      FUZZ_CHECK (error->message != NULL && *error->message != '\0');
      return 0;
    }
  FUZZ_CHECK (error == NULL);
  FUZZ_CHECK (url->scheme != NULL && url->host != NULL && url->path != NULL);
  FUZZ_CHECK (url->secure == pst_url_scheme_is_secure (url->scheme));

  printed = pst_url_to_string (url);
  authority = pst_url_dup_authority (url);
  FUZZ_CHECK (printed != NULL && authority != NULL);
  again = pst_url_parse (printed, &error);
  if (again == NULL)
    fprintf (stderr, "“%s” printed as “%s”, which does not parse: %s\n", text, printed, error->message);
  FUZZ_CHECK (again != NULL);
  FUZZ_CHECK (strcmp (again->scheme, url->scheme) == 0);
  FUZZ_CHECK (strcmp (again->host, url->host) == 0);
  FUZZ_CHECK (again->port == url->port);
  FUZZ_CHECK (strcmp (again->path, url->path) == 0);

  copy = pst_url_copy (url);
  FUZZ_CHECK (strcmp (copy->host, url->host) == 0);
  return 0;
}
