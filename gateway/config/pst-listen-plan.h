/* pst-listen-plan.h: which accepts share a listener, what it binds, and its TLS settings
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include "pst-config.h"
#include "pst-url.h"

G_BEGIN_DECLS

typedef enum {
  PST_LISTEN_PLAN_DEFAULT = 0,
  /* Look accept host names up (blocking DNS), as `postern run` binds
   * them.  Without it, a name other than "localhost" or an address is
   * compared by its text only (for the editor, which must not block). */
  PST_LISTEN_PLAN_RESOLVE = 1 << 0,
} PstListenPlanFlags;

/* What the TLS handshake of one listener uses: it happens before the
 * request names a path, so every route sharing the listener must agree. */
typedef struct {
  char *verify_client;   /* "none", "optional" or "required" */
  char *protocols;       /* ssl.protocols without blanks; NULL: the default */
  char *ciphers;         /* ssl.ciphers without blanks; NULL: the default */
  char *keystore;        /* the keystore's path; NULL when there is none */
} PstListenTls;

/* One accept URL of one service. */
typedef struct {
  PstService *service;
  PstUrl     *url;
  guint       line;      /* of the <accept> */
  gboolean    tls;       /* secure scheme with ssl.encryption enabled */
} PstListenRoute;

/* The accepts that share one set of bound addresses. */
typedef struct {
  char         *key;         /* "tls|127.0.0.1:9000,[::1]:9000": a listener survives a reload that keeps it */
  gboolean      tls;
  GList        *addresses;   /* GSocketAddress to bind (names not looked up are left out) */
  GPtrArray    *routes;      /* PstListenRoute, in config order */
  PstListenTls  settings;    /* agreed by every route (meaningful when tls) */
} PstListenGroup;

typedef struct _PstListenPlan PstListenPlan;

/* Plans every accept of @config.  Conflicts (two routes on one address
 * that disagree on TLS, client certificates, protocols, ciphers or the
 * keystore; address sets that overlap without being equal; a host that
 * does not resolve) are FILE:LINE:COL errors in the plan's diagnostics,
 * and the route concerned joins no group.  Accepts that are invalid for
 * other reasons (bad URL, undefined property, bad *.bind) are left out:
 * validation reports them. */
PstListenPlan        *pst_listen_plan_new             (PstConfig          *config,
                                                       PstListenPlanFlags  flags);
void                  pst_listen_plan_free            (PstListenPlan      *self);
/* (element-type PstDiagnostic): the conflicts, in config order */
GPtrArray            *pst_listen_plan_get_diagnostics (PstListenPlan      *self);
guint                 pst_listen_plan_get_n_groups    (PstListenPlan      *self);
const PstListenGroup *pst_listen_plan_get_group       (PstListenPlan      *self,
                                                       guint               i);
/* (element-type PstListenRoute): every planned route, in config order */
GPtrArray            *pst_listen_plan_get_routes      (PstListenPlan      *self);
/* FALSE with every conflict in the message (one FILE:LINE:COL line
 * each) when the plan cannot be bound as it is. */
gboolean              pst_listen_plan_check           (PstListenPlan      *self,
                                                       GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PstListenPlan, pst_listen_plan_free)

G_END_DECLS
