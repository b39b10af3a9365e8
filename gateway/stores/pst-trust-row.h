/* pst-trust-row.h: one row of the trust doctor's report (who trusts what, and the fix)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  PST_TRUST_SECTION_CLIENTS,    /* programs on this machine trusting the gateway's CA */
  PST_TRUST_SECTION_KEYSTORE,   /* the keystore against the accept hosts */
  PST_TRUST_SECTION_BACKENDS,   /* ssl:// and wss:// back-ends against the truststore */
} PstTrustSection;

typedef enum {
  PST_TRUST_STATUS_OK,
  PST_TRUST_STATUS_FAIL,
  PST_TRUST_STATUS_INFO,        /* a fact, neither good nor bad */
} PstTrustStatus;

/* "clients", "keystore", "backends" */
const char *pst_trust_section_to_string (PstTrustSection section);
/* "ok", "fail", "info" */
const char *pst_trust_status_to_string  (PstTrustStatus status);

#define PST_TYPE_TRUST_ROW (pst_trust_row_get_type ())
G_DECLARE_FINAL_TYPE (PstTrustRow, pst_trust_row, PST, TRUST_ROW, GObject)

/* key: a stable, untranslated identifier for scripts and tests
 * ("nss:/home/me/.pki/nssdb", "host:localhost", "backend:localhost:61617:trusted");
 * needed: the row counts for the doctor's verdict (exit status). */
PstTrustRow    *pst_trust_row_new         (PstTrustSection  section,
                                           const char      *key,
                                           const char      *subject,
                                           const char      *check,
                                           PstTrustStatus   status,
                                           gboolean         needed,
                                           const char      *detail,
                                           const char      *fix);
PstTrustSection pst_trust_row_get_section (PstTrustRow *self);
const char     *pst_trust_row_get_key     (PstTrustRow *self);
const char     *pst_trust_row_get_subject (PstTrustRow *self);
const char     *pst_trust_row_get_check   (PstTrustRow *self);
PstTrustStatus  pst_trust_row_get_status  (PstTrustRow *self);
gboolean        pst_trust_row_get_needed  (PstTrustRow *self);
const char     *pst_trust_row_get_detail  (PstTrustRow *self);
/* a shell command line that fixes a failed row; NULL when none */
const char     *pst_trust_row_get_fix     (PstTrustRow *self);
/* needed and not OK */
gboolean        pst_trust_row_is_blocking (PstTrustRow *self);

G_END_DECLS
