/* pst-runner.h: `postern run` on a saved configuration, as a child process with its log
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PST_TYPE_RUNNER (pst_runner_get_type ())
G_DECLARE_FINAL_TYPE (PstRunner, pst_runner, PST, RUNNER, GObject)

PstRunner  *pst_runner_new          (void);
/* The postern binary: $POSTERN_BINARY, else the one built beside the
 * editor (build tree), else "postern" on PATH; NULL when none is found. */
char       *pst_runner_find_binary  (void);
/* Starts `postern run --config config_path`; ::line is emitted for every
 * line it prints (stdout and stderr), ::exited once it ended. */
gboolean    pst_runner_start        (PstRunner   *self,
                                     const char  *config_path,
                                     GError     **error);
/* SIGTERM: the gateway stops gracefully; ::exited follows. */
void        pst_runner_stop         (PstRunner   *self);
/* Stops the child and forgets it, without ::exited (the window closes);
 * pending reads hold a reference until they see the cancellation. */
void        pst_runner_shutdown     (PstRunner   *self);
/* TRUE from the start until ::exited (which follows the last line). */
gboolean    pst_runner_get_running  (PstRunner   *self);
/* TRUE once the gateway printed "listening on …", until it exits. */
gboolean    pst_runner_get_listening (PstRunner  *self);
const char *pst_runner_get_config_path (PstRunner *self);

G_END_DECLS
