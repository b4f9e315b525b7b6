"""Batches and task samplers.

Length-grouped batches (shuffle, cut into mega-batches, sort each by length, shuffle the batches)
keep padding waste low without giving up randomness. A multi-task sampler picks which task feeds
each step; samplers are registry entries with typed parameters.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from xstilts.registry import Registry


def length_grouped_batches(
    lengths: list[int],
    batch_size: int,
    rng: np.random.Generator,
    *,
    group: bool = True,
    mega: int = 50,
) -> list[list[int]]:
    n = len(lengths)
    order = rng.permutation(n)
    if not group:
        return [order[i : i + batch_size].tolist() for i in range(0, n, batch_size)]
    batches: list[list[int]] = []
    span = batch_size * mega
    for s in range(0, n, span):
        chunk = sorted(order[s : s + span].tolist(), key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemperatureParams(Strict):
    temperature: float = 2.0
    size_cap: int | None = None


class WeightsParams(Strict):
    weights: dict[str, float] = Field(default_factory=dict)


class ProportionalParams(Strict):
    size_cap: int | None = None


SAMPLERS: Registry = Registry("sampler")


@SAMPLERS.register("proportional", config=ProportionalParams)
def proportional(sizes: dict[str, int], p: ProportionalParams) -> dict[str, float]:
    """Probability proportional to (capped) training-set size."""
    s = {t: min(n, p.size_cap) if p.size_cap else n for t, n in sizes.items()}
    return _norm(s)


@SAMPLERS.register("temperature", config=TemperatureParams)
def temperature(sizes: dict[str, int], p: TemperatureParams) -> dict[str, float]:
    """size^(1/T), with an optional size cap (as jiant/T5 multi-task mixing)."""
    s = {
        t: (min(n, p.size_cap) if p.size_cap else n) ** (1.0 / p.temperature)
        for t, n in sizes.items()
    }
    return _norm(s)


@SAMPLERS.register("uniform")
def uniform(sizes: dict[str, int], p: BaseModel) -> dict[str, float]:
    """Every task equally often."""
    return {t: 1.0 / len(sizes) for t in sizes}


@SAMPLERS.register("weights", config=WeightsParams)
def weights(sizes: dict[str, int], p: WeightsParams) -> dict[str, float]:
    """Explicit weights per task (missing tasks get 0)."""
    return _norm({t: float(p.weights.get(t, 0.0)) for t in sizes})


def _norm(s: dict[str, float]) -> dict[str, float]:
    z = sum(s.values())
    if z <= 0:
        from xstilts.errors import ConfigError

        raise ConfigError("sampler weights sum to zero", where="sampler_params")
    return {t: v / z for t, v in s.items()}


def task_schedule(probs: dict[str, float], steps: int, rng: np.random.Generator) -> list[str]:
    names = sorted(probs)
    p = np.array([probs[t] for t in names])
    return [names[i] for i in rng.choice(len(names), size=steps, p=p / p.sum())]


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
