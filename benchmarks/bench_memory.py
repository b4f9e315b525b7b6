"""Peak resident memory of training and of evaluation, xstilts vs the peers.

Each measurement is its own process (``os.wait4`` rusage ``ru_maxrss`` of that child): training
(xstilts trainer vs Hugging Face Trainer, full fine-tuning and frozen word embeddings, same rows
and settings as ``bench_train.py`` at a smaller size) and evaluation (xstilts ``predict`` vs
``Trainer.predict`` over the same languages as ``bench_eval.py``). The peak includes the model
(~470 MB of float32 weights) and the Python/torch runtime.

    python benchmarks/bench_memory.py [--rows 128]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import run_child, write_result  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=128)
    ap.add_argument("--eval-rows", type=int, default=100)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    tr = [*("--rows", str(a.rows), "--dev-rows", "64", "--epochs", "1", "--batch-size", "16")]
    train = {}
    for name, kind, frozen in (
        ("xstilts", "xstilts", False),
        ("hf_trainer", "hf", False),
        ("xstilts_frozen_emb", "xstilts", True),
        ("hf_trainer_frozen_emb", "hf", True),
    ):
        args = [str(HERE / "bench_train.py"), "--child", kind, *tr]
        r = run_child(args + (["--frozen"] if frozen else []))
        train[name] = {
            "peak_rss_mb": r["child_maxrss_mb"],
            "rss_before_train_mb": r["rss_before_train_mb"],
        }
    ev = {}
    common = ["--rows", str(a.eval_rows), "--reps", "1"]
    r = run_child([str(HERE / "bench_eval.py"), "--child", "xstilts", *common])
    ev["xstilts_predict"] = {"peak_rss_mb": r["child_maxrss_mb"]}
    r = run_child([str(HERE / "bench_eval.py"), "--child", "hf", *common])
    ev["hf_trainer_predict"] = {"peak_rss_mb": r["child_maxrss_mb"]}
    ratio = {
        "train xstilts/hf": round(
            train["xstilts"]["peak_rss_mb"] / train["hf_trainer"]["peak_rss_mb"], 3
        ),
        "train_frozen xstilts/hf": round(
            train["xstilts_frozen_emb"]["peak_rss_mb"]
            / train["hf_trainer_frozen_emb"]["peak_rss_mb"],
            3,
        ),
        "eval xstilts/hf": round(
            ev["xstilts_predict"]["peak_rss_mb"] / ev["hf_trainer_predict"]["peak_rss_mb"], 3
        ),
    }
    write_result(
        "memory",
        {
            "settings": vars(a),
            "train": train,
            "eval": ev,
            "ratio": ratio,
            "method": "os.wait4 ru_maxrss of each child process",
        },
        a.out,
    )


if __name__ == "__main__":
    main()
