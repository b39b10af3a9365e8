/* fuzz-jceks.c: the JCEKS reader, past its integrity digest
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-store.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 magic[4] = { 0xce, 0xce, 0xce, 0xce };

  fuzz_java_store (magic, "fuzz.jceks", data, size);
  return 0;
}
