"""Training throughput: xstilts' trainer vs Hugging Face ``Trainer`` on the same rows and model.

Same model (multilingual-e5-small, offline copy), same English XNLI rows, batch size, max length,
learning rate, schedule (linear, 10% warmup), weight decay, clipping, epochs and fused AdamW; both
group batches by length. Each variant runs in its own process (fair memory figures): ex/s over
the training call only (model load and tokenisation excluded for both), then accuracy on English
dev rows so speed is not bought with quality.

    python benchmarks/bench_train.py [--rows 640 --dev-rows 500 --epochs 1 --batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    bf16_skip_reason,
    emit,
    profiled,
    read_xnli,
    rss_mb,
    run_child,
    write_result,
)

LABELS = ["entailment", "neutral", "contradiction"]


def _named(rows):
    return [{**r, "label": LABELS[r["label"]]} for r in rows]


def child_xstilts(a) -> dict:
    import torch

    from xstilts.evaluation.predict import predict
    from xstilts.experiments.pipeline import add_task_head, build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.tasks.family import get_family
    from xstilts.tasks.registry import get_task
    from xstilts.training.config import PhaseConfig
    from xstilts.training.trainer import TrainSet, train

    torch.manual_seed(a.seed)
    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    spec = get_task("xnli")
    fam = get_family(spec.family)
    train_rows = _named(read_xnli("test", "en", a.rows))
    dev_rows = _named(read_xnli("dev", "en", a.dev_rows))
    feats = fam.featurize(train_rows, tok, spec, a.max_length)
    dev_feats = fam.featurize(dev_rows, tok, spec, a.max_length)
    add_task_head(model, spec, ref.pooling)
    cfg = PhaseConfig(
        learning_rate=a.lr,
        epochs=a.epochs,
        batch_size=a.batch_size,
        max_length=a.max_length,
        warmup=0.1,
        freeze_embeddings=a.frozen,
        mixed_precision="bf16" if a.bf16 else "no",
        select_best=False,
        eval_every="end",
    )
    rss0 = rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        kw = {"seed": a.seed, "pad_id": tok.pad_token_id or 0, "work_dir": Path(tmp)}
        sets = {"xnli": TrainSet("xnli", fam, spec, feats)}
        top = None
        if a.profile:
            res, top = profiled(train, model, sets, cfg, **kw)
        else:
            res = train(model, sets, cfg, **kw)
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    t1 = time.perf_counter()
    preds = predict(model, fam, "xnli", dev_feats, batch_size=64, pad_id=tok.pad_token_id or 0)
    dev_secs = time.perf_counter() - t1
    acc = sum(int(p == g) for p, g in zip(preds, dev_feats["labels"], strict=True)) / len(preds)
    return {
        "examples": res.examples_seen,
        "steps": res.steps,
        "train_seconds": round(secs, 2),
        "examples_per_second": round(res.examples_seen / secs, 2),
        "train_cpu_seconds": round(cpu, 2),
        "examples_per_cpu_second": round(res.examples_seen / cpu, 2),
        "dev_accuracy": round(acc, 4),
        "dev_seconds": round(dev_secs, 2),
        "rss_before_train_mb": rss0,
        **({"profile_top_own_time": top} if top else {}),
    }


def child_hf(a) -> dict:
    import numpy as np
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )
    from transformers.utils import logging as hf_logging

    from xstilts.models.offline import offline_encoder_dir

    hf_logging.set_verbosity_error()
    torch.manual_seed(a.seed)
    d = str(offline_encoder_dir())
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSequenceClassification.from_pretrained(d, num_labels=3)
    if a.frozen:
        model.get_input_embeddings().weight.requires_grad_(False)

    def ds(rows):
        enc = tok(
            [r["text_a"] for r in rows],
            [r["text_b"] for r in rows],
            truncation=True,
            max_length=a.max_length,
        )
        return Dataset.from_dict({**enc, "labels": [r["label"] for r in rows]})

    train_ds = ds(read_xnli("test", "en", a.rows))
    dev_ds = ds(read_xnli("dev", "en", a.dev_rows))
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_train_batch_size=a.batch_size,
            per_device_eval_batch_size=64,
            learning_rate=a.lr,
            num_train_epochs=a.epochs,
            warmup_steps=0.1,
            weight_decay=0.01,
            max_grad_norm=1.0,
            lr_scheduler_type="linear",
            optim="adamw_torch_fused",
            train_sampling_strategy="group_by_length",
            save_strategy="no",
            eval_strategy="no",
            logging_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=a.seed,
            bf16=a.bf16,
            use_cpu=not torch.cuda.is_available(),
        )
        trainer = Trainer(
            model=model,
            args=args,
            train_dataset=train_ds,
            data_collator=DataCollatorWithPadding(tok),
        )
        rss0 = rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        out = trainer.train()
        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
        t1 = time.perf_counter()
        pred = trainer.predict(dev_ds)
        dev_secs = time.perf_counter() - t1
    acc = float((np.argmax(pred.predictions, -1) == pred.label_ids).mean())
    n = len(train_ds) * a.epochs
    return {
        "examples": n,
        "steps": out.global_step,
        "train_seconds": round(secs, 2),
        "examples_per_second": round(n / secs, 2),
        "train_cpu_seconds": round(cpu, 2),
        "examples_per_cpu_second": round(n / cpu, 2),
        "dev_accuracy": round(acc, 4),
        "dev_seconds": round(dev_secs, 2),
        "rss_before_train_mb": rss0,
        "trainer_settings": {
            "optim": str(args.optim),
            "train_sampling_strategy": args.train_sampling_strategy,
        },
    }


# name: (implementation, frozen word embeddings, bf16 autocast). bf16 is the mixed precision both
# offer (``mixed_precision: bf16`` / ``TrainingArguments(bf16=True)``); on CPUs with AMX (and on
# GPUs) it is what a user would pick, so both precisions are compared, each like with like.
VARIANTS = {
    "xstilts": ("xstilts", False, False),
    "hf_trainer": ("hf", False, False),
    "xstilts_frozen_emb": ("xstilts", True, False),
    "hf_trainer_frozen_emb": ("hf", True, False),
    "xstilts_bf16": ("xstilts", False, True),
    "hf_trainer_bf16": ("hf", False, True),
}
PAIRS = (
    ("xstilts", "hf_trainer"),
    ("xstilts_frozen_emb", "hf_trainer_frozen_emb"),
    ("xstilts_bf16", "hf_trainer_bf16"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=640)
    ap.add_argument("--dev-rows", type=int, default=500)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--child", choices=["xstilts", "hf"])
    ap.add_argument("--frozen", action="store_true")
    ap.add_argument("--bf16", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile the xstilts training call")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.child:
        res = (child_xstilts if a.child == "xstilts" else child_hf)(a)
        emit(res)
        return
    common = [
        *("--rows", str(a.rows), "--dev-rows", str(a.dev_rows), "--epochs", str(a.epochs)),
        *("--batch-size", str(a.batch_size), "--max-length", str(a.max_length)),
        *("--lr", str(a.lr), "--seed", str(a.seed)),
    ]
    results = {}
    skipped: dict[str, str] = {}
    no_bf16 = bf16_skip_reason()
    for name in a.variants.split(","):
        kind, frozen, bf16 = VARIANTS[name]
        if bf16 and no_bf16:
            skipped[name] = no_bf16
            print(f"{name}: skipped ({no_bf16})", file=sys.stderr)
            continue
        args = [__file__, "--child", kind, *common, *(["--frozen"] if frozen else [])]
        args += ["--bf16"] if bf16 else []
        if a.profile and kind == "xstilts":
            args.append("--profile")
        results[name] = run_child(args)
        print(name, json.dumps(results[name]), file=sys.stderr)
    ratios = {}
    for x, h in PAIRS:
        if x in results and h in results:
            ratios[f"{x}/{h}"] = {
                "examples_per_second": round(
                    results[x]["examples_per_second"] / results[h]["examples_per_second"], 3
                ),
                "examples_per_cpu_second": round(
                    results[x]["examples_per_cpu_second"] / results[h]["examples_per_cpu_second"],
                    3,
                ),
                "dev_accuracy_diff": round(
                    results[x]["dev_accuracy"] - results[h]["dev_accuracy"], 4
                ),
                "peak_rss": round(results[x]["peak_rss_mb"] / results[h]["peak_rss_mb"], 3),
            }
    write_result(
        "train",
        {
            "settings": {
                k: v
                for k, v in vars(a).items()
                if k not in ("child", "frozen", "bf16", "out", "profile")
            },
            "data": "xnli test-en (train, first rows), dev-en (dev, first rows)",
            "results": results,
            "skipped": skipped,
            "ratios": ratios,
            "goal": "xstilts >= 1.5x HF Trainer ex/s at equal or better dev accuracy",
        },
        a.out,
    )


if __name__ == "__main__":
    main()
