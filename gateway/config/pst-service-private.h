/* pst-service-private.h: how the config parser fills a PstService
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-service.h"

G_BEGIN_DECLS

PstService *pst_service_new              (guint        index,
                                          guint        line,
                                          const char  *config_directory,
                                          PstOptions  *defaults);
void        pst_service_set_name         (PstService *self, const char *name, guint line);
void        pst_service_set_description  (PstService *self, const char *description);
void        pst_service_set_service_type (PstService *self, const char *type, guint line);
void        pst_service_add_accept       (PstService *self, const char *value,
                                          const char *raw, guint line);
void        pst_service_add_connect      (PstService *self, const char *value,
                                          const char *raw, guint line);
void        pst_service_set_property     (PstService *self, const char *name,
                                          const char *value, guint line);
/* takes ownership of @origins; NULL = no cross-site-constraint */
void        pst_service_take_allow_origins (PstService *self, GStrv origins);

G_END_DECLS
