/* pst-application.c: the postern-editor application (actions, accelerators, windows)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-application.h"
#include "pst-window.h"

struct _PstApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (PstApplication, pst_application, ADW_TYPE_APPLICATION)

static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.new",                { "<Control>n", NULL } },
  { "app.quit",               { "<Control>q", NULL } },
  { "win.open",               { "<Control>o", NULL } },
  { "win.save",               { "<Control>s", NULL } },
  { "win.save-as",            { "<Control><Shift>s", NULL } },
  { "window.close",           { "<Control>w", NULL } },
  { "win.undo",               { "<Control>z", NULL } },
  { "win.redo",               { "<Control><Shift>z", NULL } },
  { "win.run",                { "F5", NULL } },
  { "win.stop",               { "<Shift>F5", NULL } },
  { "win.service-test",       { "<Control>t", NULL } },
  { "win.focus-problems",     { "F8", NULL } },
  { "win.show-diagnostics",   { "<Shift>F8", NULL } },
  { "win.help",               { "F1", NULL } },
  { "win.show-help-overlay",  { "<Control>question", NULL } },
};

PstApplication *
pst_application_new (void)
{
  return g_object_new (PST_TYPE_APPLICATION,
                       "application-id", PST_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/org/postern/Editor",
                       NULL);
}

static PstWindow *
new_window (PstApplication *self)
{
  return pst_window_new (GTK_APPLICATION (self));
}

static void
pst_application_activate (GApplication *app)
{
  PstWindow *window = new_window (PST_APPLICATION (app));

  pst_window_new_document (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
pst_application_open (GApplication  *app,
                      GFile        **files,
                      int            n_files,
                      const char    *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      PstWindow *window = new_window (PST_APPLICATION (app));

      pst_window_open_file (window, files[i]);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
app_new_cb (GSimpleAction *action,
            GVariant      *param,
            gpointer       user_data)
{
  PstApplication *self = user_data;
  PstWindow *window = new_window (self);

  pst_window_new_document (window);
  gtk_window_present (GTK_WINDOW (window));
}

static void
app_quit_cb (GSimpleAction *action,
             GVariant      *param,
             gpointer       user_data)
{
  GtkApplication *app = user_data;
  g_autoptr(GList) windows = g_list_copy (gtk_application_get_windows (app));

  /* Each window asks about its own unsaved changes; one that is kept open
   * keeps the application running. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (GTK_WINDOW (l->data));
}

static void
app_about_cb (GSimpleAction *action,
              GVariant      *param,
              gpointer       user_data)
{
  GtkApplication *app = user_data;
  static const char *developers[] = { "The Postern authors", NULL };
  GtkWidget *about;

  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", gtk_application_get_active_window (app),
                        "application-name", _("Postern"),
                        "application-icon", PST_APPLICATION_ID,
                        "version", PACKAGE_VERSION,
                        "comments", _("Configure the Postern WebSocket gateway, make certificates and inspect trust stores"),
                        "license-type", GTK_LICENSE_APACHE_2_0,
                        "developers", developers,
                        "translator-credits", _("translator-credits"),
                        NULL);
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { "new", app_new_cb },
  { "quit", app_quit_cb },
  { "about", app_about_cb },
};

static void
pst_application_startup (GApplication *app)
{
  G_APPLICATION_CLASS (pst_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions,
                                   G_N_ELEMENTS (app_actions), app);
  pst_application_set_accels (GTK_APPLICATION (app));
}

void
pst_application_set_accels (GtkApplication *app)
{
  g_return_if_fail (GTK_IS_APPLICATION (app));

  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (app, accels[i].action, accels[i].accels);
}

static void
pst_application_class_init (PstApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = pst_application_activate;
  app_class->open = pst_application_open;
  app_class->startup = pst_application_startup;
}

static void
pst_application_init (PstApplication *self)
{
}
