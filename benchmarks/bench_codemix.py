"""Attack strength: word-level code-mixing vs character noise at equal budget, XNLI, 6 languages.

Victim: the XNLI classifier of ``bench_attack.py`` (multilingual-e5-small fine-tuned on English
rows, cached). For each language, the same examples are attacked three ways with the same greedy
search, gradient word importance, query budget, word-modification limit and label-preservation
constraint (cosine similarity under the offline encoder >= ``--similarity``):

* ``polygloss``: a word becomes its dictionary translation into any of several languages
  (MUSE + WECHSEL, pivoting through English), after Tan & Joty (2021);
* ``bumblebee``: the same with one embedded language (English);
* ``char``: the five character edits (swap, substitute, delete, insert, keyboard).

Writes ``benchmarks/results/codemix.json`` and ``docs/results/codemix_attack.md``.

    python benchmarks/bench_codemix.py [--langs de,hi,ru,zh,ar,tr --examples 200 --budget 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, ROOT, read_xnli, write_result  # noqa: E402
from bench_attack import _load, ensure_victim  # noqa: E402

EMBEDDED = ["en", "fr", "ru", "hi", "zh"]


def attacks(a, lang: str) -> dict[str, dict]:
    common = {
        "search": "greedy",
        "importance": "gradient",
        "query_budget": a.budget,
        "max_modification_rate": a.max_rate,
        "similarity": {"threshold": a.similarity},
        "parallel": a.chunk,
    }
    mix = {"sources": ["muse", "wechsel"], "dict_dir": str(DATA), "top_k": 2}
    poly = [x for x in EMBEDDED if x != lang][:4]
    return {
        "polygloss": {
            **common,
            "candidates_per_word": 8,
            "transformations": [{"name": "code_mix", "params": {**mix, "languages": poly}}],
        },
        "bumblebee": {
            **common,
            "candidates_per_word": 8,
            "transformations": [{"name": "code_mix", "params": {**mix, "languages": ["en"]}}],
        },
        "char": {**common, "candidates_per_word": 2},  # 5 transformations x 2 = 10 per word
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default="de,hi,ru,zh,ar,tr")
    ap.add_argument("--examples", type=int, default=200)
    ap.add_argument("--budget", type=int, default=60)
    ap.add_argument("--max-rate", type=float, default=0.3)
    ap.add_argument("--similarity", type=float, default=0.8)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--precision", default="bfloat16", choices=["float32", "bfloat16"])
    ap.add_argument("--attacks", default="polygloss,bumblebee,char")
    ap.add_argument("--victim-rows", type=int, default=384)
    ap.add_argument("--out", type=Path)
    ap.add_argument(
        "--markdown", type=Path, default=ROOT / "docs" / "results" / "codemix_attack.md"
    )
    a = ap.parse_args()

    import torch

    from xstilts.perturb.attack import family_goal, run_attack
    from xstilts.perturb.victims import FamilyVictim
    from xstilts.tasks.registry import get_task

    torch.manual_seed(0)
    ensure_victim(a.victim_rows)
    load_before = os.getloadavg()
    model, tok, counter = _load(a.precision)
    spec = get_task("xnli")
    goal = family_goal("classification", {}, spec)
    victim = FamilyVictim(model, tok, spec, goal, max_length=128, batch_size=64)
    sim_dtype = getattr(torch, a.precision)
    res: dict = {}
    for lang in a.langs.split(","):
        ex = read_xnli("dev", lang, a.examples)
        res[lang] = {}
        for name in a.attacks.split(","):
            cfg = attacks(a, lang)[name]
            t = time.perf_counter()
            run = run_attack(
                victim, ex, "classification", lang, cfg, spec=spec, goal=goal, dtype=sim_dtype
            )
            secs = time.perf_counter() - t
            s = run.summary
            succ = [r for r in run.results if r.status == "successful"]
            res[lang][name] = {
                **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()},
                "seconds": round(secs, 1),
                "mean_similarity_successful": round(
                    sum(r.similarity or 0 for r in succ) / len(succ), 4
                )
                if succ
                else None,
                "example": next(({"id": r.id, "edits": r.edits} for r in succ), None),
            }
            print(
                lang,
                name,
                {
                    k: res[lang][name][k]
                    for k in (
                        "attack_success_rate",
                        "accuracy_under_attack",
                        "avg_queries",
                        "seconds",
                    )
                },
                file=sys.stderr,
                flush=True,
            )
            save(a, res, load_before, complete=False)
    save(a, res, load_before, complete=True)


def save(a, res: dict, load_before, *, complete: bool) -> None:
    """Write the JSON and the markdown (after every language and attack: a cut run keeps what
    it measured, marked incomplete)."""
    payload = {
        "settings": {k: str(v) for k, v in vars(a).items()},
        "complete": complete,
        "victim": "bench_attack.py XNLI classifier (multilingual-e5-small, English rows)",
        "constraint": {
            "query_budget": a.budget,
            "max_modification_rate": a.max_rate,
            "similarity": {"encoder": "offline (multilingual-e5-small)", "threshold": a.similarity},
        },
        "load_before_1_5_15": [round(x, 2) for x in load_before],
        "load_after_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "results": res,
    }
    path = write_result("codemix", payload, a.out)
    a.markdown.parent.mkdir(parents=True, exist_ok=True)
    a.markdown.write_text(markdown(payload, path), encoding="utf-8")


def markdown(p: dict, path: Path) -> str:
    c = p["constraint"]
    names = sorted({n for r in p["results"].values() for n in r})
    lines = [
        "# Code-mixing vs character noise against XNLI (offline encoder)",
        "",
        f"Written by `benchmarks/bench_codemix.py` ({path.name}). Constraint for every row: budget "
        f"{c['query_budget']} queries, at most {c['max_modification_rate']:.0%} of words edited, "
        f"cosine similarity >= {c['similarity']['threshold']} under {c['similarity']['encoder']}. "
        f"Load average before/after: {p['load_before_1_5_15']} / {p['load_after_1_5_15']}."
        + (
            ""
            if p.get("complete", True)
            else " **Incomplete run**: the languages and attacks listed."
        ),
        "",
        "| lang | attack | n | clean acc. | acc. under attack | success rate | queries/example "
        "| perturbed words |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for lang, r in p["results"].items():
        for n in names:
            if n not in r:
                continue
            x = r[n]
            lines.append(
                f"| {lang} | {n} | {x['n']} | {x['clean_accuracy']:.3f} | "
                f"{x['accuracy_under_attack']:.3f} | {x['attack_success_rate']:.3f} | "
                f"{x['avg_queries']:.1f} | {x['perturbation_rate']:.3f} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
