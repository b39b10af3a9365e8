/* pst-document.h: an open gateway-config.xml: file, modified state, live diagnostics
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "pst-config.h"

G_BEGIN_DECLS

/* Diagnostics are re-run this long after the last edit. */
#define PST_DOCUMENT_VALIDATE_DELAY_MS 300

#define PST_TYPE_DOCUMENT (pst_document_get_type ())
G_DECLARE_FINAL_TYPE (PstDocument, pst_document, PST, DOCUMENT, GObject)

PstDocument *pst_document_new_default      (GError       **error);
PstDocument *pst_document_new_for_file     (GFile         *file,
                                            GError       **error);
void         pst_document_load_async       (GFile         *file,
                                            GCancellable  *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer       user_data);
PstDocument *pst_document_load_finish      (GAsyncResult  *result,
                                            GError       **error);
/* file NULL: the document's own file */
gboolean     pst_document_save             (PstDocument   *self,
                                            GFile         *file,
                                            GError       **error);

PstConfig   *pst_document_get_config       (PstDocument   *self);
GFile       *pst_document_get_file         (PstDocument   *self);
char        *pst_document_dup_display_name (PstDocument   *self);
gboolean     pst_document_get_modified     (PstDocument   *self);
/* untitled and never edited: may be replaced by an opened file */
gboolean     pst_document_is_pristine      (PstDocument   *self);

/* PstServiceItem per service, stable across edits */
GListModel  *pst_document_get_services     (PstDocument   *self);
/* PstDiagnostic, as the library's validation returned them */
GListModel  *pst_document_get_diagnostics  (PstDocument   *self);
guint        pst_document_get_n_errors     (PstDocument   *self);
guint        pst_document_get_n_warnings   (PstDocument   *self);
/* run the pending validation at once (tests, before saving) */
void         pst_document_validate_now     (PstDocument   *self);
/* the same in a worker thread (a store changed on disk): the window keeps drawing */
void         pst_document_validate_async   (PstDocument   *self);
gboolean     pst_document_get_validation_pending (PstDocument *self);

/* A path as the configuration should write it: relative when it is in
 * the saved configuration's folder (or below), absolute otherwise. */
char        *pst_document_relative_path    (PstDocument   *self,
                                            const char    *path);
/* The local development CA: devca.p12 in the configuration's folder,
 * where `postern run` and the New Certificate dialog keep it. */
char        *pst_document_dup_local_ca_path (PstDocument  *self);
/* Replaces the model by the configuration text xml (a snapshot taken with
 * pst_config_to_xml), e.g. to undo a removal; modified as given. */
gboolean     pst_document_restore          (PstDocument   *self,
                                            const char    *xml,
                                            gsize          len,
                                            gboolean       modified,
                                            GError       **error);

/* Document-wide undo and redo of edits (each committed field, each
 * service added, removed or moved, …), back to the saved state and
 * further; FALSE when there is nothing to undo (or the step failed, with
 * error set). */
gboolean     pst_document_get_can_undo     (PstDocument   *self);
gboolean     pst_document_get_can_redo     (PstDocument   *self);
gboolean     pst_document_undo             (PstDocument   *self,
                                            GError       **error);
gboolean     pst_document_redo             (PstDocument   *self,
                                            GError       **error);

/* For an edit the library refused: shown by the window as a toast. */
void         pst_document_report_error     (PstDocument   *self,
                                            const GError  *error);

G_END_DECLS
