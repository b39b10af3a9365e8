/* pst-conn-limits.c: the gateway's connection counts, overall and per client address
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "pst-conn-limits.h"
#include "pst-log-escape.h"
#include "pst-shared-counts.h"

struct _PstConnLimits
{
  GObject     parent_instance;
  guint       max;
  guint       live;
  GHashTable *per_address;   /* GInetAddress → count (GUINT_TO_POINTER) */
  gint64      last_log_us;
  guint       refused_since_log;
  PstSharedCounts *shared;   /* the other workers' counts (not owned), or NULL */
  gboolean    accepting;
};

enum {
  RELEASED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_TYPE (PstConnLimits, pst_conn_limits, G_TYPE_OBJECT)

static guint
address_hash (gconstpointer key)
{
  GInetAddress *address = (GInetAddress *) key;
  const guint8 *bytes = g_inet_address_to_bytes (address);
  gsize n = g_inet_address_get_native_size (address);
  guint h = 5381;

  for (gsize i = 0; i < n; i++)
    h = h * 33 + bytes[i];
  return h;
}

static gboolean
address_equal (gconstpointer a, gconstpointer b)
{
  return g_inet_address_equal ((GInetAddress *) a, (GInetAddress *) b);
}

static void
pst_conn_limits_finalize (GObject *object)
{
  PstConnLimits *self = PST_CONN_LIMITS (object);

  g_clear_pointer (&self->per_address, g_hash_table_unref);
  G_OBJECT_CLASS (pst_conn_limits_parent_class)->finalize (object);
}

static void
pst_conn_limits_class_init (PstConnLimitsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_conn_limits_finalize;

  /**
   * PstConnLimits::released:
   *
   * A connection gave its slot back (it closed).
   */
  signals[RELEASED] = g_signal_new ("released", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                    0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
pst_conn_limits_init (PstConnLimits *self)
{
  self->per_address = g_hash_table_new_full (address_hash, address_equal, g_object_unref, NULL);
}

PstConnLimits *
pst_conn_limits_new (guint max)
{
  PstConnLimits *self = g_object_new (PST_TYPE_CONN_LIMITS, NULL);

  self->max = max;
  return self;
}

guint
pst_conn_limits_get_max (PstConnLimits *self)
{
  return self->max;
}

guint
pst_conn_limits_get_live (PstConnLimits *self)
{
  return self->live;
}

guint
pst_conn_limits_get_for (PstConnLimits *self, GInetAddress *address)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
}

/* A flood of refusals must not become a flood of log lines: one line a
 * second at most, counting what it stood for. */
static void
log_refusal (PstConnLimits *self, GInetAddress *address, gboolean global, guint per_address)
{
  gint64 now = g_get_monotonic_time ();
  g_autofree char *text = NULL;
  g_autofree char *safe = NULL;

  self->refused_since_log++;
  if (self->shared != NULL)
    {
      /* One line a second for the whole gateway, whichever worker refused. */
      if (!pst_shared_counts_refusal_log_due (self->shared, &self->refused_since_log))
        return;
    }
  else if (self->last_log_us != 0 && now - self->last_log_us < G_USEC_PER_SEC)
    return;
  text = g_inet_address_to_string (address);
  safe = pst_log_escape (text, -1);
  if (global)
    g_warning ("connection limit of %u reached: refused %u connection(s), the last from %s (each proxied "
               "connection needs two file descriptors; raise the limit with ulimit -n or run more workers)",
               self->max, self->refused_since_log, safe);
  else
    g_warning ("client %s holds %u connections, the limit per address (tcp.maximum.connections.per.address): "
               "refused %u connection(s) (raise the option if many clients share this address)",
               safe, per_address, self->refused_since_log);
  self->last_log_us = now;
  self->refused_since_log = 0;
}

void
pst_conn_limits_set_shared (PstConnLimits *self, PstSharedCounts *shared)
{
  self->shared = shared;
  self->accepting = TRUE;
  if (shared != NULL)
    pst_shared_counts_set_load (shared, self->live, self->accepting);
}

void
pst_conn_limits_set_accepting (PstConnLimits *self, gboolean accepting)
{
  self->accepting = accepting;
  if (self->shared != NULL)
    pst_shared_counts_set_load (self->shared, self->live, accepting);
}

gboolean
pst_conn_limits_should_yield (PstConnLimits *self)
{
  return self->shared != NULL && pst_shared_counts_should_yield (self->shared, self->live);
}

gboolean
pst_conn_limits_acquire (PstConnLimits *self, GInetAddress *address, guint per_address)
{
  guint mine = pst_conn_limits_get_for (self, address);
  guint all = mine;

  if (self->live >= self->max)
    {
      log_refusal (self, address, TRUE, per_address);
      return FALSE;
    }
  if (per_address > 0 && self->shared != NULL && mine < per_address)
    all += pst_shared_counts_get_others (self->shared, address);
  if (per_address > 0 && all >= per_address)
    {
      log_refusal (self, address, FALSE, per_address);
      return FALSE;
    }
  self->live++;
  g_hash_table_replace (self->per_address, g_object_ref (address), GUINT_TO_POINTER (mine + 1));
  if (self->shared != NULL)
    {
      pst_shared_counts_publish (self->shared, address, mine + 1);
      pst_shared_counts_set_load (self->shared, self->live, self->accepting);
    }
  return TRUE;
}

void
pst_conn_limits_release (PstConnLimits *self, GInetAddress *address)
{
  guint mine = pst_conn_limits_get_for (self, address);

  g_return_if_fail (self->live > 0 && mine > 0);
  self->live--;
  if (self->shared != NULL)
    {
      pst_shared_counts_publish (self->shared, address, mine - 1);
      pst_shared_counts_set_load (self->shared, self->live, self->accepting);
    }
  if (mine == 1)
    g_hash_table_remove (self->per_address, address);
  else
    g_hash_table_replace (self->per_address, g_object_ref (address), GUINT_TO_POINTER (mine - 1));
  g_signal_emit (self, signals[RELEASED], 0);
}
