#!/usr/bin/env python3
"""Debian chroots with a distribution Blender, Xvfb and ImageMagick, for the GUI test tier.

The ``bpy`` module cannot open a window, so the sidebar can only be tested in a real Blender. The host is
Debian bookworm (Blender 3.4: too old for extensions); trixie packages Blender 4.3 and sid Blender 5.x, and
both need a newer libc, hence a ``debootstrap`` chroot per suite. Building one takes minutes and ~1.8 GB,
so it is cached per machine (``$SYNTHKILN_GUI_CACHE``, default /var/cache/synthkiln-gui/<suite>) and reused
by every later run, CI included; a lock file serialises builders and users of the same chroot.

    python3 tests/gui/chroot.py ensure trixie sid     # build or reuse; prints each root
    python3 tests/gui/chroot.py run trixie -- blender --version
    python3 tests/gui/chroot.py umount trixie         # take down mounts left by a killed run
    python3 tests/gui/chroot.py remove trixie         # unmount everything below it, then delete it

Safety: /dev is rbind-mounted into the chroot while it is used, so deleting a chroot with its mounts up
would delete the host's device nodes. Every use unmounts in ``finally``, and ``remove`` refuses to delete
while anything below the root is still mounted. Standard library only (runs under any python3).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

MIRROR = os.environ.get("SYNTHKILN_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = Path(os.environ.get("SYNTHKILN_GUI_CACHE", "/var/cache/synthkiln-gui"))
SUITES = ("trixie", "sid")
# What a GUI run needs inside: Blender (system Python; numpy is not pulled in by Debian's blender), an X
# server, screenshots, software OpenGL, OCR of the sidebar, PyYAML for Pythons the extension's bundled
# wheels do not cover (sid's Python 3.14), and matplotlib (with Pillow) so Open Report draws the report
# inside this Blender, as it does for a user who installed it.
PACKAGES = ("blender", "python3-numpy", "python3-yaml", "xvfb", "xauth", "imagemagick", "libgl1-mesa-dri",
            "tesseract-ocr", "tesseract-ocr-eng", "python3-matplotlib")
# sid's Blender 5.2 imports cattrs and requests in its bundled extensions add-on (bl_pkg) without
# the Debian package depending on them.
EXTRA = {"sid": ("python3-cattr", "python3-requests")}


def packages(suite: str) -> list[str]:
    return sorted(PACKAGES + EXTRA.get(suite, ()))
# sid's Release file may be past its Valid-Until on a frozen mirror.
APT_OPTS = ("-o", "Acquire::Check-Valid-Until=false", "-o", "Acquire::Retries=3", "-o", "APT::Sandbox::User=root")
DEBOOTSTRAPPED = ".synthkiln-debootstrapped"
READY = ".synthkiln-ready"          # holds the package list installed; a different list re-runs apt only


class ChrootError(RuntimeError):
    """A build step failed; the message carries the command's output tail."""


def root_of(suite: str) -> Path:
    return CACHE / suite


def skip_reason() -> str | None:
    """Why chroots cannot be built or used here, or None. Tests skip with this (CI makes it an error)."""
    if os.geteuid() != 0:
        return "the GUI tier needs root (debootstrap, chroot, mounts)"
    if not shutil.which("chroot"):
        return "chroot is not installed"
    if all(is_ready(s) for s in SUITES):
        return None
    if not shutil.which("debootstrap"):
        return "debootstrap is not installed (apt-get install debootstrap, or run tests/gui/ci_setup.sh)"
    try:
        urllib.request.urlopen(f"{MIRROR}/dists/trixie/Release", timeout=10).close()
    except OSError as e:
        return f"the Debian mirror {MIRROR} is unreachable ({e})"
    return None


def is_ready(suite: str) -> bool:
    stamp = root_of(suite) / READY
    return stamp.is_file() and stamp.read_text().split() == packages(suite)


# -- mounts ------------------------------------------------------------------------------------------------
def mounts_below(root: Path) -> list[str]:
    """Mount points at or below ``root``, deepest first (from /proc/self/mountinfo)."""
    prefix = str(root.resolve())
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def unmount_all(root: Path) -> None:
    """Unmount everything below ``root``; raise if anything stays mounted."""
    for _ in range(3):
        points = mounts_below(root)
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)
    left = mounts_below(root)
    if left:
        raise ChrootError(f"still mounted below {root}: {left}")


