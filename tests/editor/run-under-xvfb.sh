#!/bin/sh
# run-under-xvfb.sh: run a GTK test with a real display and session bus.
# SPDX-License-Identifier: Apache-2.0
export GSK_RENDERER=cairo LIBGL_ALWAYS_SOFTWARE=1 NO_AT_BRIDGE=1 GTK_A11Y=none
exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$@"
