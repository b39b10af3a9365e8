/* fuzz-control-lines.c: the lines a master and its workers exchange, however the bytes arrive
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-target.h"
#include "pst-control-channel.h"

#define MAX_LINE 64

static void
collect (const char *line, gpointer user_data)
{
  GString *seen = user_data;

  FUZZ_CHECK (line != NULL);
  FUZZ_CHECK (strlen (line) <= MAX_LINE);
  FUZZ_CHECK (strchr (line, '\n') == NULL);
  g_string_append (seen, line);
  g_string_append_c (seen, '\n');
}

/* The first byte says where to cut the rest: the lines are the same
 * whole and in two pieces, each one a line of the input (none longer than
 * the limit, none holding a newline). */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GString) whole = g_string_new (NULL);
  g_autoptr(GString) cut = g_string_new (NULL);
  const char *input = (const char *) data + 1;
  gsize len = size > 0 ? size - 1 : 0;
  gsize at = size > 0 ? MIN (data[0], len) : 0;

  {
    g_autoptr(PstControlChannel) c = pst_control_channel_new (-1, MAX_LINE, collect, whole, NULL);

    pst_control_channel_feed (c, len > 0 ? input : "", len);
  }
  {
    g_autoptr(PstControlChannel) c = pst_control_channel_new (-1, MAX_LINE, collect, cut, NULL);

    pst_control_channel_feed (c, len > 0 ? input : "", at);
    pst_control_channel_feed (c, len > 0 ? input + at : "", len - at);
  }
  FUZZ_CHECK (g_string_equal (whole, cut));
  return 0;
}
