"""Continued multilingual masked-LM as a task (Phang et al. 2020's alternative to plain STILTs).

The task ``mlm`` reads plain-text files the user supplies, one sentence or paragraph per line and
one file per language (``<data_dir>/mlm/<lang>.txt``), and is mixed into multi-task intermediate
training like any other task (``intermediate: [[mnli, mlm]]`` with a sampler). It shares the
encoder; its head (``mlm`` in ``HEADS``) is BERT's LM transform with the decoder tied to the word
embeddings, initialised fresh when the checkpoint has none (the offline e5 has none).

Masking is BERT's, done dynamically in ``collate`` (a new mask every time a row is drawn): 15% of
the non-special tokens are chosen; of those 80% become ``<mask>``, 10% a random token and 10% stay;
the loss is cross-entropy on the chosen positions only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict

from xstilts.data.readers import READERS, Example, read_lines
from xstilts.errors import ConfigError, DataError, file_where
from xstilts.tasks.family import FAMILIES, Features, pad_ids
from xstilts.tasks.spec import TaskSpec

MASK_PROB, MASK_TOKEN, RANDOM_TOKEN = 0.15, 0.8, 0.1
IGNORE = -100


class TextLinesParams(BaseModel):
    """Plain text, one example per non-blank line; a directory reads every file matching ``pattern``."""

    model_config = ConfigDict(extra="forbid")

    pattern: str = "*.txt"
    max_lines_per_file: int | None = (
        None  # first N non-blank lines of each file (balances languages)
    )


@READERS.register("text_lines", config=TextLinesParams)
def read_text_lines(path: Path, cfg: TextLinesParams) -> list[Example]:
    """``{"id", "text_a", "language"}`` per non-blank line; language = the file's stem."""
    files = sorted(path.glob(cfg.pattern)) if path.is_dir() else [path]
    files = [f for f in files if not f.is_dir()]  # a FIFO or socket is refused when read
    if not files:
        raise DataError(f"no files matching {cfg.pattern!r}", where=file_where(path))
    out: list[Example] = []
    for f in files:
        kept = 0
        for i, line in enumerate(read_lines(f)):
            if not line.strip():
                continue
            if cfg.max_lines_per_file is not None and kept >= cfg.max_lines_per_file:
                break
            out.append({"id": f"{f.stem}-{i}", "text_a": line.strip(), "language": f.stem})
            kept += 1
    if not out:
        raise DataError("no text lines (empty files?)", where=file_where(path))
    return out


def mask_tokens(
    ids: torch.Tensor,
    maskable: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking of ``ids`` where ``maskable``: returns (inputs, labels with -100 elsewhere).

    At least one position per batch is chosen (a batch of very short lines could otherwise have no
    target and a NaN loss).
    """
    probs = torch.full(ids.shape, MASK_PROB)
    chosen = torch.bernoulli(probs, generator=generator).bool() & maskable.bool()
    if not chosen.any() and maskable.any():
        flat = maskable.view(-1).nonzero()[:, 0]
        pick = flat[torch.randint(len(flat), (1,), generator=generator)]
        chosen.view(-1)[pick] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    inputs = ids.clone()
    u = torch.rand(ids.shape, generator=generator)
    to_mask = chosen & (u < MASK_TOKEN)
    to_random = chosen & (u >= MASK_TOKEN) & (u < MASK_TOKEN + RANDOM_TOKEN)
    inputs[to_mask] = mask_id
    rand = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs[to_random] = rand[to_random]
    return inputs, labels


class MaskedLM:
    name = "mlm"
    head = "mlm"

    def head_params(self, spec: TaskSpec) -> dict[str, Any]:
        return {}

    def featurize(
        self, examples: Sequence[dict], tokenizer: Any, spec: TaskSpec, max_length: int
    ) -> Features:
        mask_id = getattr(tokenizer, "mask_token_id", None)
        if mask_id is None:
            raise ConfigError(
                f"task {spec.name}: the tokenizer has no mask token, so it cannot do masked-LM",
                where="tasks",
            )
        enc = tokenizer(
            [ex["text_a"] for ex in examples],
            truncation=True,
            max_length=max_length,
            return_special_tokens_mask=True,
        )
        n = len(examples)
        return {
            "input_ids": enc["input_ids"],
            "special_tokens_mask": enc["special_tokens_mask"],
            "example": list(range(n)),
            # collate sees only rows, so the two numbers it needs travel with every row
            "mlm_mask_id": [int(mask_id)] * n,
            "mlm_vocab": [int(len(tokenizer))] * n,
        }

    def collate(self, rows: list[dict[str, Any]], pad_id: int) -> dict[str, torch.Tensor]:
        ids, mask = pad_ids([r["input_ids"] for r in rows], pad_id)
        special, _ = pad_ids([r["special_tokens_mask"] for r in rows], 1)
        maskable = (mask == 1) & (special == 0)
        inputs, labels = mask_tokens(
            ids, maskable, int(rows[0]["mlm_mask_id"]), int(rows[0]["mlm_vocab"])
        )
        return {"input_ids": inputs, "attention_mask": mask, "mlm_labels": labels}

    def loss(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        labels = batch["mlm_labels"]
        return F.cross_entropy(logits.float(), labels[labels != IGNORE])

    def decode(self, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> list[Any]:
        """Per row: (correct masked tokens, masked tokens, summed negative log-likelihood)."""
        labels = batch["mlm_labels"]
        gold = labels[labels != IGNORE]
        nll = F.cross_entropy(logits.float(), gold, reduction="none")
        hit = (logits.argmax(-1) == gold).float()
        row = (labels != IGNORE).nonzero()[:, 0]  # row of each masked position (row-major)
        out = []
        for b in range(labels.shape[0]):
            sel = row == b
            out.append((float(hit[sel].sum()), int(sel.sum()), float(nll[sel].sum())))
        return out

    def score(
        self,
        predictions: list[Any],
        examples: Sequence[dict],
        features: Features,
        spec: TaskSpec,
        lang: str,
    ) -> dict[str, float]:
        correct = sum(p[0] for p in predictions)
        total = sum(p[1] for p in predictions)
        nll = sum(p[2] for p in predictions)
        if total == 0:
            return {"accuracy": float("nan"), "perplexity": float("nan")}
        return {"accuracy": correct / total, "perplexity": math.exp(min(nll / total, 50.0))}


FAMILIES.register("mlm")(MaskedLM())
