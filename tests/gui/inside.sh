#!/bin/sh
# Runs INSIDE a GUI chroot (tests/gui/chroot.py), in a run folder prepared by tests/gui/test_gui.py that holds
# synthkiln.zip, driver.py and config.json. Steps as a user would take them, each under `timeout` (with bad
# GL Blender hangs silently) and each with its exit status in <step>.rc and its output in <step>.log:
#   prefs    an isolated HOME whose saved preferences turn the splash off (it would cover the viewport)
#   install  Blender's own `extension install-file`, enabled (-e), into the user_default repository
#   gui      the GUI under Xvfb at a fixed window position, so region coordinates map onto screenshots
set -u
RUN=$1
GUI_TIMEOUT=${2:-420}
cd "$RUN" || exit 2
export HOME="$RUN/home"
mkdir -p "$HOME"
# The web browser Open Report starts: writes down the page it was given (there is no browser here).
printf '#!/bin/sh\necho "$1" >> "%s/browser.txt"\n' "$RUN" > "$RUN/browser.sh"
chmod +x "$RUN/browser.sh"
export BROWSER="$RUN/browser.sh"

step() {   # step NAME SECONDS CMD...
    name=$1; secs=$2; shift 2
    timeout -k 10 "$secs" "$@" >"$name.log" 2>&1
    echo $? >"$name.rc"
}

step version 60 blender --version
step prefs 120 blender -b --factory-startup --python-expr \
    "import bpy; bpy.context.preferences.view.show_splash = False; bpy.ops.wm.save_userpref()"
step install 300 blender --command extension install-file -r user_default -e "$RUN/synthkiln.zip"
step gui "$GUI_TIMEOUT" xvfb-run -a -s "-screen 0 1600x900x24" \
    blender -p 0 0 1600 900 --python "$RUN/driver.py" -- "$RUN/config.json"
