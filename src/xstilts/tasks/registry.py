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

from xstilts.errors import ConfigError, UnknownNameError
from xstilts.guardio import read_yaml
from xstilts.registry import pydantic_message
from xstilts.tasks.spec import GroupSpec, TaskSpec

CONFIG_DIR = Path(__file__).parent / "configs"


def _load_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    if path in seen:
        raise ConfigError("include cycle", where=str(path))
    if seen and not os.path.lexists(path):
        raise ConfigError("included file not found", where=str(path))
    data = read_yaml(path) or {}  # regular files only: a FIFO is refused, never opened
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


def _check_new(
    known: dict[str, Any], name: str, what: str, path: Path, override: bool, builtin: list[Path]
) -> None:
    """A task or group defined twice (two user files, or a user file shadowing a built-in) is
    refused: which one a run used would depend on the order directories are listed in. A user
    file that means to replace a built-in says ``override: true``."""
    if name not in known:
        return
    first = Path(known[name].source_file)
    if override and first in builtin and path not in builtin:
        return
    kind = "a built-in" if first in builtin else "another"
    hint = "; set `override: true` in this file to replace it" if first in builtin else ""
    raise ConfigError(
        f"{what} {name!r} is already defined by {kind} file {first}{hint}", where=str(path)
    )


def _iter_files(dirs: list[Path]) -> list[Path]:
    files: dict[Path, Path] = {}  # a directory listed twice is read once
    for d in dirs:
        for p in sorted(d.rglob("*.yaml")):
            if not p.name.startswith("_"):
                files.setdefault(p.resolve(), p)
    return list(files.values())


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
    builtin = _iter_files([CONFIG_DIR])
    for path in _iter_files(_dirs(extra)):
        data = _load_yaml(path)
        override = data.pop("override", False)
        if not isinstance(override, bool):
            raise ConfigError("override: expected true or false", where=str(path))
        data["source_file"] = str(path)
        try:
            if "group" in data:
                g = GroupSpec.model_validate(data)
                _check_new(groups, g.group, "group", path, override, builtin)
                groups[g.group] = g
            else:
                t = TaskSpec.model_validate(data)
                _check_new(tasks, t.name, "task", path, override, builtin)
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
