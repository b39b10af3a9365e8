/* pst-cmd-check.c: "postern check" (placeholder until its owner lands it)
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"
#include "pst-cli.h"

int
pst_cmd_check (int argc, char **argv)
{
  pst_cli_error ("“%s” is not built yet", argv[0]);
  return 1;
}
