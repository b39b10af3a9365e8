/* pst-directory.h: the directory service (static files over http/https)
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>
#include "pst-service.h"
#include "pst-directory-config.h"

G_BEGIN_DECLS

/* Serves msg for a directory service.  rel_path is the request path below
 * the accept URL's path, still percent-encoded as received ("/a/b.html").
 * Synchronous on small files; large files are streamed without blocking
 * the main loop.  Never serves anything outside the service's directory. */
void pst_directory_serve (PstService        *service,
                          SoupServerMessage *msg,
                          const char        *rel_path);

/* The service's settings as an immutable, shareable snapshot (build once per
 * loaded config, then pst_directory_config_serve()); also validates them. */
PstDirectoryConfig *pst_directory_config_new_from_service (PstService  *service,
                                                           GError     **error);

G_END_DECLS
