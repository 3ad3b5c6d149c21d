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


class Page:
    """A page driven through Chromium's DevTools protocol over a pipe (`--remote-debugging-pipe`:
    commands on fd 3, answers on fd 4): keys pressed as a user presses them, scripts evaluated."""

    def __init__(self, url: str, netlog: Path, size=(1280, 720)):
        import os

        self._profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():  # in the child: its fd 3 reads our commands, its fd 4 writes its answers
            import fcntl

            high_r, high_w = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_chrome_r, from_chrome_w))
            os.dup2(high_r, 3)  # dup2 leaves the copies open across exec
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [chromium(), *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
             f"--log-net-log={netlog}", f"--window-size={size[0]},{size[1]}", "about:blank"],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._reader = os.fdopen(self._from_chrome, "rb")
        self._writer = os.fdopen(self._to_chrome, "wb")
        self._id = 0
        self._buffer = b""
        target = self.send("Target.createTarget", url=url)["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def send(self, method: str, **params):
        """One command, to the page once attached to it; returns its result."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if getattr(self, "session", None):
            message["sessionId"] = self.session
        self._writer.write(json.dumps(message).encode() + b"\0")
        self._writer.flush()
        while True:
            while b"\0" not in self._buffer:
                chunk = self._reader.read1(65536)
                assert chunk, "chromium closed the pipe"
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self._id:
                assert "error" not in answer, answer["error"]
                return answer.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 20.0):
        import time

        end = time.monotonic() + seconds
        while time.monotonic() < end:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expression}")

    def press(self, key: str, code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent", type=kind, key=key, code=key, windowsVirtualKeyCode=code)

    def screenshot(self, png: Path) -> None:
        import base64

        png.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        try:
            self.session = None
            try:  # a browser-level command: Chromium finishes its network log and exits
                self.send("Browser.close")
            except (AssertionError, OSError):
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        finally:
            self._reader.close()
            self._writer.close()
            self._profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
