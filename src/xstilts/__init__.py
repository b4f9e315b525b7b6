"""xstilts: English intermediate-task training for multilingual encoders.

Three phases (intermediate task(s) -> English target -> zero-shot evaluation in every language),
robustness under perturbations and attacks, and cross-lingual alignment, run as plans of
content-keyed steps.

The public API (``xstilts.plan``, ``run``, ``results``, ``report``, ``export``) lives in
``xstilts.api`` and is imported on first use, so ``import xstilts`` loads neither torch nor pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "export", "plan", "report", "results", "run"]

if TYPE_CHECKING:
    from xstilts.api import export, plan, report, results, run


def __getattr__(name: str) -> Any:
    """The API on first use. ``report`` and ``export`` are also subpackages: importing them
    makes the package itself callable as the API function (``xstilts.callable``)."""
    import importlib

    if name in ("plan", "run", "results"):
        return getattr(importlib.import_module("xstilts.api"), name)
    if name in ("report", "export"):
        return importlib.import_module(f"xstilts.{name}")
    raise AttributeError(f"module 'xstilts' has no attribute {name!r}")
