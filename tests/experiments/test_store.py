"""Adopting another run's finished step: its files (hard links), none of our leftovers."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from xstilts.errors import DataError
from xstilts.experiments.store import ArtifactStore


def test_adopt_links_the_finished_step_and_drops_our_leftovers(tmp_path):
    other, ours = ArtifactStore(tmp_path / "a"), ArtifactStore(tmp_path / "b")
    w = other.work("train-k")
    (w / "sub").mkdir(parents=True)
    save_file({"w": torch.zeros(2)}, str(w / "model.safetensors"))
    (w / "sub" / "x.json").write_text("{}")
    src = other.finish("train-k", {"kind": "train", "label": "k"})
    assert other.done("train-k") and not ours.done("train-k")
    # a killed attempt of our own left a half-written work dir and an unfinished final dir
    (ours.work("train-k") / "train_state").mkdir()
    (ours.work("train-k") / "train_state" / "opt.pt").write_bytes(b"stale")
    ours.path("train-k").mkdir(parents=True)
    (ours.path("train-k") / "partial").write_text("stale")

    final = ours.adopt("train-k", other)

    assert ours.done("train-k")
    files = {p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file()}
    assert files == {"model.safetensors", "sub/x.json", "done.json"}
    assert (final / "model.safetensors").stat().st_ino == (src / "model.safetensors").stat().st_ino
    assert not final.with_name("train-k.work").exists()


def test_adopt_refuses_a_damaged_step(tmp_path):
    other, ours = ArtifactStore(tmp_path / "a"), ArtifactStore(tmp_path / "b")
    save_file({"w": torch.zeros(4)}, str(other.work("train-k") / "model.safetensors"))
    src = other.finish("train-k", {"kind": "train", "label": "k"})
    data = (src / "model.safetensors").read_bytes()
    (src / "model.safetensors").write_bytes(data[:-3] + b"xyz")  # same size, other content
    with pytest.raises(DataError, match="model.safetensors: content differs"):
        ours.adopt("train-k", other)
    assert not ours.done("train-k")
