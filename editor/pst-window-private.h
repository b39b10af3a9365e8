/* pst-window-private.h: PstWindow internals shared with pst-window-actions.c
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-window.h"
#include "pst-diagnostics-panel.h"
#include "pst-properties-page.h"
#include "pst-run-page.h"
#include "pst-runner.h"
#include "pst-store-view.h"
#include "pst-security-page.h"
#include "pst-service-page.h"
#include "pst-trust-page.h"

G_BEGIN_DECLS

struct _PstWindow
{
  AdwApplicationWindow  parent_instance;

  PstDocument          *document;
  GSettings            *settings;     /* NULL when the schema is not installed */
  GCancellable         *cancellable;
  GtkFileChooserNative *chooser;
  char                 *load_error;   /* last open failure, for the empty page */
  PstRunner            *runner;
  GCancellable         *test_cancellable;
  GMenu                *recent_menu;

  /* Undo of a service removal: the whole text before it (the library has
   * no "insert this service XML" edit), valid while its toast is shown. */
  AdwToast             *undo_toast;
  char                 *undo_xml;
  gsize                 undo_len;
  guint                 undo_index;
  guint                 undo_modified : 1;

  /* template children */
  AdwWindowTitle       *window_title;
  AdwToastOverlay      *toast_overlay;
  GtkStack             *main_stack;
  AdwStatusPage        *empty_page;
  GtkListBox           *pages_list;
  GtkListView          *services_view;
  GtkSingleSelection   *services_selection;
  GtkStack             *content_stack;
  PstServicePage       *service_page;
  PstPropertiesPage    *properties_page;
  PstSecurityPage      *security_page;
  PstTrustPage         *trust_page;
  GtkTextView          *xml_view;
  PstRunPage           *run_page;
  GtkButton            *run_button;
  AdwToast             *restart_toast;   /* "Restart to Apply", while offered */
  GPtrArray            *store_monitors;  /* GFileMonitor of the running stores */
  GtkRevealer          *diagnostics_revealer;
  PstDiagnosticsPanel  *diagnostics_panel;
  GtkToggleButton      *diagnostics_button;
  GtkImage             *diagnostics_icon;
  GtkLabel             *diagnostics_badge;

  guint                 show_diagnostics : 1;
  guint                 close_confirmed : 1;
  guint                 xml_stale : 1;
};

typedef void (*PstWindowDone) (PstWindow *self, gboolean proceed);

void pst_window_class_add_actions  (GtkWidgetClass *widget_class);
void pst_window_class_add_run_actions (GtkWidgetClass *widget_class);
void pst_window_class_add_trusted_actions (GtkWidgetClass *widget_class);
void pst_window_class_add_key_actions (GtkWidgetClass *widget_class);
void pst_window_init_run           (PstWindow      *self);
void pst_window_update_run         (PstWindow      *self);
/* the document changed: offer "Restart to Apply" if the gateway runs */
void pst_window_run_document_changed (PstWindow    *self);
void pst_window_clear_restart      (PstWindow      *self);
/* F8 and "Show Problems": open the panel and focus its first row */
void pst_window_focus_problems     (PstWindow      *self);
void pst_window_init_recent        (PstWindow      *self);
/* saves (asking for a file when it has none); then calls done (TRUE = saved) */
void pst_window_save               (PstWindow      *self,
                                    PstWindowDone   done);
/* the document changed: an undo snapshot is stale */
void pst_window_forget_undo        (PstWindow      *self);
void pst_window_update_actions     (PstWindow      *self);
/* asks about unsaved changes; then calls done (TRUE = go ahead) */
void pst_window_confirm_discard    (PstWindow      *self,
                                    PstWindowDone   done);
/* the store's inspector window, its edits reported to the window */
PstStoreView *pst_window_open_store_view (PstWindow    *self,
                                          PstStoreKind  kind);
/* "Trust a Server…" for service (NULL: the selected one): offers to
 * create a truststore when there is none, prefills host:port from the
 * service's ssl:// or wss:// connect URL. */
void pst_window_trust_server       (PstWindow      *self,
                                    const char     *service);
void pst_window_class_add_tls_actions (GtkWidgetClass *widget_class);
void pst_window_show_error         (PstWindow      *self,
                                    const char     *heading,
                                    const char     *message);

G_END_DECLS
