/* pst-jks-edit.h: adding and removing trusted certificates of a JKS store in place
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The JDK's cacerts is a JKS store on Debian (and in most JDKs' own
 * trees).  keytool rewrites every entry of it in its hash table's order;
 * these functions change one entry and keep every other byte where it
 * was, so that removing what was added gives the original file back.
 * Each checks the integrity digest first (a mismatch is
 * PST_STORE_ERROR_WRONG_PASSWORD) and writes a new one.  Only JKS version
 * 2 (what keytool writes); anything else, or a damaged file, is
 * PST_STORE_ERROR_CORRUPT (version 1: PST_STORE_ERROR_READ_ONLY). */

/* TRUE when data is a JKS store (its magic number) */
gboolean  pst_jks_is_jks         (GBytes      *data);
/* *der_out: the certificate of the trusted entry alias (case-insensitive,
 * as keytool), or NULL when there is none; *is_key: the alias names a
 * private-key entry instead. */
gboolean  pst_jks_find_trusted   (GBytes      *data,
                                  const char  *password,
                                  const char  *alias,
                                  GBytes     **der_out,
                                  gboolean    *is_key,
                                  GError     **error);
/* A new store: data with a trusted entry for der appended (alias: ASCII,
 * lower case as keytool stores it; not there yet), dated time_ms. */
GBytes   *pst_jks_add_trusted    (GBytes      *data,
                                  const char  *password,
                                  const char  *alias,
                                  GBytes      *der,
                                  gint64       time_ms,
                                  GError     **error);
/* A new store: data without the entry alias (PST_STORE_ERROR_NO_ENTRY
 * when there is none). */
GBytes   *pst_jks_remove_entry   (GBytes      *data,
                                  const char  *password,
                                  const char  *alias,
                                  GError     **error);

G_END_DECLS
