"""Moved to ``xstilts.atomic`` (every layer writes atomically; experiments is only one of them)."""

from xstilts.atomic import (  # noqa: F401
    DISK_ERRNOS,
    atomic_path,
    disk_error,
    disk_errors,
    safe_join,
    write_json,
    write_text,
)
