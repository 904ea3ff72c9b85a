"""The computation graph a student draws (sheet 001 §5), read off the engine's tape.

Nodes h1..hn, one primitive op each, in evaluation order; for each node its forward value, the local
gradients ∂hᵢ/∂(each input) and the upstream gradient ∂f/∂hᵢ; for each input variable the paths to the
output, each path's product of local gradients, and their sum  ∂f/∂x = Σ_paths Π local gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from gradcli.numerics.engine.tensor import OP_SYMBOLS

MAX_PATHS = 64  # per input; beyond this the sum is still exact (it is the upstream gradient), paths are cut

@dataclass
class GraphNode:
    node: str  # 'h1'
    op: str  # engine op name: 'ln', 'mul', ...
    inputs: list[str]  # input labels: variable names, earlier node names, or constants
    value: object  # float, or nested lists for a tensor node
    local: list[object]  # ∂node/∂input for each input (None for tensor nodes)
    upstream: object  # ∂f/∂node
    text: str  # 'ln(x)', 'h2*z'
    defines: str | None = None  # the --where name this node computes
    kink: bool = False


@dataclass
class Path:
    steps: list[str]  # ['y', 'h2', 'h3', 'h4']
    factors: list[float]  # local gradient of each edge along the path

    @property
    def product(self) -> float:
        p = 1.0
        for f in self.factors:
            p *= f
        return p


@dataclass
class Graph:
    nodes: list[GraphNode]
    inputs: dict[str, float]
    gradient: dict[str, float]  # ∂f/∂x for every input (from the engine)
    paths: dict[str, list[Path]] = field(default_factory=dict)
    paths_cut: dict[str, int] = field(default_factory=dict)  # paths not listed (over MAX_PATHS)

    @property
    def output(self) -> str:
        return self.nodes[-1].node if self.nodes else ""

    @property
    def has_kink(self) -> bool:
        return any(n.kink for n in self.nodes)


def build_graph(out, leaves: Mapping[str, object], defined: Mapping[str, object] | None = None) -> Graph:
    """Graph of the engine tensors that lead to `out`; `defined` maps --where names to their tensors."""
    from gradcli.numerics.engine import local_gradients, topo_order

    defined_by = {id(t): name for name, t in (defined or {}).items()}
    labels: dict[int, str] = {}
    for name, leaf in leaves.items():
        labels[id(leaf)] = name
    nodes: list[GraphNode] = []
    locals_by_id: dict[int, list[object]] = {}
    for t in topo_order(out):
        if not t.parents:
            if id(t) not in labels:
                labels[id(t)] = _const_label(t)
            continue
        label = f"h{len(nodes) + 1}"
        labels[id(t)] = label
        ins = [labels[id(p)] for p in t.parents]
        scalar = all(p.data.size == 1 for p in t.parents) and t.data.size == 1
        local = [None if p.constant else _plain(g) for p, g in zip(t.parents, local_gradients(t))] if scalar \
            else [None] * len(t.parents)
        locals_by_id[id(t)] = local
        nodes.append(GraphNode(label, t.op, ins, _plain(t.data), local, _plain(t.grad), _text(t.op, ins),
                               defined_by.get(id(t)), bool(getattr(t, "kink", False))))
    gradient = {name: _plain(leaf.grad) for name, leaf in leaves.items()}
    graph = Graph(nodes, {n: _plain(l.data) for n, l in leaves.items()}, gradient)
    if all(n.data.size == 1 for n in leaves.values()) and out.data.size == 1:
        for name, leaf in leaves.items():
            graph.paths[name], graph.paths_cut[name] = _paths(out, leaf, labels, locals_by_id)
    return graph


def _paths(out, leaf, labels, locals_by_id) -> tuple[list[Path], int]:
    """Every path leaf -> out with its local-gradient factors (depth-first without recursion)."""
    found: list[Path] = []
    cut = 0
    stack: list[tuple[object, list[str], list[float]]] = [(out, [labels[id(out)]], [])]
    reaches = _reaches(out, leaf)
    while stack:
        t, steps, factors = stack.pop()
        if t is leaf:
            if len(found) < MAX_PATHS:
                found.append(Path(list(reversed(steps)), list(reversed(factors))))
            else:
                cut += 1
            continue
        local = locals_by_id.get(id(t))
        if local is None:
            continue
        for parent, g in zip(t.parents, local):
            if id(parent) in reaches and g is not None:
                stack.append((parent, steps + [labels[id(parent)]], factors + [float(g)]))
    found.reverse()
    return found, cut


def _reaches(out, leaf) -> set[int]:
    """Ids of the tensors from which `leaf` can be reached going to parents (leaf included)."""
    from gradcli.numerics.engine import topo_order

    hit: set[int] = {id(leaf)}
    for t in topo_order(out):
        if any(id(p) in hit for p in t.parents):
            hit.add(id(t))
    return hit


def _const_label(t) -> str:
    v = _plain(t.data)
    if isinstance(v, float):
        return f"{v:g}"
    return getattr(t, "name", None) or "const"


def _text(op: str, ins: list[str]) -> str:
    if op in OP_SYMBOLS and len(ins) == 2:
        return f"{ins[0]} {OP_SYMBOLS[op]} {ins[1]}"
    if op == "neg":
        return f"-{ins[0]}"
    if op == "transpose":
        return f"{ins[0]}.T"
    return f"{op}({', '.join(ins)})"


def _plain(a) -> object:
    """A float for a one-entry array, nested lists otherwise (JSON-ready)."""
    import numpy as np

    if a is None:
        return None
    arr = np.asarray(a, dtype=float)
    return float(arr.reshape(-1)[0]) if arr.size == 1 else arr.tolist()
