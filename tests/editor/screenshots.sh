#!/bin/sh
# screenshots.sh BUILD_DIR: render the editor's main views to BUILD_DIR/screenshots/*.png
# (services, diagnostics, certificate dialog, store inspector, …) under Xvfb.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$build" && pwd)/screenshots
mkdir -p "$out"
ninja -C "$build" tests/editor/editor-screenshots data/gschemas.compiled >/dev/null
export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/data"
export GSK_RENDERER=cairo LIBGL_ALWAYS_SOFTWARE=1 NO_AT_BRIDGE=1 GTK_A11Y=none
# The screen is the window's size: no window manager places windows at 0,0.
exec xvfb-run -a -s "-screen 0 1024x720x24" dbus-run-session -- \
  "$build/tests/editor/editor-screenshots" "$out" 2>/dev/null
