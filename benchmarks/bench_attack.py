"""Attack throughput: xstilts ``run_attack`` vs TextAttack 0.3.11 on the same victim and examples.

Same search (greedy, one word at a time in order of importance, keep the best), same
transformation (delete one character: xstilts ``char_delete`` with enough candidates to list every
single-cluster deletion; TextAttack ``WordSwapRandomCharacterDeletion(random_one=False)``), same
constraints (no word edited twice, at most ``--max-edits`` words), same query budget (clean query
included), same untargeted goal, same model object (an XNLI classifier trained with xstilts on
English rows, cached), same German and Hindi XNLI dev examples, same precision. Peers:

* ``textattack_dynamic``: TextAttack's ``HuggingFaceModelWrapper`` padding to the longest input of
  each batch (the fair peer; the stock wrapper pads every query to 512 tokens);
* ``textattack_stock``: the stock wrapper, on the first ``--stock-examples`` examples only.

Where xstilts spends fewer queries and less time (the levers, all in ``perturb/attack.py``): word
importance from one gradient pass instead of one deletion query per word (``importance:
gradient``), candidates the tokenizer cannot tell apart sent once (features as cache key), the
candidates of ``--chunk`` examples sent in shared batches, and an example stops at its first
success (TextAttack does too). Precision is equal on both sides: fp32 by default; with
``--bf16`` (where the CPU runs bf16 natively: AVX512-BF16/AMX) both sides also run a bf16 copy of
the model, reported as separate peers.

Fairness under load: peers run in one process on one model object, interleaved chunk by chunk
(who goes first rotates); xstilts attacks a chunk in one call, TextAttack one example at a time,
and time per example is the chunk's time over its examples. Real forward passes are counted by a
hook on the model (examples actually run), for every peer. Success-rate vs query-budget curves
come from the queries each success used (a smaller budget truncates the same deterministic
search). Known differences: TextAttack splits words with ``[\\w'-_*@]+`` (in Hindi it cuts words
at vowel signs, which ``\\w`` does not match) and deletes code points; xstilts uses script-aware
word units and deletes grapheme clusters.

    python benchmarks/bench_attack.py [--examples 100 --stock-examples 5 --langs de,hi --bf16]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import emit, profiled, read_xnli, rss_mb, run_child, write_result  # noqa: E402

LABELS = ["entailment", "neutral", "contradiction"]


def _victim_dir() -> Path:
    from xstilts.paths import cache_root

    return cache_root() / "bench" / "attack-victim-v1"


def ensure_victim(rows: int) -> Path:
    """Train (once, cached) the XNLI classifier every peer attacks."""
    import tempfile

    import torch

    from xstilts.experiments.pipeline import add_task_head, build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.models.model import save_checkpoint
    from xstilts.tasks.family import get_family
    from xstilts.tasks.registry import get_task
    from xstilts.training.config import PhaseConfig
    from xstilts.training.trainer import TrainSet, train

    out = _victim_dir()
    if (out / "meta.json").exists():
        return out
    torch.manual_seed(0)
    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    spec = get_task("xnli")
    fam = get_family(spec.family)
    ex = [{**r, "label": LABELS[r["label"]]} for r in read_xnli("test", "en", rows)]
    add_task_head(model, spec, ref.pooling)
    cfg = PhaseConfig(learning_rate=5e-5, epochs=1, batch_size=16, select_best=False)
    with tempfile.TemporaryDirectory() as tmp:
        train(
            model,
            {"xnli": TrainSet("xnli", fam, spec, fam.featurize(ex, tok, spec, 128))},
            cfg,
            seed=0,
            pad_id=tok.pad_token_id or 0,
            work_dir=Path(tmp),
        )
    save_checkpoint(model, out, {"rows": rows, "what": "bench attack victim"})
    return out


def _load(dtype: str = "float32"):
    import torch

    from xstilts.experiments.pipeline import build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.models.model import load_state

    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    load_state(model, _victim_dir(), encoder_only=False)
    model = model.to(getattr(torch, dtype)).eval()
    counter = {"examples": 0, "padded_tokens": 0}

    def hook(mod, args, kwargs, out):
        ids = kwargs.get("input_ids", args[1] if len(args) > 1 else None)
        counter["examples"] += int(ids.shape[0])
        counter["padded_tokens"] += int(ids.numel())

    model.register_forward_hook(hook, with_kwargs=True)
    return model, tok, counter


def _examples(lang: str, n: int) -> list[dict]:
    return read_xnli("dev", lang, n)


def make_xstilts(model, tok, a):
    """``attack(examples, lang) -> [(status, queries)]``: one ``run_attack`` call per chunk."""
    from xstilts.perturb.attack import AttackConfig, family_goal, run_attack
    from xstilts.perturb.victims import FamilyVictim
    from xstilts.tasks.registry import get_task

    spec = get_task("xnli")
    cfg = AttackConfig(
        transformations=[{"name": "char_delete"}],
        search="greedy",
        candidates_per_word=a.candidates,
        max_modification_rate=1.0,
        max_edits=a.max_edits,
        query_budget=a.budget,
        importance=a.importance,
        parallel=a.chunk,
    )
    goal = family_goal("classification", {}, spec)
    victim = FamilyVictim(model, tok, spec, goal, max_length=128, batch_size=64)

    def attack(exs: list[dict], lang: str) -> list[tuple[str, int]]:
        run = run_attack(victim, exs, "classification", lang, cfg, spec=spec, goal=goal)
        return [(r.status, r.queries) for r in run.results]

    return attack


def _summary(status, queries, secs, fwd, padded) -> dict:
    from collections import Counter

    c = Counter(status)
    s, f = c["successful"], c["failed"]
    attacked = [q for q, st in zip(queries, status, strict=True) if st != "skipped"]
    return {
        "n": len(status),
        "successful": s,
        "failed": f,
        "skipped": c["skipped"],
        "success_rate": round(s / (s + f), 4) if s + f else None,
        "seconds_total": round(sum(secs), 2),
        "seconds_per_example": round(sum(secs) / len(secs), 3),
        "median_seconds_per_example": round(statistics.median(secs), 3),
        "avg_queries_attacked": round(sum(attacked) / len(attacked), 1) if attacked else None,
        "model_forward_examples": fwd,
        "model_padded_tokens": padded,
        "status": status,
        "seconds": [round(x, 3) for x in secs],
    }


def make_textattack(model, tok, a, dynamic: bool):
    """``attack(example, lang) -> (status, queries)`` with TextAttack (stock or dynamic padding)."""
    import textattack
    import torch
    import transformers
    from textattack.attack_results import FailedAttackResult, SkippedAttackResult
    from textattack.constraints.overlap import MaxWordsPerturbed
    from textattack.constraints.pre_transformation import RepeatModification
    from textattack.goal_functions import UntargetedClassification
    from textattack.models.wrappers import HuggingFaceModelWrapper
    from textattack.search_methods import GreedyWordSwapWIR
    from textattack.transformations import WordSwapRandomCharacterDeletion

    class Adapter(transformers.PreTrainedModel):
        """The xstilts model behind TextAttack's HF wrapper (same weights, same head)."""

        config_class = type(model.encoder.config)
        _supports_sdpa = True

        def __init__(self, inner):
            super().__init__(copy.deepcopy(inner.encoder.config))  # the inner config untouched
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids=None, **_):
            logits = self.inner("xnli", input_ids=input_ids, attention_mask=attention_mask)
            return transformers.modeling_outputs.SequenceClassifierOutput(logits=logits)

    class DynamicWrapper(HuggingFaceModelWrapper):
        """Stock wrapper but padding to the longest input of the batch (max 128 tokens)."""

        def __call__(self, text_input_list):
            enc = self.tokenizer(
                text_input_list,
                add_special_tokens=True,
                padding=True,
                max_length=128,
                truncation=True,
                return_tensors="pt",
            )
            with torch.no_grad():
                return self.model(**enc).logits

    adapter = Adapter(model).eval()
    wrapper = (DynamicWrapper if dynamic else HuggingFaceModelWrapper)(adapter, tok)
    goal = UntargetedClassification(wrapper, query_budget=a.budget)
    attack_obj = textattack.Attack(
        goal,
        [RepeatModification(), MaxWordsPerturbed(max_num_words=a.max_edits)],
        WordSwapRandomCharacterDeletion(random_one=False),
        GreedyWordSwapWIR(wir_method="delete"),
    )

    def one(e: dict) -> tuple[str, int]:
        inp = OrderedDict(premise=e["text_a"], hypothesis=e["text_b"])
        r = attack_obj.attack(inp, e["label"])
        if isinstance(r, SkippedAttackResult):
            return "skipped", int(r.num_queries)
        if isinstance(r, FailedAttackResult):
            return "failed", int(r.num_queries)
        return "successful", int(r.num_queries)

    def attack(exs: list[dict], lang: str) -> list[tuple[str, int]]:
        return [one(e) for e in exs]

    return attack


