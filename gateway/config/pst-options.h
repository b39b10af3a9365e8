/* pst-options.h: accept-options / connect-options of a service
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define PST_TYPE_OPTIONS (pst_options_get_type ())
G_DECLARE_FINAL_TYPE (PstOptions, pst_options, PST, OPTIONS, GObject)

/* An option set maps names ("ssl.encryption", "ws.inactivity.timeout",
 * "tcp.bind", …) to their (property-substituted) text values.  An accept
 * options set has the service-defaults as parent: lookups fall back to it. */
PstOptions  *pst_options_new            (PstOptions *parent);
const char  *pst_options_get            (PstOptions *self, const char *name);
/* line of the element in the config file, 0 when not set here or in a parent */
guint        pst_options_get_line       (PstOptions *self, const char *name);
void         pst_options_set            (PstOptions *self, const char *name,
                                         const char *value, guint line);
GStrv        pst_options_dup_names      (PstOptions *self);  /* own names only */

/* Typed helpers on top of pst_options_get (defaults when unset). */
gboolean     pst_options_get_ssl_encryption (PstOptions *self);   /* default TRUE */
/* tcp.proxy-protocol: TRUE only for "true" (default FALSE) */
gboolean     pst_options_get_proxy_protocol (PstOptions *self);
/* "none" (default), "optional", "required" */
const char  *pst_options_get_verify_client  (PstOptions *self);
/* durations like "30", "30s", "5 minutes", "1500ms" in milliseconds; FALSE on bad text */
gboolean     pst_options_get_duration_ms    (PstOptions *self, const char *name,
                                             guint64 default_ms, guint64 *out_ms);
/* sizes like "128k", "64KB", "1m", "2048" in bytes; FALSE on bad text */
gboolean     pst_options_get_size           (PstOptions *self, const char *name,
                                             guint64 default_bytes, guint64 *out_bytes);

gboolean     pst_parse_duration_ms (const char *text, guint64 *out_ms);
gboolean     pst_parse_size        (const char *text, guint64 *out_bytes);

G_END_DECLS
