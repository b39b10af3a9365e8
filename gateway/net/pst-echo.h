/* pst-echo.h: the echo service: every WebSocket frame goes back as it came
 * SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "pst-connection.h"

G_BEGIN_DECLS

/* Runs the echo service on an upgraded stream; the connection logs it. */
void pst_echo_start (PstConnection *conn, PstRoute *route, GIOStream *stream);

G_END_DECLS
