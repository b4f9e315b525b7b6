"""Shared helpers of the reliability suite: fuzz outcome bookkeeping, per-case timeouts, mutations.

Every fuzz case ends in one of two ways: a successful read, or the project's own error
(``XstiltsError``) naming the file and line or the field. Anything else (an unhandled exception,
or a case that runs past its time limit) fails the test. The counts per reader are printed at the
end of the session by ``conftest.pytest_terminal_summary``.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import tempfile
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from xstilts.errors import XstiltsError

CASE_TIMEOUT_S = 10.0
FUZZ_EXAMPLES = int(os.environ.get("XSTILTS_FUZZ_EXAMPLES", "200"))

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)


@dataclass
class Tally:
    cases: int = 0  # every input tried
    malformed: int = 0  # inputs that differ from the valid seed (mutated bytes or structure)
    ok: int = 0  # read successfully
    errors: int = 0  # ended in the project's own error
    unhandled: int = 0  # anything else (the test fails)
    timeouts: int = 0  # ran past CASE_TIMEOUT_S (counted in unhandled too)


STATS: dict[str, Tally] = defaultdict(Tally)


def fuzz_table(stats: dict[str, Tally]) -> list[str]:
    """Per reader: cases tried, how they ended, unhandled and timeouts; then the totals."""
    width = max(len(k) for k in stats) + 2
    cols = ("cases", "malformed", "read ok", "own error", "unhandled", "timeouts")
    lines = [f"{'reader':<{width}}" + "".join(f"{c:>11}" for c in cols)]
    for name in sorted(stats):
        t = stats[name]
        vals = (t.cases, t.malformed, t.ok, t.errors, t.unhandled, t.timeouts)
        lines.append(f"{name:<{width}}" + "".join(f"{v:>11}" for v in vals))
    for name in sorted(stats):
        t = stats[name]
        lines.append(
            f"reader {name}: {t.cases} cases ({t.malformed} malformed), {t.unhandled} unhandled, "
            f"{t.timeouts} timeouts"
        )
    total = sum(t.cases for t in stats.values())
    bad = sum(t.unhandled for t in stats.values())
    hung = sum(t.timeouts for t in stats.values())
    lines.append(
        f"total: {total} cases over {len(stats)} readers, {bad} unhandled, {hung} timeouts"
    )
    return lines


class CaseTimeout(BaseException):
    """A fuzz case ran past ``CASE_TIMEOUT_S`` (a hang). BaseException: no ``except Exception``
    in the code under test can swallow it."""


@contextmanager
def time_limit(seconds: float = CASE_TIMEOUT_S):
    """Raise ``CaseTimeout`` in the main thread after ``seconds`` (SIGALRM)."""

    def _alarm(signum, frame):
        raise CaseTimeout(f"case ran longer than {seconds}s")

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@contextmanager
def case_dir():
    with tempfile.TemporaryDirectory(prefix="xstilts-fuzz-") as d:
        yield Path(d)


_LOCATED = re.compile(r":(\d+|\$[^\s]*)$")


def run_case(
    target: str,
    call: Callable[[], Any],
    *,
    names: list[str],
    malformed: bool,
    require_ok: bool = False,
) -> Any:
    """Run one case and check its outcome; ``names``: strings one of which the error must name
    (the case's file paths, or config field names)."""
    tally = STATS[target]
    tally.cases += 1
    tally.malformed += bool(malformed)
    try:
        with time_limit():
            result = call()
    except XstiltsError as exc:
        tally.errors += 1
        line = exc.one_line()
        assert "\n" not in line, line
        assert line.strip(), "empty error message"
        assert any(n and n in line for n in names), (
            f"{target}: error does not name the file or field ({names}): {line}"
        )
        assert not require_ok, f"{target}: a valid input was refused: {line}"
        if os.environ.get("XSTILTS_FUZZ_LOG"):  # to read the messages a fuzz run produced
            with open(os.environ["XSTILTS_FUZZ_LOG"], "a", encoding="utf-8") as fh:
                fh.write(f"{target}\t{type(exc).__name__}\t{line[:300]!r}\n")
        return exc
    except BaseException as exc:  # noqa: BLE001 (the whole point: nothing else may escape)
        tally.unhandled += 1
        tally.timeouts += isinstance(exc, CaseTimeout)
        raise AssertionError(f"{target}: unhandled {type(exc).__name__}: {str(exc)[:300]}") from exc
    tally.ok += 1
    return result


# --------------------------------------------------------------------------------------------
# mutations: byte-level (any text file) and structural (JSON documents / JSON lines)
# --------------------------------------------------------------------------------------------

BOM = "\ufeff".encode()
INSERTS = [
    b"\t",
    b"\t\t",
    b"\n",
    b"\r\n",
    b"\r",
    b"\n\n",
    b"\xff",
    b"\xc3",
    b"\xe2\x80",
    b"\xed\xa0\x80",  # an encoded surrogate: invalid UTF-8
    b"\x00",
    BOM,
    b'"',
    b'""',
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"#",
    b"# comment\n",
    b"-DOCSTART-\n",
    b" @ ",
    b";",
    b"_",
    b" ",
    "\u2028".encode(),
    "\u0085".encode(),
    b"\x0c",
    b"1-2\t",
    b"0.5\t",
    b"nan",
    b"-1",
    b"99999999999999999999999999",
    b"SET \n",
    b"REP 1\n",
]

_pos = st.integers(min_value=0, max_value=2**31)
byte_op = st.one_of(
    st.tuples(st.just("truncate"), st.floats(min_value=0.0, max_value=1.0)),
    st.tuples(st.just("delete_line"), _pos),
    st.tuples(st.just("dup_line"), _pos),
    st.tuples(st.just("swap_lines"), _pos, _pos),
    st.tuples(st.just("insert"), _pos, st.sampled_from(INSERTS)),
    st.tuples(st.just("insert_bytes"), _pos, st.binary(min_size=1, max_size=6)),
    st.tuples(st.just("replace_byte"), _pos, st.integers(0, 255)),
    st.tuples(st.just("drop_field"), _pos, _pos),
    st.tuples(st.just("add_field"), _pos, st.sampled_from(["", "x", "0", "label", " "])),
    st.tuples(st.just("blank_field"), _pos, _pos),
    st.tuples(st.just("bom")),
    st.tuples(st.just("crlf")),
    st.tuples(st.just("no_final_newline")),
    st.tuples(st.just("empty")),
    st.tuples(st.just("only_newlines")),
    st.tuples(st.just("huge_line"), _pos, st.sampled_from([70_000, 1_000_000])),
    st.tuples(st.just("latin1")),
    st.tuples(st.just("utf16")),
)


def random_byte_op(rng: random.Random, inserts: list[bytes] | None = None) -> tuple:
    """A seeded draw of what ``byte_op`` draws (for ``make fuzz``: no hypothesis engine)."""
    pos = lambda: rng.randint(0, 2**31)  # noqa: E731
    kind = rng.choice(BYTE_KINDS)
    if kind == "truncate":
        return (kind, rng.random())
    if kind in ("delete_line", "dup_line"):
        return (kind, pos())
    if kind in ("swap_lines", "drop_field", "blank_field"):
        return (kind, pos(), pos())
    if kind == "insert":
        return (kind, pos(), rng.choice(inserts or INSERTS))
    if kind == "insert_bytes":
        return (kind, pos(), rng.randbytes(rng.randint(1, 6)))
    if kind == "replace_byte":
        return (kind, pos(), rng.randint(0, 255))
    if kind == "add_field":
        return (kind, pos(), rng.choice(["", "x", "0", "label", " "]))
    if kind == "huge_line":
        return (kind, pos(), rng.choice([70_000, 1_000_000]))
    return (kind,)


BYTE_KINDS = [
    "truncate",
    "delete_line",
    "dup_line",
    "swap_lines",
    "insert",
    "insert_bytes",
    "replace_byte",
    "drop_field",
    "add_field",
    "blank_field",
    "bom",
    "crlf",
    "no_final_newline",
    "empty",
    "only_newlines",
    "huge_line",
    "latin1",
    "utf16",
]


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def apply_byte_op(data: bytes, op: tuple) -> bytes:
    kind = op[0]
    lines = _lines(data)
    n = max(1, len(lines))
    if kind == "truncate":
        return data[: int(len(data) * op[1])]
    if kind == "delete_line":
        del lines[op[1] % n : op[1] % n + 1]
        return b"\n".join(lines)
    if kind == "dup_line":
        i = op[1] % n
        lines.insert(i, lines[i] if lines else b"")
        return b"\n".join(lines)
    if kind == "swap_lines":
        if lines:
            i, j = op[1] % n, op[2] % n
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    if kind in ("insert", "insert_bytes"):
        p = op[1] % (len(data) + 1)
        return data[:p] + op[2] + data[p:]
    if kind == "replace_byte":
        if not data:
            return bytes([op[2]])
        p = op[1] % len(data)
        return data[:p] + bytes([op[2]]) + data[p + 1 :]
    if kind in ("drop_field", "blank_field"):
        if not lines:
            return data
        i = op[1] % n
        fields = lines[i].split(b"\t")
        j = op[2] % len(fields)
        if kind == "drop_field":
            del fields[j]
        else:
            fields[j] = b""
        lines[i] = b"\t".join(fields)
        return b"\n".join(lines)
    if kind == "add_field":
        i = op[1] % n
        lines[i] = lines[i] + b"\t" + op[2].encode()
        return b"\n".join(lines)
    if kind == "bom":
        return BOM + data
    if kind == "crlf":
        return data.replace(b"\n", b"\r\n")
    if kind == "no_final_newline":
        return data.rstrip(b"\n")
    if kind == "empty":
        return b""
    if kind == "only_newlines":
        return b"\n\n\n"
    if kind == "huge_line":
        p = op[1] % (len(data) + 1)
        return data[:p] + b"a" * op[2] + data[p:]
    if kind == "latin1":
        try:
            return data.decode("utf-8").encode("latin-1", errors="replace")
        except UnicodeDecodeError:
            return data
    if kind == "utf16":
        try:
            return data.decode("utf-8").encode("utf-16")
        except UnicodeDecodeError:
            return data
    raise AssertionError(kind)


# Values of the wrong type (or out of range) for any JSON field.
WRONG_VALUES = [
    None,
    0,
    -1,
    7,
    10**30,
    1.5,
    float("nan"),
    float("inf"),
    "",
    "x",
    "A",
    "cause",
    " 1 ",
    [],
    ["x"],
    [1, 2],
    {},
    {"text": "x"},
    True,
    False,
]

DEEP = "\u0000deep-nesting\u0000"
_DEEP_TEXT = "[" * 1200 + "1" + "]" * 1200

json_op = st.one_of(
    st.tuples(st.just("delete"), _pos),
    st.tuples(st.just("set"), _pos, st.sampled_from(range(len(WRONG_VALUES)))),
    st.tuples(st.just("rename"), _pos),
    st.tuples(st.just("wrap"), _pos),  # value -> [value]
    st.tuples(st.just("deep"), _pos),  # value -> 1,200 nested arrays
    st.tuples(st.just("root"), st.sampled_from(range(len(WRONG_VALUES)))),
)


def random_json_op(rng: random.Random) -> tuple:
    """A seeded draw of what ``json_op`` draws."""
    pos = rng.randint(0, 2**31)
    kind = rng.choice(["delete", "set", "rename", "wrap", "deep", "root"])
    if kind == "set":
        return (kind, pos, rng.randrange(len(WRONG_VALUES)))
    if kind == "root":
        return (kind, rng.randrange(len(WRONG_VALUES)))
    return (kind, pos)


def random_case(rng: random.Random, json_mode: bool, inserts: list[bytes] | None = None) -> dict:
    """A seeded draw of the fuzz ``case`` dictionaries; every case mutates something."""
    c = {
        "file": rng.randint(0, 7),
        "json_ops": [random_json_op(rng) for _ in range(rng.randint(0, 2))],
        "line": rng.randint(0, 2**16),
        "byte_ops": [random_byte_op(rng, inserts) for _ in range(rng.randint(0, 3))],
        "second": rng.random() < 0.5,
        "remove": rng.randint(0, 15),
    }
    if not c["byte_ops"] and not (c["json_ops"] and json_mode):
        c["byte_ops"] = [random_byte_op(rng, inserts)]
    return c


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def apply_json_op(obj: Any, op: tuple) -> Any:
    """A structurally mutated deep copy of ``obj`` (delete a key, wrong type, nesting...)."""
    obj = json.loads(json.dumps(obj))
    if op[0] == "root":
        return WRONG_VALUES[op[1]]
    paths = [p for p in _paths(obj) if p]
    if not paths:
        return obj
    path = paths[op[1] % len(paths)]
    parent = obj
    for k in path[:-1]:
        parent = parent[k]
    last = path[-1]
    if op[0] == "delete":
        del parent[last]
    elif op[0] == "set":
        parent[last] = WRONG_VALUES[op[2]]
    elif op[0] == "rename" and isinstance(parent, dict):
        parent[f"{last}_renamed"] = parent.pop(last)
    elif op[0] == "wrap":
        parent[last] = [parent[last]]
    elif op[0] == "deep":
        parent[last] = DEEP
    return obj


def dumps(obj: Any) -> str:
    """JSON text; NaN/Infinity as Python's json writes them (they are malformed JSON too); the
    ``DEEP`` marker becomes 1,200 nested arrays (deeper than Python's recursion limit)."""
    return json.dumps(obj, ensure_ascii=False).replace(json.dumps(DEEP), _DEEP_TEXT)


def is_finite_json(obj: Any) -> bool:
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, dict):
        return all(is_finite_json(v) for v in obj.values())
    if isinstance(obj, list):
        return all(is_finite_json(v) for v in obj)
    return True


