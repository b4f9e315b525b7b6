"""Language metadata the reports group by: writing system and resource level.

Resource classes follow the taxonomy of Joshi et al. (2020), "The State and Fate of Linguistic
Diversity and Inclusion in the NLP World" (0 = left-behinds ... 5 = winners), as XTREME-R's
analyses use it. Only languages of the XTREME/XTREME-R targets and the sentiment sets are listed;
others are grouped as "other".
"""

from __future__ import annotations

SCRIPT: dict[str, str] = {
    **dict.fromkeys(
        "af de en es et eu fi fr id it jv ms nl pt sw tl tr vi yo ht qu wo lt pl ro".split(),
        "Latin",
    ),
    **dict.fromkeys("ru bg uk kk".split(), "Cyrillic"),
    **dict.fromkeys("ar ur fa".split(), "Arabic"),
    **dict.fromkeys("hi mr ne".split(), "Devanagari"),
    "bn": "Bengali",
    "el": "Greek",
    "he": "Hebrew",
    "ja": "Japanese",
    "ka": "Georgian",
    "ko": "Hangul",
    "ml": "Malayalam",
    "my": "Myanmar",
    "ta": "Tamil",
    "te": "Telugu",
    "th": "Thai",
    "zh": "Han",
}

RESOURCE: dict[str, int] = {
    **dict.fromkeys("en de es fr ja zh ar".split(), 5),
    **dict.fromkeys("ru hi vi tr ko it pt nl fi fa pl".split(), 4),
    **dict.fromkeys("bg el th ur he id ms uk ro ta bn af et eu ka lt".split(), 3),
    **dict.fromkeys("sw mr te tl ml ht kk".split(), 2),
    **dict.fromkeys("my ne jv yo".split(), 1),
    **dict.fromkeys("qu wo".split(), 0),
}


def script_of(lang: str) -> str:
    return SCRIPT.get(lang.split("-")[0], "other")


def resource_of(lang: str) -> str:
    c = RESOURCE.get(lang.split("-")[0])
    return f"class {c}" if c is not None else "other"


GROUPINGS = {"script": script_of, "resource": resource_of}