PEERS = ("xstilts", "textattack_dynamic", "textattack_stock")


def child(a) -> dict:
    """All peers in one process on one model per precision, interleaved chunk by chunk."""
    hf_home = os.environ.get("HF_HOME")
    import ta_env
    import torch

    torch.manual_seed(0)
    ta_env.activate()
    if hf_home is None:
        os.environ.pop("HF_HOME", None)
    precisions = ["float32"] + (["bfloat16"] if a.bf16 else [])
    attackers, counters = {}, {}
    for dt in precisions:
        model, tok, counter = _load(dt)
        sfx = "" if dt == "float32" else "_bf16"
        makers = {
            "xstilts": lambda m=model, t=tok: make_xstilts(m, t, a),
            "textattack_dynamic": lambda m=model, t=tok: make_textattack(m, t, a, True),
            "textattack_stock": lambda m=model, t=tok: make_textattack(m, t, a, False),
        }
        for p in a.peers.split(","):
            if p in makers and not (sfx and p == "textattack_stock"):
                attackers[p + sfx] = makers[p]()
                counters[p + sfx] = counter
    peers = list(attackers)
    rec: dict = {p: {} for p in peers}
    for lang in a.langs.split(","):
        ex = _examples(lang, a.examples)
        acc = {
            p: {"status": [], "queries": [], "secs": [], "cpu": [], "fwd": 0, "tok": 0}
            for p in peers
        }
        for c, s0 in enumerate(range(0, len(ex), a.chunk)):
            order = peers[c % len(peers) :] + peers[: c % len(peers)]  # rotate who goes first
            for p in order:
                chunk = ex[s0 : s0 + a.chunk]
                if p.startswith("textattack_stock"):
                    chunk = chunk[: max(0, a.stock_examples - s0)]
                if not chunk:
                    continue
                c0 = dict(counters[p])
                t, cp = time.perf_counter(), time.process_time()
                out = attackers[p](chunk, lang)
                wall, cpu = time.perf_counter() - t, time.process_time() - cp
                acc[p]["secs"] += [wall / len(chunk)] * len(chunk)
                acc[p]["cpu"] += [cpu / len(chunk)] * len(chunk)
                acc[p]["status"] += [st for st, _ in out]
                acc[p]["queries"] += [q for _, q in out]
                acc[p]["fwd"] += counters[p]["examples"] - c0["examples"]
                acc[p]["tok"] += counters[p]["padded_tokens"] - c0["padded_tokens"]
        for p in peers:
            r = acc[p]
            rec[p][lang] = _summary(r["status"], r["queries"], r["secs"], r["fwd"], r["tok"])
            rec[p][lang]["queries"] = r["queries"]
            rec[p][lang]["cpu_seconds_per_example"] = round(sum(r["cpu"]) / len(r["cpu"]), 3)
            rec[p][lang]["success_vs_budget"] = _curve(r["status"], r["queries"], a.budget)
    return {"per_peer": rec, "rss_end_mb": rss_mb()}


