"""Parallel input sets for alignment probes, read through the tasks' own ``TaskSpec``s.

An input set is a task (``tatoeba``, ``bucc2018``, ``xnli``, ``pawsx``, ``xquad``, the shipped
``demo-sentiment`` reviews, which need no data directory, or any other):
its languages, file paths and readers come from its YAML, so alignment knows no language list or
path of its own. What the rows look like decides how sentences pair up:

* a mining corpus (``src_texts`` and ``gold``, BUCC): two unaligned sides and gold pairs;
* a retrieval task with sentence pairs (Tatoeba): ``text_a`` translates ``text_b`` (English);
* a QA task (``context``, XQuAD): its paragraphs, in the same order in every language;
* any other task (XNLI, PAWS-X): the first text field, row-parallel with the English file; rows
  whose English text repeats (XNLI has 3 hypotheses per premise) are dropped, so every English
  sentence has exactly one translation.

The split is ``dev`` where the language has one, else ``test``. Default languages: the task's
benchmark lists (``defaults.benchmark_languages``, all of them) or else its languages, minus its
training language, kept where the files are on disk.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path

from xstilts.errors import ConfigError, DataError, UnknownNameError
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec


@dataclass
class ParallelSet:
    """Row-aligned sentences: ``src[i]`` (language ``lang``) translates ``tgt[i]`` (English)."""

    name: str
    lang: str
    split: str
    src: list[str]
    tgt: list[str]
    ids: list[str]
    source_fp: str  # where the rows came from (file sizes and mtimes)
    metric: str = "retrieval_acc"  # the name of its top-1 accuracy rows

    def __len__(self) -> int:
        return len(self.src)


@dataclass
class MiningSet:
    """A BUCC corpus: unaligned sides and the gold (src_id, tgt_id) translation pairs."""

    name: str
    lang: str
    split: str
    src_ids: list[str]
    src: list[str]
    tgt_ids: list[str]
    tgt: list[str]
    gold: list[tuple[str, str]] = field(default_factory=list)
    source_fp: str = ""


def input_spec(name: str) -> TaskSpec:
    try:
        return get_task(name)
    except UnknownNameError:
        raise ConfigError(
            f"unknown input set {name!r} (not a task)", where="alignment.inputs"
        ) from None


def _fp(*paths: Path) -> str:
    parts = []
    for p in paths:
        st = p.stat()
        parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _need_dir(data_dir: Path | None, name: str) -> Path:
    if data_dir is None:
        raise ConfigError(
            f"input set {name!r} needs a data directory (--data-dir or XSTILTS_DATA_DIR)",
            where="alignment.inputs",
        )
    return Path(data_dir)


def split_of(spec: TaskSpec, lang: str) -> str:
    return "dev" if spec.has_split("dev", lang) else "test"


def _local_files(spec: TaskSpec, split: str, lang: str, data_dir: Path | None) -> list[Path] | None:
    """The local file of (split, language) and its siblings sharing its stem (Tatoeba's ``.eng``
    side, BUCC's other side and gold), resolved file first; None when it is not on disk."""
    from xstilts.data.sources import resolve_local

    for src in spec.split_sources(split, lang):
        path = resolve_local(src, spec, lang, data_dir)
        if path is not None:
            stem = path.name.rsplit(".", 1)[0]
            sib = sorted(p for p in path.parent.glob(f"{stem}.*") if p != path and p.is_file())
            return [path, *sib]
    return None


def _pairs_in_rows(spec: TaskSpec, ex: list[dict]) -> bool:
    """A retrieval task whose rows are translation pairs (Tatoeba): text_b is the English."""
    return spec.protocol == "retrieval" and bool(ex) and "text_b" in ex[0]


def input_files(name: str, lang: str, data_dir: Path | None) -> list[Path]:
    """The files (input set, language) reads, and the English file of the same split when the
    task has one (row-parallel sets); empty when the language's file is not on disk. A task
    shipped with the project (``demo:`` paths) needs no data directory."""
    spec = input_spec(name)
    split = split_of(spec, lang)
    root = Path(data_dir) if data_dir is not None else None
    files = _local_files(spec, split, lang, root)
    if files is None:
        return []
    en = _local_files(spec, split, spec.train_language, root)
    return files + (en[:1] if en and en[0] not in files else [])


def available(name: str, lang: str, data_dir: Path | None) -> bool:
    """Whether the data for (input set, language) is on disk (decided at plan time)."""
    spec = input_spec(name)
    return lang != spec.train_language and bool(input_files(name, lang, data_dir))


def data_fingerprint(name: str, lang: str, data_dir: Path | None) -> str:
    """Sizes and mtimes of the files (input set, language) reads (for step keys)."""
    return _fp(*input_files(name, lang, data_dir))


def default_languages(spec: TaskSpec) -> list[str]:
    """The task's benchmark languages (every benchmark it declares), else all its languages."""
    bench = spec.defaults.get("benchmark_languages") or {}
    langs = [lang for v in bench.values() for lang in v] or list(spec.languages)
    return [lang for lang in dict.fromkeys(langs) if lang != spec.train_language]


def languages_for(name: str, asked: list[str] | None, data_dir: Path | None) -> list[str]:
    """The languages of ``name`` to probe: the asked ones it has, else all it has on disk."""
    spec = input_spec(name)
    cands = asked if asked is not None else sorted(default_languages(spec))
    return [lang for lang in cands if lang in spec.languages and available(name, lang, data_dir)]


def resolve_languages(
    inputs: list[str], asked: list[str] | None, data_dir: Path | None
) -> dict[str, list[str]]:
    """Per input set, its languages; an asked language no input set has is a config error."""
    out = {name: languages_for(name, asked, data_dir) for name in inputs}
    if asked is not None:
        missing = [
            lang for lang in asked if lang != "en" and not any(lang in v for v in out.values())
        ]
        if missing:
            raise ConfigError(
                f"no data for language(s) {', '.join(missing)} in input sets "
                f"{', '.join(inputs)} (data dir {data_dir})",
                where="alignment.languages",
            )
    for name, langs in out.items():
        if not langs:
            raise ConfigError(
                f"input set {name!r} has no data for the asked languages in {data_dir}",
                where="alignment.inputs",
            )
    return out


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------


def _examples(spec: TaskSpec, split: str, lang: str, data_dir: Path | None) -> list[dict]:
    from xstilts.data.sources import load_examples

    ex, _ = load_examples(spec, split, lang, data_dir)
    return ex


def _dedupe(src: list[str], tgt: list[str], ids: list[str]) -> tuple[list, list, list]:
    """Keep the first row of each English text (and of each source text)."""
    seen_t: set[str] = set()
    seen_s: set[str] = set()
    out: tuple[list, list, list] = ([], [], [])
    for s, t, i in zip(src, tgt, ids, strict=True):
        if t in seen_t or s in seen_s or not s.strip() or not t.strip():
            continue
        seen_t.add(t)
        seen_s.add(s)
        out[0].append(s)
        out[1].append(t)
        out[2].append(i)
    return out


def _cut(ps: ParallelSet, max_n: int | None) -> ParallelSet:
    if max_n is not None and len(ps) > max_n:
        ps.src, ps.tgt, ps.ids = ps.src[:max_n], ps.tgt[:max_n], ps.ids[:max_n]
        ps.source_fp += f":first{max_n}"
    return ps


def _contexts(ex: list[dict]) -> list[str]:
    """A QA file's paragraphs in order (its questions come paragraph by paragraph)."""
    out: list[str] = []
    for e in ex:
        if not out or out[-1] != e["context"]:
            out.append(e["context"])
    return out


def load(
    name: str, lang: str, data_dir: Path | None, max_n: int | None, seed: int = 0
) -> ParallelSet | MiningSet:
    """The sentences of input set ``name`` for ``lang``: a mining corpus when its reader yields
    one (both sides and gold), else row-aligned (``lang``, English) pairs."""
    if not input_files(name, lang, data_dir):
        _need_dir(data_dir, name)
    spec = input_spec(name)
    split = split_of(spec, lang)
    ex = _examples(spec, split, lang, data_dir)
    if len(ex) == 1 and "src_texts" in ex[0] and "gold" in ex[0]:
        return _mining(
            name, lang, split, ex[0], data_fingerprint(name, lang, data_dir), max_n, seed
        )
    fp = data_fingerprint(name, lang, data_dir)
    if _pairs_in_rows(spec, ex):
        ps = ParallelSet(
            name,
            lang,
            split,
            [e["text_a"] for e in ex],
            [e["text_b"] for e in ex],
            [e["id"] for e in ex],
            fp,
            metric=f"{name}_acc",
        )
        return _cut(ps, max_n)
    en = _examples(spec, split, spec.train_language, data_dir)
    if ex and "context" in ex[0]:
        src, tgt = _contexts(ex), _contexts(en)
        if len(src) != len(tgt):
            raise DataError(
                f"{len(src)} contexts vs {len(tgt)} in English", where=f"{name} {split} {lang}"
            )
        ids = [f"{name}-{lang}-{i}" for i in range(len(src))]
        return _cut(ParallelSet(name, lang, split, src, tgt, ids, fp), max_n)
    field0 = spec.text_fields[0]
    src, tgt = [e[field0] for e in ex], [e[field0] for e in en]
    if len(src) != len(tgt):
        raise DataError(
            f"{name} {split}-{lang} has {len(src)} rows but {split}-en {len(tgt)}: "
            "not row-parallel",
            where=f"{name} {split} {lang}",
        )
    s, t, i = _dedupe(src, tgt, [f"{name}-{lang}-{x}" for x in range(len(src))])
    return _cut(ParallelSet(name, lang, split, s, t, i, fp), max_n)


def _mining(
    name: str, lang: str, split: str, c: dict, fp: str, max_n: int | None, seed: int
) -> MiningSet:
    """A mining corpus; with ``max_n``, a seeded subsample of at most ``max_n`` sentences per
    side that keeps the gold pairs of up to ``max_n // 4`` of them (the rest are distractors), so
    the mining task stays a needle-in-a-haystack one."""
    if not c["gold"]:
        raise DataError(f"{name} {split} {lang} has no gold pairs", where="alignment.inputs")
    ms = MiningSet(
        name, lang, split, c["src_ids"], c["src_texts"], c["tgt_ids"], c["tgt_texts"],
        [tuple(g) for g in c["gold"]], fp,
    )  # fmt: skip
    if max_n is None or (len(ms.src) <= max_n and len(ms.tgt) <= max_n):
        return ms
    rng = random.Random(seed)
    gold = sorted(ms.gold)
    rng.shuffle(gold)
    gold = gold[: max(1, max_n // 4)]
    keep_s, keep_t = {g[0] for g in gold}, {g[1] for g in gold}
    rest_s = [i for i in ms.src_ids if i not in keep_s]
    rest_t = [i for i in ms.tgt_ids if i not in keep_t]
    keep_s |= set(rng.sample(rest_s, max(0, min(len(rest_s), max_n - len(keep_s)))))
    keep_t |= set(rng.sample(rest_t, max(0, min(len(rest_t), max_n - len(keep_t)))))
    s = [(i, x) for i, x in zip(ms.src_ids, ms.src, strict=True) if i in keep_s]
    t = [(i, x) for i, x in zip(ms.tgt_ids, ms.tgt, strict=True) if i in keep_t]
    ms.src_ids, ms.src = [i for i, _ in s], [x for _, x in s]
    ms.tgt_ids, ms.tgt = [i for i, _ in t], [x for _, x in t]
    ms.gold = [g for g in ms.gold if g[0] in keep_s and g[1] in keep_t]
    ms.source_fp += f":sample{max_n}:{seed}"
    return ms
