"""Readers for every XTREME / XTREME-R data family, into canonical example dicts.

Each reader is registered in ``READERS`` with a pydantic config, so a task declared in YAML names a
``format:`` and its params; ``read(format, path, params)`` validates the params and reads. Every
reader returns a list of plain dicts and, on *any* malformed input (missing file, invalid UTF-8,
broken JSON, wrong column count, missing key, wrong type, mismatched parallel files, empty file),
raises :class:`xstilts.errors.DataError` whose ``where`` names the file and line (or JSON path),
never an unhandled exception: the CLI prints that one line, and a fuzzer finds nothing else.

Canonical shapes (``id`` is ``<file-stem>-<row>``, row 0-based over examples, unless noted):

* classification ``{"id", "text_a", "text_b"?, "label": str}``
* regression ``{"id", "text_a", "text_b", "label": float}``
* tagging ``{"id", "tokens": [str], "tags": [str]}``
* QA ``{"id", "context", "question", "answers": [{"text", "answer_start"}], "is_impossible"}``
* multiple choice ``{"id", "context", "question", "choices": [str], "label": int}``
* retrieval pairs ``{"id", "text_a", "text_b"}`` (Tatoeba: text_a = non-English, text_b = English)
* BUCC: one dict per corpus ``{"id", "src_ids", "src_texts", "tgt_ids", "tgt_texts", "gold"}``

Text files are decoded as strict UTF-8; a leading UTF-8 BOM and CRLF line ends are tolerated.
Lines are split on ``\\n`` only (not ``str.splitlines``, which also splits on U+2028, U+0085,
form feeds ... that occur inside tweets and would silently misalign parallel files).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from xstilts.errors import DataError, file_where
from xstilts.registry import Registry

Example = dict[str, Any]
ReaderFn = Callable[[Path, Any], list[Example]]

# Every ``readers*`` module of data/ (``concat``, real-typo twins, ranking pools) and the masked-LM
# text reader, imported on the first lookup: a new format is one new file.
READERS: Registry[ReaderFn] = Registry(
    "reader",
    providers=(
        "xstilts.data.readers",
        "xstilts.data.readers_extra",
        "xstilts.data.readers_intermediate",
        "xstilts.data.readers_ranking",
        "xstilts.data.readers_typos",
        "xstilts.training.mlm",
    ),
)

_BOM = "\ufeff"


# --------------------------------------------------------------------------------------------
# low-level helpers: decoding, lines, JSON, typed field access
# --------------------------------------------------------------------------------------------


def _fail(path: str | os.PathLike, line: int | None, message: str) -> NoReturn:
    raise DataError(message, where=file_where(path, line))


def _fail_at(path: str | os.PathLike, jpath: str, message: str) -> NoReturn:
    """Fail at a JSON field path (``file:$.data[0].paragraphs[1]``)."""
    raise DataError(message, where=f"{os.fspath(path)}:{jpath}")


def read_text(path: str | os.PathLike) -> str:
    """The file as strict UTF-8 text (BOM dropped); undecodable bytes name their line."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        _fail(path, None, "file not found")
    except IsADirectoryError:
        _fail(path, None, "is a directory, expected a file")
    except OSError as exc:
        _fail(path, None, f"cannot read file: {exc.strerror or exc}")
    except ValueError as exc:  # e.g. a NUL byte in a path named by a config
        _fail(repr(os.fspath(path)), None, f"invalid file name: {exc}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        _fail(
            path, line, f"invalid UTF-8 (byte 0x{bad} at offset {exc.start}); expected UTF-8 text"
        )
    if text.startswith(_BOM):
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        _fail(path, text.count("\n", 0, nul) + 1, "NUL byte in text file (binary or UTF-16?)")
    return text


def read_lines(path: str | os.PathLike) -> list[str]:
    """Lines without terminators; CRLF tolerated; a final newline does not add an empty line."""
    lines = read_text(path).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _nonempty(
    path: str | os.PathLike, examples: list[Example], what: str = "examples"
) -> list[Example]:
    if not examples:
        _fail(path, None, f"no {what} in file (empty file?)")
    return examples


