"""Official XTREME semantics pinned on the real files of ../shared/data.

UD-POS and PAN-X: xstilts' scorer of each task equals seqeval 0.0.12 (what XTREME's evaluate.py
ran) on real gold tags with simulated predictions (``tag_corpora.py``; reference figures in
``xtreme_official/seqeval_0012_real.json``). QA: a repeated id counts as often as it occurs and ids
are looked up as they are (XTREME's evaluate_squad.py / evaluate_mlqa.py loop). Language lists:
XQuAD 11 under XTREME, 12 under XTREME-R; Tatoeba 36 / 41, all files present and aligned.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from tag_corpora import FILES, simulate

from xstilts.data.readers import read
from xstilts.errors import ConfigError
from xstilts.evaluation.aggregate import benchmark_languages
from xstilts.evaluation.metrics import compute
from xstilts.tasks.registry import get_task

REF = json.loads((Path(__file__).parent / "xtreme_official/seqeval_0012_real.json").read_text())


@pytest.mark.parametrize(("name", "fmt", "path", "n"), FILES, ids=[f[0] for f in FILES])
def test_tagging_scorer_is_seqeval_0012_on_real_files(shared_data, name, fmt, path, n) -> None:
    gold = [ex["tags"] for ex in read(fmt, shared_data / path)][:n]
    pred = simulate(gold, seed=17)
    task = "panx" if name.startswith("panx") else "udpos"
    got = compute(get_task(task).metrics[0], predictions=pred, references=gold)
    for k in ("f1", "precision", "recall"):
        assert got[k] == pytest.approx(REF[name][k], rel=1e-12, abs=1e-12), k
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v1 = compute("seqeval", predictions=pred, references=gold)["f1"]
    if task == "udpos":
        # seqeval 1.x merges CCONJ and SCONJ: higher than XTREME's figure on every UD file
        assert 100 * (v1 - REF[name]["f1"]) > 0.1
    else:
        assert v1 == pytest.approx(REF[name]["f1"], rel=1e-12)  # IOB tags: both versions agree


def _squad_refs(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    return [
        {"id": qa["id"], "answers": qa["answers"]}
        for art in data
        for par in art["paragraphs"]
        for qa in par["qas"]
    ]


@pytest.mark.parametrize(
    ("metric", "path", "lang"),
    [
        ("squad", "xquad/xquad.de.json", None),
        ("mlqa", "mlqa/MLQA_V1/dev/dev-context-zh-question-zh.json", "zh"),
    ],
)
def test_qa_repeated_and_integer_ids_as_xtreme(shared_data, metric, path, lang) -> None:
    refs = _squad_refs(shared_data / path)[:300]
    extra = {"answer_language": lang} if lang else {}
    # a prediction: the first gold answer for even questions, its first word for odd ones
    preds = {
        r["id"]: r["answers"][0]["text"] if i % 2 == 0 else r["answers"][0]["text"][:2]
        for i, r in enumerate(refs)
    }
    base = compute(metric, predictions=preds, references=refs, **extra)
    # a repeated id counts twice (evaluate's `total += 1` per qa): score over n + 1 questions
    one = compute(metric, predictions=preds, references=[refs[1]], **extra)
    twice = compute(metric, predictions=preds, references=[*refs, refs[1]], **extra)
    n = len(refs)
    for k in ("f1", "exact_match"):
        assert twice[k] == pytest.approx((n * base[k] + one[k]) / (n + 1), rel=1e-12)
    # ids are looked up as they are: integer ids match integer keys, and not string keys
    ints = [{**r, "id": i} for i, r in enumerate(refs)]
    int_preds = {i: preds[r["id"]] for i, r in enumerate(refs)}
    assert compute(metric, predictions=int_preds, references=ints, **extra) == base
    str_keys = {str(i): p for i, p in int_preds.items()}
    assert compute(metric, predictions=str_keys, references=ints, **extra)["f1"] == 0.0


def test_benchmark_language_lists_on_real_files(shared_data) -> None:
    xquad = benchmark_languages("xquad", "xtreme")
    assert len(xquad) == 11 and "ro" not in xquad
    assert benchmark_languages("xquad", "xtreme-r") == [*xquad, "ro"]
    for lang in benchmark_languages("xquad", "xtreme-r"):
        assert (shared_data / f"xquad/xquad.{lang}.json").exists()
    tat = get_task("tatoeba")
    assert len(benchmark_languages("tatoeba", "xtreme")) == 36
    assert len(benchmark_languages("tatoeba", "xtreme-r")) == 41
    for lang in benchmark_languages("tatoeba", "xtreme-r"):
        code = tat.language_names.get(lang, lang)
        xx = (shared_data / f"tatoeba/tatoeba.{code}-eng.{code}").read_text("utf-8").splitlines()
        en = (shared_data / f"tatoeba/tatoeba.{code}-eng.eng").read_text("utf-8").splitlines()
        assert len(xx) == len(en) > 0
        # evaluate.py's accuracy over aligned lines: unequal lengths are an error, not a broadcast
        with pytest.raises(ConfigError):
            compute(
                "accuracy", predictions=list(range(len(en) - 1)), references=list(range(len(en)))
            )
        break


def test_mewslix_gold_ids_are_stripped(shared_data) -> None:
    mock = shared_data / "xtreme_mock_submission"
    gold = json.loads((mock / "labels/mewslix/test-de.json").read_text())
    pred = json.loads((mock / "predictions/mewslix/test-de.json").read_text())
    rankings = [pred.get(q, []) for q in gold]

    def score(relevant):
        return compute("ranking", rankings=rankings, relevant=relevant, k=20)["map"]

    clean = score([[g[0]] for g in gold.values()])
    assert clean > 0
    assert score([[f" {g[0]}\n"] for g in gold.values()]) == clean
