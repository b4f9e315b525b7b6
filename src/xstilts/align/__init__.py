"""Layer-wise cross-lingual alignment of multilingual encoders, before and after (intermediate)
training, clean and under perturbation.

An experiment config gains an ``alignment:`` section::

    alignment:
      inputs: [tatoeba, bucc2018, xnli, pawsx, xquad]   # any task with translated rows (inputs.py)
      languages: [de, ru, zh, sw]        # default: every language of each input set on disk
      max_sentences: 1000                # per language and set (BUCC: per side, subsampled)
      checkpoints: [pretrained, intermediate, target]   # which checkpoints of the grid
      reference: pretrained              # CKA compares every other checkpoint with this one
      metrics: [retrieval, geometry, cka, lang_id]
      perturbations: [{name: char_swap, params: {rate: 0.1}}]   # of the non-English side
      cka: linear                        # or debiased

and the plan gets one ``align`` step per (model, seed) that depends on the train steps of the
checkpoints it probes. Hidden states are cached per (checkpoint, input set) in
``<cache>/hidden`` (``hidden.py``), metrics are pure tensor functions (``metrics.py``), rows go to
the results store with ``extra.layer`` and ``extra.checkpoint`` (``run.py``), and ``xstilts
report`` draws the layer curves.
"""

from xstilts.align.config import AlignmentConfig, AlignPerturbation
from xstilts.align.hidden import COUNTERS, Checkpoint, encode_layers, layer_states
from xstilts.align.run import run_alignment

__all__ = [
    "COUNTERS",
    "AlignPerturbation",
    "AlignmentConfig",
    "Checkpoint",
    "encode_layers",
    "layer_states",
    "run_alignment",
]
