"""SymPy's LaTeX printer with the sheets' notation for gradcli's functions.

σ(x) for sigmoid, \\operatorname{ReLU}, \\operatorname{softplus}, \\operatorname{logsumexp}, \\ln for the
natural log, \\operatorname{step} for the Heaviside step (relu's derivative; step(0) = 1/2), ⊙
(\\odot) for element-wise products of matrices, ^\\top for transposes, and tensor entries `W1[0,1]`
as W_{1}[0,1]. Printing only: it computes nothing.

`tree_latex` prints gradcli's own expression trees (what the user typed, in the order typed) and
`op_latex` one primitive op of the computation graph with the same notation; function heads come from
the table in `gradcli.language.functions`.
"""

from __future__ import annotations

import re
from typing import Mapping

from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

from gradcli.language import functions as F
from gradcli.symbolic.forms import TABLE_FORMS


class GradcliLatexPrinter(LatexPrinter):
    """LatexPrinter with gradcli's matrix notation; the `_print_<form>` of each of our SymPy functions is
    generated below from its row of the function table."""

    def __init__(self, settings: dict | None = None):
        super().__init__({"ln_notation": True, **(settings or {})})

    def _head(self, head: str, expr, exp=None) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        if exp is not None:
            head = f"{head}^{{{exp}}}"
        return f"{head}\\left({args}\\right)"

    def _print_Heaviside(self, expr, exp=None):
        arg = self._print(expr.pargs[0])
        head = r"\operatorname{step}" if exp is None else f"\\operatorname{{step}}^{{{exp}}}"
        return f"{head}\\left({arg}\\right)"

    def _print_Symbol(self, expr, style="plain"):
        name = expr.name
        if "[" in name and name.endswith("]"):
            base, index = name[:-1].split("[", 1)
            head = self._deal_with_super_sub(base, style=style)
            return f"{head}[{index}]"
        return super()._print_Symbol(expr, style=style)

    def _print_Transpose(self, expr):
        arg = expr.arg
        s = self.parenthesize(arg, PRECEDENCE["Pow"], strict=False)
        if "^" in s and not s.startswith(r"\left("):
            s = f"\\left({s}\\right)"
        return f"{s}^{{\\top}}"

    def _print_HadamardProduct(self, expr):
        return r" \odot ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in expr.args)


def _head_from_the_table(row: str):
    """`_print_<form>` for a SymPy form of a function-table row: the row's LaTeX head and the arguments."""

    def print_form(self, expr, exp=None):
        return self._head(F.lookup(row).latex, expr, exp)

    return print_form


for _form in TABLE_FORMS:
    setattr(GradcliLatexPrinter, f"_print_{_form.__name__}", _head_from_the_table(_form.row))


# ------------------------------------------------------------------------ gradcli's own trees and graph steps

_OP_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "matmul": 2, "neg": 3, "pow": 4, "transpose": 5}
_BINARY_OP = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul"}
_CONSTANTS = {"pi": r"\pi", "e": "e"}
_ODOT, _CDOT = r"\odot", r"\cdot"


def name_latex(name: str) -> str:
    """A variable or node name as SymPy's printer writes a symbol: h1 -> h_{1}, eta -> \\eta, W1[0,1] -> W_{1}[0,1]."""
    from sympy import Symbol

    return GradcliLatexPrinter().doprint(Symbol(name))


def op_latex(op: str, args: list[str], *, tensor: bool = False) -> str:
    """One primitive op applied to operands that are LaTeX already (and parenthesised as needed).

    `op` is an engine op name (add, mul, ln, sigmoid, ...); `tensor` marks an element-wise product of
    tensors, written ⊙ (\\odot) as the sheets do; a matrix product is juxtaposition, a transpose ^\\top.
    """
    from gradcli.language import functions as F

    if op == "add":
        return f"{args[0]} + {args[1]}"
    if op == "sub":
        return f"{args[0]} - {args[1]}"
    if op == "mul":
        return f"{args[0]} {_ODOT if tensor else _CDOT} {args[1]}"
    if op == "div":
        return rf"\frac{{{_unwrap(args[0])}}}{{{_unwrap(args[1])}}}"
    if op == "pow":
        return f"{{{args[0]}}}^{{{_unwrap(args[1])}}}"
    if op == "matmul":
        return f"{args[0]} \\, {args[1]}"
    if op == "neg":
        return f"-{args[0]}"
    if op == "transpose":
        return f"{{{args[0]}}}^{{\\top}}"
    inner = ", ".join(_unwrap(a) for a in args)
    if op == "abs":
        return rf"\left|{inner}\right|"
    if op == "norm":
        return rf"\left\|{inner}\right\|"
    if op == "sqrt":
        return rf"\sqrt{{{inner}}}"
    if op == "log" and len(args) == 2:
        return rf"\log_{{{_unwrap(args[1])}}}\left({_unwrap(args[0])}\right)"
    if op == "log10":
        return rf"\log_{{10}}\left({inner}\right)"
    if op == "sum":
        return rf"\operatorname{{sum}}\left({inner}\right)"
    row = F.lookup(op)
    head = row.latex if row is not None else rf"\operatorname{{{op}}}"
    if row is not None and row.kind == F.CONSTRUCTOR:
        return rf"{head}_{{{inner}}}"
    return rf"{head}\left({inner}\right)"


