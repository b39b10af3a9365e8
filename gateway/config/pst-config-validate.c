/* pst-config-validate.c: every check "postern check" and the editor report
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-keystore.h"
#include "pst-password.h"

#define EXPIRY_WARNING_DAYS 30

typedef struct {
  PstConfig  *config;
  GPtrArray  *diagnostics;
  GHashTable *endpoints;   /* "scheme://host:port/path" → Claim */
  GHashTable *listeners;   /* listen address → Claim */
  GHashTable *tls_values;  /* "ssl.protocols" / "ssl.ciphers" → Claim */
  gboolean    needs_keystore;
  gboolean    needs_truststore;
  GPtrArray  *secure_hosts; /* Claim: host, service, line of TLS accepts */
} Check;

typedef struct {
  char     *service;
  char     *value;   /* URL, or the option value */
  guint     line;
  gboolean  tls;
  char     *verify_client;
} Claim;

static void
claim_free (gpointer data)
{
  Claim *claim = data;

  g_free (claim->service);
  g_free (claim->value);
  g_free (claim->verify_client);
  g_free (claim);
}

static Claim *
claim_new (const char *service, const char *value, guint line)
{
  Claim *claim = g_new0 (Claim, 1);

  claim->service = g_strdup (service);
  claim->value = g_strdup (value);
  claim->line = line;
  return claim;
}

#define ERROR(line, element, service, field, ...) \
  pst_config_add_diagnostic (check->config, check->diagnostics, PST_SEVERITY_ERROR, \
                             line, element, service, field, __VA_ARGS__)
#define WARNING(line, element, service, field, ...) \
  pst_config_add_diagnostic (check->config, check->diagnostics, PST_SEVERITY_WARNING, \
                             line, element, service, field, __VA_ARGS__)

static const char *
service_label (PstService *service)
{
  const char *name = pst_service_get_name (service);
  return name != NULL && *name != '\0' ? name : _("(unnamed)");
}

/* ------------------------------------------------------------------ */
/* Options                                                             */

static gboolean
bind_is_valid (const char *value)
{
  const char *colon = strrchr (value, ':');
  const char *port = colon != NULL ? colon + 1 : value;
  guint64 number;

  if (colon != NULL && colon == value)
    return FALSE;
  if (*port == '\0' || strspn (port, "0123456789") != strlen (port) || strlen (port) > 5)
    return FALSE;
  if (!g_ascii_string_to_unsigned (port, 10, 1, 65535, &number, NULL))
    return FALSE;
  return TRUE;
}

