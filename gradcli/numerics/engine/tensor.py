"""The node of the reverse-mode engine: a float64 array, the op that made it, and its vector-Jacobian product.

Shape convention (the network-spec format): scalars are 0-d arrays, vectors are columns (n, 1), matrices (m, n).

A Tensor made by an op holds `parents` and `vjp`, a pure function g -> (g_1, ..., g_k) with g_i the
gradient that flows to parent i (shape of parent i) when g = ∂out/∂this. `backward(out)` walks the graph
in reverse topological order (an explicit stack, no recursion) and rebuilds every `grad` from scratch.

Constants (literals, `pi`, `ones(n)`, and anything computed only from them) need no gradient: their
`grad` stays None, like a PyTorch tensor with requires_grad=False.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gradcli.errors import OverflowValueError, ShapeError

VJP = Callable[[np.ndarray], tuple[np.ndarray, ...]]

LEAF_OPS = ("input", "const")


class Tensor:
    """A value in the computation graph (micrograd's `Value`, on NumPy float64 arrays)."""

    __array_ufunc__ = None  # `2.0 * t` must call Tensor.__rmul__, not broadcast NumPy over an object

    def __init__(
        self,
        data,
        op: str = "input",
        parents: tuple["Tensor", ...] = (),
        vjp: VJP | None = None,
        *,
        name: str | None = None,
        col: int | None = None,
        kink_mask: np.ndarray | None = None,
    ):
        self.data: np.ndarray = np.asarray(data, dtype=np.float64)
        self.op = op
        self.parents = tuple(parents)
        self.vjp: VJP = vjp if vjp is not None else _no_parents
        self.grad: np.ndarray | None = None
        self.name = name
        self.col = col
        self.kink_mask = kink_mask
        self.kink = bool(kink_mask is not None and np.any(kink_mask))
        # A node needs a gradient iff it depends on an 'input' leaf.
        self.constant = op != "input" if not self.parents else all(p.constant for p in self.parents)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name is not None else ""
        return f"Tensor({self.op}{label}, shape={self.shape}, data={self.data.tolist()!r})"

    def backward(self, seed=None) -> dict[str, np.ndarray]:
        """Shorthand for `backward(self, seed)`."""
        return backward(self, seed)

    # Arithmetic operators (+, -, *, /, **, @, unary -, .T) are installed by gradcli.numerics.engine.ops,
    # which defines each op beside its VJP: this module knows nothing of the ops.


def _no_parents(g: np.ndarray) -> tuple[np.ndarray, ...]:
    return ()


def topo_order(out: Tensor) -> list[Tensor]:
    """Every node `out` depends on, each after all its parents (inputs first, `out` last); no recursion."""
    order: list[Tensor] = []
    seen = {id(out)}
    stack = [(out, iter(out.parents))]
    while stack:
        node, pending = stack[-1]
        for parent in pending:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append((parent, iter(parent.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backward(out: Tensor, seed=None) -> dict[str, np.ndarray]:
    """Set `t.grad = ∂(seed · out)/∂t` for every non-constant node `t` of the graph; return the named inputs' grads.

    `seed` (default: ones of out's shape) is the upstream gradient of `out`. Every call starts from
    zero, so calling it twice gives the same gradients (no accumulation). A gradient that is not
    finite raises OverflowValueError naming the op and its column.
    """
    order = topo_order(out)
    for node in order:
        node.grad = None if node.constant else np.zeros_like(node.data)
    if out.constant:
        return {}
    g = np.ones_like(out.data) if seed is None else np.asarray(seed, dtype=np.float64)
    if g.shape != out.shape:
        raise ShapeError(f"the seed has shape {g.shape} but the output has shape {out.shape}")
    out.grad = g.copy()
    with np.errstate(all="ignore"):
        for node in reversed(order):
            if node.constant or not node.parents:
                continue
            for parent, flow in zip(node.parents, node.vjp(node.grad)):
                if parent.constant:
                    continue
                if not np.isfinite(flow).all():
                    where = f"column {node.col + 1}" if node.col is not None else None
                    raise OverflowValueError(f"the gradient through {op_label(node.op)} is not finite in float64",
                                             where=where)
                parent.grad += flow
    grads: dict[str, np.ndarray] = {}
    for node in order:
        if node.op == "input" and node.name is not None:
            grads[node.name] = grads[node.name] + node.grad if node.name in grads else node.grad.copy()
    return grads


def local_gradients(t: Tensor) -> tuple[np.ndarray, ...]:
    """The node's vjp applied to ones: for a scalar node, ∂t/∂parent_i for each parent (a leaf has none)."""
    with np.errstate(all="ignore"):
        return tuple(np.asarray(g, dtype=np.float64) for g in t.vjp(np.ones_like(t.data)))


OP_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "^", "matmul": "@"}


def op_label(op: str) -> str:
    """An op as messages name it: "'+'", "unary '-'", "sigmoid"."""
    if op == "neg":
        return "unary '-'"
    return f"'{OP_SYMBOLS[op]}'" if op in OP_SYMBOLS else op