def _unwrap(s: str) -> str:
    """Drop one pair of outer \\left( \\right) added for precedence (inside a fraction or subscript they are noise)."""
    if s.startswith(r"\left(") and s.endswith(r"\right)") and _balanced(s[6:-7]):
        return s[6:-7]
    return s


def _balanced(s: str) -> bool:
    depth = 0
    for token in re.findall(r"\\left|\\right", s):
        depth += 1 if token == r"\left" else -1
        if depth < 0:
            return False
    return depth == 0


def paren(s: str) -> str:
    return rf"\left({s}\right)"


def tree_latex(node, *, symbols: Mapping[str, str] | None = None, hadamard: bool = False) -> str:
    """An expression tree of gradcli's language (gradcli.expr) as LaTeX, in the order the user wrote it.

    `symbols` overrides how names print (dL_dW1 -> \\frac{\\partial L}{\\partial W_{1}}); `hadamard` writes `*`
    between two non-literal operands as ⊙, as the sheets write element-wise products of tensors.
    """
    from gradcli.language.expr import deep_recursion

    with deep_recursion():
        return _Tree(symbols or {}, hadamard).print(node, 0)


class _Tree:
    """The recursive printer behind `tree_latex` (its settings kept for the whole walk)."""

    def __init__(self, symbols: Mapping[str, str], hadamard: bool):
        self.symbols = symbols
        self.hadamard = hadamard

    def print(self, node, parent: int) -> str:
        from gradcli.language.expr import (
            Call,
            Const,
            Index,
            Name,
            Num,
            Transpose,
            Unary,
        )

        if isinstance(node, Num):
            return number_latex(node.value, node.text)
        if isinstance(node, Const):
            return _CONSTANTS[node.name]
        if isinstance(node, Name):
            return self.symbols.get(node.id) or name_latex(node.id)
        if isinstance(node, Index):
            return f"{{{name_latex(node.base.id)}}}_{{{', '.join(self.print(i, 0) for i in node.indices)}}}"
        if isinstance(node, Call):
            return op_latex(node.func, [self.print(a, 0) for a in node.args])
        if isinstance(node, Transpose):
            return op_latex("transpose", [self.print(node.operand, 5)])
        if isinstance(node, Unary):
            s = f"{node.op}{self.print(node.operand, 3)}"
            return paren(s) if parent > 3 else s
        op = _BINARY_OP[node.op]
        prec = _OP_PREC[op]
        if op == "pow":
            s = op_latex(op, [self.print(node.left, prec + 1), self.print(node.right, 0)])
        elif op == "div":
            s = op_latex(op, [self.print(node.left, 0), self.print(node.right, 0)])
            return paren(s) if parent > _OP_PREC["pow"] else s  # a fraction is a group, except as a base
        else:
            right = self.print(node.right, prec + 1)
            literal = _literal(node.left) or _literal(node.right)
            s = op_latex(op, [self.print(node.left, prec), paren(right) if isinstance(node.right, Unary) else right],
                         tensor=self.hadamard and op == "mul" and not literal)
        return paren(s) if prec < parent else s


def _literal(node) -> bool:
    """A number or constant, possibly negated: a scalar factor, never a Hadamard product."""
    from gradcli.language.expr import Const, Num, Unary

    while isinstance(node, Unary):
        node = node.operand
    return isinstance(node, (Num, Const))


def number_latex(value: float, text: str | None = None) -> str:
    """A literal as written (0.5, 1e-3 -> 10^{-3})."""
    s = text if text is not None else repr(float(value))
    m = re.fullmatch(r"([0-9.]+)[eE]([+-]?\d+)", s)
    if m:
        mant, exp = m.groups()
        return rf"10^{{{int(exp)}}}" if float(mant) == 1 else rf"{mant} \cdot 10^{{{int(exp)}}}"
    return s
