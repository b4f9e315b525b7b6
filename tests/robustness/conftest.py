"""The robustness runs, started lazily once per session (see ``robust_runs.py``)."""

from __future__ import annotations

import pytest
from robust_runs import Runs


@pytest.fixture(scope="session")
def runs(tmp_path_factory, shared_data, offline_encoder) -> Runs:
    return Runs(tmp_path_factory.mktemp("robustness"), shared_data, offline_encoder)
