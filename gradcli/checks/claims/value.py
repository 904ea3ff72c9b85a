"""`value` claims: the number at `at:` (of the function, an intermediate, `of:`, or with `wrt:` of a derivative).

A printed decimal claims the interval its digits round from (40.171 claims [40.1705, 40.1715]); a printed
integer or a formula (`2*exp(3)`) claims that exact value (to EXACT_RTOL relative); `tol:` sets an
absolute tolerance instead.
"""

from __future__ import annotations

import math
import re

import numpy as np

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.derivative import true_derivative
from gradcli.checks.claims.formatting import matrix_text
from gradcli.checks.claims.model import symbols_of
from gradcli.checks.claims.net_tensors import engine_eval, net_tensors
from gradcli.checks.claims.outcome import Outcome
from gradcli.errors import SpecError
from gradcli.io.models import Claim
from gradcli.language.expr import Node, free_names
from gradcli.symbolic import compile as SN
from gradcli.symbolic import convert as SC
from gradcli.text import number
from gradcli.text import shape as shape_text

EXACT_RTOL = 1e-9  # a printed integer or a formula value

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """The claimed number against the true value at `at:` (SymPy for a function, the engine for a net)."""
    if ctx.model.net is not None:
        truth, label = _net_value(ctx, claim)
    else:
        truth, label = _function_value(ctx, claim)
    return _judge_value(claim, truth, label)


def _function_value(ctx: ClaimContext, claim: Claim) -> tuple[np.ndarray, str]:
    s = claim.settings
    model = ctx.model
    out_node = ctx.of_node(claim)
    variables = model.variables(out_node)
    for name, value in s.at.items():
        if name in model.constants:
            if np.shape(value) != np.shape(model.constants[name]) or \
                    not np.array_equal(value, model.constants[name]):
                raise ctx.fail(claim, f"at: {name!r} is one of the problem's constants:, fixed at "
                                      f"{matrix_text(model.constants[name])}", "at")
        elif name not in variables:
            raise ctx.fail(claim, f"at: {name!r} is not a variable of the problem (variables: "
                                  f"{', '.join(variables) or 'none'})", "at")
    if s.wrt is not None:
        truth, _, _ = true_derivative(ctx, claim, out_node, s.wrt)
    else:
        env, _, _ = model.env(variables)
        truth = SC.to_sympy(out_node, env)
    truth = SC.as_scalar(truth)
    syms = symbols_of(truth)
    point = model.flat_point({k: v for k, v in s.at.items()})
    missing = sorted({str(sym).split("[")[0] for sym in syms if str(sym) not in point})
    if missing:
        raise ctx.fail(claim, f"at: needs a value for {', '.join(missing)} (the value depends on "
                              f"{'them' if len(missing) > 1 else 'it'})", "at")
    value = SN.compile_numeric([truth], syms)(*[point[str(sym)] for sym in syms])[0]
    of = s.of if s.of is not None else "f"
    label = f"∂{of}/∂{s.wrt}" if s.wrt is not None else of
    return np.asarray(value, dtype=float), label


def _net_value(ctx: ClaimContext, claim: Claim) -> tuple[np.ndarray, str]:
    s = claim.settings
    net = ctx.model.net
    values = {**net.inputs, **net.params}
    allowed = set(values) | (set(net.example_names))
    for name, v in s.at.items():
        if name not in allowed:
            raise ctx.fail(claim, f"at: {name!r} is not an input or param of the net (they are: "
                                  f"{', '.join(sorted(allowed))})", "at")
        values[name] = v
    of_node = ctx.parse(claim, s.of, "of") if s.of is not None else None
    if of_node is not None:
        known = set(values) | set(net.example_names) | {d.name for d in net.forward} | {"loss"}
        ctx.names_known(claim, of_node, dict.fromkeys(known), "of")
    per_example = net.data is not None and "x" not in s.at
    if per_example and (of_node is not None and not ({"loss"} >= set(free_names(of_node)))):
        raise ctx.fail(claim, "this net has data:; give at: {x: ..., y: ...} to pick the example whose value "
                              "is claimed", "at")
    examples = [{"x": x, "y": y} for x, y in zip(net.data.x, net.data.y)] if per_example else [{}]
    total = None
    for example in examples:
        env = net_tensors(net, {**values, **example}, fresh=s.wrt if s.wrt in {d.name for d in net.forward}
                          else None)
        out = env["loss"] if of_node is None else engine_eval(of_node, env, s.of)
        if s.wrt is not None:
            if s.wrt not in env:
                raise ctx.fail(claim, f"wrt: {s.wrt!r} is not a name of the net", "wrt")
            if out.data.size != 1:
                raise ctx.fail(claim, f"a derivative value needs a scalar; {s.of or 'the loss'} has shape "
                                      f"{out.data.shape}", "of")
            from gradcli.numerics import engine

            grads = engine.backward(out, np.ones_like(out.data))
            value = grads.get(s.wrt, np.zeros_like(env[s.wrt].data))
        else:
            value = out.data
        total = value if total is None else total + value
    if per_example and net.data.reduce == "mean":
        total = total / len(examples)
    of = s.of if s.of is not None else "the loss"
    return np.asarray(total, dtype=float), (f"∂{of}/∂{s.wrt}" if s.wrt is not None else of)


