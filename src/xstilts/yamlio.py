"""YAML from users (experiment configs, task files): ``yaml.safe_load`` only, never a hang.

Every failure is a ``ConfigError`` naming the file and line: a syntax error, nesting deeper than
Python's recursion limit, or an alias "bomb" (anchors referencing anchors, a few hundred bytes
that expand to billions of values once anything walks them: hashing a config, dumping it).
"""

from __future__ import annotations

from typing import Any

import yaml

from xstilts.errors import ConfigError

# Values a config may expand to, aliases counted each time they are used. Real configs and task
# files hold hundreds; a grid with thousands of overrides still fits.
MAX_VALUES = 100_000


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load(text)``; errors name ``where`` (the file) and the line when known."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{where}:{mark.line + 1}" if mark else where
        problem = getattr(exc, "problem", None) or exc
        raise ConfigError(f"invalid YAML: {problem}", where=loc) from None
    except RecursionError:
        raise ConfigError("invalid YAML: nested too deeply", where=where) from None
    _check_size(data, where)
    return data


def _check_size(data: Any, where: str) -> None:
    count, stack = 0, [data]
    while stack:
        v = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(
                f"YAML expands to more than {MAX_VALUES:,} values (anchors and aliases "
                "repeating each other?)",
                where=where,
            )
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)
