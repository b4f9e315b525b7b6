"""Where examples come from: a local data directory, a Hugging Face dataset, or one file.

For each (task, split, language) the task's sources are tried in order; the first local file that
exists wins, then Hugging Face (when reachable). A source may take a seeded ratio slice of a file,
so one plain TSV can serve as a 70/30 train/test pair.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from xstilts.errors import ConfigError, DataError, XstiltsError
from xstilts.identity import content_key, file_fingerprint

__all__ = ["content_key", "data_fingerprint", "load_examples", "resolve_local"]
from xstilts.tasks.spec import SplitSource, TaskSpec

DEMO_DIR = Path(__file__).parent / "demo"


def _format_path(template: str, spec: TaskSpec, lang: str) -> str:
    context, question = split_pair(lang)
    return template.format(
        lang=lang,
        lang_name=spec.language_names.get(lang, lang),
        context=context,
        question=question,
    )


def split_pair(lang: str) -> tuple[str, str]:
    """A cross-language pair ``de-en`` -> (context ``de``, question ``en``); ``de`` -> both ``de``.

    Paths may use ``{context}`` and ``{question}`` (MLQA's 49 context x question files).
    """
    context, _, question = lang.partition("-")
    return (context, question) if question else (lang, lang)


def supports_pairs(spec: TaskSpec) -> bool:
    """Whether the task's files are per (context, question) language pair."""
    return any("{question}" in (s.path or "") for srcs in spec.splits.values() for s in srcs)


def language_pairs(spec: TaskSpec) -> list[str]:
    """Every context x question pair of the task's languages (``de``, ``de-en``, ...)."""
    return [c if c == q else f"{c}-{q}" for c in spec.languages for q in spec.languages]


def resolve_local(
    src: SplitSource, spec: TaskSpec, lang: str, data_dir: Path | None
) -> Path | None:
    """The file a local source points at, if it exists (absolute paths need no data dir)."""
    if src.path is None:
        return None
    rel = _format_path(src.path, spec, lang)
    candidates = []
    if Path(rel).is_absolute():
        candidates.append(Path(rel))
    if data_dir is not None:
        candidates.append(data_dir / rel)
    if rel.startswith("demo:"):
        candidates = [DEMO_DIR / rel[len("demo:") :]]
    for c in candidates:
        if c.exists():
            return c
    return None


def read_source(src: SplitSource, spec: TaskSpec, path: Path) -> list[dict[str, Any]]:
    from xstilts.data.readers import read

    params = {
        k: (_format_path(v, spec, "") if isinstance(v, str) and "{" in v else v)
        for k, v in src.params.items()
    }
    return read(src.format, path, params)


def _slice(examples: list[dict], src_params: dict[str, Any]) -> list[dict]:
    """Seeded ratio slice: ``params.slice: [0.0, 0.7]`` with ``params.slice_seed``."""
    sl = src_params.get("slice")
    if not sl:
        return examples
    lo, hi = float(sl[0]), float(sl[1])
    order = list(range(len(examples)))
    random.Random(int(src_params.get("slice_seed", 0))).shuffle(order)
    n = len(order)
    keep = sorted(order[int(round(lo * n)) : int(round(hi * n))])
    return [examples[i] for i in keep]


# Source params applied here, after reading, rather than by the reader.
ORDER_PARAMS = ("slice", "slice_seed", "interleave_labels")


def _interleave_labels(examples: list[dict], src_params: dict[str, Any]) -> list[dict]:
    """Round-robin over labels, each in file order: a file sorted by label (MARC) then gives a
    balanced first-N subset (``max_examples``) instead of one class; the full set is unchanged."""
    if not src_params.get("interleave_labels"):
        return examples
    groups: dict[Any, list[dict]] = {}
    for ex in examples:
        groups.setdefault(json.dumps(ex.get("label"), sort_keys=True), []).append(ex)
    queues = list(groups.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def load_examples(
    spec: TaskSpec, split: str, lang: str, data_dir: Path | None, *, limit: int | None = None
) -> tuple[list[dict[str, Any]], str]:
    """Examples of one split in one language, and a fingerprint of where they came from."""
    sources = spec.split_sources(split, lang)
    if not sources:
        raise ConfigError(
            f"task {spec.name} has no {split!r} split for language {lang!r}", where="split"
        )
    tried: list[str] = []
    for src in sources:
        if src.path is not None:
            path = resolve_local(src, spec, lang, data_dir)
            if path is None:
                tried.append(_format_path(src.path, spec, lang))
                continue
            reader_params = {k: v for k, v in src.params.items() if k not in ORDER_PARAMS}
            examples = _slice(
                read_source(src.model_copy(update={"params": reader_params}), spec, path),
                src.params,
            )
            examples = _interleave_labels(examples, src.params)
            fp = (
                "|".join(file_fingerprint(f) for f in _files_read(src, spec, path))
                + f":{src.params.get('slice')}:{src.params.get('slice_seed')}"
                + (":interleaved" if src.params.get("interleave_labels") else "")
            )
        else:
            try:
                examples = _load_hf(src, spec, lang)
            except XstiltsError:
                raise
            except Exception as exc:  # hub unreachable, unknown dataset: try the next source
                tried.append(f"hf:{src.hf.path} ({type(exc).__name__})")  # type: ignore[union-attr]
                continue
            fp = _hf_fingerprint(src)
        if limit is not None:
            examples = examples[:limit]
            fp += f":limit={limit}"
        if not examples:
            raise DataError(f"no examples for {spec.name} {split} {lang}", where=fp)
        return examples, fp
    where = (
        f"data dir {data_dir}" if data_dir else "no data dir (use --data-dir or XSTILTS_DATA_DIR)"
    )
    raise DataError(
        f"no data for task {spec.name}, split {split}, language {lang}; looked for "
        f"{', '.join(tried)}",
        where=where,
    )


def _load_hf(src: SplitSource, spec: TaskSpec, lang: str) -> list[dict[str, Any]]:
    """Read a Hugging Face dataset and map its columns onto the canonical example fields."""
    import datasets

    hf = src.hf
    assert hf is not None
    name = _format_path(hf.name, spec, lang) if hf.name else None
    kwargs = {"data_files": hf.data_files} if hf.data_files else {}
    if hf.revision:
        kwargs["revision"] = hf.revision
    ds = datasets.load_dataset(hf.path, name, split=hf.split, **kwargs)
    out = []
    for i, row in enumerate(ds):
        if any(row.get(k) != v for k, v in hf.filter.items()):
            continue
        ex: dict[str, Any] = {"id": f"{hf.path}/{name}/{hf.split}/{i}"}
        for canon, col in hf.columns.items():
            val = row[col]
            if canon == "label" and hf.label_names is not None and isinstance(val, int):
                if val < 0:
                    break  # unlabelled rows (GLUE test) are skipped
                val = hf.label_names[val]
            ex[canon] = val
        else:
            out.append(ex)
    return out


def data_fingerprint(spec: TaskSpec, split: str, lang: str, data_dir: Path | None) -> str:
    """The data identity of one (task, split, language) for step keys: the source that would be
    read (the first local file that exists, else Hugging Face), every file its reader opens
    (Tatoeba's English side, BUCC's gold, a ranking task's candidates), the source params that
    change what is read, and a Hugging Face revision.

    A one-file source keeps the form ``<path>:<size>:<mtime>[:<params>]`` that step keys have
    always used; each further file a reader opens is appended as ``|<path>:<size>:<mtime>``
    (so steps reading Tatoeba, BUCC, ``text_labels`` or a labels file got new keys once).
    """
    for src in spec.split_sources(split, lang):
        path = resolve_local(src, spec, lang, data_dir)
        if path is not None:
            params = json.dumps(src.params, sort_keys=True, default=str) if src.params else ""
            fp = file_fingerprint(path) + (f":{params}" if params else "")
            # an optional file that is absent (BUCC test gold) adds nothing until it appears
            others = [f for f in _files_read(src, spec, path) if f != path and f.exists()]
            return fp + "".join(f"|{file_fingerprint(f)}" for f in others)
        if src.hf is not None:
            return _hf_fingerprint(src)
    return "missing"


def _hf_fingerprint(src: SplitSource) -> str:
    hf = src.hf
    assert hf is not None
    return f"hf:{hf.path}:{hf.name}:{hf.split}" + (f"@{hf.revision}" if hf.revision else "")


def _files_read(src: SplitSource, spec: TaskSpec, path: Path) -> list[Path]:
    """Every file the source's reader opens for ``path`` (as the reader declares)."""
    from xstilts.data.readers import files_read

    params = {
        k: (_format_path(v, spec, "") if isinstance(v, str) and "{" in v else v)
        for k, v in src.params.items()
        if k not in ORDER_PARAMS
    }
    return files_read(src.format or "", path, params)
