#!/bin/sh
# screenshots.sh BUILD_DIR: render the editor's main views to BUILD_DIR/screenshots/*.png
# (services, diagnostics, certificate dialog, store inspector, trust, export, run, …)
# under Xvfb: 1024×720 light for the metainfo, then 800×600 light and dark
# (screenshots/800x600-light/, screenshots/800x600-dark/) to check the smallest size.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=${1:-build}
out=$(cd "$build" && pwd)/screenshots
mkdir -p "$out"
ninja -C "$build" tests/editor/editor-screenshots data/gschemas.compiled >/dev/null
export GSETTINGS_BACKEND=memory GSETTINGS_SCHEMA_DIR="$build/data"
export GSK_RENDERER=cairo LIBGL_ALWAYS_SOFTWARE=1 NO_AT_BRIDGE=1 GTK_A11Y=none
# The screen is the window's size: no window manager places windows at 0,0.
shoot() {
  size=$1; shift
  xvfb-run -a -s "-screen 0 ${size}x24" dbus-run-session -- \
    "$build/tests/editor/editor-screenshots" --size "$size" "$@" 2>/dev/null
}
shoot 1024x720 "$out"
shoot 800x600 "$out/800x600-light"
shoot 800x600 --dark "$out/800x600-dark"
