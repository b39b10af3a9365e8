/* pst-run-page.h: the Run page: start/stop the gateway, its log
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-runner.h"

G_BEGIN_DECLS

#define PST_TYPE_RUN_PAGE (pst_run_page_get_type ())
G_DECLARE_FINAL_TYPE (PstRunPage, pst_run_page, PST, RUN_PAGE, AdwBin)

/* Lines kept in the log view; older ones are dropped. */
#define PST_RUN_PAGE_MAX_LINES 5000

void           pst_run_page_set_runner  (PstRunPage *self,
                                         PstRunner  *runner);
/* a line of the editor's own (start failure, "Starting…") */
void           pst_run_page_append      (PstRunPage *self,
                                         const char *line);
GtkTextBuffer *pst_run_page_get_buffer  (PstRunPage *self);

G_END_DECLS
