"""Ranking data (LAReQA, Mewsli-X): queries with relevant ids and one shared candidate pool."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from xstilts.data.readers import READERS, Example, _At, _get, read_jsonl
from xstilts.errors import DataError, file_where


class RankingParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    candidates: str  # path of the candidate pool, relative to the queries file


def _ranking_file(path: Path, with_relevant: bool) -> tuple[list[str], list[str], list[list[str]]]:
    ids, texts, rel, seen = [], [], [], set()
    for line, obj in read_jsonl(path):
        at = _At(path, line)
        if not isinstance(obj, dict):
            raise DataError("expected a JSON object per line", where=file_where(path, line))
        qid = str(_get(obj, "id", at, (str, int)))
        if qid in seen:
            raise DataError(f"duplicate id {qid!r}", where=file_where(path, line))
        seen.add(qid)
        ids.append(qid)
        texts.append(_get(obj, "text", at, str))
        if with_relevant:
            r = _get(obj, "relevant", at, list)
            if not r:
                raise DataError("query has no relevant ids", where=file_where(path, line))
            rel.append([str(v) for v in r])
    if not ids:
        raise DataError("no rows (empty file?)", where=file_where(path))
    return ids, texts, rel


@READERS.register("ranking_jsonl", config=RankingParams)
def read_ranking(path: Path, cfg: RankingParams) -> list[Example]:
    """One dict: queries (ids, texts, relevant candidate ids) and the candidate pool."""
    qids, qtexts, rel = _ranking_file(path, True)
    cpath = path.parent / cfg.candidates
    cids, ctexts, _ = _ranking_file(cpath, False)
    known = set(cids)
    for q, r in zip(qids, rel, strict=True):
        bad = [v for v in r if v not in known]
        if bad:
            raise DataError(
                f"query {q!r}: relevant id {bad[0]!r} not in {cpath.name}", where=file_where(path)
            )
    return [
        {
            "id": path.stem,
            "query_ids": qids,
            "query_texts": qtexts,
            "relevant": rel,
            "cand_ids": cids,
            "cand_texts": ctexts,
        }
    ]
