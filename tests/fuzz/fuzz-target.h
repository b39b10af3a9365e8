/* fuzz-target.h: the libFuzzer entry points every target defines, and a failing check
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
