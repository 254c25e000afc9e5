#!/usr/bin/env bash
# CI step for the GUI tier (tests/gui): install debootstrap on the host and build (or reuse) the trixie and sid
# chroots in parallel, so the tests find them ready. Chroots are cached per machine in $SYNTHKILN_GUI_CACHE
# (default /var/cache/synthkiln-gui), so a second CI run on the same machine only checks their stamps.
# Needs root; prints why and exits 0 when not (the tests then skip, or fail under SYNTHKILN_GUI_REQUIRED=1).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ "$(id -u)" != 0 ]; then
  echo "GUI tier: not root, chroots not built"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "GUI tier: installing debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq debootstrap >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
fi
start=$SECONDS
python3 tests/gui/chroot.py umount trixie sid      # mounts a killed run may have left behind
python3 tests/gui/chroot.py ensure trixie & trixie=$!
python3 tests/gui/chroot.py ensure sid & sid=$!
status=0
wait $trixie || status=1
wait $sid || status=1
echo "== GUI chroots ready in $((SECONDS - start)) s"
exit $status
