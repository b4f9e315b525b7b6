"""Export a trained checkpoint as a standard ``transformers`` directory (and push it to the hub).

A checkpoint in ``steps/<key>/`` keeps xstilts' own layout: heads by task, and the word-embedding
table replaced by its digest while training left it unchanged. Export loads it the one way
xstilts loads checkpoints (``models/build.py``: the table comes back from the base
encoder and its digest is checked), maps the task head onto the matching ``AutoModelFor...``
class (``export/layouts.py``), checks on a probe input that the exported model gives the same
logits, and writes safetensors weights, the tokenizer and a model card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from xstilts.export.select import Candidate, candidates, select

if TYPE_CHECKING:
    from xstilts.export.core import ExportResult, export_checkpoint, push_to_hub


def __getattr__(name: str) -> Any:
    """The exporter (torch, transformers) loads on first use: choosing a checkpoint does not."""
    if name in ("ExportResult", "export_checkpoint", "push_to_hub"):
        from xstilts.export import core

        return getattr(core, name)
    raise AttributeError(f"module 'xstilts.export' has no attribute {name!r}")


__all__ = [
    "Candidate",
    "ExportResult",
    "candidates",
    "export_checkpoint",
    "push_to_hub",
    "select",
]

from xstilts.callable import callable_package  # noqa: E402

callable_package(__name__, "export")  # ``xstilts.export(...)`` is the API function
