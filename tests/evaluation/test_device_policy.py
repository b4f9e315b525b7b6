"""The device and precision policy (``models/device.py``) and that every protocol runs its forward
passes where and how the policy says.

On CPU: the policy function itself (device choice, bf16 native or not, the warning) with injected
capabilities, and an attack whose forward passes run in the precision asked. Where CUDA exists: the
forward pass of evaluation, attack, retrieval and alignment is on the GPU.
"""

from __future__ import annotations

import logging

import pytest
import torch
from protokit import ctx as _ctx
from protokit import params as _params
from protokit import record_forward as _record_forward
from protokit import step as _step

from xstilts.models import device as D

NATIVE = D.Capability(cuda=False, cuda_bf16=False, cpu_bf16=True)
AVX2_ONLY = D.Capability(cuda=False, cuda_bf16=False, cpu_bf16=False)
GPU_BF16 = D.Capability(cuda=True, cuda_bf16=True, cpu_bf16=False)
OLD_GPU = D.Capability(cuda=True, cuda_bf16=False, cpu_bf16=False)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.delenv("XSTILTS_DEVICE", raising=False)
    D._warned.clear()


def test_device_choice():
    assert D.choose_device(GPU_BF16).type == "cuda"
    assert D.choose_device(AVX2_ONLY).type == "cpu"


def test_device_override(monkeypatch):
    monkeypatch.setenv("XSTILTS_DEVICE", "cpu")
    assert D.choose_device(GPU_BF16).type == "cpu"


def test_cpu_bf16_detection_from_flags():
    # the 2-core EPYC of the issue: AVX2 only, torch dispatching AVX2
    assert not D.cpu_has_native_bf16({"avx2", "fma", "sse4_2"}, capability="AVX2")
    # AVX-512 without its BF16 extension is emulation, not native
    assert not D.cpu_has_native_bf16({"avx512f", "avx512bw", "avx512vl"}, capability="AVX512")
    assert D.cpu_has_native_bf16({"avx512f", "avx512_bf16"}, capability="AVX512")
    assert D.cpu_has_native_bf16({"amx_bf16", "amx_tile"}, capability="AVX512")
    assert D.cpu_has_native_bf16(set(), capability="AMX")  # no flags listed: torch's level
    assert D.cpu_has_native_bf16({"bf16", "asimd"}, capability="DEFAULT")  # ARM FEAT_BF16


@pytest.mark.parametrize(
    ("asked", "cap", "device", "runs"),
    [
        ("auto", NATIVE, "cpu", "bf16"),
        ("auto", AVX2_ONLY, "cpu", "fp32"),
        ("bf16", NATIVE, "cpu", "bf16"),
        ("bf16", AVX2_ONLY, "cpu", "fp32"),
        ("fp32", NATIVE, "cpu", "fp32"),
        ("auto", GPU_BF16, "cuda", "bf16"),
        ("bf16", OLD_GPU, "cuda", "fp32"),
    ],
)
def test_precision_runs_bf16_only_where_native(asked, cap, device, runs):
    assert D.resolve_precision(asked, device, cap) == runs


def test_explicit_bf16_without_native_support_warns_once_in_one_line(caplog):
    caplog.set_level(logging.WARNING, logger="xstilts.device")
    for _ in range(3):
        assert D.resolve_precision("bf16", "cpu", AVX2_ONLY, where="evaluation.precision") == "fp32"
    (rec,) = caplog.records
    msg = rec.getMessage()
    assert "\n" not in msg and "evaluation.precision" in msg and "fp32" in msg
    caplog.clear()
    D.resolve_precision("auto", "cpu", AVX2_ONLY)  # auto picks fp32 silently
    D.resolve_precision("bf16", "cpu", NATIVE)
    assert not caplog.records


def test_training_mixed_precision_follows_the_policy(caplog):
    caplog.set_level(logging.WARNING, logger="xstilts.device")
    assert D.training_mixed_precision("bf16", AVX2_ONLY) == "no"
    assert len(caplog.records) == 1 and "mixed_precision" in caplog.records[0].getMessage()
    assert D.training_mixed_precision("auto", NATIVE) == "bf16"
    assert D.training_mixed_precision("auto", AVX2_ONLY) == "no"
    assert D.training_mixed_precision("no", NATIVE) == "no"
    assert D.training_mixed_precision("bf16", GPU_BF16) == "bf16"


