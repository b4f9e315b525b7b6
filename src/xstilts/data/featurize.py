"""Examples -> model features through the task's family, cached on disk by content.

Training and every protocol featurize through here, so equal inputs (tokenizer, task version,
split, language, source fingerprint, labels, perturbation) share one cache entry.
"""

from __future__ import annotations

import json

from xstilts.data.cache import cached_features, feature_key, tokenizer_fingerprint
from xstilts.tasks.family import get_family
from xstilts.tasks.registry import get_task
from xstilts.tasks.spec import TaskSpec


def featurize(
    spec: TaskSpec,
    examples: list[dict],
    tokenizer,
    max_length: int,
    split: str,
    lang: str,
    source_fp: str,
    *,
    cache: bool,
    extra: str = "",
):
    fam = get_family(spec.family, where=f"task {spec.name}")
    if spec.labels != get_task(spec.name).labels:  # discovered from data / read from a checkpoint
        extra += "|labels=" + json.dumps(spec.labels)
    key = feature_key(
        tokenizer_fingerprint(tokenizer),
        spec.name,
        spec.version,
        split,
        lang,
        max_length,
        source_fp,
        extra,
    )
    return cached_features(
        key, lambda: fam.featurize(examples, tokenizer, spec, max_length), enabled=cache
    )
