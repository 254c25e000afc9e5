"""Debian's headless Chromium, driven by playwright, for tests that open a page the project wrote (the HTML
dataset report) the way a user would: from file://, in a real browser.

No browser download: playwright launches the system's /usr/bin/chromium. When it is missing and we are root
on Debian, ``ensure_chromium`` installs it with apt-get (as tests/farm/setup_slurm.sh does for Slurm);
otherwise it returns the reason the tests skip with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Quiet and offline: no first-run UI, no update or sync traffic that could show up as failed requests.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def ensure_chromium() -> str | None:
    """None when Chromium can be launched, else why not (the tests skip with it)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if CHROMIUM.exists():
        return None
    if os.environ.get("SK_BROWSER_NO_INSTALL"):
        return f"{CHROMIUM} is missing and SK_BROWSER_NO_INSTALL is set"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    p = subprocess.run("apt-get install -y -qq chromium >/dev/null 2>&1 || "
                       "{ apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; }",
                       shell=True, env=env, capture_output=True, text=True, timeout=900)
    if p.returncode != 0 or not CHROMIUM.exists():
        return f"apt-get could not install chromium: {(p.stderr or p.stdout).strip()[-300:]}"
    return None


@dataclass
class Problems:
    """What a page load complained about: console errors and warnings, uncaught errors, failed requests."""
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def all(self) -> list[str]:
        return [*self.console, *self.page_errors, *self.failed_requests]


class Browser:
    """One Chromium with a fresh profile (``user_data_dir``); ``open`` loads a page and records its problems."""

    def __init__(self, user_data_dir: Path):
        from playwright.sync_api import sync_playwright
        self._pw = sync_playwright().start()
        try:
            self.context = self._pw.chromium.launch_persistent_context(
                str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=ARGS,
                viewport={"width": 1280, "height": 900})
        except Exception:
            self._pw.stop()
            raise

    def open(self, url: str):
        """(page, problems) after ``url`` has loaded and gone network-idle."""
        page = self.context.new_page()
        problems = Problems()
        page.on("console", lambda m: m.type in ("error", "warning")
                and problems.console.append(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: problems.page_errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.failed_requests.append(
            f"request failed: {r.url} ({r.failure})"))
        page.goto(url, wait_until="networkidle")
        return page, problems

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self._pw.stop()
