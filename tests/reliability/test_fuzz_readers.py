"""Fuzzed data readers: every reader in ``READERS`` and every lexicon / typo-list reader.

Each reader starts from a small slice of a real file in ``../shared/data`` (or, for formats with
no real data here, a file in the official layout filled with real sentences), written to a fresh
temp dir, then mutated: truncated, lines deleted / duplicated / swapped, tabs and fields added or
dropped, invalid UTF-8, BOMs, CRLF, NULs, UTF-16 and Latin-1 re-encodings, empty files, huge
lines, parallel files of different lengths, a twin file missing; JSON inputs also get structural
mutations (missing keys, wrong types, NaN, huge numbers, 5,000-deep nesting). Every case must end
in a successful read or in the project's own error naming the file (and line or JSON field),
within a time limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from relkit import (
    FUZZ_SETTINGS,
    apply_byte_op,
    apply_json_op,
    byte_op,
    case_dir,
    dumps,
    json_op,
    run_case,
)

from xstilts.data.readers import READERS, read
from xstilts.errors import DataError
from xstilts.perturb import lexicons


def _import_all() -> None:
    """Import every xstilts module, so that every reader any of them registers is in READERS."""
    import importlib
    import pkgutil

    import xstilts

    for m in pkgutil.walk_packages(xstilts.__path__, "xstilts."):
        try:
            importlib.import_module(m.name)
        except ImportError:  # optional extras (ray, mlflow, ...)
            pass


_import_all()


@dataclass
class Seed:
    """A valid input: files (name -> bytes), the file the reader is pointed at, its params."""

    files: dict[str, bytes]
    main: str
    call: Callable[[Path], Any]
    json_mode: dict[str, str] = field(default_factory=dict)  # file -> "doc" | "lines"
    extra_names: list[str] = field(default_factory=list)


def _head(path: Path, n: int) -> bytes:
    lines = path.read_bytes().split(b"\n")[:n]
    return b"\n".join(lines) + b"\n"


def _sentences(path: Path, n: int) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").split("\n") if ln.strip()][:n]


def _reader(fmt: str, params: dict | None = None) -> Callable[[str], Callable[[Path], Any]]:
    def bind(main: str) -> Callable[[Path], Any]:
        return lambda d: read(fmt, d / main, params)

    return bind


def _jsonl(rows: list[dict]) -> bytes:
    return ("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n").encode()


def _squad_slice(path: Path, paragraphs: int = 2, qas: int = 2) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    art = doc["data"][0]
    paras = [{**p, "qas": p["qas"][:qas]} for p in art["paragraphs"][:paragraphs]]
    return {"version": doc.get("version", "1.1"), "data": [{**art, "paragraphs": paras}]}


def _seeds(data: Path) -> dict[str, Seed]:
    xnli = data / "xnli" / "dev-de.tsv"
    siqa_rows = [json.loads(x) for x in _sentences(data / "siqa" / "socialIQa_v1.4_dev.jsonl", 6)]
    xnli_rows = [ln.split("\t") for ln in _sentences(xnli, 10)]
    nli_labels = ["entailment", "neutral", "contradiction"]
    seeds: dict[str, Seed] = {}

    def add(name: str, files: dict[str, bytes], main: str, bind, **kw: Any) -> None:
        seeds[name] = Seed(files, main, bind(main), **kw)

    add(
        "tsv", {"dev-de.tsv": _head(xnli, 12)}, "dev-de.tsv", _reader("tsv", {"labels": nli_labels})
    )
    add(
        "tsv_header",
        {"japanese_valid.tsv": _head(data / "marc_3class_zh_ja" / "japanese_valid.tsv", 11)},
        "japanese_valid.tsv",
        _reader("tsv_header", {"labels": ["negative", "neutral", "positive"]}),
    )
    add(
        "jsonl",
        {
            "dev.jsonl": _jsonl(
                [{"sentence1": a, "sentence2": b, "label": c} for a, b, c in xnli_rows]
            )
        },
        "dev.jsonl",
        _reader("jsonl", {"labels": nli_labels}),
        json_mode={"dev.jsonl": "lines"},
    )
    umsab = data / "xlmt_umsab_sentiment" / "hindi"
    add(
        "text_labels",
        {
            "val_text.txt": _head(umsab / "val_text.txt", 12),
            "val_labels.txt": _head(umsab / "val_labels.txt", 12),
        },
        "val_text.txt",
        _reader("text_labels", {"label_map": {"0": "negative", "1": "neutral", "2": "positive"}}),
    )
    stsb = "sentence1\tsentence2\tscore\n" + "".join(
        f"{a}\t{b}\t{(i * 0.45):.2f}\n" for i, (a, b, _) in enumerate(xnli_rows)
    )
    add("stsb", {"sts-dev.tsv": stsb.encode()}, "sts-dev.tsv", _reader("stsb"))
    add(
        "tagging_tsv",
        {"dev-de.tsv": _head(data / "panx" / "dev-de.tsv", 24)},
        "dev-de.tsv",
        _reader("tagging_tsv"),
    )
    gsd = data / "ud" / "UD_German-GSD"
    add(
        "conllu",
        {"de_gsd-ud-dev.conllu": _head(gsd / "de_gsd-ud-dev.conllu", 30)},
        "de_gsd-ud-dev.conllu",
        _reader("conllu"),
    )
    add(
        "concat",
        {
            "de_gsd-ud-dev.conllu": _head(gsd / "de_gsd-ud-dev.conllu", 19),
            "de_gsd-ud-test.conllu": _head(gsd / "de_gsd-ud-test.conllu", 30),
        },
        "de_gsd-ud-dev.conllu",
        _reader("concat", {"format": "conllu", "files": ["de_gsd-ud-test.conllu"]}),
    )
    add(
        "squad",
        {"xquad.de.json": dumps(_squad_slice(data / "xquad" / "xquad.de.json")).encode()},
        "xquad.de.json",
        _reader("squad"),
        json_mode={"xquad.de.json": "doc"},
    )
    add(
        "exclude",
        {
            "dev.json": dumps(_squad_slice(data / "xquad" / "xquad.de.json")).encode(),
            "drop.json": dumps(_squad_slice(data / "xquad" / "xquad.de.json", 1, 1)).encode(),
        },
        "dev.json",
        _reader("exclude", {"format": "squad", "exclude": ["drop.json"]}),
        json_mode={"dev.json": "doc", "drop.json": "doc"},
    )
    mlqa = "dev-context-de-question-en.json"
    add(
        "mlqa",
        {mlqa: dumps(_squad_slice(data / "mlqa" / "MLQA_V1" / "dev" / mlqa)).encode()},
        mlqa,
        _reader("mlqa"),
        json_mode={mlqa: "doc"},
    )
    add(
        "xcopa",
        {"val.it.jsonl": _head(data / "xcopa" / "data" / "it" / "val.it.jsonl", 6)},
        "val.it.jsonl",
        _reader("xcopa"),
        json_mode={"val.it.jsonl": "lines"},
    )
    add(
        "siqa",
        {"dev.jsonl": _jsonl(siqa_rows)},
        "dev.jsonl",
        _reader("siqa"),
        json_mode={"dev.jsonl": "lines"},
    )
    hella = [
        {
            "ctx_a": r["context"],
            "ctx_b": r["question"],
            "endings": [r["answerA"], r["answerB"], r["answerC"], r["answerA"] + "!"],
            "label": "ABC".index(r["correct"]),
        }
        for r in siqa_rows
    ]
    add(
        "hellaswag",
        {"hellaswag_val.jsonl": _jsonl(hella)},
        "hellaswag_val.jsonl",
        _reader("hellaswag"),
        json_mode={"hellaswag_val.jsonl": "lines"},
    )
    csqa = [
        {
            "id": f"q{i}",
            "question": {
                "stem": r["question"],
                "choices": [{"label": c, "text": r[f"answer{c}"]} for c in "ABC"],
            },
            "answerKey": r["correct"],
        }
        for i, r in enumerate(siqa_rows)
    ]
    add(
        "commonsenseqa",
        {"dev_rand_split.jsonl": _jsonl(csqa)},
        "dev_rand_split.jsonl",
        _reader("commonsenseqa"),
        json_mode={"dev_rand_split.jsonl": "lines"},
    )
    cosmos = [
        {
            "id": f"c{i}",
            "context": r["context"],
            "question": r["question"],
            **{
                f"answer{j}": (r["answerA"], r["answerB"], r["answerC"], "None of the above")[j]
                for j in range(4)
            },
            "label": "ABC".index(r["correct"]),
        }
        for i, r in enumerate(siqa_rows)
    ]
    add(
        "cosmosqa",
        {"valid.jsonl": _jsonl(cosmos)},
        "valid.jsonl",
        _reader("cosmosqa"),
        json_mode={"valid.jsonl": "lines"},
    )
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(cosmos[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(cosmos)
    add("cosmosqa-csv", {"valid.csv": buf.getvalue().encode()}, "valid.csv", _reader("cosmosqa"))
    mc = [
        {
            "meta": {"ctx": r["context"]},
            "q": r["question"],
            "opts": [r["answerA"], r["answerB"], r["answerC"]],
            "gold": r["correct"],
        }
        for r in siqa_rows
    ]
    add(
        "mc_jsonl",
        {"mc.jsonl": _jsonl(mc)},
        "mc.jsonl",
        _reader(
            "mc_jsonl",
            {
                "context": "meta.ctx",
                "question": "q",
                "choices": "opts",
                "label": "gold",
                "label_format": "letter",
            },
        ),
        json_mode={"mc.jsonl": "lines"},
    )
    tato = data / "tatoeba"
    add(
        "tatoeba",
        {
            "tatoeba.deu-eng.deu": _head(tato / "tatoeba.deu-eng.deu", 10),
            "tatoeba.deu-eng.eng": _head(tato / "tatoeba.deu-eng.eng", 10),
        },
        "tatoeba.deu-eng.deu",
        _reader("tatoeba"),
    )
    add("bucc", _bucc_slice(data / "bucc2018"), "zh-en.dev", _reader("bucc"))
    de, en = (
        _sentences(tato / "tatoeba.deu-eng.deu", 6),
        _sentences(tato / "tatoeba.deu-eng.eng", 8),
    )
    add(
        "text_lines",
        {
            "mlm/de.txt": _head(tato / "tatoeba.deu-eng.deu", 8),
            "mlm/en.txt": _head(tato / "tatoeba.deu-eng.eng", 8),
        },
        "mlm",
        _reader("text_lines", {"pattern": "*.txt", "max_lines_per_file": 6}),
    )
    add(
        "ranking_jsonl",
        {
            "queries.de.jsonl": _jsonl(
                [{"id": f"q{i}", "text": t, "relevant": [f"c{i}"]} for i, t in enumerate(de)]
            ),
            "candidates.jsonl": _jsonl([{"id": f"c{i}", "text": t} for i, t in enumerate(en)]),
        },
        "queries.de.jsonl",
        _reader("ranking_jsonl", {"candidates": "candidates.jsonl"}),
        json_mode={"queries.de.jsonl": "lines", "candidates.jsonl": "lines"},
    )
    noisy = "test_de_typos_0.05.tsv"
    add(
        "stickland_xnli",
        {
            noisy: _head(data / "stickland2023_typos" / "xnli" / noisy, 7),
            "xnli/test-de.tsv": _head(data / "xnli" / "test-de.tsv", 36),
        },
        noisy,
        _reader("stickland_xnli", {"clean_dir": "xnli", "side": "noisy"}),
    )

    # lexicons and typo lists (perturb/lexicons.py)
    def lex(fn):
        return lambda main: lambda d: fn(d / main)

    add(
        "lexicon:typo_pairs",
        {"curated.dic": _head(data / "typos_de_wikipedia_hroest" / "curated.dic", 20)},
        "curated.dic",
        lex(lexicons.read_typo_pairs),
    )
    vi = []
    for ln in _sentences(data / "viwiki_spelling" / "spelling_test.json", 2):
        doc = json.loads(ln)
        vi.append({"_id": doc["_id"], "text": doc["text"][:300], "mistakes": doc["mistakes"][:4]})
    add(
        "lexicon:viwiki",
        {"spelling_test.json": _jsonl(vi)},
        "spelling_test.json",
        lex(lexicons.read_viwiki),
        json_mode={"spelling_test.json": "lines"},
    )
    aff = "SET UTF-8\nTRY esianrtolcdugmphbyfvkwzESIANRTOLCDUGMPHBYFVKWZ\nREP 4\nREP f ph\nREP ph f\nREP ss ß\nREP ä ae\n"
    add(
        "lexicon:hunspell",
        {"de_DE.aff": aff.encode()},
        "de_DE.aff",
        lex(lexicons.read_hunspell_rep),
    )
    add(
        "lexicon:muse",
        {"en-de.dict": _head(data / "muse_dicts" / "dict" / "en-de.dict", 20)},
        "en-de.dict",
        lex(lexicons.read_muse),
    )
    add(
        "lexicon:tsv_dict",
        {"spanish.txt": _head(data / "wechsel_dicts" / "data" / "spanish.txt", 20)},
        "spanish.txt",
        lex(lexicons.read_tsv_dict),
    )
    return seeds


def _bucc_slice(d: Path) -> dict[str, bytes]:
    gold = [ln.split("\t") for ln in _sentences(d / "zh-en.dev.gold", 4)]
    want_zh, want_en = {g[0] for g in gold}, {g[1] for g in gold}
    zh = [ln for ln in _sentences(d / "zh-en.dev.zh", 10_000) if ln.split("\t")[0] in want_zh]
    en = [ln for ln in _sentences(d / "zh-en.dev.en", 20_000) if ln.split("\t")[0] in want_en]
    zh += _sentences(d / "zh-en.dev.zh", 3)
    en += _sentences(d / "zh-en.dev.en", 3)
    return {
        "zh-en.dev.zh": ("\n".join(zh) + "\n").encode(),
        "zh-en.dev.en": ("\n".join(en) + "\n").encode(),
        "zh-en.dev.gold": ("\n".join("\t".join(g) for g in gold) + "\n").encode(),
    }


class _Bank(dict):
    def __repr__(self) -> str:  # hypothesis prints the test's arguments on a failure
        return f"<{len(self)} seeds>"


_SEEDS: dict[str, Seed] = _Bank()


@pytest.fixture(scope="module")
def seeds(shared_data: Path) -> dict[str, Seed]:
    if not _SEEDS:
        _SEEDS.update(_seeds(shared_data))
    return _SEEDS


# Every reader in READERS (checked below: a new reader without a seed fails the suite).
READER_TARGETS = [
    "bucc",
    "commonsenseqa",
    "concat",
    "conllu",
    "cosmosqa",
    "exclude",
    "hellaswag",
    "jsonl",
    "mc_jsonl",
    "mlqa",
    "ranking_jsonl",
    "siqa",
    "squad",
    "stickland_xnli",
    "stsb",
    "tagging_tsv",
    "tatoeba",
    "text_labels",
    "text_lines",
    "tsv",
    "tsv_header",
    "xcopa",
]
TARGETS = [
    *READER_TARGETS,
    "cosmosqa-csv",
    "lexicon:typo_pairs",
    "lexicon:viwiki",
    "lexicon:hunspell",
    "lexicon:muse",
    "lexicon:tsv_dict",
]


def test_every_reader_is_fuzzed(seeds: dict[str, Seed]) -> None:
    missing = set(READERS.names()) - set(READER_TARGETS)
    assert not missing, f"readers without a fuzz seed in {__file__}: {sorted(missing)}"
    assert set(TARGETS) == set(seeds)


def _write(d: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)


@pytest.fixture(autouse=True, scope="module")
def _private_cache(rel_cache: Path):
    """Readers that cache (the stickland alignment) write into the session's cache, not ~."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XSTILTS_CACHE", str(rel_cache))
        yield


