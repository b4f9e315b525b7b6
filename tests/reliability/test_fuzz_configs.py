"""Fuzzed YAML: task files (``tasks/registry.py``: ``_load_yaml``, includes, TaskSpec/GroupSpec)
and experiment configs (``load_config`` then ``build_plan``).

Seeds are the shipped task files (with an ``include:`` template and a benchmark group) and two
experiment configs (the demo's and a grid with overrides, perturbations and an attack). Mutations:
the YAML text's bytes (tabs, truncation, anchors and aliases, ``!!python`` tags, bad encodings)
and its structure (missing keys, wrong types, unknown keys, 5,000-deep nesting). Every case ends
in a successful load or a ``ConfigError``/``DataError`` naming the file (and line) or the field.
"""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from relkit import (
    FUZZ_SETTINGS,
    apply_byte_op,
    apply_json_op,
    byte_op,
    case_dir,
    dumps,
    json_op,
    run_case,
)

from xstilts.errors import ConfigError, XstiltsError
from xstilts.experiments.config import load_config
from xstilts.tasks import registry

CONFIGS = registry.CONFIG_DIR
TASK_SEED = {
    "xnli.yaml": (CONFIGS / "classification" / "xnli.yaml").read_bytes(),
    "umsab.yaml": (CONFIGS / "classification" / "umsab.yaml").read_bytes(),
    "_umsab.yaml": (CONFIGS / "classification" / "_umsab.yaml").read_bytes(),
    "demo-nli.yaml": (CONFIGS / "demo" / "demo-nli.yaml").read_bytes(),
    "mini-group.yaml": b"group: mini\ndescription: two tasks\ntasks: [xnli, umsab]\n"
    b"categories: {classification: [xnli, umsab]}\n",
}

CONFIG_SEEDS = {
    "demo": """\
name: demo
model: offline
intermediate: [demo-nli]
baseline: true
target: demo-sentiment
seeds: [1]
phases:
  intermediate: {learning_rate: 5.0e-5, epochs: 2, batch_size: 16, max_length: 64,
                 freeze_embeddings: true, select_best: false}
  target: {learning_rate: 5.0e-5, epochs: 3, batch_size: 16, max_length: 64,
           freeze_embeddings: true}
evaluation: {split: test}
""",
    "grid": """\
name: grid
model: offline
intermediate: [demo-nli, [demo-nli]]
baseline: false
targets: [demo-sentiment]
seeds: [1, 2]
phases:
  intermediate: {max_steps: 4, batch_size: 8, max_length: 32, checkpoint_every: 2}
  target: {max_steps: 4, batch_size: 8, max_length: 32, dev_split: null, sampler: proportional}
task_overrides:
  demo-sentiment: {learning_rate: 1.0e-4, warmup: 0.0}
evaluation: {languages: [en, de, zh], max_examples: 20, batch_size: 16, save_predictions: false}
perturbations:
  - {name: char_swap, params: {rate: 0.2}, seed: 3, fields: [text_a]}
attacks:
  - {name: greedy, params: {query_budget: 20, max_modification_rate: 0.2}, max_examples: 4,
     languages: [de]}
""",
}

YAML_INSERTS = [
    b"\t",
    b"  ",
    b"- ",
    b": ",
    b"? ",
    b"&a ",
    b"*a",
    b"*nope",
    b"<<: *a\n",
    b"!!python/object/apply:os.system ['true']",
    b"!!python/name:os.system",
    b"!!binary AAAA",
    b"%YAML 1.1\n---\n",
    b"---\n",
    b"...\n",
    b"'",
    b'"\\x00"',
    b"{",
    b"[",
    b"include: ",
    b"include: xnli.yaml\n",
    b"include: ../../../../../../etc/passwd\n",
    b"include: [a]\n",
    b"\xff",
    b"\x00",
]

yaml_op = st.one_of(
    byte_op, st.tuples(st.just("insert"), st.integers(0, 2**31), st.sampled_from(YAML_INSERTS))
)

case = st.fixed_dictionaries(
    {
        "file": st.integers(0, 7),
        "json_ops": st.lists(json_op, max_size=2),
        "byte_ops": st.lists(yaml_op, max_size=3),
    }
)


