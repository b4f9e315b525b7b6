"""Adopting another run's finished step: its files (hard links), none of our leftovers."""

from __future__ import annotations

import json

from xstilts.experiments.store import ArtifactStore


def test_adopt_links_the_finished_step_and_drops_our_leftovers(tmp_path):
    other, ours = ArtifactStore(tmp_path / "a"), ArtifactStore(tmp_path / "b")
    src = other.path("train-k")
    (src / "sub").mkdir(parents=True)
    (src / "model.safetensors").write_bytes(b"weights")
    (src / "sub" / "x.json").write_text("{}")
    (src / "done.json").write_text(json.dumps({"key": "train-k"}))
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
