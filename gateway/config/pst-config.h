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
  PST_CONFIG_ERROR_INVALID,    /* validation found errors, or an edit got a bad value */
  PST_CONFIG_ERROR_NOT_FOUND,  /* an edit named a service, URL or property that does not exist */
} PstConfigError;
GQuark pst_config_error_quark (void);

/* Largest config file accepted (bytes). */
#define PST_CONFIG_MAX_SIZE (4 * 1024 * 1024)
/* ${…} substitution limits: one substituted text (a property's value or
 * an element's), everything substituted in one file, and how many
 * properties deep a chain of references may go. */
#define PST_PROPERTY_MAX_VALUE (64 * 1024)
#define PST_PROPERTY_MAX_TOTAL (1024 * 1024)
#define PST_PROPERTY_MAX_DEPTH 16

typedef struct {
  char  *type;            /* as written, NULL if absent */
  char  *file;            /* resolved absolute path, NULL if no store configured */
  char  *password_file;   /* resolved absolute path, NULL if absent */
  guint  line;            /* line of <keystore>/<truststore> */
  gboolean password_keyring; /* <password-keyring>true</password-keyring>: the desktop keyring holds the password */
} PstStoreRef;

#define PST_TYPE_CONFIG (pst_config_get_type ())
G_DECLARE_FINAL_TYPE (PstConfig, pst_config, PST, CONFIG, GObject)

PstConfig   *pst_config_new_from_file   (const char *path, GError **error);
GBytes      *pst_config_read_file       (const char *path, GError **error);
PstConfig   *pst_config_new_from_data   (const char *data, gsize len,
                                         const char *path,   /* for messages and relative paths */
                                         GError **error);
/* the embedded default (conf/gateway-config.xml as shipped) */
const char  *pst_config_get_default_text (void);

const char  *pst_config_get_path        (PstConfig *self);   /* absolute */
const char  *pst_config_get_display_path (PstConfig *self);  /* as given, used in messages */
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
const char  *pst_config_get_property_raw (PstConfig *self, const char *name);  /* as written */
/* service-defaults/accept-options: parent of every service's accept options */
PstOptions  *pst_config_get_defaults    (PstConfig *self);

/* Parse-time findings (unknown elements, undefined properties…) are kept
 * and returned again by pst_config_validate.  Validation opens stores
 * (password files, certificates) but binds nothing.  Array of PstDiagnostic,
 * sorted by line. */
