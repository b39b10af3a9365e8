/* fuzz-store.h: what the store-reader targets check of any parse
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <string.h>

#include "fuzz-target.h"
#include "pst-jks.h"
#include "pst-jks-private.h"
#include "pst-stores-private.h"

/* Keytool's default: the seeds are written with it. */
#define FUZZ_STORE_PASSWORD "changeit"

/* A reader either fails with a store error and a message, or succeeds
 * with entries that each hold a certificate the rest of the gateway can
 * look at without crashing. */
static inline void
fuzz_store_check (gboolean ok, GError *error, GPtrArray *entries)
{
  if (!ok)
    {
      FUZZ_CHECK (error != NULL && error->domain == PST_STORE_ERROR);
      FUZZ_CHECK (error->message != NULL && *error->message != '\0');
      return;
    }
  FUZZ_CHECK (error == NULL);
  for (guint i = 0; i < entries->len; i++)
    {
      PstStoreEntry *entry = entries->pdata[i];

      g_autofree char *subject = NULL, *issuer = NULL, *fingerprint = NULL, *key_type = NULL;
      g_auto(GStrv) sans = NULL;

      /* what `postern cert list` and the SNI lookup ask of every entry */
      FUZZ_CHECK (PST_IS_STORE_ENTRY (entry));
      FUZZ_CHECK (pst_store_entry_get_certificate (entry) != NULL);
      subject = pst_store_entry_dup_subject (entry);
      issuer = pst_store_entry_dup_issuer (entry);
      fingerprint = pst_store_entry_dup_fingerprint (entry);
      key_type = pst_store_entry_dup_key_type (entry);
      sans = pst_store_entry_dup_sans (entry);
      pst_store_entry_get_not_before (entry);
      pst_store_entry_get_not_after (entry);
      pst_store_entry_is_ca (entry);
      pst_store_entry_matches_host (entry, "localhost");
      pst_store_entry_matches_host (entry, "127.0.0.1");
    }
}

typedef gboolean (*FuzzStoreParse) (GBytes *data, const char *password, const char *display_name,
                                    const char *password_file, GPtrArray *entries, GError **error);

/* One input through a reader, checked as above. */
static inline void
fuzz_store_parse (FuzzStoreParse parse, const char *name, const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  ok = parse (bytes, FUZZ_STORE_PASSWORD, name, NULL, entries, &error);
  fuzz_store_check (ok, error, entries);
}

/* JKS and JCEKS: two fix-ups keep the fuzzer on the store's structure
 * rather than on the two checks that reject nearly every mutation: the
 * first four bytes are always the format's magic, and the last 20 are
 * replaced by the keyed SHA-1 that keytool would have written for
 * "changeit" over the rest.  (The reader's own digest check is fuzzed
 * too: it is the same comparison, on the seeds' real digests before any
 * mutation.) */
static inline void
fuzz_java_store (const guint8 magic[4], const char *name, const uint8_t *data, size_t size)
{
  static const guint8 pw16[] = { 0, 'c', 0, 'h', 0, 'a', 0, 'n', 0, 'g', 0, 'e', 0, 'i', 0, 't' };
  static const char whitener[] = "Mighty Aphrodite";
  g_autofree guint8 *copy = fuzz_copy (data, size);

  if (size >= 4)
    memcpy (copy, magic, 4);
  if (size >= 4 + PST_JKS_DIGEST_LEN)
    pst_jks_sha1 (pw16, sizeof pw16, whitener, strlen (whitener),
                  copy, size - PST_JKS_DIGEST_LEN, copy + size - PST_JKS_DIGEST_LEN);
  fuzz_store_parse (pst_jks_parse, name, copy, size);
}
