/* pst-diagnostic.c: one validation finding, FILE:LINE:COL: error|warning: message
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-diagnostic.h"

struct _PstDiagnostic
{
  GObject      parent_instance;
  PstSeverity  severity;
  char        *file;
  guint        line;
  guint        column;
  char        *message;
  char        *service;
  char        *field;
};

G_DEFINE_FINAL_TYPE (PstDiagnostic, pst_diagnostic, G_TYPE_OBJECT)

static void
pst_diagnostic_finalize (GObject *object)
{
  PstDiagnostic *self = PST_DIAGNOSTIC (object);

  g_free (self->file);
  g_free (self->message);
  g_free (self->service);
  g_free (self->field);

  G_OBJECT_CLASS (pst_diagnostic_parent_class)->finalize (object);
}

static void
pst_diagnostic_class_init (PstDiagnosticClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_diagnostic_finalize;
}

static void
pst_diagnostic_init (PstDiagnostic *self)
{
}

/**
 * pst_diagnostic_new:
 * @severity: error or warning
 * @file: the config file the finding is about
 * @line: 1-based line, 0 when unknown
 * @column: 1-based column, 0 when unknown
 * @message: what is wrong and how to fix it (translated)
 *
 * Returns: (transfer full): a new diagnostic
 */
PstDiagnostic *
pst_diagnostic_new (PstSeverity  severity,
                    const char  *file,
                    guint        line,
                    guint        column,
                    const char  *message)
{
  PstDiagnostic *self;

  g_return_val_if_fail (message != NULL, NULL);

  self = g_object_new (PST_TYPE_DIAGNOSTIC, NULL);
  self->severity = severity;
  self->file = g_strdup (file);
  self->line = line;
  self->column = column;
  self->message = g_strdup (message);
  return self;
}

PstSeverity
pst_diagnostic_get_severity (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), PST_SEVERITY_ERROR);
  return self->severity;
}

const char *
pst_diagnostic_get_file (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), NULL);
  return self->file;
}

guint
pst_diagnostic_get_line (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), 0);
  return self->line;
}

guint
pst_diagnostic_get_column (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), 0);
  return self->column;
}

const char *
pst_diagnostic_get_message (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), NULL);
  return self->message;
}

const char *
pst_diagnostic_get_service (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), NULL);
  return self->service;
}

const char *
pst_diagnostic_get_field (PstDiagnostic *self)
{
  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), NULL);
  return self->field;
}

void
pst_diagnostic_set_context (PstDiagnostic *self,
                            const char    *service,
                            const char    *field)
{
  g_return_if_fail (PST_IS_DIAGNOSTIC (self));

  if (service != self->service)
    {
      g_free (self->service);
      self->service = g_strdup (service);
    }
  if (field != self->field)
    {
      g_free (self->field);
      self->field = g_strdup (field);
    }
}

/**
 * pst_diagnostic_to_string:
 * @self: a diagnostic
 *
 * Formats the finding the way compilers do, so that editors and CI
 * logs can jump to it.
 *
 * Returns: (transfer full): "FILE:LINE:COL: error: message"
 */
char *
pst_diagnostic_to_string (PstDiagnostic *self)
{
  const char *kind;

  g_return_val_if_fail (PST_IS_DIAGNOSTIC (self), NULL);

  /* Not translated: tools parse these two words. */
  kind = self->severity == PST_SEVERITY_ERROR ? "error" : "warning";
  return g_strdup_printf ("%s:%u:%u: %s: %s",
                          self->file != NULL ? self->file : "<config>",
                          self->line, self->column != 0 ? self->column : 1,
                          kind, self->message);
}
