/* pst-trusted-dialog.h: "Make It Trusted" — local CA, certificate, browsers, run, welcome page, in one dialog
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"
#include "pst-runner.h"

G_BEGIN_DECLS

#define PST_TYPE_TRUSTED_DIALOG (pst_trusted_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PstTrustedDialog, pst_trusted_dialog, PST, TRUSTED_DIALOG, AdwWindow)

/* runner: the window's (the gateway it runs is the window's Run). */
PstTrustedDialog *pst_trusted_dialog_new (GtkWindow   *parent,
                                          PstDocument *document,
                                          PstRunner   *runner);
/* Where an untitled configuration is saved: ~/Postern/gateway-config.xml
 * (or the first free "Postern N" folder). */
char             *pst_trusted_dialog_dup_default_path (void);
/* TRUE while it works */
gboolean          pst_trusted_dialog_get_busy (PstTrustedDialog *self);
/* What it did last, or why it stopped. */
const char       *pst_trusted_dialog_get_message (PstTrustedDialog *self);

/* Seams for tests: what opens the welcome page (default gtk_show_uri),
 * and what runs a root command (default: a pkexec subprocess). */
typedef void (*PstUriLauncher) (GtkWindow *parent, const char *uri, gpointer user_data);
void pst_trusted_dialog_set_uri_launcher (PstUriLauncher launcher, gpointer user_data);

G_END_DECLS
