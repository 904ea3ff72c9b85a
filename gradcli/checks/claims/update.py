"""`update` claims: one gradient-descent step θ − lr·∂f/∂θ. Of a function by SymPy, compared like a
derivative (lr's names are variables); of a net against the engine (gradcli.checks.claims.gradient)."""

from __future__ import annotations

from typing import Any

import sympy

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.derivative import true_derivative
from gradcli.checks.claims.formulas import compare_formulas, kept_derivative, right_text
from gradcli.checks.claims.gradient import net_formula
from gradcli.checks.claims.outcome import Outcome
from gradcli.io.models import Claim
from gradcli.language.expr import free_names
from gradcli.symbolic import convert as SC
def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """The claimed one-step update θ − lr·∂f/∂θ (a net's against the engine)."""
    if ctx.model.net is not None:
        return net_formula(ctx, claim, update=True)
    s = claim.settings
    model = ctx.model
    out_node = ctx.of_node(claim)
    lr_node = ctx.parse(claim, s.lr, "lr")
    lr_names = [n for n in free_names(lr_node) if n not in model.defs]
    truth, env, variables = true_derivative(ctx, claim, out_node, s.wrt)
    if s.wrt in model.defs:
        raise ctx.fail(claim, f"update: {s.wrt!r} is an intermediate; an update steps a variable", "wrt")
    extra = {n: SC.symbol(n) for n in lr_names if n not in env}
    env = {**env, **extra}
    lr = SC.to_sympy(lr_node, env)
    if isinstance(SC.as_scalar(lr), sympy.MatrixBase):
        raise ctx.fail(claim, "lr: must be a scalar", "lr")
    param = env[s.wrt]
    truth = _axpy(param, -SC.as_scalar(lr), truth)
    claimed = ctx.claim_value(claim, env)

    def right() -> str:
        kept = kept_derivative(ctx, out_node, s.wrt, variables)
        return right_text(ctx, truth, None if kept is None else SC.symbol(s.wrt) - SC.as_scalar(lr) * kept)

    return compare_formulas(ctx, claim, truth, claimed, right, f"{s.wrt} after one step")


def _axpy(param: Any, a: Any, grad: Any) -> Any:
    """param + a·grad with the scalar a (shapes of param and grad are equal)."""
    if isinstance(param, sympy.MatrixBase):
        return sympy.ImmutableMatrix(param.shape[0], param.shape[1], [p + a * g for p, g in zip(param, grad)])
    return param + a * grad
