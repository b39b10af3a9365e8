/* fuzz-pkcs12.c: the PKCS#12 reader (also keytool -storetype PKCS12 keystore.db files)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "fuzz-store.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = pst_pkcs12_parse (bytes, FUZZ_STORE_PASSWORD, "fuzz.pkcs12", NULL, entries, &error);
  fuzz_store_check (ok, error, entries);
  return 0;
}
