"""A network spec through the engine (numerics/net_engine.py): forward values in order, the loss, a value cut
loose as a leaf for its upstream gradient, and errors placed by the caller."""

from types import SimpleNamespace

import numpy as np
import pytest

from gradcli.errors import DomainError, GradcliError
from gradcli.language.expr import parse
from gradcli.numerics import engine
from gradcli.numerics.net_engine import forward_values, loss_tensor


def definition(name, text):
    return SimpleNamespace(name=name, node=parse(text), text=text, where=f"forward.{name}")


SPEC = SimpleNamespace(forward=[definition("h", "w * x"), definition("yhat", "sigmoid(h)")],
                       loss=definition("loss", "(yhat - y)^2"))


def env(w=0.5, x=2.0, y=1.0):
    return {"w": engine.leaf(np.float64(w), "w"), "x": engine.leaf(np.float64(x), "x", const=True),
            "y": engine.leaf(np.float64(y), "y", const=True)}


def never(err, d):
    raise AssertionError(f"unexpected error in {d.name}: {err}")


def test_forward_values_in_order_then_the_loss_and_its_gradient():
    e = forward_values(SPEC, env(), never)
    loss = loss_tensor(SPEC, e, never)
    s = 1 / (1 + np.exp(-1.0))
    assert float(e["h"].data) == 1.0 and float(e["yhat"].data) == pytest.approx(s)
    assert float(loss.data) == pytest.approx((s - 1) ** 2)
    grads = engine.backward(loss)
    assert float(grads["w"]) == pytest.approx(2 * (s - 1) * s * (1 - s) * 2.0)


def test_a_fresh_value_is_a_leaf_whose_gradient_is_the_upstream_one():
    e = forward_values(SPEC, env(), never, fresh="h")
    grads = engine.backward(loss_tensor(SPEC, e, never))
    s = 1 / (1 + np.exp(-1.0))
    assert float(grads["h"]) == pytest.approx(2 * (s - 1) * s * (1 - s))
    assert "w" not in grads or float(grads["w"]) == 0.0  # the graph is cut at h


def test_an_engine_error_is_placed_by_the_caller():
    spec = SimpleNamespace(forward=[definition("h", "ln(w - x)")], loss=definition("loss", "h"))
    seen = []

    def relocate(err, d):
        seen.append(d.where)
        return GradcliError(f"{d.where}: {err.message}")

    with pytest.raises(GradcliError, match="forward.h: ") as info:
        forward_values(spec, env(w=0.5, x=2.0), relocate)
    assert seen == ["forward.h"] and not isinstance(info.value, DomainError)
