"""SQuAD v1.1 and MLQA scoring against hand-worked cases and the official scripts' quirks."""

from __future__ import annotations

import pytest

from xstilts.errors import ConfigError
from xstilts.evaluation import metrics_qa as qa
from xstilts.evaluation.metrics import compute


def test_squad_normalize() -> None:
    assert qa.normalize_answer("The Cat!") == "cat"
    assert qa.normalize_answer("  an apple, a   day ") == "apple day"
    assert qa.normalize_answer("theater anthem") == "theater anthem"  # articles are whole words
    assert qa.normalize_answer("«cat»") == "«cat»"  # only ASCII punctuation in v1.1
    assert qa.normalize_answer("l'amour") == "lamour"  # punctuation removed before articles


def test_squad_hand_cases() -> None:
    assert qa.squad_f1("the big cat", "cat") == pytest.approx(2 / 3)
    assert qa.squad_exact("the big cat", "cat") == 0.0
    assert qa.squad_f1("cat cat", "cat") == pytest.approx(2 / 3)  # Counter overlap: 1 shared
    # official quirk: gold that normalises to "" gives EM 1 but F1 0 for an empty prediction
    assert qa.squad_exact("", "The") == 1.0 and qa.squad_f1("", "The") == 0.0


def test_squad_metric_max_over_golds_missing_and_extra() -> None:
    refs = {"q1": ["Denver Broncos", "The Broncos"], "q2": ["cat"], "q3": ["in 1990"]}
    preds = {"q1": "broncos", "q2": "a cat.", "zzz": "ignored"}  # q3 unanswered -> 0
    out = compute("squad", predictions=preds, references=refs)
    # q1: EM 1 vs "The Broncos"; q2: EM 1; q3: 0
    assert out["exact_match"] == pytest.approx(2 / 3)
    assert out["f1"] == pytest.approx(2 / 3)
    assert out["score"] == pytest.approx(2 / 3)
    out = compute("squad", predictions={"q1": "Denver", "q2": "", "q3": "1990"}, references=refs)
    assert out["f1"] == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)
    assert out["exact_match"] == 0.0
    assert out["score"] == pytest.approx((out["f1"] + out["exact_match"]) / 2)


def test_squad_references_as_examples() -> None:
    exs = [{"id": "a", "answers": [{"text": "Paris", "answer_start": 0}]}]
    assert compute("squad", predictions={"a": "paris"}, references=exs)["exact_match"] == 1.0
    with pytest.raises(ConfigError):
        compute("squad", predictions={"a": "x"}, references=[{"id": "a", "answers": []}])
    with pytest.raises(ConfigError):
        compute("squad", predictions={"a": 3}, references={"a": ["x"]})
    with pytest.raises(ConfigError):
        compute("squad", predictions=["x"], references={"a": ["x"]})


def test_mlqa_punctuation_is_unicode() -> None:
    assert qa.mlqa_normalize("«Cat»!", "en") == "cat"
    assert qa.mlqa_normalize("¿El gato?", "es") == "gato"
    assert qa.mlqa_normalize("$5", "en") == "5"  # ASCII string.punctuation joins the P* set
    assert (
        "-" in qa.mlqa_punctuation()
        and "、" in qa.mlqa_punctuation()
        and "$" in qa.mlqa_punctuation()
    )


@pytest.mark.parametrize(
    "lang,text,norm",
    [
        ("en", "The theory of a cat", "theory of cat"),
        ("es", "los gatos y las casas", "gatos y casas"),
        ("de", "Der Hund und die Katze", "hund und katze"),
        ("vi", "cái bàn của tôi", "bàn tôi"),
        ("hi", "the भारत", "the भारत"),  # no articles for Hindi
        ("ar", "الكتاب", "كتاب"),
        ("ar", "مالك", "م ك"),  # the script replaces every 'ال', even inside words
        ("zh", "the 北京", "the 北 京"),  # no articles for Chinese
    ],
)
def test_mlqa_articles(lang: str, text: str, norm: str) -> None:
    assert qa.mlqa_normalize(text, lang) == norm


def test_mlqa_mixed_segmentation() -> None:
    assert qa.mixed_segmentation("2008年北京奥运会") == ["2008", "年", "北", "京", "奥", "运", "会"]
    assert qa.mixed_segmentation("abc def中国") == ["abc", "def", "中", "国"]
    # only U+4E00..U+9FA5 split: extension A and U+9FA6.. stay in runs
    assert qa.mixed_segmentation("㐀㐁") == ["㐀㐁"]
    assert qa.mixed_segmentation("\u9fa6\u9fa5") == ["\u9fa6", "\u9fa5"]
    assert qa.mlqa_f1("北京大学", "北京", "zh") == pytest.approx(2 / 3)
    assert qa.mlqa_exact("北京。", "北京", "zh") == 1.0
    assert qa.mlqa_f1("北京", "北京", "en") == 1.0  # whitespace tokens: one token each


def test_mlqa_metric() -> None:
    refs = {"a": ["北京"], "b": ["上海市"]}
    out = compute(
        "mlqa", predictions={"a": "北京大学", "b": ""}, references=refs, answer_language="zh"
    )
    assert out["f1"] == pytest.approx((2 / 3 + 0) / 2) and out["exact_match"] == 0.0
    en = compute(
        "mlqa", predictions={"a": "«the cat»"}, references={"a": ["cat"]}, answer_language="en"
    )
    sq = compute("squad", predictions={"a": "«the cat»"}, references={"a": ["cat"]})
    assert en["exact_match"] == 1.0 and sq["exact_match"] == 0.0
    with pytest.raises(ConfigError, match="fr"):
        compute("mlqa", predictions={}, references=refs, answer_language="fr")
    with pytest.raises(ConfigError):
        compute("mlqa", predictions={}, references=refs)