# --------------------------------------------------------------------------------------------
# a tiny random BERT (a few hundred KB): fast training steps, checkpoints that fit a tiny tmpfs
# --------------------------------------------------------------------------------------------


def build_tiny_bert(out: Path, *, pickled: bool = False, seed: int = 0) -> Path:
    """A 2-layer, 32-wide BERT with a WordPiece vocabulary built from the shipped demo data.

    ``pickled``: weights only as ``pytorch_model.bin`` (``torch.save`` of the state dict), the
    layout the safety checks must refuse without ``allow_pickle``.
    """
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    import xstilts

    demo = Path(xstilts.__file__).parent / "data" / "demo"
    words: dict[str, int] = {}
    chars: set[str] = set()
    for f in sorted(demo.rglob("*.tsv")):
        for w in re.findall(r"\w+|[^\w\s]", f.read_text(encoding="utf-8").lower()):
            words[w] = words.get(w, 0) + 1
            chars.update(w)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += sorted(chars) + [f"##{c}" for c in sorted(chars)]
    vocab += [w for w, _ in sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:400]]
    vocab = list(dict.fromkeys(vocab))
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)
    tok.save_pretrained(str(out))
    cfg = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    torch.manual_seed(seed)
    model = BertModel(cfg, add_pooling_layer=False)
    if pickled:
        cfg.save_pretrained(str(out))
        torch.save(model.state_dict(), out / "pytorch_model.bin")
    else:
        model.save_pretrained(str(out), safe_serialization=True)
    return out


