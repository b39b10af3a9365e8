/* pst-trust-database.h: trust anchors parsed once, shared by every TLS connection
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <gnutls/gnutls.h>

G_BEGIN_DECLS

#define PST_TYPE_TRUST_DATABASE (pst_trust_database_get_type ())
G_DECLARE_FINAL_TYPE (PstTrustDatabase, pst_trust_database, PST, TRUST_DATABASE, GTlsDatabase)

/* A GTlsDatabase over a GnuTLS trust list built here, once: glib-networking
 * 2.74 re-reads the file of a GTlsFileDatabase (and the system CA bundle
 * for its default database) for every connection it makes credentials for,
 * and leaves databases that are not its own alone.  verify_chain checks
 * the chain, its validity dates, the key purpose and the identity (host
 * name or IP address) as glib-networking does.  A chain that verified
 * is remembered with its purpose and identity (at most 60 s, never past
 * its earliest not-after): the same back-end's chain is not parsed and
 * checked again on every connection. */

/* anchors: (element-type GBytes) DER certificates; may be empty (then
 * nothing verifies).  what: the store's name for messages. */
GTlsDatabase *pst_trust_database_new        (GPtrArray   *anchors,
                                             const char  *what,
                                             GError     **error);
/* The system's CAs (GnuTLS's system trust), read now. */
GTlsDatabase *pst_trust_database_new_system (GError     **error);
guint         pst_trust_database_get_n_anchors (PstTrustDatabase *self);
/* How many chains GnuTLS really verified: a chain that verified is taken
 * from a cache for up to 60 s (never past its earliest expiry). */
guint         pst_trust_database_get_n_full_verifications (PstTrustDatabase *self);
/* TRUE only if verify_chain passed, within its cache's lifetime (<= 60 s,
 * never past the chain's earliest expiry), for exactly these certificates
 * (DER, leaf first, as the peer sent them), this purpose and this name (the
 * host name or IP address as given to g_network_address_new; NULL for no
 * identity).  Builds no GTlsCertificate and verifies nothing: FALSE means
 * "not known", and the caller then calls g_tls_database_verify_chain. */
gboolean      pst_trust_database_lookup_verified_der (PstTrustDatabase     *self,
                                                      const gnutls_datum_t *certs,
                                                      guint                 n,
                                                      const char           *purpose,
                                                      const char           *name);

G_END_DECLS
