/* fuzz-pem.c: the PEM reader (certificates, keys, encrypted keys, bundles)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-store.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_store_parse (pst_pem_parse, "fuzz.pem", data, size);
  return 0;
}
