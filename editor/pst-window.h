/* pst-window.h: the editor window: one gateway-config.xml
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_WINDOW (pst_window_get_type ())
G_DECLARE_FINAL_TYPE (PstWindow, pst_window, PST, WINDOW, AdwApplicationWindow)

PstWindow   *pst_window_new               (GtkApplication *application);
void         pst_window_new_document      (PstWindow      *self);
/* loads in a thread; a broken file shows its error (with the line) */
void         pst_window_open_file         (PstWindow      *self,
                                           GFile          *file);
PstDocument *pst_window_get_document      (PstWindow      *self);
void         pst_window_set_document      (PstWindow      *self,
                                           PstDocument    *document);
/* "Restart to Apply" is offered (the running gateway is out of date) */
gboolean     pst_window_get_restart_offered (PstWindow   *self);
void         pst_window_select_service    (PstWindow      *self,
                                           guint           index);
/* "properties", "security", "xml" */
void         pst_window_show_page         (PstWindow      *self,
                                           const char     *name);
void         pst_window_add_toast         (PstWindow      *self,
                                           const char     *message);

/* The one modal file chooser a window or page keeps open at a time, for
 * every window of the editor: pst_file_chooser_replace() destroys the one
 * in *slot, if any, and puts a new one there, transient for owner's
 * window (*slot keeps the reference); pst_file_chooser_clear() is for
 * dispose; pst_file_chooser_dup_path() is the local path chosen, NULL
 * unless one was accepted. */
GtkFileChooserNative *pst_file_chooser_replace  (GtkFileChooserNative **slot,
                                                 GtkWidget             *owner,
                                                 const char            *title,
                                                 GtkFileChooserAction   action,
                                                 const char            *accept);
void                  pst_file_chooser_clear    (GtkFileChooserNative **slot);
char                 *pst_file_chooser_dup_path (GtkNativeDialog       *dialog,
                                                 int                    response);

G_END_DECLS
