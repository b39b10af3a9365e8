/* pst-entry-cell.c: one column of a store entry in the store inspector
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n.h>

#include "pst-entry-cell.h"

struct _PstEntryCell
{
  GtkWidget      parent_instance;

  PstStoreEntry *entry;
  char          *column;
  GtkLabel      *label;
};

G_DEFINE_FINAL_TYPE (PstEntryCell, pst_entry_cell, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ENTRY,
  PROP_COLUMN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gint64
days_left (PstStoreEntry *entry)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  GDateTime *not_after = pst_store_entry_get_not_after (entry);

  if (not_after == NULL)
    return G_MAXINT32;
  return g_date_time_difference (not_after, now) / G_TIME_SPAN_DAY;
}

char *
pst_entry_cell_format (PstStoreEntry *entry,
                       const char    *column)
{
  g_return_val_if_fail (PST_IS_STORE_ENTRY (entry), NULL);

  if (g_strcmp0 (column, "alias") == 0)
    return g_strdup (pst_store_entry_get_alias (entry));
  if (g_strcmp0 (column, "kind") == 0)
    return g_strdup (pst_store_entry_get_kind (entry) == PST_ENTRY_KEY ? _("Key pair") : _("Trusted"));
  if (g_strcmp0 (column, "subject") == 0)
    return pst_store_entry_dup_subject (entry);
  if (g_strcmp0 (column, "issuer") == 0)
    return pst_store_entry_dup_issuer (entry);
  if (g_strcmp0 (column, "sans") == 0)
    {
      g_auto(GStrv) sans = pst_store_entry_dup_sans (entry);
      return sans != NULL ? g_strjoinv (", ", sans) : g_strdup ("");
    }
  if (g_strcmp0 (column, "valid-until") == 0)
    {
      GDateTime *not_after = pst_store_entry_get_not_after (entry);
      g_autofree char *date = NULL;
      gint64 days;

      if (not_after == NULL)
        return g_strdup ("");
      date = g_date_time_format (not_after, "%Y-%m-%d");
      days = days_left (entry);
      if (days < 0)
        /* Translators: a certificate's end date, then that it is over */
        return g_strdup_printf (_("%s (expired)"), date);
      if (days <= PST_ENTRY_EXPIRES_SOON_DAYS)
        return g_strdup_printf (ngettext ("%s (expires in %d day)", "%s (expires in %d days)", (gulong)days),
                                date, (int)days);
      return g_steal_pointer (&date);
    }
  if (g_strcmp0 (column, "key-type") == 0)
    return pst_store_entry_dup_key_type (entry);
  if (g_strcmp0 (column, "fingerprint") == 0)
    return pst_store_entry_dup_fingerprint (entry);
  g_return_val_if_reached (NULL);
}

static void
update (PstEntryCell *self)
{
  g_autofree char *text = NULL;

  gtk_widget_remove_css_class (GTK_WIDGET (self->label), "error");
  gtk_widget_remove_css_class (GTK_WIDGET (self->label), "warning");
  if (self->entry == NULL || self->column == NULL)
    {
      gtk_label_set_label (self->label, "");
      return;
    }
  text = pst_entry_cell_format (self->entry, self->column);
  gtk_label_set_label (self->label, text != NULL ? text : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->label), text);

  if (g_strcmp0 (self->column, "valid-until") == 0)
    {
      gint64 days = days_left (self->entry);
      if (days < 0)
        gtk_widget_add_css_class (GTK_WIDGET (self->label), "error");
      else if (days <= PST_ENTRY_EXPIRES_SOON_DAYS)
        gtk_widget_add_css_class (GTK_WIDGET (self->label), "warning");
    }
  if (g_strcmp0 (self->column, "fingerprint") == 0)
    gtk_widget_add_css_class (GTK_WIDGET (self->label), "monospace");
}

static void
pst_entry_cell_dispose (GObject *object)
{
  PstEntryCell *self = PST_ENTRY_CELL (object);

  g_clear_object (&self->entry);
  if (self->label != NULL)
    gtk_widget_unparent (GTK_WIDGET (self->label));
  self->label = NULL;
  G_OBJECT_CLASS (pst_entry_cell_parent_class)->dispose (object);
}

static void
pst_entry_cell_finalize (GObject *object)
{
  g_free (PST_ENTRY_CELL (object)->column);
  G_OBJECT_CLASS (pst_entry_cell_parent_class)->finalize (object);
}

static void
pst_entry_cell_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  PstEntryCell *self = PST_ENTRY_CELL (object);

  switch (prop_id)
    {
    case PROP_ENTRY:
      g_value_set_object (value, self->entry);
      break;
    case PROP_COLUMN:
      g_value_set_string (value, self->column);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_entry_cell_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  PstEntryCell *self = PST_ENTRY_CELL (object);

  switch (prop_id)
    {
    case PROP_ENTRY:
      if (g_set_object (&self->entry, g_value_get_object (value)))
        {
          update (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_COLUMN:
      if (g_strcmp0 (self->column, g_value_get_string (value)) != 0)
        {
          g_free (self->column);
          self->column = g_value_dup_string (value);
          update (self);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_entry_cell_class_init (PstEntryCellClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pst_entry_cell_dispose;
  object_class->finalize = pst_entry_cell_finalize;
  object_class->get_property = pst_entry_cell_get_property;
  object_class->set_property = pst_entry_cell_set_property;

  properties[PROP_ENTRY] =
    g_param_spec_object ("entry", NULL, NULL, PST_TYPE_STORE_ENTRY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_COLUMN] =
    g_param_spec_string ("column", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
pst_entry_cell_init (PstEntryCell *self)
{
  self->label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->label, 0);
  gtk_label_set_ellipsize (self->label, PANGO_ELLIPSIZE_END);
  gtk_widget_set_parent (GTK_WIDGET (self->label), GTK_WIDGET (self));
}
