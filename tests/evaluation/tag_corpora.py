"""Real UD-POS and PAN-X gold tags with deterministic simulated predictions, shared by the tagging
tests and the run of seqeval 0.0.12 (XTREME's scorer) that produced
``xtreme_official/seqeval_0012_real.json`` (see ``xtreme_official/PROVENANCE.md``).

Predictions corrupt the gold tags with ``random.Random(seed)`` (stable across Python versions):
a share of tags is swapped for a confusable tag (the errors taggers make: CCONJ/SCONJ, NOUN/PROPN,
B-/I- prefixes) or a random one. Pure Python: the official run imports this file without xstilts.
"""

from __future__ import annotations

import random

UPOS = "ADJ ADP ADV AUX CCONJ DET INTJ NOUN NUM PART PRON PROPN PUNCT SCONJ SYM VERB X".split()
CONFUSE = {
    "CCONJ": "SCONJ",
    "SCONJ": "CCONJ",
    "NOUN": "PROPN",
    "PROPN": "NOUN",
    "AUX": "VERB",
    "VERB": "AUX",
    "ADP": "SCONJ",
    "DET": "PRON",
    "PRON": "DET",
    "ADJ": "NOUN",
    "ADV": "ADJ",
    "PART": "ADV",
    "B-PER": "I-PER",
    "I-PER": "B-PER",
    "B-ORG": "B-LOC",
    "I-ORG": "I-LOC",
    "B-LOC": "B-ORG",
    "I-LOC": "O",
    "O": "B-ORG",
}
NER = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]

# (name, reader format, path under ../shared/data, first n sentences): XTREME's English UD-POS
# dev, the clean UD treebanks, and PAN-X dev files
FILES = [
    ("udpos-en", "tagging_tsv", "udpos/dev-en.tsv", 1000),
    ("ud-de", "conllu", "ud/UD_German-GSD/de_gsd-ud-test.conllu", 1000),
    ("ud-es", "conllu", "ud/UD_Spanish-GSD/es_gsd-ud-test.conllu", 1000),
    ("ud-fr", "conllu", "ud/UD_French-GSD/fr_gsd-ud-test.conllu", 1000),
    ("ud-ru", "conllu", "ud/UD_Russian-GSD/ru_gsd-ud-test.conllu", 1000),
    ("ud-tr", "conllu", "ud/UD_Turkish-IMST/tr_imst-ud-test.conllu", 1000),
    ("ud-zh", "conllu", "ud/UD_Chinese-GSD/zh_gsd-ud-test.conllu", 1000),
    ("panx-de", "tagging_tsv", "panx/dev-de.tsv", 1500),
    ("panx-zh", "tagging_tsv", "panx/dev-zh.tsv", 1500),
    ("panx-ar", "tagging_tsv", "panx/dev-ar.tsv", 1500),
]


def simulate(gold: list[list[str]], seed: int, rate: float = 0.12) -> list[list[str]]:
    """Gold tags with ``rate`` of them replaced (2/3 by a confusable tag, 1/3 at random)."""
    rnd = random.Random(seed)
    pool = NER if any("-" in t for s in gold for t in s) else UPOS
    out = []
    for sent in gold:
        new = []
        for tag in sent:
            r = rnd.random()
            if r < rate * 2 / 3:
                tag = CONFUSE.get(tag, tag)
            elif r < rate:
                tag = pool[int(rnd.random() * len(pool))]
            new.append(tag)
        out.append(new)
    return out
