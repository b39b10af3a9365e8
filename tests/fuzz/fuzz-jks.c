/* fuzz-jks.c: the JKS reader, past its integrity digest
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-store.h"
#include "pst-jks.h"
#include "pst-jks-private.h"

/* Two fix-ups keep the fuzzer on JKS's structure rather than on the two
 * checks that reject nearly every mutation: the first four bytes are
 * always JKS's magic, and the last 20 are replaced by the keyed SHA-1
 * that keytool would have written for "changeit" over the rest.  (The
 * reader's own digest check is fuzzed too: it is the same comparison,
 * on the seeds' real digests before any mutation.) */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 magic[4] = { 0xfe, 0xed, 0xfe, 0xed };
  static const guint8 pw16[] = { 0, 'c', 0, 'h', 0, 'a', 0, 'n', 0, 'g', 0, 'e', 0, 'i', 0, 't' };
  static const char whitener[] = "Mighty Aphrodite";
  g_autofree guint8 *copy = fuzz_copy (data, size);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (size >= sizeof magic)
    memcpy (copy, magic, sizeof magic);
  if (size >= sizeof magic + PST_JKS_DIGEST_LEN)
    pst_jks_sha1 (pw16, sizeof pw16, whitener, strlen (whitener),
                  copy, size - PST_JKS_DIGEST_LEN, copy + size - PST_JKS_DIGEST_LEN);
  bytes = g_bytes_new_take (g_steal_pointer (&copy), size);
  ok = pst_jks_parse (bytes, FUZZ_STORE_PASSWORD, "fuzz.jks", NULL, entries, &error);
  fuzz_store_check (ok, error, entries);
  return 0;
}
