/* pst-trust-doctor-private.h: what the trust doctor's checks share
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-keystore.h"
#include "pst-trust-row.h"

G_BEGIN_DECLS

/* A certificate that clients must trust for the gateway's chain to
 * verify: the CA the chain ends in, or a self-signed leaf. */
typedef struct {
  GBytes   *der;
  char     *name;        /* its common name, or subject */
  gboolean  is_ca;
  char     *store;       /* a store holding it (display path) */
  char     *alias;       /* its alias there */
  gboolean  local_ca;    /* store is a local CA: install-ca works with it */
  gboolean  password_keyring;  /* store's password is in the keyring */
} PstTrustAnchor;

typedef struct {
  char     *host;
  guint16   port;
  char     *authority;   /* "host:port" as cert fetch takes it */
  char     *url;         /* the connect URL as written, substituted */
  char     *service;
  guint     line;
} PstTrustBackend;

/* Everything read from the config, copied for the worker thread. */
typedef struct {
  char      *config;                  /* display path */
  char      *keystore;                /* absolute; NULL: none configured */
  char      *keystore_password_file;
  gboolean   keystore_password_keyring;
  char      *truststore;
  char      *truststore_password_file;
  gboolean   truststore_password_keyring;
  char      *devca;                   /* the local CA beside the config, if it exists */
  GPtrArray *accept_hosts;            /* char *, hosts of secure accepts, unique */
  gboolean   browser_accepts;         /* wss:// or https:// with encryption */
  GPtrArray *backends;                /* PstTrustBackend */
  guint      probe_timeout_seconds;

  /* filled by the keystore check, read by the others */
  GPtrArray   *anchors;               /* PstTrustAnchor */
  PstKeystore *trust;                 /* the opened truststore, NULL when none or unreadable */
  char        *trust_error;           /* why it could not be opened */
} PstTrustPlan;

void  pst_trust_anchor_free (PstTrustAnchor *anchor);

/* A path as the user would type it: relative to the current folder when below it. */
char *pst_trust_display_path (const char *path);
/* A shell-quoted word, only when it needs quoting. */
char *pst_trust_quote (const char *word);
/* Adds a row to rows (a GPtrArray of PstTrustRow). */
void  pst_trust_add (GPtrArray       *rows,
                     PstTrustSection  section,
                     const char      *key,
                     const char      *subject,
                     const char      *check,
                     PstTrustStatus   status,
                     gboolean         needed,
                     const char      *detail,
                     const char      *fix);
/* Runs argv (PATH searched) with no stdin, killed after timeout_ms;
 * FALSE with an error when it cannot start, times out or exits non-zero. */
gboolean pst_trust_run_tool (const char * const *argv,
                             guint               timeout_ms,
                             char              **out,
                             GError            **error);
/* TRUE if the PEM/DER file at path holds der. */
gboolean pst_trust_file_has_cert (const char *path, GBytes *der);

/* The checks, in report order; each appends rows. */
void  pst_trust_check_keystore (PstTrustPlan *plan, GPtrArray *rows);
void  pst_trust_check_clients  (PstTrustPlan *plan, GPtrArray *rows);
void  pst_trust_check_backends (PstTrustPlan *plan, GPtrArray *rows, GCancellable *cancellable);

/* pst-trust-nss.c: `certutil -L` listings */
typedef struct {
  char *nickname;
  char *trust;           /* "C,," */
} PstNssEntry;
void       pst_nss_entry_free          (PstNssEntry *entry);
/* The rows of `certutil -L -d DB` output (header lines skipped). */
GPtrArray *pst_trust_parse_certutil_list (const char *text, gsize len);
/* The certificates of PEM text (certutil -a), as DER GBytes. */
GPtrArray *pst_trust_parse_pem_certs    (const char *text, gsize len);
/* One row per NSS database (~/.pki/nssdb, each Firefox profile). */
void       pst_trust_check_nss          (PstTrustPlan *plan, PstTrustAnchor *anchor,
                                         GPtrArray *rows, gboolean *any_trusts);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstNssEntry, pst_nss_entry_free)

G_END_DECLS