def _json_load(path: str | os.PathLike, text: str, line: int | None = None) -> Any:
    """``json.loads`` whose every failure (syntax, recursion, huge ints) becomes a DataError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        ln = exc.lineno if line is None else line
        col = exc.colno
        _fail(path, ln, f"invalid JSON: {exc.msg} (column {col})")
    except RecursionError:
        _fail(path, line, "invalid JSON: nested too deeply")
    except ValueError as exc:  # e.g. integer string too long to convert
        _fail(path, line, f"invalid JSON: {exc}")


def read_jsonl(path: str | os.PathLike) -> list[tuple[int, Any]]:
    """``(line number, object)`` for each non-blank line of a JSON-lines file."""
    out = []
    for i, ln in enumerate(read_lines(path), start=1):
        if ln.strip():
            out.append((i, _json_load(path, ln, i)))
    return out


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(v), type(v).__name__
    )


class _At:
    """Where a value sits: a file line (JSONL, TSV) or a JSON path (one JSON document)."""

    def __init__(self, path: str | os.PathLike, line: int | None = None, jpath: str = "$") -> None:
        self.path, self.line, self.jpath = path, line, jpath

    def child(self, key: str | int) -> _At:
        sub = f"{self.jpath}[{key}]" if isinstance(key, int) else f"{self.jpath}.{key}"
        return _At(self.path, self.line, sub)

    def fail(self, message: str) -> NoReturn:
        if self.line is not None:
            field = "" if self.jpath == "$" else f" (field {self.jpath[2:]})"
            _fail(self.path, self.line, message + field)
        _fail_at(self.path, self.jpath, message)


def _get(obj: Any, key: str, at: _At, kind: type | tuple[type, ...] | None = None) -> Any:
    """``obj[key]`` for a dotted ``key``, checked to be a JSON object path and of ``kind``."""
    cur = obj
    for part in key.split("."):
        if not isinstance(cur, dict):
            at.fail(f"expected a JSON object, got {_type_name(cur)}")
        if part not in cur:
            at.fail(f"missing key {part!r}")
        cur, at = cur[part], at.child(part)
    if kind is not None and (
        not isinstance(cur, kind) or isinstance(cur, bool) and bool not in _kinds(kind)
    ):
        want = " or ".join(_type_name(k()) if k is not type(None) else "null" for k in _kinds(kind))
        at.fail(f"expected {want}, got {_type_name(cur)}")
    return cur


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


# --------------------------------------------------------------------------------------------
# labels: one conversion shared by every classification / regression reader
# --------------------------------------------------------------------------------------------


class LabelSpec(BaseModel):
    """How a raw label becomes the canonical one: map, check membership, convert, check range."""

    model_config = ConfigDict(extra="forbid")

    label_type: Literal["str", "int", "float"] = "str"
    label_map: dict[str, str] | None = None  # raw -> canonical (e.g. {"0": "negative"})
    labels: list[str] | None = None  # allowed canonical labels (after label_map)
    label_range: tuple[float, float] | None = None  # inclusive, for float labels


def _convert_label(raw: Any, spec: LabelSpec, fail: Callable[[str], NoReturn]) -> Any:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        fail(f"label must be a string or number, got {_type_name(raw)}")
    text = raw.strip() if isinstance(raw, str) else str(raw)
    if text == "":
        fail("empty label")
    if spec.label_map is not None:
        if text not in spec.label_map:
            fail(f"label {text!r} not in label_map (known: {', '.join(sorted(spec.label_map))})")
        text = spec.label_map[text]
    if spec.labels is not None and text not in spec.labels:
        fail(f"unknown label {text!r} (expected one of {', '.join(spec.labels)})")
    if spec.label_type == "str":
        return text
    if spec.label_type == "int":
        if isinstance(raw, float) and not raw.is_integer():
            fail(f"label {raw!r} is not an integer")
        try:
            return int(float(text)) if isinstance(raw, float) else int(text)
        except ValueError:
            fail(f"label {text!r} is not an integer")
    try:
        value = float(text)
    except ValueError:
        fail(f"label {text!r} is not a number")
    if not math.isfinite(value):
        fail(f"label {text!r} is not a finite number")
    if spec.label_range is not None:
        lo, hi = spec.label_range
        if not lo <= value <= hi:
            fail(f"label {value} outside [{lo}, {hi}]")
    return value


# --------------------------------------------------------------------------------------------
# classification / regression
# --------------------------------------------------------------------------------------------

_CANONICAL_TEXT = ("text_a", "text_b")


class TsvParams(LabelSpec):
    """XTREME's unquoted TSVs: positional columns, plain ``split('\\t')`` (quotes survive)."""

    columns: list[str] = Field(default_factory=lambda: ["text_a", "text_b", "label"])
    has_header: bool = False
    # "none": XTREME's plain split, quotes kept verbatim (the translated PAW-X dev files here are
    # CSV-quoted, ``"... ""Rang De Basanti"" ..."``, and XTREME feeds them to the model as is).
    # "csv": a field wholly wrapped in quotes is unwrapped and ``""`` becomes ``"``.
    quoting: Literal["none", "csv"] = "none"

    @field_validator("columns")
    @classmethod
    def _check_columns(cls, v: list[str]) -> list[str]:
        allowed = {"text_a", "text_b", "label", "id", "_"}
        bad = [c for c in v if c not in allowed]
        if bad:
            raise ValueError(f"unknown column name {bad[0]!r}; use text_a, text_b, label, id or _")
        named = [c for c in v if c != "_"]
        if len(named) != len(set(named)):
            raise ValueError("a column name other than '_' appears twice")
        if "text_a" not in v:
            raise ValueError("columns must include text_a")
        return v


def _finish_row(
    path: Path, line: int, row: int, values: Mapping[str, Any], spec: LabelSpec
) -> Example:
    ex: Example = {
        "id": str(values["id"]) if values.get("id") not in (None, "") else f"{path.stem}-{row}"
    }
    for name in _CANONICAL_TEXT:
        if name in values:
            ex[name] = values[name]
    if "label" in values:
        ex["label"] = _convert_label(values["label"], spec, lambda m: _fail(path, line, m))
    return ex


def _check_unique_ids(path: Path, examples: list[Example], lines: list[int] | None = None) -> None:
    seen: dict[str, int] = {}
    for k, ex in enumerate(examples):
        if ex["id"] in seen:
            _fail(path, lines[k] if lines else None, f"duplicate id {ex['id']!r}")
        seen[ex["id"]] = k


