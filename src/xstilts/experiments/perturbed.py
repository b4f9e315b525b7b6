"""Robustness inside the pipeline: perturbed evaluation copies and adaptive attacks as steps.

A perturbed copy is a pure function of (data, language, perturbation, params, seed); it is made
once, stored in the cache, and every model in a comparison reads the same bytes. Attacks run
against the checkpoint under test with the same constraints and budget for every model, recorded
with the results.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from xstilts.data.sources import content_key
from xstilts.experiments.atomic import safe_join, write_json
from xstilts.experiments.results import ResultRow
from xstilts.experiments.steps import STEP_KINDS, Step, StepContext
from xstilts.paths import cache_root
from xstilts.perturb.victims import FamilyVictim
from xstilts.tasks.spec import TaskSpec


def perturb_examples(
    examples: list[dict],
    spec: TaskSpec,
    pert: dict[str, Any],
    lang: str,
    *,
    source_fp: str = "",
    data_dir: Path | None = None,
) -> tuple[list[dict], dict[str, Any]]:
    """The seeded perturbed copy of ``examples`` (from the cache when it was made before)."""
    from xstilts.perturb import perturb_dataset, perturbation_key

    if pert["name"] == REAL_TYPOS:
        return real_typos_examples(examples, spec, pert, lang, data_dir)

    # Templates filled in first: the key must see the dictionary of this language (its digest).
    params = expand_params(pert.get("params") or {}, lang, data_dir)
    key = content_key(
        perturbation_key(pert["name"], params, pert.get("seed", 0)),
        pert.get("fields"),
        spec.name,
        spec.family,
        lang,
        source_fp,
        [ex.get("id") for ex in examples],
    )
    path = cache_root() / "perturbed" / f"{key}.json"
    if path.exists():
        blob = json.loads(path.read_text(encoding="utf-8"))
        return blob["examples"], blob["stats"]
    out, stats = perturb_dataset(
        examples,
        spec.family,
        pert["name"],
        params,
        lang,
        pert.get("seed", 0),
        fields=pert.get("fields"),
    )
    blob = {"examples": out, "stats": stats.to_dict()}
    write_json(path, blob)
    return out, blob["stats"]


def expand_params(params: dict[str, Any], lang: str, data_dir: Path | None) -> dict[str, Any]:
    """``{lang}`` and ``{data_dir}`` in string params, so one config entry serves every language
    (a dictionary per language pair for code-switching, a layout per language for keyboards)."""
    out: dict[str, Any] = {}
    for k, v in params.items():
        if isinstance(v, str) and "{" in v:
            v = v.replace("{lang}", lang).replace("{data_dir}", str(data_dir or "."))
        out[k] = v
    return out


def check_attack(spec: dict[str, Any], where: str) -> None:
    """Validate an attack's parameters at plan time, so a typo fails before any training."""
    from pydantic import ValidationError

    from xstilts.errors import ConfigError
    from xstilts.perturb.attack import AttackConfig
    from xstilts.registry import pydantic_message

    try:
        AttackConfig.model_validate({"search": spec["name"], **spec["params"]})
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where=where) from None


def check_perturbation(name: str, params: dict[str, Any], where: str) -> None:
    from xstilts.perturb import PERTURBATIONS

    if name == REAL_TYPOS:
        _real_typos_params(params, where)
        return

    PERTURBATIONS.params(name, params, where=where)


REAL_TYPOS = "real_typos"


class RealTyposParams(BaseModel):
    """``real_typos``: swap in the recorded noisy twin (same id) from the task's ``split``."""

    model_config = ConfigDict(extra="forbid")
    split: str = "typos"


def _real_typos_params(params: dict[str, Any] | None, where: str) -> RealTyposParams:
    from xstilts.errors import ConfigError
    from xstilts.registry import pydantic_message

    try:
        return RealTyposParams.model_validate(params or {})
    except ValidationError as exc:
        raise ConfigError(pydantic_message(exc), where=where) from None


def perturbation_applies(name: str, params: dict[str, Any] | None, spec: TaskSpec) -> bool:
    """Whether a configured perturbation is evaluated on a target: ``real_typos`` only on tasks
    with its split of noisy twins (``xnli-typos``); every synthetic perturbation everywhere."""
    if name != REAL_TYPOS:
        return True
    split = _real_typos_params(params, "perturbations").split
    return any(spec.has_split(split, lang) for lang in spec.languages)


