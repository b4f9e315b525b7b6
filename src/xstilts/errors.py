"""The project's own errors.

Every error a user can cause (bad file, unknown name, broken config) is an ``XstiltsError`` whose
message names *where* (file and line, or config field). The CLI prints it as one line and exits
non-zero, with no traceback; anything else is a bug.
"""

from __future__ import annotations

import os


class XstiltsError(Exception):
    """A user-facing error: one line, names where the problem is."""

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return " ".join(text.split())

    def lines(self) -> list[str]:
        """What the CLI prints, one error per line (one, unless a check found several)."""
        return [self.one_line()]


class DataError(XstiltsError):
    """A malformed or missing data file (names the file and line)."""


class ConfigError(XstiltsError):
    """A broken config: unknown key, wrong type, unknown task/model/language (names the field)."""


class UnknownNameError(ConfigError):
    """A name not found in a registry (task, metric, perturbation, ...)."""


class TrainingError(XstiltsError):
    """A training step failed in a way the user should know about (NaN loss, ...)."""


class SecurityError(XstiltsError):
    """Refused for safety: pickled weights without the flag, a path escaping the output dir."""


def file_where(path: str | os.PathLike, line: int | None = None) -> str:
    """Format 'file:line' for error messages."""
    return f"{os.fspath(path)}:{line}" if line is not None else os.fspath(path)
