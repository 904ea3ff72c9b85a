"""The backprop column of a net check: the engine's gradient of L for every wrt name, one graph per example,
reduced like the loss (L = w·Σ_e L_e).
"""


from __future__ import annotations

import numpy as np

from gradcli.checks.nets.results import BackpropColumn
from gradcli.numerics.net_engine import forward_values, loss_tensor
from gradcli.errors import GradcliError
from gradcli.numerics.examples import (
    example_envs,
    loss_shape_error,
    reduce_weight,
    relocated,
    spec_value,
)


def backprop_column(spec) -> BackpropColumn:
    """The engine's gradient of L for every wrt name: one graph per example, reduced like the loss."""
    from gradcli.numerics import engine

    weight = reduce_weight(spec)
    grads = {name: np.zeros(np.shape(spec_value(spec, name))) for name in spec.wrt}
    total, kink = 0.0, False
    wrt = set(spec.wrt)
    for env_values in example_envs(spec):
        env = {name: engine.leaf(v, name, const=name not in wrt) for name, v in env_values.items()}
        out = _engine_loss(spec, env)
        total += weight * float(out.data.reshape(-1)[0])
        got = engine.backward(out)
        kink = kink or any(t.kink for t in engine.topo_order(out))
        for name in spec.wrt:
            if name in got:
                grads[name] += weight * got[name].reshape(grads[name].shape)
    return BackpropColumn(total, grads, kink)


def _engine_loss(spec, env: dict):
    """Evaluate the forward definitions and the loss through the engine; the loss must be scalar-like."""

    def relocate(err: GradcliError, d) -> GradcliError:
        return relocated(err, d.where)

    forward_values(spec, env, relocate)
    out = loss_tensor(spec, env, relocate)
    if out.data.size != 1 or out.data.ndim not in (0, 2):
        raise loss_shape_error(spec, out.shape)
    return out
