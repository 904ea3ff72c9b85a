"""`derivative` claims: ∂(of, else the output)/∂wrt by SymPy, through `where:` / a net's `forward:`.

`wrt:` an intermediate h gives the upstream gradient ∂f/∂h (h replaced by fresh symbols, everything
downstream recomputed, everything else held fixed). A scalar's derivative by a tensor has the tensor's shape.
"""

from __future__ import annotations

from typing import Any

import sympy

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.formulas import compare_formulas, kept_derivative, right_text
from gradcli.checks.claims.model import substitute
from gradcli.checks.claims.outcome import Outcome
from gradcli.errors import ShapeError
from gradcli.io.models import Claim
from gradcli.language.expr import Node
from gradcli.symbolic import convert as SC
def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """The claimed derivative against SymPy's, at sample points and then symbolically."""
    s = claim.settings
    out_node = ctx.of_node(claim)
    truth, env, variables = true_derivative(ctx, claim, out_node, s.wrt)
    claimed = ctx.claim_value(claim, env)
    of = s.of if s.of is not None else ("the loss" if ctx.model.net is not None else "f")

    def right() -> str:
        kept = kept_derivative(ctx, out_node, s.wrt, variables) if ctx.model.net is None else None
        return right_text(ctx, truth, kept)

    return compare_formulas(ctx, claim, truth, claimed, right, f"∂{of}/∂{s.wrt}")


def true_derivative(ctx: ClaimContext, claim: Claim, out_node: Node, wrt: str) -> tuple[Any, dict, list[str]]:
    """(∂out/∂wrt as a SymPy value over the variables, the environment, the variables); cached."""
    from gradcli.language.expr import to_text

    key = (to_text(out_node), wrt)
    if key not in ctx.memo["derivative"]:
        ctx.memo["derivative"][key] = _derive(ctx, claim, out_node, wrt)
    return ctx.memo["derivative"][key]


def _derive(ctx: ClaimContext, claim: Claim, out_node: Node, wrt: str) -> tuple[Any, dict, list[str]]:
    model = ctx.model
    variables = model.variables(out_node)
    if wrt not in variables and wrt not in model.defs:
        if wrt in model.constants:
            raise ctx.fail(claim, f"wrt: {wrt!r} is one of the problem's constants:, which are held fixed; "
                                  "make it a variable to differentiate by it", "wrt")
        raise ctx.fail(claim, f"wrt: {wrt!r} is neither a variable nor an intermediate of the problem "
                              f"(variables: {', '.join(variables) or 'none'}; intermediates: "
                              f"{', '.join(model.order) or 'none'})", "wrt")
    env, _, _ = model.env(variables)
    if wrt in model.defs:
        fresh_env, fresh, original = model.env(variables, fresh=wrt)
        out = SC.to_sympy(out_node, fresh_env)
        d = _diff(out, fresh)
        return substitute(d, fresh, original), env, variables
    return _diff(SC.to_sympy(out_node, env), env[wrt]), env, variables


def _diff(out: Any, var: Any) -> Any:
    """∂out/∂var: a scalar by a tensor has the tensor's shape; a tensor by a scalar keeps its own shape."""
    out = SC.as_scalar(out)
    if isinstance(var, sympy.MatrixBase):
        if isinstance(out, sympy.MatrixBase):
            raise ShapeError(f"the output has shape {tuple(out.shape)} and the variable shape {tuple(var.shape)}: "
                             "that derivative is a Jacobian (use a jacobian claim)")
        return sympy.ImmutableMatrix(var.shape[0], var.shape[1], [sympy.diff(out, s) for s in var])
    if isinstance(out, sympy.MatrixBase):
        return out.applyfunc(lambda e: sympy.diff(e, var))
    return sympy.diff(out, var)