def _judge_value(claim: Claim, truth: np.ndarray, label: str) -> Outcome:
    from gradcli.numerics import forward

    tol = claim.settings.tol
    raw = claim.claim
    sources: list[str | None]
    if isinstance(raw, list):
        claimed = np.array(raw, dtype=float)
        claimed = claimed.reshape(-1, 1) if claimed.ndim == 1 else claimed
        tokens = _NUMBER.findall(claim.claim_source or "")
        sources = tokens if len(tokens) == claimed.size else [repr(float(v)) for v in claimed.reshape(-1)]
    elif isinstance(raw, str):
        node = _constant_formula(claim, raw)
        claimed = np.asarray(forward.evaluate(node, {}), dtype=float)
        sources = [None] * claimed.size
    else:
        claimed = np.asarray(float(raw))
        sources = [claim.claim_source if claim.claim_source is not None else repr(raw)]
    truth = np.asarray(truth, dtype=float)
    if truth.shape != claimed.shape and not (truth.size == 1 and claimed.size == 1):
        if truth.size == claimed.size and truth.ndim == 2 and claimed.ndim == 2 and truth.shape[1] == 1:
            claimed = claimed.reshape(truth.shape)
        else:
            return Outcome("wrong", f"{label} has shape {shape_text(truth.shape)}, the claim {shape_text(claimed.shape)}; "
                                    f"right: {matrix_text(truth)}", matrix_text(truth),
                           {"shapes": [list(truth.shape), list(claimed.shape)]}, "shapes")
    t_flat, c_flat = truth.reshape(-1), claimed.reshape(-1)
    intervals = []
    for k, (c, src) in enumerate(zip(c_flat, sources)):
        if tol is not None:
            intervals.append((c - tol, c + tol, f"{number(c)} ± {tol:g} (tol)"))
            continue
        interval = printed_interval(src) if src is not None else None
        if interval is None or interval[0] == interval[1]:
            slack = EXACT_RTOL * max(1.0, abs(c))
            intervals.append((c - slack, c + slack, f"exactly {number(c)}"))
        else:
            intervals.append((interval[0], interval[1], f"[{number(interval[0])}, {number(interval[1])}] (the printed "
                                                        f"digits of {src})"))
    shown = number(t_flat[0]) if t_flat.size == 1 else matrix_text(truth)
    for k, (t, (lo, hi, what)) in enumerate(zip(t_flat, intervals)):
        slack = 1e-12 * max(1.0, abs(lo), abs(hi))
        if not (math.isfinite(t) and lo - slack <= t <= hi + slack):
            entry = f" entry {k}" if t_flat.size > 1 else ""
            reason = "is not defined at this point" if not math.isfinite(t) else f"is {number(t)}"
            return Outcome("wrong", f"{label}{entry} {reason}; the claim {number(c_flat[k])} means {what}"
                                    + (f"; right: {shown}" if t_flat.size > 1 else ""),
                           shown, {"entry": k, "right": float(t), "claimed": float(c_flat[k])}, "interval")
    what = intervals[0][2] if len(intervals) == 1 else "each entry's printed digits"
    return Outcome("correct", f"{label} = {shown}, within {what}", shown, None, "interval")


def _constant_formula(claim: Claim, text: str) -> Node:
    """A value claim written as a formula (`2*exp(3)`): constants only."""
    from gradcli.language.expr import parse
    from gradcli.errors import ParseError

    try:
        node = parse(text, what="claim")
    except ParseError as exc:
        raise SpecError(f"{exc.message} (column {exc.column + 1} of claim)", where=claim.where,
                        detail=exc.detail) from None
    names = free_names(node)
    if names:
        raise SpecError(f"a value claim is a number or a constant formula; this one uses {', '.join(names)}",
                        where=claim.where)
    return node


def printed_interval(text: str) -> tuple[float, float] | None:
    """The interval a printed decimal claims: '40.171' -> (40.1705, 40.1715), '1.5e-3' -> (1.45e-3, 1.55e-3).

    A printed integer ('2', '-7') claims itself exactly: (2.0, 2.0). None when the text is not a number.
    """
    text = text.strip()
    match = re.fullmatch(r"([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?", text)
    if not match or not (match.group(2) or match.group(3)):
        return None
    value = float(text)
    decimals = match.group(3)
    exponent = int(match.group(4) or 0)
    if decimals is None and match.group(4) is None:
        return (value, value)
    half = 0.5 * 10.0 ** (exponent - len(decimals or ""))
    return (value - half, value + half)