def tiny_config(model: Path | str, **over: Any) -> dict[str, Any]:
    """A baseline pipeline on ``demo-sentiment``: 6 steps (one epoch of 24 rows), checkpoints
    every 2 steps, best-on-dev selection, evaluation on 12 rows of en and de."""
    phase = {
        "learning_rate": 1e-3,
        "max_steps": 6,
        "batch_size": 4,
        "max_length": 32,
        "max_examples": 24,
        "warmup": 0.0,
        "checkpoint_every": 2,
        "select_best": True,
    }
    cfg: dict[str, Any] = {
        "name": "faults",
        "model": str(model),
        "intermediate": [],
        "baseline": True,
        "targets": ["demo-sentiment"],
        "seeds": [1],
        "phases": {"target": phase},
        "evaluation": {"languages": ["en", "de"], "max_examples": 12},
    }
    cfg.update(over)
    return cfg


def comparable(out: Path) -> list[dict[str, Any]]:
    """Result rows of a run without timing fields (``extra.seconds``), for exact comparisons."""
    from xstilts.experiments.results import ResultsStore

    rows = []
    for r in ResultsStore(out).rows():
        r = dict(r)
        r["extra"] = {k: v for k, v in (r.get("extra") or {}).items() if k != "seconds"}
        rows.append(r)
    return rows
