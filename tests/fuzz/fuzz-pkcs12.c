/* fuzz-pkcs12.c: the PKCS#12 reader (also keytool -storetype PKCS12 keystore.db files)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-store.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  fuzz_store_parse (pst_pkcs12_parse, "fuzz.pkcs12", data, size);
  return 0;
}