def real_typos_examples(
    examples: list[dict], spec: TaskSpec, pert: dict[str, Any], lang: str, data_dir: Path | None
) -> tuple[list[dict], dict[str, Any]]:
    """Real noise instead of synthetic: each example's text fields from its twin in the task's
    noisy split (``typos`` of ``xnli-typos``), matched by id; the label stays the clean one.

    Every example must have a twin, so clean and noisy scores are on exactly the same rows.
    """
    import difflib

    from xstilts.data.sources import load_examples
    from xstilts.errors import ConfigError, DataError

    cfg = _real_typos_params(pert.get("params"), "perturbation.params")
    if not spec.has_split(cfg.split, lang):
        raise ConfigError(
            f"real_typos needs a {cfg.split!r} split of noisy twins; task {spec.name} has none "
            f"for {lang} (use xnli-typos)",
            where="perturbations",
        )
    noisy, _ = load_examples(spec, cfg.split, lang, data_dir)
    twins = {ex["id"]: ex for ex in noisy}
    fields = pert.get("fields") or [f for f in spec.text_fields]
    missing = [ex["id"] for ex in examples if ex["id"] not in twins]
    if missing:
        raise DataError(
            f"{len(missing)} of {len(examples)} rows have no noisy twin (e.g. {missing[0]!r}); "
            f"evaluate the split that holds exactly the twinned rows",
            where=f"{spec.name} {cfg.split} {lang}",
        )
    out: list[dict] = []
    chars = chars_edited = words = words_edited = changed = 0
    for ex in examples:
        new = dict(ex)
        diff = False
        for f in fields:
            if not isinstance(ex.get(f), str):
                continue
            a, b = ex[f], twins[ex["id"]][f]
            new[f] = b
            diff |= a != b
            sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
            chars += len(a)
            chars_edited += len(a) - sum(m.size for m in sm.get_matching_blocks())
            wa, wb = a.split(), b.split()
            sw = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
            words += len(wa)
            words_edited += len(wa) - sum(m.size for m in sw.get_matching_blocks())
        changed += diff
        out.append(new)
    stats = {
        "grapheme_edit_rate": chars_edited / chars if chars else 0.0,
        "word_edit_rate": words_edited / words if words else 0.0,
        "n_changed": changed,
        "n_examples": len(out),
        "source": f"{spec.name}:{cfg.split}",
    }
    return out, stats


class ModelVictim(FamilyVictim):
    """A classifier as an attack victim with ``predict_proba`` (the family victim, label flips)."""

    def __init__(self, model, tokenizer, spec: TaskSpec, max_length: int, batch_size: int) -> None:
        from xstilts.perturb.attack import family_goal

        goal = family_goal(spec.family, {}, spec)
        super().__init__(model, tokenizer, spec, goal, max_length=max_length, batch_size=batch_size)

    def predict_proba(self, examples: list[dict]) -> np.ndarray:
        return np.stack(self.predict(examples))


@STEP_KINDS.register("attack")
def run_attack_step(step: Step, ctx: StepContext) -> list[ResultRow]:
    """Adaptive attack on a trained checkpoint, per language; rows carry the attack's label."""
    from xstilts.data.sources import load_examples
    from xstilts.experiments.pipeline import _data_dir, _labels, _ref, build_model
    from xstilts.models.model import load_state
    from xstilts.perturb.attack import AttackConfig, family_goal, run_attack
    from xstilts.perturb.victims import FamilyVictim
    from xstilts.tasks.registry import get_task

    p = step.params
    spec = get_task(p["task"], where="target")
    ref = _ref(p)
    model, tok = build_model(ref, p)
    load_state(model, ctx.inputs["checkpoint"], encoder_only=False)
    model.eval()
    cfg = AttackConfig.model_validate({"search": p["attack"]["name"], **p["attack"]["params"]})
    goal = family_goal(spec.family, cfg.goal, spec)
    label = p["perturbation_label"]
    rows: list[ResultRow] = []
    per_lang: dict[str, dict[str, float]] = {}
    for lang in p["languages"]:
        split = p["split"] if spec.has_split(p["split"], lang) else "dev"
        ex, _ = load_examples(
            spec, split, lang, _data_dir(p), limit=p["attack"].get("max_examples")
        )
        victim = FamilyVictim(
            model, tok, spec, goal, max_length=p["max_length"], batch_size=p["batch_size"]
        )
        run = run_attack(victim, ex, spec.family, lang, cfg, spec=spec, goal=goal)
        out = safe_join(ctx.work_dir, f"attacks/{lang}.json", where=f"languages[{lang}]")
        out.parent.mkdir(parents=True, exist_ok=True)
        run.save(out)
        summ = {
            k: v
            for k, v in run.summary.items()
            if k
            in (
                "accuracy_under_attack",
                "attack_success_rate",
                "avg_queries",
                "perturbation_rate",
                "clean_accuracy",
                "clean_score",
                "score_under_attack",
            )
        }
        # undefined is not zero: no successful attack has no perturbation rate; leave it out
        summ = {k: v for k, v in summ.items() if v is not None and not math.isnan(float(v))}
        per_lang[lang] = summ
        for metric, value in summ.items():
            rows.append(
                ResultRow(
                    **_labels(p),
                    task=spec.name,
                    language=lang,
                    split=split,
                    perturbation=label,
                    metric=metric,
                    value=float(value),
                    step=step.key,
                    kind="attack",
                    params={**cfg.constraint(), "goal": goal.describe()},
                    extra={
                        "n": len(ex),
                        "attack": cfg.model_dump(mode="json"),
                        "forward_examples": victim.forward_examples,
                    },
                )
            )
    others = [lang for lang in per_lang if lang != spec.train_language]
    metrics = dict.fromkeys(m for lang in others for m in per_lang[lang])
    for metric in metrics:
        vals = [per_lang[lang][metric] for lang in others if metric in per_lang[lang]]
        if vals:
            rows.append(
                ResultRow(
                    **_labels(p),
                    task=spec.name,
                    language="avg",
                    split=p["split"],
                    perturbation=label,
                    metric=metric,
                    value=float(np.mean(vals)),
                    step=step.key,
                    kind="attack",
                    params={**cfg.constraint(), "goal": goal.describe()},
                    extra={"languages": [lang for lang in others if metric in per_lang[lang]]},
                )
            )
    write_json(ctx.work_dir / "attack_config.json", cfg.model_dump(mode="json"))
    return rows
