/* fuzz-store.h: what the store-reader targets check of any parse
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "fuzz-target.h"
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
