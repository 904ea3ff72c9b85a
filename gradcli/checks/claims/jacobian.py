"""`jacobian` claims: SymPy's Jacobian, shape (output shape) × (input shape) (gradcli.checks.jacobian);
`claim_shape` is compared with it, `claim_entry` (an index formula) at every index, a closed form `claim:`
as an array."""

from __future__ import annotations

import math
import random
from typing import Any, Mapping, Sequence

import numpy as np
import sympy

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.formatting import point_text, tuple_text
from gradcli.checks.claims.model import exact, stand_in, substitute, symbols_of
from gradcli.checks.claims.outcome import Outcome, ShapeSlip, with_where
from gradcli.errors import GradcliError, ShapeError
from gradcli.io.models import Claim
from gradcli.language import definitions as D
from gradcli.language.expr import Node, free_names
from gradcli.symbolic import calculus as S
from gradcli.symbolic import convert as SC
from gradcli.symbolic import printing as SP
from gradcli.symbolic.equivalence import RTOL
from gradcli.text import number
from gradcli.text import shape as shape_text


def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """The claimed shape, entry formula and closed form of a Jacobian, against SymPy's entries."""
    from gradcli.checks import jacobian as J

    s = claim.settings
    model = ctx.model
    shapes: dict[str, tuple[int, ...]] = {n: tuple(np.shape(v)) for n, v in model.constants.items()}
    shapes.update(model.shapes)
    shapes.update({n: J.array_shape(v) for n, v in s.shapes.items()})
    of_node = ctx.parse(claim, s.of, "of")
    claim_node = ctx.parse(claim, claim.claim) if claim.claim is not None else None
    entry_node = (ctx.parse(claim, J.rewrite_delta(claim.claim_entry), "claim_entry", allow_index=True)
                  if claim.claim_entry is not None else None)
    index_names = (set(J.INDEX_LETTERS) - set(shapes)) | {"delta"}
    nodes = {n: d.node for n, d in model.defs.items()}
    used_defs: set[str] = set()
    names = {s.wrt} if s.wrt not in model.defs else set()
    for node in (of_node, claim_node, entry_node):
        if node is not None:
            used_defs |= set(D.used(node, nodes))
            names |= set(free_names(node)) - (index_names if node is entry_node else set())
    for name in used_defs:
        names |= set(free_names(model.defs[name].node))
    variables = sorted(names - set(model.defs) - set(model.constants))
    missing = [n for n in variables if n not in shapes]
    if missing:
        raise ctx.fail(claim, f"no shape for {', '.join(map(repr, missing))}: give "
                              f"{'them' if len(missing) > 1 else 'it'} in shapes: (such as "
                              f"{missing[0]}: [4] for a vector, [3, 4] for a matrix, [] for a scalar)", "jacobian")
    if s.wrt not in variables and s.wrt not in model.defs:
        raise ctx.fail(claim, f"wrt: {s.wrt!r} is not a variable of {s.of}", "wrt")
    key = (s.of, s.wrt, tuple(sorted((n, shapes[n]) for n in variables)), tuple(sorted(used_defs)))
    if key not in ctx.memo["jacobian"]:
        ctx.memo["jacobian"][key] = _jacobian_of(ctx, claim, of_node, variables, shapes, used_defs)
    env, jac, out = ctx.memo["jacobian"][key]
    env = dict(env)
    shape = tuple(int(n) for n in jac.shape)
    out_shape = SC.shape_of(SC.as_scalar(out))
    in_shape = SC.shape_of(SC.as_scalar(env[s.wrt]))
    reason = J.shape_reason(s.of, out_shape, s.wrt, in_shape)
    parts: list[str] = []
    wrong: list[str] = []
    right: dict[str, Any] = {"shape": list(shape)}
    counterexample = None
    syms = symbols_of(*[v for v in env.values()])
    points = ctx.points(claim, syms, first=ctx.first_point())
    letters = J.index_letters(len(shape))
    if claim.claim_shape is not None:
        if tuple(claim.claim_shape) == shape:
            parts.append(f"shape {tuple_text(shape)} = output {tuple_text(J.axes(out_shape))} × input "
                         f"{tuple_text(J.axes(in_shape))}")
        else:
            wrong.append(f"the shape is {tuple_text(shape)}, not {tuple_text(claim.claim_shape)}: {reason}")
            counterexample = {"shape": list(shape), "claimed_shape": list(claim.claim_shape)}
    formula = None
    if entry_node is not None:
        try:
            J.check_entry_names(entry_node, letters, env)
            claimed = J.entry_array(entry_node, env, shape, letters)
        except GradcliError as err:
            raise ctx.fail(claim, f"claim_entry: {with_where(err)} (the Jacobian's shape is {tuple_text(shape)}, "
                                  f"its axes {', '.join(letters)})", "claim_entry") from None
        bad = J.first_mismatch(jac, claimed, syms, points, RTOL)
        if bad is not None:
            formula = _index_formula(ctx, jac, env, letters, syms, points, used_defs)
            if formula:
                right["entry"] = formula
        if bad is None:
            parts.append(f"entry formula matches all {_size(shape)} entries at {len(points)} points")
        else:
            idx = tuple(bad["index"])
            entry_truth = SP.to_text(S.simplified(jac[idx], ctx.seconds / 4))
            value = number(bad["right"])
            shown = entry_truth if entry_truth == value else f"{entry_truth} = {value}"
            wrong.append(f"the entry formula first fails at ({', '.join(f'{a}={v}' for a, v in zip(letters, idx))})"
                         f": right {shown}, claimed {number(bad['claimed'])} at "
                         f"{point_text(_relevant(bad['at'], jac[idx], claimed[idx]))}" +
                         (f"; right entry formula: {formula}" if formula else ""))
            counterexample = {**bad, "letters": letters}
    if claim_node is not None:
        try:
            closed = SC.as_scalar(SC.to_sympy(claim_node, env))
        except ShapeError as err:
            raise ShapeSlip(f"the claimed closed form does not fit the shapes: {with_where(err)}") from None
        array = _as_jacobian(closed, shape)
        if array is None:
            wrong.append(f"the closed form has shape {shape_text(SC.shape_of(closed))}, the Jacobian {tuple_text(shape)}: "
                         f"{reason}")
            counterexample = counterexample or {"shape": list(shape), "claimed_shape": list(SC.shape_of(closed))}
        else:
            bad = J.first_mismatch(jac, array, syms, points, RTOL)
            if bad is None:
                parts.append(f"closed form matches all {_size(shape)} entries at {len(points)} points")
            else:
                idx = tuple(bad["index"])
                formula = formula or _index_formula(ctx, jac, env, letters, syms, points, used_defs)
                if formula:
                    right["entry"] = formula
                wrong.append(f"the closed form first differs at index {idx}: right {number(bad['right'])}, "
                             f"claimed {number(bad['claimed'])} at "
                             f"{point_text(_relevant(bad['at'], jac[idx], array[idx]))}" +
                             (f"; right entry formula: {formula}" if formula else ""))
                counterexample = counterexample or bad
    if wrong:
        return Outcome("wrong", "; ".join(wrong), right, counterexample, "symbolic entries, numeric at points")
    return Outcome("correct", "; ".join(parts), right, None, "symbolic entries, numeric at points")