def test_place_moves_and_casts_as_resolved():
    m = torch.nn.Linear(4, 2)
    assert D.place(m, "bf16", cap=NATIVE, device="cpu").precision == "bf16"
    assert m.weight.dtype == torch.bfloat16
    placed = D.place(m, "bf16", cap=AVX2_ONLY, device="cpu")
    assert (placed.precision, m.weight.dtype) == ("fp32", torch.float32)


# -- protocols: the forward pass runs where and how the policy says ----------------------------


def _attack(model_dir, ckpt, tmp_path, precision, cap):
    from xstilts.evaluation.protocols.attack import Attack

    params = _params(
        model_dir,
        precision=precision,
        attack={"name": "greedy", "params": {"query_budget": 6}, "max_examples": 2},
        perturbation_label="attack:greedy@6",
    )
    proto = Attack(_step("attack", params), _ctx(tmp_path, ckpt), capability=cap)
    seen = _record_forward(proto.load("checkpoint")[0])
    return proto.run(), seen


@pytest.mark.parametrize(
    ("precision", "cap", "dtype"),
    [
        ("bf16", NATIVE, torch.bfloat16),
        ("fp32", NATIVE, torch.float32),
        ("bf16", AVX2_ONLY, torch.float32),  # asked, not native here: warned, fp32
        ("auto", NATIVE, torch.bfloat16),
    ],
)
def test_attack_forward_passes_run_in_the_precision_asked(
    tiny_checkpoint, tmp_path, precision, cap, dtype
):
    rows, seen = _attack(*tiny_checkpoint, tmp_path, precision, cap)
    assert seen and {dt for _, dt in seen} == {dtype}
    assert {r.extra["precision"] for r in rows} == {"bf16" if dtype == torch.bfloat16 else "fp32"}
    # the attack travels as data: its kind, search, budget
    assert {r.kind for r in rows} == {"attack"}
    assert rows[0].params["name"] == "greedy" and rows[0].params["query_budget"] == 6


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@needs_cuda
def test_every_protocol_runs_its_forward_pass_on_the_gpu(tiny_checkpoint, tmp_path, shared_data):
    from xstilts.align.config import AlignmentConfig
    from xstilts.align.hidden import Checkpoint
    from xstilts.align.run import run_alignment
    from xstilts.evaluation.protocols.finetuned import FinetunedPrediction
    from xstilts.evaluation.protocols.retrieval import Retrieval
    from xstilts.models.encoder import resolve_model

    model_dir, ckpt = tiny_checkpoint
    gpu = D.detect()
    ev = FinetunedPrediction(
        _step("evaluate", _params(model_dir)), _ctx(tmp_path / "ev", ckpt), capability=gpu
    )
    seen = _record_forward(ev.load("checkpoint")[0])
    ev.run()
    assert seen and {dev.type for dev, _ in seen} == {"cuda"}

    _, seen = _attack(model_dir, ckpt, tmp_path / "att", "fp32", gpu)
    assert seen and {dev.type for dev, _ in seen} == {"cuda"}

    rp = _params(model_dir, task="tatoeba", languages=["de"], max_examples=20,
                 data_dir=str(shared_data), layer=None, prefix=None, k=None)  # fmt: skip
    ret = Retrieval(_step("retrieve", rp), _ctx(tmp_path / "ret", None), capability=gpu)
    seen = _record_forward(ret.load("checkpoint", encoder_only=True)[0])
    ret.run()
    assert seen and {dev.type for dev, _ in seen} == {"cuda"}

    ck = Checkpoint("tgt", resolve_model(str(model_dir)), ckpt)
    seen = _record_forward(ck.load()[0])
    acfg = AlignmentConfig(inputs=["tatoeba"], languages=["de"], max_sentences=20,
                           metrics=["retrieval"], checkpoints=["target"], reference="tgt")  # fmt: skip
    run_alignment([ck], acfg, data_dir=shared_data, cache_dir=tmp_path / "hidden")
    assert seen and {dev.type for dev, _ in seen} == {"cuda"}
