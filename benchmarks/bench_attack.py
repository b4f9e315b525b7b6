"""Attack throughput: xstilts ``run_attack`` vs TextAttack 0.3.11 on the same victim and examples.

Same search (greedy word importance by deletion, then one word at a time, keep the best), same
transformation (delete one character: xstilts ``char_delete`` with enough candidates to list every
single-cluster deletion; TextAttack ``WordSwapRandomCharacterDeletion(random_one=False)``), same
constraints (no word edited twice, at most ``--max-edits`` words), same query budget (clean query
included), same untargeted goal, same model object (an XNLI classifier trained with xstilts on
English rows, cached), same German and Hindi XNLI dev examples. Peers:

* ``textattack_stock``: TextAttack's ``HuggingFaceModelWrapper`` (pads every query to 512 tokens);
* ``textattack_dynamic``: the same wrapper padding to the longest input of each batch.

All peers run in one process on one model object, interleaved example by example (who goes first
rotates), so a shared machine's load hits them alike. Real forward passes are counted by a hook
on the model (examples actually run), for every peer.
Stock TextAttack is slow, so it attacks the first ``--stock-examples`` examples per language, and
its ratio is taken against xstilts on exactly those examples. Known differences: TextAttack splits
words with ``[\\w'-_*@]+`` (in Hindi it cuts words at vowel signs, which ``\\w`` does not match)
and deletes code points; xstilts uses script-aware word units and deletes grapheme clusters.

    python benchmarks/bench_attack.py [--examples 20 --stock-examples 5 --langs de,hi]
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


def _load():
    from xstilts.experiments.pipeline import build_model
    from xstilts.models.encoder import resolve_model
    from xstilts.models.model import load_state

    ref = resolve_model("offline")
    model, tok = build_model(ref, {})
    load_state(model, _victim_dir(), encoder_only=False)
    model.eval()
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
    """``attack(example, lang) -> (status, queries)`` with xstilts ``run_attack``."""
    from xstilts.experiments.perturbed import ModelVictim
    from xstilts.perturb.attack import AttackConfig, run_attack
    from xstilts.tasks.registry import get_task

    spec = get_task("xnli")
    cfg = AttackConfig(
        transformations=[{"name": "char_delete"}],
        search="greedy",
        candidates_per_word=a.candidates,
        max_modification_rate=1.0,
        max_edits=a.max_edits,
        query_budget=a.budget,
        importance="deletion",
    )
    victim = ModelVictim(model, tok, spec, 128, 64)

    def attack(e: dict, lang: str) -> tuple[str, int]:
        r = run_attack(victim, [e], "classification", lang, cfg).results[0]
        return r.status, r.queries

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

    def attack(e: dict, lang: str) -> tuple[str, int]:
        inp = OrderedDict(premise=e["text_a"], hypothesis=e["text_b"])
        r = attack_obj.attack(inp, e["label"])
        if isinstance(r, SkippedAttackResult):
            return "skipped", int(r.num_queries)
        if isinstance(r, FailedAttackResult):
            return "failed", int(r.num_queries)
        return "successful", int(r.num_queries)

    return attack


PEERS = ("xstilts", "textattack_dynamic", "textattack_stock")


def child(a) -> dict:
    """All peers in one process on one model, interleaved example by example (fair under load)."""
    hf_home = os.environ.get("HF_HOME")
    import ta_env

    ta_env.activate()
    if hf_home is None:
        os.environ.pop("HF_HOME", None)
    model, tok, counter = _load()
    peers = [p for p in a.peers.split(",") if p in PEERS]
    makers = {
        "xstilts": lambda: make_xstilts(model, tok, a),
        "textattack_dynamic": lambda: make_textattack(model, tok, a, True),
        "textattack_stock": lambda: make_textattack(model, tok, a, False),
    }
    attackers = {p: makers[p]() for p in peers}
    rec = {p: {} for p in peers}
    for lang in a.langs.split(","):
        ex = _examples(lang, a.examples)
        acc = {
            p: {"status": [], "queries": [], "secs": [], "cpu": [], "fwd": 0, "tok": 0}
            for p in peers
        }
        for j, e in enumerate(ex):
            order = peers[j % len(peers) :] + peers[: j % len(peers)]  # rotate who goes first
            for p in order:
                if p == "textattack_stock" and j >= a.stock_examples:
                    continue
                c0 = dict(counter)
                t, c = time.perf_counter(), time.process_time()
                status, q = attackers[p](e, lang)
                acc[p]["secs"].append(time.perf_counter() - t)
                acc[p]["cpu"].append(time.process_time() - c)
                acc[p]["status"].append(status)
                acc[p]["queries"].append(q)
                acc[p]["fwd"] += counter["examples"] - c0["examples"]
                acc[p]["tok"] += counter["padded_tokens"] - c0["padded_tokens"]
        for p in peers:
            r = acc[p]
            rec[p][lang] = _summary(r["status"], r["queries"], r["secs"], r["fwd"], r["tok"])
            rec[p][lang]["cpu_seconds"] = [round(x, 3) for x in r["cpu"]]
            rec[p][lang]["cpu_seconds_per_example"] = round(sum(r["cpu"]) / len(r["cpu"]), 3)
    return {"per_peer": rec, "rss_end_mb": rss_mb()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--langs", default="de,hi")
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--stock-examples", type=int, default=5)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--max-edits", type=int, default=4)
    ap.add_argument("--candidates", type=int, default=64)
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
    t = time.perf_counter()
    ensure_victim(a.victim_rows)
    victim_secs = time.perf_counter() - t
    common = [
        *("--langs", a.langs, "--examples", str(a.examples), "--peers", a.peers),
        *("--stock-examples", str(a.stock_examples), "--budget", str(a.budget)),
        *("--max-edits", str(a.max_edits), "--candidates", str(a.candidates)),
    ]
    out = run_child([__file__, "--child", *common, *(["--profile"] if a.profile else [])])
    res = out["per_peer"]
    for peer, r in res.items():
        print(peer, {k: v["seconds_per_example"] for k, v in r.items()}, file=sys.stderr)
    ratios = {}
    x = res.get("xstilts")
    for peer in ("textattack_dynamic", "textattack_stock"):
        if x is None or peer not in res:
            continue
        for lang, pr in res[peer].items():
            xl = x[lang]
            k = pr["n"]  # stock runs on a prefix: compare on the same examples
            xs = sum(xl["seconds"][:k]) / k
            ps = pr["seconds_per_example"]
            xc = sum(xl["cpu_seconds"][:k]) / k
            ratios[f"{peer}/xstilts[{lang}]"] = {
                "speedup_wall_per_example": round(ps / xs, 2),
                "speedup_cpu_time_per_example": round(pr["cpu_seconds_per_example"] / xc, 2),
                "success_rate_xstilts_same_examples": _rate(xl["status"][:k]),
                "success_rate_peer": pr["success_rate"],
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
            "results": res,
            "process": {k: out[k] for k in ("process_wall_s", "child_maxrss_mb")},
            "profile_top_own_time": out.get("profile_top_own_time"),
            "ratios": ratios,
            "goal": ">= 5x faster than TextAttack at equal or better success rate",
        },
        a.out,
    )


def _rate(status: list[str]) -> float | None:
    s, f = status.count("successful"), status.count("failed")
    return round(s / (s + f), 4) if s + f else None


if __name__ == "__main__":
    main()
