"""Generate ``src/xstilts/perturb/resources/keyboards.json`` from Debian's xkb-data.

Why a generated file: keyboard-typo perturbations need real per-language layouts, but CI machines
may lack ``xkb-data``; the package ships the compact neighbour maps this script derives from the
layout files (``apt-get install xkb-data x11proto-dev``: symbols under /usr/share/X11/xkb/symbols,
keysym names resolved with /usr/include/X11/keysymdef.h).

Geometry: the four alphanumeric rows of a standard ISO keyboard with their usual stagger (number
row at x=col, top row +0.5, home row +0.75, bottom row +1.25, ``LSGT`` left of ``AB01``). Two keys
are neighbours when they are in the same row and one column apart, or in adjacent rows with a
horizontal distance below one key. Neighbours are computed per shift level (level 1 with level 1,
level 2 with level 2), so an upper-case letter is mistyped as an upper-case neighbour.

Usage: ``python scripts/build_keyboards.py [--xkb DIR] [--keysymdef FILE] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "xstilts" / "perturb" / "resources" / "keyboards.json"

# language code -> xkb "file(section)"; IME-based scripts (zh, ja, ko) have no direct layout.
LANGUAGE_LAYOUTS: dict[str, str] = {
    "en": "us",
    "de": "de",
    "fr": "fr",
    "es": "es",
    "it": "it",
    "pt": "pt",
    "nl": "us",
    "pl": "pl",
    "cs": "cz",
    "sk": "sk",
    "hu": "hu",
    "ro": "ro",
    "fi": "fi",
    "sv": "se",
    "da": "dk",
    "no": "no",
    "et": "ee",
    "lt": "lt",
    "lv": "lv",
    "tr": "tr",
    "az": "az",
    "vi": "vn",
    "id": "us",
    "ms": "us",
    "tl": "us",
    "sw": "us",
    "yo": "us",
    "jv": "us",
    "af": "us",
    "eu": "es",
    "qu": "latam",
    "ru": "ru",
    "uk": "ua",
    "bg": "bg",
    "kk": "kz",
    "el": "gr",
    "ar": "ara",
    "fa": "ir",
    "ur": "pk(urd-crulp)",
    "he": "il",
    "hi": "in(deva)",
    "mr": "in(deva)",
    "bn": "in(ben_inscript)",
    "ta": "in(tam)",
    "te": "in(tel)",
    "ml": "in(mal)",
    "kn": "in(kan)",
    "gu": "in(guj)",
    "pa": "in(guru)",
    "th": "th",
    "ka": "ge",
    "hy": "am",
    "my": "mm",
}

ROW_OFFSET = {"E": 0.0, "D": 0.5, "C": 0.75, "B": 1.25}
ROW_Y = {"E": 0, "D": 1, "C": 2, "B": 3}
SPECIAL_POS = {"TLDE": ("E", 0), "BKSL": ("C", 12), "LSGT": ("B", 0)}


def key_position(name: str) -> tuple[float, int] | None:
    """(x, y) of an xkb key name on the staggered ISO grid, None for non-alphanumeric keys."""
    if name in SPECIAL_POS:
        row, col = SPECIAL_POS[name]
    else:
        m = re.fullmatch(r"A([EDCB])(\d\d)", name)
        if not m:
            return None
        row, col = m.group(1), int(m.group(2))
    return col + ROW_OFFSET[row], ROW_Y[row]


def load_keysyms(path: Path) -> tuple[dict[str, str], dict[int, str]]:
    by_name: dict[str, str] = {}
    by_value: dict[int, str] = {}
    pat = re.compile(r"#define XK_(\w+)\s+0x([0-9a-fA-F]+)\s*/\*\s*\(?U\+([0-9A-Fa-f]+)")
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = pat.match(line)
        if m:
            ch = chr(int(m.group(3), 16))
            by_name.setdefault(m.group(1), ch)
            by_value.setdefault(int(m.group(2), 16), ch)
    return by_name, by_value


def keysym_char(sym: str, by_name: dict[str, str], by_value: dict[int, str]) -> str | None:
    sym = sym.strip()
    if not sym or sym in ("NoSymbol", "VoidSymbol") or sym.startswith("dead_"):
        return None
    if re.fullmatch(r"U[0-9A-Fa-f]{4,6}", sym):
        ch = chr(int(sym[1:], 16))
    elif re.fullmatch(r"0x[0-9A-Fa-f]+", sym):
        val = int(sym, 16)
        ch = chr(val - 0x1000000) if val >= 0x1000000 else by_value.get(val)
    elif len(sym) == 1:
        ch = sym
    else:
        ch = by_name.get(sym)
    if ch is None or unicodedata.category(ch)[0] in "CZ":
        return None
    return ch


def _sections(text: str) -> tuple[dict[str, str], str | None]:
    """Section name -> body, and the default section's name."""
    text = re.sub(r"//[^\n]*", "", text)
    out: dict[str, str] = {}
    default = None
    for m in re.finditer(r"((?:\w+\s+)*)xkb_symbols\s+\"([^\"]+)\"\s*\{", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out[m.group(2)] = text[m.end() : i - 1]
        if "default" in m.group(1).split() or default is None and not out.keys() - {m.group(2)}:
            default = m.group(2) if "default" in m.group(1).split() or default is None else default
    return out, default


class XkbReader:
    def __init__(self, symbols_dir: Path, keysymdef: Path) -> None:
        self.dir = symbols_dir
        self.by_name, self.by_value = load_keysyms(keysymdef)
        self._files: dict[str, tuple[dict[str, str], str | None]] = {}

    def _section(self, spec: str) -> str | None:
        m = re.fullmatch(r"([\w\-]+)(?:\(([^)]+)\))?", spec.strip())
        if not m or not (self.dir / m.group(1)).is_file():
            return None
        if m.group(1) not in self._files:
            self._files[m.group(1)] = _sections((self.dir / m.group(1)).read_text(encoding="utf-8"))
        secs, default = self._files[m.group(1)]
        return secs.get(m.group(2) or default or "")

    def keys(self, spec: str, depth: int = 0) -> dict[str, list[str | None]]:
        """key name -> [level1, level2] characters, includes resolved (later overrides earlier)."""
        body = self._section(spec)
        if body is None or depth > 10:
            return {}
        keys: dict[str, list[str | None]] = {}
        stmt = re.compile(r"include\s+\"([^\"]+)\"|key\s*<(\w+)>\s*\{(.*?)\}\s*;", re.S)
        for m in stmt.finditer(body):
            if m.group(1):
                for part in re.split(r"[+|]", m.group(1)):
                    for k, levels in self.keys(part, depth + 1).items():
                        keys[k] = _merge(keys.get(k), levels)
                continue
            name, kb = m.group(2), m.group(3)
            kb = re.sub(r"type(\[\w+\])?\s*=\s*\"[^\"]*\"\s*,?", "", kb)
            sm = re.search(r"symbols\[Group1\]\s*=\s*\[([^\]]*)\]", kb)
            if sm is None and "symbols[" not in kb:
                sm = re.search(r"\[([^\]]*)\]", kb)
            if sm is None:
                continue
            syms = [s for s in sm.group(1).split(",")][:2]
            levels = [keysym_char(s, self.by_name, self.by_value) for s in syms]
            keys[name] = _merge(keys.get(name), levels)
        return keys


def _merge(old: list[str | None] | None, new: list[str | None]) -> list[str | None]:
    out = list(old or [None, None])
    for i, ch in enumerate(new[:2]):
        if ch is not None or (old is None):
            out[i] = ch
    return out


def neighbours(keys: dict[str, list[str | None]]) -> dict[str, list[str]]:
    pos = {k: key_position(k) for k in keys}
    out: dict[str, list[str]] = {}
    for a, la in keys.items():
        pa = pos[a]
        if pa is None:
            continue
        for b, lb in keys.items():
            pb = pos[b]
            if b == a or pb is None:
                continue
            dx, dy = abs(pa[0] - pb[0]), abs(pa[1] - pb[1])
            if not ((dy == 0 and dx == 1) or (dy == 1 and dx < 1)):
                continue
            for level in (0, 1):
                ca, cb = la[level], lb[level]
                if ca and cb and ca != cb and cb not in out.setdefault(ca, []):
                    out[ca].append(cb)
    return {k: v for k, v in sorted(out.items())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xkb", type=Path, default=Path("/usr/share/X11/xkb/symbols"))
    ap.add_argument("--keysymdef", type=Path, default=Path("/usr/include/X11/keysymdef.h"))
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    reader = XkbReader(args.xkb, args.keysymdef)
    layouts: dict[str, dict] = {}
    for spec in sorted(set(LANGUAGE_LAYOUTS.values())):
        keys = {k: v for k, v in reader.keys(spec).items() if key_position(k) is not None}
        if not keys:
            raise SystemExit(f"layout {spec!r} not found under {args.xkb}")
        layouts[spec] = {
            "keys": {k: "".join(c or "\0" for c in v) for k, v in sorted(keys.items())},
            "neighbours": {c: "".join(n) for c, n in neighbours(keys).items()},
        }
    try:
        version = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "xkb-data"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        version = "unknown"
    data = {
        "source": f"xkb-data {version or 'unknown'} ({args.xkb})",
        "geometry": "ISO staggered rows E/D/C/B at x offsets 0/0.5/0.75/1.25",
        "languages": LANGUAGE_LAYOUTS,
        "layouts": layouts,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True) + "\n")
    print(f"wrote {args.out} ({len(layouts)} layouts, {args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
