"""The programs a render needs, and the Debian package that provides each one.

A missing program stops the command before any work, with exit code 2 and one line
that names the package to install (`model.errors.InputError`).
"""

from __future__ import annotations

import shutil

from model.errors import InputError

PACKAGES = {
    "latex": "texlive-latex-base",
    "dvisvgm": "dvisvgm",
    "ffmpeg": "ffmpeg",
    "ffprobe": "ffmpeg",
    "flite": "flite",
    "espeak-ng": "espeak-ng",
    "chromium": "chromium",
}


class MissingTool(InputError):
    pass


def require(*tools: str) -> None:
    """Raise MissingTool naming the Debian package of the first program not on PATH."""
    for tool in tools:
        if shutil.which(tool) is None:
            package = PACKAGES.get(tool, tool)
            raise MissingTool(f"{tool} is not installed: install the Debian package {package} "
                              f"(apt-get install {package}, or `make setup`)")
