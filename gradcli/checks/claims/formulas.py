"""A formula claim against the true formula (derivative, update of a function): numeric at sample points,
then symbolic (gradcli.symbolic.equivalence); and the right formula as the sheets write it."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.formatting import point_text
from gradcli.checks.claims.model import exact, symbols_of
from gradcli.checks.claims.outcome import Outcome
from gradcli.errors import GradcliError
from gradcli.io.models import Claim
from gradcli.language.expr import Node
from gradcli.symbolic import calculus as S
from gradcli.symbolic import convert as SC
from gradcli.symbolic import printing as SP
from gradcli.symbolic import equivalence
from gradcli.text import number
from gradcli.text import shape as shape_text


def compare_formulas(ctx: ClaimContext, claim: Claim, truth: Any, claimed: Any, right: Callable[[], str],
                     what: str) -> Outcome:
    """truth vs claim: numeric at sample points first, then SymPy within the time bound.

    `right()` gives the right formula as shown to the user; it is only built for a wrong claim."""
    truth, claimed = SC.as_scalar(truth), SC.as_scalar(claimed)
    st, sc = SC.shape_of(truth), SC.shape_of(claimed)
    if st != sc:
        hint = ""
        if isinstance(claimed, sympy.MatrixBase) and tuple(reversed(sc)) == st:
            hint = " (its transpose has the right shape)"
        text = right()
        return Outcome("wrong", f"{what} has shape {shape_text(st)}, the claim {shape_text(sc)}{hint}; right: {text}",
                       text, {"shapes": [list(st), list(sc)]}, "shapes")
    syms = symbols_of(truth, claimed)
    points = ctx.points(claim, syms, first=ctx.first_point())
    checked, cx = equivalence.find_counterexample(truth, claimed, syms, points)
    if cx is not None:
        entry = f" (entry {cx['entry']})" if "entry" in cx else ""
        text = right()
        return Outcome("wrong", f"right: {text}; at {point_text(cx['at'])}{entry}: right {number(cx['right'])}, "
                                f"claimed {number(cx['claimed'])}", text, cx, f"numeric at {checked} points")
    if checked == 0:
        if equivalence.proved_equal(truth, claimed, ctx.seconds):
            return Outcome("correct", "equivalent: SymPy simplifies the difference to 0 (no sample point lies "
                                      "inside the domain)", None, None, "symbolic")
        text = right()
        return Outcome("wrong", f"cannot be evaluated at any sample point inside the domain, and SymPy does not "
                                f"show the difference is 0; right: {text}", text, None, "undecided")
    if equivalence.proved_equal(truth, claimed, ctx.seconds):
        return Outcome("correct", f"equivalent: SymPy simplifies the difference to 0, and they agree at "
                                  f"{checked} random points", None, None, "symbolic")
    return Outcome("correct", f"agree at {checked} random points (SymPy did not simplify the difference to 0 "
                              f"within {ctx.seconds:g} s)", None, None, f"numeric at {checked} points")


def right_text(ctx: ClaimContext, truth: Any, kept: Any = None) -> str:
    """The right formula as shown: the sheets' form (intermediates kept) simplified within the time bound,
    unless simplifying brings in functions the formula did not use (sigmoid' written with cosh)."""
    form = kept if kept is not None else truth
    simple = S.simplified(form, ctx.seconds)
    if _heads(simple) - _heads(form):
        simple = form
    text = SP.to_text(simple)
    return text if len(text) <= 400 else text[:397] + "..."


def kept_derivative(ctx: ClaimContext, out_node: Node, wrt: str, variables: Sequence[str]) -> Any:
    """∂out/∂wrt with the intermediates kept as names (the sheets' form), or None for tensors.

    d e = ∂e/∂wrt + Σ ∂e/∂a · d a over the intermediates a in e that depend on wrt.
    """
    model = ctx.model
    if any(model.shape(v) != () for v in variables):
        return None
    env: dict[str, Any] = {v: SC.symbol(v) for v in variables}
    for name, value in model.constants.items():
        if np.ndim(value) != 0:
            return None
        env.setdefault(name, exact(value))
    defs_sym = {name: SC.symbol(name) for name in model.defs}
    local = {**env, **defs_sym}
    defs: dict[str, Any] = {}
    for name in model.order:
        try:
            value = SC.as_scalar(SC.to_sympy(model.defs[name].node, local))
        except GradcliError:
            return None
        if isinstance(value, sympy.MatrixBase):
            return None
        defs[name] = value
    out = SC.as_scalar(SC.to_sympy(out_node, local))
    if isinstance(out, sympy.MatrixBase):
        return None
    target = SC.symbol(wrt)
    depends = _dependents(defs, defs_sym, target)
    memo: dict[Any, Any] = {}

    def d(expr: Any) -> Any:
        key = expr
        if key in memo:
            return memo[key]
        total = sympy.diff(expr, target) if not (wrt in defs and expr == target) else sympy.S.One
        for name in defs:
            sym = defs_sym[name]
            if name != wrt and sym in expr.free_symbols and name in depends:
                total += sympy.diff(expr, sym) * d(defs[name])
        memo[key] = total
        return total

    return d(out)


def _heads(value: Any) -> set:
    """The kinds of function a SymPy value applies (exp, cosh, sigmoid, ...)."""
    entries = list(value) if isinstance(value, sympy.MatrixBase) else [value]
    return {type(f) for e in entries if isinstance(e, sympy.Basic) for f in e.atoms(sympy.Function)}


def _dependents(defs: Mapping[str, Any], defs_sym: Mapping[str, Any], target: Any) -> set[str]:
    """The intermediates whose value depends on the symbol `target` (directly or through others)."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, value in defs.items():
            if name in out:
                continue
            if target in value.free_symbols or any(defs_sym[o] in value.free_symbols for o in out):
                out.add(name)
                changed = True
    return out
