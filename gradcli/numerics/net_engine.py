"""A network spec through the engine: its forward definitions, in order, then its loss, as Tensors.

The one walk that the backprop column of a net check, training's L(θ) and ∇L(θ), and the claims about a
`net:` share. `env` maps names to Tensors (inputs, params, one example's x and y); each caller decides
which are leaves and how an error of the engine is placed (`relocate(err, definition) -> GradcliError`:
a definition's YAML place, the data example). The spec is read by attribute (`forward`, `loss`), so this
layer needs nothing of io/.
"""

from __future__ import annotations

from typing import Any, Callable

from gradcli.errors import GradcliError

Relocate = Callable[[GradcliError, Any], GradcliError]


def forward_values(spec, env: dict, relocate: Relocate, fresh: str | None = None) -> dict:
    """Add every forward definition's Tensor to `env`, in order. `fresh` names a forward value that is cut
    loose as a leaf of its own, so the gradient found there is the upstream one (∂L/∂that value)."""
    from gradcli.numerics import engine

    for d in spec.forward:
        t = evaluated(d, env, relocate)
        if d.name == fresh:
            t = engine.leaf(t.data.copy(), d.name)
        env[d.name] = t
    return env


def loss_tensor(spec, env: dict, relocate: Relocate):
    """The loss's Tensor in `env` (after forward_values); its shape is the caller's to check."""
    return evaluated(spec.loss, env, relocate)


def evaluated(definition, env: dict, relocate: Relocate):
    """One definition (`node`, `text`) through the engine; an engine error becomes relocate(err, definition)."""
    from gradcli.numerics import engine

    try:
        return engine.evaluate(definition.node, env, text=definition.text)
    except GradcliError as err:
        raise relocate(err, definition) from None