def _unquote(field: str) -> str:
    """``"a ""b"" c"`` -> ``a "b" c``; anything not a well-formed quoted field is left alone."""
    if len(field) >= 2 and field[0] == field[-1] == '"':
        inner = field[1:-1]
        if '"' not in inner.replace('""', ""):
            return inner.replace('""', '"')
    return field


@READERS.register("tsv", config=TsvParams)
def read_tsv(path: Path, cfg: TsvParams) -> list[Example]:
    """XTREME classification TSV (xnli ``premise\\thypothesis\\tlabel``, pawsx ``s1\\ts2\\tlabel``)."""
    lines = read_lines(path)
    start = 1 if cfg.has_header else 0
    if cfg.has_header and (not lines or len(lines[0].split("\t")) != len(cfg.columns)):
        _fail(path, 1, f"header must have {len(cfg.columns)} tab-separated fields")
    examples, where = [], []
    for i in range(start, len(lines)):
        fields = lines[i].split("\t")
        if len(fields) != len(cfg.columns):
            _fail(
                path,
                i + 1,
                f"expected {len(cfg.columns)} tab-separated fields ({', '.join(cfg.columns)}), found {len(fields)}",
            )
        if cfg.quoting == "csv":
            fields = [_unquote(f) for f in fields]
        values = {c: f for c, f in zip(cfg.columns, fields, strict=True) if c != "_"}
        examples.append(_finish_row(path, i + 1, len(examples), values, cfg))
        where.append(i + 1)
    _check_unique_ids(path, examples, where)
    return _nonempty(path, examples)


def _check_column_map(v: dict[str, str]) -> dict[str, str]:
    bad = [k for k in v if k not in ("text_a", "text_b", "label", "id")]
    if bad:
        raise ValueError(f"unknown canonical name {bad[0]!r}; use text_a, text_b, label, id")
    if "text_a" not in v:
        raise ValueError("column_map must map text_a")
    return v


