"""Readers: the real files in ../shared/data, tiny official-format fixtures, malformed variants."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.data.readers import READERS, mlqa_languages, mlqa_path, read
from xstilts.errors import ConfigError, DataError


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode("utf-8"))
    return path


def raises_at(where: str, fn, *args, **kwargs) -> DataError:
    """Assert a DataError whose ``where`` ends with ``where`` and is one line."""
    with pytest.raises(DataError) as info:
        fn(*args, **kwargs)
    err = info.value
    assert err.where is not None and err.where.endswith(where), err.one_line()
    assert "\n" not in err.one_line()
    return err


# --------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ar", "zh", "th", "sw"])
def test_xnli_dev_real(shared_data: Path, lang: str) -> None:
    ex = read(
        "tsv",
        shared_data / f"xnli/dev-{lang}.tsv",
        {"labels": ["entailment", "neutral", "contradiction"]},
    )
    assert len(ex) == 2490
    assert ex[0]["id"] == f"dev-{lang}-0" and set(ex[0]) == {"id", "text_a", "text_b", "label"}


def test_xnli_test_and_pawsx_quotes(shared_data: Path) -> None:
    ex = read("tsv", shared_data / "xnli/test-de.tsv")
    assert len(ex) == 5010
    fr = read("tsv", shared_data / "pawsx/dev-fr.tsv")
    assert fr[9]["text_a"].startswith('"Aamir Khan') and '""Rang De Basanti""' in fr[9]["text_a"]
    unq = read("tsv", shared_data / "pawsx/dev-fr.tsv", {"quoting": "csv"})
    assert (
        unq[9]["text_a"]
        == 'Aamir Khan a de suite accepté de jouer après avoir lu le script de Mehra dans "Rang De Basanti".'
    )


@pytest.mark.parametrize("lang", ["en", "de", "ja", "zh"])
def test_pawsx_dev_real(shared_data: Path, lang: str) -> None:
    ex = read("tsv", shared_data / f"pawsx/dev-{lang}.tsv", {"labels": ["0", "1"]})
    assert len(ex) == 2000


def test_marc_real(shared_data: Path) -> None:
    ex = read("tsv_header", shared_data / "marc_3class_zh_ja/japanese_valid.tsv")
    assert len(ex) == 3000
    assert {e["label"] for e in ex} == {"negative", "neutral", "positive"}


@pytest.mark.parametrize("split,n", [("train", 1839), ("val", 324), ("test", 870)])
def test_umsab_real(shared_data: Path, split: str, n: int) -> None:
    ex = read(
        "text_labels",
        shared_data / f"xlmt_umsab_sentiment/arabic/{split}_text.txt",
        {"label_map": {"0": "negative", "1": "neutral", "2": "positive"}},
    )
    assert len(ex) == n and ex[0]["label"] in {"negative", "neutral", "positive"}


def test_panx_real(shared_data: Path) -> None:
    ex = read("tagging_tsv", shared_data / "panx/dev-en.tsv")
    assert len(ex) == 10000
    assert ex[0]["tokens"][:3] == ["Sioux", "Falls", "Arena"]
    assert ex[0]["tags"][:3] == ["B-ORG", "I-ORG", "I-ORG"]
    # no language prefix in these files; a real token like 'bar:24' is kept as is
    assert any(t.startswith("bar:") for e in ex for t in e["tokens"])
    assert len(read("tagging_tsv", shared_data / "panx/dev-zh.tsv")) > 0


def test_udpos_xtreme_files_are_corrupted(shared_data: Path) -> None:
    """These copies are broken (commas blanked, quoted tokens merged and tags shifted, NULs):
    the reader must say where rather than return misaligned tags."""
    raises_at(
        "udpos_xtreme/test-af.tsv:33", read, "tagging_tsv", shared_data / "udpos_xtreme/test-af.tsv"
    )
    raises_at(
        "udpos_xtreme/test-es.tsv:4", read, "tagging_tsv", shared_data / "udpos_xtreme/test-es.tsv"
    )
    raises_at(
        "udpos_xtreme/test-bg.tsv:16769",
        read,
        "tagging_tsv",
        shared_data / "udpos_xtreme/test-bg.tsv",
    )


@pytest.mark.parametrize(
    "tb,file,n",
    [
        ("UD_English-EWT", "en_ewt-ud-dev.conllu", 2001),
        ("UD_French-GSD", "fr_gsd-ud-test.conllu", 416),
        ("UD_Chinese-GSD", "zh_gsd-ud-dev.conllu", 500),
    ],
)
def test_conllu_real(shared_data: Path, tb: str, file: str, n: int) -> None:
    ex = read("conllu", shared_data / "ud" / tb / file)
    assert len(ex) == n
    assert all(len(e["tokens"]) == len(e["tags"]) for e in ex)
    upos = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON"}
    upos |= {"PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}
    assert {t for e in ex for t in e["tags"]} <= upos


def test_conllu_skips_ranges_and_empty_nodes(shared_data: Path) -> None:
    ex = read("conllu", shared_data / "ud/UD_English-EWT/en_ewt-ud-dev.conllu")
    assert ex[0]["tokens"] == ["From", "the", "AP", "comes", "this", "story", ":"]
    xpos = read("conllu", shared_data / "ud/UD_English-EWT/en_ewt-ud-dev.conllu", {"tag": "xpos"})
    assert xpos[0]["tags"] == ["IN", "DT", "NNP", "VBZ", "DT", "NN", ":"]


@pytest.mark.parametrize("lang", ["en", "zh", "ar", "th"])
def test_xquad_real(shared_data: Path, lang: str) -> None:
    ex = read("squad", shared_data / f"xquad/xquad.{lang}.json")
    assert len(ex) == 1190
    e = ex[0]
    assert e["context"][e["answers"][0]["answer_start"] :].startswith(e["answers"][0]["text"])
    assert e["is_impossible"] is False


def test_mlqa_real(shared_data: Path) -> None:
    path = mlqa_path(shared_data / "mlqa/MLQA_V1", "dev", "zh", "en")
    assert mlqa_languages(path) == ("zh", "en")
    ex = read("mlqa", path)
    assert (
        len(ex) == 504 and ex[0]["answer_language"] == "zh" and ex[0]["question_language"] == "en"
    )
    assert len(read("mlqa", mlqa_path(shared_data / "mlqa/MLQA_V1", "dev", "en", "en"))) == 1148


def test_tydiqa_real(shared_data: Path) -> None:
    train = shared_data / "tydiqa_goldp/tydiqa-goldp-v1.1-train/tydiqa.goldp.en.train.json"
    # ids repeat in this copy: refused by default, renumbered on request
    raises_at("id", read, "squad", train)
    assert len(read("squad", train, {"ids": "row"})) == 3696
    dev = shared_data / "tydiqa_goldp/tydiqa-goldp-v1.1-dev/tydiqa.goldp.en.dev.json"
    # the dev copies carry only placeholder answers ("" at 0): unlabelled, despite SOURCE.txt
    raises_at("answers[0].text", read, "squad", dev)
    ex = read("squad", dev, {"require_answers": False})
    assert len(ex) == 440 and all(e["answers"] == [] for e in ex)


@pytest.mark.parametrize("lang", ["zh", "qu", "ht"])
def test_xcopa_real(shared_data: Path, lang: str) -> None:
    val = read("xcopa", shared_data / f"xcopa/data/{lang}/val.{lang}.jsonl")
    test = read("xcopa", shared_data / f"xcopa/data/{lang}/test.{lang}.jsonl")
    assert (len(val), len(test)) == (100, 500)
    assert val[0]["question"] in ("cause", "effect") and len(val[0]["choices"]) == 2


def test_siqa_real(shared_data: Path) -> None:
    dev = read("siqa", shared_data / "siqa/socialIQa_v1.4_dev.jsonl")
    tst = read("siqa", shared_data / "siqa/socialIQa_v1.4_tst.jsonl")
    assert (len(dev), len(tst)) == (1954, 2224)
    assert dev[0]["label"] == 2 and dev[0]["choices"][2] == "Find somewhere to go"


def test_tatoeba_real(shared_data: Path) -> None:
    ex = read("tatoeba", shared_data / "tatoeba/tatoeba.deu-eng.deu")
    assert len(ex) == 1000
    assert ex[0]["text_a"].startswith("Maria sagte") and ex[0]["text_b"].startswith("Mary said")
    assert len(read("tatoeba", shared_data / "tatoeba/tatoeba.ang-eng")) == 134


def test_bucc_real(shared_data: Path) -> None:
    (c,) = read("bucc", shared_data / "bucc2018/zh-en.dev")
    assert len(c["src_ids"]) == 8624 and len(c["tgt_ids"]) == 13589 and len(c["gold"]) == 257
    assert c["gold"][0] == ("zh-000000057", "en-000008530")
    assert read("bucc", shared_data / "bucc2018/zh-en.dev.gold")[0]["id"] == "zh-en.dev"


# --------------------------------------------------------------------------------------------
# official-format fixtures for data not in shared/
# --------------------------------------------------------------------------------------------


def test_stsb(tmp_path: Path) -> None:
    head = (
        "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    )
    rows = ' 0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air "plane" is taking off.\t5.000\n'
    rows += "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man.\tA woman.\t0.5\n"
    ex = read("stsb", write(tmp_path / "dev.tsv", head + rows))
    assert ex[0] == {
        "id": "dev-0",
        "text_a": "A plane is taking off.",
        "text_b": 'An air "plane" is taking off.',
        "label": 5.0,
    }
    bad = write(tmp_path / "bad.tsv", head + rows.replace("0.5", "5.5"))
    raises_at("bad.tsv:3", read, "stsb", bad)
    raises_at(
        "nan.tsv:3", read, "stsb", write(tmp_path / "nan.tsv", head + rows.replace("0.5", "nan"))
    )


def test_jsonl_column_map(tmp_path: Path) -> None:
    p = write(
        tmp_path / "mnli.jsonl", '{"sentence1": "a", "sentence2": "b", "gold_label": "neutral"}\n\n'
    )
    ex = read(
        "jsonl",
        p,
        {"column_map": {"text_a": "sentence1", "text_b": "sentence2", "label": "gold_label"}},
    )
    assert ex == [{"id": "mnli-0", "text_a": "a", "text_b": "b", "label": "neutral"}]
    p2 = write(tmp_path / "bad.jsonl", '{"sentence1": "a", "sentence2": 3, "label": "x"}\n')
    err = raises_at("bad.jsonl:1", read, "jsonl", p2)
    assert "sentence2" in err.message


def test_hellaswag(tmp_path: Path) -> None:
    row = {
        "ind": 4,
        "activity_label": "Removing ice from car",
        "ctx_a": "Then, the man writes over the snow.",
        "ctx_b": "then",
        "ctx": "Then, the man writes over the snow. then",
        "split": "train",
        "split_type": "indomain",
        "label": 3,
        "endings": ["a", "b", "c", "d"],
        "source_id": "x",
    }
    ex = read("hellaswag", write(tmp_path / "hellaswag_train.jsonl", json.dumps(row) + "\n"))
    assert ex[0]["context"] == row["ctx_a"] and ex[0]["question"] == "then" and ex[0]["label"] == 3
    row["label"] = 4
    raises_at("bad.jsonl:1", read, "hellaswag", write(tmp_path / "bad.jsonl", json.dumps(row)))


def test_commonsenseqa(tmp_path: Path) -> None:
    row = {
        "answerKey": "B",
        "id": "075e",
        "question": {
            "question_concept": "x",
            "stem": "Where?",
            "choices": [
                {"label": "A", "text": "bank"},
                {"label": "B", "text": "library"},
                {"label": "C", "text": "store"},
            ],
        },
    }
    ex = read("commonsenseqa", write(tmp_path / "dev_rand_split.jsonl", json.dumps(row)))
    assert (
        ex[0]["question"] == "Where?" and ex[0]["choices"][1] == "library" and ex[0]["label"] == 1
    )
    row["answerKey"] = "E"
    err = raises_at(
        "bad.jsonl:1", read, "commonsenseqa", write(tmp_path / "bad.jsonl", json.dumps(row))
    )
    assert "answerKey" in err.message


def test_cosmosqa_jsonl_and_csv(tmp_path: Path) -> None:
    row = {
        "id": "3Q9",
        "context": "Good day, indeed.",
        "question": "Why?",
        "answer0": "a",
        "answer1": "b,c",
        "answer2": "c",
        "answer3": "None of the above choices .",
        "label": "1",
    }
    ex = read("cosmosqa", write(tmp_path / "valid.jsonl", json.dumps(row)))
    assert ex[0]["label"] == 1 and ex[0]["choices"][1] == "b,c"
    csv_text = 'id,context,question,answer0,answer1,answer2,answer3,label\n3Q9,"Good day, indeed.",Why?,a,"b,c",c,d,1\n'
    ex2 = read("cosmosqa", write(tmp_path / "valid.csv", csv_text))
    assert (
        ex2[0]["context"] == "Good day, indeed."
        and ex2[0]["choices"][1] == "b,c"
        and ex2[0]["label"] == 1
    )
    raises_at(
        "bad.csv:2", read, "cosmosqa", write(tmp_path / "bad.csv", csv_text.replace(",1\n", "\n"))
    )


def test_siqa_official_labels_file(tmp_path: Path) -> None:
    row = {"context": "c", "question": "q", "answerA": "a", "answerB": "b", "answerC": "x"}
    p = write(tmp_path / "dev.jsonl", (json.dumps(row) + "\n") * 2)
    write(tmp_path / "dev-labels.lst", "3\n1\n")
    assert [e["label"] for e in read("siqa", p)] == [2, 0]
    write(tmp_path / "dev-labels.lst", "3\n")
    err = raises_at("dev-labels.lst:2", read, "siqa", p)
    assert "dev.jsonl" in err.message


def test_mc_jsonl_generic(tmp_path: Path) -> None:
    p = write(
        tmp_path / "x.jsonl", json.dumps({"q": {"text": "Q"}, "opts": ["a", "b"], "ans": "B"})
    )
    ex = read(
        "mc_jsonl",
        p,
        {"question": "q.text", "choices": "opts", "label": "ans", "label_format": "letter"},
    )
    assert ex[0]["question"] == "Q" and ex[0]["label"] == 1 and ex[0]["context"] == ""


def test_tagging_lang_prefix(tmp_path: Path) -> None:
    p = write(tmp_path / "train-de.tsv", "de:Berlin\tB-LOC\nde:ist\tO\n\n\nde:a:b\tO\n")
    ex = read("tagging_tsv", p)
    assert ex[0]["tokens"] == ["Berlin", "ist"] and ex[1]["tokens"] == ["a:b"]
    assert read("tagging_tsv", p, {"lang_prefix": "keep"})[0]["tokens"][0] == "de:Berlin"
    mixed = write(tmp_path / "m.tsv", "de:Berlin\tB-LOC\nist\tO\n")
    assert read("tagging_tsv", mixed)[0]["tokens"] == ["de:Berlin", "ist"]
    raises_at("m.tsv:2", read, "tagging_tsv", mixed, {"lang_prefix": "strip"})
    unl = write(tmp_path / "test-de.tsv", "Berlin\nist\n")
    assert read("tagging_tsv", unl, {"has_tags": False}) == [
        {"id": "test-de-0", "tokens": ["Berlin", "ist"]}
    ]


def test_bom_and_crlf_tolerated(tmp_path: Path) -> None:
    p = write(tmp_path / "dev-xx.tsv", b"\xef\xbb\xbfa\tb\tneutral\r\nc\td\tentailment\r\n")
    ex = read("tsv", p)
    assert ex[0]["text_a"] == "a" and ex[1]["label"] == "entailment"


def test_unicode_line_separators_do_not_split(tmp_path: Path) -> None:
    t = write(tmp_path / "val_text.txt", "one\u2028still one\x85\x0c\nTwo\n")
    write(tmp_path / "val_labels.txt", "0\n2\n")
    ex = read("text_labels", t)
    assert len(ex) == 2 and ex[0]["text_a"] == "one\u2028still one\x85\x0c"


# --------------------------------------------------------------------------------------------
# malformed input -> DataError naming file:line
# --------------------------------------------------------------------------------------------


def test_tsv_malformed(tmp_path: Path) -> None:
    raises_at("cols.tsv:2", read, "tsv", write(tmp_path / "cols.tsv", "a\tb\tneutral\na\tb\n"))
    raises_at(
        "utf.tsv:2", read, "tsv", write(tmp_path / "utf.tsv", b"a\tb\tneutral\na\xff\tb\tx\n")
    )
    raises_at("empty.tsv", read, "tsv", write(tmp_path / "empty.tsv", ""))
    raises_at("lab.tsv:1", read, "tsv", write(tmp_path / "lab.tsv", "a\tb\t\n"))
    raises_at(
        "unk.tsv:1",
        read,
        "tsv",
        write(tmp_path / "unk.tsv", "a\tb\tmaybe\n"),
        {"labels": ["yes", "no"]},
    )
    raises_at("nul.tsv:2", read, "tsv", write(tmp_path / "nul.tsv", "a\tb\tc\na\x00\tb\tc\n"))
    raises_at(
        "utf16.tsv:1", read, "tsv", write(tmp_path / "utf16.tsv", "a\tb\tc\n".encode("utf-16"))
    )
    raises_at("missing.tsv", read, "tsv", tmp_path / "missing.tsv")
    raises_at(str(tmp_path), read, "tsv", tmp_path)
    huge = write(tmp_path / "huge.tsv", "x" * 2_000_000 + "\tb\tneutral\n" + "x\n")
    raises_at("huge.tsv:2", read, "tsv", huge)


def test_header_tsv_malformed(tmp_path: Path) -> None:
    raises_at("h.tsv:1", read, "tsv_header", write(tmp_path / "h.tsv", "sentence\tlabel\nx\ty\n"))
    raises_at("r.tsv:3", read, "tsv_header", write(tmp_path / "r.tsv", "text\tlabel\nx\ty\nx\n"))
    raises_at("e.tsv", read, "tsv_header", write(tmp_path / "e.tsv", b"\xef\xbb\xbf"))


def test_text_labels_mismatch_names_both_files(tmp_path: Path) -> None:
    t = write(tmp_path / "train_text.txt", "a\nb\nc\n")
    write(tmp_path / "train_labels.txt", "0\n1\n")
    err = raises_at("train_text.txt:3", read, "text_labels", t)
    assert "train_labels.txt" in err.message
    raises_at(
        "x.txt", read, "text_labels", write(tmp_path / "x.txt", "a\n")
    )  # cannot derive labels


def test_tagging_malformed(tmp_path: Path) -> None:
    raises_at("a.tsv:2", read, "tagging_tsv", write(tmp_path / "a.tsv", "x\tO\ny\n"))
    raises_at("b.tsv:2", read, "tagging_tsv", write(tmp_path / "b.tsv", "x\tO\ny\tO\tO\n"))
    raises_at("c.tsv:1", read, "tagging_tsv", write(tmp_path / "c.tsv", "x\t\n"))
    raises_at("d.tsv", read, "tagging_tsv", write(tmp_path / "d.tsv", "\n\n"))


def test_conllu_malformed(tmp_path: Path) -> None:
    good = "# sent_id = 1\n1-2\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n1\tde\tde\tADP\t_\t_\t0\troot\t_\t_\n2\tle\tle\tDET\t_\t_\t1\tdet\t_\t_\n2.1\tx\t_\t_\t_\t_\t_\t_\t_\t_\n\n"
    assert read("conllu", write(tmp_path / "ok.conllu", good)) == [
        {"id": "ok-0", "tokens": ["de", "le"], "tags": ["ADP", "DET"]}
    ]
    raises_at(
        "f.conllu:3",
        read,
        "conllu",
        write(tmp_path / "f.conllu", good.replace("1\tde\tde\tADP\t", "1\tde\tADP\t")),
    )
    raises_at(
        "s.conllu:4", read, "conllu", write(tmp_path / "s.conllu", good.replace("2\tle", "3\tle"))
    )
    raises_at("x.conllu:3", read, "conllu", write(tmp_path / "x.conllu", good), {"tag": "xpos"})
    raises_at(
        "i.conllu:3", read, "conllu", write(tmp_path / "i.conllu", good.replace("1\tde", "a\tde"))
    )


def _squad(qas: list) -> str:
    return json.dumps(
        {
            "version": "1.1",
            "data": [{"title": "t", "paragraphs": [{"context": "The cat sat.", "qas": qas}]}],
        }
    )


def test_squad_malformed(tmp_path: Path) -> None:
    ok = {"id": "q1", "question": "Who?", "answers": [{"text": "cat", "answer_start": 4}]}
    assert read("squad", write(tmp_path / "ok.json", _squad([ok])))[0]["answers"] == [
        {"text": "cat", "answer_start": 4}
    ]
    err = raises_at(
        "trunc.json:1", read, "squad", write(tmp_path / "trunc.json", _squad([ok])[:-5])
    )
    assert "column" in err.message
    span = dict(ok, answers=[{"text": "cat", "answer_start": 5}])
    raises_at(
        "span.json:$.data[0].paragraphs[0].qas[0].answers[0].answer_start",
        read,
        "squad",
        write(tmp_path / "span.json", _squad([span])),
    )
    wrong = dict(ok, question=7)
    raises_at(
        "type.json:$.data[0].paragraphs[0].qas[0].question",
        read,
        "squad",
        write(tmp_path / "type.json", _squad([wrong])),
    )
    nokey = {k: v for k, v in ok.items() if k != "answers"}
    err = raises_at(
        "key.json:$.data[0].paragraphs[0].qas[0]",
        read,
        "squad",
        write(tmp_path / "key.json", _squad([nokey])),
    )
    assert "answers" in err.message
    raises_at(
        "dup.json:$.data[0].paragraphs[0].qas[1].id",
        read,
        "squad",
        write(tmp_path / "dup.json", _squad([ok, ok])),
    )
    raises_at("list.json:$", read, "squad", write(tmp_path / "list.json", "[]"))
    raises_at(
        "deep.json", read, "squad", write(tmp_path / "deep.json", "[" * 100000 + "]" * 100000)
    )
    raises_at(
        "bigint.json",
        read,
        "squad",
        write(tmp_path / "bigint.json", '{"data": ' + "9" * 5000 + "}"),
    )
    v2 = dict(ok, answers=[], is_impossible=True)
    assert read("squad", write(tmp_path / "v2.json", _squad([v2])))[0]["is_impossible"] is True
    raises_at("mlqa.json", read, "mlqa", write(tmp_path / "mlqa.json", _squad([ok])))


def test_jsonl_malformed(tmp_path: Path) -> None:
    row = {"premise": "p", "choice1": "a", "choice2": "b", "question": "effect", "label": 1}
    good = json.dumps(row)
    raises_at("a.jsonl:2", read, "xcopa", write(tmp_path / "a.jsonl", good + "\n{bad\n"))
    raises_at(
        "b.jsonl:1", read, "xcopa", write(tmp_path / "b.jsonl", json.dumps(dict(row, label=True)))
    )
    raises_at(
        "c.jsonl:1",
        read,
        "xcopa",
        write(tmp_path / "c.jsonl", json.dumps(dict(row, question="why"))),
    )
    raises_at("d.jsonl:1", read, "xcopa", write(tmp_path / "d.jsonl", "[1, 2]"))
    raises_at(
        "e.jsonl:2",
        read,
        "xcopa",
        write(
            tmp_path / "e.jsonl",
            good + "\n" + json.dumps({k: v for k, v in row.items() if k != "choice2"}),
        ),
    )
    raises_at("f.jsonl", read, "xcopa", write(tmp_path / "f.jsonl", "\n"))


def test_retrieval_malformed(tmp_path: Path) -> None:
    write(tmp_path / "tatoeba.xyz-eng.xyz", "a\nb\n")
    write(tmp_path / "tatoeba.xyz-eng.eng", "A\n")
    err = raises_at("tatoeba.xyz-eng.xyz:2", read, "tatoeba", tmp_path / "tatoeba.xyz-eng.xyz")
    assert "tatoeba.xyz-eng.eng" in err.message
    write(tmp_path / "de-en.dev.de", "de-1\tHallo\nde-2\tWelt\n")
    write(tmp_path / "de-en.dev.en", "en-1\tHello\nen-1\tWorld\n")
    raises_at("de-en.dev.en:2", read, "bucc", tmp_path / "de-en.dev")
    write(tmp_path / "de-en.dev.en", "en-1\tHello\nen-2\tWorld\n")
    write(tmp_path / "de-en.dev.gold", "de-1\ten-1\nde-3\ten-2\n")
    raises_at("de-en.dev.gold:2", read, "bucc", tmp_path / "de-en.dev")
    (tmp_path / "de-en.dev.gold").unlink()
    assert read("bucc", tmp_path / "de-en.dev")[0]["gold"] == []
    raises_at("de-en.dev.gold", read, "bucc", tmp_path / "de-en.dev", {"gold": "required"})


def test_registry_params_validated() -> None:
    assert {
        "tsv",
        "tsv_header",
        "jsonl",
        "text_labels",
        "tagging_tsv",
        "conllu",
        "squad",
        "mlqa",
    } <= set(READERS)
    assert {
        "xcopa",
        "siqa",
        "hellaswag",
        "commonsenseqa",
        "cosmosqa",
        "mc_jsonl",
        "stsb",
        "tatoeba",
        "bucc",
    } <= set(READERS)
    with pytest.raises(ConfigError, match="columns"):
        read("tsv", "x.tsv", {"columns": ["text_a", "premise"]})
    with pytest.raises(ConfigError, match="unknown key"):
        read("squad", "x.json", {"strict": True})
    with pytest.raises(ConfigError, match="unknown reader"):
        read("tsvv", "x.tsv")
