/* pst-log-escape.h: make text from the network safe to put in a log line
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest escaped field a log line carries, before "…" */
#define PST_LOG_FIELD_MAX 200

/* Returns a copy of text (len bytes, or up to NUL when len < 0) in which
 * control characters, quotes, backslashes and bytes that are not UTF-8 are
 * written as \xNN (\\ and \" for the two ASCII ones), cut at
 * PST_LOG_FIELD_MAX bytes of output with "…" appended.  NULL gives "-". */
char *pst_log_escape (const char *text, gssize len);

G_END_DECLS
