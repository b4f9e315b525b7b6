"""Keyboard neighbours from real layouts, typo replay from real pairs, dictionaries, readers."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

from xstilts.errors import DataError
from xstilts.perturb import build, code_mix_parallel
from xstilts.perturb import keyboard as kb
from xstilts.perturb.lexicons import (
    read_hunspell_rep,
    read_muse,
    read_tsv_dict,
    read_typo_pairs,
    read_viwiki,
)

ROOT = Path(__file__).resolve().parents[2]
XKB = Path("/usr/share/X11/xkb/symbols")
KEYSYMDEF = Path("/usr/include/X11/keysymdef.h")


def test_german_qwertz_neighbours():
    assert kb.layout_for("de") == "de"
    assert set("tugh67") <= set(kb.neighbours("de", "z"))
    assert set(kb.neighbours("de", "z")) == set("tugh67")
    assert set(kb.neighbours("us", "z")) == set("asx")
    assert "z" not in kb.neighbours("de", "a") and "y" in kb.neighbours(
        "de", "a"
    )  # y sits bottom-left on qwertz
    assert set(kb.neighbours("de", "Z")) == set("TUGH&/")  # shift level: shifted 6 and 7
    grid = kb.key_grid("de")
    assert grid["AD06"] == ("z", "Z") and grid["AB01"] == ("y", "Y") and grid["AC10"] == ("ö", "Ö")


def test_other_scripts_have_real_layouts():
    assert kb.key_grid("ru")["AD01"][0] == "й" and set(kb.neighbours("ru", "й")) >= {"ц", "ф"}
    assert kb.key_grid("in(deva)")["AC08"][0] == "क"  # INSCRIPT: ka on the k key
    assert kb.layout_for("th") == "th" and kb.key_grid("th")["AC03"][0] == "ก"
    assert kb.layout_for("zh") is None


@pytest.mark.skipif(
    not (XKB.is_dir() and KEYSYMDEF.is_file()), reason="xkb-data/x11proto-dev not installed"
)
def test_shipped_json_matches_xkb_files():
    spec = importlib.util.spec_from_file_location(
        "build_keyboards", ROOT / "scripts" / "build_keyboards.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    reader = mod.XkbReader(XKB, KEYSYMDEF)
    for layout in ("de", "fr", "ru", "in(deva)", "th", "ara", "in(tam)"):
        keys = {k: v for k, v in reader.keys(layout).items() if mod.key_position(k)}
        assert {k: tuple(v) for k, v in keys.items()} == kb.key_grid(layout)
        assert {c: "".join(n) for c, n in mod.neighbours(keys).items()} == {
            c: kb.neighbours(layout, c) for c in mod.neighbours(keys)
        }


def test_keyboard_edits_use_neighbours(shared_data):
    p = build("keyboard", {"rate": 0.5})
    text = "Die Bundesregierung hat heute zwei neue Gesetze verabschiedet"
    new, edits = p.apply(text, "de", random.Random(0))
    assert edits
    for e in edits:
        diff = [(a, b) for a, b in zip(e.before, e.after, strict=True) if a != b]
        assert len(diff) == 1 and diff[0][1] in kb.neighbours("de", diff[0][0])


def _pairs(path: Path) -> set[tuple[str, str]]:
    import html

    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        typo, correct = html.unescape(line).split(";")
        out.add((correct, typo))
    return out


def test_typo_replay_uses_real_pairs(shared_data):
    path = shared_data / "typos_de_wikipedia_hroest" / "curated.dic"
    pairs = _pairs(path)
    correct_words = sorted({c for c, _ in pairs if c.isalpha()})[:60]
    text = " ".join(w.capitalize() if i % 2 else w for i, w in enumerate(correct_words))
    p = build("typo_replay", {"path": str(path), "rate": 1.0})
    new, edits = p.apply(text, "de", random.Random(0))
    assert len(edits) == len(correct_words)
    for e in edits:
        assert (e.before.lower(), e.after.lower()) in pairs
        assert e.after[0].isupper() == e.before[0].isupper()  # case carried over


def test_viwiki_pairs(shared_data):
    table = read_viwiki(shared_data / "viwiki_spelling" / "spelling_test.json")
    assert len(table) > 500
    p = build(
        "typo_replay",
        {"path": str(shared_data / "viwiki_spelling" / "spelling_test.json"), "rate": 1.0},
    )
    text = "là vị hoàng đế thứ 7 của triều đại nhà Trần"
    new, edits = p.apply(text, "vi", random.Random(0))
    assert edits and all(
        e.after in table.words[e.before.lower()]
        or e.after.lower() in [t.lower() for t in table.words[e.before.lower()]]
        for e in edits
    )


def test_hunspell_rep(tmp_path):
    aff = tmp_path / "x.aff"
    aff.write_text("SET UTF-8\nREP 2\nREP f ph\nREP ß ss\n", encoding="utf-8")
    t = read_hunspell_rep(aff)
    assert t.rep == [("f", "ph"), ("ß", "ss")]
    p = build("typo_replay", {"path": str(aff), "rate": 1.0})
    new, _ = p.apply("Philosophie und Masse", "de", random.Random(0))
    assert new == "Philosofie und Maße"  # 'ph' -> 'f' (case-sensitive), 'ss' -> 'ß'
    real = Path("/usr/share/hunspell/de_DE.aff")
    if real.is_file():  # optional system dictionary
        assert ("f", "ph") in read_hunspell_rep(real).rep


@pytest.mark.parametrize(
    "reader,content,line",
    [
        (read_typo_pairs, "abc;abd\nnosemicolon\n", 2),
        (read_typo_pairs, "a;b;c\n", 1),
        (read_viwiki, '{"mistakes": []}\n{broken\n', 2),
        (read_viwiki, '{"mistakes": [{"text": 3}]}\n', 1),
        (read_muse, "hund @ dog\nkatze - cat\n", 2),
        (read_tsv_dict, "dog\thund\ncat katze\n", 2),
        (read_hunspell_rep, "REP 1\nREP f\n", 2),
    ],
)
def test_malformed_files_name_file_and_line(tmp_path, reader, content, line):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        reader(path)
    assert f"bad.txt:{line}:" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_typo_pairs(tmp_path / "nope.dic")
    bad = tmp_path / "latin1.dic"
    bad.write_bytes("abc;abd\nstra\xdfe;strasse\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.dic:2"):
        read_typo_pairs(bad)


def test_muse_is_reversed(shared_data):
    lex = read_muse(shared_data / "muse_dicts" / "dict" / "en-de.dict")
    assert "dog" in lex.to_english["hund"] and "hund" in [
        x.lower() for x in lex.from_english["dog"]
    ]
    assert "hund" not in lex.to_english.get("dog", [])


def test_code_switch_real_dicts(shared_data):
    muse = str(shared_data / "muse_dicts" / "dict" / "en-de.dict")
    p = build("code_switch", {"path": muse, "rate": 1.0})
    new, edits = p.apply("Der Hund schläft", "de", random.Random(0))
    assert any(e.before == "Hund" and e.after == "Dog" for e in edits)
    wechsel = str(shared_data / "wechsel_dicts" / "data" / "german.txt")
    lex = read_tsv_dict(wechsel)
    assert "free" in lex.to_english["frei"]
    p = build(
        "code_switch",
        {"path": str(shared_data / "muse_dicts" / "dict" / "en-zh.dict"), "rate": 1.0},
    )
    new, edits = p.apply("我们今天去北京", "zh", random.Random(0))
    assert edits and all(e.before in "我们今天去北京" for e in edits)


def test_code_mix_parallel():
    en, de = "the dog sleeps in the garden", "der Hund schläft im Garten"
    new, edits = code_mix_parallel(en, de, random.Random(0), mode="half")
    assert len(edits) == 1 and (new.startswith("the dog") or new.endswith("im Garten"))
    assert new.startswith(("the dog sleeps", "der Hund")) and new != en
    new, edits = code_mix_parallel(en, de, random.Random(3), mode="phrase", rate=0.3)
    assert edits[0].after.strip() in de and edits[0].before in en
