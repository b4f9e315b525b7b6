"""Faults during runs: NaN/inf losses and gradients, a full disk, an unwritable output directory,
concurrent writers to the results store.

Invariants after any failure: the error is the project's own (one line naming where); finished
artefacts (``steps/<key>/``, ``results/*.json``, the report) are complete or absent, never half
written; no temp file is left outside a step's ``.work`` dir; the last resumable checkpoint holds
finite weights from before the fault; and once the fault is gone the same run completes with
results equal to a run that never failed.
"""

from __future__ import annotations

import errno
import json
import math
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from relkit import comparable as _comparable
from relkit import tiny_config
from safetensors.torch import load_file

from xstilts.errors import TrainingError, XstiltsError
from xstilts.experiments.config import parse_config
from xstilts.experiments.executors import LocalExecutor
from xstilts.experiments.plan import build_plan
from xstilts.experiments.results import ResultRow, ResultsStore
from xstilts.experiments.store import ArtifactStore
from xstilts.tasks.family import get_family

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def env(rel_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XSTILTS_CACHE", str(rel_cache))
    return rel_cache


def _plan(model: Path, **over):
    return build_plan(parse_config(tiny_config(model, **over)))


def _train_key(plan) -> str:
    return next(s.key for s in plan.steps.values() if s.kind == "train")


def _finite(path: Path) -> bool:
    return all(torch.isfinite(t).all() for t in load_file(str(path)).values())


def check_nothing_half_written(out: Path) -> None:
    """Finished artefacts complete or absent; no temp leftovers outside ``.work`` dirs."""
    for p in (out / "results").glob("*.json") if (out / "results").is_dir() else []:
        assert isinstance(json.loads(p.read_text(encoding="utf-8")), list), p
    steps = out / "steps"
    for d in steps.iterdir() if steps.is_dir() else []:
        if d.name.endswith(".work") or d.name.startswith("."):
            continue
        meta = json.loads((d / "done.json").read_text())
        assert meta["kind"] in d.name, d
        if (d / "model.safetensors").exists():
            load_file(str(d / "model.safetensors"))
    for p in out.rglob("*"):
        inside_work = any(part.endswith(".work") for part in p.relative_to(out).parts)
        if not inside_work:
            assert not p.name.endswith((".tmp", ".part")), p
            assert not (p.name.startswith(".") and p.is_dir()), f"temp dir left: {p}"
    for state in out.glob("steps/*.work/train_state"):
        assert not state.with_name("train_state.tmp").exists(), "half-written checkpoint left"
        if (state / "state.json").exists():
            json.loads((state / "state.json").read_text())
            assert _finite(state / "model.safetensors")


@pytest.fixture()
def clean_run(tiny_clean_run: Path) -> Path:
    return tiny_clean_run


# --------------------------------------------------------------------------------------------
# NaN / inf
# --------------------------------------------------------------------------------------------


class _NanGrad(torch.autograd.Function):
    """Identity forward (a finite loss), NaN backward (gradients that would poison the weights)."""

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, g):
        return g * float("nan")


def _poison_loss(monkeypatch, at_call: int, kind: str) -> dict:
    cls = type(get_family("classification"))
    orig = cls.loss
    state = {"calls": 0, "armed": True}

    def loss(self, logits, batch):
        value = orig(self, logits, batch)
        state["calls"] += 1
        if state["armed"] and state["calls"] == at_call:
            if kind == "nan":
                return value * float("nan")
            if kind == "inf":
                return value + float("inf")
            return _NanGrad.apply(value)
        return value

    monkeypatch.setattr(cls, "loss", loss)
    return state


@pytest.mark.parametrize(
    ("kind", "at", "message", "kept"),
    [
        ("nan", 5, "non-finite loss (nan) at step 5 of 6", 4),
        ("inf", 3, "non-finite loss (inf) at step 3 of 6", 2),
        # finite loss, NaN gradients at a checkpoint step: before the fix the NaN update reached
        # the weights and the step-4 checkpoint ("last good") held NaN weights
        ("nan_grad", 4, "non-finite gradient norm (nan) at step 4 of 6", 2),
    ],
)
def test_non_finite_training_stops_keeps_last_good_checkpoint_and_resumes(
    env, tiny_bert, clean_run, tmp_path, monkeypatch, kind, at, message, kept
) -> None:
    plan = _plan(tiny_bert)
    out = tmp_path / "out"
    poison = _poison_loss(monkeypatch, at, kind)
    with pytest.raises(TrainingError) as info:
        LocalExecutor().run(plan, out)
    line = info.value.one_line()
    assert message in line and "batch rows [" in line and "train_state" in line, line
    assert "\n" not in line
    state = ArtifactStore(out).work(_train_key(plan)) / "train_state"
    assert json.loads((state / "state.json").read_text())["step"] == kept <= at - 1
    assert _finite(state / "model.safetensors")
    assert not ArtifactStore(out).done(_train_key(plan))
    check_nothing_half_written(out)

    # the fault gone, the same run resumes from the kept checkpoint and ends as a clean run
    poison["armed"] = False
    LocalExecutor().run(plan, out)
    assert _comparable(out) == _comparable(clean_run)
    key = _train_key(plan)
    a = (ArtifactStore(out).path(key) / "model.safetensors").read_bytes()
    assert a == (ArtifactStore(clean_run).path(key) / "model.safetensors").read_bytes()


