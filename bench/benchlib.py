"""What the benchmarks share: running render.py as a user would, timing it, and printing a table.

Benchmarks print figures and never fail on a missed target (targets belong here, not in timed tests).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_render(*args: str, env: dict | None = None) -> tuple[float, float, subprocess.CompletedProcess]:
    """`render.py ARGS` in a fresh process (`env`: its whole environment, default this one's): (wall seconds,
    CPU seconds of it and its children, the result).

    CPU time counts every process of the run (pool workers, ffmpeg, flite): on a machine shared with
    other work, CPU time ÷ cores is what the wall time would be with the machine to itself."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    r = subprocess.run([sys.executable, "render.py", *args], cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, r


def qualities(tmp: Path, low_target: float, high_target: float, only: str | None = None) -> list[tuple]:
    """The runs a benchmark makes: (label, render.py options, target, output folder), 480p15 then 1080p30."""
    runs = [("480p15", ["--quality", "low"], low_target, tmp / "low")]
    if only != "low":
        runs.append(("1080p30", ["--quality", "high", "--fps", "30"], high_target, tmp / "high"))
    return runs


def media_seconds(path: Path) -> float | None:
    """The length of a video file (ffprobe), or None if it cannot be read."""
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
                       capture_output=True, text=True)
    try:
        return float(json.loads(r.stdout)["format"]["duration"])
    except (ValueError, KeyError):
        return None


def failed(r: subprocess.CompletedProcess) -> str:
    lines = (r.stderr or r.stdout).strip().splitlines()
    return f"exit {r.returncode}: {lines[-1] if lines else '(no output)'}"


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def cpu_note(cpu: float, video: float) -> str:
    cores = os.cpu_count() or 1
    return f"{cpu:.0f} s; ÷ video {cpu / video:.2f}; ÷ {cores} cores ÷ video {cpu / cores / video:.2f}"


def print_table(head: tuple[str, ...], rows: list[tuple[str, ...]], left: tuple[int, ...]) -> None:
    """Columns in `left` are left-aligned (words), the others right-aligned (figures)."""
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i in left else f"{{:>{w}}}" for i, w in enumerate(widths))
    print(fmt.format(*head).rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(fmt.format(*row).rstrip())


def load() -> str:
    return f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}"
