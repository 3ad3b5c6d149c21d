"""Errors the user can fix: reported in one line, exit code 2, never a traceback."""


class InputError(Exception):
    """Bad input from the user (a sentence, an option, a path)."""

    exit_code = 2
