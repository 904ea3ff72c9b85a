"""SymPy's LaTeX printer with the sheets' notation for gradcli's functions.

σ(x) for sigmoid, \\operatorname{ReLU}, \\operatorname{softplus}, \\operatorname{logsumexp}, \\ln for the
natural log, \\operatorname{step} for the Heaviside step (relu's derivative; step(0) = 1/2), ⊙
(\\odot) for element-wise products of matrices, ^\\top for transposes, and tensor entries `W1[0,1]`
as W_{1}[0,1]. Printing only: it computes nothing.
"""

from __future__ import annotations

from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE


class GradcliLatexPrinter(LatexPrinter):
    """LatexPrinter with `_print_X` overrides for gradcli's functions and matrix notation."""

    def __init__(self, settings: dict | None = None):
        super().__init__({"ln_notation": True, **(settings or {})})

    def _head(self, head: str, expr, exp=None) -> str:
        args = ", ".join(self._print(a) for a in expr.args)
        if exp is not None:
            head = f"{head}^{{{exp}}}"
        return f"{head}\\left({args}\\right)"

    def _print_sigmoid(self, expr, exp=None):
        return self._head(r"\sigma", expr, exp)

    def _print_relu(self, expr, exp=None):
        return self._head(r"\operatorname{ReLU}", expr, exp)

    def _print_softplus(self, expr, exp=None):
        return self._head(r"\operatorname{softplus}", expr, exp)

    def _print_logsumexp(self, expr, exp=None):
        return self._head(r"\operatorname{logsumexp}", expr, exp)

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
