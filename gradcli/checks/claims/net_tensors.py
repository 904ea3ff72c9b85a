"""A net's names as engine Tensors (inputs and params as leaves, forward values, the loss), for the checks
that need the engine's forward and backward pass."""

from __future__ import annotations

from typing import Any, Mapping

from gradcli.checks.claims.outcome import with_where
from gradcli.errors import GradcliError, SpecError
from gradcli.io.models import NetSpec
from gradcli.language.expr import Node


def net_tensors(net: NetSpec, values: Mapping[str, Any], fresh: str | None = None) -> dict[str, Any]:
    """Every name of the net as an engine Tensor: inputs/params leaves, forward values, `loss`.

    With `fresh` (a forward name), its value is cut loose as a leaf: the gradient there is the upstream one.
    """
    from gradcli.numerics import engine

    env: dict[str, Any] = {n: engine.leaf(v, n) for n, v in values.items()}
    for d in net.forward:
        t = engine_eval(d.node, env, d.text, d.where)
        if d.name == fresh:
            t = engine.leaf(t.data.copy(), d.name)
        env[d.name] = t
    loss = engine_eval(net.loss.node, env, net.loss.text, net.loss.where)
    if loss.data.size != 1:
        raise SpecError(f"the loss must be a scalar; it has shape {loss.data.shape}", where=net.loss.where)
    env["loss"] = loss
    return env


def engine_eval(node: Node, env: Mapping[str, Any], text: str | None = None, where: str | None = None):
    from gradcli.numerics import engine

    try:
        return engine.evaluate(node, env, text)
    except GradcliError as err:
        if where is None:
            raise
        raise SpecError(with_where(err), where=where, detail=err.detail) from None

