/* fuzz-jks-edit.c: finding, adding and removing a JKS entry in place (install-ca --java)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "fuzz-store.h"
#include "pst-jks-edit.h"
#include "pst-jks-private.h"

/* The same fix-ups as fuzz-jks.c (JKS magic, the keyed SHA-1 for
 * "changeit"), so that mutations reach the entry walk.  Beyond "no crash":
 * a failure is a store error with a message; an added entry is found
 * again with the very certificate; removing it gives back the input byte
 * for byte (what uninstall-ca --java promises for cacerts). */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint8 magic[4] = { 0xfe, 0xed, 0xfe, 0xed };
  static const guint8 pw16[] = { 0, 'c', 0, 'h', 0, 'a', 0, 'n', 0, 'g', 0, 'e', 0, 'i', 0, 't' };
  static const guint8 cert[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };   /* not parsed: any DER-ish bytes */
  static const char whitener[] = "Mighty Aphrodite";
  g_autofree guint8 *copy = fuzz_copy (data, size);
  g_autoptr(GBytes) bytes = NULL, der = NULL, added = NULL, found = NULL, removed = NULL;
  g_autoptr(GError) error = NULL;
  gboolean is_key = FALSE;

  if (size >= sizeof magic)
    memcpy (copy, magic, sizeof magic);
  if (size >= sizeof magic + PST_JKS_DIGEST_LEN)
    pst_jks_sha1 (pw16, sizeof pw16, whitener, strlen (whitener),
                  copy, size - PST_JKS_DIGEST_LEN, copy + size - PST_JKS_DIGEST_LEN);
  bytes = g_bytes_new_take (g_steal_pointer (&copy), size);
  der = g_bytes_new_static (cert, sizeof cert);

  if (!pst_jks_find_trusted (bytes, FUZZ_STORE_PASSWORD, "fuzz-ca", &found, &is_key, &error))
    {
      FUZZ_CHECK (error != NULL && error->domain == PST_STORE_ERROR && error->message[0] != '\0');
      FUZZ_CHECK (found == NULL);
      /* add and remove read the same way, and fail the same way */
      g_clear_error (&error);
      FUZZ_CHECK (pst_jks_add_trusted (bytes, FUZZ_STORE_PASSWORD, "postern-fuzz", der, 1, &error) == NULL);
      FUZZ_CHECK (error != NULL && error->domain == PST_STORE_ERROR);
      return 0;
    }
  FUZZ_CHECK (error == NULL);

  added = pst_jks_add_trusted (bytes, FUZZ_STORE_PASSWORD, "postern-fuzz", der, 1, &error);
  if (added == NULL)
    {
      /* only when the alias is taken already */
      g_autoptr(GBytes) other = NULL;
      FUZZ_CHECK (error != NULL && error->code == PST_STORE_ERROR_CERTIFICATE);
      g_clear_error (&error);
      FUZZ_CHECK (pst_jks_find_trusted (bytes, FUZZ_STORE_PASSWORD, "POSTERN-FUZZ", &other, &is_key, NULL));
      FUZZ_CHECK (other != NULL || is_key);
      return 0;
    }
  g_clear_pointer (&found, g_bytes_unref);
  FUZZ_CHECK (pst_jks_find_trusted (added, FUZZ_STORE_PASSWORD, "postern-fuzz", &found, NULL, &error));
  FUZZ_CHECK (found != NULL && g_bytes_equal (found, der));
  removed = pst_jks_remove_entry (added, FUZZ_STORE_PASSWORD, "postern-fuzz", &error);
  FUZZ_CHECK (removed != NULL && g_bytes_equal (removed, bytes));
  return 0;
}
