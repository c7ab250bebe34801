"""The package layout holds: no import circles, lower layers never import higher ones,
`receipt` never imports `review_ui`, the environment is read only in receipt/config.py.

Imports anywhere in a file count (inside functions too), so a lazy import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("receipt", "review_ui")

# Layer of each top-level part of receipt/: a module may import its own layer or lower ones.
LAYERS = {
    "receipt.errors": 0, "receipt.config": 0, "receipt.specs": 1,
    "receipt.photo": 2, "receipt.issue": 2, "receipt.rules": 3, "receipt.pipeline": 4,
    "receipt.eval": 5, "receipt.service": 5, "receipt.web": 6, "receipt.cli": 7, "review_ui": 8,
}
MAX_LINES = 450
LONG_ON_PURPOSE: dict[str, str] = {}  # module -> why it may be longer


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            mods[name.removesuffix(".__init__")] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = name.split(".")
            if node.level:
                keep = len(base) - node.level + (1 if path.name == "__init__.py" else 0)
                prefix = ".".join(base[:keep] + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [prefix] + [f"{prefix}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in mods:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def _layer(module: str) -> int:
    for prefix, layer in sorted(LAYERS.items(), key=lambda kv: -len(kv[0])):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS")


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _parent_package_imports(module: str, target: str) -> bool:
    """`receipt.rules.hat` importing `receipt.rules` (its own package's table) is not a circle to report."""
    return module.startswith(target + ".")


def test_no_import_circles() -> None:
    graph = _graph()
    # a package __init__ that imports its own submodules (a table) is not a circle with them
    pruned = {m: {t for t in ts if not _parent_package_imports(m, t)} for m, ts in graph.items()}
    assert _circles(pruned) == []


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = [f"{m} -> {t}" for m, ts in _graph().items() for t in ts if _layer(t) > _layer(m)]
    assert wrong == []


def test_environment_is_read_in_config_only() -> None:
    readers = [str(p.relative_to(ROOT)) for name, p in _modules().items()
               if name != "receipt.config" and any(s in p.read_text(encoding="utf-8")
                                                   for s in ("os.environ.get", "os.environ[", "getenv("))]
    assert readers == []


def test_modules_stay_small() -> None:
    big = {name: n for name, p in _modules().items()
           if (n := p.read_text(encoding="utf-8").count("\n")) > MAX_LINES and name not in LONG_ON_PURPOSE}
    assert big == {}


def test_the_circle_finder_finds_circles() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_every_module_imports() -> None:
    """`python -c "import X"` works for every module (Alembic's revision files are loaded by path, and
    `receipt.cli.__main__` runs the command line, so they are left out)."""
    import importlib

    names = [n for n in _modules() if not n.endswith("__main__") and ".migrations.versions." not in n]
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:  # report them all at once
            failed[name] = repr(exc)
    assert failed == {}