class TsvHeaderParams(LabelSpec):
    """A TSV whose first line names the columns; ``column_map`` maps canonical -> header name."""

    column_map: dict[str, str] = Field(default_factory=lambda: {"text_a": "text", "label": "label"})

    @field_validator("column_map")
    @classmethod
    def _check_map(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_column_map(v)


def _read_header_tsv(path: Path, cfg: TsvHeaderParams) -> list[Example]:
    lines = read_lines(path)
    if not lines:
        _fail(path, None, "empty file (expected a header line)")
    header = lines[0].split("\t")
    index: dict[str, int] = {}
    for canon, col in cfg.column_map.items():
        if col not in header:
            _fail(
                path, 1, f"header has no column {col!r} (for {canon}); columns: {', '.join(header)}"
            )
        index[canon] = header.index(col)
    examples, where = [], []
    for i in range(1, len(lines)):
        fields = lines[i].split("\t")
        if len(fields) != len(header):
            _fail(
                path,
                i + 1,
                f"expected {len(header)} tab-separated fields as in the header, found {len(fields)}",
            )
        values = {canon: fields[j] for canon, j in index.items()}
        examples.append(_finish_row(path, i + 1, len(examples), values, cfg))
        where.append(i + 1)
    _check_unique_ids(path, examples, where)
    return _nonempty(path, examples)


@READERS.register("tsv_header", config=TsvHeaderParams)
def read_tsv_header(path: Path, cfg: TsvHeaderParams) -> list[Example]:
    """TSV with a header row (MARC ``text\\tlabel``; GLUE-style files), columns picked by name."""
    return _read_header_tsv(path, cfg)


class StsbParams(TsvHeaderParams):
    """GLUE STS-B: header TSV, ``sentence1``/``sentence2``/``score`` in 0..5 as a float label."""

    column_map: dict[str, str] = Field(
        default_factory=lambda: {"text_a": "sentence1", "text_b": "sentence2", "label": "score"}
    )
    label_type: Literal["str", "int", "float"] = "float"
    label_range: tuple[float, float] | None = (0.0, 5.0)


@READERS.register("stsb", config=StsbParams)
def read_stsb(path: Path, cfg: StsbParams) -> list[Example]:
    """STS-B regression TSV (score 0..5)."""
    return _read_header_tsv(path, cfg)


class JsonlParams(LabelSpec):
    """JSON lines; ``column_map`` maps canonical -> key (dotted for nested: ``question.stem``)."""

    column_map: dict[str, str] = Field(
        default_factory=lambda: {"text_a": "sentence1", "text_b": "sentence2", "label": "label"}
    )

    @field_validator("column_map")
    @classmethod
    def _check_map(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_column_map(v)


@READERS.register("jsonl", config=JsonlParams)
def read_jsonl_pairs(path: Path, cfg: JsonlParams) -> list[Example]:
    """Classification/regression from JSON lines with a column map."""
    examples, where = [], []
    for line, obj in read_jsonl(path):
        at = _At(path, line)
        if not isinstance(obj, dict):
            at.fail(f"expected a JSON object per line, got {_type_name(obj)}")
        values: dict[str, Any] = {}
        for canon, key in cfg.column_map.items():
            if canon == "label":
                values[canon] = _get(obj, key, at)
            elif canon == "id":
                values[canon] = _get(obj, key, at, (str, int))
            else:
                values[canon] = _get(obj, key, at, str)
        examples.append(_finish_row(path, line, len(examples), values, cfg))
        where.append(line)
    _check_unique_ids(path, examples, where)
    return _nonempty(path, examples)


class TextLabelsParams(LabelSpec):
    """Two line-aligned files: ``<split>_text.txt`` and ``<split>_labels.txt`` (XLM-T UMSAB)."""

    labels_path: str | None = None  # default: the text file's name with _text -> _labels


def _sibling(path: Path, old: str, new: str, what: str) -> Path:
    if old not in path.name:
        _fail(
            path,
            None,
            f"cannot derive the {what} file from this name (no {old!r}); set it explicitly",
        )
    return path.with_name(new.join(path.name.rsplit(old, 1)))


def _same_length(a: Path, la: list[Any], b: Path, lb: list[Any]) -> None:
    if len(la) != len(lb):
        raise DataError(
            f"line counts differ: {len(la)} lines vs {len(lb)} lines in {os.fspath(b)} (files must be line-aligned)",
            where=file_where(a, min(len(la), len(lb)) + 1),
        )


@READERS.register("text_labels", config=TextLabelsParams)
def read_text_labels(path: Path, cfg: TextLabelsParams) -> list[Example]:
    """One text per line plus a parallel labels file; mismatched lengths name both files."""
    lpath = (
        Path(cfg.labels_path) if cfg.labels_path else _sibling(path, "_text", "_labels", "labels")
    )
    texts, labels = read_lines(path), read_lines(lpath)
    _same_length(path, texts, lpath, labels)
    out = []
    for i, (t, lab) in enumerate(zip(texts, labels, strict=True)):
        label = _convert_label(lab, cfg, lambda m, i=i: _fail(lpath, i + 1, m))
        out.append({"id": f"{path.stem}-{i}", "text_a": t, "label": label})
    return _nonempty(path, out)


# --------------------------------------------------------------------------------------------
# token tagging
# --------------------------------------------------------------------------------------------

_LANG_PREFIX = re.compile(r"^([a-z]{2,3}(?:-[a-zA-Z]+)?):(?=.)")


class TaggingTsvParams(BaseModel):
    """XTREME ``token\\ttag`` files, blank line between sentences (panx, udpos)."""

    model_config = ConfigDict(extra="forbid")

    # XTREME's raw panx tokens read ``en:Sioux``. auto: strip when *every* token of the file has the
    # same ``xx:`` prefix (a single ``bar:24`` token in English text is a real token, not a prefix).
    lang_prefix: Literal["auto", "strip", "keep"] = "auto"
    has_tags: bool = True  # XTREME's unlabelled test files have tokens only


@READERS.register("tagging_tsv", config=TaggingTsvParams)
def read_tagging_tsv(path: Path, cfg: TaggingTsvParams) -> list[Example]:
    """Token<TAB>tag lines; whitespace-only lines and ``-DOCSTART-`` end a sentence."""
    lines = read_lines(path)
    sents: list[tuple[list[str], list[str], list[int]]] = []
    toks: list[str] = []
    tags: list[str] = []
    lns: list[int] = []
    want = 2 if cfg.has_tags else 1
    for i, ln in enumerate(lines, start=1):
        if not ln.strip() or ln.startswith("-DOCSTART-"):
            if toks:
                sents.append((toks, tags, lns))
                toks, tags, lns = [], [], []
            continue
        fields = ln.split("\t")
        if len(fields) != want:
            what = "token<TAB>tag" if cfg.has_tags else "a token (no tab)"
            _fail(path, i, f"expected {what}, found {len(fields)} tab-separated field(s)")
        if fields[0].strip() == "":
            _fail(path, i, "empty token")
        if cfg.has_tags and fields[1].strip() == "":
            _fail(path, i, "empty tag")
        toks.append(fields[0])
        lns.append(i)
        if cfg.has_tags:
            tags.append(fields[1].strip())
    if toks:
        sents.append((toks, tags, lns))
    _nonempty(path, sents, "sentences")
    if cfg.lang_prefix != "keep":
        first = _LANG_PREFIX.match(sents[0][0][0])
        prefix = first.group(0) if first else None
        if cfg.lang_prefix == "strip":
            for t, _, ls in sents:
                for tok, ln in zip(t, ls, strict=True):
                    if not _LANG_PREFIX.match(tok):
                        _fail(
                            path, ln, f"token {tok!r} has no language prefix (lang_prefix: strip)"
                        )
            sents = [([_LANG_PREFIX.sub("", x) for x in t], g, ls) for t, g, ls in sents]
        elif prefix and all(
            tok.startswith(prefix) and len(tok) > len(prefix) for t, _, _ in sents for tok in t
        ):
            sents = [([x[len(prefix) :] for x in t], g, ls) for t, g, ls in sents]
    out = []
    for k, (t, g, _) in enumerate(sents):
        ex: Example = {"id": f"{path.stem}-{k}", "tokens": t}
        if cfg.has_tags:
            ex["tags"] = g
        out.append(ex)
    return out


class ConlluParams(BaseModel):
    """CoNLL-U: FORM plus UPOS (or XPOS); skips comments, ``1-2`` ranges and ``1.1`` empty nodes."""

    model_config = ConfigDict(extra="forbid")

    tag: Literal["upos", "xpos"] = "upos"


_ID_INT = re.compile(r"^[1-9][0-9]*$")
_ID_RANGE = re.compile(r"^[1-9][0-9]*-[1-9][0-9]*$")
_ID_EMPTY = re.compile(r"^[0-9]+\.[1-9][0-9]*$")


@READERS.register("conllu", config=ConlluParams)
def read_conllu(path: Path, cfg: ConlluParams) -> list[Example]:
    """Universal Dependencies CoNLL-U sentences as tokens and POS tags."""
    col = 3 if cfg.tag == "upos" else 4
    out: list[Example] = []
    toks: list[str] = []
    tags: list[str] = []
    start = 0
    for i, ln in enumerate([*read_lines(path), ""], start=1):
        if ln.startswith("#"):
            if toks:
                _fail(path, i, "comment inside a sentence (missing blank line before it?)")
            start = start or i
            continue
        if not ln.strip():
            if start and not toks:
                _fail(path, start, "sentence has no tokens")
            if toks:
                out.append({"id": f"{path.stem}-{len(out)}", "tokens": toks, "tags": tags})
            toks, tags, start = [], [], 0
            continue
        start = start or i
        fields = ln.split("\t")
        if len(fields) != 10:
            _fail(path, i, f"expected 10 tab-separated CoNLL-U fields, found {len(fields)}")
        wid = fields[0]
        if _ID_RANGE.match(wid) or _ID_EMPTY.match(wid):
            continue
        if not _ID_INT.match(wid):
            _fail(path, i, f"bad token ID {wid!r}")
        if int(wid) != len(toks) + 1:
            _fail(path, i, f"token ID {wid} out of sequence (expected {len(toks) + 1})")
        form, tag = fields[1], fields[col]
        if form == "":
            _fail(path, i, "empty FORM")
        if tag in ("", "_"):
            _fail(path, i, f"missing {cfg.tag.upper()} ({tag!r})")
        toks.append(form)
        tags.append(tag)
    return _nonempty(path, out, "sentences")


# --------------------------------------------------------------------------------------------
# extractive QA (SQuAD v1.1 / v2.0 JSON: XQuAD, MLQA, TyDiQA-GoldP)
# --------------------------------------------------------------------------------------------


class SquadParams(BaseModel):
    """SQuAD JSON; answers checked against their context span."""

    model_config = ConfigDict(extra="forbid")

    # XTREME's *unlabelled* test files carry placeholder answers ``{"text": "", "answer_start": 0}``;
    # with require_answers a question without any non-empty answer (and not is_impossible) is an
    # error, so an unlabelled file is never scored as if it had gold answers.
    require_answers: bool = True
    check_spans: bool = True
    # "file": the file's question ids (must be unique); "row": ``<file-stem>-<row>`` for files
    # whose ids repeat (the TyDiQA-GoldP train files here: 3,696 questions, 89 distinct ids).
    ids: Literal["file", "row"] = "file"


def _read_squad(path: Path, cfg: SquadParams) -> list[Example]:
    doc = _json_load(path, read_text(path))
    root = _At(path)
    data = _get(doc, "data", root, list)
    out: list[Example] = []
    seen: set[str] = set()
    for a, article in enumerate(data):
        at_a = root.child("data").child(a)
        for p, para in enumerate(_get(article, "paragraphs", at_a, list)):
            at_p = at_a.child("paragraphs").child(p)
            context = _get(para, "context", at_p, str)
            for q, qa in enumerate(_get(para, "qas", at_p, list)):
                at_q = at_p.child("qas").child(q)
                if cfg.ids == "row":
                    qid = f"{path.stem}-{len(out)}"
                else:
                    qid = str(_get(qa, "id", at_q, (str, int)))
                if qid in seen:
                    at_q.child("id").fail(f"duplicate question id {qid!r} (set ids: row)")
                seen.add(qid)
                question = _get(qa, "question", at_q, str)
                impossible = qa.get("is_impossible", False) if isinstance(qa, dict) else False
                if not isinstance(impossible, bool):
                    at_q.child("is_impossible").fail(
                        f"expected boolean, got {_type_name(impossible)}"
                    )
                raw = _get(qa, "answers", at_q, list)
                answers = []
                for k, ans in enumerate(raw):
                    at_k = at_q.child("answers").child(k)
                    text = _get(ans, "text", at_k, str)
                    st = _get(ans, "answer_start", at_k, int)
                    if text == "" and not cfg.require_answers:
                        continue  # placeholder of an unlabelled file
                    if text == "":
                        at_k.child("text").fail(
                            "empty answer text (unlabelled file? set require_answers: false)"
                        )
                    if st < 0 or (cfg.check_spans and context[st : st + len(text)] != text):
                        at_k.child("answer_start").fail(
                            f"answer {text[:40]!r} not found at offset {st} of the context"
                        )
                    answers.append({"text": text, "answer_start": st})
                if impossible:
                    answers = []
                elif cfg.require_answers and not answers:
                    at_q.child("answers").fail(
                        "question has no gold answer (unlabelled file? set require_answers: false)"
                    )
                out.append(
                    {
                        "id": qid,
                        "context": context,
                        "question": question,
                        "answers": answers,
                        "is_impossible": impossible,
                    }
                )
    return _nonempty(path, out, "questions")


@READERS.register("squad", config=SquadParams)
def read_squad(path: Path, cfg: SquadParams) -> list[Example]:
    """SQuAD v1.1 / v2.0 JSON (XQuAD, TyDiQA-GoldP, SQuAD)."""
    return _read_squad(path, cfg)


_MLQA_NAME = re.compile(r"^(dev|test)-context-([a-z]{2})-question-([a-z]{2})\.json$")


def mlqa_languages(path: str | os.PathLike) -> tuple[str, str]:
    """``(context_language, question_language)`` from an MLQA file name."""
    m = _MLQA_NAME.match(Path(path).name)
    if not m:
        _fail(path, None, "not an MLQA file name (expected <split>-context-<c>-question-<q>.json)")
    return m.group(2), m.group(3)


def mlqa_path(root: str | os.PathLike, split: str, context: str, question: str) -> Path:
    """``<root>/<split>/<split>-context-<c>-question-<q>.json`` as in MLQA_V1."""
    return Path(root) / split / f"{split}-context-{context}-question-{question}.json"


@READERS.register("mlqa", config=SquadParams)
def read_mlqa(path: Path, cfg: SquadParams) -> list[Example]:
    """MLQA SQuAD JSON; adds ``answer_language`` (the context language MLQA scoring needs)."""
    ctx_lang, q_lang = mlqa_languages(path)
    out = _read_squad(path, cfg)
    for ex in out:
        ex["answer_language"] = ctx_lang
        ex["question_language"] = q_lang
    return out


# --------------------------------------------------------------------------------------------
# multiple choice
# --------------------------------------------------------------------------------------------


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _mc(
    path: Path, row: int, context: str, question: str, choices: list[str], label: int
) -> Example:
    return {
        "id": f"{path.stem}-{row}",
        "context": context,
        "question": question,
        "choices": choices,
        "label": label,
    }


def _int_label(v: Any, at: _At, n: int, base: int = 0) -> int:
    """A choice index (int or digit string) in ``base .. base+n-1``, returned 0-based."""
    # ASCII digits only: ``str.isdigit`` also admits "²" and "--1", which ``int`` refuses
    if isinstance(v, str) and re.fullmatch(r"\s*-?[0-9]{1,18}\s*", v):
        v = int(v.strip())
    if isinstance(v, bool) or not isinstance(v, int):
        at.fail(f"label must be an integer, got {_type_name(v)}")
    if not base <= v < base + n:
        at.fail(f"label {v} out of range {base}..{base + n - 1}")
    return v - base


def _objects(path: Path) -> list[tuple[int, dict]]:
    out = []
    for line, obj in read_jsonl(path):
        if not isinstance(obj, dict):
            _fail(path, line, f"expected a JSON object per line, got {_type_name(obj)}")
        out.append((line, obj))
    return _nonempty(path, out)


@READERS.register("xcopa", config=NoParams)
def read_xcopa(path: Path, cfg: NoParams) -> list[Example]:
    """XCOPA / COPA jsonl: premise, choice1, choice2, question (cause|effect), label."""
    out = []
    for line, obj in _objects(path):
        at = _At(path, line)
        premise = _get(obj, "premise", at, str)
        choices = [_get(obj, "choice1", at, str), _get(obj, "choice2", at, str)]
        question = _get(obj, "question", at, str)
        if question not in ("cause", "effect"):
            at.child("question").fail(f"question must be 'cause' or 'effect', got {question!r}")
        label = _int_label(_get(obj, "label", at), at.child("label"), 2)
        out.append(_mc(path, len(out), premise, question, choices, label))
    return out


class SiqaParams(BaseModel):
    """Social IQa: labels from ``correct`` (A/B/C) in each line, or the official ``*-labels.lst``."""

    model_config = ConfigDict(extra="forbid")

    labels_path: str | None = None  # 1-based labels, one per line (official release layout)


@READERS.register("siqa", config=SiqaParams)
def read_siqa(path: Path, cfg: SiqaParams) -> list[Example]:
    """Social IQa jsonl: context, question, answerA/B/C; label from ``correct`` or a labels file."""
    objs = _objects(path)
    lpath = Path(cfg.labels_path) if cfg.labels_path else path.with_name(path.stem + "-labels.lst")
    labels: list[str] | None = None
    if cfg.labels_path or (not all("correct" in o for _, o in objs) and lpath.exists()):
        labels = read_lines(lpath)
        _same_length(lpath, labels, path, objs)
    out = []
    for k, (line, obj) in enumerate(objs):
        at = _At(path, line)
        ctx = _get(obj, "context", at, str)
        q = _get(obj, "question", at, str)
        choices = [_get(obj, f"answer{c}", at, str) for c in "ABC"]
        if labels is not None:
            label = _int_label(labels[k], _At(lpath, k + 1), 3, base=1)
        else:
            letter = _get(obj, "correct", at, str)
            if letter not in ("A", "B", "C"):
                at.child("correct").fail(f"expected A, B or C, got {letter!r}")
            label = "ABC".index(letter)
        out.append(_mc(path, k, ctx, q, choices, label))
    return out


@READERS.register("hellaswag", config=NoParams)
def read_hellaswag(path: Path, cfg: NoParams) -> list[Example]:
    """HellaSwag official jsonl: context = ``ctx_a``, question = ``ctx_b`` (the ending continues it)."""
    out = []
    for line, obj in _objects(path):
        at = _At(path, line)
        if "ctx_a" in obj:
            ctx, q = _get(obj, "ctx_a", at, str), _get(obj, "ctx_b", at, str)
        else:
            ctx, q = _get(obj, "ctx", at, str), ""
        endings = _get(obj, "endings", at, list)
        for j, e in enumerate(endings):
            if not isinstance(e, str):
                at.child("endings").child(j).fail(f"expected string, got {_type_name(e)}")
        if len(endings) < 2:
            at.child("endings").fail("need at least 2 endings")
        label = _int_label(_get(obj, "label", at), at.child("label"), len(endings))
        out.append(_mc(path, len(out), ctx, q, list(endings), label))
    return out


@READERS.register("commonsenseqa", config=NoParams)
def read_commonsenseqa(path: Path, cfg: NoParams) -> list[Example]:
    """CommonsenseQA official jsonl: question.stem, question.choices[{label,text}], answerKey."""
    out = []
    for line, obj in _objects(path):
        at = _At(path, line)
        stem = _get(obj, "question.stem", at, str)
        raw = _get(obj, "question.choices", at, list)
        letters, choices = [], []
        for j, ch in enumerate(raw):
            at_c = at.child("question").child("choices").child(j)
            letters.append(_get(ch, "label", at_c, str))
            choices.append(_get(ch, "text", at_c, str))
        if len(choices) < 2 or len(set(letters)) != len(letters):
            at.child("question").child("choices").fail(
                "need at least 2 choices with distinct labels"
            )
        key = _get(obj, "answerKey", at, str)
        if key not in letters:
            at.child("answerKey").fail(
                f"answerKey {key!r} is not a choice label ({', '.join(letters)})"
            )
        out.append(_mc(path, len(out), "", stem, choices, letters.index(key)))
    return out


def _cosmos_row(path: Path, at: _At, obj: dict, row: int) -> Example:
    ctx = _get(obj, "context", at, str)
    q = _get(obj, "question", at, str)
    choices = [_get(obj, f"answer{j}", at, str) for j in range(4)]
    label = _int_label(_get(obj, "label", at), at.child("label"), 4)
    return _mc(path, row, ctx, q, choices, label)


@READERS.register("cosmosqa", config=NoParams)
def read_cosmosqa(path: Path, cfg: NoParams) -> list[Example]:
    """Cosmos QA (``.jsonl`` or the official quoted ``.csv``): context, question, answer0..3, label."""
    if path.suffix.lower() != ".csv":
        return [
            _cosmos_row(path, _At(path, line), obj, k)
            for k, (line, obj) in enumerate(_objects(path))
        ]
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    out = []
    try:
        for obj in reader:
            at = _At(path, reader.line_num)
            if None in obj or None in obj.values():
                at.fail("row has a different number of fields than the header")
            out.append(_cosmos_row(path, at, obj, len(out)))
    except csv.Error as exc:
        _fail(path, reader.line_num, f"invalid CSV: {exc}")
    return _nonempty(path, out)


class McJsonlParams(BaseModel):
    """Generic multiple-choice jsonl: name the keys (dotted for nested)."""

    model_config = ConfigDict(extra="forbid")

    context: str | None = None
    question: str | None = None
    choices: str | list[str]  # a key holding a list, or one key per choice
    label: str
    label_format: Literal["index", "index1", "letter"] = "index"

    @model_validator(mode="after")
    def _check(self) -> McJsonlParams:
        if isinstance(self.choices, list) and len(self.choices) < 2:
            raise ValueError("choices: need at least 2 keys")
        return self


@READERS.register("mc_jsonl", config=McJsonlParams)
def read_mc_jsonl(path: Path, cfg: McJsonlParams) -> list[Example]:
    """Any multiple-choice jsonl described by key names."""
    out = []
    for line, obj in _objects(path):
        at = _At(path, line)
        ctx = _get(obj, cfg.context, at, str) if cfg.context else ""
        q = _get(obj, cfg.question, at, str) if cfg.question else ""
        if isinstance(cfg.choices, list):
            choices = [_get(obj, k, at, str) for k in cfg.choices]
        else:
            choices = _get(obj, cfg.choices, at, list)
            for j, c in enumerate(choices):
                if not isinstance(c, str):
                    at.child(cfg.choices).child(j).fail(f"expected string, got {_type_name(c)}")
        raw = _get(obj, cfg.label, at)
        at_l = at.child(cfg.label)
        if cfg.label_format == "letter":
            letters = [chr(ord("A") + j) for j in range(len(choices))]
            if not isinstance(raw, str) or raw.strip().upper() not in letters:
                at_l.fail(f"label must be one of {', '.join(letters)}, got {raw!r}")
            label = letters.index(raw.strip().upper())
        else:
            label = _int_label(
                raw, at_l, len(choices), base=1 if cfg.label_format == "index1" else 0
            )
        out.append(_mc(path, len(out), ctx, q, list(choices), label))
    return out


# --------------------------------------------------------------------------------------------
# retrieval: Tatoeba pairs, BUCC 2018
# --------------------------------------------------------------------------------------------


class TatoebaParams(BaseModel):
    """Tatoeba ``tatoeba.<xxx>-eng.{<xxx>,eng}``: path is the xxx file (or the common prefix)."""

    model_config = ConfigDict(extra="forbid")

    other_path: str | None = None  # default: the .eng twin


_TATOEBA = re.compile(r"^(?P<stem>.*\.(?P<src>[a-z]+)-(?P<tgt>[a-z]+))(?:\.(?P<ext>[a-z]+))?$")


@READERS.register("tatoeba", config=TatoebaParams)
def read_tatoeba(path: Path, cfg: TatoebaParams) -> list[Example]:
    """Line i of the xxx file aligns with line i of the English file; text_b is English."""
    m = _TATOEBA.match(path.name)
    if cfg.other_path:
        src, tgt, stem = path, Path(cfg.other_path), path.stem
    elif m and (m.group("ext") in (None, m.group("src"), m.group("tgt"))):
        stem = m.group("stem")
        src = path.with_name(f"{stem}.{m.group('src')}")
        tgt = path.with_name(f"{stem}.{m.group('tgt')}")
    else:
        _fail(path, None, "expected tatoeba.<xxx>-<yyy>[.<xxx>] (or set other_path)")
    a, b = read_lines(src), read_lines(tgt)
    _same_length(src, a, tgt, b)
    return _nonempty(
        src,
        [
            {"id": f"{stem}-{i}", "text_a": x, "text_b": y}
            for i, (x, y) in enumerate(zip(a, b, strict=True))
        ],
    )


class BuccParams(BaseModel):
    """BUCC 2018 ``<src>-<tgt>.<split>.{<src>,<tgt>,gold}``; path is the prefix or any of them."""

    model_config = ConfigDict(extra="forbid")

    gold: Literal["auto", "required", "none"] = "auto"  # test splits have no gold file


_BUCC = re.compile(r"^(?P<src>[a-z]+)-(?P<tgt>[a-z]+)\.(?P<split>[a-z]+)(?:\.(?P<ext>[a-z]+))?$")


def _bucc_side(path: Path) -> tuple[list[str], list[str]]:
    ids, texts, seen = [], [], set()
    for i, ln in enumerate(read_lines(path), start=1):
        fields = ln.split("\t")
        if len(fields) != 2:
            _fail(path, i, f"expected id<TAB>sentence, found {len(fields)} tab-separated field(s)")
        if not fields[0].strip():
            _fail(path, i, "empty sentence id")
        if fields[0] in seen:
            _fail(path, i, f"duplicate sentence id {fields[0]!r}")
        seen.add(fields[0])
        ids.append(fields[0])
        texts.append(fields[1])
    if not ids:
        _fail(path, None, "no sentences in file (empty file?)")
    return ids, texts


@READERS.register("bucc", config=BuccParams)
def read_bucc(path: Path, cfg: BuccParams) -> list[Example]:
    """One dict per corpus: both sides' ids and sentences and the gold (src_id, tgt_id) pairs."""
    m = _BUCC.match(path.name)
    if not m or m.group("ext") not in (None, m.group("src"), m.group("tgt"), "gold"):
        _fail(path, None, "expected <src>-<tgt>.<split>[.<src>|.<tgt>|.gold] (e.g. zh-en.dev)")
    stem = f"{m.group('src')}-{m.group('tgt')}.{m.group('split')}"
    base = path.with_name(stem)
    sp, tp, gp = (base.with_name(f"{stem}.{e}") for e in (m.group("src"), m.group("tgt"), "gold"))
    src_ids, src_texts = _bucc_side(sp)
    tgt_ids, tgt_texts = _bucc_side(tp)
    gold: list[tuple[str, str]] = []
    if cfg.gold == "required" or (cfg.gold == "auto" and gp.exists()):
        sset, tset = set(src_ids), set(tgt_ids)
        for i, ln in enumerate(read_lines(gp), start=1):
            fields = ln.split("\t")
            if len(fields) != 2:
                _fail(gp, i, f"expected src_id<TAB>tgt_id, found {len(fields)} field(s)")
            if fields[0] not in sset:
                _fail(gp, i, f"gold source id {fields[0]!r} not in {sp.name}")
            if fields[1] not in tset:
                _fail(gp, i, f"gold target id {fields[1]!r} not in {tp.name}")
            gold.append((fields[0], fields[1]))
        if not gold:
            _fail(gp, None, "no gold pairs in file (empty file?)")
    return [
        {
            "id": stem,
            "src_ids": src_ids,
            "src_texts": src_texts,
            "tgt_ids": tgt_ids,
            "tgt_texts": tgt_texts,
            "gold": gold,
        }
    ]


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def read(
    format: str,
    path: str | os.PathLike,
    params: Mapping[str, Any] | BaseModel | None = None,
    *,
    where: str | None = None,
) -> list[Example]:
    """Read ``path`` with the reader named ``format`` and its (validated) ``params``."""
    entry = READERS.get(format, where=where)
    cfg = params if isinstance(params, BaseModel) else READERS.params(format, params, where=where)
    try:
        return entry.obj(Path(path), cfg)
    except DataError:
        raise
    except RecursionError:
        raise DataError("input nested too deeply", where=file_where(path)) from None
    except MemoryError:
        raise DataError("file too large to read into memory", where=file_where(path)) from None
