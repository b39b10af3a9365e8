/* pst-service.h: one <service> of gateway-config.xml
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>
#include "pst-options.h"
#include "pst-url.h"

G_BEGIN_DECLS

#define PST_TYPE_SERVICE (pst_service_get_type ())
G_DECLARE_FINAL_TYPE (PstService, pst_service, PST, SERVICE, GObject)

/* Read-only view for the gateway; property-substituted values.  Edits go
 * through PstConfig so that the libxml2 document stays the source of truth. */
const char  *pst_service_get_name          (PstService *self);
const char  *pst_service_get_description   (PstService *self);
const char  *pst_service_get_service_type  (PstService *self);  /* "echo", "directory", "proxy", … */
guint        pst_service_get_line          (PstService *self);
guint        pst_service_get_index         (PstService *self);  /* position among services */
guint        pst_service_get_type_line     (PstService *self);  /* line of <type>, 0 if absent */
guint        pst_service_get_name_line     (PstService *self);  /* line of <name>, 0 if absent */

guint        pst_service_get_n_accepts     (PstService *self);
const char  *pst_service_get_accept        (PstService *self, guint i);  /* substituted text */
const char  *pst_service_get_accept_raw    (PstService *self, guint i);  /* as typed, ${…} kept */
guint        pst_service_get_accept_line   (PstService *self, guint i);
guint        pst_service_get_n_connects    (PstService *self);
const char  *pst_service_get_connect       (PstService *self, guint i);
const char  *pst_service_get_connect_raw   (PstService *self, guint i);
guint        pst_service_get_connect_line  (PstService *self, guint i);

/* <properties>: directory, welcome-file, error-pages-directory, options,
 * location patterns/cache-control (as "location.N.patterns" / "location.N.cache-control") */
const char  *pst_service_get_property      (PstService *self, const char *name);
guint        pst_service_get_property_line (PstService *self, const char *name);
GStrv        pst_service_dup_property_names (PstService *self);

PstOptions  *pst_service_get_accept_options  (PstService *self);
PstOptions  *pst_service_get_connect_options (PstService *self);

/* cross-site-constraint/allow-origin values; NULL when there is no constraint */
const char * const *pst_service_get_allow_origins (PstService *self);

/* Directory paths in properties are resolved against the config folder:
 * absolute, or NULL when the property is unset. */
char        *pst_service_dup_resolved_path (PstService *self, const char *property);

G_END_DECLS
