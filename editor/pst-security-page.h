/* pst-security-page.h: the keystore and truststore of the configuration
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"

G_BEGIN_DECLS

#define PST_TYPE_SECURITY_PAGE (pst_security_page_get_type ())
G_DECLARE_FINAL_TYPE (PstSecurityPage, pst_security_page, PST, SECURITY_PAGE, AdwBin)

void pst_security_page_set_document (PstSecurityPage *self,
                                     PstDocument     *document);

G_END_DECLS
