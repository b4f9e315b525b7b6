"""The task registry: YAML files under ``tasks/configs`` (and any user directory).

As in lm-evaluation-harness, a file may ``include:`` a template (relative path) whose keys it
overrides, and a file with ``group:`` declares a benchmark. User task directories can be added
with ``$XSTILTS_TASKS`` (``:``-separated) or ``extra_dirs``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xstilts.errors import ConfigError, DataError, UnknownNameError
from xstilts.registry import pydantic_message
from xstilts.tasks.spec import GroupSpec, TaskSpec
from xstilts.yamlio import load_yaml

CONFIG_DIR = Path(__file__).parent / "configs"


def _load_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError("include cycle", where=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("included file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read: {exc}", where=str(path)) from None
    data = load_yaml(text, str(path)) or {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at top level", where=str(path))
    include = data.pop("include", None)
    if include is not None and (not isinstance(include, str) or "\x00" in include):
        raise ConfigError("include: expected a file name (string)", where=str(path))
    if include:
        base = _load_yaml((path.parent / include).resolve(), (*seen, path))
        base.update(data)
        data = base
    return data


def _iter_files(dirs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for d in dirs:
        files.extend(p for p in sorted(d.rglob("*.yaml")) if not p.name.startswith("_"))
    return files


def _dirs(extra: tuple[str, ...]) -> list[Path]:
    dirs = [CONFIG_DIR]
    env = os.environ.get("XSTILTS_TASKS", "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs += [Path(p) for p in extra]
    return dirs


@lru_cache(maxsize=8)
def _load(extra: tuple[str, ...] = ()) -> tuple[dict[str, TaskSpec], dict[str, GroupSpec]]:
    tasks: dict[str, TaskSpec] = {}
    groups: dict[str, GroupSpec] = {}
    for path in _iter_files(_dirs(extra)):
        data = _load_yaml(path)
        data["source_file"] = str(path)
        try:
            if "group" in data:
                g = GroupSpec.model_validate(data)
                groups[g.group] = g
            else:
                t = TaskSpec.model_validate(data)
                tasks[t.name] = t
        except ValidationError as exc:
            raise ConfigError(pydantic_message(exc), where=str(path)) from None
    for g in groups.values():
        for name in g.tasks:
            if name not in tasks:
                raise ConfigError(
                    f"group {g.group!r} names unknown task {name!r}", where=g.source_file
                )
    return tasks, groups


def all_tasks(extra_dirs: tuple[str, ...] = ()) -> dict[str, TaskSpec]:
    return _load(tuple(extra_dirs))[0]


def all_groups(extra_dirs: tuple[str, ...] = ()) -> dict[str, GroupSpec]:
    return _load(tuple(extra_dirs))[1]


def get_task(name: str, *, where: str | None = None, extra_dirs: tuple[str, ...] = ()) -> TaskSpec:
    tasks = all_tasks(extra_dirs)
    if name not in tasks:
        import difflib

        close = difflib.get_close_matches(name, tasks, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownNameError(
            f"unknown task {name!r}{hint}; `xstilts tasks` lists them", where=where
        )
    return tasks[name]


def expand_tasks(names: list[str], *, where: str | None = None) -> list[str]:
    """Replace benchmark group names (``xtreme``) by their tasks, keep order, drop repeats."""
    groups = all_groups()
    out: list[str] = []
    for n in names:
        for t in groups[n].tasks if n in groups else [n]:
            get_task(t, where=where)
            if t not in out:
                out.append(t)
    return out
