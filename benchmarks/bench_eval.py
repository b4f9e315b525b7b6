"""Evaluation throughput: xstilts ``predict`` (what the ``evaluate`` step times per language) vs
the raw forward-pass limit: the same model over the same tokens, pre-collated into the same
length-sorted batches, nothing but ``model(...)`` under ``torch.inference_mode`` timed.

The head is freshly initialised (seeded): throughput does not depend on trained weights.
Repetitions alternate between the two and the best of each is kept (the machine is shared).

    python benchmarks/bench_eval.py [--langs de,hi,ru,zh,sw,ar --rows 200 --reps 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bf16_skip_reason, emit, read_xnli, rss_mb, run_child, write_result  # noqa: E402

LABELS = ["entailment", "neutral", "contradiction"]


def child(a) -> dict:
    import torch

    from xstilts.evaluation.predict import eval_batches, predict
    from xstilts.experiments.pipeline import add_task_head, build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.tasks.family import get_family
    from xstilts.tasks.registry import get_task

    torch.manual_seed(0)
    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    spec = get_task("xnli")
    fam = get_family(spec.family)
    add_task_head(model, spec, ref.pooling)
    model.eval()
    pad = tok.pad_token_id or 0
    feats = {}
    t0 = time.perf_counter()
    for lang in a.langs.split(","):
        rows = [{**r, "label": LABELS[r["label"]]} for r in read_xnli("dev", lang, a.rows)]
        feats[lang] = fam.featurize(rows, tok, spec, a.max_length)
    tok_secs = time.perf_counter() - t0
    n = sum(len(f["input_ids"]) for f in feats.values())
    # the raw limit's inputs: same batches, collated before the clock starts
    raw_batches = []
    for f in feats.values():
        rows = [{"input_ids": ids, "labels": 0} for ids in f["input_ids"]]
        for idx in eval_batches([len(x) for x in f["input_ids"]], a.batch_size):
            b = fam.collate([rows[i] for i in idx], pad)
            raw_batches.append({k: v for k, v in b.items() if k != "labels"})
    tokens = sum(int(b["attention_mask"].sum()) for b in raw_batches)
    padded = sum(b["input_ids"].numel() for b in raw_batches)

    def raw() -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            for b in raw_batches:
                model("xnli", **b)
        return time.perf_counter() - t

    def ours() -> float:
        t = time.perf_counter()
        for f in feats.values():
            predict(model, fam, "xnli", f, batch_size=a.batch_size, pad_id=pad)
        return time.perf_counter() - t

    # fp32, then the same model in bf16 (``evaluation.precision: bf16``), each against the raw
    # limit in the same precision
    times: dict[str, list[float]] = {}
    precisions = [("", torch.float32)] + ([] if a.skip_bf16 else [("_bf16", torch.bfloat16)])
    for prec, dtype in precisions:
        model.to(dtype=dtype)
        raw()  # warm-up (allocator, kernels)
        times |= {f"raw_forward{prec}": [], f"xstilts_predict{prec}": []}
        for _ in range(a.reps):
            times[f"raw_forward{prec}"].append(raw())
            times[f"xstilts_predict{prec}"].append(ours())
    best = {k: min(v) for k, v in times.items()}
    bf16 = (
        {
            "ratio_xstilts_over_raw_bf16": round(
                best["raw_forward_bf16"] / best["xstilts_predict_bf16"], 3
            ),
            "speedup_bf16_over_fp32": round(
                best["xstilts_predict"] / best["xstilts_predict_bf16"], 3
            ),
        }
        if not a.skip_bf16
        else {}
    )
    return {
        "examples": n,
        "languages": a.langs.split(","),
        "real_tokens": tokens,
        "padded_tokens": padded,
        "tokenize_seconds": round(tok_secs, 2),
        "seconds_all_reps": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "examples_per_second": {k: round(n / v, 2) for k, v in best.items()},
        "ratio_xstilts_over_raw": round(best["raw_forward"] / best["xstilts_predict"], 3),
        **bf16,
        "rss_end_mb": rss_mb(),
    }


def child_hf(a) -> dict:
    """Peer: Hugging Face ``Trainer.predict`` over the same rows (its default eval loop)."""
    import tempfile

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
    torch.manual_seed(0)
    d = str(offline_encoder_dir())
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForSequenceClassification.from_pretrained(d, num_labels=3)
    sets = []
    for lang in a.langs.split(","):
        rows = read_xnli("dev", lang, a.rows)
        enc = tok(
            [r["text_a"] for r in rows],
            [r["text_b"] for r in rows],
            truncation=True,
            max_length=a.max_length,
        )
        sets.append(Dataset.from_dict({**enc, "labels": [r["label"] for r in rows]}))
    n = sum(len(s) for s in sets)
    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(
            output_dir=tmp,
            per_device_eval_batch_size=a.batch_size,
            report_to="none",
            disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(),
        )
        trainer = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tok))
        trainer.predict(sets[0].select(range(min(8, len(sets[0])))))  # warm-up
        times = []
        for _ in range(a.reps):
            t = time.perf_counter()
            for s in sets:
                trainer.predict(s)
            times.append(time.perf_counter() - t)
    return {
        "examples": n,
        "seconds_all_reps": [round(x, 2) for x in times],
        "examples_per_second": round(n / min(times), 2),
        "rss_end_mb": rss_mb(),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default="de,hi,ru,zh,sw,ar")
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--no-hf", action="store_true")
    ap.add_argument("--child", choices=["xstilts", "hf"])
    ap.add_argument("--skip-bf16", action="store_true")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.child:
        emit(child(a) if a.child == "xstilts" else child_hf(a))
        return
    no_bf16 = bf16_skip_reason()
    if no_bf16:
        print(f"bf16 variants skipped ({no_bf16})", file=sys.stderr)
    common = [
        *("--langs", a.langs, "--rows", str(a.rows), "--batch-size", str(a.batch_size)),
        *("--max-length", str(a.max_length), "--reps", str(a.reps)),
        *(["--skip-bf16"] if no_bf16 else []),
    ]
    res = {"xstilts_and_raw": run_child([__file__, "--child", "xstilts", *common])}
    if not a.no_hf:
        res["hf_trainer_predict"] = run_child([__file__, "--child", "hf", *common])
    x = res["xstilts_and_raw"]
    payload = {
        "settings": {k: v for k, v in vars(a).items() if k not in ("child", "out")},
        "data": "xnli dev-<lang>, first rows per language",
        "results": res,
        "skipped": {"bf16": no_bf16} if no_bf16 else {},
        "ratio": {
            "xstilts_predict/raw_forward_limit": x["ratio_xstilts_over_raw"],
            **(
                {}
                if no_bf16
                else {
                    "xstilts_predict/raw_forward_limit (both bf16)": x[
                        "ratio_xstilts_over_raw_bf16"
                    ],
                    "xstilts_predict bf16/fp32 examples per second": x["speedup_bf16_over_fp32"],
                }
            ),
        },
        "goal": "xstilts >= 0.9x the raw forward-pass limit",
    }
    if "hf_trainer_predict" in res:
        payload["ratio"]["xstilts_predict/hf_trainer_predict"] = round(
            x["examples_per_second"]["xstilts_predict"]
            / res["hf_trainer_predict"]["examples_per_second"],
            3,
        )
        payload["memory_peak_rss_mb"] = {
            "xstilts (incl. raw loop, same process)": x["peak_rss_mb"],
            "hf_trainer_predict": res["hf_trainer_predict"]["peak_rss_mb"],
        }
    write_result("eval", payload, a.out)


if __name__ == "__main__":
    main()
