"""The package's layers: every import points down, no import circle, no module past ~700 lines.

Layers, lowest first (CONTRIBUTING.md shows them): core modules, language/, then numerics/ and symbolic/
(two of the three columns: neither may import the other), io/, training/, checks/, render/, cli/, and the
entry points. Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gradcli"
MAX_LINES = 700
CORE = {"errors", "timebound", "text", "progress", "prefork"}
LAYERS = {"language": 1, "numerics": 2, "symbolic": 2, "io": 3, "training": 4, "checks": 5, "render": 6,
          "cli": 7}
TOP = {"api": 8, "entry": 8, "__main__": 8, "": 8}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The gradcli modules `name` imports (relative to the package), at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - node.level + 1]
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "gradcli" or node.module.startswith("gradcli.")):
                target = node.module.removeprefix("gradcli").removeprefix(".")
            else:
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}" if target else alias.name
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("gradcli."):
                    out.add(alias.name.removeprefix("gradcli."))
    out.discard(name)
    return {m for m in out if m in known}


def layer(name: str) -> tuple[int, str]:
    head = name.split(".")[0]
    if head in CORE:
        return 0, head
    if head in LAYERS:
        return LAYERS[head], head
    return TOP.get(head, 8), head


GRAPH = {name: imports_of(name, path, set(modules())) for name, path in modules().items()}


def test_every_import_points_down():
    wrong = []
    for name, deps in GRAPH.items():
        rank, head = layer(name)
        for dep in deps:
            dep_rank, dep_head = layer(dep)
            if head in CORE and dep_head != "errors" and dep_head != head:
                wrong.append(f"{name} -> {dep} (core modules import only errors)")
            elif dep_rank > rank or (dep_rank == rank and dep_head != head and 0 < rank < TOP[""]):
                wrong.append(f"{name} -> {dep}")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(sorted(wrong))


def test_the_two_computed_columns_never_import_each_other():
    crossing = [f"{a} -> {b}" for a, deps in GRAPH.items() for b in deps
                if {layer(a)[1], layer(b)[1]} == {"numerics", "symbolic"}]
    assert not crossing


def test_no_import_circle():
    """Tarjan's strongly connected components: every component is a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
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
                circles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_is_too_long(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"gradcli/{name}: {lines} lines (split it by concept)"


def test_the_checker_sees_what_it_checks():
    """The graph is real: known edges are found, so the tests above cannot pass on an empty graph."""
    assert "language.expr" in GRAPH["numerics.forward"]
    assert "errors" in GRAPH["language.expr"]
    assert len(GRAPH) > 40
