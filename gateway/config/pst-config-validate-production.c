/* pst-config-validate-production.c: what a gateway exposed to a network needs (TLS, private keys kept private)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <sys/stat.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "pst-config-validate-private.h"
#include "pst-listen-plan.h"

/* The first address of a listener that other machines can reach (not
 * loopback; a wildcard counts), or NULL. */
static GInetAddress *
reachable_address (const PstListenGroup *group)
{
  for (GList *l = group->addresses; l != NULL; l = l->next)
    if (G_IS_INET_SOCKET_ADDRESS (l->data))
      {
        GInetAddress *inet = g_inet_socket_address_get_address (l->data);

        if (!g_inet_address_get_is_loopback (inet))
          return inet;
      }
  return NULL;
}

/* ws:// and http:// carry everything in the clear, and proxies or
 * middleboxes that read plain HTTP may drop or mangle the upgrade: on a
 * network, TLS is the safe default (the TLS documentation's advice). */
static void
check_plain_accepts (Check *check, PstListenPlan *plan)
{
  for (guint g = 0; g < pst_listen_plan_get_n_groups (plan); g++)
    {
      const PstListenGroup *group = pst_listen_plan_get_group (plan, g);
      GInetAddress *inet = reachable_address (group);
      g_autofree char *where = NULL;

      if (inet == NULL)
        continue;
      where = g_inet_address_to_string (inet);
      for (guint r = 0; r < group->routes->len; r++)
        {
          PstListenRoute *route = group->routes->pdata[r];
          const char *scheme = route->url->scheme;

          if (!g_str_equal (scheme, "ws") && !g_str_equal (scheme, "http"))
            continue;
          /* A status service's /health and /metrics are for the load
           * balancer and the scraper, on the private side, plain by
           * custom (and no WebSocket goes through it). */
          if (g_strcmp0 (pst_service_get_service_type (route->service), "status") == 0)
            continue;
          WARNING (route->line, "accept", pst_service_get_name (route->service), "accept",
                   _("%s:// accept on %s, an address other machines can reach, is not encrypted: use %s:// "
                     "(TLS) unless every proxy and firewall between the clients and the gateway is known to "
                     "pass WebSocket traffic, or listen on 127.0.0.1 behind a TLS offloader"),
                   scheme, where, g_str_equal (scheme, "ws") ? "wss" : "https");
        }
    }
}

/* The keystore holds private keys (its password file has its own
 * warning, in pst-config-validate-stores.c). */
static void
check_keystore_mode (Check *check)
{
  const PstStoreRef *ref = &check->config->keystore;
  const PstStoreLines *lines = &check->config->keystore_lines;
  GStatBuf st;

  if (ref->line == 0 || ref->file == NULL || g_stat (ref->file, &st) != 0)
    return;   /* missing or unreadable stores have their own errors */
  if ((st.st_mode & (S_IRGRP | S_IROTH)) == 0)
    return;
  WARNING (lines->file_line ? lines->file_line : ref->line, "file", NULL, "keystore",
           _("keystore %s can be read by other users (mode %04o), and it holds private keys; restrict it "
             "with “chmod 600 %s”"), ref->file, (guint) (st.st_mode & 07777), ref->file);
}

void
pst_check_production (Check *check, PstListenPlan *plan)
{
  check_plain_accepts (check, plan);
  check_keystore_mode (check);
}
