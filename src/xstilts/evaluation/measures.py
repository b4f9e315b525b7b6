"""Numbers that steps compute outside ``compute()``, declared in the metric registry.

Attack summaries (``xstilts.perturb.attack.summarize_attack``) and alignment probes
(``xstilts.align``) are measured by their steps; declaring them here gives every stored score one
place that says which direction is better, how it is scaled for display, its range and how its
languages combine, so the report never keeps its own list.
"""

from __future__ import annotations

from xstilts.scoring import measure

INF = float("inf")

# adaptive attacks (per language, on the attacked rows)
measure("accuracy_under_attack")
measure("clean_accuracy")  # accuracy on the attacked rows before the attack
measure("attack_success_rate", higher_is_better=False)  # from the model's point of view
measure("avg_queries", scale=1.0, bounds=(0.0, INF))  # more queries: harder to fool
measure("perturbation_rate")  # share of tokens a successful attack changed

# alignment probes (per layer)
measure("tatoeba_acc")
measure("bucc_f1")
measure("retrieval_acc")
measure("cka")
measure("cosine", bounds=(-1.0, 1.0))
measure("perturbed_self_cos", bounds=(-1.0, 1.0))
measure("perturbed_translation_cos", bounds=(-1.0, 1.0))
measure("pair_margin", scale=1.0, bounds=(-2.0, 2.0))  # cos(translation) − cos(other pairs)
measure("pair_rank", higher_is_better=False, scale=1.0, bounds=(1.0, INF))  # 1 = best
# lower = more language-neutral representations (the language cannot be told from them)
measure("lang_id_acc", higher_is_better=False)