def _curve(status: list[str], queries: list[int], budget: int) -> dict[int, float | None]:
    """Success rate at each smaller budget: a success counts when it used at most that many."""
    attacked = [q for q, st in zip(queries, status, strict=True) if st != "skipped"]
    wins = [q for q, st in zip(queries, status, strict=True) if st == "successful"]
    steps = sorted({*range(10, budget + 1, 10), budget})
    return {
        b: round(sum(q <= b for q in wins) / len(attacked), 4) if attacked else None for b in steps
    }


def _native_bf16() -> bool:
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    import torch

    return torch.cuda.is_available() or "avx512_bf16" in flags or "amx_bf16" in flags


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default="de,hi")
    ap.add_argument("--examples", type=int, default=100)
    ap.add_argument("--stock-examples", type=int, default=5)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--max-edits", type=int, default=4)
    ap.add_argument("--candidates", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=25, help="examples xstilts attacks side by side")
    ap.add_argument("--importance", default="gradient", choices=["gradient", "deletion"])
    ap.add_argument(
        "--bf16",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run both sides on a bf16 copy (default: when the CPU has it)",
    )
    ap.add_argument("--victim-rows", type=int, default=384)
    ap.add_argument("--peers", default="xstilts,textattack_dynamic,textattack_stock")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile the whole child")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    if a.child and a.profile:
        res, top = profiled(child, a)
        return emit({**res, "profile_top_own_time": top})
    if a.child:
        return emit(child(a))
    if a.bf16 is None:
        a.bf16 = _native_bf16()
    t = time.perf_counter()
    ensure_victim(a.victim_rows)
    victim_secs = time.perf_counter() - t
    common = [
        *("--langs", a.langs, "--examples", str(a.examples), "--peers", a.peers),
        *("--stock-examples", str(a.stock_examples), "--budget", str(a.budget)),
        *("--max-edits", str(a.max_edits), "--candidates", str(a.candidates)),
        *("--chunk", str(a.chunk), "--importance", a.importance),
        "--bf16" if a.bf16 else "--no-bf16",
    ]
    load_before = os.getloadavg()
    out = run_child([__file__, "--child", *common, *(["--profile"] if a.profile else [])])
    res = out["per_peer"]
    for peer, r in res.items():
        print(peer, {k: v["seconds_per_example"] for k, v in r.items()}, file=sys.stderr)
    ratios = {}
    for sfx in ("", "_bf16"):
        x = res.get("xstilts" + sfx)
        for peer in ("textattack_dynamic" + sfx, "textattack_stock" + sfx):
            if x is None or peer not in res:
                continue
            for lang, pr in res[peer].items():
                xl = x[lang]
                k = pr["n"]  # stock runs on a prefix: compare on the same examples
                xs = sum(xl["seconds"][:k]) / k
                ps = pr["seconds_per_example"]
                ratios[f"{peer}/xstilts{sfx}[{lang}]"] = {
                    "speedup_wall_per_example": round(ps / xs, 2),
                    "speedup_cpu_time_per_example": round(
                        pr["cpu_seconds_per_example"] / xl["cpu_seconds_per_example"], 2
                    )
                    if k == xl["n"]
                    else None,
                    "queries_per_attacked_example": [
                        _mean_attacked(xl["status"][:k], xl["queries"][:k]),
                        pr["avg_queries_attacked"],
                    ],
                    "success_rate_xstilts_same_examples": _rate(xl["status"][:k]),
                    "success_rate_peer": pr["success_rate"],
                    "attacked_examples": [
                        sum(st != "skipped" for st in xl["status"][:k]),
                        pr["successful"] + pr["failed"],
                    ],
                }
    write_result(
        "attack",
        {
            "settings": {k: v for k, v in vars(a).items() if k not in ("child", "out")},
            "victim": f"xstilts XNLI classifier: multilingual-e5-small, {a.victim_rows} English "
            "test rows, 1 epoch (cached under $XSTILTS_CACHE/bench)",
            "victim_build_seconds": round(victim_secs, 1),
            "textattack_offline": "pip --no-deps textattack==0.3.11 + runtime deps; nltk "
            "downloads skipped (post_install_check_3 marker); stub flair module on sys.path "
            "(import only); NLTK stopwords corpus written from the PyPI stop-words package",
            "load_before_1_5_15": [round(x, 2) for x in load_before],
            "load_after_1_5_15": [round(x, 2) for x in os.getloadavg()],
            "results": res,
            "process": {k: out[k] for k in ("process_wall_s", "child_maxrss_mb")},
            "profile_top_own_time": out.get("profile_top_own_time"),
            "ratios": ratios,
            "goal": ">= 3x faster per attacked example than TextAttack with dynamic padding, at "
            "equal or better success, equal precision, same CPU, >= 100 attacked examples per "
            "language",
        },
        a.out,
    )


def _rate(status: list[str]) -> float | None:
    s, f = status.count("successful"), status.count("failed")
    return round(s / (s + f), 4) if s + f else None


def _mean_attacked(status: list[str], queries: list[int]) -> float | None:
    q = [x for x, st in zip(queries, status, strict=True) if st != "skipped"]
    return round(sum(q) / len(q), 1) if q else None


if __name__ == "__main__":
    main()
