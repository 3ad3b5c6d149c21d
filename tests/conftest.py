import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def translator():
    from model.train import load

    return load("translator")


@pytest.fixture(scope="session")
def trace():
    from model.trace import record

    return record("translator")


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run a command-line entry point (`-m model …` or `render.py …`) as a user would."""
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=900)