@pytest.mark.parametrize("target", TARGETS)
def test_seed_is_read(target: str, seeds: dict[str, Seed]) -> None:
    """The unmutated slice of real data reads (so a fuzz case that fails is the mutation's)."""
    seed = seeds[target]
    with case_dir() as d:
        _write(d, seed.files)
        out = run_case(
            target, lambda: seed.call(d), names=[str(d)], malformed=False, require_ok=True
        )
    if isinstance(out, lexicons.Lexicon):
        assert out.to_english
    else:
        assert len(out) > 0


def _json_mutate(data: bytes, mode: str, ops: list[tuple], line_pick: int) -> bytes:
    if mode == "doc":
        obj = json.loads(data)
        for op in ops:
            obj = apply_json_op(obj, op)
        return dumps(obj).encode()
    lines = data.decode("utf-8").rstrip("\n").split("\n")
    i = line_pick % len(lines)
    obj = json.loads(lines[i])
    for op in ops:
        obj = apply_json_op(obj, op)
    lines[i] = dumps(obj)
    return ("\n".join(lines) + "\n").encode()


case = st.fixed_dictionaries(
    {
        "file": st.integers(0, 7),
        "json_ops": st.lists(json_op, max_size=2),
        "line": st.integers(0, 2**16),
        "byte_ops": st.lists(byte_op, max_size=3),
        "second": st.booleans(),  # also mutate another file of a multi-file input
        "remove": st.integers(0, 15),  # 0: remove the picked file (a missing twin)
    }
)


