"""What a task is, as data: ``TaskSpec`` is validated from small YAML files.

A task states its family, languages, splits and where each comes from (a reader over a local
directory laid out as XTREME's download script or ``../shared/data`` lays it out, or a Hugging Face
dataset), labels, metrics and version. Code never special-cases a task by name.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HFSource(Strict):
    """A Hugging Face dataset: ``datasets.load_dataset(path, name, split=split)``."""

    path: str
    name: str | None = None  # may contain {lang}
    split: str
    data_files: str | list[str] | None = None  # e.g. with path "json" or "csv" (local files)
    columns: dict[str, str] = Field(default_factory=dict)  # canonical name -> dataset column
    label_names: list[str] | None = None  # when the dataset stores labels as ints
    filter: dict[str, Any] = Field(default_factory=dict)  # column == value


class SplitSource(Strict):
    """Where one split of one language comes from.

    ``path`` is relative to the data directory and may use ``{lang}`` and ``{lang_name}`` (from the
    task's ``language_names``); ``format`` names a reader with its ``params``.
    """

    format: str | None = None
    path: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    hf: HFSource | None = None
    languages: list[str] | None = None  # this source applies only to these languages
    language: str | None = None  # fixed language (e.g. an English-only train split)

    @model_validator(mode="after")
    def _one_kind(self) -> SplitSource:
        if self.path is None and self.hf is None:
            raise ValueError("a split needs a local `path` (with `format`) or an `hf` source")
        if self.path is not None and self.format is None:
            raise ValueError("a local `path` needs a `format` (reader name)")
        return self


class TaskSpec(Strict):
    name: str
    family: str
    version: int = 1
    description: str = ""
    role: list[Literal["target", "intermediate"]] = Field(default_factory=lambda: ["target"])
    languages: list[str]
    train_language: str = "en"
    language_names: dict[str, str] = Field(default_factory=dict)
    labels: list[str] | None = None
    text_fields: list[str] = Field(default_factory=lambda: ["text_a"])
    metrics: list[str] = Field(default_factory=lambda: ["accuracy"])
    main_metric: str = "accuracy"
    licence: str = "unknown"
    splits: dict[str, list[SplitSource]] = Field(default_factory=dict)
    benchmarks: list[str] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)  # per-task hyperparameter defaults
    # How a checkpoint is scored on this task: a name in ``evaluation.protocols.PROTOCOLS``
    # (``finetuned``: a trained head predicts; ``retrieval``: embeddings are searched) and that
    # protocol's own parameters (e.g. ``{kind: tatoeba}`` for retrieval)
    protocol: str = "finetuned"
    protocol_params: dict[str, Any] = Field(default_factory=dict)
    source_file: str | None = None

    def split_sources(self, split: str, lang: str) -> list[SplitSource]:
        """Sources for ``split`` in ``lang``, most specific first."""
        out = []
        for src in self.splits.get(split, []):
            if src.language is not None and src.language != lang:
                continue
            if src.languages is not None and lang not in src.languages:
                continue
            out.append(src)
        return out

    def has_split(self, split: str, lang: str) -> bool:
        return bool(self.split_sources(split, lang))

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "version": self.version,
            "role": self.role,
            "languages": self.languages,
            "labels": self.labels,
            "metrics": self.metrics,
            "main_metric": self.main_metric,
            "splits": sorted(self.splits),
            "benchmarks": self.benchmarks,
            "licence": self.licence,
        }


class GroupSpec(Strict):
    """A benchmark: a named set of tasks aggregated as XTREME does (unweighted means)."""

    group: str
    description: str = ""
    tasks: list[str]
    categories: dict[str, list[str]] = Field(default_factory=dict)
    source_file: str | None = None
