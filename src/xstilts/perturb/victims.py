"""Models as attack victims: a trained checkpoint of any family, or an encoder for retrieval.

A victim returns one output per example (what the family goal's ``decode`` makes of the logits),
runs every call as batched inference with dynamic padding on its device and in the model's own
precision, and offers gradient word importance where the goal encodes a text pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from xstilts.perturb.goals import AttackGoal


class FamilyVictim:
    """A ``MultiTaskModel`` with a head for ``spec``: featurize, predict, decode through the goal."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        spec: Any,
        goal: AttackGoal,
        *,
        max_length: int = 128,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        from xstilts.tasks.family import get_family

        self.model, self.tok, self.spec, self.goal = model, tokenizer, spec, goal
        self.fam = get_family(spec.family)
        self.max_length, self.batch_size, self.device = max_length, batch_size, device
        self.forward_examples = 0

    def _named(self, examples: Sequence[dict]) -> list[dict]:
        labels = self.spec.labels or []
        return [
            {**ex, "label": labels[ex["label"]]}
            if isinstance(ex.get("label"), int) and labels
            else ex
            for ex in examples
        ]

    def input_keys(self, examples: list[dict]) -> list[Any]:
        """What the model sees of each example: its features (all columns, every window), plus
        the text when the goal decodes an answer out of it (QA)."""
        import hashlib
        import json

        feats = self.fam.featurize(self._named(examples), self.tok, self.spec, self.max_length)
        rows: list[list] = [[] for _ in examples]
        cols = [c for c in feats if c != "example"]
        for i, k in enumerate(feats["example"]):
            rows[k].append([feats[c][i] for c in cols])
        out = []
        for ex, r in zip(examples, rows, strict=True):
            blob = json.dumps(r)
            if self.goal.decodes_text:
                from xstilts.perturb.attack import content_key

                blob += content_key(ex)
            out.append(hashlib.sha1(blob.encode("utf-8")).hexdigest())
        return out

    def predict(self, examples: list[dict]) -> list[Any]:
        from xstilts.evaluation.predict import predict

        named = self._named(examples)
        feats = self.fam.featurize(named, self.tok, self.spec, self.max_length)
        preds, logits = predict(
            self.model,
            self.fam,
            self.spec.name,
            feats,
            batch_size=self.batch_size,
            pad_id=self.tok.pad_token_id or 0,
            device=self.device,
            return_logits=True,
        )
        self.forward_examples += len(examples)
        return self.goal.decode(preds, logits, named, feats)

    def importance(self, examples: list[dict], units: list[Any], goal: AttackGoal) -> list:
        """Per example, per word unit: the largest gradient norm of the task loss with respect to
        the input embeddings over the unit's tokens (None where the goal has no text pair).

        One forward and backward pass per example, in batches: this replaces one deletion query
        per word (the ranking of "Gradient-guided" word importance, as in HotFlip/BERT-Attack).
        """
        out: list[np.ndarray | None] = [None] * len(examples)
        todo = [j for j, ex in enumerate(examples) if goal.grad_fields(ex)]
        emb = self.model.encoder.get_input_embeddings()
        store: dict[str, torch.Tensor] = {}

        def hook(_mod, _inp, output):
            output = output.detach().requires_grad_(True)  # a leaf: only its gradient is kept
            store["emb"] = output
            return output

        # no weight gradients (the embedding table alone is 96M of XLM-R's parameters)
        frozen = [p for p in self.model.parameters() if p.requires_grad]
        for p in frozen:
            p.requires_grad_(False)
        handle = emb.register_forward_hook(hook)
        was_training = self.model.training
        self.model.eval()
        try:
            named = self._named(examples)
            for s0 in range(0, len(todo), self.batch_size):
                idx = todo[s0 : s0 + self.batch_size]
                exs = [named[j] for j in idx]
                flds = [goal.grad_fields(ex) or [] for ex in exs]
                a = [ex[f[0]] for ex, f in zip(exs, flds, strict=True)]
                b = [ex[f[1]] if len(f) > 1 else None for ex, f in zip(exs, flds, strict=True)]
                enc = self.tok(
                    a,
                    b if any(x is not None for x in b) else None,
                    truncation=True,
                    max_length=self.max_length,
                    return_offsets_mapping=True,
                )
                feats = self.fam.featurize(exs, self.tok, self.spec, self.max_length)
                if feats["input_ids"] != enc["input_ids"]:
                    continue  # the family encodes differently: keep deletion importance
                rows = [{k: feats[k][i] for k in feats if k != "example"} for i in range(len(exs))]
                batch = self.fam.collate(rows, self.tok.pad_token_id or 0)
                batch = {k: v.to(self.device) for k, v in batch.items()}
                from xstilts.evaluation.predict import NOT_MODEL_INPUTS

                with torch.enable_grad():
                    logits = self.model(
                        self.spec.name,
                        **{k: v for k, v in batch.items() if k not in NOT_MODEL_INPUTS},
                    )
                    loss = self.fam.loss(logits, batch) * len(exs)
                    loss.backward()
                self.forward_examples += len(exs)
                g = store["emb"].grad.float().norm(dim=-1).cpu().numpy()
                for r, j in enumerate(idx):
                    offs = enc["offset_mapping"][r]
                    seq = enc.sequence_ids(r)
                    u = units[j]
                    keys = flds[r]
                    imp = np.zeros(len(u.units))
                    for t, (o, sq) in enumerate(zip(offs, seq, strict=True)):
                        if sq is None or o[1] <= o[0]:
                            continue
                        key = keys[sq]
                        for i, (k, ua, ub) in enumerate(u.units):
                            if k == key and ua < o[1] and o[0] < ub:
                                imp[i] = max(imp[i], g[r, t])
                    out[j] = imp
        finally:
            handle.remove()
            for p in frozen:
                p.requires_grad_(True)
            self.model.train(was_training)
        return out


class RetrievalVictim:
    """An encoder as a retrieval victim: each query's cosine similarity to a fixed candidate pool
    (embedded once: the candidate side is never perturbed)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        candidates: list[str],
        *,
        layer: int = -1,
        prefix: str = "",
        max_length: int = 128,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        self.model, self.tok = model, tokenizer
        self.kw = {
            "layer": layer,
            "prefix": prefix,
            "max_length": max_length,
            "batch_size": batch_size,
            "device": device,
        }
        self.cands = self._embed(candidates)
        self.forward_examples = 0

    def _embed(self, texts: list[str]) -> torch.Tensor:
        from xstilts.experiments.retrieval import embed

        e = embed(self.model, self.tok, texts, **self.kw)
        return torch.nn.functional.normalize(e, dim=-1)

    def predict(self, examples: list[dict]) -> list[np.ndarray]:
        q = self._embed([ex["text_a"] for ex in examples])
        self.forward_examples += len(examples)
        return list((q @ self.cands.T).numpy())
