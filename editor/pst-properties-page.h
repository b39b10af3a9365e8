/* pst-properties-page.h: the ${name} property table
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_PROPERTIES_PAGE (pst_properties_page_get_type ())
G_DECLARE_FINAL_TYPE (PstPropertiesPage, pst_properties_page, PST, PROPERTIES_PAGE, AdwBin)

void pst_properties_page_set_document (PstPropertiesPage *self,
                                       PstDocument       *document);

G_END_DECLS
