"""`gradcli check --cost`: multiply-adds of the forward and of the backward pass, per op of the spec.

Counted per example and multiplied by the number of examples (the network-spec format `data:`):

* A @ B with A (m, n), B (n, p): m·n·p forward. Backward, ∂A = G Bᵀ and ∂B = Aᵀ G are one product
  each (m·p·n), counted only for operands that need a gradient (that depend on a wrt name), so a
  matrix product costs about 2× backward when both operands need one (sheet 002: the backward pass
  costs about twice the forward when matrix products dominate).
* element-wise ops (+ - * / ^, σ, tanh, ...): one per output entry forward; backward one per entry for
  each operand that needs a gradient (g·f'(x), g·b, ...).
* reductions (sum, mean, norm, dot, logsumexp, softmax): one per input entry each way; outer(a, b):
  m·n each way per operand; diag: n; transposes and constants: 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradcli.language import expr as E


@dataclass
class CostRow:
    definition: str  # the forward name (or 'loss') the op belongs to
    op: str  # '@', 'tanh', '+', ...
    text: str  # the op's expression
    shape: tuple[int, ...]  # its output shape
    forward: int  # multiply-adds per example... times examples
    backward: int


@dataclass
class CostReport:
    rows: list[CostRow] = field(default_factory=list)
    examples: int = 1
    forward: int = 0
    backward: int = 0
    matmul_share: float = 0.0  # fraction of the forward cost in matrix products
    backward_all_inputs: int = 0  # the backward pass if the inputs (x) needed gradients too, as sheet 002 counts

    @property
    def ratio_all_inputs(self) -> float:
        return self.backward_all_inputs / self.forward if self.forward else float("inf")

    @property
    def ratio(self) -> float:
        """backward / forward (inf for a forward pass that costs nothing)."""
        return self.backward / self.forward if self.forward else float("inf")

    @property
    def summary(self) -> str:
        heavier = "backward" if self.backward > self.forward else "forward"
        return (f"forward {self.forward:,} and backward {self.backward:,} multiply-adds: the {heavier} pass costs "
                f"{max(self.ratio, 1 / self.ratio if self.ratio else 0):.2f}× the other"
                + (f"; matrix products are {self.matmul_share:.0%} of the forward cost" if self.forward else "")
                + (f"; with gradients for the inputs too (every product's two operands) backward/forward = "
                   f"{self.ratio_all_inputs:.2f}" if self.backward_all_inputs != self.backward else ""))


def count_cost(spec) -> CostReport:
    """Count the multiply-adds of every op of the spec's forward definitions and loss (module docstring)."""
    from gradcli.numerics.examples import example_envs

    report = _count(spec, set(spec.wrt))
    everything = set(example_envs(spec)[0])
    report.backward_all_inputs = _count(spec, everything).backward
    return report


def _count(spec, needs: set[str]) -> CostReport:
    from gradcli.numerics import forward
    from gradcli.numerics.examples import example_envs

    envs = example_envs(spec)
    env = {k: np.asarray(v, dtype=np.float64) for k, v in envs[0].items()}
    needs = set(needs)
    report = CostReport(examples=len(envs))
    matmul = 0
    definitions = [*((d.name, d.node) for d in spec.forward), ("loss", spec.loss.node)]
    for name, root in definitions:
        shapes: dict[int, tuple[int, ...]] = {}

        def shape(n: E.Node) -> tuple[int, ...]:
            if id(n) not in shapes:
                shapes[id(n)] = tuple(forward.evaluate(n, env).shape)
            return shapes[id(n)]

        def need(n: E.Node) -> bool:
            return any(isinstance(k, E.Name) and k.id in needs for k in E.walk(n))

        with np.errstate(all="ignore"), E.deep_recursion():
            for node in E.walk(root):
                row = _row(node, shape, need)
                if row is None:
                    continue
                op, fwd, bwd = row
                fwd, bwd = fwd * len(envs), bwd * len(envs)
                report.rows.append(CostRow(name, op, E.to_text(node), shape(node), fwd, bwd))
                report.forward += fwd
                report.backward += bwd
                if op == "@":
                    matmul += fwd
        if need(root):
            needs.add(name)
        env[name] = forward.evaluate(root, env)
    report.matmul_share = matmul / report.forward if report.forward else 0.0
    return report


def _size(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _row(node: E.Node, shape, need) -> tuple[str, int, int] | None:
    """(op, forward, backward) multiply-adds of one node, per example; None for leaves and free ops."""
    if isinstance(node, (E.Num, E.Const, E.Name, E.Transpose)):
        return None
    if isinstance(node, E.Unary):
        if node.op == "+":
            return None
        n = _size(shape(node))
        return "-", n, n if need(node.operand) else 0
    if isinstance(node, E.Binary):
        if node.op == "@":
            (m, k), (_, p) = shape(node.left), shape(node.right)
            work = m * k * p
            return "@", work, work * (int(need(node.left)) + int(need(node.right)))
        n = _size(shape(node))
        return node.op, n, n * (int(need(node.left)) + int(need(node.right)))
    if isinstance(node, E.Call):
        f = node.func
        if f in ("eye", "ones", "zeros", "transpose"):
            return None
        args = node.args
        if f == "outer":
            (m, _), (n, _) = shape(args[0]), shape(args[1])
            return f, m * n, m * n * (int(need(args[0])) + int(need(args[1])))
        if f == "dot":
            n = _size(shape(args[0]))
            return f, n, n * (int(need(args[0])) + int(need(args[1])))
        n = max(_size(shape(args[0])), _size(shape(node)))
        return f, n, n * int(any(need(a) for a in args))
    return None
