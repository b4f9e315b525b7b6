"""Run an alignment probe over checkpoints and input sets; every number becomes a ``ResultRow``.

Rows: ``task`` = input set (``tatoeba``, ``bucc2018``, ``xnli``, ...), ``language`` = the
non-English language (``all`` for the language probe; averages are computed on read),
``kind`` = ``alignment``, ``perturbation`` = ``none`` or the label of the perturbation of the
non-English side (its parameters as data in ``params``), ``extra`` =
``{"layer": L, "checkpoint": <series>, "checkpoint_label": <label>, ...}``. The report draws one
line per ``extra.checkpoint``, so the series name carries the input set (when there are several)
and the perturbation, keeping clean and perturbed curves apart.

Metrics (per layer; layer 0 is the embedding output):

=========================  ==================================================================
``tatoeba_acc``            Tatoeba top-1 accuracy xx -> en (``retrieval_acc`` on other sets)
``bucc_f1``                BUCC 2018 mining F1 at the F1-optimal threshold
``pair_margin``            mean cos(translation) - mean cos(non-translation pairs)
``pair_rank``              mean rank of the translation among all English rows (1 = best)
``perturbed_self_cos``     mean cos(perturbed xx sentence, its clean self)
``perturbed_translation_cos``  mean cos(perturbed xx sentence, its English translation)
``cka``                    linear CKA between a checkpoint and the reference, same inputs
``lang_id_acc``            held-out accuracy of a language probe (lower = more neutral)
=========================  ==================================================================
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from xstilts.align import inputs as I
from xstilts.align import metrics as M
from xstilts.align.config import AlignmentConfig, AlignPerturbation
from xstilts.align.hidden import Checkpoint, layer_states
from xstilts.errors import ConfigError
from xstilts.rows import ResultRow

LABEL_KEYS = ("run_id", "config_hash", "model", "seed")


class _Rows:
    """Collects rows with the run's labels filled in."""

    def __init__(self, labels: dict[str, Any], step: str, many_inputs: bool) -> None:
        self.labels = {
            k: labels.get(k, d) for k, d in zip(LABEL_KEYS, ("", "", "", 0), strict=True)
        }
        self.step = step
        self.many = many_inputs
        self.rows: list[ResultRow] = []
        self.pert_params: dict[str, dict[str, Any]] = {}  # label -> the perturbation as data

    def series(self, label: str, task: str, pert: str) -> str:
        s = label + (f" · {task}" if self.many else "")
        return s + (f" [{pert}]" if pert != "none" else "")

    def add(
        self,
        ck: Checkpoint,
        task: str,
        lang: str,
        split: str,
        pert: str,
        metric: str,
        value: float,
        layer: int,
        label: str | None = None,
        **extra: Any,
    ) -> None:
        label = label or ck.label
        self.rows.append(
            ResultRow(
                **self.labels,
                intermediate=ck.intermediate,
                target=ck.target,
                task=task,
                language=lang,
                split=split,
                perturbation=pert,
                metric=metric,
                value=float(value),
                step=self.step,
                kind="alignment",
                params=self.pert_params.get(pert, {}),
                extra={
                    "layer": int(layer),
                    "checkpoint": self.series(label, task, pert),
                    "checkpoint_label": label,
                    **extra,
                },
            )
        )


def perturb_texts(
    texts: list[str], ids: list[str], spec: AlignPerturbation, lang: str
) -> tuple[list[str], str]:
    """Seeded perturbed copies (order-independent: each text's rng comes from its id)."""
    from xstilts.perturb import perturb_dataset

    ex = [{"id": i, "text_a": t} for i, t in zip(ids, texts, strict=True)]
    out, _ = perturb_dataset(
        ex, "classification", spec.name, spec.params, lang, spec.seed, fields=["text_a"]
    )
    return [e["text_a"] for e in out], pert_label(spec)


def pert_label(spec: AlignPerturbation) -> str:
    from xstilts.perturb import perturbation_label

    return spec.label or perturbation_label(spec.name, spec.params)


