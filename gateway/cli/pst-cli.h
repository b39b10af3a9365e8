/* pst-cli.h: the postern command's sub-commands
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Each takes the arguments after its name (argv[0] is "postern run" etc.)
 * and returns the process exit status. */
int   pst_cmd_run   (int argc, char **argv);
int   pst_cmd_check (int argc, char **argv);
int   pst_cmd_cert  (int argc, char **argv);

/* conf/gateway-config.xml in a source tree, sysconfdir/postern/… otherwise */
char *pst_cli_default_config_path (void);
/* Print "postern: message" on stderr */
void  pst_cli_error (const char *format, ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
