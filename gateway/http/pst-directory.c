/* pst-directory.c: the directory service on top of a PstService
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "pst-directory.h"
#include "pst-directory-config.h"

/**
 * pst_directory_config_new_from_service:
 * @service: a service of type "directory"
 * @error: return location for a #GError
 *
 * Reads `directory`, `welcome-file`, `error-pages-directory`, `options` and
 * `location.N.patterns` / `location.N.cache-control` (N = 0 or 1, 2, … until
 * the first missing one).  Build it once per loaded configuration and hand it
 * to pst_directory_config_serve(); `postern check` can call it to validate.
 *
 * Returns: (transfer full) (nullable): the settings, or %NULL with @error set
 */
PstDirectoryConfig *
pst_directory_config_new_from_service (PstService  *service,
                                       GError     **error)
{
  g_autoptr(PstDirectoryConfig) config = NULL;
  g_autofree char *directory = NULL;
  g_autofree char *error_pages = NULL;

  g_return_val_if_fail (PST_IS_SERVICE (service), NULL);

  directory = pst_service_dup_resolved_path (service, "directory");
  config = pst_directory_config_new (directory, error);
  if (config == NULL)
    return NULL;

  if (!pst_directory_config_set_welcome_file (config,
                                              pst_service_get_property (service, "welcome-file"),
                                              error))
    return NULL;

  error_pages = pst_service_dup_resolved_path (service, "error-pages-directory");
  if (!pst_directory_config_set_error_pages_directory (config, error_pages, error))
    return NULL;

  if (!pst_directory_config_set_options (config, pst_service_get_property (service, "options"),
                                         error))
    return NULL;

  /* the parser numbers locations from 1; 0 is accepted too */
  for (guint n = 0; n < G_MAXUINT; n++)
    {
      g_autofree char *pkey = g_strdup_printf ("location.%u.patterns", n);
      g_autofree char *ckey = g_strdup_printf ("location.%u.cache-control", n);
      const char *patterns = pst_service_get_property (service, pkey);
      const char *cache_control = pst_service_get_property (service, ckey);

      if (patterns == NULL && cache_control == NULL)
        {
          if (n == 0)
            continue;
          break;
        }
      if (!pst_directory_config_add_location (config, patterns, cache_control, error))
        return NULL;
    }

  return g_steal_pointer (&config);
}

static gboolean
folder_missing (PstService *service)
{
  g_autofree char *directory = pst_service_dup_resolved_path (service, "directory");

  return directory != NULL && *directory != '\0' && !g_file_test (directory, G_FILE_TEST_EXISTS);
}

/**
 * pst_directory_serve:
 * @service: a service of type "directory"
 * @msg: the request
 * @rel_path: the request path below the accept URL's path, percent-encoded
 *
 * Convenience for a caller without a cached #PstDirectoryConfig: builds
 * one from @service for this request.  A broken configuration answers 500
 * and is logged.
 */
void
pst_directory_serve (PstService        *service,
                     SoupServerMessage *msg,
                     const char        *rel_path)
{
  g_autoptr(PstDirectoryConfig) config = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (PST_IS_SERVICE (service));
  g_return_if_fail (SOUP_IS_SERVER_MESSAGE (msg));

  config = pst_directory_config_new_from_service (service, &error);
  if (config == NULL && folder_missing (service))
    {
      /* What `postern check` promised ("requests will get 404 until it
       * does"): a folder not made yet is not a server fault. */
      g_message ("service %s: %s", pst_service_get_name (service), error->message);
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "X-Content-Type-Options", "nosniff");
      return;
    }
  if (config == NULL)
    {
      g_warning ("service %s: %s", pst_service_get_name (service), error->message);
      soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "X-Content-Type-Options", "nosniff");
      return;
    }
  pst_directory_config_serve (config, msg, rel_path);
}
