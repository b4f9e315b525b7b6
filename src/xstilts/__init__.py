"""xstilts: English intermediate-task training for multilingual encoders.

Three phases (intermediate task(s) -> English target -> zero-shot evaluation in every language),
robustness under perturbations and attacks, and cross-lingual alignment, run as plans of
content-keyed steps.
"""

__version__ = "0.1.0"
