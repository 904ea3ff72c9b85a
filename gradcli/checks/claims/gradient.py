"""`gradient` claims (and `update` of a net): the claim through the NumPy forward over the net's names against
the engine's backward pass, entry by entry and shapes included, at the net's values and RANDOM_NET_POINTS
random values (points on a relu/abs kink are skipped). With `data:`, formulas are per example.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from gradcli.checks.claims.context import ClaimContext
from gradcli.checks.claims.formatting import matrix_text, point_text
from gradcli.checks.claims.net_tensors import net_tensors
from gradcli.checks.claims.outcome import Outcome, ShapeSlip, with_where
from gradcli.errors import GradcliError, ShapeError
from gradcli.io.models import Claim, NetSpec
from gradcli.language.expr import Node, free_names
from gradcli.symbolic.equivalence import RTOL
from gradcli.text import number
from gradcli.text import shape as shape_text

RANDOM_NET_POINTS = 3  # random parameter/input values a net's gradient claim is checked at (besides its own)


def check(ctx: ClaimContext, claim: Claim) -> Outcome:
    """A net's claimed gradient formula against the engine's backward pass."""
    return net_formula(ctx, claim, update=False)


def net_formula(ctx: ClaimContext, claim: Claim, update: bool) -> Outcome:
    """A gradient (or one-step update) formula over a net's names, against the engine, entry by entry.

    The verdict is at the net's values (every example of `data:`): that is the setting the claim is
    about. The formula is then also tried at random values, and the detail says whether it holds in
    general or only at these values."""
    s = claim.settings
    net = ctx.model.net
    forward_names = {d.name for d in net.forward}
    leaves = set(net.inputs) | set(net.params) | set(net.example_names)
    if s.wrt not in leaves | forward_names:
        raise ctx.fail(claim, f"wrt: {s.wrt!r} is not a param, input or forward name of the net "
                              f"(params: {', '.join(net.params) or 'none'})", "wrt")
    if update and s.wrt in forward_names:
        raise ctx.fail(claim, f"update: {s.wrt!r} is computed by forward:; an update steps a param", "wrt")
    node = ctx.parse(claim, claim.claim)
    lr_node = ctx.parse(claim, s.lr, "lr") if update else None
    lr_names = sorted(set(free_names(lr_node)) - leaves - forward_names) if lr_node is not None else []
    ctx.names_known(claim, node, dict.fromkeys(leaves | forward_names | {"loss"} | set(lr_names)), "claim")
    rng = np.random.default_rng([ctx.seed, claim.index])
    base = {**net.inputs, **net.params}
    examples = ([(f"example {i}", {"x": x, "y": y}) for i, (x, y) in enumerate(zip(net.data.x, net.data.y))]
                if net.data is not None else [("", {})])
    what = f"{s.wrt} after one step" if update else f"the gradient ∂L/∂{s.wrt}"
    lr_values = {n: round(float(rng.uniform(0.05, 1.0)), 3) for n in lr_names}
    found = _net_mismatch(ctx, claim, node, lr_node, lr_values, base, examples, update, skip_kinks=False)
    if found is not None and found[0] == "shape":
        _, truth, got_shape = found
        hint = " (its transpose has the right shape)" if tuple(reversed(got_shape)) == truth.shape else ""
        return Outcome("wrong", f"{what} has the shape of {s.wrt}, {shape_text(truth.shape)}; the claim gives "
                                f"{shape_text(got_shape)}{hint}", matrix_text(truth),
                       {"shapes": [list(truth.shape), list(got_shape)]}, "shapes")
    if found is not None:
        _, truth, got, bad, ex_label = found
        entry = f" entry {list(bad)}" if truth.ndim else ""
        where = "at the net's values" + (f", {ex_label}" if ex_label else "")
        lr_note = f" (with {point_text(lr_values)})" if lr_values else ""
        return Outcome("wrong", f"{where}{lr_note},{entry}: right {number(truth[bad])}, claimed {number(got[bad])}; "
                                f"right values {matrix_text(truth)}", matrix_text(truth),
                       {"at": "the net's values", "example": ex_label or None, "entry": list(bad),
                        "right": float(truth[bad]), "claimed": float(got[bad]),
                        **({"lr": lr_values} if lr_values else {})}, "engine")
    truth_shape = np.shape(_net_truth(net, base, examples[0][1], s.wrt, forward_names, update, lr_node,
                                      lr_values)[0])
    general = "it holds at these values only"
    for r in range(RANDOM_NET_POINTS):
        values = {n: np.round(rng.normal(0.0, 1.0, size=np.shape(v)), 3) for n, v in base.items()}
        try:
            other = _net_mismatch(ctx, claim, node, lr_node, lr_values, values, examples, update,
                                  skip_kinks=True)
        except (GradcliError, ShapeSlip):
            other = ("error",)
        if other is not None:
            if other[0] == "value":
                _, truth, got, bad, _ = other
                general = (f"it holds at these values only (at random values, e.g. entry {list(bad)}: "
                           f"{number(truth[bad])} vs {number(got[bad])})")
            break
    else:
        general = f"it also holds at {RANDOM_NET_POINTS} random values of the net's inputs and params"
    examples_note = f", every one of {len(examples)} examples" if len(examples) > 1 else ""
    return Outcome("correct", f"matches {what} (shape {shape_text(truth_shape)}) entry by entry at the net's "
                              f"values{examples_note}; {general}", None, None, "engine")


def _net_truth(net: NetSpec, values: Mapping[str, Any], example: Mapping[str, Any], wrt: str,
               forward_names: set[str], update: bool, lr_node: Node | None,
               lr_values: Mapping[str, float]) -> tuple[np.ndarray, dict, bool]:
    """(the true gradient or updated parameter, the numeric values of every name, whether on a kink)."""
    from gradcli.numerics import engine, forward

    env = net_tensors(net, {**values, **example}, fresh=wrt if wrt in forward_names else None)
    loss = env["loss"]
    kink = any(t.kink for t in engine.topo_order(loss))
    grads = engine.backward(loss, np.ones_like(loss.data))
    param = env[wrt].data
    grad = grads.get(wrt, np.zeros_like(param))
    truth = grad
    if update:
        lr = float(np.asarray(forward.evaluate(lr_node, dict(lr_values))).reshape(-1)[0])
        truth = param - lr * grad
    numeric = {n: t.data for n, t in env.items()}
    numeric.update(lr_values)
    return np.asarray(truth, dtype=float), numeric, kink


def _net_mismatch(ctx: ClaimContext, claim: Claim, node: Node, lr_node: Node | None, lr_values: Mapping[str, float],
                  values: Mapping[str, Any], examples: list, update: bool, skip_kinks: bool) -> tuple | None:
    """The first example where the claim differs from the truth: ('shape', truth, claim shape) or
    ('value', truth, claimed, entry, example); None when it matches everywhere."""
    from gradcli.numerics import forward

    net = ctx.model.net
    forward_names = {d.name for d in net.forward}
    for ex_label, example in examples:
        truth, numeric, kink = _net_truth(net, values, example, claim.settings.wrt, forward_names, update,
                                          lr_node, lr_values)
        if kink and skip_kinks:
            continue
        try:
            raw = np.asarray(forward.evaluate(node, numeric, text=str(claim.claim)), dtype=float)
        except ShapeError as err:
            raise ShapeSlip(f"the claimed formula does not fit the shapes: {with_where(err)}") from None
        got = _as_shape(raw, truth.shape)
        if got is None:
            return ("shape", truth, raw.shape)
        bad = _first_bad(truth, got)
        if bad is not None:
            return ("value", truth, got, bad, ex_label)
    return None


def _as_shape(got: np.ndarray, shape: tuple[int, ...]) -> np.ndarray | None:
    """The claim's value in the true shape: equal shapes, or both scalar-like (0-d / 1x1)."""
    if got.shape == shape:
        return got
    if got.size == 1 and int(np.prod(shape)) == 1 and (got.ndim == 0 or got.shape == (1, 1)) and \
            (len(shape) == 0 or shape == (1, 1)):
        return got.reshape(shape)
    return None


def _first_bad(truth: np.ndarray, got: np.ndarray) -> tuple | None:
    """The first entry (row-major) where |a - b| > RTOL·max(|a|, |b|) + 1e-12·scale, or None."""
    with np.errstate(all="ignore"):
        scale = max(1.0, float(np.nanmax(np.abs(truth))) if truth.size else 1.0)
        off = ~(np.abs(truth - got) <= RTOL * np.maximum(np.abs(truth), np.abs(got)) + 1e-12 * scale)
    if not off.any():
        return None
    k = int(np.flatnonzero(off.reshape(-1))[0])
    return tuple(int(i) for i in np.unravel_index(k, truth.shape)) if truth.ndim else ()