def run_alignment(
    checkpoints: list[Checkpoint],
    acfg: AlignmentConfig,
    *,
    data_dir: str | Path | None,
    labels: dict[str, Any] | None = None,
    step_key: str = "",
    cache_dir: str | Path | None = None,
    tick: Callable[[], Any] | None = None,
) -> list[ResultRow]:
    """Every configured metric for every checkpoint, input set, language and layer."""
    if not checkpoints:
        raise ConfigError("no checkpoints to probe", where="alignment.checkpoints")
    labels = dict(labels or {})
    ddir = Path(data_dir) if data_dir else None
    langs = I.resolve_languages(acfg.inputs, acfg.languages, ddir)
    out = _Rows(labels, step_key, len(acfg.inputs) > 1)
    for pspec in acfg.perturbations:
        out.pert_params[pert_label(pspec)] = {
            "name": pspec.name, "label": pert_label(pspec), "seed": pspec.seed, **pspec.params,
        }  # fmt: skip
    by_label = {c.label: c for c in checkpoints}
    ref = by_label.get(acfg.reference)
    if "cka" in acfg.metrics and ref is None and len(checkpoints) > 1:
        raise ConfigError(
            f"CKA reference {acfg.reference!r} is not among the probed checkpoints "
            f"({', '.join(by_label)})",
            where="alignment.reference",
        )
    seed = int(labels.get("seed", 0) or 0)

    def states(ck: Checkpoint, texts: list[str]) -> torch.Tensor:
        if acfg.prefix:
            texts = [acfg.prefix + x for x in texts]
        return layer_states(
            ck, texts, max_length=acfg.max_length, batch_size=acfg.batch_size,
            dtype=acfg.dtype, cache_dir=cache_dir,
        )  # fmt: skip

    def layers_of(n_states: int) -> list[int]:
        if acfg.layers is None:
            return list(range(n_states))
        bad = [x for x in acfg.layers if not 0 <= x < n_states]
        if bad:
            raise ConfigError(
                f"layer(s) {bad} out of range 0..{n_states - 1}", where="alignment.layers"
            )
        return list(acfg.layers)

    for name in acfg.inputs:
        probe: dict[str, dict[str, torch.Tensor]] = defaultdict(dict)  # label -> lang -> states
        split = "test"
        for li, lang in enumerate(langs[name]):
            ps = I.load(name, lang, ddir, acfg.max_sentences, seed=0)
            if isinstance(ps, I.MiningSet):  # a mining corpus (BUCC): F1 per layer, no pairs
                _bucc(out, checkpoints, acfg, ps, states, layers_of)
                if tick:
                    tick()
                continue
            split = ps.split
            perturbed = [perturb_texts(ps.src, ps.ids, p, lang) for p in acfg.perturbations]
            clean: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
            for ck in checkpoints:
                s, t = states(ck, ps.src), states(ck, ps.tgt)
                clean[ck.label] = (s, t)
                layers = layers_of(s.shape[0])
                _pairs(out, ck, ps, "none", s, t, layers, acfg)
                for ptexts, plabel in perturbed:
                    p = states(ck, ptexts)
                    _pairs(out, ck, ps, plabel, p, t, layers, acfg)
                    if "geometry" in acfg.metrics:
                        for L in layers:
                            out.add(ck, name, lang, ps.split, plabel, "perturbed_self_cos",
                                    M.rowwise_cos(p[L], s[L]), L)  # fmt: skip
                            out.add(ck, name, lang, ps.split, plabel,
                                    "perturbed_translation_cos", M.rowwise_cos(p[L], t[L]), L,
                                    clean_translation_cos=M.rowwise_cos(s[L], t[L]))  # fmt: skip
                if "lang_id" in acfg.metrics:
                    k = min(acfg.probe_max_per_language, s.shape[1])
                    probe[ck.label][lang] = s[:, :k].half()
                    if li == 0:
                        probe[ck.label]["en"] = t[:, :k].half()
            if "cka" in acfg.metrics and ref is not None:
                rs, rt = clean[ref.label]
                for ck in checkpoints:
                    if ck is ref:
                        continue
                    s, t = clean[ck.label]
                    sides = [(lang, rs, s)] + ([("en", rt, t)] if li == 0 else [])
                    for side_lang, a, b in sides:
                        for L in layers_of(a.shape[0]):
                            out.add(ck, name, side_lang, ps.split, "none", "cka",
                                    M.linear_cka(a[L], b[L], debiased=acfg.cka == "debiased"),
                                    L, label=f"{ck.label} vs {ref.label}",
                                    reference=ref.label, kind=acfg.cka, n=len(ps))  # fmt: skip
            if tick:
                tick()
        if "lang_id" in acfg.metrics:
            for ck in checkpoints:
                feats = probe.get(ck.label, {})
                if len(feats) < 2:
                    continue
                n_states = next(iter(feats.values())).shape[0]
                for L in layers_of(n_states):
                    res = M.lang_id_accuracy(
                        {lg: f[L].float() for lg, f in feats.items()},
                        test_share=acfg.probe_test_share,
                        seed=seed,
                    )
                    out.add(ck, name, "all", split, "none", "lang_id_acc", res["accuracy"], L,
                            chance=res["chance"], n_languages=len(feats),
                            n_train=res["n_train"], n_test=res["n_test"])  # fmt: skip
    for ck in checkpoints:
        ck.unload()
    return out.rows


def _pairs(
    out: _Rows,
    ck: Checkpoint,
    ps: I.ParallelSet,
    pert: str,
    s: torch.Tensor,
    t: torch.Tensor,
    layers: list[int],
    acfg: AlignmentConfig,
) -> None:
    acc_name = ps.metric
    for L in layers:
        g = M.pair_geometry(s[L], t[L])
        if "retrieval" in acfg.metrics:
            out.add(ck, ps.name, ps.lang, ps.split, pert, acc_name, g["acc_src2tgt"], L,
                    en2xx=g["acc_tgt2src"], n=len(ps))  # fmt: skip
        if "geometry" in acfg.metrics:
            out.add(ck, ps.name, ps.lang, ps.split, pert, "pair_margin", g["margin"], L,
                    pair_cos=g["pair_cos"], random_cos=g["random_cos"], n=len(ps))  # fmt: skip
            out.add(ck, ps.name, ps.lang, ps.split, pert, "pair_rank", g["mean_rank"], L,
                    n=len(ps))  # fmt: skip


def _bucc(out, checkpoints, acfg, ms: I.MiningSet, states, layers_of) -> None:
    if "retrieval" not in acfg.metrics:
        return
    lang = ms.lang
    ids = [f"{i}" for i in ms.src_ids]
    perturbed = [perturb_texts(ms.src, ids, p, lang) for p in acfg.perturbations]
    for ck in checkpoints:
        t = states(ck, ms.tgt)
        variants = [("none", ms.src)] + [(lbl, txt) for txt, lbl in perturbed]
        for pert, texts in variants:
            s = states(ck, texts)
            for L in layers_of(s.shape[0]):
                r = M.bucc_f1(s[L], t[L], ms.src_ids, ms.tgt_ids, texts, ms.tgt, ms.gold)
                out.add(ck, ms.name, lang, ms.split, pert, "bucc_f1", r["f1"], L,
                        precision=r["precision"], recall=r["recall"], threshold=r["threshold"],
                        n_src=len(ms.src), n_tgt=len(ms.tgt), n_gold=len(ms.gold))  # fmt: skip
