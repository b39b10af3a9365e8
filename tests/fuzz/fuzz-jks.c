/* fuzz-jks.c: the JKS reader, past its integrity digest
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-store.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 magic[4] = { 0xfe, 0xed, 0xfe, 0xed };

  fuzz_java_store (magic, "fuzz.jks", data, size);
  return 0;
}
