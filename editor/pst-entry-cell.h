/* pst-entry-cell.h: one column of a store entry in the store inspector
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gtk/gtk.h>

#include "pst-store-entry.h"

G_BEGIN_DECLS

/* Days before expiry from which "expires soon" styling applies. */
#define PST_ENTRY_EXPIRES_SOON_DAYS 30

#define PST_TYPE_ENTRY_CELL (pst_entry_cell_get_type ())
G_DECLARE_FINAL_TYPE (PstEntryCell, pst_entry_cell, PST, ENTRY_CELL, GtkWidget)

/* column: "alias", "kind", "subject", "issuer", "sans", "valid-until",
 * "key-type", "fingerprint" */
char *pst_entry_cell_format (PstStoreEntry *entry,
                             const char    *column);

G_END_DECLS
