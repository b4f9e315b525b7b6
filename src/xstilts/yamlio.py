"""YAML from users (experiment configs, task files): ``yaml.safe_load`` only, never a hang.

Every failure is a ``ConfigError`` naming the file and line: a syntax error, a key given twice in
one mapping (YAML would silently keep the later one), nesting deeper than Python's recursion
limit, or an alias "bomb" (anchors referencing anchors: a few hundred bytes that expand to
billions of values, or to gigabytes of repeated strings, once anything walks them: hashing a
config, dumping it).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from xstilts.errors import ConfigError

# Values a config may expand to, aliases counted each time they are used. Real configs and task
# files hold hundreds; a grid with thousands of overrides still fits.
MAX_VALUES = 100_000
# Nesting of collections: real configs nest 4-5 deep.
MAX_DEPTH = 100
# Characters of strings (keys and values) a config may expand to, aliases counted each time.
MAX_CHARS = 10_000_000


class _DuplicateKey(yaml.MarkedYAMLError):
    """A structural refusal (duplicate key, nesting) with the line it was found on."""


class _StrictLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses a key given twice in one mapping, and nesting deeper than
    ``MAX_DEPTH`` before composing it (PyYAML takes seconds to reach its RecursionError on a
    few kilobytes of ``[[[[...``: a 2 KB config kept a job busy for 10 s)."""

    _depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _DuplicateKey(
                    problem=f"nested deeper than {MAX_DEPTH} levels",
                    problem_mark=self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # ``<<:`` merges are allowed to be overridden by the mapping
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except (TypeError, yaml.YAMLError):
                    continue  # the base class reports unhashable keys
                if key in seen:
                    raise _DuplicateKey(
                        problem=f"duplicate key {key!r} (first given on line {seen[key] + 1})",
                        problem_mark=key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


_FLOW = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|(?:^|(?<=\s))#[^\n]*|[\[\]{}]""")


def _flow_depth(text: str, where: str) -> None:
    """Refuse ``[``/``{`` nested deeper than ``MAX_DEPTH`` before PyYAML sees them: its scanner
    is quadratic in flow nesting (1,200 ``[`` took it 3-12 s before any error)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    for m in _FLOW.finditer(text):
        c = m.group()
        if c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line = text.count("\n", 0, m.start()) + 1
                raise ConfigError(
                    f"invalid YAML: nested deeper than {MAX_DEPTH} levels", where=f"{where}:{line}"
                )
        elif c in "]}":
            depth = max(0, depth - 1)


def load_yaml(text: str, where: str) -> Any:
    """``yaml.safe_load(text)`` with duplicate keys refused; errors name ``where`` (the file)
    and the line when known."""
    _flow_depth(text, where)
    try:
        loader = _StrictLoader(text)  # what yaml.safe_load does, with the stricter loader
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
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
    count, chars, stack = 0, 0, [data]
    while stack:
        v = stack.pop()
        count += 1
        if isinstance(v, (str, bytes)):
            chars += len(v)
        if count > MAX_VALUES or chars > MAX_CHARS:
            what = f"{MAX_VALUES:,} values" if count > MAX_VALUES else f"{MAX_CHARS:,} characters"
            raise ConfigError(
                f"YAML expands to more than {what} (anchors and aliases repeating each other?)",
                where=where,
            )
        if isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set)):
            stack.extend(v)
