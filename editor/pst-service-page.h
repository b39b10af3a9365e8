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

G_END_DECLS