GPtrArray   *pst_config_validate        (PstConfig *self);
typedef enum {
  PST_VALIDATE_DEFAULT = 0,
  PST_VALIDATE_RESOLVE = 1 << 0,   /* look accept host names up, as `postern run` binds them (blocking) */
} PstValidateFlags;
GPtrArray   *pst_config_validate_full   (PstConfig *self, PstValidateFlags flags);
/* The same in a worker thread, on a copy of the document (the editor). */
void         pst_config_validate_async  (PstConfig *self, PstValidateFlags flags,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
GPtrArray   *pst_config_validate_finish (PstConfig *self, GAsyncResult *result, GError **error);
gboolean     pst_diagnostics_have_errors (GPtrArray *diagnostics);

/* Round-trip: the kept document, serialised as is. */
char        *pst_config_to_xml          (PstConfig *self, gsize *len);
gboolean     pst_config_save            (PstConfig *self, const char *path, GError **error);

/* Editing (editor): every edit changes the libxml2 document in place and
 * rebuilds the service views; emits ::changed. */
gboolean     pst_config_set_accept      (PstConfig *self, guint service, guint i,
                                         const char *value, GError **error);
/* Appends after the last <accept>/<connect>; i is the index of the new one. */
gboolean     pst_config_add_accept      (PstConfig *self, guint service,
                                         const char *value, GError **error);
gboolean     pst_config_remove_accept   (PstConfig *self, guint service, guint i,
                                         GError **error);
gboolean     pst_config_set_connect     (PstConfig *self, guint service, guint i,
                                         const char *value, GError **error);
gboolean     pst_config_add_connect     (PstConfig *self, guint service,
                                         const char *value, GError **error);
gboolean     pst_config_remove_connect  (PstConfig *self, guint service, guint i,
                                         GError **error);
/* value NULL (or "" for the description) removes the element */
gboolean     pst_config_set_service_name        (PstConfig *self, guint service,
                                                 const char *name, GError **error);
gboolean     pst_config_set_service_description (PstConfig *self, guint service,
                                                 const char *description, GError **error);
gboolean     pst_config_set_service_type        (PstConfig *self, guint service,
                                                 const char *type, GError **error);
/* field: "name", "description" or "type"; same rules as the three above */
gboolean     pst_config_set_service_text        (PstConfig *self, guint service,
                                                 const char *field, const char *value,
                                                 GError **error);
/* <properties>/<name> of a service ("directory", "welcome-file", …); value NULL unsets */
gboolean     pst_config_set_service_property    (PstConfig *self, guint service,
                                                 const char *name, const char *value,
                                                 GError **error);
/* accept-options / connect-options; value NULL unsets (and drops an emptied
 * options element) */
gboolean     pst_config_set_accept_option  (PstConfig *self, guint service,
                                            const char *name, const char *value,
                                            GError **error);
gboolean     pst_config_set_connect_option (PstConfig *self, guint service,
                                            const char *name, const char *value,
                                            GError **error);
/* origins NULL removes the cross-site-constraint (same origin only) */
gboolean     pst_config_set_allow_origins  (PstConfig *self, guint service,
                                            const char * const *origins,
                                            GError **error);
/* A small template (name, accept on localhost:8000, type; a connect for a
 * proxy, a directory for a directory) appended after the last service;
 * on success *out_index (optional) is its index. */
gboolean     pst_config_add_service        (PstConfig *self, const char *name,
                                            const char *type, guint *out_index,
                                            GError **error);
/* Inserted right after the original, named "NAME-copy"; *out_index
 * (optional) is the copy's index. */
gboolean     pst_config_duplicate_service  (PstConfig *self, guint service,
                                            guint *out_index, GError **error);
/* Comments right above a service go with it when it is removed or moved. */
gboolean     pst_config_remove_service     (PstConfig *self, guint service,
                                            GError **error);
gboolean     pst_config_move_service       (PstConfig *self, guint service,
                                            guint new_index, GError **error);
/* Global <properties>: sets or adds */
gboolean     pst_config_set_property       (PstConfig *self, const char *name,
                                            const char *value, GError **error);
gboolean     pst_config_rename_property    (PstConfig *self, const char *name,
                                            const char *new_name, GError **error);
gboolean     pst_config_remove_property    (PstConfig *self, const char *name,
                                            GError **error);

/* Where a global property is used: one per element whose text refers to
 * it with ${name}.  owner is the service's name (NULL when it has none),
 * the referring property's name, or for OTHER the top element below the
 * root ("service-defaults", "keystore", "truststore", …); element is the
 * path below the owner ("accept", "accept-options/ssl.encryption", "file"). */
typedef enum {
  PST_PROPERTY_USE_SERVICE,
  PST_PROPERTY_USE_PROPERTY,
  PST_PROPERTY_USE_OTHER,
} PstPropertyUseKind;

typedef struct {
  PstPropertyUseKind  kind;
  char               *owner;
  char               *element;
  guint               line;
} PstPropertyUse;

void         pst_property_use_free         (PstPropertyUse *use);
/* translated, e.g. "service “echo”, accept (line 34)" */
char        *pst_property_use_to_string    (const PstPropertyUse *use);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstPropertyUse, pst_property_use_free)

/* Array of PstPropertyUse in document order; empty when unused. */
GPtrArray   *pst_config_dup_property_uses  (PstConfig *self, const char *name);
/* Renames and rewrites every ${name} to ${new_name} in one edit. */
gboolean     pst_config_rename_property_and_references (PstConfig *self,
                                                        const char *name,
                                                        const char *new_name,
                                                        GError **error);

typedef enum {
  PST_STORE_KIND_KEYSTORE,
  PST_STORE_KIND_TRUSTSTORE,
} PstStoreKind;

/* field: "type", "file" or "password-file"; value NULL removes it.  Creates
 * <security> and the store element when needed. */
gboolean     pst_config_set_store_field    (PstConfig *self, PstStoreKind kind,
                                            const char *field, const char *value,
                                            GError **error);
gboolean     pst_config_remove_store       (PstConfig *self, PstStoreKind kind,
                                            GError **error);

G_END_DECLS
