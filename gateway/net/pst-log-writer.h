/* pst-log-writer.h: where "postern run" logs go: text lines, JSON lines, or the journal
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PST_LOG_FORMAT_TEXT,   /* "2026-12-03T07:30:00.123 info: MESSAGE" */
  PST_LOG_FORMAT_JSON,   /* one JSON object per line */
} PstLogFormat;

gboolean pst_log_format_parse     (const char *text, PstLogFormat *format);
/* Installs the GLogWriterFunc for the process.  Text output goes to the
 * systemd journal, with the POSTERN_* fields, when stderr is connected
 * to it. */
void     pst_log_writer_install   (PstLogFormat format);
/* In a worker (INDEX 1…N; 0: none): every record gets the fields
 * POSTERN_WORKER (the index) and POSTERN_PID — "worker" and "pid" in
 * JSON. Text lines stay as they are. */
void     pst_log_writer_set_worker (guint index);
/* TRUE when log lines are for people (text on stderr), not machines */
gboolean pst_log_writer_is_text   (void);

/* One log record as a JSON object (no newline): timestamp (RFC 3339,
 * UTC, milliseconds), level, event (POSTERN_EVENT, or "message"),
 * message, then each POSTERN_* field lower-cased, numbers for the
 * numeric ones.  Any bytes are escaped: the result is one valid UTF-8
 * line whatever the fields hold. */
char    *pst_log_json_line        (GLogLevelFlags level, const GLogField *fields, gsize n_fields,
                                   GDateTime *when);
/* Appends TEXT (LEN bytes, or -1) as a JSON string with its quotes;
 * invalid UTF-8 becomes U+FFFD, controls and U+2028/2029 are escaped. */
void     pst_json_append_string   (GString *out, const char *text, gssize len);

/* A structured log record with POSTERN_EVENT=EVENT and the given
 * POSTERN_* fields (NULL-terminated key, value pairs, keys without the
 * prefix); MESSAGE is the text line. */
void     pst_log_event            (GLogLevelFlags level, const char *event, const char *message,
                                   ...) G_GNUC_NULL_TERMINATED;

G_END_DECLS
