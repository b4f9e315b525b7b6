"""Readers for user-provided typo lists and bilingual dictionaries (nothing here is shipped).

Each reader takes a path in the user's data dir, validates every line and raises
``DataError`` naming ``file:line`` on malformed input, so a broken download surfaces as one line
instead of a traceback deep inside a perturbation. Results are cached per (path, mtime).
"""

from __future__ import annotations

import functools
import html
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xstilts import guardio
from xstilts.errors import DataError, file_where


def _lines(path: Path, encoding: str = "utf-8") -> Iterator[tuple[int, str]]:
    """(1-based line number, line without newline); undecodable lines are a DataError."""
    data = guardio.read_bytes(path)  # regular files only: a FIFO is refused, never opened
    if data:
        raws = data.split(b"\n")
        if raws[-1] == b"":
            raws.pop()
        for no, raw in enumerate(raws, 1):
            try:
                line = raw.decode(encoding)
            except UnicodeError as exc:  # UnicodeDecodeError, or a codec's own (idna, ...)
                reason = getattr(exc, "reason", None) or str(exc)
                raise DataError(
                    f"not valid {encoding}: {reason}", where=file_where(path, no)
                ) from None
            yield no, line.rstrip("\r\n")


def _mtime(path: str | os.PathLike) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


@dataclass
class TypoTable:
    """Correct word (lower case) -> observed misspellings; plus hunspell REP rules."""

    words: dict[str, list[str]] = field(default_factory=dict)
    rep: list[tuple[str, str]] = field(default_factory=list)  # (typo side, correct side)
    source: str = ""

    def add(self, correct: str, typo: str) -> None:
        key = correct.lower()
        if typo != correct and typo not in self.words.setdefault(key, []):
            self.words[key].append(typo)

    def __len__(self) -> int:
        return sum(len(v) for v in self.words.values()) + len(self.rep)


def read_typo_pairs(path: str | os.PathLike) -> TypoTable:
    """``typo;correct`` lines (hroest German Wikipedia list). HTML entities are decoded (the list
    records ``&shy;`` soft hyphens, a real copy-paste error); ``#`` comments and blanks skipped."""
    return _read_typo_pairs(str(path), _mtime(path))


@functools.lru_cache(maxsize=16)
def _read_typo_pairs(path: str, _mtime: float) -> TypoTable:
    table = TypoTable(source=path)
    for no, line in _lines(Path(path)):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = html.unescape(line).split(";")
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            raise DataError(
                f"expected 'typo;correction', got {line[:60]!r}", where=file_where(path, no)
            )
        typo, correct = (p.strip() for p in parts)
        table.add(correct, typo)
    if not table.words:
        raise DataError("no typo pairs found", where=file_where(path))
    return table


def read_viwiki(path: str | os.PathLike) -> TypoTable:
    """Viwiki-spelling JSON lines: each document's ``mistakes`` give (``suggest`` -> ``text``)."""
    return _read_viwiki(str(path), _mtime(path))


@functools.lru_cache(maxsize=16)
def _read_viwiki(path: str, _mtime: float) -> TypoTable:
    table = TypoTable(source=path)
    for no, line in _lines(Path(path)):
        if not line.strip():
            continue
        where = file_where(path, no)
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"invalid JSON: {exc.msg}", where=where) from None
        except RecursionError:
            raise DataError("invalid JSON: nested too deeply", where=where) from None
        except ValueError as exc:  # e.g. an integer too long to convert
            raise DataError(f"invalid JSON: {exc}", where=where) from None
        mistakes = doc.get("mistakes") if isinstance(doc, dict) else None
        if not isinstance(mistakes, list):
            raise DataError("expected an object with a 'mistakes' list", where=where)
        for m in mistakes:
            if not (isinstance(m, dict) and isinstance(m.get("text"), str)):
                raise DataError("mistake without a 'text' string", where=where)
            sugg = m.get("suggest", [])
            if not isinstance(sugg, list) or not all(isinstance(s, str) for s in sugg):
                raise DataError("mistake 'suggest' must be a list of strings", where=where)
            for s in sugg:
                if s.strip() and m["text"].strip():
                    table.add(s.strip(), m["text"].strip())
    if not table.words:
        raise DataError("no mistakes found", where=file_where(path))
    return table


