/* pst-config-private.h: PstConfig internals shared by parse, validate and edit
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libxml/tree.h>
#include "pst-config.h"
#include "pst-service-private.h"

G_BEGIN_DECLS

/* Lines of a store's children, for precise diagnostics. */
typedef struct {
  guint type_line;
  guint file_line;
  guint password_file_line;
  guint password_keyring_line;
  gboolean password_keyring_invalid;  /* neither true nor false */
} PstStoreLines;

struct _PstConfig
{
  GObject        parent_instance;

  char          *path;           /* absolute */
  char          *display_path;   /* as given, for messages */
  char          *directory;

  /* The text the document was parsed from (columns are searched in it). */
  char          *text;
  gsize          text_len;
  GArray        *line_offsets;   /* gsize: offset of each line start */
  gboolean       has_declaration;
  gboolean       ends_with_newline;

  xmlDocPtr      doc;

  /* Views rebuilt from the document */
  GPtrArray     *services;         /* PstService */
  GHashTable    *property_raw;     /* name → raw value */
  GHashTable    *property_values;  /* name → substituted value (cache) */
  GHashTable    *property_lines;   /* name → GUINT line of <property> */
  GPtrArray     *property_names;   /* document order */
  gsize          substituted_total;    /* bytes of text built by ${…} substitution */
  gboolean       substituted_overflow; /* … past PST_PROPERTY_MAX_TOTAL, reported */
  PstOptions    *defaults;         /* service-defaults/accept-options */
  PstStoreRef    keystore;
  PstStoreRef    truststore;
  PstStoreLines  keystore_lines;
  PstStoreLines  truststore_lines;
  GPtrArray     *parse_diagnostics;
};

/* pst-config-parse.c */
gboolean  pst_config_load_text      (PstConfig   *self,
                                     const char  *data,
                                     gsize        len,
                                     GError     **error);
void      pst_config_clear_views    (PstConfig   *self);
gboolean  pst_config_node_is        (xmlNodePtr   node,
                                     const char  *name);
xmlNodePtr pst_config_node_child    (xmlNodePtr   node,
                                     const char  *name);
char     *pst_config_node_text      (xmlNodePtr   node);
const char *pst_config_gateway_ns_uri (guint i);   /* NULL after the last */

/* pst-config-uses.c: rewrites ${name} to ${new_name} in the text of
 * every gateway element; returns how many were rewritten (no commit). */
guint     pst_config_rewrite_references (PstConfig  *self,
                                         const char *name,
                                         const char *new_name);

/* pst-config-edit-tree.c: whitespace-keeping libxml2 helpers shared by
 * the pst-config-edit-*.c files. */
extern const char * const pst_edit_service_order[];   /* canonical child order */
extern const char * const pst_edit_root_order[];
extern const char * const pst_edit_service_properties_order[];

gboolean   pst_edit_is_blank_text       (xmlNodePtr          node);
const char *pst_edit_indent_unit        (PstConfig          *self);
xmlNodePtr pst_edit_first_element       (xmlNodePtr          parent);
xmlNodePtr pst_edit_last_element        (xmlNodePtr          parent);
xmlNodePtr pst_edit_block_start         (xmlNodePtr          node);
xmlNodePtr pst_edit_new_text            (PstConfig          *self,
                                         const char         *text);
xmlNodePtr pst_edit_new_element         (PstConfig          *self,
                                         xmlNodePtr          parent,
                                         const char         *name,
                                         const char         *text);
void       pst_edit_insert_nodes_after  (xmlNodePtr          anchor,
                                         xmlNodePtr         *nodes,
                                         guint               n);
void       pst_edit_insert_nodes_before (xmlNodePtr          anchor,
                                         xmlNodePtr         *nodes,
                                         guint               n);
void       pst_edit_insert_child        (PstConfig          *self,
                                         xmlNodePtr          parent,
                                         xmlNodePtr          child,
                                         xmlNodePtr          after);
int        pst_edit_order_of            (const char * const *order,
                                         const char         *name);
void       pst_edit_insert_ordered      (PstConfig          *self,
                                         xmlNodePtr          parent,
                                         xmlNodePtr          child,
                                         const char * const *order);
void       pst_edit_remove_node         (xmlNodePtr          node);
void       pst_edit_set_text            (PstConfig          *self,
                                         xmlNodePtr          node,
                                         const char         *text);
xmlNodePtr pst_edit_find_or_add         (PstConfig          *self,
                                         xmlNodePtr          parent,
                                         const char         *name,
                                         const char * const *order);
void       pst_edit_set_leaf            (PstConfig          *self,
                                         xmlNodePtr          parent,
                                         const char         *name,
                                         const char         *value,
                                         const char * const *order);
xmlNodePtr pst_edit_root                (PstConfig          *self);
xmlNodePtr pst_edit_nth_child           (xmlNodePtr          parent,
                                         const char         *name,
                                         guint               n);

/* pst-config-edit.c: what every edit shares */
xmlNodePtr pst_edit_find_service        (PstConfig          *self,
                                         guint               index,
                                         GError            **error);
gboolean   pst_edit_check_value         (const char         *value,
                                         const char         *what,
                                         GError            **error);
gboolean   pst_edit_check_element_name  (const char         *name,
                                         GError            **error);
gboolean   pst_edit_commit              (PstConfig          *self,
                                         GError            **error);

/* pst-config.c */
void      pst_config_emit_changed   (PstConfig   *self);
guint     pst_config_column         (PstConfig   *self,
                                     guint        line,
                                     const char  *element);
void      pst_config_add_diagnostic (PstConfig   *self,
                                     GPtrArray   *diagnostics,
                                     PstSeverity  severity,
                                     guint        line,
                                     const char  *element,
                                     const char  *service,
                                     const char  *field,
                                     const char  *format,
                                     ...) G_GNUC_PRINTF (8, 9);

G_END_DECLS
