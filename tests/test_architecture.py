"""The import graph of the ``lstmkit`` package keeps its floors and has no cycles between packages
(docs/architecture.md explains the floors).

Why a test: "library packages never import the apps" and "the engine does not reach up into the
training front end" are easy to break with one convenient import, and the break only shows much
later (a slow ``import lstmkit.tune``, a circular-import error on some import order, an app
that cannot be removed). The graph is read from the source with ``ast``, without importing
anything: every ``import`` / ``from ... import`` statement at any depth (module level, inside
functions, under ``if TYPE_CHECKING``), relative imports resolved, plus
``importlib.import_module("literal")``. Imports whose module name is computed at run time
(f-strings, names from a table, as in ``lstmkit.keras.__init__`` and ``lstmkit.cli.COMMANDS``)
are not seen; they are all re-exports or dispatch from a package to its own children or from
the top floor.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "lstmkit"

#: The floors, lowest first. A module may import modules on its own floor or lower ones, never
#: higher. Each entry names the module prefixes on that floor; a module belongs to the longest
#: prefix that matches it. The root utilities (io, errors, cliutil, validation, _lazy, data) import nothing above
#: themselves, so anyone may use them; checkpoint.py loads lstmkit.keras models, so it sits on
#: the keras floor. tune, viz and distributed are libraries beside each other; the apps use them.
FLOORS: list[tuple[str, tuple[str, ...]]] = [
    ("utilities", ("lstmkit", "lstmkit.io", "lstmkit.errors", "lstmkit.cliutil", "lstmkit.data")),
    ("cells", ("lstmkit.cells",)),
    ("kernels", ("lstmkit.kernels",)),  # and csrc/, which only lstmkit.kernels builds and loads
    ("nn", ("lstmkit.nn",)),
    ("keras", ("lstmkit.keras", "lstmkit.checkpoint")),
    ("libraries", ("lstmkit.tune", "lstmkit.viz", "lstmkit.distributed", "lstmkit.export")),
    # the export of app checkpoints loads them with the apps' loaders; to_onnx itself is a library
    ("apps", ("lstmkit.apps", "lstmkit.export.checkpoints", "lstmkit.export.cli")),
    ("cli", ("lstmkit.cli", "lstmkit.__main__")),
]

#: Imports that go up a floor today, each ``(importer, imported)``. The test fails if one of them
#: is gone, so the list cannot outlive the code it excuses: delete the entry with the import.
KNOWN_UPWARD: set[tuple[str, str]] = set()  # none left: keras reaches DDP through its Strategy registry

#: Imports that close a cycle between packages today, ``(importer, imported)``; the cycle check
#: leaves them (and KNOWN_UPWARD) out, and fails once one of them no longer closes a cycle.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()  # none left: Layer.add_weight resolves through registry.resolve

#: Modules that once imported each other; no import path may lead from one back to itself.
NO_CYCLE_MODULES = ("lstmkit.keras.models.model", "lstmkit.keras.models.saving",
                    "lstmkit.keras.losses.base", "lstmkit.keras.losses.functions")

Edge = tuple[str, str, int]  # importer, imported module, line


# ---------------------------------------------------------------------- the graph
def module_names(root: Path) -> dict[str, Path]:
    """Dotted name -> file, for every ``.py`` file of the package whose folder is ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _resolve(name: str, modules: dict[str, Path]) -> str:
    """The longest prefix of ``name`` that is a module (``pkg.mod.func`` -> ``pkg.mod``)."""
    while name not in modules and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(tree: ast.AST, package: str) -> Iterable[tuple[str, int]]:
    """(imported name, line) of every import in ``tree``; ``from m import x`` yields ``m.x``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
        elif isinstance(node, ast.Call) and _called_name(node) == "import_module" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield first.value, node.lineno


def _called_name(call: ast.Call) -> str | None:
    """``f`` for ``f(...)`` and ``m.f(...)``."""
    return getattr(call.func, "attr", None) or getattr(call.func, "id", None)


def build_graph(root: Path) -> tuple[dict[str, Path], list[Edge]]:
    """Every module under ``root`` and every import of one of them by another."""
    modules = module_names(root)
    top = root.name
    edges = set()
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for imported, line in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)), package):
            if imported == top or imported.startswith(top + "."):
                target = _resolve(imported, modules)
                if target != name:
                    edges.add((name, target, line))
    return modules, sorted(edges)


# ---------------------------------------------------------------------- the rules
def floor_of(module: str) -> int | None:
    """Index in FLOORS of the longest prefix that names ``module``'s unit, or None."""
    best, floor = "", None
    for index, (_, prefixes) in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
                best, floor = prefix, index
    return floor


def floor_violations(edges: list[Edge], allowed: Iterable[tuple[str, str]] = ()) -> list[str]:
    """One line per import that goes up a floor (and is not in ``allowed``)."""
    allowed = set(allowed)
    found = []
    for importer, imported, line in edges:
        low, high = floor_of(importer), floor_of(imported)
        if low is not None and high is not None and high > low and (importer, imported) not in allowed:
            found.append(f"{importer} -> {imported} (floor {FLOORS[low][0]} imports floor {FLOORS[high][0]}; "
                         f"line {line})")
    return sorted(set(found))


