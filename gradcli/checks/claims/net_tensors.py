"""A net's names as engine Tensors (inputs and params as leaves, forward values, the loss), for the checks
that need the engine's forward and backward pass."""

from __future__ import annotations

from typing import Any, Mapping

from gradcli.checks.claims.outcome import with_where
from gradcli.errors import GradcliError, SpecError
from gradcli.io.models import NetSpec
from gradcli.language.expr import Node
from gradcli.numerics.net_engine import forward_values, loss_tensor


def net_tensors(net: NetSpec, values: Mapping[str, Any], fresh: str | None = None) -> dict[str, Any]:
    """Every name of the net as an engine Tensor: inputs/params leaves, forward values, `loss`.

    With `fresh` (a forward name), its value is cut loose as a leaf: the gradient there is the upstream one.
    """
    from gradcli.numerics import engine

    env: dict[str, Any] = {n: engine.leaf(v, n) for n, v in values.items()}
    forward_values(net, env, _placed, fresh=fresh)
    loss = loss_tensor(net, env, _placed)
    if loss.data.size != 1:
        raise SpecError(f"the loss must be a scalar; it has shape {loss.data.shape}", where=net.loss.where)
    env["loss"] = loss
    return env


def _placed(err: GradcliError, d) -> GradcliError:
    """An engine error in a definition of the net, as a SpecError at the definition's YAML place."""
    return err if d.where is None else SpecError(with_where(err), where=d.where, detail=err.detail)


def engine_eval(node: Node, env: Mapping[str, Any], text: str | None = None, where: str | None = None):
    from gradcli.numerics import engine

    try:
        return engine.evaluate(node, env, text)
    except GradcliError as err:
        if where is None:
            raise
        raise SpecError(with_where(err), where=where, detail=err.detail) from None

