/* pst-config-validate-services.c: checks of services and of their accept and connect URLs
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "pst-config-private.h"
#include "pst-config-validate-private.h"

static const char *
service_label (PstService *service)
{
  const char *name = pst_service_get_name (service);
  return name != NULL && *name != '\0' ? name : _("(unnamed)");
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
static const char * const status_accepts[] = { "http", "https", NULL };
static const char * const proxy_accepts[] = { "ws", "wss", "tcp", "ssl", NULL };
static const char * const proxy_connects[] = { "tcp", "ssl", "ws", "wss", NULL };

/* raw with every ${name} replaced by its value, except `except`'s by
 * `instead` */
static char *
substitute (Check      *check,
            const char *raw,
            const char *except,
            const char *instead)
{
  GString *out = g_string_new (NULL);
  const char *p = raw;
  const char *start;

  while ((start = strstr (p, "${")) != NULL)
    {
      const char *end = strchr (start + 2, '}');
      g_autofree char *name = NULL;
      const char *value;

      if (end == NULL)
        break;
      g_string_append_len (out, p, start - p);
      name = g_strndup (start + 2, end - (start + 2));
      value = g_strcmp0 (name, except) == 0 ? instead : pst_config_get_property (check->config, name);
      g_string_append (out, value != NULL ? value : "");
      p = end + 1;
    }
  g_string_append (out, p);
  return g_string_free (out, FALSE);
}

/* A URL that does not parse once its ${properties} are substituted: when
 * the bad part came from a property (the URL parses with a plain value in
 * its place), say so at the property, by name. Returns FALSE when no
 * property is to blame. */
static gboolean
blame_property (Check        *check,
                const char   *service,
                const char   *what,
                const char   *raw,
                const GError *error)
{
  static const char * const plain[] = { "localhost", "8000", "x" };
  gboolean blamed = FALSE;

  for (const char *p = raw != NULL ? strstr (raw, "${") : NULL; p != NULL; p = strstr (p + 2, "${"))
    {
      const char *end = strchr (p + 2, '}');
      g_autofree char *name = NULL;
      g_autofree char *field = NULL;
      const char *value;
      gboolean culprit = FALSE;

      if (end == NULL)
        break;
      name = g_strndup (p + 2, end - (p + 2));
      value = pst_config_get_property (check->config, name);
      if (value == NULL)
        continue;
      for (gsize k = 0; k < G_N_ELEMENTS (plain) && !culprit; k++)
        {
          g_autofree char *trial = substitute (check, raw, name, plain[k]);
          g_autoptr(PstUrl) url = pst_url_parse (trial, NULL);

          culprit = url != NULL;
        }
      if (!culprit)
        continue;
      /* "property:NAME": the editor opens the Properties page for it */
      field = g_strdup_printf ("property:%s", name);
      ERROR (GPOINTER_TO_UINT (g_hash_table_lookup (check->config->property_lines, name)),
             "property", NULL, field,
             _("property “%s” is “%s”, which makes the %s “%s” of service “%s” invalid: %s; correct the property’s value"),
             name, value, what, raw, service, error->message);
      blamed = TRUE;
    }
  return blamed;
}

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
      if (!blame_property (check, name, _("accept URL"), pst_service_get_accept_raw (service, i), error))
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
  else if (g_strcmp0 (type, "status") == 0 && !scheme_in (url->scheme, status_accepts))
    ERROR (line, "accept", name, "accept",
           _("a status service accepts only http:// and https://, not %s://; "
             "write e.g. http://localhost:8081/ (it answers /health and /metrics)"),
           url->scheme);
  else if (g_strcmp0 (type, "proxy") == 0 && !scheme_in (url->scheme, proxy_accepts))
    ERROR (line, "accept", name, "accept",
           _("a proxy service accepts only ws://, wss://, tcp:// and ssl://, not %s://; change the URL"),
           url->scheme);

  tls = url->secure && pst_options_get_ssl_encryption (options);
  verify = pst_options_get_verify_client (options);

  if (tls)
    {
      Claim *host = pst_check_claim_new (name, url->host, line);
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
    g_hash_table_insert (check->endpoints, g_strdup (endpoint),
                         pst_check_claim_new (name, endpoint, line));
  /* Which accepts share a listener, and whether they agree on it, is
   * decided by the listen plan (pst-listen-plan.c), as for `postern run`. */
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

  if (g_strcmp0 (type, "echo") == 0 || g_strcmp0 (type, "directory") == 0 ||
      g_strcmp0 (type, "status") == 0)
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
      if (!blame_property (check, name, _("connect URL"), pst_service_get_connect_raw (service, i), error))
        ERROR (line, "connect", name, "connect", "%s", error->message);
      return;
    }
  if (g_strcmp0 (type, "proxy") == 0 && !scheme_in (url->scheme, proxy_connects))
    ERROR (line, "connect", name, "connect",
           _("a proxy connects over tcp://, ssl://, ws:// or wss://, not %s://; change the URL"),
           url->scheme);
  else if (url->secure && check->config->truststore.file == NULL)
    {
      g_autofree char *authority = pst_url_dup_authority (url);

      /* Field "truststore" with a service: the editor offers "Trust a
       * Server…" for it. */
      WARNING (line, "connect", name, "truststore",
               _("%s is checked against the system’s CAs only: there is no <security><truststore>, so a back-end with a self-signed or private-CA certificate is refused; trust it with “postern cert fetch truststore.p12 %s” and add that truststore"),
               text, authority);
    }
}

void
pst_check_service (Check      *check,
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
           strcmp (type, "echo") != 0 && strcmp (type, "directory") != 0 && strcmp (type, "proxy") != 0 &&
           strcmp (type, "status") != 0)
    ERROR (pst_service_get_type_line (service), "type", name, "type",
           _("unknown service type “%s”; Postern knows echo, directory, proxy and status"), type);

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

  pst_check_option_values (check, pst_service_get_accept_options (service), name);
  pst_check_option_values (check, pst_service_get_connect_options (service), name);
  pst_check_tls_setting (check, pst_service_get_accept_options (service), "ssl.protocols", name);
  pst_check_tls_setting (check, pst_service_get_accept_options (service), "ssl.ciphers", name);
  pst_check_tls_setting (check, pst_service_get_connect_options (service), "ssl.protocols", name);
  pst_check_tls_setting (check, pst_service_get_connect_options (service), "ssl.ciphers", name);

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
