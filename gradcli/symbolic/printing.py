"""SymPy values as text: `to_text` (gradcli's own syntax: it parses back), `latex` (σ, ReLU, ⊙, ᵀ).
"""


from __future__ import annotations

from typing import TYPE_CHECKING

import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

from gradcli.timebound import bounded

if TYPE_CHECKING:
    pass
from gradcli.symbolic.bounds import PRINT_SECONDS, Value, deep_step

# ============================================================================ printing


class _TextPrinter(StrPrinter):
    """Formulas in gradcli's own language: `^` for powers, `ln`, `abs`, `e`, sums written last in products.

    relu's derivative prints as `step(x)` and abs's as `sign(x)`, both in the language (SymPy's Heaviside
    has step(0) = 1/2 where gradcli's step has 0: both lie in relu's subgradient [0, 1]);
    `logsumexp(a, b, c)` lists a tensor's entries and is display only.
    """

    def _print_Pow(self, expr, rational=False):
        base, exp = expr.base, expr.exp
        if exp is sympy.S.Half:
            return f"sqrt({self._print(base)})"
        if expr.is_commutative and exp.is_Rational and exp.is_negative:
            inverse = base if exp == -1 else sympy.Pow(base, -exp, evaluate=False)
            return f"1/{self.parenthesize(inverse, PRECEDENCE['Mul'], strict=False)}"
        prec = PRECEDENCE["Pow"]
        return f"{self.parenthesize(base, prec, strict=False)}^{self.parenthesize(exp, prec, strict=True)}"

    def _print_Mul(self, expr):
        c, rest = expr.as_coeff_Mul()
        if c < 0:
            inner = self._print_Mul_positive(_unsigned(-c, rest))
            return "-" + inner
        return self._print_Mul_positive(expr)

    def _print_Mul_positive(self, expr):
        if not isinstance(expr, sympy.Mul):
            return self.parenthesize(expr, PRECEDENCE["Mul"], strict=False)
        prec = precedence(expr)
        numer, denom = [], []
        for f in expr.as_ordered_factors():
            if f.is_Pow and f.is_commutative and f.exp.is_Rational and f.exp.is_negative:
                denom.append(f.base if f.exp == -1 else sympy.Pow(f.base, -f.exp, evaluate=False))
            elif f.is_Rational:
                if f.p != 1:
                    numer.append(sympy.Integer(f.p))
                if f.q != 1:
                    denom.append(sympy.Integer(f.q))
            else:
                numer.append(f)
        numer.sort(key=lambda f: f.is_Add)  # sums last, as the sheets write 4c(a - b)(w + x + y)
        num = "*".join(self.parenthesize(f, prec, strict=False) for f in numer) or "1"
        if not denom:
            return num
        if len(denom) == 1:
            return f"{num}/{self.parenthesize(denom[0], prec, strict=True)}"
        return f"{num}/({'*'.join(self.parenthesize(f, prec, strict=False) for f in denom)})"

    def _print_Add(self, expr, order=None):
        """SymPy's order, except that a sum starts with a positive term when it has one: `b - a`, `1 - x^2`."""
        prec = precedence(expr)
        parts = []
        for term in self._as_ordered_terms(expr, order=order):
            t = self._print(term)
            sign = "-" if t.startswith("-") and not term.is_Add else "+"
            t = t[1:] if sign == "-" else t
            parts.append((sign, f"({t})" if precedence(term) < prec or term.is_Add else t))
        first = next((k for k, (sign, _) in enumerate(parts) if sign == "+"), 0)
        parts.insert(0, parts.pop(first))
        head_sign, head = parts[0]
        return ("-" if head_sign == "-" else "") + head + "".join(f" {sign} {t}" for sign, t in parts[1:])

    def _print_log(self, expr):
        return f"ln({self._print(expr.args[0])})"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_Heaviside(self, expr):
        return f"step({self._print(expr.pargs[0])})"

    def _print_step(self, expr):
        return f"step({self._print(expr.args[0])})"

    def _print_sgn(self, expr):
        return f"sign({self._print(expr.args[0])})"

    def _print_Exp1(self, expr):
        return "e"

    def _print_exp(self, expr):
        return f"exp({self._print(expr.args[0])})"

    def _print_MatrixBase(self, expr):
        return "[" + ", ".join("[" + ", ".join(self._print(e) for e in expr.row(i)) + "]"
                               for i in range(expr.rows)) + "]"

    _print_ImmutableDenseMatrix = _print_MatrixBase
    _print_MutableDenseMatrix = _print_MatrixBase

    def _print_NDimArray(self, expr):
        return str(_nested(expr.tolist(), self._print))

    _print_ImmutableDenseNDimArray = _print_NDimArray


def _unsigned(c, rest):
    return sympy.Mul(c, rest) if c != 1 else rest


def _nested(items, fmt):
    if isinstance(items, list):
        return "[" + ", ".join(_nested(i, fmt) for i in items) + "]"
    return fmt(items)


_TEXT = _TextPrinter()


@deep_step
def to_text(expr: Value) -> str:
    """The formula in gradcli's own language (for display): `1/x`, `z*exp(y)`, `sigmoid(x)*(1 - sigmoid(x))`."""
    return _TEXT.doprint(expr)


@deep_step
@deep_step
def latex(expr: Value, *, seconds: float | None = PRINT_SECONDS) -> str:
    """LaTeX with the sheets' notation: σ, ReLU, ln, ⊙ and ᵀ (see gradcli.render.latex_printer).

    A formula too large to typeset within `seconds` becomes a note saying so.
    """
    from gradcli.symbolic.latex_printer import GradcliLatexPrinter

    return bounded(seconds, GradcliLatexPrinter().doprint, expr,
                   fallback=r"\text{(formula too long to typeset)}")
