/* pst-config-validate.c: runs every check "postern check" and the editor report
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-config-validate-private.h"
#include "pst-listen-plan.h"

static void
claim_free (gpointer data)
{
  Claim *claim = data;

  g_free (claim->service);
  g_free (claim->value);
  g_free (claim);
}

Claim *
pst_check_claim_new (const char *service, const char *value, guint line)
{
  Claim *claim = g_new0 (Claim, 1);

  claim->service = g_strdup (service);
  claim->value = g_strdup (value);
  claim->line = line;
  return claim;
}

/* ------------------------------------------------------------------ */

static int
compare_diagnostics (gconstpointer a,
                     gconstpointer b)
{
  PstDiagnostic *da = *(PstDiagnostic **)a;
  PstDiagnostic *db = *(PstDiagnostic **)b;
  guint la = pst_diagnostic_get_line (da), lb = pst_diagnostic_get_line (db);

  if (la != lb)
    return la < lb ? -1 : 1;
  return (int)pst_diagnostic_get_column (da) - (int)pst_diagnostic_get_column (db);
}

/**
 * pst_config_validate:
 * @self: a config
 *
 * pst_config_validate_full() without looking host names up: what the
 * editor runs on its main thread.
 *
 * Returns: (transfer container) (element-type PstDiagnostic): findings
 *   sorted by line; empty when all is well
 */
GPtrArray *
pst_config_validate (PstConfig *self)
{
  return pst_config_validate_full (self, PST_VALIDATE_DEFAULT);
}

/**
 * pst_config_validate_full:
 * @self: a config
 * @flags: %PST_VALIDATE_RESOLVE to look accept host names up (blocking)
 *   as `postern run` does, so that names that resolve to one address are
 *   seen to share its listener
 *
 * Runs every check: the parse-time findings (unknown elements, undefined
 * properties), services, URLs, options, the listen plan (which accepts
 * share a listener, and whether they agree on its TLS settings), and the
 * key and trust stores (which are opened, so this reads files but binds
 * nothing).
 *
 * Returns: (transfer container) (element-type PstDiagnostic): findings
 *   sorted by line; empty when all is well
 */
GPtrArray *
pst_config_validate_full (PstConfig        *self,
                          PstValidateFlags  flags)
{
  Check check_data = { 0 }, *check = &check_data;
  GPtrArray *result;

  g_return_val_if_fail (PST_IS_CONFIG (self), NULL);

  result = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->parse_diagnostics->len; i++)
    g_ptr_array_add (result, g_object_ref (g_ptr_array_index (self->parse_diagnostics, i)));

  check->config = self;
  check->diagnostics = result;
  check->endpoints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, claim_free);
  check->tls_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, claim_free);
  check->secure_hosts = g_ptr_array_new_with_free_func (claim_free);

  if (self->services->len == 0)
    WARNING (xmlGetLineNo (xmlDocGetRootElement (self->doc)), "gateway-config", NULL, NULL,
             _("there is no <service>; the gateway would listen on nothing, so add one"));

  pst_check_option_values (check, self->defaults, NULL);
  pst_check_tls_setting (check, self->defaults, "ssl.protocols", NULL);
  pst_check_tls_setting (check, self->defaults, "ssl.ciphers", NULL);

  for (guint i = 0; i < self->services->len; i++)
    {
      PstService *service = g_ptr_array_index (self->services, i);
      const char *name = pst_service_get_name (service);

      for (guint j = 0; j < i && name != NULL && *name != '\0'; j++)
        if (g_strcmp0 (pst_service_get_name (g_ptr_array_index (self->services, j)), name) == 0)
          {
            WARNING (pst_service_get_name_line (service), "name", name, "name",
                     _("another service is also called “%s”; give each service its own name"), name);
            break;
          }
      pst_check_service (check, service);
    }

  {
    g_autoptr(PstListenPlan) plan =
      pst_listen_plan_new (self, (flags & PST_VALIDATE_RESOLVE) ? PST_LISTEN_PLAN_RESOLVE : PST_LISTEN_PLAN_DEFAULT);
    GPtrArray *conflicts = pst_listen_plan_get_diagnostics (plan);

    for (guint i = 0; i < conflicts->len; i++)
      g_ptr_array_add (result, g_object_ref (conflicts->pdata[i]));
    pst_check_production (check, plan);
  }

  pst_check_stores (check);

  g_hash_table_unref (check->endpoints);
  g_hash_table_unref (check->tls_values);
  g_ptr_array_unref (check->secure_hosts);

  g_ptr_array_sort (result, compare_diagnostics);
  return result;
}
