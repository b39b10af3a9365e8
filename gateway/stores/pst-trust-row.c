/* pst-trust-row.c: one row of the trust doctor's report (who trusts what, and the fix)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-trust-row.h"

struct _PstTrustRow
{
  GObject          parent_instance;
  PstTrustSection  section;
  char            *key;
  char            *subject;
  char            *check;
  PstTrustStatus   status;
  gboolean         needed;
  char            *detail;
  char            *fix;
};

G_DEFINE_FINAL_TYPE (PstTrustRow, pst_trust_row, G_TYPE_OBJECT)

/* Read-only properties, so that a GtkColumnView can bind them. */
enum {
  PROP_0,
  PROP_SECTION,
  PROP_KEY,
  PROP_SUBJECT,
  PROP_CHECK,
  PROP_STATUS,
  PROP_NEEDED,
  PROP_DETAIL,
  PROP_FIX,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
pst_trust_section_to_string (PstTrustSection section)
{
  switch (section)
    {
    case PST_TRUST_SECTION_CLIENTS:  return "clients";
    case PST_TRUST_SECTION_KEYSTORE: return "keystore";
    case PST_TRUST_SECTION_BACKENDS: return "backends";
    default:                         return "unknown";
    }
}

const char *
pst_trust_status_to_string (PstTrustStatus status)
{
  switch (status)
    {
    case PST_TRUST_STATUS_OK:   return "ok";
    case PST_TRUST_STATUS_FAIL: return "fail";
    case PST_TRUST_STATUS_INFO: return "info";
    default:                    return "unknown";
    }
}

static void
pst_trust_row_finalize (GObject *object)
{
  PstTrustRow *self = PST_TRUST_ROW (object);

  g_free (self->key);
  g_free (self->subject);
  g_free (self->check);
  g_free (self->detail);
  g_free (self->fix);
  G_OBJECT_CLASS (pst_trust_row_parent_class)->finalize (object);
}

static void
pst_trust_row_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  PstTrustRow *self = PST_TRUST_ROW (object);

  switch (prop_id)
    {
    case PROP_SECTION: g_value_set_string (value, pst_trust_section_to_string (self->section)); break;
    case PROP_KEY:     g_value_set_string (value, self->key); break;
    case PROP_SUBJECT: g_value_set_string (value, self->subject); break;
    case PROP_CHECK:   g_value_set_string (value, self->check); break;
    case PROP_STATUS:  g_value_set_string (value, pst_trust_status_to_string (self->status)); break;
    case PROP_NEEDED:  g_value_set_boolean (value, self->needed); break;
    case PROP_DETAIL:  g_value_set_string (value, self->detail); break;
    case PROP_FIX:     g_value_set_string (value, self->fix); break;
    default:           G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pst_trust_row_class_init (PstTrustRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  object_class->finalize = pst_trust_row_finalize;
  object_class->get_property = pst_trust_row_get_property;

  properties[PROP_SECTION] = g_param_spec_string ("section", NULL, NULL, NULL, flags);
  properties[PROP_KEY] = g_param_spec_string ("key", NULL, NULL, NULL, flags);
  properties[PROP_SUBJECT] = g_param_spec_string ("subject", NULL, NULL, NULL, flags);
  properties[PROP_CHECK] = g_param_spec_string ("check", NULL, NULL, NULL, flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  properties[PROP_NEEDED] = g_param_spec_boolean ("needed", NULL, NULL, FALSE, flags);
  properties[PROP_DETAIL] = g_param_spec_string ("detail", NULL, NULL, NULL, flags);
  properties[PROP_FIX] = g_param_spec_string ("fix", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pst_trust_row_init (PstTrustRow *self)
{
}

/**
 * pst_trust_row_new:
 * @section: which part of the report
 * @key: a stable identifier, not translated
 * @subject: what is checked (a store, a host, a back-end)
 * @check: the question asked of it
 * @status: the answer
 * @needed: whether the row counts for the verdict
 * @detail: (nullable): why
 * @fix: (nullable): a command line that fixes a failure
 *
 * Returns: (transfer full): a new row
 */
PstTrustRow *
pst_trust_row_new (PstTrustSection  section,
                   const char      *key,
                   const char      *subject,
                   const char      *check,
                   PstTrustStatus   status,
                   gboolean         needed,
                   const char      *detail,
                   const char      *fix)
{
  PstTrustRow *self;

  g_return_val_if_fail (key != NULL && subject != NULL && check != NULL, NULL);

  self = g_object_new (PST_TYPE_TRUST_ROW, NULL);
  self->section = section;
  self->key = g_strdup (key);
  self->subject = g_strdup (subject);
  self->check = g_strdup (check);
  self->status = status;
  self->needed = needed;
  self->detail = g_strdup (detail != NULL ? detail : "");
  self->fix = status == PST_TRUST_STATUS_OK ? NULL : g_strdup (fix);
  return self;
}

PstTrustSection
pst_trust_row_get_section (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), 0);
  return self->section;
}

const char *
pst_trust_row_get_key (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), NULL);
  return self->key;
}

const char *
pst_trust_row_get_subject (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), NULL);
  return self->subject;
}

const char *
pst_trust_row_get_check (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), NULL);
  return self->check;
}

PstTrustStatus
pst_trust_row_get_status (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), 0);
  return self->status;
}

gboolean
pst_trust_row_get_needed (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), FALSE);
  return self->needed;
}

const char *
pst_trust_row_get_detail (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), NULL);
  return self->detail;
}

const char *
pst_trust_row_get_fix (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), NULL);
  return self->fix;
}


gboolean
pst_trust_row_is_blocking (PstTrustRow *self)
{
  g_return_val_if_fail (PST_IS_TRUST_ROW (self), FALSE);
  return self->needed && self->status == PST_TRUST_STATUS_FAIL;
}
