"""One registry per abstraction (tasks families, heads, samplers, perturbations, metrics, executors).

Entries are added with a decorator and carry a typed pydantic config, so a YAML mapping is
validated into parameters before anything is built; lookups of unknown names fail with the list of
known names instead of an ``isinstance`` chain somewhere downstream.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from xstilts.errors import ConfigError, UnknownNameError

T = TypeVar("T")


class NoParams(BaseModel):
    """Config of an entry that takes no parameters."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    config: type[BaseModel]
    doc: str


class Registry(Generic[T]):
    """Name -> object, filled by ``@registry.register("name", config=Params)``.

    ``providers`` names the modules whose import fills the registry (entry-point style): they are
    imported on the first lookup, so a registry never imports its entries' modules at its own
    import time and no bottom-of-file or in-function import ties two packages together. A name
    ending in ``.*`` imports every module of that package, so an entry is added by one new file.
    """

    def __init__(self, kind: str, *, providers: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._providers = providers
        self._discovered = not providers

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # before importing: a provider may look names up while loading
        for name in self._providers:
            for mod in _expand(name):
                importlib.import_module(mod)

    def register(self, name: str, *, config: type[BaseModel] | None = None) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            doc = (getattr(obj, "__doc__", None) or "").strip().split("\n")[0]
            self._entries[name] = Entry(name, obj, config or NoParams, doc)
            return obj

        return deco

    def get(self, name: str, *, where: str | None = None) -> Entry[T]:
        self._discover()
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self._unknown(name), where=where) from None

    def _unknown(self, name: str) -> str:
        close = difflib.get_close_matches(str(name), self._entries, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        known = ", ".join(sorted(self._entries)) or "none"
        return f"unknown {self.kind} {name!r}{hint}; known: {known}"

    def params(
        self, name: str, values: Mapping[str, Any] | None = None, *, where: str | None = None
    ) -> BaseModel:
        """Validate ``values`` against the entry's config; errors name the field."""
        entry = self.get(name, where=where)
        try:
            return entry.config.model_validate(dict(values or {}))
        except ValidationError as exc:
            raise ConfigError(pydantic_message(exc), where=_join(where, name)) from None

    def build(
        self, name: str, values: Mapping[str, Any] | None = None, *, where: str | None = None
    ):
        """Call the entry with its validated config (for entries that are factories/classes)."""
        entry = self.get(name, where=where)
        return entry.obj(self.params(name, values, where=where))  # type: ignore[operator]

    def __contains__(self, name: object) -> bool:
        self._discover()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        self._discover()
        return iter(sorted(self._entries))

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def items(self) -> list[Entry[T]]:
        self._discover()
        return [self._entries[n] for n in sorted(self._entries)]


def _expand(name: str) -> list[str]:
    """A module name, or every module of a package for ``package.*`` (sorted, private skipped)."""
    if not name.endswith(".*"):
        return [name]
    pkg = importlib.import_module(name[:-2])
    return [
        f"{pkg.__name__}.{m.name}"
        for m in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name)
        if not m.name.startswith("_")
    ]


def _join(where: str | None, name: str) -> str:
    return f"{where}.{name}" if where else name


_SCALAR_TAGS = {"int", "float", "str", "bool", "none", "bytes"}


def _union_tag(part: object) -> bool:
    """Whether a pydantic error location part names a union member (``int``, ``list[str]``),
    not a field: those are pydantic's words, and a user never wrote them."""
    return isinstance(part, str) and (part in _SCALAR_TAGS or "[" in part)


def pydantic_message(exc: ValidationError) -> str:
    """The first pydantic error as 'field.path: message' on one line.

    A value that fits no member of a union gets one error per member; they are joined into one
    message at the field's own path ("Input should be 'epoch' or 'end', or a valid integer").
    """
    errors = exc.errors()
    err = errors[0]
    parts = tuple(err.get("loc", ()))
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    cut = next((i for i, p in enumerate(parts) if _union_tag(p)), None)
    if cut is not None:
        msgs: list[str] = []
        for e in errors:
            eloc = tuple(e.get("loc", ()))
            if eloc[:cut] == parts[:cut] and len(eloc) > cut and _union_tag(eloc[cut]):
                m = e.get("msg", "").removeprefix("Value error, ")
                if m and m not in msgs:
                    msgs.append(m)
        parts = parts[:cut]
        msg = ", or ".join([msgs[0], *(m.removeprefix("Input should be ") for m in msgs[1:])])
    loc = ".".join(str(p) for p in parts)
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    return f"{loc}: {msg}" if loc else msg
