/* pst-entry-commit.c: commit a text field when its edit is finished, not per keystroke
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-entry-commit.h"

/* The state lives with the widget it watches (a stock GtkEditable we do
 * not subclass), freed with it. */
typedef struct {
  GtkEditable        *editable;   /* not a reference: it owns us */
  PstEntryCommitFunc  func;
  gpointer            user_data;
  guint               idle_id;
  guint               dirty : 1;
  guint               setting : 1;
} Watch;

static GQuark
watch_quark (void)
{
  return g_quark_from_static_string ("pst-entry-commit");
}

static Watch *
get_watch (GtkEditable *editable)
{
  return g_object_get_qdata (G_OBJECT (editable), watch_quark ());
}

static void
watch_free (Watch *watch)
{
  g_clear_handle_id (&watch->idle_id, g_source_remove);
  g_free (watch);
}

static void
commit (Watch *watch)
{
  GtkWidget *widget = GTK_WIDGET (watch->editable);

  g_clear_handle_id (&watch->idle_id, g_source_remove);
  if (!watch->dirty)
    return;
  watch->dirty = FALSE;
  if (watch->func (watch->editable, watch->user_data))
    gtk_widget_remove_css_class (widget, "error");
  else
    gtk_widget_add_css_class (widget, "error");
}

static gboolean
idle_cb (gpointer user_data)
{
  Watch *watch = user_data;

  watch->idle_id = 0;
  commit (watch);
  return G_SOURCE_REMOVE;
}

static void
changed_cb (GtkEditable *editable,
            Watch       *watch)
{
  if (watch->setting)
    return;
  watch->dirty = TRUE;
  g_clear_handle_id (&watch->idle_id, g_source_remove);
  watch->idle_id = g_timeout_add (PST_ENTRY_COMMIT_IDLE_MS, idle_cb, watch);
}

static void
finished_cb (gpointer user_data)
{
  commit (user_data);
}

static GtkEditable *
innermost (GtkEditable *editable)
{
  GtkEditable *delegate;

  while ((delegate = gtk_editable_get_delegate (editable)) != NULL)
    editable = delegate;
  return editable;
}

void
pst_entry_commit_watch (GtkEditable        *editable,
                        PstEntryCommitFunc  func,
                        gpointer            user_data)
{
  GtkEventController *focus;
  GtkEditable *text;
  Watch *watch;

  g_return_if_fail (GTK_IS_EDITABLE (editable));
  g_return_if_fail (func != NULL);
  g_return_if_fail (get_watch (editable) == NULL);

  watch = g_new0 (Watch, 1);
  watch->editable = editable;
  watch->func = func;
  watch->user_data = user_data;
  g_object_set_qdata_full (G_OBJECT (editable), watch_quark (), watch, (GDestroyNotify) watch_free);

  g_signal_connect (editable, "changed", G_CALLBACK (changed_cb), watch);
  focus = gtk_event_controller_focus_new ();
  g_signal_connect_swapped (focus, "leave", G_CALLBACK (finished_cb), watch);
  gtk_widget_add_controller (GTK_WIDGET (editable), focus);
  /* Enter: the text widget inside an AdwEntryRow or a GtkEntry */
  text = innermost (editable);
  if (GTK_IS_TEXT (text))
    g_signal_connect_swapped (text, "activate", G_CALLBACK (finished_cb), watch);
}

static gboolean
has_focus_within (GtkWidget *widget)
{
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;

  return focus != NULL && (focus == widget || gtk_widget_is_ancestor (focus, widget));
}

static gboolean
same_but_spaces (const char *a,
                 const char *b)
{
  g_autofree char *x = g_strstrip (g_strdup (a));
  g_autofree char *y = g_strstrip (g_strdup (b));

  return g_str_equal (x, y);
}

void
pst_entry_commit_set_text (GtkEditable *editable,
                           const char  *text)
{
  Watch *watch;
  GtkEditable *inner;
  gboolean undo;

  g_return_if_fail (GTK_IS_EDITABLE (editable));

  watch = get_watch (editable);
  if (text == NULL)
    text = "";
  if (g_strcmp0 (gtk_editable_get_text (editable), text) == 0)
    return;
  if (watch != NULL && has_focus_within (GTK_WIDGET (editable)) &&
      (watch->dirty || same_but_spaces (gtk_editable_get_text (editable), text)))
    return;

  inner = innermost (editable);
  undo = gtk_editable_get_enable_undo (inner);
  if (watch != NULL)
    watch->setting = TRUE;
  /* turning undo off and on clears the history: it starts at the model's value */
  gtk_editable_set_enable_undo (inner, FALSE);
  gtk_editable_set_text (editable, text);
  gtk_editable_set_enable_undo (inner, undo);
  if (watch != NULL)
    {
      watch->setting = FALSE;
      watch->dirty = FALSE;
      g_clear_handle_id (&watch->idle_id, g_source_remove);
      gtk_widget_remove_css_class (GTK_WIDGET (editable), "error");
    }
}

gboolean
pst_entry_commit_pending (GtkEditable *editable)
{
  Watch *watch;

  g_return_val_if_fail (GTK_IS_EDITABLE (editable), FALSE);
  watch = get_watch (editable);
  return watch != NULL && watch->dirty;
}

gboolean
pst_entry_commit_flush (GtkEditable *editable)
{
  Watch *watch;

  g_return_val_if_fail (GTK_IS_EDITABLE (editable), FALSE);
  watch = get_watch (editable);
  if (watch == NULL || !watch->dirty)
    return FALSE;
  commit (watch);
  return TRUE;
}

void
pst_entry_commit_flush_all (GtkWidget *widget)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));

  if (GTK_IS_EDITABLE (widget))
    pst_entry_commit_flush (GTK_EDITABLE (widget));
  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    pst_entry_commit_flush_all (child);
}

GtkEditable *
pst_entry_commit_get_editing (GtkWidget *widget)
{
  GtkRoot *root;
  GtkWidget *focus;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), NULL);

  root = gtk_widget_get_root (widget);
  focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  for (; focus != NULL; focus = gtk_widget_get_parent (focus))
    if (GTK_IS_EDITABLE (focus) && pst_entry_commit_pending (GTK_EDITABLE (focus)))
      return GTK_EDITABLE (focus);
  return NULL;
}

gboolean
pst_entry_commit_text_undo (GtkEditable *editable,
                            gboolean     redo)
{
  g_return_val_if_fail (GTK_IS_EDITABLE (editable), FALSE);
  return gtk_widget_activate_action (GTK_WIDGET (innermost (editable)),
                                     redo ? "text.redo" : "text.undo", NULL);
}
