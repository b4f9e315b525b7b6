"""Protocols: rows that describe themselves, a new retrieval kind as one file and a YAML, alignment
reading its sentences through TaskSpecs and finding its checkpoints whatever the pooling."""

from __future__ import annotations

import os
import shutil

import pytest
from protokit import ctx, params, step

from xstilts.tasks.registry import _load as load_tasks


def test_perturbed_evaluation_rows_carry_kind_and_params(tiny_checkpoint, tmp_path):
    from xstilts.evaluation.protocols.finetuned import FinetunedPrediction

    model_dir, ckpt = tiny_checkpoint
    pert = {"name": "char_swap", "params": {"rate": 0.2}, "seed": 3}
    p = params(model_dir, languages=["en", "de", "hi"], perturbation=pert,
               perturbation_label="typos")  # fmt: skip
    rows = FinetunedPrediction(step("evaluate", p), ctx(tmp_path, ckpt)).run()
    assert {r.language for r in rows} == {"en", "de", "hi"}  # no "avg": averages are on read
    assert {r.kind for r in rows} == {"perturbation"}
    for r in rows:
        # the label is free text; the parameters travel as data, measured per language
        assert r.perturbation == "typos"
        assert (r.params["name"], r.params["rate"], r.params["seed"]) == ("char_swap", 0.2, 3)
        assert 0.0 < r.params["grapheme_edit_rate"] < 0.5 and r.params["n_changed"] > 0
    rates = {r.language: r.params["grapheme_edit_rate"] for r in rows}
    assert len(set(rates.values())) == 3  # measured on each language's own text
    assert (tmp_path / "predictions" / "de.jsonl").exists()
    clean = FinetunedPrediction(
        step("evaluate", params(model_dir, languages=["de"])), ctx(tmp_path / "c", ckpt)
    ).run()
    assert {r.kind for r in clean} == {"clean"} and all(r.params == {} for r in clean)


def test_a_new_retrieval_kind_is_one_file_and_a_yaml(
    tmp_path, monkeypatch, shared_data, offline_encoder
):
    """A kind registered by its own module and a task YAML naming it run through the planner,
    the executor and the protocol with no edit under experiments/ or report/."""
    from xstilts.evaluation.protocols.retrieval import (
        RETRIEVAL_KINDS,
        RetrievalKind,
        retrieval_kind,
    )
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.executors import LocalExecutor
    from xstilts.experiments.plan import build_plan
    from xstilts.experiments.results import ResultsStore

    if "pair_cosine" not in RETRIEVAL_KINDS:  # what the kind's one file would contain

        @retrieval_kind("pair_cosine")
        class PairCosine(RetrievalKind):
            def score(self, run, spec, lang):
                from xstilts.data.sources import load_examples

                ex, _ = load_examples(
                    spec, run.p.split, lang, run.data_dir, limit=run.p.max_examples
                )
                a = run.embed([e["text_a"] for e in ex])
                b = run.embed([e["text_b"] for e in ex])
                cos = (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))
                return [(run.p.split, {"pair_cosine": float(cos.mean())}, {"n": len(ex)})]

    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "toy-bitext.yaml").write_text(
        "name: toy-bitext\nfamily: retrieval\nprotocol: retrieval\n"
        "protocol_params: {kind: pair_cosine}\nlanguages: [de, ru]\n"
        "language_names: {de: deu, ru: rus}\nmetrics: [tatoeba]\nmain_metric: pair_cosine\n"
        "splits:\n  test:\n"
        '    - {format: tatoeba, path: "tatoeba/tatoeba.{lang_name}-eng.{lang_name}"}\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("XSTILTS_TASKS", str(tasks))
    load_tasks.cache_clear()
    try:
        cfg = parse_config(
            {
                "model": "offline",
                "retrieval": {
                    "tasks": ["toy-bitext"],
                    "max_examples": 12,
                    "checkpoints": ["pretrained"],
                },
            }  # fmt: skip
        )
        plan = build_plan(cfg, data_dir=str(shared_data))
        assert plan.counts() == {"retrieve": 1}
        LocalExecutor().run(plan, tmp_path / "out")
    finally:
        monkeypatch.delenv("XSTILTS_TASKS")
        load_tasks.cache_clear()
    rows = ResultsStore(tmp_path / "out").rows()
    assert {(r["language"], r["metric"], r["kind"]) for r in rows} == {
        ("de", "pair_cosine", "retrieval"),
        ("ru", "pair_cosine", "retrieval"),
    }
    # translations are close in e5's space: far above unrelated sentences
    assert all(r["value"] > 0.8 and r["params"]["kind"] == "pair_cosine" for r in rows)


def test_alignment_reads_tatoeba_through_its_task_spec(shared_data, tmp_path):
    from xstilts.align import inputs as I

    langs = I.languages_for("tatoeba", None, shared_data)
    # XTREME-R's five additions to XTREME's 36, which the old hard-coded list lacked
    assert {"az", "lt", "pl", "uk", "ro"} <= set(langs) and "en" not in langs
    files = I.input_files("tatoeba", "de", shared_data)
    assert [f.name for f in files] == ["tatoeba.deu-eng.deu", "tatoeba.deu-eng.eng"]
    assert [f.name for f in I.input_files("xnli", "de", shared_data)] == [
        "dev-de.tsv",
        "dev-en.tsv",
    ]
    ps = I.load("tatoeba", "az", shared_data, 15)
    assert len(ps) == 15 and ps.metric == "tatoeba_acc" and ps.split == "test"
    ms = I.load("bucc2018", "zh", shared_data, 200)
    assert isinstance(ms, I.MiningSet) and ms.gold and len(ms.src) <= 200
    # editing the English side of a Tatoeba pair changes the fingerprint in the align step's key
    d = tmp_path / "data" / "tatoeba"
    d.mkdir(parents=True)
    for f in files:
        shutil.copy(f, d / f.name)
    before = I.data_fingerprint("tatoeba", "de", tmp_path / "data")
    eng = d / "tatoeba.deu-eng.eng"
    eng.write_text(eng.read_text(encoding="utf-8") + "x\n", encoding="utf-8")
    os.utime(eng, ns=(1, 1))
    assert I.data_fingerprint("tatoeba", "de", tmp_path / "data") != before


@pytest.mark.parametrize("pooling", [None, "first"])
def test_alignment_finds_trained_checkpoints_with_any_pooling(shared_data, pooling):
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.plan import build_plan

    spec = {
        "model": "offline",
        "intermediate": ["demo-nli"],
        "target": "demo-sentiment",
        "baseline": False,
        "alignment": {"inputs": ["tatoeba"], "languages": ["de"],
                      "checkpoints": ["pretrained", "intermediate", "target"]},
    }  # fmt: skip
    if pooling:
        spec["pooling"] = pooling
    plan = build_plan(parse_config(spec), data_dir=str(shared_data))
    (align,) = [s for s in plan.steps.values() if s.kind == "align"]
    trains = {s.key: s for s in plan.steps.values() if s.kind == "train"}
    assert [c["label"] for c in align.params["checkpoints"]] == [
        "pretrained",
        "int:demo-nli",
        "tgt:demo-sentiment|int:demo-nli",
    ]
    assert set(align.deps.values()) == set(trains)
