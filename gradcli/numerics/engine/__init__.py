"""gradcli's reverse-mode autodiff engine on NumPy float64 arrays (no SymPy here).

    from gradcli.numerics.engine import evaluate, backward
    out = evaluate(parse("ln(x)+exp(y)*z"), {"x": 1, "y": 3, "z": 2})
    grads = backward(out)          # {"x": 1.0, "y": 2e^3, "z": e^3} as 0-d arrays
"""

from gradcli.numerics.engine.evaluate import evaluate, leaf, value_of
from gradcli.numerics.engine.ops import OPS, as_tensor
from gradcli.numerics.engine.tensor import Tensor, backward, local_gradients, topo_order

__all__ = [
    "OPS",
    "Tensor",
    "as_tensor",
    "backward",
    "evaluate",
    "leaf",
    "local_gradients",
    "topo_order",
    "value_of",
]
