/* pst-entry-commit.h: commit a text field when its edit is finished, not per keystroke
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Quiet time after the last keystroke before the edit is committed anyway
 * (so that diagnostics follow a pause in typing). */
#define PST_ENTRY_COMMIT_IDLE_MS 1500

/* Returns TRUE when the value was accepted; FALSE marks the field with
 * the "error" style class until a later commit is accepted. */
typedef gboolean (*PstEntryCommitFunc) (GtkEditable *editable,
                                        gpointer     user_data);

/* Calls func when an edit of editable is finished: Enter, the focus
 * leaving it, or PST_ENTRY_COMMIT_IDLE_MS without typing.  Intermediate
 * states (an empty field while typing over a selection, a trailing space
 * before the next word) are never committed.  user_data must outlive
 * editable (its page). */
void     pst_entry_commit_watch    (GtkEditable        *editable,
                                    PstEntryCommitFunc  func,
                                    gpointer            user_data);
/* Shows the model's value: not while the user is typing in the field
 * (their text wins, and is committed when they finish), and not to undo
 * what only differs by surrounding white space while the field has the
 * focus.  Not recorded in the field's own undo history, which then
 * starts from this value (Ctrl+Z never blanks a field it filled). */
void     pst_entry_commit_set_text (GtkEditable        *editable,
                                    const char         *text);
/* Commits a pending edit now (before saving, running, undoing…);
 * returns TRUE if there was one. */
gboolean pst_entry_commit_flush    (GtkEditable        *editable);
/* An edit is pending in editable (typed, not committed yet). */
gboolean pst_entry_commit_pending  (GtkEditable        *editable);
/* Commits the pending edits of every watched field in window. */
void     pst_entry_commit_flush_all (GtkWidget         *widget);

/* The watched field holding the focus within widget's window with an
 * edit in progress, or NULL: Ctrl+Z belongs to it while it is edited. */
GtkEditable *pst_entry_commit_get_editing (GtkWidget  *widget);
/* The field's own undo (or redo) of what was typed since it was filled. */
gboolean     pst_entry_commit_text_undo   (GtkEditable *editable,
                                           gboolean     redo);

G_END_DECLS
