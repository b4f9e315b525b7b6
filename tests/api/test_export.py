"""Export to transformers: exported checkpoints load with ``from_pretrained`` in a fresh offline
process and give xstilts' own logits; selection by labels; the hub push path (mocked).

A tiny random BERT (the offline encoder's tokenizer, 2 layers of width 32) stands in for the
encoder: the property (same function before and after export, embedding table restored from the
base model) does not depend on the encoder's quality. Embeddings are frozen, so the checkpoints
store only the table's digest and export must restore and verify it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from apikit import tiny_phase
from safetensors.torch import load_file

from xstilts.errors import ConfigError
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.export import candidates, export_checkpoint, push_to_hub, select


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_model: Path, shared_data: Path) -> Path:
    phase = tiny_phase()
    cfg = parse_config(
        {
            "name": "export",
            "model": str(tiny_model),
            "data_dir": str(shared_data),
            "intermediate": ["demo-nli"],
            "baseline": False,
            "targets": ["demo-sentiment", "panx"],
            "seeds": [1],
            "phases": {"intermediate": phase, "target": phase},
            "evaluation": {"split": "dev", "languages": ["en"], "max_examples": 6},
        }
    )
    out = tmp_path_factory.mktemp("run")
    LocalExecutor().run(build_plan(cfg), out)
    return out


def _xstilts_logits(run_dir: Path, key: str, task: str, data_dir: Path, n: int = 5):
    """Inputs and logits of xstilts' own prediction (``predict``, one example per batch)."""
    from xstilts.data.sources import load_examples
    from xstilts.evaluation.predict import predict
    from xstilts.experiments.store import ArtifactStore
    from xstilts.models.encoder import EncoderRef, load_encoder, load_tokenizer
    from xstilts.models.model import MultiTaskModel, load_state
    from xstilts.tasks.family import get_family
    from xstilts.tasks.registry import get_task

    meta = ArtifactStore(run_dir).meta(key)
    ref = EncoderRef(**meta["params"]["model"])
    model = MultiTaskModel(load_encoder(ref))
    load_state(model, run_dir / "steps" / key, encoder_only=False)
    spec, fam = get_task(task), get_family(get_task(task).family)
    split = "test" if spec.has_split("test", "de") and task != "panx" else "dev"
    ex, _ = load_examples(spec, split, "de", data_dir, limit=n)
    feats = fam.featurize(ex, load_tokenizer(ref), spec, 32)
    _, logits = predict(model, fam, task, feats, batch_size=1, return_logits=True)
    return [list(map(int, ids)) for ids in feats["input_ids"]], [x.tolist() for x in logits]


_FRESH = """
import json, sys, torch, transformers
out = {}
for d, cls, inputs in json.load(open(sys.argv[1])):
    m = getattr(transformers, cls).from_pretrained(d).eval()
    with torch.inference_mode():
        logits = [
            m(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long))
            .logits[0].tolist()
            for ids in inputs
        ]
    out[d] = {"logits": logits, "labels": m.config.id2label}
print(json.dumps(out))
"""


def _fresh_logits(jobs: list, tmp: Path) -> dict:
    """Logits from ``from_pretrained`` in a fresh process with the hub off and no xstilts."""
    f = tmp / "jobs.json"
    f.write_text(json.dumps(jobs))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    res = subprocess.run(
        [sys.executable, "-c", _FRESH, str(f)],
        env=env, capture_output=True, text=True, check=True, cwd=tmp,
    )  # fmt: skip
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_exported_classification_and_tagging_give_xstilts_logits(
    run_dir, tiny_model, shared_data, tmp_path
):
    from xstilts.tasks.registry import get_task

    base = load_file(str(tiny_model / "model.safetensors"))["embeddings.word_embeddings.weight"]
    jobs, ours = [], {}
    for target, cls in (
        ("demo-sentiment", "AutoModelForSequenceClassification"),
        ("panx", "AutoModelForTokenClassification"),
    ):
        dest = tmp_path / target
        res = export_checkpoint(run_dir, dest, target=target)
        assert res.auto_class == cls and res.task == target and res.note is None
        # the checkpoint held only the table's digest; the export holds the full table
        inherited = json.loads((run_dir / "steps" / res.key / "inherited.json").read_text())
        assert "encoder.embeddings.word_embeddings.weight" in inherited
        weights = load_file(str(dest / "model.safetensors"))
        assert torch.equal(weights["bert.embeddings.word_embeddings.weight"], base)
        inputs, ours[str(dest)] = _xstilts_logits(run_dir, res.key, target, shared_data)
        jobs.append((str(dest), cls, inputs))
        card = (dest / "README.md").read_text()
        assert "library_name: transformers" in card and f"| {target} | en | dev |" in card
        assert "### 1. intermediate: demo-nli" in card and "### 2. target" in card
    got = _fresh_logits(jobs, tmp_path)
    for (d, _cls, _inputs), target in zip(jobs, ("demo-sentiment", "panx"), strict=True):
        assert len(ours[d]) == len(got[d]["logits"]) == 5
        for a, b in zip(ours[d], got[d]["logits"], strict=True):
            assert torch.tensor(a).shape == torch.tensor(b).shape
            assert (torch.tensor(a) - torch.tensor(b)).abs().max().item() <= 1e-5
        labels = got[d]["labels"]
        assert [labels[str(i)] for i in range(len(labels))] == get_task(target).labels


