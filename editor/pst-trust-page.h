/* pst-trust-page.h: the "Trust" page — the trust doctor's report with a fix button per ✗
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_TRUST_PAGE (pst_trust_page_get_type ())
G_DECLARE_FINAL_TYPE (PstTrustPage, pst_trust_page, PST, TRUST_PAGE, AdwBin)

/* What a fix command of the report becomes in the editor. */
typedef enum {
  PST_TRUST_FIX_NONE,      /* nothing to do */
  PST_TRUST_FIX_COPY,      /* a command the editor cannot run: copied for a terminal */
  PST_TRUST_FIX_NSS,       /* install-ca --nss: done here, for this user */
  PST_TRUST_FIX_ROOT,      /* install-ca --system / --java: pkexec after the user agrees */
  PST_TRUST_FIX_GENERATE,  /* cert generate: a certificate for accept hosts */
  PST_TRUST_FIX_FETCH,     /* cert fetch: the back-end's chain, trusted after its fingerprint is confirmed */
} PstTrustFixKind;

/* The kind of fix (a `postern cert …` command line of the report). */
PstTrustFixKind pst_trust_fix_classify (const char *fix);

void         pst_trust_page_set_document (PstTrustPage *self,
                                          PstDocument  *document);
/* Runs the doctor again (off the main thread). */
void         pst_trust_page_refresh      (PstTrustPage *self);
/* The last report: PstTrustRow; empty before the first one. */
GListModel  *pst_trust_page_get_rows     (PstTrustPage *self);
/* TRUE while the doctor or a fix runs */
gboolean     pst_trust_page_get_busy     (PstTrustPage *self);
/* What the last fix did (or why it failed); NULL before any. */
const char  *pst_trust_page_get_message  (PstTrustPage *self);
/* Seam for tests: the pkexec command line a root fix would run, instead
 * of running it (NULL: run it). */
typedef void (*PstTrustRootRunner) (const char * const *argv, gpointer user_data);
void         pst_trust_page_set_root_runner (PstTrustPage      *self,
                                             PstTrustRootRunner runner,
                                             gpointer           user_data);

G_END_DECLS
