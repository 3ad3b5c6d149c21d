"""A page opened as a user would: Debian's Chromium, headless, with a fresh profile.

Two things make "no network" checkable. Every request Chromium makes goes to a proxy at
127.0.0.1:9, where nothing listens, so nothing leaves the machine and a page that needed
the network would come out broken. And Chromium writes its network log (`--log-net-log`):
every URL request is in it, with its initiator. The browser's own housekeeping (update and
time checks) has no origin ("not an origin"); anything the page asks for has one.
`page_requests` lists those, and `tests/test_slides.py` checks it on a page that does reach
for the network, so an empty list means something.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
         "--proxy-server=127.0.0.1:9")  # a port nothing listens on: any request fails here


def chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is needed for the browser tests: apt-get install chromium (or `make setup`)"
    return path


def screenshot(url: str, png: Path, netlog: Path, size=(1280, 720), budget_ms: int = 4000) -> None:
    """Open `url`, let it run for `budget_ms` of virtual time, save a screenshot and the network log."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        r = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--log-net-log={netlog}",
                            f"--window-size={size[0]},{size[1]}", f"--virtual-time-budget={budget_ms}",
                            f"--screenshot={png}", url],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and png.is_file(), f"chromium failed ({r.returncode}):\n{r.stderr[-2000:]}"


def page_requests(netlog: Path) -> list[str]:
    """The URLs of the requests that a page (anything with an origin) made, from Chromium's network log."""
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    found = []
    for event in log["events"]:
        params = event.get("params") or {}
        if event["type"] == start and "url" in params and params.get("initiator") != "not an origin":
            found.append(params["url"])
    return found


def all_requests(netlog: Path) -> list[str]:
    log = json.loads(netlog.read_text(encoding="utf-8"))
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [e["params"]["url"] for e in log["events"] if e["type"] == start and "url" in (e.get("params") or {})]
