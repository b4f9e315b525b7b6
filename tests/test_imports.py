"""The package layering holds: every ``import`` in ``src/xstilts`` (inside functions included) is
read with ``ast``, and the test fails when a lower layer imports the pipeline or two packages
import each other.

Packages are read at two grains, and a cycle at either fails: the top-level packages
(``xstilts.evaluation`` with everything under it) and every directory with an ``__init__.py``
(``xstilts.tasks.families`` apart from ``xstilts.tasks``). A module directly in ``src/xstilts/``
belongs to the ``xstilts`` package. Imports under ``if TYPE_CHECKING:`` are annotations, never
executed, and do not count. Registries reach their entries' modules by name on
first lookup (``Registry(providers=...)``), which is how lower layers stay free of upward imports.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "xstilts"
# Nothing under these may import ``xstilts.experiments`` (the pipeline sits above them).
BELOW_EXPERIMENTS = ("evaluation", "data", "training", "tasks", "models")


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _package(module: str, modules: dict[str, Path]) -> str:
    """The innermost package holding ``module`` (itself when it is a package)."""
    path = modules.get(module)
    if path is not None and path.name == "__init__.py":
        return module
    return module.rsplit(".", 1)[0]


def _top(module: str, modules: dict[str, Path]) -> str:
    """The top-level package holding ``module`` (``xstilts`` for the modules at the top)."""
    return ".".join(_package(module, modules).split(".")[:2])


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                for n in ast.walk(sub):
                    if hasattr(n, "lineno"):
                        lines.add(n.lineno)
    return lines


def _imports(module: str, path: Path, modules: dict[str, Path]) -> list[tuple[str, int]]:
    """(imported xstilts module, line) for every import statement, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from pkg import module`` imports that module
            names = [target] + [
                f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules
            ]
        else:
            continue
        for name in names:
            if name == "xstilts" or name.startswith("xstilts."):
                # the longest known module the name refers to
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]
                out.append((name, node.lineno))
    return out


def _edges(grain=_package) -> dict[tuple[str, str], list[str]]:
    """(importing package, imported package) -> 'module:line -> module' witnesses."""
    modules = _modules()
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for mod, path in modules.items():
        for target, line in _imports(mod, path, modules):
            a, b = grain(mod, modules), grain(target, modules)
            if a != b:
                edges[(a, b)].append(f"{mod}:{line} -> {target}")
    return edges


def test_the_walk_sees_imports_inside_functions():
    """The walker itself: it must see an import inside a function (a known one in the pipeline)."""
    edges = _edges()
    witnesses = [w for w in edges[("xstilts.experiments", "xstilts.evaluation.protocols")]]
    assert any("xstilts.experiments.steps" in w for w in witnesses), witnesses


def test_lower_layers_do_not_import_experiments():
    bad = [
        w
        for (a, b), ws in _edges().items()
        if b == "xstilts.experiments" and a.split(".")[1:2] and a.split(".")[1] in BELOW_EXPERIMENTS
        for w in ws
    ]
    assert not bad, "imports of xstilts.experiments from below it:\n" + "\n".join(bad)


@pytest.mark.parametrize("grain", [_top, _package], ids=["top-level", "directory"])
def test_no_two_packages_import_each_other(grain):
    edges = _edges(grain)
    cycles = [
        f"{a} <-> {b}:\n  " + "\n  ".join(edges[(a, b)] + edges[(b, a)])
        for (a, b) in edges
        if a < b and (b, a) in edges
    ]
    assert not cycles, "packages that import each other:\n" + "\n".join(cycles)
