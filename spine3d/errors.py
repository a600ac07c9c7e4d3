"""The one error type for bad user input.

Readers raise :class:`InputError` with a one-line message that names the file and the problem;
the CLI prints it and exits with status 2 (no traceback).
"""

from __future__ import annotations

from os import PathLike


class InputError(ValueError):
    """Bad user input: a missing or malformed file, a wrong shape, an unknown name."""

    def __init__(self, message: str, path: str | PathLike | None = None) -> None:
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {message}" if self.path else message)
