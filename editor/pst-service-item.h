/* pst-service-item.h: a stable sidebar item for the service at one position
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

#include "pst-service.h"

G_BEGIN_DECLS

#define PST_TYPE_SERVICE_ITEM (pst_service_item_get_type ())
G_DECLARE_FINAL_TYPE (PstServiceItem, pst_service_item, PST, SERVICE_ITEM, GObject)

PstServiceItem *pst_service_item_new          (guint           index);
guint           pst_service_item_get_index    (PstServiceItem *self);
PstService     *pst_service_item_get_service  (PstServiceItem *self);
void            pst_service_item_set_service  (PstServiceItem *self,
                                               PstService     *service);
const char     *pst_service_item_get_name     (PstServiceItem *self);
const char     *pst_service_item_get_service_type (PstServiceItem *self);
void            pst_service_item_set_counts   (PstServiceItem *self,
                                               guint           n_errors,
                                               guint           n_warnings);

G_END_DECLS
