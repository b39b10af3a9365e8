/* pst-url-row.h: an editable URL (or origin) row showing its substituted value
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PST_TYPE_URL_ROW (pst_url_row_get_type ())
G_DECLARE_FINAL_TYPE (PstUrlRow, pst_url_row, PST, URL_ROW, AdwPreferencesRow)

GtkWidget  *pst_url_row_new          (const char *title);
guint       pst_url_row_get_position (PstUrlRow  *self);
void        pst_url_row_set_position (PstUrlRow  *self,
                                      guint       position);
const char *pst_url_row_get_text     (PstUrlRow  *self);
/* does not emit ::changed */
void        pst_url_row_set_text     (PstUrlRow  *self,
                                      const char *text);
/* shown under the typed text when it differs from it (${…} substituted) */
void        pst_url_row_set_resolved (PstUrlRow  *self,
                                      const char *resolved);
void        pst_url_row_set_error    (PstUrlRow  *self,
                                      gboolean    error);
GtkEditable *pst_url_row_get_editable (PstUrlRow *self);

G_END_DECLS