def read_hunspell_rep(path: str | os.PathLike) -> TypoTable:
    """``REP from to`` rules of a hunspell ``.aff`` file (encoding from its ``SET`` line).

    Hunspell suggests a correction by replacing ``from`` with ``to`` in a misspelled word, so a
    plausible typo of a correct word replaces ``to`` by ``from``. Rules with ``_`` (space) or
    anchors are kept with their anchors (``^``/``$``) and applied only at word edges.
    """
    return _read_hunspell(str(path), _mtime(path))


@functools.lru_cache(maxsize=16)
def _read_hunspell(path: str, _mtime: float) -> TypoTable:
    encoding = "iso-8859-1"  # hunspell's default
    for _, line in _lines(Path(path), "latin-1"):
        if line.startswith("SET "):
            encoding = (line.split() + [""])[1]  # "SET" alone: no encoding named
            break
    try:
        "".encode(encoding)
    except (LookupError, UnicodeError, ValueError):  # unknown, empty or not a text encoding
        raise DataError(f"unknown encoding {encoding!r} in SET", where=file_where(path)) from None
    table = TypoTable(source=path)
    header_seen = False
    for no, line in _lines(Path(path), encoding):
        if not line.startswith("REP"):
            continue
        fields = line.split("#")[0].split()
        if not header_seen and len(fields) == 2 and fields[1].isdigit():
            header_seen = True
            continue
        if len(fields) != 3 or fields[0] != "REP":
            raise DataError(
                f"expected 'REP from to', got {line[:60]!r}", where=file_where(path, no)
            )
        typo_side, correct_side = fields[1].replace("_", " "), fields[2].replace("_", " ")
        if " " in typo_side or " " in correct_side:
            continue  # multi-word rules change tokenisation
        table.rep.append((typo_side, correct_side))
    if not table.rep:
        raise DataError("no REP rules found", where=file_where(path))
    return table


@dataclass
class Lexicon:
    """Bilingual dictionary: English <-> other language, single-word keys, lower case."""

    to_english: dict[str, list[str]] = field(default_factory=dict)
    from_english: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""

    def add(self, en: str, xx: str) -> None:
        if en.lower() == xx.lower():
            return  # identity entries (names, loanwords) switch nothing
        if " " not in xx:
            lst = self.to_english.setdefault(xx.lower(), [])
            if en not in lst:
                lst.append(en)
        if " " not in en:
            lst = self.from_english.setdefault(en.lower(), [])
            if xx not in lst:
                lst.append(xx)


def read_muse(path: str | os.PathLike) -> Lexicon:
    """MUSE dictionaries as reformatted for hunalign: each line is ``<target> @ <english>``
    (reversed relative to the original MUSE files)."""
    return _read_lexicon(str(path), _mtime(path), "muse")


def read_tsv_dict(path: str | os.PathLike) -> Lexicon:
    """``english<TAB>target`` lines (WECHSEL Wiktionary dictionaries)."""
    return _read_lexicon(str(path), _mtime(path), "tsv")


@functools.lru_cache(maxsize=16)
def _read_lexicon(path: str, _mtime: float, fmt: str) -> Lexicon:
    lex = Lexicon(source=path)
    for no, line in _lines(Path(path)):
        if not line.strip():
            continue
        if fmt == "muse":
            parts = line.split(" @ ")
            if len(parts) != 2:
                raise DataError(
                    f"expected '<target> @ <english>', got {line[:60]!r}",
                    where=file_where(path, no),
                )
            xx, en = parts
        else:
            parts = line.split("\t")
            if len(parts) != 2:
                raise DataError(
                    f"expected 'english<TAB>target', got {line[:60]!r}", where=file_where(path, no)
                )
            en, xx = parts
        en, xx = en.strip(), xx.strip()
        if not en or not xx:
            raise DataError("empty dictionary entry", where=file_where(path, no))
        lex.add(en, xx)
    if not lex.to_english:
        raise DataError("no dictionary entries found", where=file_where(path))
    return lex