@contextlib.contextmanager
def mounted(root: Path):
    """proc, /dev (recursive, made a slave so unmounting never propagates to the host) and /sys, for the
    duration of the block; always unmounted afterwards."""
    try:
        for sub, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--rbind", "/dev"]),
                          ("sys", ["--bind", "/sys"])):
            target = root / sub
            target.mkdir(exist_ok=True)
            _run(["mount", *args, str(target)])
            if sub == "dev":
                _run(["mount", "--make-rslave", str(target)])
        yield root
    finally:
        unmount_all(root)


@contextlib.contextmanager
def locked(suite: str):
    """One process at a time per chroot (building, or running Blender in it)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{suite}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- building ----------------------------------------------------------------------------------------------
def _run(argv, *, timeout: float | None = None, env: dict | None = None) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr)[-3000:]
        raise ChrootError(f"{' '.join(map(str, argv))} failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


def chroot_cmd(root: Path, argv: list[str], env: dict[str, str] | None = None) -> list[str]:
    """The host command line that runs ``argv`` inside ``root`` with a clean environment."""
    base = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"}
    base.update(env or {})
    return ["chroot", str(root), "/usr/bin/env", "-i", *(f"{k}={v}" for k, v in base.items()), *argv]


def _log(msg: str) -> None:
    print(f"[chroot] {msg}", file=sys.stderr, flush=True)


def ensure(suite: str) -> Path:
    """The root of a ready chroot for ``suite``: reused when ready, completed when half built, else built."""
    root = root_of(suite)
    if is_ready(suite):
        return root
    with locked(suite):
        if is_ready(suite):             # another process built it while we waited
            return root
        if root.exists() and not (root / DEBOOTSTRAPPED).exists():
            _log(f"removing the unfinished {root}")
            remove(suite, lock=False)
        if not (root / DEBOOTSTRAPPED).exists():
            if not shutil.which("debootstrap"):
                raise ChrootError("debootstrap is not installed")
            t0 = time.monotonic()
            _log(f"debootstrap {suite} into {root} (a few minutes)")
            root.parent.mkdir(parents=True, exist_ok=True)
            _run(["debootstrap", "--variant=minbase", "--components=main", suite, str(root), MIRROR],
                 timeout=1800)
            (root / DEBOOTSTRAPPED).touch()
            _log(f"debootstrap {suite}: {time.monotonic() - t0:.0f} s")
        t0 = time.monotonic()
        for name in ("resolv.conf", "hosts"):
            if Path("/etc", name).is_file():
                shutil.copyfile(Path("/etc", name), root / "etc" / name)
        policy = root / "usr/sbin/policy-rc.d"     # packages must not start services in the chroot
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
        (root / "etc/apt/sources.list").write_text(f"deb {MIRROR} {suite} main\n")
        with mounted(root):
            _run(chroot_cmd(root, ["apt-get", *APT_OPTS, "update", "-q"]), timeout=900)
            _run(chroot_cmd(root, ["apt-get", *APT_OPTS, "install", "-y", "-q", "--no-install-recommends",
                                   *packages(suite)]), timeout=1800)
            _run(chroot_cmd(root, ["apt-get", "clean"]))
        (root / READY).write_text("\n".join(packages(suite)) + "\n")
        _log(f"packages for {suite}: {time.monotonic() - t0:.0f} s")
    return root


def remove(suite: str, *, lock: bool = True) -> None:
    """Delete a chroot: unmount first, and refuse to delete while anything below it is mounted."""
    root = root_of(suite)
    with (locked(suite) if lock else contextlib.nullcontext()):
        if not root.exists():
            return
        unmount_all(root)
        if mounts_below(root):
            raise ChrootError(f"refusing to delete {root}: mounts remain")
        shutil.rmtree(root, ignore_errors=False)


def run(suite: str, argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 900):
    """Run ``argv`` in the suite's chroot with mounts up (and down again afterwards)."""
    root = ensure(suite)
    with locked(suite), mounted(root):
        return subprocess.run(["timeout", "-k", "10", str(int(timeout)), *chroot_cmd(root, argv, env)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("ensure", "umount", "remove"):
        p = sub.add_parser(name)
        p.add_argument("suites", nargs="*", default=list(SUITES))
    p = sub.add_parser("run")
    p.add_argument("suite")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "run":
            cmd = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            return run(args.suite, cmd).returncode
        for suite in args.suites:
            if args.cmd == "ensure":
                t0 = time.monotonic()
                print(ensure(suite), f"({time.monotonic() - t0:.0f} s)")
            elif args.cmd == "umount":
                unmount_all(root_of(suite))
            else:
                remove(suite)
    except ChrootError as e:
        print(f"chroot.py: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