_NAN_WRAPPER = """
import sys, torch
from xstilts.tasks.family import get_family
cls = type(get_family("classification"))
orig, calls = cls.loss, [0]
def loss(self, logits, batch):
    calls[0] += 1
    v = orig(self, logits, batch)
    return v * float("nan") if calls[0] == 3 else v
cls.loss = loss
from xstilts.cli.main import main
sys.argv = ["xstilts", *sys.argv[1:]]
main()
"""


def test_cli_nan_loss_is_one_line(env, tiny_bert, tmp_path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny_config(tiny_bert)))
    res = subprocess.run(
        [sys.executable, "-c", _NAN_WRAPPER, "run", str(cfg), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in res.stderr + res.stdout, res.stderr
    assert "error:" in lines[0] and "non-finite loss (nan) at step 3 of 6" in lines[0], lines


# --------------------------------------------------------------------------------------------
# full disk (simulated at each writer) and unwritable output directories
# --------------------------------------------------------------------------------------------


def _enospc(path: object = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _inject(monkeypatch, site: str) -> dict:
    """Make one writer fail as it does on a full disk (and the disk report no free space)."""
    import safetensors

    from xstilts.models import model as model_mod
    from xstilts.training import trainer as trainer_mod

    state = {"armed": True, "hits": 0}
    usage = shutil.disk_usage

    def disk_usage(p):
        u = usage(p)
        return type(u)(u.total, u.total, 0) if state["armed"] else u

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)

    def partial(path) -> None:  # what a cut write leaves behind
        Path(path).write_bytes(b"\x00" * 100)

    if site in ("trainer.save_file", "model.save_file"):
        mod = trainer_mod if site == "trainer.save_file" else model_mod
        orig = mod.save_file

        def save_file(tensors, filename, *a, **k):
            if state["armed"]:
                state["hits"] += 1
                partial(filename)
                raise safetensors.SafetensorError(
                    "Error while serializing: I/O error: No space left on device (os error 28)"
                )
            return orig(tensors, filename, *a, **k)

        monkeypatch.setattr(mod, "save_file", save_file)
    elif site == "torch.save":
        orig_save = torch.save

        def save(obj, f, *a, **k):
            if state["armed"]:
                state["hits"] += 1
                partial(f)
                raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos")
            return orig_save(obj, f, *a, **k)

        monkeypatch.setattr(torch, "save", save)
    elif site in ("results", "report"):
        orig_fsync = os.fsync
        want = "results" if site == "results" else "report"

        def fsync(fd):
            name = os.readlink(f"/proc/self/fd/{fd}")
            if state["armed"] and f"/{want}/" in name:
                state["hits"] += 1
                raise _enospc()
            return orig_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    elif site == "done.json":  # written atomically (temp file, fsync, rename) since digests
        orig_fsync = os.fsync

        def fsync(fd):
            name = os.readlink(f"/proc/self/fd/{fd}")
            if state["armed"] and name.endswith("/done.json"):
                state["hits"] += 1
                os.write(fd, b"{")  # what was on its way when the disk filled
                raise _enospc()
            return orig_fsync(fd)

        monkeypatch.setattr(os, "fsync", fsync)
    else:
        raise AssertionError(site)
    return state


@pytest.mark.parametrize(
    "site", ["trainer.save_file", "torch.save", "model.save_file", "results", "done.json"]
)
def test_full_disk_is_one_clear_error_and_a_rerun_completes(
    env, tiny_bert, clean_run, tmp_path, monkeypatch, site
) -> None:
    plan = _plan(tiny_bert)
    out = tmp_path / "out"
    fault = _inject(monkeypatch, site)
    with pytest.raises(XstiltsError) as info:
        LocalExecutor().run(plan, out)
    assert fault["hits"] >= 1
    line = info.value.one_line()
    assert "no space left on device" in line.lower() and str(out) in line, line
    check_nothing_half_written(out)
    fault["armed"] = False
    LocalExecutor().run(plan, out)
    check_nothing_half_written(out)
    assert _comparable(out) == _comparable(clean_run)


def test_full_disk_while_writing_the_report(env, clean_run, tmp_path, monkeypatch) -> None:
    from xstilts.report.build import write_report

    out = tmp_path / "out"
    shutil.copytree(clean_run, out)
    first = write_report(out)
    before = {k: p.read_bytes() for k, p in first.items()}
    fault = _inject(monkeypatch, "report")
    with pytest.raises(XstiltsError, match="No space left on device"):
        write_report(out)
    assert fault["hits"] >= 1
    for k, p in first.items():  # every file is the previous complete one
        assert p.read_bytes() == before[k], k
    assert not [p for p in (out / "report").rglob(".*")], "temp files left in the report"


def _mount_tmpfs(path: Path, size: str, *opts: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    if not shutil.which("mount") or os.geteuid() != 0:
        return False
    o = ",".join([f"size={size}", *opts])
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", o, "tmpfs", str(path)], capture_output=True)
    return res.returncode == 0


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def _cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "XSTILTS_CACHE": str(cache)}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "xstilts"), *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )


def _one_line_error(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr + res.stdout, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    for n in needles:
        assert n.lower() in lines[0].lower(), (n, lines[0])
    return lines[0]


def test_real_full_disk_tmpfs(env, tiny_bert, clean_run, tmp_path) -> None:
    """A real 300 KB tmpfs as --out: the run stops with one line, nothing half written; after the
    file system grows, the same command completes with the clean run's results."""
    mnt = tmp_path / "small"
    if not _mount_tmpfs(mnt, "300k"):
        pytest.skip("cannot mount a tmpfs here (not root); the simulated full-disk tests cover it")
    try:
        cfg = tmp_path / "c.yaml"
        cfg.write_text(json.dumps(tiny_config(tiny_bert)))
        out = mnt / "out"
        res = _cli("run", str(cfg), "--out", str(out), "--no-report", cache=env)
        _one_line_error(res, "no space left on device", str(mnt))
        check_nothing_half_written(out)
        subprocess.run(["mount", "-o", "remount,size=64m", str(mnt)], check=True)
        res = _cli("run", str(cfg), "--out", str(out), cache=env)
        assert res.returncode == 0, res.stderr
        check_nothing_half_written(out)
        assert _comparable(out) == _comparable(clean_run)
        assert (out / "report" / "report.html").stat().st_size > 1000
    finally:
        _umount(mnt)


@pytest.mark.parametrize("kind", ["not-a-directory", "read-only"])
def test_unwritable_output_dir_is_one_line(env, tiny_bert, tmp_path, kind) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps(tiny_config(tiny_bert)))
    if kind == "not-a-directory":
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "out"
        needle = "Not a directory"
    else:
        ro = tmp_path / "ro"
        if os.geteuid() != 0:
            ro.mkdir()
            ro.chmod(0o555)
            needle = "Permission denied"
        elif _mount_tmpfs(ro, "1m", "ro"):
            needle = "Read-only file system"
        else:
            pytest.skip("root without mount: a read-only directory cannot be made here")
        out = ro / "out"
    try:
        res = _cli("run", str(cfg), "--out", str(out), cache=env)
        _one_line_error(res, needle, str(out.parent))
    finally:
        if kind == "read-only" and os.geteuid() == 0:
            _umount(tmp_path / "ro")


# --------------------------------------------------------------------------------------------
# concurrent writers to the results store
# --------------------------------------------------------------------------------------------


def _row(step: str, i: int, worker: int) -> ResultRow:
    return ResultRow(
        run_id="r",
        config_hash="h",
        model="m",
        intermediate="none",
        target="t",
        seed=1,
        task="t",
        language=f"l{i}",
        split="test",
        perturbation="none",
        metric="accuracy",
        value=i / 7,
        step=step,
        extra={"writer": "any"},
    )


def _writer(out: str, worker: int, n_steps: int, shared: int) -> None:
    store = ResultsStore(out)
    for k in range(n_steps):
        store.write(
            f"evaluate-w{worker}-{k}",
            [_row(f"evaluate-w{worker}-{k}", i, worker) for i in range(5)],
        )
        for s in range(shared):  # every worker also writes the same shared steps (a retried step)
            store.write(
                f"evaluate-shared-{s}", [_row(f"evaluate-shared-{s}", i, 0) for i in range(5)]
            )


def _reader(out: str, rounds: int, q) -> None:
    store, bad = ResultsStore(out), 0
    for _ in range(rounds):
        try:
            rows = store.rows()
            keys = [(r["step"], r["language"]) for r in rows]
            bad += len(keys) != len(set(keys))
        except Exception:  # a half-written file would fail to parse
            bad += 1
    q.put(bad)


def test_concurrent_writers_lose_and_duplicate_no_rows(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    ctx = mp.get_context("fork")
    workers, n_steps, shared = 6, 15, 3
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(out, w, n_steps, shared)) for w in range(workers)]
    procs.append(ctx.Process(target=_reader, args=(out, 40, q)))
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert q.get(timeout=10) == 0, "a reader saw a half-written file or a duplicated row"
    rows = ResultsStore(out).rows()
    keys = [(r["step"], r["language"]) for r in rows]
    assert len(keys) == len(set(keys)) == (workers * n_steps + shared) * 5
    assert {r["step"] for r in rows} == {
        *(f"evaluate-w{w}-{k}" for w in range(workers) for k in range(n_steps)),
        *(f"evaluate-shared-{s}" for s in range(shared)),
    }
    assert all(math.isclose(r["value"], int(r["language"][1:]) / 7) for r in rows)
    leftovers = [
        p.name for p in (tmp_path / "out" / "results").iterdir() if not p.name.endswith(".json")
    ]
    assert not leftovers, leftovers