def _jacobian_of(ctx: ClaimContext, claim: Claim, of_node: Node, variables: Sequence[str],
                 shapes: Mapping[str, tuple[int, ...]], used_defs: set[str]) -> tuple[dict, Any, Any]:
    """(env, the Jacobian's SymPy entries, the output) for a jacobian claim's of/wrt/shapes."""
    s = claim.settings
    model = ctx.model
    env: dict[str, Any] = {}
    for n in variables:
        try:
            env[n] = SC.entry_symbols(n, shapes[n])
        except ShapeError as err:
            raise ctx.fail(claim, f"{err.message}", "jacobian") from None
    for n, v in model.constants.items():
        env.setdefault(n, exact(v))
    fresh_original = None
    for name in model.order:
        if name not in used_defs:
            continue
        value = model.build(name, env)
        if name == s.wrt:
            fresh_original = value
            value = stand_in(name, value)
        env[name] = value
    try:
        out = SC.to_sympy(of_node, env)
    except GradcliError as err:
        raise ctx.fail(claim, f"of: {with_where(err)}", "of") from None
    jac = S.jacobian_entries(out, env[s.wrt])
    if fresh_original is not None:
        jac = jac.applyfunc(lambda e: substitute(e, env[s.wrt], fresh_original))
        env[s.wrt] = fresh_original
    return env, jac, out


def _index_formula(ctx: ClaimContext, jac, env, letters, syms, points, used_defs) -> str | None:
    """The right index formula, preferably over the intermediates (s[i] for s = softmax(z))."""
    from gradcli.checks import jacobian as J
    from gradcli.timebound import bounded

    def find(array, names, symbols, point):
        return bounded(ctx.seconds * 2, J.find_index_formula, array, names, letters, symbols, point,
                       fallback=None, catch=(GradcliError, ValueError, TypeError))

    rng = random.Random(ctx.seed)
    mapping, local, extra, point = {}, dict(env), [], dict(points[0])
    for name in used_defs:
        value = env.get(name)
        if isinstance(value, sympy.MatrixBase):
            symbols = SC.entry_symbols(name, value.shape)
            mapping.update({e: t for e, t in zip(value, symbols) if not e.is_Symbol})
            local[name] = symbols
            extra.extend(symbols)
            point.update({str(t): round(rng.uniform(0.2, 0.9), 3) for t in symbols})
    if mapping:
        formula = find(jac.applyfunc(lambda e: e.xreplace(mapping)), local, [*syms, *extra], point)
        if formula:
            return formula
    return find(jac, env, syms, points[0])


def _size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def _relevant(at: Mapping[str, float], *exprs: Any) -> dict[str, float]:
    """The values of the symbols the expressions use (a counterexample shows only what matters)."""
    used = {str(sym) for e in exprs if isinstance(e, sympy.Basic) for sym in e.free_symbols}
    return {k: v for k, v in at.items() if k in used}


def _as_jacobian(value: Any, shape: tuple[int, ...]):
    """A closed-form claim as an array of the Jacobian's shape, or None when the shapes do not fit.

    A (1, 1) claim fits (1, 1); a matrix fits its own shape; a Jacobian with a leading 1 (a scalar output)
    also accepts the input-shaped matrix (m, n) for (1, m, n)."""
    if not isinstance(value, sympy.MatrixBase):
        if math.prod(shape) == 1:
            return sympy.ImmutableDenseNDimArray([value], shape)
        return None
    vs = tuple(value.shape)
    if vs == shape or (len(shape) > 2 and shape[0] == 1 and vs == shape[1:]):
        return sympy.ImmutableDenseNDimArray(list(value), shape)
    return None
