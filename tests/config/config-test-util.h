/* config-test-util.h: helpers shared by the config tests
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>
#include "pst-config.h"

G_BEGIN_DECLS

/* tests/fixtures/config/NAME in the source tree */
char      *ctu_fixture_path   (const char *name);
char      *ctu_read_fixture   (const char *name, gsize *len);
/* A new temporary folder holding the stores the fixtures refer to
 * (made with openssl, see the recipe in config-test-util.c). */
char      *ctu_make_store_dir (void);
/* Copies a fixture into dir; returns the copy's path */
char      *ctu_copy_fixture   (const char *name, const char *dir);
void       ctu_remove_tree    (const char *path);
/* Asserts that diagnostics hold a finding of that severity, on that line,
 * whose message contains phrase; returns it. */
PstDiagnostic *ctu_assert_diagnostic (GPtrArray  *diagnostics,
                                      PstSeverity severity,
                                      guint       line,
                                      const char *phrase);
guint      ctu_count          (GPtrArray *diagnostics, PstSeverity severity);
void       ctu_dump           (GPtrArray *diagnostics);

G_END_DECLS