def test_intermediate_checkpoint_exports_the_bare_encoder(run_dir, tmp_path):
    from transformers import AutoModel

    from xstilts.export.core import _load

    res = export_checkpoint(run_dir, tmp_path / "enc", intermediate="demo-nli", target="none")
    assert res.auto_class == "AutoModel" and res.task is None
    mt, _, _, _ = _load(run_dir, select(run_dir, step=res.key))
    hf = AutoModel.from_pretrained(tmp_path / "enc").eval()
    assert hf.config.xstilts_pooling == "first"
    ids = torch.tensor([[0, 1000, 2000, 3000, 2]])
    with torch.inference_mode():
        a = mt.encode(ids, torch.ones_like(ids)).last_hidden_state
        b = hf(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert torch.allclose(a, b, atol=1e-6)


def test_selection_is_unambiguous_or_lists_candidates(run_dir, tmp_path):
    assert len(candidates(run_dir)) == 3
    with pytest.raises(ConfigError, match="matches several checkpoints") as exc:
        select(run_dir, intermediate="demo-nli")
    assert str(exc.value).count("--step train-") == 3 and "\n" not in str(exc.value)
    with pytest.raises(ConfigError, match="matches no checkpoint"):
        select(run_dir, target="xnli")
    key = select(run_dir, target="panx").key
    assert select(run_dir, step=key).target == "panx"
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(ConfigError, match="not empty"):
        export_checkpoint(run_dir, tmp_path / "busy", step=key)


def test_cli_export_errors_are_one_line(run_dir, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "xstilts.cli.main", "export", str(run_dir), "--to", str(tmp_path)]
    res = subprocess.run([*cmd, "--seed", "7"], env=env, capture_output=True, text=True)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "matches no checkpoint" in res.stderr


def test_push_to_hub_uploads_the_folder(tmp_path, monkeypatch):
    import huggingface_hub

    calls = []
    monkeypatch.setattr(
        huggingface_hub.HfApi, "create_repo", lambda self, **kw: calls.append(("create", kw))
    )
    monkeypatch.setattr(
        huggingface_hub.HfApi, "upload_folder", lambda self, **kw: calls.append(("upload", kw))
    )
    push_to_hub(tmp_path, "me/model", private=True)
    assert calls[0] == ("create", {"repo_id": "me/model", "private": True, "exist_ok": True})
    assert calls[1][1]["folder_path"] == str(tmp_path) and calls[1][1]["repo_id"] == "me/model"


def test_push_to_hub_offline_is_one_line_error(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import OfflineModeIsEnabled

    from xstilts.errors import XstiltsError

    def offline(self, **kw):
        raise OfflineModeIsEnabled("Cannot reach https://huggingface.co: offline mode is enabled.")

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", offline)
    with pytest.raises(XstiltsError, match="--push-to-hub: push failed"):
        push_to_hub(tmp_path, "me/model")


def test_mean_pooled_classifier_has_no_transformers_class():
    from xstilts.export.layouts import NoLayout, layout_for
    from xstilts.models.heads import HEADS

    head = HEADS.get("classification").obj(8, HEADS.params("classification", {"pooling": "mean"}))
    lay = layout_for("classification", head, {"pooling": "mean"}, "bert", None)
    assert isinstance(lay, NoLayout) and "first token" in lay.reason
