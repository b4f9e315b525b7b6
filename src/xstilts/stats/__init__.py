"""Statistics a reviewer accepts: two-level intervals (items × seeds), clustered paired tests,
multiple-comparison control and power, all bounded by the metric's range.

Used by the report (``xstilts.report``) and by ``xstilts results --effects``; the methods and why
they were chosen are in ``docs/statistics.md``.
"""

from xstilts.stats.intervals import (
    Interval,
    clip_interval,
    cluster_totals,
    naive_pooled_interval,
    seed_t_interval,
    two_level_interval,
)
from xstilts.stats.multiple import adjust_pvalues
from xstilts.stats.paired import (
    PairedResult,
    cluster_bootstrap_ci,
    cluster_permutation_test,
    paired_compare,
)
from xstilts.stats.power import min_detectable_effect

__all__ = [
    "Interval",
    "PairedResult",
    "adjust_pvalues",
    "clip_interval",
    "cluster_bootstrap_ci",
    "cluster_permutation_test",
    "cluster_totals",
    "min_detectable_effect",
    "naive_pooled_interval",
    "paired_compare",
    "seed_t_interval",
    "two_level_interval",
]