static gboolean
protocols_are_valid (const char *value, char **bad)
{
  static const char * const known[] = { "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3", NULL };
  g_auto(GStrv) parts = g_strsplit (value, ",", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      g_strstrip (parts[i]);
      if (*parts[i] == '\0')
        continue;
      if (!g_strv_contains (known, parts[i]))
        {
          *bad = g_strdup (parts[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* Checks the values of the options set in @options itself. */
static void
check_option_values (Check      *check,
                     PstOptions *options,
                     const char *service)
{
  g_auto(GStrv) names = pst_options_dup_names (options);

  for (guint i = 0; names[i] != NULL; i++)
    {
      const char *name = names[i];
      const char *value = pst_options_get (options, name);
      guint line = pst_options_get_line (options, name);
      guint64 number;

      if (strstr (value, "${") != NULL)
        continue;  /* undefined property, reported already */

      if (strcmp (name, "ssl.encryption") == 0)
        {
          if (g_ascii_strcasecmp (value, "enabled") != 0 && g_ascii_strcasecmp (value, "disabled") != 0)
            ERROR (line, name, service, name,
                   _("ssl.encryption is “%s”; use “enabled” or “disabled”"), value);
        }
      else if (strcmp (name, "ssl.verify-client") == 0)
        {
          if (g_ascii_strcasecmp (value, "required") != 0 && g_ascii_strcasecmp (value, "optional") != 0 &&
              g_ascii_strcasecmp (value, "none") != 0)
            ERROR (line, name, service, name,
                   _("ssl.verify-client is “%s”; use “required”, “optional” or “none”"), value);
        }
      else if (strcmp (name, "ws.inactivity.timeout") == 0 || strcmp (name, "http.keepalive.timeout") == 0)
        {
          if (!pst_parse_duration_ms (value, &number))
            ERROR (line, name, service, name,
                   _("%s is “%s”, not a duration; write e.g. “30”, “30s”, “5 minutes” or “1500ms”"),
                   name, value);
        }
      else if (strcmp (name, "ws.maximum.message.size") == 0)
        {
          if (!pst_parse_size (value, &number) || number == 0)
            ERROR (line, name, service, name,
                   _("%s is “%s”, not a size; write a positive number of bytes, optionally with k or m, e.g. “128k”"),
                   name, value);
        }
      else if (g_str_has_suffix (name, ".bind"))
        {
          if (!bind_is_valid (value))
            ERROR (line, name, service, name,
                   _("%s is “%s”; write a port (1-65535) or host:port, e.g. “0.0.0.0:8000”"),
                   name, value);
        }
      else if (strcmp (name, "ssl.protocols") == 0)
        {
          g_autofree char *bad = NULL;
          if (!protocols_are_valid (value, &bad))
            ERROR (line, name, service, name,
                   _("ssl.protocols names “%s”, which is unknown or no longer safe; use TLSv1.2 and/or TLSv1.3"),
                   bad);
        }
    }
}

/* GIO's TLS backend reads its priority string once per process, so two
 * services cannot have different protocol or cipher settings. */
static void
check_tls_setting (Check      *check,
                   PstOptions *options,
                   const char *name,
                   const char *service)
{
  const char *value = pst_options_get (options, name);
  Claim *first;
  g_autofree char *normal = NULL;

  if (value == NULL)
    return;
  normal = g_strdup (value);
  g_strdelimit (normal, " \t\n", ' ');
  {
    g_auto(GStrv) parts = g_strsplit (normal, " ", -1);
    g_free (normal);
    normal = g_strjoinv ("", parts);
  }

  first = g_hash_table_lookup (check->tls_values, name);
  if (first == NULL)
    {
      g_hash_table_insert (check->tls_values, g_strdup (name),
                           claim_new (service, normal, pst_options_get_line (options, name)));
      return;
    }
  if (strcmp (first->value, normal) != 0)
    ERROR (pst_options_get_line (options, name), name, service, name,
           _("%s is “%s” here but “%s” in service “%s” (line %u); TLS protocol and cipher settings apply to the whole gateway process (GIO reads them once), so give every service the same value or set it in one place only"),
           name, value, first->value, first->service != NULL ? first->service : "service-defaults",
           first->line);
}

/* ------------------------------------------------------------------ */
/* URLs                                                                */

static gboolean
scheme_in (const char *scheme, const char * const *schemes)
{
  return g_strv_contains (schemes, scheme);
}

static const char * const echo_accepts[] = { "ws", "wss", NULL };
static const char * const directory_accepts[] = { "http", "https", NULL };
static const char * const proxy_accepts[] = { "ws", "wss", "tcp", "ssl", NULL };
static const char * const proxy_connects[] = { "tcp", "ssl", "ws", "wss", NULL };

static void
check_accept (Check      *check,
              PstService *service,
              guint       i)
{
  const char *name = service_label (service);
  const char *type = pst_service_get_service_type (service);
  const char *text = pst_service_get_accept (service, i);
  guint line = pst_service_get_accept_line (service, i);
  PstOptions *options = pst_service_get_accept_options (service);
  g_autoptr(PstUrl) url = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *listener = NULL;
  g_autofree char *bind_name = NULL;
  const char *bind;
  Claim *claim;
  gboolean tls;
  const char *verify;

  if (strstr (text, "${") != NULL)
    return;  /* undefined property, reported already */
  if (*text == '\0')
    {
      ERROR (line, "accept", name, "accept",
             _("<accept> is empty; write a URL such as ws://localhost:8000/echo"));
      return;
    }

  url = pst_url_parse (text, &error);
  if (url == NULL)
    {
      ERROR (line, "accept", name, "accept", "%s", error->message);
      return;
    }

  if (g_strcmp0 (type, "echo") == 0 && !scheme_in (url->scheme, echo_accepts))
    ERROR (line, "accept", name, "accept",
           _("an echo service accepts only ws:// and wss://, not %s://; change the URL or the service type"),
           url->scheme);
  else if (g_strcmp0 (type, "directory") == 0 && !scheme_in (url->scheme, directory_accepts))
    ERROR (line, "accept", name, "accept",
           _("a directory service accepts only http:// and https://, not %s://; change the URL or the service type"),
           url->scheme);
  else if (g_strcmp0 (type, "proxy") == 0 && !scheme_in (url->scheme, proxy_accepts))
    ERROR (line, "accept", name, "accept",
           _("a proxy service accepts only ws://, wss://, tcp:// and ssl://, not %s://; change the URL"),
           url->scheme);

  tls = url->secure && pst_options_get_ssl_encryption (options);
  verify = pst_options_get_verify_client (options);

  if (tls)
    {
      Claim *host = claim_new (name, url->host, line);
      check->needs_keystore = TRUE;
      g_ptr_array_add (check->secure_hosts, host);
      if (check->config->keystore.file == NULL)
        ERROR (line, "accept", name, "accept",
               _("%s needs a certificate but there is no <security><keystore>; add one (postern cert generate --keystore keystore.db %s makes it) or set ssl.encryption to disabled when a TLS offloader sits in front"),
               text, url->host);
    }

  if (strcmp (verify, "none") != 0)
    {
      guint vline = pst_options_get_line (options, "ssl.verify-client");
      if (!tls)
        ERROR (vline, "ssl.verify-client", name, "ssl.verify-client",
               _("ssl.verify-client is set but %s is not a TLS accept%s; client certificates need wss://, https:// or ssl:// with encryption enabled, so remove the option or change the URL"),
               text, url->secure ? _(" (ssl.encryption is disabled)") : "");
      else
        {
          check->needs_truststore = TRUE;
          if (check->config->truststore.file == NULL)
            ERROR (vline, "ssl.verify-client", name, "ssl.verify-client",
                   _("ssl.verify-client is “%s” but there is no <security><truststore> to verify client certificates against; add a truststore holding the clients’ CA"),
                   verify);
        }
    }

  /* Two services on the same URL: the second would never see a request. */
  /* Host names are case-insensitive: keys use the lower-case form. */
  {
    char *lower = g_ascii_strdown (url->host, -1);
    g_free (url->host);
    url->host = lower;
  }
  endpoint = pst_url_to_string (url);
  claim = g_hash_table_lookup (check->endpoints, endpoint);
  if (claim != NULL)
    ERROR (line, "accept", name, "accept",
           _("%s is already accepted by service “%s” on line %u; give one of them another port or path"),
           endpoint, claim->service, claim->line);
  else
    g_hash_table_insert (check->endpoints, g_strdup (endpoint), claim_new (name, endpoint, line));

  /* One listener is either TLS or plain, and has one client-certificate mode. */
  bind_name = g_strdup_printf ("%s.bind", url->scheme);
  bind = pst_options_get (options, bind_name);
  if (bind != NULL && bind_is_valid (bind))
    listener = strchr (bind, ':') != NULL ? g_strdup (bind) : g_strdup_printf ("*:%s", bind);
  else
    listener = pst_url_dup_authority (url);
  claim = g_hash_table_lookup (check->listeners, listener);
  if (claim == NULL)
    {
      claim = claim_new (name, text, line);
      claim->tls = tls;
      claim->verify_client = g_strdup (verify);
      g_hash_table_insert (check->listeners, g_strdup (listener), claim);
    }
  else if (claim->tls != tls)
    ERROR (line, "accept", name, "accept",
           _("%s is %s but %s (service “%s”, line %u) uses the same address %s %s; one port cannot be both, so use another port (or set ssl.encryption to disabled on the secure one behind a TLS offloader)"),
           text, tls ? _("TLS") : _("plain"), claim->value, claim->service, claim->line, listener,
           claim->tls ? _("with TLS") : _("without TLS"));
  else if (tls && g_strcmp0 (claim->verify_client, verify) != 0)
    ERROR (line, "accept", name, "accept",
           _("%s has ssl.verify-client “%s” but %s (service “%s”, line %u) on the same address %s has “%s”; the TLS handshake happens before the path is known, so use the same value or another port"),
           text, verify, claim->value, claim->service, claim->line, listener, claim->verify_client);
}

static void
check_connect (Check      *check,
               PstService *service,
               guint       i)
{
  const char *name = service_label (service);
  const char *type = pst_service_get_service_type (service);
  const char *text = pst_service_get_connect (service, i);
  guint line = pst_service_get_connect_line (service, i);
  g_autoptr(PstUrl) url = NULL;
  g_autoptr(GError) error = NULL;

  if (g_strcmp0 (type, "echo") == 0 || g_strcmp0 (type, "directory") == 0)
    {
      ERROR (line, "connect", name, "connect",
             _("%s services do not connect anywhere; remove this <connect> or make the service a proxy"),
             type);
      return;
    }
  if (strstr (text, "${") != NULL)
    return;
  url = pst_url_parse (text, &error);
  if (url == NULL)
    {
      ERROR (line, "connect", name, "connect", "%s", error->message);
      return;
    }
  if (g_strcmp0 (type, "proxy") == 0 && !scheme_in (url->scheme, proxy_connects))
    ERROR (line, "connect", name, "connect",
           _("a proxy connects over tcp://, ssl://, ws:// or wss://, not %s://; change the URL"),
           url->scheme);
}

static void
check_service (Check      *check,
               PstService *service)
{
  const char *name = service_label (service);
  const char *type = pst_service_get_service_type (service);
  guint line = pst_service_get_line (service);
  const char * const *origins;

  if (pst_service_get_name (service) == NULL || *pst_service_get_name (service) == '\0')
    WARNING (line, "service", NULL, "name",
             _("this service has no <name>; add one so that logs and the editor can tell services apart"));

  if (type == NULL || *type == '\0')
    ERROR (line, "service", name, "type",
           _("service “%s” has no <type>; add <type>echo</type>, <type>directory</type> or <type>proxy</type>"),
           name);
  else if (strstr (type, "${") == NULL &&
           strcmp (type, "echo") != 0 && strcmp (type, "directory") != 0 && strcmp (type, "proxy") != 0)
    ERROR (pst_service_get_type_line (service), "type", name, "type",
           _("unknown service type “%s”; Postern knows echo, directory and proxy"), type);

  if (pst_service_get_n_accepts (service) == 0)
    ERROR (line, "service", name, "accept",
           _("service “%s” has no <accept>; add the URL it should listen on, e.g. ws://localhost:8000/%s"),
           name, name);
  for (guint i = 0; i < pst_service_get_n_accepts (service); i++)
    check_accept (check, service, i);

  if (g_strcmp0 (type, "proxy") == 0 && pst_service_get_n_connects (service) == 0)
    ERROR (line, "service", name, "connect",
           _("proxy service “%s” has no <connect>; add the back-end it forwards to, e.g. <connect>tcp://localhost:5000</connect>"),
           name);
  for (guint i = 0; i < pst_service_get_n_connects (service); i++)
    check_connect (check, service, i);

  check_option_values (check, pst_service_get_accept_options (service), name);
  check_option_values (check, pst_service_get_connect_options (service), name);
  check_tls_setting (check, pst_service_get_accept_options (service), "ssl.protocols", name);
  check_tls_setting (check, pst_service_get_accept_options (service), "ssl.ciphers", name);
  check_tls_setting (check, pst_service_get_connect_options (service), "ssl.protocols", name);
  check_tls_setting (check, pst_service_get_connect_options (service), "ssl.ciphers", name);

  if (g_strcmp0 (type, "directory") == 0)
    {
      g_autofree char *dir = pst_service_dup_resolved_path (service, "directory");
      if (dir == NULL)
        ERROR (line, "service", name, "directory",
               _("directory service “%s” has no <properties><directory>; add the folder to serve"),
               name);
      else if (strstr (dir, "${") == NULL && !g_file_test (dir, G_FILE_TEST_IS_DIR))
        WARNING (pst_service_get_property_line (service, "directory"), "directory", name, "directory",
                 _("the folder %s does not exist (yet); requests will get 404 until it does"), dir);
    }

  origins = pst_service_get_allow_origins (service);
  for (guint i = 0; origins != NULL && origins[i] != NULL; i++)
    {
      g_autoptr(PstUrl) url = NULL;
      if (strcmp (origins[i], "*") == 0 || strstr (origins[i], "${") != NULL)
        continue;
      url = pst_url_parse (origins[i], NULL);
      if (url == NULL || (strcmp (url->scheme, "http") != 0 && strcmp (url->scheme, "https") != 0) ||
          strcmp (url->path, "/") != 0)
        ERROR (line, "cross-site-constraint", name, "allow-origin",
               _("allow-origin “%s” is not an origin; write “*” or scheme://host[:port] with http or https and no path"),
               origins[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Stores                                                              */

static PstKeystore *
check_store (Check               *check,
             const PstStoreRef   *ref,
             const PstStoreLines *lines,
             const char          *what,      /* "keystore" / "truststore" */
             gboolean             needed)
{
  g_autofree char *password = NULL;
  g_autofree char *default_pw = NULL;
  const char *password_file = NULL;
  guint password_line;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *contents = NULL;
  gsize len;
  PstKeystore *store;

  if (ref->line == 0)
    return NULL;
  if (ref->file == NULL)
    {
      ERROR (ref->line, what, NULL, what,
             _("<%s> has no <file>; add the path of the store, relative to this file"), what);
      return NULL;
    }

  if (!g_file_test (ref->file, G_FILE_TEST_EXISTS))
    {
      if (strcmp (what, "keystore") == 0)
        ERROR (lines->file_line, "file", NULL, what,
               _("keystore %s does not exist; create it with “postern cert generate --keystore %s localhost” or fix <file>"),
               ref->file, ref->file);
      else
        ERROR (lines->file_line, "file", NULL, what,
               _("truststore %s does not exist; trust a server with “postern cert fetch %s HOST:PORT” or fix <file>"),
               ref->file, ref->file);
      return NULL;
    }
  if (!g_file_get_contents (ref->file, &contents, &len, &error))
    {
      ERROR (lines->file_line, "file", NULL, what,
             _("cannot read %s %s: %s; check its permissions"), what, ref->file, error->message);
      return NULL;
    }
  bytes = g_bytes_new_take (g_steal_pointer (&contents), len);

  /* <type> is informational (the content decides), but a mismatch
   * usually means the wrong file. */
  if (ref->type != NULL && *ref->type != '\0')
    {
      PstStoreFormat declared = pst_store_format_from_string (ref->type);
      PstStoreFormat found = pst_store_format_detect (bytes);
      if (found != PST_STORE_FORMAT_UNKNOWN && declared != found)
        WARNING (lines->type_line, "type", NULL, what,
                 _("<type> says %s but %s holds %s data; it is read as %s, so set <type>%s</type> to match"),
                 ref->type, ref->file, pst_store_format_to_string (found),
                 pst_store_format_to_string (found), pst_store_format_to_string (found));
    }

  if (ref->password_file != NULL)
    {
      password_file = ref->password_file;
      password_line = lines->password_file_line;
      if (!g_file_test (password_file, G_FILE_TEST_EXISTS))
        {
          ERROR (password_line, "password-file", NULL, what,
                 _("password file %s does not exist; create it (one line, mode 0600) or fix <password-file>"),
                 password_file);
          return NULL;
        }
    }
  else
    {
      default_pw = pst_password_default_path (ref->file);
      password_line = lines->file_line;
      if (default_pw != NULL && g_file_test (default_pw, G_FILE_TEST_EXISTS))
        password_file = default_pw;
    }

  if (password_file != NULL)
    {
      password = pst_password_file_read (password_file, &error);
      if (password == NULL)
        {
          ERROR (password_line, ref->password_file != NULL ? "password-file" : "file", NULL, what,
                 _("cannot read password file %s: %s; check that it exists and is readable by the gateway’s user"),
                 password_file, error->message);
          return NULL;
        }
      if (pst_password_file_is_exposed (password_file))
        WARNING (password_line, ref->password_file != NULL ? "password-file" : "file", NULL, what,
                 _("password file %s can be read by other users; run “chmod 600 %s”"),
                 password_file, password_file);
    }

  store = pst_keystore_load_bytes (bytes, ref->file, password, password_file, &error);
  if (password != NULL)
    pst_password_free (g_steal_pointer (&password));
  if (store == NULL)
    {
      if (g_error_matches (error, PST_STORE_ERROR, PST_STORE_ERROR_WRONG_PASSWORD))
        ERROR (password_file != NULL ? password_line : lines->file_line,
               password_file != NULL && ref->password_file != NULL ? "password-file" : "file", NULL, what,
               _("%s; put the store’s password in %s"),
               error->message,
               password_file != NULL ? password_file : _("a password file (<password-file>)"));
      else
        ERROR (lines->file_line, "file", NULL, what, _("cannot open %s %s: %s"),
               what, ref->file, error->message);
      return NULL;
    }
  (void)needed;
  return store;
}

static void
check_expiry (Check         *check,
              PstStoreEntry *entry,
              const char    *host,
              const char    *service,
              guint          line)
{
  GDateTime *not_after = pst_store_entry_get_not_after (entry);
  GDateTime *not_before = pst_store_entry_get_not_before (entry);
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *until = NULL;
  const char *alias = pst_store_entry_get_alias (entry);
  const char *store = check->config->keystore.file;

  if (not_after == NULL)
    return;
  until = g_date_time_format (not_after, "%Y-%m-%d");
  if (g_date_time_compare (not_after, now) < 0)
    ERROR (line, "accept", service, "accept",
           _("the certificate for %s (alias “%s” in %s) expired on %s; make a new one with “postern cert generate --keystore %s %s”"),
           host, alias, store, until, store, host);
  else if (not_before != NULL && g_date_time_compare (not_before, now) > 0)
    {
      g_autofree char *from = g_date_time_format (not_before, "%Y-%m-%d %H:%M");
      ERROR (line, "accept", service, "accept",
             _("the certificate for %s (alias “%s” in %s) is not valid before %s UTC; check the system clock or make a new certificate"),
             host, alias, store, from);
    }
  else
    {
      GTimeSpan left = g_date_time_difference (not_after, now);
      gint64 days = left / G_TIME_SPAN_DAY;
      if (days < EXPIRY_WARNING_DAYS)
        WARNING (line, "accept", service, "accept",
                 _("the certificate for %s (alias “%s” in %s) expires in %d days, on %s; renew it with “postern cert generate --keystore %s %s”"),
                 host, alias, store, (int) days, until, store, host);
    }
}

static void
check_stores (Check *check)
{
  PstConfig *config = check->config;
  g_autoptr(PstKeystore) keystore = NULL;
  g_autoptr(PstKeystore) truststore = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  keystore = check_store (check, &config->keystore, &config->keystore_lines, "keystore",
                          check->needs_keystore);
  truststore = check_store (check, &config->truststore, &config->truststore_lines, "truststore",
                            check->needs_truststore);

  if (keystore != NULL)
    for (guint i = 0; i < check->secure_hosts->len; i++)
      {
        Claim *claim = g_ptr_array_index (check->secure_hosts, i);
        PstStoreEntry *entry;
        g_autofree char *key = g_ascii_strdown (claim->value, -1);

        if (!g_hash_table_add (seen, g_steal_pointer (&key)))
          continue;
        entry = pst_keystore_find_for_host (keystore, claim->value);
        if (entry == NULL)
          {
            g_autofree char *names = pst_keystore_dup_host_names (keystore);
            ERROR (claim->line, "accept", claim->service, "accept",
                   _("keystore %s has no certificate for host “%s” (it has: %s); add one with “postern cert generate --keystore %s %s”"),
                   config->keystore.file, claim->value,
                   names != NULL && *names != '\0' ? names : _("no key entries"),
                   config->keystore.file, claim->value);
            continue;
          }
        check_expiry (check, entry, claim->value, claim->service, claim->line);
      }

  if (truststore != NULL && pst_keystore_get_n_entries (truststore) == 0)
    WARNING (config->truststore_lines.file_line, "file", NULL, "truststore",
             _("truststore %s holds no certificates, so nothing it checks can be trusted; import one with “postern cert import %s FILE”"),
             config->truststore.file, config->truststore.file);
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
 * Runs every check: the parse-time findings (unknown elements, undefined
 * properties), services, URLs, options, and the key and trust stores
 * (which are opened, so this reads files but binds nothing).
 *
 * Returns: (transfer container) (element-type PstDiagnostic): findings
 *   sorted by line; empty when all is well
 */
GPtrArray *
pst_config_validate (PstConfig *self)
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
  check->listeners = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, claim_free);
  check->tls_values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, claim_free);
  check->secure_hosts = g_ptr_array_new_with_free_func (claim_free);

  if (self->services->len == 0)
    WARNING (xmlGetLineNo (xmlDocGetRootElement (self->doc)), "gateway-config", NULL, NULL,
             _("there is no <service>; the gateway would listen on nothing, so add one"));

  check_option_values (check, self->defaults, NULL);
  check_tls_setting (check, self->defaults, "ssl.protocols", NULL);
  check_tls_setting (check, self->defaults, "ssl.ciphers", NULL);

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
      check_service (check, service);
    }

  check_stores (check);

  g_hash_table_unref (check->endpoints);
  g_hash_table_unref (check->listeners);
  g_hash_table_unref (check->tls_values);
  g_ptr_array_unref (check->secure_hosts);

  g_ptr_array_sort (result, compare_diagnostics);
  return result;
}