def package_of(module: str, modules: dict[str, Path]) -> str:
    """The node of ``module`` in the package graph: its package (a module directly inside the
    top folder, such as ``lstmkit.io``, is its own node)."""
    if modules.get(module) is not None and modules[module].name == "__init__.py":
        return module
    parent = module.rpartition(".")[0]
    return module if "." not in parent else parent


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (a path whose last node is its first) per strongly connected component."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components = []

    def visit(v: str) -> None:  # Tarjan; the graphs are a few hundred nodes, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
            if len(component) > 1:
                components.append(set(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_path_back(graph, min(c), c) for c in components]


def _path_back(graph: dict[str, set[str]], start: str, inside: set[str]) -> list[str]:
    """A shortest path from ``start`` back to itself through the nodes of ``inside``."""
    paths = {w: [start, w] for w in sorted(graph.get(start, ())) if w in inside}
    frontier = list(paths)
    while start not in paths:
        nxt = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w in inside and w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return paths[start]


def package_cycles(modules: dict[str, Path], edges: list[Edge], leave_out: set[tuple[str, str]]) -> list[str]:
    """Each cycle between packages, as ``a -> b (module:line imports module) -> ... -> a``."""
    graph: dict[str, set[str]] = {}
    why: dict[tuple[str, str], str] = {}
    for importer, imported, line in edges:
        a, b = package_of(importer, modules), package_of(imported, modules)
        if a != b and (importer, imported) not in leave_out:
            graph.setdefault(a, set()).add(b)
            why.setdefault((a, b), f"{importer}:{line} imports {imported}")
    return [path[0] + "".join(f" -> {b} ({why[a, b]})" for a, b in zip(path, path[1:]))
            for path in _cycles(graph)]


def module_cycle_through(module: str, edges: list[Edge]) -> list[str] | None:
    """An import path from ``module`` back to itself, or None."""
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in edges:
        graph.setdefault(importer, set()).add(imported)
    for cycle in _cycles(graph):
        if module in cycle:
            return cycle
    return None


# ---------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def graph() -> tuple[dict[str, Path], list[Edge]]:
    return build_graph(SOURCE)


def test_the_graph_sees_every_kind_of_import(graph) -> None:
    """Guards the checks below against passing because the parser saw nothing."""
    _, edges = graph
    pairs = {(a, b) for a, b, _ in edges}
    assert ("lstmkit.cells.gru", "lstmkit.cells.spec") in pairs  # relative, module level
    assert ("lstmkit.keras.models.saving", "lstmkit.keras.models.summary") in pairs  # inside a method
    assert ("lstmkit.keras.models", "lstmkit.keras.layers") in pairs  # ``import a.b.c``
    assert ("lstmkit.keras.layers.rnn.time_distributed", "lstmkit.keras.layers") in pairs  # import_module("...")
    assert len(edges) > 300


def test_every_module_is_on_a_floor(graph) -> None:
    modules, _ = graph
    homeless = sorted(m for m in modules if floor_of(m) is None)
    assert not homeless, f"modules on no floor (add their package to FLOORS in {__name__}): {homeless}"


def test_no_import_goes_up_a_floor(graph) -> None:
    _, edges = graph
    found = floor_violations(edges, allowed=KNOWN_UPWARD)
    assert not found, "imports that go up a floor (docs/architecture.md):\n" + "\n".join(found)


def test_the_allowlists_name_imports_that_still_exist(graph) -> None:
    modules, edges = graph
    pairs = {(a, b) for a, b, _ in edges}
    gone = sorted(e for e in KNOWN_UPWARD | KNOWN_CYCLE_EDGES if e not in pairs)
    assert not gone, f"allowlisted imports that no longer exist (delete them from the allowlist): {gone}"
    not_up = sorted(e for e in KNOWN_UPWARD if not floor_violations([(*e, 0)]))
    assert not not_up, f"KNOWN_UPWARD entries that no longer go up a floor (delete them): {not_up}"
    for edge in sorted(KNOWN_CYCLE_EDGES):
        closes = package_cycles(modules, edges, KNOWN_UPWARD | (KNOWN_CYCLE_EDGES - {edge}))
        assert closes, f"{edge[0]} -> {edge[1]} no longer closes a cycle: delete it from KNOWN_CYCLE_EDGES"


def test_no_cycle_between_packages(graph) -> None:
    modules, edges = graph
    found = package_cycles(modules, edges, KNOWN_UPWARD | KNOWN_CYCLE_EDGES)
    assert not found, "cycles between packages:\n" + "\n".join(found)


@pytest.mark.parametrize("module", NO_CYCLE_MODULES)
def test_no_import_cycle_through(graph, module: str) -> None:
    _, edges = graph
    cycle = module_cycle_through(module, edges)
    assert cycle is None, f"{module} is on an import cycle: {' -> '.join(cycle)}"


def test_the_checks_catch_a_bad_import(tmp_path) -> None:
    """A library module that imports an app, and two packages that import each other, fail."""
    root = tmp_path / "lstmkit"
    files = {"__init__.py": "", "tune/__init__.py": "", "apps/forecast/__init__.py": "",
             "tune/study.py": "def f():\n    from lstmkit.apps.forecast import model\n",
             "apps/forecast/model.py": "from ...tune import study\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    modules, edges = build_graph(root)
    assert floor_violations(edges) == ["lstmkit.tune.study -> lstmkit.apps.forecast.model "
                                       "(floor libraries imports floor apps; line 2)"]
    assert package_cycles(modules, edges, set()) == [
        "lstmkit.apps.forecast -> lstmkit.tune (lstmkit.apps.forecast.model:1 imports lstmkit.tune.study)"
        " -> lstmkit.apps.forecast (lstmkit.tune.study:2 imports lstmkit.apps.forecast.model)"]
    assert module_cycle_through("lstmkit.tune.study", edges) is not None
