/* pst-local-ca.h: the local development CA's alias, and finding it in stores of any age
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-keystore.h"

G_BEGIN_DECLS

/* The alias of the local development CA: a plain token that needs no
 * quoting in a shell.  Its subject keeps the descriptive name
 * "Postern development CA on HOST" (O=Postern development CA). */
#define PST_LOCAL_CA_ALIAS "postern-dev-ca"

/* TRUE for a CA certificate made by Postern as a local development CA
 * (CA:TRUE and O=Postern development CA), whatever its alias. */
gboolean       pst_cert_is_local_ca      (GBytes      *der);
/* TRUE for the alias older versions gave the CA, "postern development ca on HOST" */
gboolean       pst_local_ca_is_old_alias (const char  *alias);
/* pst_keystore_lookup(), and when alias is PST_LOCAL_CA_ALIAS or an older
 * version's CA alias that the store does not hold, the store's local
 * development CA under whichever of the two aliases it has. */
PstStoreEntry *pst_local_ca_lookup       (PstKeystore *store,
                                          const char  *alias);
/* A file-name and keytool-alias safe token for an alias: lower-case
 * ASCII letters, digits, '-', '.' and '_'; anything else becomes '-'. */
char          *pst_alias_to_token        (const char  *alias);

/* text as one shell word: unchanged when it needs no quoting
 * (postern-dev-ca, keystore.db), else in single quotes ('my server') */
char          *pst_shell_word            (const char  *text);

G_END_DECLS