@pytest.mark.parametrize("target", TARGETS)
@FUZZ_SETTINGS
@given(c=case, data=st.data())
def test_fuzzed_reader(target: str, seeds: dict[str, Seed], c: dict, data) -> None:
    seed = seeds[target]
    if not c["byte_ops"] and not (c["json_ops"] and seed.json_mode):
        c["byte_ops"] = [data.draw(byte_op)]  # every case mutates something
    names = sorted(seed.files)
    files = dict(seed.files)
    pick = names[c["file"] % len(names)]
    picks = [pick]
    if c["second"] and len(names) > 1:
        picks.append(names[(c["file"] + 1) % len(names)])
    for k, name in enumerate(picks):
        data = files[name]
        mode = seed.json_mode.get(name)
        if mode and c["json_ops"] and k == 0:
            data = _json_mutate(data, mode, c["json_ops"], c["line"])
        for op in c["byte_ops"]:
            data = apply_byte_op(data, op)
        files[name] = data
    removed = c["remove"] == 0 and len(names) > 1
    if removed:
        del files[pick]
    malformed = files != seed.files
    with case_dir() as d:
        _write(d, files)
        out = run_case(target, lambda: seed.call(d), names=[str(d)], malformed=malformed)
    if isinstance(out, DataError):
        # names the file of the case (and where possible the line or JSON field)
        assert out.where and str(d) in out.where, out.one_line()
