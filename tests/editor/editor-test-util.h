/* editor-test-util.h: what every editor test program needs — bounded main-loop waits, widget look-ups, scratch folders and configs
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "pst-document.h"
#include "pst-window.h"

G_BEGIN_DECLS

/* A condition polled by pst_test_wait_for(). */
typedef gboolean (*PstTestPredicate) (gpointer data);

void       pst_test_init              (int                *argc,
                                       char             ***argv);

/* main loop */
void       pst_test_iterate           (guint               ms);
gboolean   pst_test_wait_for          (PstTestPredicate    done,
                                       gpointer            data,
                                       guint               ms);
gboolean   pst_test_flag_set          (gpointer            data);
void       pst_test_set_flag_cb       (gpointer            instance,
                                       gpointer            user_data);
gboolean   pst_test_validated         (gpointer            document);
gint64     pst_test_thread_cpu_us     (void);

/* widgets */
gpointer   pst_test_template_child    (gpointer            widget,
                                       GType               type,
                                       const char         *name);
GtkWidget *pst_test_find_descendant   (GtkWidget          *widget,
                                       GType               type,
                                       gboolean            visible_only);
GtkWidget *pst_test_find_action_button (GtkWidget         *widget,
                                       const char         *action_name,
                                       gboolean            drawable_only);
gpointer   pst_test_find_toplevel     (GType               type,
                                       GPtrArray          *seen);

typedef struct {
  GtkWindow        *parent;
  AdwMessageDialog *dialog;
} PstTestDialogSearch;

gboolean   pst_test_message_dialog_shown (gpointer         search);

/* the window's run log and its service Test */
char      *pst_test_log_text          (PstWindow          *window);
gboolean   pst_test_service_test_finished (gpointer        window);

/* the common fixture: a scratch copy of the test's gateway-config.xml
 * open in a presented window */
typedef struct {
  char      *dir;
  char      *path;       /* the copy */
  char      *original;   /* its text */
  PstWindow *window;
} PstTestWindow;

void       pst_test_window_setup      (PstTestWindow      *fx,
                                       const char         *tmpl);
void       pst_test_window_teardown   (PstTestWindow      *fx);

/* files, ports, tools */
char      *pst_test_make_dir          (const char         *tmpl);
void       pst_test_remove_tree       (const char         *path);
char      *pst_test_write_config      (const char         *dir,
                                       const char         *text);
char      *pst_test_copy_fixture_config (const char       *dir,
                                       char              **text);
PstWindow *pst_test_open_window       (const char         *path,
                                       PstDocument       **document);
guint16    pst_test_free_port         (void);
char      *pst_test_run_tool          (const char         *dir,
                                       const char * const *argv);

G_END_DECLS
