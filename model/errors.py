"""Errors the user can fix: reported in one line, exit code 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Callable


class InputError(Exception):
    """Bad input from the user (a sentence, an option, a path)."""

    exit_code = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def run_reporting_errors(run: Callable[[], int]) -> int:
    """Run a command; turn the user's mistakes into one line on stderr and exit code 2."""
    try:
        return run()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # e.g. an output folder that cannot be written
        print(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
