/* pst-application.h: the postern-editor application (actions, accelerators, windows)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define PST_APPLICATION_ID "org.postern.Editor"

#define PST_TYPE_APPLICATION (pst_application_get_type ())
G_DECLARE_FINAL_TYPE (PstApplication, pst_application, PST, APPLICATION, AdwApplication)

PstApplication *pst_application_new (void);
/* The keyboard shortcuts (also listed in the shortcuts window). */
void            pst_application_set_accels (GtkApplication *app);

G_END_DECLS