@pytest.fixture(autouse=True, scope="module")
def _private_cache(rel_cache: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XSTILTS_CACHE", str(rel_cache))
        yield


def _mutate(data: bytes, json_ops: list, byte_ops: list) -> bytes:
    if json_ops:
        obj = yaml.safe_load(data)
        for op in json_ops:
            obj = apply_json_op(obj, op)
        data = dumps(obj).encode()  # JSON is YAML (flow style)
    for op in byte_ops:
        data = apply_byte_op(data, op)
    return data


def _load_tasks(d: Path):
    """The registry's own loading path, over a directory holding only this case's files."""
    env = {k: v for k, v in os.environ.items() if k != "XSTILTS_TASKS"}
    with mock.patch.object(registry, "CONFIG_DIR", d), mock.patch.dict(os.environ, env, clear=True):
        return registry._load.__wrapped__(())


def test_task_seed_loads() -> None:
    with case_dir() as d:
        for name, data in TASK_SEED.items():
            (d / name).write_bytes(data)
        tasks, groups = run_case(
            "task yaml", lambda: _load_tasks(d), names=[str(d)], malformed=False, require_ok=True
        )
    assert {"xnli", "umsab", "demo-nli"} == set(tasks) and set(groups) == {"mini"}


@FUZZ_SETTINGS
@given(c=case)
def test_fuzzed_task_yaml(c: dict) -> None:
    task_yaml_case(c)


def task_yaml_case(c: dict) -> None:
    """One fuzz case over the task files (``c``: see ``case``)."""
    names = sorted(TASK_SEED)
    pick = names[c["file"] % len(names)]
    files = dict(TASK_SEED)
    files[pick] = _mutate(files[pick], c["json_ops"], c["byte_ops"])
    with case_dir() as d:
        for name, data in files.items():
            (d / name).write_bytes(data)
        out = run_case(
            "task yaml", lambda: _load_tasks(d), names=[str(d)], malformed=files != TASK_SEED
        )
    if isinstance(out, XstiltsError):
        assert out.where and str(d) in out.where, out.one_line()


def _load_and_plan(path: Path):
    from xstilts.experiments.plan import build_plan

    cfg = load_config(path)
    try:
        return build_plan(cfg)
    except XstiltsError as exc:
        # a plan-time error names the field it is about (``target``, ``evaluation.languages``)
        assert exc.where, exc.one_line()
        exc.where = f"{path}: {exc.where}"  # for run_case's check below
        raise


@pytest.mark.parametrize("seed", sorted(CONFIG_SEEDS))
def test_config_seed_plans(seed: str, offline_encoder: Path) -> None:
    with case_dir() as d:
        p = d / "c.yaml"
        p.write_text(CONFIG_SEEDS[seed], encoding="utf-8")
        plan = run_case(
            "experiment config",
            lambda: _load_and_plan(p),
            names=[str(p)],
            malformed=False,
            require_ok=True,
        )
    assert plan.steps


@pytest.mark.parametrize("seed", sorted(CONFIG_SEEDS))
@settings(FUZZ_SETTINGS, max_examples=max(1, FUZZ_SETTINGS.max_examples * 3 // 4))
@given(c=case)
def test_fuzzed_experiment_config(seed: str, c: dict, offline_encoder: Path) -> None:
    config_case(seed, c)


def config_case(seed: str, c: dict) -> None:
    """One fuzz case over an experiment config: load it, then plan it."""
    data = CONFIG_SEEDS[seed].encode()
    mutated = _mutate(data, c["json_ops"], c["byte_ops"])
    with case_dir() as d:
        p = d / "c.yaml"
        p.write_bytes(mutated)
        run_case(
            "experiment config",
            lambda: _load_and_plan(p),
            names=[str(p)],
            malformed=mutated != data,
        )


# --------------------------------------------------------------------------------------------
# targeted regressions: inputs the fuzzer found (or that a fuzzer rarely builds)
# --------------------------------------------------------------------------------------------

BOMB = "\n".join(
    [
        'a: &a ["x","x","x","x","x","x","x","x","x"]',
        *(
            f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("target: xnli\nseeds: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 100"),
        (
            "target: xnli\nphases:\n  intermediate: &p {max_steps: 3, batch_size: 8}\n"
            "  target: {<<: *p, max_length: 32}\n"
            "evaluation: {languages: &l [de]}\nattacks: [{languages: *l}]\n",
            None,  # anchors, aliases and merge keys used normally still load
        ),
        (BOMB + "\ntarget: xnli\n", "expands to more than"),
        ("target: xnli\ntask_overrides: {xnli: {x: &r [*r]}}\n", "expands"),  # self-reference
        ("target: !!python/object/apply:os.system ['touch pwned']\n", "invalid YAML"),
        ("target: xnli\nseeds: [1\n", "invalid YAML"),
        ("target: xnli\n\tseeds: [1]\n", "invalid YAML"),
        ("\ufefftarget: xnli\r\nseeds: [1]\r\n", None),  # BOM and CRLF
    ],
)
def test_config_regressions(tmp_path: Path, text: str, needle: str | None) -> None:
    p = tmp_path / "c.yaml"
    p.write_text(text, encoding="utf-8")
    out = run_case("experiment config", lambda: load_config(p), names=[str(p)], malformed=True)
    if needle is not None:
        assert isinstance(out, ConfigError) and needle in out.one_line(), out
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_config_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    """A 600-byte file that would expand to 387 million values: refused in well under a second
    (before the fix, hashing the config took minutes and gigabytes)."""
    import time

    p = tmp_path / "bomb.yaml"
    p.write_text(
        "target: xnli\nperturbations:\n  - name: char_swap\n    params:\n      x:\n"
        + "".join("        " + ln + "\n" for ln in BOMB.splitlines()),
        encoding="utf-8",
    )
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="expands to more than"):
        load_config(p)
    assert time.perf_counter() - t0 < 2.0


@pytest.mark.parametrize(
    "task_text",
    [
        "include: 5\nname: t\n",
        "include: [a.yaml]\nname: t\n",
        'include: "a\\x00b.yaml"\nname: t\n',
        "include: missing.yaml\nname: t\n",
        "include: t.yaml\nname: t\n",  # includes itself
        "name: t\nfamily: classification\nlanguages: " + "[" * 5000 + "]" * 5000 + "\n",
        BOMB + "\nname: t\n",
        "- a list\n",
        "name: t\nfamily: classification\nlanguages: [en]\nsplits: {train: [{path: x}]}\n",
    ],
)
def test_task_yaml_regressions(tmp_path: Path, task_text: str) -> None:
    (tmp_path / "t.yaml").write_text(task_text, encoding="utf-8")
    out = run_case(
        "task yaml", lambda: _load_tasks(tmp_path), names=[str(tmp_path)], malformed=True
    )
    assert isinstance(out, XstiltsError)
