/* pst-runtime.c: an immutable snapshot of a loaded config and its stores
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <gnutls/gnutls.h>
#include <glib/gi18n-lib.h>

#include "pst-password.h"
#include "pst-runtime.h"
#include "pst-tls-server.h"
#include "pst-trust-database.h"

struct _PstRuntime
{
  GObject       parent_instance;
  PstConfig    *config;
  PstKeystore  *keystore;
  GTlsDatabase *trust;
  GTlsDatabase *system_trust;   /* without a truststore, made on first use */
  gboolean      system_tried;
  char         *truststore_path;
  GHashTable   *certificates;   /* PstStoreEntry* → GTlsCertificate* */
  PstMetrics   *metrics;        /* the gateway's, shared by its snapshots */
  GBytes       *ticket_key;     /* accept-side session tickets, made on first use */
};

G_DEFINE_TYPE (PstRuntime, pst_runtime, G_TYPE_OBJECT)
G_DEFINE_QUARK (pst-runtime-error-quark, pst_runtime_error)

static void
pst_runtime_finalize (GObject *object)
{
  PstRuntime *self = PST_RUNTIME (object);

  g_clear_pointer (&self->certificates, g_hash_table_unref);
  g_clear_object (&self->keystore);
  g_clear_object (&self->trust);
  g_clear_object (&self->system_trust);
  g_clear_object (&self->config);
  g_clear_object (&self->metrics);
  g_clear_pointer (&self->ticket_key, g_bytes_unref);
  g_free (self->truststore_path);
  G_OBJECT_CLASS (pst_runtime_parent_class)->finalize (object);
}

static void
pst_runtime_class_init (PstRuntimeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pst_runtime_finalize;
}

static void
pst_runtime_init (PstRuntime *self)
{
  self->certificates = g_hash_table_new_full (NULL, NULL, g_object_unref, g_object_unref);
}

static PstKeystore *
open_store (const PstStoreRef *ref, GError **error)
{
  /* the keyring blocks on D-Bus: fine here, once per load */
  return pst_keystore_open_full (ref->file, ref->password_file, ref->password_keyring, error);
}

PstRuntime *
pst_runtime_new (PstConfig *config, GPtrArray **diagnostics, GError **error)
{
  g_autoptr(PstRuntime) self = NULL;
  g_autoptr(GPtrArray) diags = NULL;
  const PstStoreRef *ks, *ts;

  g_return_val_if_fail (PST_IS_CONFIG (config), NULL);

  diags = pst_config_validate (config);
  if (diagnostics != NULL)
    *diagnostics = g_ptr_array_ref (diags);
  if (pst_diagnostics_have_errors (diags))
    {
      g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_INVALID,
                   _("%s has errors; fix them and start again"), pst_config_get_path (config));
      return NULL;
    }

  self = g_object_new (PST_TYPE_RUNTIME, NULL);
  self->config = g_object_ref (config);

  ks = pst_config_get_keystore (config);
  if (ks->file != NULL)
    {
      self->keystore = open_store (ks, error);
      if (self->keystore == NULL)
        return NULL;
      for (guint i = 0; i < pst_keystore_get_n_entries (self->keystore); i++)
        {
          PstStoreEntry *entry = pst_keystore_get_entry (self->keystore, i);
          g_autoptr(GTlsCertificate) cert = NULL;
          g_autoptr(GError) local_error = NULL;

          if (pst_store_entry_get_kind (entry) != PST_ENTRY_KEY)
            continue;
          cert = pst_store_entry_to_tls_certificate (entry, &local_error);
          if (cert == NULL)
            {
              g_set_error (error, PST_RUNTIME_ERROR, PST_RUNTIME_ERROR_STORE,
                           _("%s: entry “%s” cannot be used for TLS: %s"),
                           ks->file, pst_store_entry_get_alias (entry), local_error->message);
              return NULL;
            }
          g_hash_table_insert (self->certificates, g_object_ref (entry), g_steal_pointer (&cert));
        }
    }

  ts = pst_config_get_truststore (config);
  if (ts->file != NULL)
    {
      g_autoptr(PstKeystore) truststore = open_store (ts, error);

      if (truststore == NULL)
        return NULL;
      self->trust = pst_keystore_create_tls_database (truststore, error);
      if (self->trust == NULL)
        return NULL;
      self->truststore_path = g_strdup (ts->file);
    }

  return g_steal_pointer (&self);
}

PstConfig *
pst_runtime_get_config (PstRuntime *self)
{
  return self->config;
}

PstKeystore *
pst_runtime_get_keystore (PstRuntime *self)
{
  return self->keystore;
}

GTlsDatabase *
pst_runtime_get_trust (PstRuntime *self)
{
  return self->trust;
}

GTlsDatabase *
pst_runtime_get_peer_trust (PstRuntime *self)
{
  if (self->trust != NULL)
    return self->trust;
  if (!self->system_tried)
    {
      g_autoptr(GError) error = NULL;

      self->system_tried = TRUE;
      self->system_trust = pst_trust_database_new_system (&error);
      if (self->system_trust == NULL)
        g_warning ("%s", error->message);
    }
  return self->system_trust;
}

const char *
pst_runtime_get_truststore_path (PstRuntime *self)
{
  return self->truststore_path;
}

GTlsCertificate *
pst_runtime_lookup_certificate (PstRuntime *self, const char *host)
{
  PstStoreEntry *entry;

  if (self->keystore == NULL || host == NULL)
    return NULL;
  entry = pst_keystore_find_for_host (self->keystore, host);
  if (entry == NULL)
    return NULL;
  return g_hash_table_lookup (self->certificates, entry);
}

PstMetrics *
pst_runtime_get_metrics (PstRuntime *self)
{
  return self != NULL ? self->metrics : NULL;
}

void
pst_runtime_set_metrics (PstRuntime *self, PstMetrics *metrics)
{
  g_return_if_fail (PST_IS_RUNTIME (self));
  g_set_object (&self->metrics, metrics);
}

static void
ticket_key_free (gpointer data)
{
  gnutls_datum_t *key = data;

  gnutls_memset (key->data, 0, key->size);
  gnutls_free (key->data);
  g_free (key);
}

GBytes *
pst_runtime_get_ticket_key (PstRuntime *self)
{
  g_return_val_if_fail (PST_IS_RUNTIME (self), NULL);
  if (pst_tls_server_get_shared_ticket_key () != NULL)
    return pst_tls_server_get_shared_ticket_key ();   /* the master's, for every worker */
  if (self->ticket_key == NULL)
    {
      gnutls_datum_t *key = g_new0 (gnutls_datum_t, 1);

      if (gnutls_session_ticket_key_generate (key) < 0)
        {
          g_free (key);
          return NULL;
        }
      self->ticket_key = g_bytes_new_with_free_func (key->data, key->size, ticket_key_free, key);
    }
  return self->ticket_key;
}
