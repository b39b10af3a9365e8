/* pst-service-page.h: edits one <service> through the library's edit API
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"
#include "pst-service-item.h"

G_BEGIN_DECLS

#define PST_TYPE_SERVICE_PAGE (pst_service_page_get_type ())
G_DECLARE_FINAL_TYPE (PstServicePage, pst_service_page, PST, SERVICE_PAGE, AdwBin)

void pst_service_page_set_document (PstServicePage *self,
                                    PstDocument    *document);
void pst_service_page_set_item     (PstServicePage *self,
                                    PstServiceItem *item);
/* a diagnostic's field name: "name", "accept", "ssl.verify-client", … */
void pst_service_page_focus_field  (PstServicePage *self,
                                    const char     *field);

typedef enum {
  PST_TEST_IDLE,
  PST_TEST_RUNNING,
  PST_TEST_OK,
  PST_TEST_FAILED,
} PstTestState;

/* Shown in the page's Test row when service_name (NULL: any) is the one
 * on the page; text NULL with PST_TEST_IDLE restores the explanation. */
void        pst_service_page_set_test_result (PstServicePage *self,
                                              const char     *service_name,
                                              const char     *text,
                                              PstTestState    state);
const char *pst_service_page_get_test_result (PstServicePage *self);

G_END_DECLS
