"""Reliability suite fixtures and the end-of-session fuzz table.

``rel_cache``: one ``$XSTILTS_CACHE`` for the session whose ``models`` links to the converted
offline encoder (converted once, never again), with features tokenised afresh in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from relkit import STATS, build_tiny_bert, comparable, fuzz_table, tiny_config


@pytest.fixture(scope="session")
def rel_cache(tmp_path_factory: pytest.TempPathFactory, offline_encoder: Path) -> Path:
    cache = tmp_path_factory.mktemp("rel-cache")
    (cache / "models").mkdir()
    (cache / "models" / offline_encoder.name).symlink_to(offline_encoder, target_is_directory=True)
    return cache


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT (safetensors) for fault-injection runs that need many fast steps."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_clean_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, rel_cache: Path):
    """The reference: the tiny pipeline (``relkit.tiny_config``) run once without any fault."""
    from xstilts.experiments.config import parse_config
    from xstilts.experiments.executors import LocalExecutor
    from xstilts.experiments.plan import build_plan

    out = tmp_path_factory.mktemp("clean") / "out"
    with pytest.MonkeyPatch.context() as m:
        m.setenv("XSTILTS_CACHE", str(rel_cache))
        m.delenv("XSTILTS_DETERMINISTIC", raising=False)
        LocalExecutor().run(build_plan(parse_config(tiny_config(tiny_bert))), out)
    assert comparable(out)
    return out


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not STATS:
        return
    terminalreporter.section("reliability: fuzzed inputs")
    for line in fuzz_table(STATS):
        terminalreporter.write_line(line)
