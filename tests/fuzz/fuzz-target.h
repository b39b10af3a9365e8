/* fuzz-target.h: the libFuzzer entry points every target defines, and a failing check
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* An invariant that does not hold is a finding: abort so that libFuzzer
 * (or the replay) stops on that input, in every build type. */
#define FUZZ_CHECK(cond) \
  do { \
    if (!(cond)) \
      { \
        fprintf (stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
        abort (); \
      } \
  } while (0)

/* An exact copy of the input that is never NULL (NULL + 0 is undefined,
 * and GLib warns on NULL strings), with a NUL after it that is not part
 * of the len bytes handed to the code under test. */
static inline guint8 *
fuzz_copy (const uint8_t *data, size_t size)
{
  guint8 *copy = g_malloc (size + 1);

  if (size > 0)
    memcpy (copy, data, size);
  copy[size] = 0;
  return copy;
}
