/* pst-config-validate-private.h: what the pst-config-validate-*.c files share
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-config-private.h"

G_BEGIN_DECLS

typedef struct {
  PstConfig  *config;
  GPtrArray  *diagnostics;
  GHashTable *endpoints;   /* "scheme://host:port/path" → Claim */
  GHashTable *tls_values;  /* "ssl.protocols" / "ssl.ciphers" → Claim */
  gboolean    needs_keystore;
  gboolean    needs_truststore;
  GPtrArray  *secure_hosts; /* Claim: host, service, line of TLS accepts */
} Check;

typedef struct {
  char     *service;
  char     *value;   /* URL, or the option value */
  guint     line;
} Claim;

#define ERROR(line, element, service, field, ...) \
  pst_config_add_diagnostic (check->config, check->diagnostics, PST_SEVERITY_ERROR, \
                             line, element, service, field, __VA_ARGS__)
#define WARNING(line, element, service, field, ...) \
  pst_config_add_diagnostic (check->config, check->diagnostics, PST_SEVERITY_WARNING, \
                             line, element, service, field, __VA_ARGS__)

/* pst-config-validate.c */
Claim   *pst_check_claim_new      (const char *service,
                                   const char *value,
                                   guint       line);

/* pst-config-validate-options.c */
gboolean pst_check_bind_is_valid  (const char *value);
void     pst_check_option_values  (Check      *check,
                                   PstOptions *options,
                                   const char *service);
void     pst_check_tls_setting    (Check      *check,
                                   PstOptions *options,
                                   const char *name,
                                   const char *service);

/* pst-config-validate-services.c */
void     pst_check_service        (Check      *check,
                                   PstService *service);

/* pst-config-validate-production.c: plain accepts reachable from the
 * network, a keystore or its password file readable by other users */
struct _PstListenPlan;
void     pst_check_production     (Check                *check,
                                   struct _PstListenPlan *plan);

/* pst-config-validate-stores.c */
void     pst_check_stores         (Check      *check);

G_END_DECLS
