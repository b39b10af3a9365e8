/* pst-config.h: the gateway-config.xml model (libxml2 document kept for round-trips)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-diagnostic.h"
#include "pst-service.h"

G_BEGIN_DECLS

#define PST_CONFIG_ERROR (pst_config_error_quark ())
typedef enum {
  PST_CONFIG_ERROR_IO,         /* cannot read / write the file */
  PST_CONFIG_ERROR_MALFORMED,  /* not well-formed XML, or too large; message has FILE:LINE:COL */
  PST_CONFIG_ERROR_ROOT,       /* root element is not gateway-config */
  PST_CONFIG_ERROR_INVALID,    /* validation found errors */
} PstConfigError;
GQuark pst_config_error_quark (void);

/* Largest config file accepted (bytes). */
#define PST_CONFIG_MAX_SIZE (4 * 1024 * 1024)

typedef struct {
  char  *type;            /* as written, NULL if absent */
  char  *file;            /* resolved absolute path, NULL if no store configured */
  char  *password_file;   /* resolved absolute path, NULL if absent */
  guint  line;            /* line of <keystore>/<truststore> */
} PstStoreRef;

#define PST_TYPE_CONFIG (pst_config_get_type ())
G_DECLARE_FINAL_TYPE (PstConfig, pst_config, PST, CONFIG, GObject)

PstConfig   *pst_config_new_from_file   (const char *path, GError **error);
PstConfig   *pst_config_new_from_data   (const char *data, gsize len,
                                         const char *path,   /* for messages and relative paths */
                                         GError **error);
/* the embedded default (conf/gateway-config.xml as shipped) */
const char  *pst_config_get_default_text (void);

const char  *pst_config_get_path        (PstConfig *self);   /* absolute */
const char  *pst_config_get_directory   (PstConfig *self);   /* folder of the file */
char        *pst_config_resolve_path    (PstConfig *self, const char *relative);

guint        pst_config_get_n_services  (PstConfig *self);
PstService  *pst_config_get_service     (PstConfig *self, guint i);
PstService  *pst_config_find_service    (PstConfig *self, const char *name);

const PstStoreRef *pst_config_get_keystore   (PstConfig *self);  /* never NULL; file NULL when absent */
const PstStoreRef *pst_config_get_truststore (PstConfig *self);

/* <properties>: value with ${…} of the value itself substituted */
const char  *pst_config_get_property    (PstConfig *self, const char *name);
GStrv        pst_config_dup_property_names (PstConfig *self);

/* Parse-time findings (unknown elements, undefined properties…) are kept
 * and returned again by pst_config_validate.  Validation opens stores
 * (password files, certificates) but binds nothing.  Array of PstDiagnostic,
 * sorted by line. */
GPtrArray   *pst_config_validate        (PstConfig *self);
gboolean     pst_diagnostics_have_errors (GPtrArray *diagnostics);

/* Round-trip: the kept document, serialised as is. */
char        *pst_config_to_xml          (PstConfig *self, gsize *len);
gboolean     pst_config_save            (PstConfig *self, const char *path, GError **error);

/* Editing (editor): every edit changes the libxml2 document in place and
 * rebuilds the service views; emits ::changed. */
gboolean     pst_config_set_accept      (PstConfig *self, guint service, guint i,
                                         const char *value, GError **error);
/* … more setters are added by the editor issue as it needs them */

G_END_DECLS
