"""Parallel input sets for alignment probes: row i of the non-English side translates row i of
the English side.

* ``tatoeba``: XTREME's Tatoeba sets (``tatoeba.<xxx>-eng.{<xxx>,eng}``); configs use two-letter
  codes (XTREME's mapping below) or the files' own three-letter codes.
* ``xnli`` / ``pawsx``: the dev files are row-parallel translations; the first text field is used
  and rows whose English text repeats (XNLI has 3 hypotheses per premise) are dropped, so every
  English sentence has exactly one translation.
* ``xquad``: the paragraphs (contexts), which are in the same order in every language.
* ``bucc2018``: a mining corpus (two unaligned sides and gold pairs), kept separately.
* ``demo``: the shipped demo sentiment test files (row i is the same review in every language),
  so the offline demo probes alignment without a data directory.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xstilts.errors import ConfigError, DataError

# XTREME's Tatoeba languages (two-letter code -> file code).
TATOEBA_CODES: dict[str, str] = {
    "af": "afr", "ar": "ara", "bg": "bul", "bn": "ben", "de": "deu", "el": "ell", "es": "spa",
    "et": "est", "eu": "eus", "fa": "pes", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
    "hu": "hun", "id": "ind", "it": "ita", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz",
    "ko": "kor", "ml": "mal", "mr": "mar", "nl": "nld", "pt": "por", "ru": "rus", "sw": "swh",
    "ta": "tam", "te": "tel", "th": "tha", "tl": "tgl", "tr": "tur", "ur": "urd", "vi": "vie",
    "zh": "cmn",
}  # fmt: skip
XNLI_LANGS = ["ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
PAWSX_LANGS = ["de", "es", "fr", "ja", "ko", "zh"]
XQUAD_LANGS = ["ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
BUCC_LANGS = ["de", "fr", "ru", "zh"]


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


def tatoeba_code(lang: str) -> str:
    return TATOEBA_CODES.get(lang, lang)


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


def load_tatoeba(lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    from xstilts.data.readers import read

    root = _need_dir(data_dir, "tatoeba") / "tatoeba"
    code = tatoeba_code(lang)
    path = root / f"tatoeba.{code}-eng.{code}"
    if not path.exists():
        raise ConfigError(f"no Tatoeba file for language {lang!r} ({path})", where="alignment")
    rows = read("tatoeba", path)
    ps = ParallelSet(
        "tatoeba",
        lang,
        "test",
        [r["text_a"] for r in rows],
        [r["text_b"] for r in rows],
        [r["id"] for r in rows],
        _fp(path, path.with_name(f"tatoeba.{code}-eng.eng")),
    )
    return _cut(ps, max_n)


def _task_texts(task: str, lang: str, data_dir: Path | None) -> tuple[list[str], list[str], str]:
    from xstilts.data.sources import load_examples
    from xstilts.tasks.registry import get_task

    spec = get_task(task)
    ex, fp = load_examples(spec, "dev", lang, data_dir)
    return [e["text_a"] for e in ex], [str(e["id"]) for e in ex], fp


def _load_task_set(task: str, lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    _need_dir(data_dir, task)
    src, ids, fp_s = _task_texts(task, lang, data_dir)
    tgt, _, fp_t = _task_texts(task, "en", data_dir)
    if len(src) != len(tgt):
        raise DataError(
            f"{task} dev-{lang} has {len(src)} rows but dev-en {len(tgt)}: not row-parallel",
            where=fp_s,
        )
    s, t, i = _dedupe(src, tgt, [f"{task}-{lang}-{x}" for x in range(len(ids))])
    fp = hashlib.sha256(f"{fp_s}|{fp_t}".encode()).hexdigest()[:16]
    return _cut(ParallelSet(task, lang, "dev", s, t, i, fp), max_n)


def load_demo(lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    """The shipped ``demo-sentiment`` test files: row-parallel, no data directory needed."""
    from xstilts.data.readers import read

    src_p, tgt_p = _demo_files(lang)
    if not src_p.exists():
        raise ConfigError(f"no demo test file for language {lang!r}", where="alignment")
    src, tgt = (
        [r["text_a"] for r in read("tsv_header", p, {"column_map": {"text_a": "text"}})]
        for p in (src_p, tgt_p)
    )
    s, t, i = _dedupe(src, tgt, [f"demo-{lang}-{x}" for x in range(len(src))])
    return _cut(ParallelSet("demo", lang, "test", s, t, i, _fp(src_p, tgt_p)), max_n)


def _demo_files(lang: str) -> tuple[Path, Path]:
    from xstilts.data.sources import DEMO_DIR

    return DEMO_DIR / "sentiment" / f"test-{lang}.tsv", DEMO_DIR / "sentiment" / "test-en.tsv"


def load_xnli(lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    return _load_task_set("xnli", lang, data_dir, max_n)


def load_pawsx(lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    return _load_task_set("pawsx", lang, data_dir, max_n)


def _xquad_contexts(path: Path) -> list[str]:
    from xstilts.data.readers import read_text

    try:
        data = json.loads(read_text(path))
        return [p["context"] for art in data["data"] for p in art["paragraphs"]]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataError(f"not a SQuAD-format file ({exc})", where=str(path)) from None


def load_xquad(lang: str, data_dir: Path | None, max_n: int | None) -> ParallelSet:
    root = _need_dir(data_dir, "xquad") / "xquad"
    sp, tp = root / f"xquad.{lang}.json", root / "xquad.en.json"
    if not sp.exists():
        raise ConfigError(f"no XQuAD file for language {lang!r} ({sp})", where="alignment")
    src, tgt = _xquad_contexts(sp), _xquad_contexts(tp)
    if len(src) != len(tgt):
        raise DataError(f"{len(src)} contexts vs {len(tgt)} in English", where=str(sp))
    ids = [f"xquad-{lang}-{i}" for i in range(len(src))]
    return _cut(ParallelSet("xquad", lang, "test", src, tgt, ids, _fp(sp, tp)), max_n)


def load_bucc(lang: str, data_dir: Path | None, max_n: int | None, seed: int = 0) -> MiningSet:
    """The ``<lang>-en.dev`` corpus; with ``max_n``, a seeded subsample of at most ``max_n``
    sentences per side that keeps the gold pairs of up to ``max_n // 4`` of them (the rest are
    distractors), so the mining task stays a needle-in-a-haystack one."""
    from xstilts.data.readers import read

    root = _need_dir(data_dir, "bucc2018") / "bucc2018"
    prefix = root / f"{lang}-en.dev"
    if not prefix.with_name(f"{lang}-en.dev.{lang}").exists():
        raise ConfigError(f"no BUCC 2018 dev corpus for {lang!r} in {root}", where="alignment")
    c = read("bucc", prefix, {"gold": "required"})[0]
    fp = _fp(*(prefix.with_name(f"{lang}-en.dev.{e}") for e in (lang, "en", "gold")))
    ms = MiningSet(
        "bucc2018", lang, "dev", c["src_ids"], c["src_texts"], c["tgt_ids"], c["tgt_texts"],
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


LOADERS: dict[str, Callable[[str, Path | None, int | None], ParallelSet]] = {
    "tatoeba": load_tatoeba,
    "xnli": load_xnli,
    "pawsx": load_pawsx,
    "xquad": load_xquad,
    "demo": load_demo,
}
DEFAULT_LANGS: dict[str, list[str]] = {
    "tatoeba": sorted(TATOEBA_CODES),
    "xnli": XNLI_LANGS,
    "pawsx": PAWSX_LANGS,
    "xquad": XQUAD_LANGS,
    "bucc2018": BUCC_LANGS,
    "demo": ["ar", "de", "es", "fr", "hi", "ru", "sw", "zh"],
}


def input_files(name: str, lang: str, data_dir: Path | None) -> list[Path]:
    """The files (input set, language) reads; all must exist for it to be available."""
    if name == "demo":
        return list(_demo_files(lang))
    if data_dir is None:
        return []
    d = Path(data_dir)
    if name == "tatoeba":
        c = tatoeba_code(lang)
        return [d / "tatoeba" / f"tatoeba.{c}-eng.{c}", d / "tatoeba" / f"tatoeba.{c}-eng.eng"]
    if name in ("xnli", "pawsx"):
        return [d / name / f"dev-{lang}.tsv", d / name / "dev-en.tsv"]
    if name == "xquad":
        return [d / "xquad" / f"xquad.{lang}.json", d / "xquad" / "xquad.en.json"]
    if name == "bucc2018":
        return [d / "bucc2018" / f"{lang}-en.dev.{e}" for e in (lang, "en", "gold")]
    return []


def available(name: str, lang: str, data_dir: Path | None) -> bool:
    """Whether the data for (input set, language) is on disk (decided at plan time)."""
    files = input_files(name, lang, data_dir)
    return lang != "en" and bool(files) and all(f.exists() for f in files)


def data_fingerprint(name: str, lang: str, data_dir: Path | None) -> str:
    """Sizes and mtimes of the files (input set, language) reads (for step keys)."""
    return _fp(*input_files(name, lang, data_dir))


def languages_for(name: str, asked: list[str] | None, data_dir: Path | None) -> list[str]:
    """The languages of ``name`` to probe: the asked ones it has, else all it has on disk."""
    cands = asked if asked is not None else DEFAULT_LANGS[name]
    return [lang for lang in cands if available(name, lang, data_dir)]


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
